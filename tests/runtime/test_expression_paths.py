"""The expression language does what docs/expressions.md says, in forms, rules and flows:
a linked record's field (``客户.等级``), a sub-table column added up (``sum(明细.金额)``) and
working minutes on a business calendar (``working_minutes(a, b, "office")``).

A purchasing package (orders of customers with order lines), not the helpdesk; records go
through the REST API as a client sends them. SQLite and PostgreSQL.
"""
from __future__ import annotations

import pytest

from tests.conftest import install_package, make_user

OFFICE = {"key": "office", "version": 1, "label": "Office", "timezone": "UTC",
          "hours": {d: [["09:00", "12:00"], ["13:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}}


#: the same expressions in a report filter (SQL) and a rule condition (Python)
REPORT_FILTERS = ["sum(明细.金额) > 1000 and 客户.等级 == 'VIP'", "len(明细) == 0", "max(明细.金额) >= 800",
                  "客户.等级 != 'VIP'"]


def package():
    return {
        "format": "jimu.app", "version": 2,
        "app": {"key": "purchasing", "version": "1.0.0", "label": "Purchasing"},
        "calendars": [OFFICE],
        "forms": [
            {"key": "客户", "version": 1, "label": "Customer", "title_field": "名称", "fields": [
                {"key": "名称", "label": "Name", "widget": "text"},
                {"key": "等级", "label": "Level", "widget": "text"}]},
            {"key": "订单", "version": 1, "label": "Order", "fields": [
                {"key": "标题", "label": "Title", "widget": "text"},
                {"key": "客户", "label": "Customer", "widget": "link", "config": {"form": "客户"}},
                {"key": "明细", "label": "Lines", "widget": "subtable", "config": {"fields": [
                    {"key": "品名", "label": "Item", "widget": "text"},
                    {"key": "金额", "label": "Amount", "widget": "money"}]}},
                {"key": "合计", "label": "Total", "widget": "formula", "formula": "sum(明细.金额)"},
                {"key": "客户等级", "label": "Customer level", "widget": "formula", "formula": "客户.等级",
                 "config": {"result": "text"}},
                {"key": "折扣", "label": "Discount", "widget": "formula",
                 "formula": "if(客户.等级 == 'VIP', round(sum(明细.金额) * 0.1, 2), 0)"},
                {"key": "备注", "label": "Note", "widget": "text", "required_if": "客户.等级 == 'VIP'"},
                {"key": "提交时间", "label": "Submitted", "widget": "datetime"},
                {"key": "完成时间", "label": "Done", "widget": "datetime"},
                {"key": "处理分钟", "label": "Working minutes", "widget": "formula",
                 "formula": "working_minutes(提交时间, 完成时间, 'office')"},
                {"key": "标记", "label": "Flag", "widget": "text"},
                {"key": "路由", "label": "Route", "widget": "text"}]},
        ],
        "flows": [{
            "key": "review", "version": 1, "label": "Review", "form": "订单",
            "nodes": [{"id": "s", "type": "start", "config": {}},
                      {"id": "g", "type": "exclusive_gateway", "config": {}},
                      {"id": "vip", "type": "user_task", "config": {"assignee": {"kind": "user", "value": "buyer"}}},
                      {"id": "normal", "type": "user_task", "config": {"assignee": {"kind": "user", "value": "buyer"}}},
                      {"id": "end", "type": "end", "config": {}}],
            "edges": [{"id": "e1", "from": "s", "to": "g"},
                      {"id": "e2", "from": "g", "to": "vip", "condition": "客户.等级 == 'VIP' and sum(明细.金额) > 1000"},
                      {"id": "e3", "from": "g", "to": "normal", "default": True},
                      {"id": "e4", "from": "vip", "to": "end"}, {"id": "e5", "from": "normal", "to": "end"}]}],
        "reports": [{"key": f"r{i}", "version": 1, "label": f"r{i}", "type": "table", "form": "订单",
                     "filter_expr": source, "dimensions": [{"field": "标题"}],
                     "measures": [{"key": "n", "agg": "count"}]} for i, source in enumerate(REPORT_FILTERS)],
        "rules": [
            {"key": "vip_big", "version": 1, "label": "VIP big order", "form": "订单",
             "trigger": {"type": "record_created"},
             "condition": {"all": [{"field": "客户.等级", "op": "eq", "value": "VIP"},
                                   {"expr": "sum(明细.金额) > 1000"}]},
             "actions": [{"type": "set_fields", "values": {"标记": "VIP大单"}}]},
        ],
    }


@pytest.fixture
def shop(jimu, client, admin_headers):
    make_user(jimu, "buyer")
    install_package(jimu, package())

    def post(form, data, status=201):
        r = client.post(f"/api/v1/forms/{form}/records", json=data, headers=admin_headers)
        assert r.status_code == status, r.json
        return r.json
    vip = post("客户", {"名称": "Acme", "等级": "VIP"})["id"]
    plain = post("客户", {"名称": "Bolt", "等级": "普通"})["id"]
    return {"post": post, "vip": vip, "plain": plain}


LINES = [{"品名": "pump", "金额": "800.50"}, {"品名": "valve", "金额": "300.25"}]


def test_formulas_read_the_linked_record_and_add_up_the_sub_table(shop, client, admin_headers):
    order = shop["post"]("订单", {"标题": "o1", "客户": shop["vip"], "明细": LINES, "备注": "rush"})
    assert float(order["合计"]) == pytest.approx(1100.75)
    assert order["客户等级"] == "VIP"
    assert float(order["折扣"]) == pytest.approx(110.08)
    other = shop["post"]("订单", {"标题": "o2", "客户": shop["plain"], "明细": LINES[:1]})
    assert other["客户等级"] == "普通" and float(other["折扣"]) == 0 and float(other["合计"]) == 800.5
    empty = shop["post"]("订单", {"标题": "o3"})
    assert empty["客户等级"] is None and float(empty["合计"] or 0) == 0
    # an update that changes the link re-reads the new customer
    r = client.patch(f"/api/v1/forms/订单/records/{other['id']}", json={"客户": shop["vip"], "备注": "now VIP"},
                     headers=admin_headers)
    assert r.status_code == 200, r.json
    assert r.json["客户等级"] == "VIP" and float(r.json["折扣"]) == pytest.approx(80.05)


def test_a_condition_on_a_linked_field_is_checked(shop):
    errors = shop["post"]("订单", {"标题": "o4", "客户": shop["vip"]}, status=422)["error"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("备注", "form.required")]
    shop["post"]("订单", {"标题": "o5", "客户": shop["plain"]})


def test_a_rule_condition_reads_the_linked_record_and_the_sub_table(shop, client, admin_headers):
    big = shop["post"]("订单", {"标题": "big", "客户": shop["vip"], "明细": LINES, "备注": "x"})
    small = shop["post"]("订单", {"标题": "small", "客户": shop["vip"], "明细": LINES[1:], "备注": "x"})
    plain = shop["post"]("订单", {"标题": "plain", "客户": shop["plain"], "明细": LINES})
    flags = {o["标题"]: client.get(f"/api/v1/forms/订单/records/{o['id']}", headers=admin_headers).json["标记"]
             for o in (big, small, plain)}
    assert flags == {"big": "VIP大单", "small": None, "plain": None}
    log = client.get("/api/v1/rules/firings", headers=admin_headers).json["firings"]
    assert all(f["errors"] is None for f in log)


@pytest.mark.parametrize("i", range(len(REPORT_FILTERS)), ids=REPORT_FILTERS)
def test_reports_and_rules_agree_on_links_and_sub_tables(shop, client, admin_headers, i):
    shop["post"]("订单", {"标题": "big", "客户": shop["vip"], "明细": LINES, "备注": "x"})
    shop["post"]("订单", {"标题": "small", "客户": shop["vip"], "明细": LINES[1:], "备注": "x"})
    shop["post"]("订单", {"标题": "plain", "客户": shop["plain"], "明细": LINES})
    shop["post"]("订单", {"标题": "none"})
    r = client.get(f"/api/v1/reports/r{i}/data", headers=admin_headers)
    assert r.status_code == 200, r.json
    charted = {row["标题"] for row in r.json["rows"]}
    rule = {"key": "probe", "version": 1, "label": "probe", "form": "订单", "trigger": {"type": "record_created"},
            "condition": {"expr": REPORT_FILTERS[i]}, "actions": [{"type": "set_fields", "values": {"标记": "x"}}]}
    r = client.post("/api/v1/rules/dry-run", json={"rule": rule, "limit": 100}, headers=admin_headers)
    assert r.status_code == 200 and r.json["errors"] == [], r.json
    assert {rec["record"]["标题"] for rec in r.json["records"]} == charted
    expected = [{"big"}, {"none"}, {"big", "plain"}, {"plain", "none"}][i]
    assert charted == expected


def test_a_flow_gateway_branches_on_the_linked_record(shop, jimu):
    import sqlalchemy as sa

    from runtime.flows.tables import flow_tasks
    big = shop["post"]("订单", {"标题": "big", "客户": shop["vip"], "明细": LINES, "备注": "x"})
    plain = shop["post"]("订单", {"标题": "plain", "客户": shop["plain"], "明细": LINES})
    with jimu.read() as conn:
        rows = conn.execute(sa.select(flow_tasks.c.record_id, flow_tasks.c.node_id)).all()
    assert {(r.record_id, r.node_id) for r in rows} == {(big["id"], "vip"), (plain["id"], "normal")}


def test_working_minutes_count_only_office_hours(shop):
    # Friday 17:00 → Monday 10:30: 1 h on Friday, 1.5 h on Monday (the weekend is not working time)
    order = shop["post"]("订单", {"标题": "sla", "提交时间": "2026-11-06T17:00:00Z", "完成时间": "2026-11-09T10:30:00Z"})
    assert order["处理分钟"] == 150
    # the lunch break 12:00-13:00 does not count
    order = shop["post"]("订单", {"标题": "lunch", "提交时间": "2026-11-09T11:00:00Z", "完成时间": "2026-11-09T14:00:00Z"})
    assert order["处理分钟"] == 120


def test_definition_mistakes_in_paths_are_refused_when_the_package_is_installed(jimu):
    from engines.errors import JimuError
    for formula, message in [("sum(明细.价格)", "sub-table '明细' has no column '价格'"),
                             ("客户.级别", "linked form '客户' (through '客户') has no field '级别'"),
                             ("标题.长度", "'标题' is a text field")]:
        data = package()
        data["forms"][1]["fields"][3]["formula"] = formula
        with pytest.raises(JimuError) as exc:
            install_package(jimu, data)
        assert message in str(exc.value.to_dict()), exc.value.to_dict()
