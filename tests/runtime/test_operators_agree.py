"""One operator semantics: the same filter through the record list, a rule condition, a report
and its drill-down selects the same rows (SQLite and PostgreSQL), and a rule whose operator
cannot be evaluated logs a typed error instead of a silent "no match".

The package is a purchasing app (orders of customers with order lines), not the helpdesk.
"""
from __future__ import annotations

import json

import pytest

from tests.conftest import api_token, install_package, make_user

#: the filters every engine must agree on; each names the old disagreement it guards
FILTERS = [
    # money: the rule compared a Decimal with an int and silently said "no"
    {"field": "总额", "op": "gt", "value": 50000},
    {"field": "总额", "op": "between", "value": [100, 60000]},
    # case: the report ignored case, the list and the rule did not
    {"field": "标题", "op": "startswith", "value": "Pump"},
    {"field": "标题", "op": "contains", "value": "valve"},
    {"field": "标题", "op": "not_contains", "value": "valve"},
    # within_days: only the report had an upper bound, so a future date counted in the list
    {"field": "交付日期", "op": "within_days", "value": 10},
    {"field": "状态", "op": "not_in", "value": ["取消"]},
    {"field": "状态", "op": "is_empty"},
    {"field": "状态", "op": "ne", "value": "取消"},
    # a field of the linked customer: the report joins it, the list and the rule follow the link
    {"field": "客户.等级", "op": "eq", "value": "VIP"},
    {"field": "客户.等级", "op": "ne", "value": "VIP"},
]
#: filter_expr twins of FILTERS entries: the same rows through the expression language
EXPRESSIONS = {3: "contains(标题, 'valve')", 2: "startswith(标题, 'Pump')", 8: "状态 != '取消'",
               9: "客户.等级 == 'VIP'", 0: "总额 > 50000"}

ORDERS = [
    {"标题": "Pump A", "总额": "60000.50", "交付日期": "2026-10-30", "状态": "新建", "客户": "vip"},
    {"标题": "pump b", "总额": "50000.00", "交付日期": "2026-11-20", "状态": "取消"},  # future delivery
    {"标题": "Valve set", "总额": "120.00", "交付日期": "2026-10-01"},
    {"标题": "Big valve", "总额": "99999.99", "交付日期": "2026-11-01", "状态": "新建", "客户": "plain"},
    {"标题": "PUMP C", "总额": "50000.01", "交付日期": "2026-11-02", "状态": ""},
]


def package():
    reports = []
    for i, f in enumerate(FILTERS):
        reports.append({"key": f"t{i}", "version": 1, "label": f"t{i}", "type": "table", "form": "订单",
                        "filters": [f], "dimensions": [{"field": "标题"}], "measures": [{"key": "n", "agg": "count"}]})
        reports.append({"key": f"k{i}", "version": 1, "label": f"k{i}", "type": "kpi", "form": "订单",
                        "filters": [f], "measures": [{"key": "n", "agg": "count"}]})
    for i, source in EXPRESSIONS.items():
        reports.append({"key": f"x{i}", "version": 1, "label": f"x{i}", "type": "table", "form": "订单",
                        "filter_expr": source, "dimensions": [{"field": "标题"}],
                        "measures": [{"key": "n", "agg": "count"}]})
    return {
        "format": "jimu.app", "version": 2,
        "app": {"key": "purchasing", "version": "1.0.0", "label": "Purchasing"},
        "forms": [
            {"key": "客户", "version": 1, "label": "Customer", "fields": [
                {"key": "名称", "label": "Name", "widget": "text"},
                {"key": "等级", "label": "Level", "widget": "text"}]},
            {"key": "订单", "version": 1, "label": "Order", "title_field": "标题", "fields": [
                {"key": "标题", "label": "Title", "widget": "text"},
                {"key": "总额", "label": "Total", "widget": "money"},
                {"key": "交付日期", "label": "Delivery", "widget": "date"},
                {"key": "状态", "label": "Status", "widget": "text"},
                {"key": "标记", "label": "Flag", "widget": "text"},
                {"key": "客户", "label": "Customer", "widget": "link", "config": {"form": "客户"}}]},
        ],
        "roles": [{"key": "clerk", "version": 1, "label": "Clerk", "permissions": {"订单": ["read"]}}],
        "rules": [{"key": "big_order", "version": 1, "label": "Big order", "form": "订单",
                   "trigger": {"type": "record_created"},
                   "condition": {"field": "总额", "op": "gt", "value": 50000},
                   "actions": [{"type": "set_fields", "values": {"标记": "大额"}}]},
                  {"key": "bad_compare", "version": 1, "label": "Compares text with a number", "form": "订单",
                   "trigger": {"type": "record_created"},
                   "condition": {"field": "标题", "op": "gt", "value": 5},
                   "actions": [{"type": "set_fields", "values": {"标记": "never"}}]}],
        "reports": reports,
    }


@pytest.fixture
def orders(jimu, client, admin_headers):
    install_package(jimu, package())
    customers = {}
    for name, level in (("vip", "VIP"), ("plain", "普通")):
        r = client.post("/api/v1/forms/客户/records", json={"名称": name, "等级": level}, headers=admin_headers)
        customers[name] = r.json["id"]
    ids = {}
    for o in ORDERS:
        o = {**o, "客户": customers[o["客户"]]} if "客户" in o else o
        r = client.post("/api/v1/forms/订单/records", json=o, headers=admin_headers)
        assert r.status_code == 201, r.json
        ids[o["标题"]] = r.json["id"]
    return ids


