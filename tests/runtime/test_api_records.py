"""Records over the REST API: CRUD, errors, optimistic locking, concurrency, bulk, filters."""
import json
import threading

import pytest

from tests.conftest import api_token, install_package, make_user
from tests.sample_package import package


@pytest.fixture
def crm(jimu):
    install_package(jimu, package())
    return jimu


def url(form, rid=None):
    return f"/api/v1/forms/{form}/records" + (f"/{rid}" if rid else "")


def test_create_read_update_delete(client, crm, admin_headers):
    r = client.post(url("客户"), json={"名称": "张三", "等级": 2}, headers=admin_headers)
    assert r.status_code == 201, r.json
    rec = r.json
    assert rec["名称"] == "张三" and rec["等级"] == 2 and rec["row_version"] == 1
    r = client.get(url("客户", rec["id"]), headers=admin_headers)
    assert r.json["名称"] == "张三" and r.headers["ETag"] == "\"1\""
    r = client.patch(url("客户", rec["id"]), json={"等级": 3}, headers={**admin_headers, "If-Match": "1"})
    assert r.status_code == 200 and r.json["等级"] == 3 and r.json["row_version"] == 2
    assert r.json["名称"] == "张三"  # a partial update keeps the other fields
    r = client.delete(url("客户", rec["id"]), headers={**admin_headers, "If-Match": "2"})
    assert r.status_code == 204
    r = client.get(url("客户", rec["id"]), headers=admin_headers)
    assert r.status_code == 404 and r.json["error"]["code"] == "record.not_found"


def test_stale_update_gets_412_or_409_and_overwrites_nothing(client, crm, admin_headers):
    """A stale If-Match is a failed precondition (412, RFC 9110); a stale row_version in the body a 409."""
    rid = client.post(url("客户"), json={"名称": "A"}, headers=admin_headers).json["id"]
    assert client.patch(url("客户", rid), json={"名称": "B"}, headers={**admin_headers, "If-Match": "1"}).status_code == 200
    r = client.patch(url("客户", rid), json={"名称": "C"}, headers={**admin_headers, "If-Match": '"1"'})
    assert r.status_code == 412
    assert r.json["error"]["code"] == "record.precondition_failed" and r.json["error"]["current_version"] == 2
    assert client.get(url("客户", rid), headers=admin_headers).json["名称"] == "B"
    r = client.patch(url("客户", rid), json={"名称": "C", "row_version": 1}, headers=admin_headers)
    assert r.status_code == 409


def test_all_errors_at_once_in_one_shape(client, crm, admin_headers):
    r = client.post(url("客户"), json={"等级": "not a number"}, headers=admin_headers)
    assert r.status_code == 422
    err = r.json["error"]
    assert err["code"] == "record.invalid"
    codes = {(e.get("field"), e["code"]) for e in err["errors"]}
    assert ("名称", "form.required") in codes
    assert any(f == "等级" for f, _ in codes)
    r = client.post(url("nope"), json={}, headers=admin_headers)
    assert r.status_code == 404 and r.json["error"]["code"] == "form.not_found"
    r = client.post(url("客户"), data="not json", headers=admin_headers, content_type="application/json")
    assert r.status_code == 400 and r.json["error"]["code"] == "request.not_json"
    r = client.post(url("客户"), data="not json", headers=admin_headers)
    assert r.status_code == 415 and r.json["error"]["code"] == "request.unsupported_media_type"


def test_unique_field(client, crm, admin_headers):
    assert client.post(url("客户"), json={"名称": "A", "code": "X1"}, headers=admin_headers).status_code == 201
    r = client.post(url("客户"), json={"名称": "B", "code": "X1"}, headers=admin_headers)
    assert r.status_code == 422
    assert [e["code"] for e in r.json["error"]["errors"]] == ["form.unique"]


def test_links_and_subtable_rows(client, crm, admin_headers):
    cid = client.post(url("客户"), json={"名称": "甲"}, headers=admin_headers).json["id"]
    r = client.post(url("订单"), json={"客户": cid, "金额": 10, "明细": [{"品名": "笔", "数量": 2}, {"品名": "纸", "数量": 5}]},
                    headers=admin_headers)
    assert r.status_code == 201, r.json
    order = r.json
    assert order["客户"] == cid and [row["品名"] for row in order["明细"]] == ["笔", "纸"]
    first = order["明细"][0]
    r = client.patch(url("订单", order["id"]), json={"明细": [dict(first, 数量=3)]}, headers=admin_headers)
    rows = r.json["明细"]
    assert len(rows) == 1 and rows[0]["id"] == first["id"] and rows[0]["数量"] == 3
    r = client.post(url("订单"), json={"客户": 999999}, headers=admin_headers)
    assert r.status_code in (409, 422)


