"""Issue 12 item 7: publishing a changed field type converts the stored values when nothing is lost,
and otherwise refuses with the values that would be lost — through an upgraded package's import
(REST) and through the builder's publish. Never silent nulls. A purchase-request package."""
from __future__ import annotations

import copy
import json

import pytest

from tests.builder.test_api import login
from tests.conftest import api_token, install_package, make_user
from .purchase_package import REQUEST, purchase_package
from .rules_helpers import get

URL = "/api/v1/forms/采购申请/records"
EXTRA = [
    {"key": "编号", "label": "No.", "widget": "number", "config": {"integer": True}},
    {"key": "到货日", "label": "Delivery", "widget": "date"},
    {"key": "优先级", "label": "Priority", "widget": "select", "config": {"options": ["高", "中", "低"]}},
    {"key": "预算号", "label": "Budget code", "widget": "text"},
]
DESIGNER = {"key": "designer", "version": 1, "label": "Designer", "builder": True,
            "permissions": {"采购申请": ["create", "read", "update"]}}


def versioned(version, **widgets):
    """The package at ``version`` with the extra fields, some of them given another widget."""
    form = copy.deepcopy(REQUEST)
    for f in copy.deepcopy(EXTRA):
        if f["key"] in widgets:
            f["widget"], f["config"] = widgets[f["key"]]
        form["fields"].append(f)
    data = purchase_package(version=version, request=form)
    data["roles"].append(DESIGNER)
    return data


@pytest.fixture
def admin(jimu):
    install_package(jimu, versioned("1.0.0"))
    return {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, 'root', admin=True))}"}


def add(client, admin, **values):
    r = client.post(URL, json={"物品": "纸", **values}, headers=admin)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def upgrade(client, admin, data, dry_run=False):
    return client.post("/api/v1/apps/import" + ("?dry_run=1" if dry_run else ""),
                       data=json.dumps(data, ensure_ascii=False).encode(),
                       headers={**admin, "Content-Type": "application/json"})


def test_an_upgrade_converts_stored_values_where_nothing_is_lost(jimu, client, admin):
    a = add(client, admin, 编号=12, 到货日="2026-11-05", 优先级="高", 预算号="2026")
    b = add(client, admin, 编号=7, 预算号="0042")
    empty = add(client, admin)
    upgraded = versioned("1.1.0", 编号=("text", {}), 到货日=("datetime", {}), 优先级=("text", {}))
    dry = upgrade(client, admin, upgraded, dry_run=True).get_json()   # shown before anything is applied
    assert {(c["field"], c["stored"], c["converted"], c["lost"]) for c in dry["conversions"]} == {
        ("编号", 2, 2, 0), ("到货日", 1, 1, 0), ("优先级", 1, 1, 0)}
    r = upgrade(client, admin, upgraded)
    assert r.status_code == 201, r.get_json()
    first = client.get(f"{URL}/{a}", headers=admin).get_json()
    assert (first["编号"], first["优先级"]) == ("12", "高")
    assert first["到货日"].startswith("2026-11-05T00:00")
    assert client.get(f"{URL}/{b}", headers=admin).get_json()["编号"] == "7"
    assert client.get(f"{URL}/{empty}", headers=admin).get_json()["编号"] is None
    # text → number: every value parses
    r = upgrade(client, admin, versioned("1.2.0", 编号=("number", {"integer": True}), 到货日=("datetime", {}),
                                          优先级=("text", {})))
    assert r.status_code == 201, r.get_json()
    assert get(jimu, "采购申请", a)["编号"] == 12 and get(jimu, "采购申请", b)["编号"] == 7


def test_an_upgrade_that_would_lose_values_is_refused_with_a_preview(jimu, client, admin):
    keep = add(client, admin, 预算号="2026")
    lost = add(client, admin, 预算号="待定")
    padded = add(client, admin, 预算号="0042")       # would come back as 42
    (dry,) = upgrade(client, admin, versioned("1.1.0", 预算号=("number", {})), dry_run=True).get_json()["conversions"]
    assert (dry["field"], dry["stored"], dry["lost"]) == ("预算号", 3, 2)
    assert [p["id"] for p in dry["preview"]] == [lost, padded]
    r = upgrade(client, admin, versioned("1.1.0", 预算号=("number", {})))
    assert r.status_code == 409, r.get_json()
    error = r.get_json()["error"]
    assert error["code"] == "app.field_type_lossy" and error["field"] == "预算号"
    assert (error["lost"], error["stored"]) == (2, 3)
    assert [(p["id"], p["value"]) for p in error["preview"]] == [(lost, "待定"), (padded, "0042")]
    assert "add a new field" in error["message"]
    # all or nothing: the app, the column and the values are as they were
    assert client.get("/api/v1/apps", headers=admin).get_json()["apps"][0]["version"] == "1.0.0"
    assert [get(jimu, "采购申请", i)["预算号"] for i in (keep, lost, padded)] == ["2026", "待定", "0042"]


def test_the_builder_publish_converts_or_refuses_the_same_way(jimu, client, admin):
    rid = add(client, admin, 编号=3, 预算号="待定")
    make_user(jimu, "dora", roles=["designer"])
    login(client, "dora")

    def publish(**widgets):
        draft = client.get("/builder/api/apps/purchasing/draft").get_json()
        for f in draft["package"]["forms"][0]["fields"]:
            if f["key"] in widgets:
                f["widget"], f["config"] = widgets[f["key"]]
        saved = client.put("/builder/api/apps/purchasing/draft",
                           json={"package": draft["package"], "revision": draft["revision"]}).get_json()
        return client.post("/builder/api/apps/purchasing/publish", json={"revision": saved["revision"]})

    r = publish(预算号=("number", {}))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "app.field_type_lossy"
    assert r.get_json()["error"]["preview"] == [{"id": rid, "value": "待定", "problem": "enter a number / 请输入数字"}]
    assert get(jimu, "采购申请", rid)["预算号"] == "待定"
    r = publish(预算号=("text", {}), 编号=("text", {}))
    assert r.status_code == 201, r.get_json()
    assert get(jimu, "采购申请", rid)["编号"] == "3"


def test_a_single_choice_becomes_a_multiple_choice_and_a_sub_table_change_with_rows_is_refused(jimu, client,
                                                                                               admin):
    rid = add(client, admin, 优先级="中", 明细=[{"品名": "A4"}])
    r = upgrade(client, admin, versioned("1.1.0", 优先级=("checkboxes", {"options": ["高", "中", "低"]})))
    assert r.status_code == 201, r.get_json()
    assert get(jimu, "采购申请", rid)["优先级"] == ["中"]
    data = versioned("1.2.0", 优先级=("checkboxes", {"options": ["高", "中", "低"]}))
    lines = next(f for f in data["forms"][0]["fields"] if f["key"] == "明细")
    lines.update(widget="textarea", config={})
    r = upgrade(client, admin, data)
    assert r.status_code == 409 and r.get_json()["error"]["field"] == "明细"
    assert r.get_json()["error"]["preview"][0]["id"] == rid
