"""The builder's live previews: a draft report or dashboard compiled by the report engine and run
against the installed records, with the runtime's permissions and coded errors."""
import copy

import pytest

from tests.builder.test_api import login
from tests.conftest import install_package, make_user

FORM = {"key": "请求", "version": 1, "label": {"zh-CN": "请求", "en": "Request"}, "fields": [
    {"key": "标题", "label": "Title", "widget": "text"},
    {"key": "渠道", "label": {"zh-CN": "渠道", "en": "Channel"}, "widget": "select",
     "config": {"options": [{"value": "web", "label": {"zh-CN": "官网", "en": "Web"}},
                            {"value": "phone", "label": {"zh-CN": "电话", "en": "Phone"}}]}},
    {"key": "状态", "label": "Status", "widget": "select", "config": {"options": ["新建", "已解决"]}},
    {"key": "金额", "label": "Amount", "widget": "number"}]}


def _package():
    return {"format": "jimu.app", "version": 2,
            "app": {"key": "desk", "version": "1.0.0", "label": "Desk"},
            "roles": [{"key": "designer", "version": 1, "label": "Designer", "builder": True,
                       "permissions": {"请求": ["create", "read"]}},
                      {"key": "blind", "version": 1, "label": "Blind builder", "builder": True, "permissions": {}}],
            "forms": [copy.deepcopy(FORM)]}


@pytest.fixture
def desk(jimu, client):
    install_package(jimu, _package())
    return client


def _add(client, **values):
    resp = client.post("/api/v1/forms/请求/records", json=values)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


PIE = {"key": "by_channel", "version": 1, "label": "By channel", "type": "pie", "form": "请求",
       "dimensions": [{"field": "渠道"}], "measures": [{"key": "n", "agg": "count"}]}


def test_report_preview_runs_the_draft_definition(jimu, desk):
    make_user(jimu, "bea", roles=["designer"])
    client = login(desk, "bea")
    for channel in ("web", "web", "phone"):
        _add(client, 标题="x", 渠道=channel, 状态="新建")
    resp = client.post("/builder/api/apps/desk/reports/preview", json={"report": PIE, "lang": "en"})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["type"] == "pie" and not body["empty"]
    assert {r["渠道"]: r["n"] for r in body["rows"]} == {"web": 2, "phone": 1}
    trace = body["figure"]["data"][0]
    assert dict(zip(trace["labels"], trace["values"])) == {"Web": 2, "Phone": 1}

    # the KPI of total vs resolved: a conditional count
    kpi = {"key": "kpi", "version": 1, "type": "kpi", "form": "请求",
           "measures": [{"key": "total", "agg": "count"},
                        {"key": "done", "agg": "count", "filter": [{"field": "状态", "op": "eq", "value": "已解决"}]}]}
    _add(client, 标题="y", 渠道="web", 状态="已解决")
    rows = client.post("/builder/api/apps/desk/reports/preview", json={"report": kpi}).get_json()["rows"]
    assert rows == [{"total": 4, "done": 1}]


def test_report_preview_lists_every_definition_error_with_its_code(jimu, desk):
    make_user(jimu, "bea", roles=["designer"])
    client = login(desk, "bea")
    bad = {**PIE, "dimensions": [{"field": "nope"}], "measures": [{"key": "s", "agg": "sum", "field": "标题"}]}
    resp = client.post("/builder/api/apps/desk/reports/preview", json={"report": bad})
    assert resp.status_code == 422
    errors = resp.get_json()["error"]["errors"]
    by_pointer = {e["pointer"]: e["code"] for e in errors}
    assert by_pointer["/dimensions/0"] == "report.unknown_field"
    assert by_pointer["/measures/0"] == "report.bad_aggregate_field"

    wrong_count = {**PIE, "type": "kpi"}
    errors = client.post("/builder/api/apps/desk/reports/preview", json={"report": wrong_count}).get_json()
    assert [e["code"] for e in errors["error"]["errors"]] == ["report.dimension_count"]

    schema = {"key": "x", "version": 1, "type": "pie", "form": "请求", "measures": []}
    errors = client.post("/builder/api/apps/desk/reports/preview", json={"report": schema}).get_json()["error"]
    assert errors["code"] == "validation.failed" and errors["errors"][0]["pointer"] == "/measures"

    unpublished = {**PIE, "form": "draft_only"}
    errors = client.post("/builder/api/apps/desk/reports/preview", json={"report": unpublished}).get_json()["error"]
    assert errors["errors"][0]["code"] == "report.unknown_form"

    resp = client.post("/builder/api/apps/desk/reports/preview", json={"report": "pie"})
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "builder.no_report"