def test_concurrent_creates_from_8_threads_all_land(app, crm, admin_headers):
    errors, created = [], []

    def worker(n):
        c = app.test_client()
        for i in range(10):
            r = c.post(url("客户"), json={"名称": f"t{n}-{i}"}, headers=admin_headers)
            (created if r.status_code == 201 else errors).append(r.status_code)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(created) == 80
    r = app.test_client().get(url("客户") + "?per_page=1", headers=admin_headers)
    assert r.json["total"] == 80


def test_bulk_create_is_all_or_nothing(client, crm, admin_headers):
    rows = [{"名称": f"n{i}", "等级": i} for i in range(50)]
    r = client.post(url("客户"), json=rows, headers=admin_headers)
    assert r.status_code == 201 and r.json["created"] == 50
    bad = [{"名称": "ok"}, {"等级": 1}, {"名称": "x", "等级": "y"}]
    r = client.post(url("客户"), json=bad, headers=admin_headers)
    assert r.status_code == 422
    assert sorted({e["row"] for e in r.json["error"]["errors"]}) == [1, 2]
    assert client.get(url("客户") + "?per_page=1", headers=admin_headers).json["total"] == 50


def test_filters_sort_paging_search(client, crm, admin_headers):
    client.post(url("客户"), json=[{"名称": f"客户{i}", "等级": i % 3} for i in range(30)], headers=admin_headers)
    f = json.dumps({"all": [{"field": "等级", "op": "eq", "value": 2}]}, ensure_ascii=False)
    r = client.get(url("客户"), query_string={"filter": f, "sort": "-名称", "per_page": 5}, headers=admin_headers)
    assert r.json["total"] == 10 and len(r.json["records"]) == 5
    names = [x["名称"] for x in r.json["records"]]
    assert names == sorted(names, reverse=True) and all(x["等级"] == 2 for x in r.json["records"])
    r = client.get(url("客户"), query_string={"q": "客户1"}, headers=admin_headers)
    assert r.json["total"] == 11  # 客户1, 客户10..19
    r = client.get(url("客户"), query_string={"filter": json.dumps({"field": "beta and 1=1", "op": "eq", "value": 1})},
                   headers=admin_headers)
    assert r.status_code == 400 and r.json["error"]["code"] == "record.unknown_field"
    r = client.get(url("客户"), query_string={"filter": json.dumps({"field": "等级", "op": "sleep", "value": 1})},
                   headers=admin_headers)
    assert r.status_code == 400 and r.json["error"]["code"] == "filter.unknown_operator"
    r = client.get(url("客户"), query_string={"filter": json.dumps({"field": "名称", "op": "eq", "value": "x' OR '1'='1"})},
                   headers=admin_headers)
    assert r.status_code == 200 and r.json["total"] == 0


def test_permissions_by_role(client, crm, jimu):
    viewer = make_user(jimu, "v", roles=["viewer"])
    sales = make_user(jimu, "s", roles=["sales"])
    hv = {"Authorization": f"Bearer {api_token(jimu, viewer)}"}
    hs = {"Authorization": f"Bearer {api_token(jimu, sales)}"}
    assert client.post(url("客户"), json={"名称": "x"}, headers=hv).status_code == 403
    rid = client.post(url("客户"), json={"名称": "x"}, headers=hs).json["id"]
    assert client.get(url("客户", rid), headers=hv).status_code == 200
    assert client.delete(url("客户", rid), headers=hs).json["error"]["code"] == "permission.denied"
    assert client.get(url("客户", rid)).status_code == 401
    assert client.get(url("客户", rid), headers={"Authorization": "Bearer nope"}).json["error"]["code"] == "auth.bad_token"


def test_audit_log_keeps_before_and_after(client, crm, jimu, admin_headers):
    from runtime.audit import timeline
    rid = client.post(url("客户"), json={"名称": "A", "等级": 1}, headers=admin_headers).json["id"]
    client.patch(url("客户", rid), json={"等级": 5}, headers=admin_headers)
    client.delete(url("客户", rid), headers=admin_headers)
    with jimu.read() as conn:
        events = timeline(conn, "客户", rid)
    assert [e["kind"] for e in events] == ["record.created", "record.updated", "record.deleted"]
    assert events[0]["data"]["after"]["名称"] == "A"
    assert events[1]["data"]["changes"] == {"等级": [1, 5]}
    assert events[2]["data"]["before"]["等级"] == 5
    assert all(e["actor_id"] for e in events)


def test_openapi_document_lists_installed_forms(client, crm, admin_headers):
    doc = client.get("/api/v1/openapi.json", headers=admin_headers).json
    assert doc["openapi"].startswith("3.1")
    assert "/forms/客户/records" in doc["paths"] and "/forms/订单/records/{id}" in doc["paths"]
    schemas = doc["components"]["schemas"]
    inputs = [s for k, s in schemas.items() if k.endswith(".Create")]
    assert any("名称" in s.get("properties", {}) for s in inputs)