def _list(client, headers, filters) -> set[str]:
    r = client.get("/api/v1/forms/订单/records", query_string={"filter": json.dumps(filters, ensure_ascii=False),
                                                              "per_page": 200}, headers=headers)
    assert r.status_code == 200, r.json
    return {rec["标题"] for rec in r.json["records"]}


def _rule(client, headers, condition) -> set[str]:
    rule = {"key": "probe", "version": 1, "label": "probe", "form": "订单", "trigger": {"type": "record_created"},
            "condition": condition, "actions": [{"type": "set_fields", "values": {"标记": "x"}}]}
    r = client.post("/api/v1/rules/dry-run", json={"rule": rule, "limit": 500}, headers=headers)
    assert r.status_code == 200, r.json
    assert r.json["errors"] == [], r.json["errors"]
    return {rec["record"]["标题"] for rec in r.json["records"]}


@pytest.mark.parametrize("i", range(len(FILTERS)), ids=[f"{f['op']}-{f['field']}" for f in FILTERS])
def test_list_rule_report_and_drilldown_select_the_same_rows(client, orders, admin_headers, i):
    f = FILTERS[i]
    listed = _list(client, admin_headers, [f])
    assert _rule(client, admin_headers, f) == listed
    table = client.get(f"/api/v1/reports/t{i}/data", headers=admin_headers)
    assert table.status_code == 200, table.json
    assert {row["标题"] for row in table.json["rows"]} == listed
    kpi = client.get(f"/api/v1/reports/k{i}/data", headers=admin_headers).json
    assert kpi["rows"][0]["n"] == len(listed)
    drill = client.post(f"/api/v1/reports/k{i}/drilldown", json={"point": {}}, headers=admin_headers).json
    assert drill["complete"] is True
    assert _list(client, admin_headers, drill["filter"]) == listed


@pytest.mark.parametrize("i", sorted(EXPRESSIONS), ids=[EXPRESSIONS[i] for i in sorted(EXPRESSIONS)])
def test_an_expression_selects_what_its_operator_twin_selects(client, orders, admin_headers, i):
    """contains() and {op: contains} (and the other twins) agree in reports and in rule conditions."""
    listed = _list(client, admin_headers, [FILTERS[i]])
    table = client.get(f"/api/v1/reports/x{i}/data", headers=admin_headers)
    assert table.status_code == 200, table.json
    assert {row["标题"] for row in table.json["rows"]} == listed
    assert _rule(client, admin_headers, {"expr": EXPRESSIONS[i]}) == listed


def test_the_chosen_semantics(client, orders, admin_headers):
    """The rows each disputed operator selects (clock: 2026-11-02 09:00 UTC)."""
    h = admin_headers
    assert _list(client, h, [FILTERS[0]]) == {"Pump A", "Big valve", "PUMP C"}  # 50000.00 is not > 50000
    assert _list(client, h, [FILTERS[2]]) == {"Pump A"}  # case-sensitive
    assert _list(client, h, [FILTERS[3]]) == {"Big valve"}
    assert _list(client, h, [FILTERS[5]]) == {"Pump A", "Big valve", "PUMP C"}  # not the future 11-20
    assert _list(client, h, [FILTERS[7]]) == {"Valve set", "PUMP C"}  # null or empty text
    assert _list(client, h, [FILTERS[6]]) == {"Pump A", "Valve set", "Big valve", "PUMP C"}  # null is "not in"
    assert _list(client, h, [FILTERS[9]]) == {"Pump A"}
    assert _list(client, h, [FILTERS[10]]) == {"pump b", "Valve set", "Big valve", "PUMP C"}  # no customer: "not VIP"


def test_a_money_condition_fires_and_a_bad_comparison_is_a_logged_typed_error(client, orders, admin_headers):
    r = client.get(f"/api/v1/forms/订单/records/{orders['Big valve']}", headers=admin_headers)
    assert r.json["标记"] == "大额"
    assert client.get(f"/api/v1/forms/订单/records/{orders['Valve set']}", headers=admin_headers).json["标记"] is None
    log = client.get("/api/v1/rules/firings", query_string={"limit": 1000}, headers=admin_headers).json["firings"]
    big = {f["record_id"]: f for f in log if f["rule_key"] == "big_order"}
    assert big[orders["Big valve"]]["matched"] is True and big[orders["Big valve"]]["errors"] is None
    assert orders["pump b"] not in big  # a non-match is not logged (RULES_LOG_NON_MATCHES); errors are
    bad = [f for f in log if f["rule_key"] == "bad_compare"]
    assert len(bad) == len(ORDERS)
    for firing in bad:
        assert firing["matched"] is False
        assert [e["code"] for e in firing["errors"]] == ["expr.type"]
        assert "cannot compare text with number" in firing["errors"][0]["message"]


def test_a_link_path_filter_needs_read_access_to_the_linked_form(client, jimu, orders):
    """A clerk who may read orders but not customers cannot probe customers through 客户.等级."""
    clerk = {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, 'clerk', roles=['clerk']))}"}
    r = client.get("/api/v1/forms/订单/records", headers=clerk)
    assert r.status_code == 200 and len(r.json["records"]) == len(ORDERS)
    r = client.get("/api/v1/forms/订单/records", headers=clerk,
                   query_string={"filter": json.dumps([FILTERS[9]], ensure_ascii=False)})
    assert r.status_code == 403 and r.json["error"]["code"] == "permission.denied"