def test_previews_are_for_builders_who_may_read_the_records(jimu, desk):
    assert desk.post("/builder/api/apps/desk/reports/preview", json={"report": PIE}).status_code in (401, 403)
    make_user(jimu, "sam")
    client = login(desk, "sam")
    resp = client.post("/builder/api/apps/desk/reports/preview", json={"report": PIE})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "permission.builder"
    resp = client.post("/builder/api/apps/desk/dashboards/preview", json={"dashboard": {}, "reports": []})
    assert resp.status_code == 403
    assert client.get("/builder/apps/desk/reports/by_channel").status_code == 403      # the designer pages too
    assert client.get("/builder/apps/desk/dashboards/overview").status_code == 403
    client.post("/logout")
    make_user(jimu, "bob", roles=["blind"])            # a builder without read access to the form
    client = login(desk, "bob")
    resp = client.post("/builder/api/apps/desk/reports/preview", json={"report": PIE})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "permission.denied"


def test_dashboard_preview_draws_every_tile_of_the_draft(jimu, desk):
    make_user(jimu, "bea", roles=["designer"])
    client = login(desk, "bea")
    _add(client, 标题="x", 渠道="web", 状态="新建", 金额=5)
    _add(client, 标题="y", 渠道="phone", 状态="已解决", 金额=7)
    broken = {"key": "broken", "version": 1, "type": "pie", "form": "请求",
              "dimensions": [{"field": "nope"}], "measures": [{"key": "n", "agg": "count"}]}
    dash = {"key": "overview", "version": 1, "label": {"zh-CN": "概览", "en": "Overview"},
            "charts": [{"report": "by_channel", "x": 0, "y": 0, "w": 6, "h": 4},
                       {"report": "broken", "x": 6, "y": 0, "w": 6, "h": 4}],
            "filters": [{"field": "状态", "kind": "choice"}]}
    body = {"dashboard": dash, "reports": [PIE, broken], "lang": "zh-CN"}
    resp = client.post("/builder/api/apps/desk/dashboards/preview", json=body)
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()
    assert data["title"] == "概览"
    good, bad = data["charts"]
    assert {r["渠道"]: r["n"] for r in good["rows"]} == {"web": 1, "phone": 1}
    assert (good["x"], good["w"]) == (0, 6)
    assert bad["error"]["code"] == "validation.failed"
    assert bad["error"]["errors"][0]["code"] == "report.unknown_field"

    # the shared filter applies as it will at runtime
    resp = client.post("/builder/api/apps/desk/dashboards/preview", json={**body, "values": {"状态": "已解决"}})
    assert resp.get_json()["charts"][0]["rows"] == [{"渠道": "phone", "n": 1}]

    # a tile naming a report that is not in the draft, or a tile off the grid: the dashboard's own codes
    off = {**dash, "charts": [{"report": "ghost", "x": 10, "y": 0, "w": 4, "h": 4}]}
    resp = client.post("/builder/api/apps/desk/dashboards/preview", json={**body, "dashboard": off})
    assert resp.status_code == 422
    assert sorted(e["code"] for e in resp.get_json()["error"]["errors"]) == ["dashboard.bad_layout",
                                                                             "dashboard.unknown_report"]


def test_designer_pages_render_for_builders(jimu, desk):
    make_user(jimu, "bea", roles=["designer"])
    client = login(desk, "bea")
    page = client.get("/builder/apps/desk/reports/by_channel?new=1&label=x").get_data(as_text=True)
    assert 'id="report-designer"' in page and "report-designer.js" in page and "/vendor/plotly.min.js" in page
    page = client.get("/builder/apps/desk/dashboards/overview").get_data(as_text=True)
    assert 'id="dashboard-designer"' in page and "dashboard-designer.js" in page and "js/plot.js" in page
