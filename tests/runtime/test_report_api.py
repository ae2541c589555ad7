"""Reports over HTTP: chart data, dashboards with shared filters, drill-down, exports, permissions."""
from __future__ import annotations

import csv
import io
import json
from collections import Counter
from urllib.parse import parse_qs, urlparse

import pytest

from tests.conftest import api_token, install_package, make_user

CHANNELS = ["官网", "微信", "电话", "邮件"]

PACKAGE = {
    "format": "jimu.app", "version": 2,
    "app": {"key": "desk", "version": "1.0.0", "label": {"zh-CN": "服务台", "en": "Desk"}},
    "roles": [{"key": "agent", "version": 1, "label": "Agent", "permissions": {"工单": ["read"]}},
              {"key": "nobody", "version": 1, "label": "Nobody", "permissions": {"客户": ["read"]}}],
    "forms": [
        {"key": "客户", "version": 1, "label": "Customer", "fields": [
            {"key": "名称", "label": "Name", "widget": "text"},
            {"key": "等级", "label": "Level", "widget": "number"}]},
        {"key": "工单", "version": 1, "label": {"zh-CN": "工单", "en": "Ticket"}, "fields": [
            {"key": "标题", "label": "Title", "widget": "text"},
            {"key": "渠道", "label": {"zh-CN": "渠道", "en": "Channel"}, "widget": "text"},
            {"key": "状态", "label": "Status", "widget": "text"},
            {"key": "金额", "label": "Amount", "widget": "number"},
            {"key": "客户", "label": "Customer", "widget": "link", "config": {"form": "客户"}}]},
    ],
    "reports": [
        {"key": "by_channel", "version": 1, "label": {"zh-CN": "按渠道", "en": "By channel"}, "type": "pie",
         "form": "工单", "dimensions": [{"field": "渠道"}], "measures": [{"key": "n", "agg": "count"}]},
        {"key": "totals", "version": 1, "label": {"zh-CN": "总量与已解决", "en": "Total vs resolved"}, "type": "kpi",
         "form": "工单", "measures": [
             {"key": "total", "agg": "count"},
             {"key": "resolved", "agg": "count", "filter": [{"field": "状态", "op": "eq", "value": "已解决"}]},
             {"key": "rate", "ratio": ["resolved", "total"]}]},
        {"key": "daily", "version": 1, "label": "Daily", "type": "line", "form": "工单",
         "dimensions": [{"field": "created_at", "bucket": "day", "key": "day"}],
         "measures": [{"key": "n", "agg": "count"}]},
        {"key": "by_level", "version": 1, "label": "By level", "type": "bar", "form": "工单",
         "joins": [{"field": "客户", "as": "c"}], "dimensions": [{"field": "c.等级", "key": "level"}],
         "measures": [{"key": "amount", "agg": "sum", "field": "金额"}]},
        {"key": "titles", "version": 1, "label": "Titles", "type": "table", "form": "工单",
         "dimensions": [{"field": "标题"}], "measures": [{"key": "n", "agg": "count"}]},
    ],
    "dashboards": [
        {"key": "overview", "version": 1, "label": {"zh-CN": "服务概览", "en": "Overview"}, "refresh_seconds": 60,
         "charts": [{"report": "by_channel", "x": 0, "y": 0, "w": 6, "h": 4},
                    {"report": "totals", "x": 6, "y": 0, "w": 6, "h": 3},
                    {"report": "daily", "x": 0, "y": 4, "w": 12, "h": 4},
                    {"report": "by_level", "x": 0, "y": 8, "w": 6, "h": 4}],
         "filters": [{"field": "created_at", "kind": "date_range", "label": {"zh-CN": "创建时间", "en": "Created"}},
                     {"field": "渠道", "kind": "choice", "label": {"zh-CN": "渠道", "en": "Channel"}}]},
    ],
}


