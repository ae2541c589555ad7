"""Issue 12 item 3 over HTTP, on a purchase-request package: formulas are computed before the
conditions that read them, conditions run on the merged record (stored values + the change) on create
and on update, and read-only fields are never taken from a person's submission."""
from __future__ import annotations

import pytest

from tests.conftest import api_token, install_package, make_user
from .purchase_package import BUDGET_RULE, purchase_package
from .rules_helpers import firings, get

URL = "/api/v1/forms/采购申请/records"


@pytest.fixture
def buyer(jimu):
    install_package(jimu, purchase_package(rules=[BUDGET_RULE]))
    return {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, 'bea', roles=['buyer']))}"}


def errors(response):
    return sorted((e["field"], e["code"]) for e in response.get_json()["error"]["errors"])


def test_required_if_on_a_formula_total_is_checked_on_create(client, buyer):
    r = client.post(URL, json={"物品": "服务器", "单价": "30000", "数量": 2, "理由": "扩容"}, headers=buyer)
    assert r.status_code == 422, r.get_json()
    assert errors(r) == [("审批人", "form.required")]
    r = client.post(URL, json={"物品": "服务器", "单价": "30000", "数量": 2, "理由": "扩容", "审批人": "周总"},
                    headers=buyer)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["合计"] == 60000


def test_visibility_on_a_formula_total_keeps_or_drops_the_value_on_create(client, buyer):
    r = client.post(URL, json={"物品": "鼠标", "单价": "50", "数量": 2, "理由": "坏了"}, headers=buyer)
    assert r.status_code == 201 and r.get_json()["理由"] is None      # 100 < 10000: hidden, dropped
    r = client.post(URL, json={"物品": "电脑", "单价": "8000", "数量": 2}, headers=buyer)
    assert r.status_code == 422 and errors(r) == [("理由", "form.required")]  # 16000: shown and required


def test_a_patch_that_leaves_the_field_out_rechecks_conditions_the_change_affects(client, buyer, jimu):
    r = client.post(URL, json={"物品": "服务器", "单价": "20000", "数量": 1, "理由": "扩容"}, headers=buyer)
    assert r.status_code == 201, r.get_json()
    rid = r.get_json()["id"]
    r = client.patch(f"{URL}/{rid}", json={"数量": 3}, headers=buyer)  # the total becomes 60000
    assert r.status_code == 422, r.get_json()
    assert errors(r) == [("审批人", "form.required")]
    assert get(jimu, "采购申请", rid)["数量"] == 1
    r = client.patch(f"{URL}/{rid}", json={"数量": 3, "审批人": "周总"}, headers=buyer)
    assert r.status_code == 200 and r.get_json()["合计"] == 60000


def test_a_patch_that_reveals_a_required_field_needs_it(client, buyer):
    r = client.post(URL, json={"物品": "键盘", "单价": "100", "数量": 1}, headers=buyer)
    rid = r.get_json()["id"]
    r = client.patch(f"{URL}/{rid}", json={"单价": "20000"}, headers=buyer)  # 理由 appears, required
    assert r.status_code == 422 and errors(r) == [("理由", "form.required")]
    r = client.patch(f"{URL}/{rid}", json={"物品": "键盘套装"}, headers=buyer)  # changes nothing the conditions read
    assert r.status_code == 200


def test_an_update_evaluates_conditions_on_the_new_total_not_the_stored_one(client, buyer):
    r = client.post(URL, json={"物品": "服务器", "单价": "30000", "数量": 2, "理由": "扩容", "审批人": "周总"},
                    headers=buyer)
    rid = r.get_json()["id"]
    # the stored total is 60000; the change brings it to 30000, so no approver is needed any more
    r = client.patch(f"{URL}/{rid}", json={"数量": 1, "审批人": ""}, headers=buyer)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["合计"] == 30000 and r.get_json()["审批人"] in (None, "")


def test_read_only_fields_are_never_taken_from_a_submission(client, buyer, jimu):
    r = client.post(URL, json={"物品": "打印纸", "单价": "60000", "数量": 1, "理由": "全年", "审批人": "周总",
                               "状态": "已采购", "预算占用": 1, "明细": [{"品名": "A4", "核定": "已核"}]},
                    headers=buyer)
    assert r.status_code == 201, r.get_json()
    rec = r.get_json()
    assert rec["状态"] == "草稿" and rec["预算占用"] is None      # the default, not what was posted
    assert rec["明细"][0]["核定"] is None
    assert firings(jimu, "budget") == [], "the budget rule must not fire on a status the user posted"
    r = client.patch(f"{URL}/{rec['id']}", json={"状态": "已采购"}, headers=buyer)
    assert r.status_code == 200 and get(jimu, "采购申请", rec["id"])["状态"] == "草稿"
    r = client.post(URL, json=[{"物品": "笔", "状态": "已采购"}], headers=buyer)  # bulk create
    assert r.status_code == 201 and get(jimu, "采购申请", r.get_json()["ids"][0])["状态"] == "草稿"


def test_rules_and_flows_write_read_only_fields_through_the_system_path(jimu):
    from runtime.auth.principal import Principal
    from runtime.records import Records
    install_package(jimu, purchase_package(rules=[BUDGET_RULE]))
    with jimu.begin() as conn:
        rec = Records(jimu, conn, Principal(user_id=None, username="system", is_admin=True), source="flow",
                      check_permissions=False).create("采购申请", {"物品": "纸", "单价": "10", "数量": 3,
                                                                  "状态": "已采购"})
    assert rec["状态"] == "已采购"
    assert get(jimu, "采购申请", rec["id"])["预算占用"] == 30   # the rule wrote a read-only field too
