"""Dashboards at volume, from the outside, on a warehouse shipping app: the indexes a package's
reports and dashboards need exist after import, the dashboard's queries run once for many viewers,
a write shows at once, a viewer with a narrower row scope never gets another's cached figures, and
the builder's report preview explains the chart's query."""
import json

import sqlalchemy as sa

from tests.conftest import api_token, install_package, make_user

WAREHOUSE = {"format": "jimu.app", "version": 2, "app": {"key": "ship", "version": "1.0.0", "label": "发货"},
             "roles": [{"key": "north", "version": 1, "label": "北仓文员", "permissions": {"发货单": ["read"]},
                        "rows": {"发货单": {"scope": "condition", "condition": "仓库 == '北仓'"}}}],
             "forms": [
    {"key": "发货单", "version": 1, "label": "发货单",
     "fields": [{"key": "仓库", "label": "仓库", "widget": "select", "config": {"options": ["北仓", "南仓"]}},
                {"key": "承运商", "label": "承运商", "widget": "text"},
                {"key": "状态", "label": "状态", "widget": "select", "config": {"options": ["待发", "在途", "签收"]}},
                {"key": "重量", "label": "重量", "widget": "number"}]}],
             "reports": [
    {"key": "by_state", "version": 1, "type": "bar", "form": "发货单", "dimensions": [{"field": "状态"}],
     "measures": [{"key": "n", "agg": "count"}]},
    {"key": "by_month", "version": 1, "type": "line", "form": "发货单",
     "dimensions": [{"field": "created_at", "bucket": "month"}], "measures": [{"key": "n", "agg": "count"}]},
    {"key": "heavy", "version": 1, "type": "kpi", "form": "发货单", "cache_seconds": 0,
     "filters": [{"field": "重量", "op": "gte", "value": 100}], "measures": [{"key": "n", "agg": "count"}]}],
             "dashboards": [
    {"key": "ops", "version": 1, "label": "运营",
     "charts": [{"report": "by_state", "x": 0, "y": 0, "w": 6, "h": 4},
                {"report": "by_month", "x": 6, "y": 0, "w": 6, "h": 4},
                {"report": "heavy", "x": 0, "y": 4, "w": 3, "h": 2}],
     "filters": [{"field": "承运商", "kind": "text"}]}]}


def bearer(jimu, username, **kw):
    return {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, username, **kw))}"}


def ship(client, headers, **values):
    resp = client.post("/api/v1/forms/发货单/records", json=values, headers=headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def counts(client, headers, values=None):
    resp = client.get("/api/v1/dashboards/ops/data", query_string={"values": json.dumps(values or {})},
                      headers=headers)
    assert resp.status_code == 200, resp.get_json()
    tiles = {t["report"]: t for t in resp.get_json()["charts"]}
    return {r["状态"]: r["n"] for r in tiles["by_state"]["rows"]}


def test_indexes_for_dimensions_time_buckets_and_dashboard_filters_exist_after_import(jimu):
    install_package(jimu, WAREHOUSE)
    with jimu.begin() as conn:
        ft = jimu.catalog.refresh(conn).form("发货单")
        indexed = {tuple(ix["column_names"]) for ix in sa.inspect(conn).get_indexes(ft.table.name)}
    for key in ("状态", "承运商", "重量"):     # a dimension, a dashboard filter, a report filter
        assert (ft.columns[key].name,) in indexed, key
    assert ("created_at",) in indexed                # the month buckets


def test_many_viewers_run_the_dashboard_once_and_a_write_shows_at_once(client, jimu, admin_headers):
    install_package(jimu, WAREHOUSE)
    for state in ("待发", "待发", "在途"):
        ship(client, admin_headers, 仓库="北仓", 状态=state, 重量=50)
    agents = [bearer(jimu, f"agent{i}", admin=True) for i in range(5)]
    cache = jimu.services.reports.cache
    before = cache.misses
    assert all(counts(client, h) == {"待发": 2, "在途": 1} for h in agents)
    # two cached charts ran once; the report that turns caching off ran for each viewer
    assert cache.misses - before == 2 + len(agents)
    ship(client, admin_headers, 仓库="南仓", 状态="签收", 重量=10)
    assert counts(client, agents[0]) == {"待发": 2, "在途": 1, "签收": 1}
    # other dashboard filter values are other entries
    assert counts(client, agents[1], {"承运商": "顺丰"}) == {}


def test_a_narrower_row_scope_never_gets_cached_figures_of_a_wider_one(client, jimu, admin_headers):
    install_package(jimu, WAREHOUSE)
    ship(client, admin_headers, 仓库="北仓", 状态="待发")
    ship(client, admin_headers, 仓库="南仓", 状态="待发")
    ship(client, admin_headers, 仓库="南仓", 状态="在途")
    clerk = bearer(jimu, "clerk", roles=["north"])
    assert counts(client, admin_headers) == {"待发": 2, "在途": 1}     # cached for the wide scope
    assert counts(client, clerk) == {"待发": 1}
    assert counts(client, admin_headers) == {"待发": 2, "在途": 1}
    resp = client.get("/api/v1/reports/by_state/data", headers=clerk).get_json()
    assert {r["状态"]: r["n"] for r in resp["rows"]} == {"待发": 1}


def test_the_report_preview_explains_the_query(client, jimu, admin_headers, app):
    install_package(jimu, WAREHOUSE)
    ship(client, admin_headers, 仓库="北仓", 状态="待发")
    from tests.conftest import sign_in
    uid = make_user(jimu, "designer", admin=True)
    token = sign_in(client, jimu, uid)
    report = dict(WAREHOUSE["reports"][0], filters=[{"field": "状态", "op": "eq", "value": "待发"}])
    resp = client.post("/builder/api/apps/ship/reports/preview", json={"report": report},
                       headers={"X-CSRF-Token": token})
    assert resp.status_code == 200, resp.get_json()
    explain = resp.get_json()["explain"]
    assert explain["plan"] and "发货单.状态" in explain["indexes"]
    assert "发货单" not in explain["full_scans"]
    assert not any(line for line in explain["plan"] if "ix_f" in line)   # named by form and field