@pytest.fixture
def desk(jimu, client, admin_headers, clock):
    """40 customers' worth of tickets over 6 days, with a formula-injection title among them."""
    install_package(jimu, PACKAGE)
    customers = client.post("/api/v1/forms/客户/records", headers=admin_headers,
                            json=[{"名称": f"客户{i}", "等级": i % 3} for i in range(4)]).json["ids"]
    tickets = []
    for day in range(6):
        batch = [{"标题": "=HYPERLINK(\"http://x\")" if i == 0 and day == 0 else f"问题{i % 3}",
                  "渠道": CHANNELS[(i + day) % 4] if i % 5 else CHANNELS[0],
                  "状态": "已解决" if (i + day) % 3 == 0 else "处理中", "金额": i * 10 + day,
                  "客户": customers[i % 4] if i % 7 else None} for i in range(10 + day)]
        assert client.post("/api/v1/forms/工单/records", headers=admin_headers, json=batch).status_code == 201
        for t in batch:
            tickets.append({**t, "day": clock.now.date().isoformat(), "level": (customers.index(t["客户"]) % 3)
                            if t["客户"] else None})
        clock.advance(days=1)
    return tickets


def headers_for(jimu, username, roles=()):
    return {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, username, roles=roles))}"}


def test_chart_data_has_rows_and_plotly_figure(client, desk, admin_headers):
    r = client.get("/api/v1/reports/by_channel/data?lang=en", headers=admin_headers)
    assert r.status_code == 200, r.json
    counts = Counter(t["渠道"] for t in desk)
    assert {row["渠道"]: row["n"] for row in r.json["rows"]} == counts
    trace = r.json["figure"]["data"][0]
    assert trace["type"] == "pie" and dict(zip(trace["labels"], trace["values"])) == counts
    assert r.json["title"] == "By channel" and r.json["empty"] is False

    r = client.get("/api/v1/reports/daily/data", headers=admin_headers)
    assert [(row["day"], row["n"]) for row in r.json["rows"]] == sorted(Counter(t["day"] for t in desk).items())

    r = client.get("/api/v1/reports/by_level/data", headers=admin_headers)  # through the link field
    expected = Counter()
    for t in desk:
        expected[t["level"]] += t["金额"]
    assert {row["level"]: row["amount"] for row in r.json["rows"]} == expected


def test_chart_filters_and_empty_state(client, desk, admin_headers):
    f = json.dumps([{"field": "渠道", "op": "eq", "value": "微信"}])
    r = client.get(f"/api/v1/reports/totals/data?filter={f}", headers=admin_headers)
    wechat = [t for t in desk if t["渠道"] == "微信"]
    row = r.json["rows"][0]
    assert (row["total"], row["resolved"]) == (len(wechat), sum(t["状态"] == "已解决" for t in wechat))
    assert row["rate"] == pytest.approx(row["resolved"] / row["total"])

    none = json.dumps([{"field": "渠道", "op": "eq", "value": "没有这个渠道"}])
    r = client.get(f"/api/v1/reports/by_channel/data?filter={none}&lang=zh-CN", headers=admin_headers)
    assert r.json["empty"] is True and r.json["figure"]["layout"]["annotations"][0]["text"] == "暂无数据"


@pytest.mark.parametrize("param, code", [
    ([{"field": "beta and 1=1", "op": "eq", "value": 1}], "report.unknown_field"),
    ([{"field": "渠道", "op": "eq) OR 1=1 --", "value": 1}], "report.unknown_operator"),
    ([{"field": "金额", "op": "gt", "value": "1; DROP TABLE jimu_users"}], "report.bad_value"),
])
def test_bad_filters_are_coded_errors(client, desk, admin_headers, param, code):
    r = client.get(f"/api/v1/reports/by_channel/data?filter={json.dumps(param)}", headers=admin_headers)
    assert r.status_code == 422
    assert [e["code"] for e in r.json["error"]["errors"]] == [code]


def test_quote_payloads_are_bound_values(client, desk, admin_headers):
    for payload in ["x' OR '1'='1", "'{1}'", "@>", "O\"Brien'; DROP TABLE jimu_users; --"]:
        f = json.dumps([{"field": "渠道", "op": "eq", "value": payload}])
        r = client.get(f"/api/v1/reports/totals/data?filter={f}", headers=admin_headers)
        assert r.status_code == 200 and r.json["rows"][0]["total"] == 0
    assert client.get("/api/v1/reports/totals/data", headers=admin_headers).json["rows"][0]["total"] == len(desk)


