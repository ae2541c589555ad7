"""The JSON API takes what its OpenAPI document says, and no more: a value of a JSON type the record
schema does not allow (a number for a text field, a string of digits for a whole number, true for a
number) is a 422 naming the field, on create, bulk create and update alike. Found by schemathesis on
the shipped package: a bulk create with a number for a rich-text body was stored as its text.
Pages (which post text) and spreadsheet imports (which read cells as text) still coerce."""
from __future__ import annotations

import pytest

from tests.conftest import api_token, install_package, make_user
from tests.runtime.purchase_package import purchase_package

URL = "/api/v1/forms/采购申请/records"


@pytest.fixture
def buyer(jimu, client):
    install_package(jimu, purchase_package())
    uid = make_user(jimu, "buyer", roles=["buyer"])
    return {"Authorization": f"Bearer {api_token(jimu, uid)}"}


def _schema(client, headers):
    doc = client.get("/api/v1/openapi.json", headers=headers).json
    name = next(n for n, s in doc["components"]["schemas"].items()
                if "物品" in s.get("properties", {}) and "数量" in s.get("properties", {}) and "id" not in s["properties"])
    return doc["components"]["schemas"][name]["properties"]


@pytest.mark.parametrize("field, value", [("物品", 42), ("物品", 4.2e16), ("物品", True), ("数量", "3"),
                                          ("数量", 2.5), ("数量", False), ("单价", [1]), ("明细", {"品名": "x"})])
def test_a_value_of_a_type_the_document_forbids_is_refused_on_every_write(client, jimu, buyer, field, value):
    allowed = _schema(client, buyer)[field]
    kinds = allowed.get("type") or allowed.get("items", {}).get("type")
    assert kinds, allowed   # the document names the type this test sends against
    one = client.post(URL, json={"物品": "纸", field: value} if field != "物品" else {field: value}, headers=buyer)
    assert one.status_code == 422, one.json
    assert [e["code"] for e in one.json["error"]["errors"] if e.get("field") == field] == ["form.wrong_json_type"]
    many = client.post(URL, json=[{"物品": "笔"}, {"物品": "纸", field: value} if field != "物品" else {field: value}],
                       headers=buyer)
    assert many.status_code == 422 and any(e["code"] == "form.wrong_json_type" for e in many.json["error"]["errors"])
    made = client.post(URL, json={"物品": "尺"}, headers=buyer)
    assert made.status_code == 201
    patched = client.patch(f"{URL}/{made.json['id']}", json={field: value},
                           headers={**buyer, "If-Match": made.headers["ETag"]})
    assert patched.status_code == 422 and patched.json["error"]["errors"][0]["code"] == "form.wrong_json_type"
    listed = client.get(URL, headers=buyer).json
    assert listed["total"] == 1 and listed["records"][0]["物品"] == "尺"   # nothing of the refused writes stored


def test_what_the_document_allows_is_taken(client, jimu, buyer):
    r = client.post(URL, json={"物品": "纸", "数量": 3.0, "单价": "12.50"}, headers=buyer)   # 3.0 is a whole number
    assert r.status_code == 201, r.json
    assert (r.json["数量"], r.json["单价"]) == (3, "12.50")
    r = client.post(URL, json=[{"物品": "笔", "数量": 2, "单价": 1.5, "审批人": None}], headers=buyer)
    assert r.status_code == 201, r.json