def test_dashboard_data_with_shared_filters(client, desk, admin_headers):
    days = sorted({t["day"] for t in desk})
    values = {"created_at": {"from": days[1], "to": days[3]}, "渠道": ["官网", "电话"]}
    r = client.get(f"/api/v1/dashboards/overview/data?lang=en&values={json.dumps(values)}", headers=admin_headers)
    assert r.status_code == 200, r.json
    tiles = {t["report"]: t for t in r.json["charts"]}
    assert [f["label"] for f in r.json["filters"]] == ["Created", "Channel"] and r.json["title"] == "Overview"
    picked = [t for t in desk if days[1] <= t["day"] <= days[3] and t["渠道"] in ("官网", "电话")]
    assert {row["渠道"]: row["n"] for row in tiles["by_channel"]["rows"]} == Counter(t["渠道"] for t in picked)
    assert tiles["totals"]["rows"][0]["total"] == len(picked)
    assert [(row["day"], row["n"]) for row in tiles["daily"]["rows"]] == sorted(Counter(t["day"] for t in picked).items())
    assert (tiles["totals"]["x"], tiles["totals"]["w"]) == (6, 6) and r.json["refresh_seconds"] == 60

    r = client.get(f"/api/v1/dashboards/overview/data?values={json.dumps({'nope': 1})}", headers=admin_headers)
    assert r.status_code == 400 and r.json["error"]["code"] == "report.unknown_shared_filter"


def test_drilldown_gives_the_filtered_record_list_url(client, desk, admin_headers):
    data = client.get("/api/v1/reports/by_channel/data", headers=admin_headers).json
    row = data["rows"][data["figure"]["data"][0]["customdata"][1]]
    r = client.post("/api/v1/reports/by_channel/drilldown", headers=admin_headers,
                    json={"point": row, "dashboard": "overview", "values": {"created_at": {"within_days": 3}}})
    assert r.status_code == 200, r.json
    assert r.json["form"] == "工单" and r.json["complete"] is True
    assert r.json["filter"] == [{"field": "渠道", "op": "eq", "value": row["渠道"]},
                                {"field": "created_at", "op": "within_days", "value": 3}]
    url = urlparse(r.json["url"])
    assert url.path == "/forms/%E5%B7%A5%E5%8D%95"
    assert json.loads(parse_qs(url.query)["filter"][0]) == r.json["filter"]
    # the filter means the same rows to the record list API
    listed = client.get(f"/api/v1/forms/工单/records?per_page=500&filter={json.dumps(r.json['filter'][:1])}",
                        headers=admin_headers)
    assert listed.json["total"] == row["n"]

    # a joined field is a link path the record list follows, so this drill-down is complete too
    r = client.post("/api/v1/reports/by_level/drilldown", headers=admin_headers, json={"point": {"level": 1}})
    assert r.json["complete"] is True and r.json["filter"] == [{"field": "客户.等级", "op": "eq", "value": 1}]
    listed = client.get("/api/v1/forms/工单/records", headers=admin_headers,
                        query_string={"per_page": 500, "filter": json.dumps(r.json["filter"])})
    level_1 = next(x for x in client.get("/api/v1/reports/by_level/data", headers=admin_headers).json["rows"]
                   if x["level"] == 1)
    assert listed.status_code == 200 and listed.json["total"] > 0
    assert sum(float(x["金额"] or 0) for x in listed.json["records"]) == pytest.approx(float(level_1["amount"]))


def test_csv_and_xlsx_exports_escape_formulas(client, desk, admin_headers):
    r = client.get("/api/v1/reports/titles/export.csv?lang=en", headers=admin_headers)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert table[0] == ["Title", "n"]  # the field's label in the asked language
    titles = {row[0]: int(row[1]) for row in table[1:]}
    assert titles["'=HYPERLINK(\"http://x\")"] == 1 and "=HYPERLINK(\"http://x\")" not in titles
    assert sum(titles.values()) == len(desk)

    from openpyxl import load_workbook
    r = client.get("/api/v1/reports/titles/export.xlsx", headers=admin_headers)
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.data)).active
    cells = [[c.value for c in row] for row in ws.iter_rows()]
    assert cells[0] == ["Title", "n"]  # the field's label (the package labels it in English only)
    assert ["'=HYPERLINK(\"http://x\")", 1] in cells
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    assert client.get("/api/v1/reports/titles/export.pdf", headers=admin_headers).status_code == 404


def test_permissions(client, jimu, desk, monkeypatch):
    agent = headers_for(jimu, "agent1", roles=["agent"])
    other = headers_for(jimu, "other", roles=["nobody"])
    assert client.get("/api/v1/reports/by_channel/data", headers=agent).status_code == 200
    # by_level joins the customer form, which agents may not read
    r = client.get("/api/v1/reports/by_level/data", headers=agent)
    assert r.status_code == 403
    r = client.get("/api/v1/reports/by_channel/data", headers=other)
    assert r.status_code == 403 and r.json["error"]["code"] == "permission.denied"
    assert client.get("/api/v1/reports/by_channel/data").status_code == 401
    assert client.get("/api/v1/dashboards/overview/data", headers=other).status_code == 403
    assert [d["key"] for d in client.get("/api/v1/dashboards", headers=agent).json["dashboards"]] == ["overview"]
    assert client.get("/api/v1/dashboards", headers=other).json["dashboards"] == []
    assert {r["key"] for r in client.get("/api/v1/reports", headers=agent).json["reports"]} == {
        "by_channel", "totals", "daily", "titles"}
    tiles = {t["report"]: t for t in client.get("/api/v1/dashboards/overview/data", headers=agent).json["charts"]}
    assert tiles["by_level"]["error"]["code"] == "permission.denied" and "rows" not in tiles["by_level"]

    # aggregates only count the rows the viewer may read: a row filter limiting agents to one channel
    from runtime.api import reports
    def only_wechat(principal, ft):
        return None if principal.is_admin else ft.column("渠道") == "微信"
    monkeypatch.setattr(reports, "row_filter", only_wechat)
    rows = client.get("/api/v1/reports/by_channel/data", headers=agent).json["rows"]
    assert rows == [{"渠道": "微信", "n": sum(t["渠道"] == "微信" for t in desk)}]
    tiles = {t["report"]: t for t in client.get("/api/v1/dashboards/overview/data", headers=agent).json["charts"]}
    assert tiles["totals"]["rows"][0]["total"] == sum(t["渠道"] == "微信" for t in desk)


def test_unknown_report_and_dashboard(client, desk, admin_headers):
    assert client.get("/api/v1/reports/nope/data", headers=admin_headers).json["error"]["code"] == "report.not_found"
    assert client.get("/api/v1/dashboards/nope/data", headers=admin_headers).status_code == 404


def test_catalog_for_the_designer(client, desk, admin_headers):
    r = client.get("/api/v1/reports/catalog", headers=admin_headers)
    assert r.status_code == 200
    assert [c["type"] for c in r.json["charts"]] == ["bar", "funnel", "gauge", "kpi", "line", "pie", "pivot", "table"]
    pie = next(c for c in r.json["charts"] if c["type"] == "pie")
    assert pie["label"]["zh-CN"] == "饼图" and "donut" in pie["options_schema"]["properties"]
    assert {a["agg"] for a in r.json["aggregates"]} >= {"count", "median", "percent_of_total"}
    assert "within_days" in {o["op"] for o in r.json["operators"]} and "quarter" in r.json["buckets"]
    assert "process.first_response_minutes" in {f["field"] for f in r.json["process_fields"]}


def test_daily_buckets_and_date_ranges_follow_the_configured_time_zone(client, jimu, admin_headers, clock):
    from datetime import datetime, timezone
    jimu.config["TIMEZONE"] = "Asia/Shanghai"
    install_package(jimu, PACKAGE)
    for hour, minute in [(15, 30), (15, 59), (16, 0), (16, 30), (23, 0)]:  # 16:00 UTC is midnight in Shanghai
        clock.now = datetime(2026, 11, 10, hour, minute, tzinfo=timezone.utc)
        client.post("/api/v1/forms/工单/records", headers=admin_headers, json={"标题": "t", "渠道": "微信"})
    rows = client.get("/api/v1/reports/daily/data", headers=admin_headers).json["rows"]
    assert [(r["day"], r["n"]) for r in rows] == [("2026-11-10", 2), ("2026-11-11", 3)]
    r = client.post("/api/v1/reports/daily/drilldown", headers=admin_headers, json={"point": rows[1]})
    assert r.json["filter"] == [{"field": "created_at", "op": "gte", "value": "2026-11-11T00:00:00+08:00"},
                                {"field": "created_at", "op": "lt", "value": "2026-11-12T00:00:00+08:00"}]
    listed = client.get("/api/v1/forms/工单/records?" + urlparse(r.json["url"]).query, headers=admin_headers)
    assert listed.json["total"] == 3
    values = json.dumps({"created_at": {"from": "2026-11-11", "to": "2026-11-11"}})
    tiles = {t["report"]: t for t in client.get(f"/api/v1/dashboards/overview/data?values={values}",
                                                headers=admin_headers).json["charts"]}
    assert tiles["totals"]["rows"][0]["total"] == 3
