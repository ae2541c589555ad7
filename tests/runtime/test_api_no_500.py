"""The API answers every request it can be sent with a coded 4xx or a success, never a 500
(issue #14, "zero server errors"): flow-instance reads of the shipped package, a flow
conflict that carries a ``status``, ids and pages beyond 2^63, deeply nested JSON, and
pagination that says what it returns."""
from __future__ import annotations

import pytest

from tests.conftest import api_token

from . import cs_fixtures as cs


@pytest.fixture
def staff(jimu):
    return cs.install(jimu)


def _h(jimu, uid):
    return {"Authorization": f"Bearer {api_token(jimu, uid)}"}


def test_flow_instance_reads_of_the_shipped_package_answer_200(jimu, client, staff):
    rec = cs.ticket(jimu)
    h = _h(jimu, staff["admin"])
    r = client.get(f"/api/v1/forms/工单/records/{rec['id']}/flows", headers=h)
    assert r.status_code == 200, r.get_data(as_text=True)
    (inst,) = r.get_json()["instances"]
    labels = {n["id"]: n["label"] for n in inst["nodes"]}
    assert all(isinstance(v, (str, dict, type(None))) for v in labels.values())
    r = client.get(f"/api/v1/flow-instances/{inst['id']}", headers=h)
    assert r.status_code == 200 and r.get_json()["id"] == inst["id"]


def test_starting_a_flow_answers_with_the_instance_it_started(jimu, client, staff):
    """The start commits only with a response the client gets, so a client never retries blindly."""
    rec = cs.ticket(jimu)
    h = _h(jimu, staff["admin"])
    before = client.get(f"/api/v1/forms/工单/records/{rec['id']}/flows", headers=h).get_json()["instances"]
    iid = before[0]["id"]
    client.post(f"/api/v1/flow-instances/{iid}/cancel", headers=h, json={})
    r = client.post("/api/v1/flows/ticket_flow/instances", headers=h, json={"record_id": rec["id"]})
    assert r.status_code == 201, r.get_data(as_text=True)
    after = client.get(f"/api/v1/forms/工单/records/{rec['id']}/flows", headers=h).get_json()["instances"]
    assert len(after) == 2 and r.get_json()["id"] in {i["id"] for i in after}


def test_a_flow_conflict_carrying_a_status_is_a_409(jimu, client, staff):
    rec = cs.ticket(jimu)
    h = _h(jimu, staff["admin"])
    (inst,) = client.get(f"/api/v1/forms/工单/records/{rec['id']}/flows", headers=h).get_json()["instances"]
    assert client.post(f"/api/v1/flow-instances/{inst['id']}/cancel", headers=h, json={}).status_code == 200
    r = client.post(f"/api/v1/flow-instances/{inst['id']}/cancel", headers=h, json={})
    assert r.status_code == 409, r.get_data(as_text=True)
    err = r.get_json()["error"]
    assert err["code"].startswith("flow.") and err["status"] == "cancelled"


@pytest.mark.parametrize("path", [
    "/api/v1/forms/工单/records/99999999999999999999",
    "/api/v1/forms/工单/records/9223372036854775808",
    "/api/v1/flow-instances/99999999999999999999",
    "/api/v1/tasks/99999999999999999999",
    "/api/v1/forms/工单/records/99999999999999999999/flows",
])
def test_ids_beyond_64_bits_are_404_not_500(jimu, client, staff, path):
    r = client.get(path, headers=_h(jimu, staff["admin"]))
    assert r.status_code == 404, (path, r.status_code, r.get_data(as_text=True)[:200])
    assert r.get_json()["error"]["code"]


@pytest.mark.parametrize("arg", ["page=99999999999999999999", "page=9223372036854775808", "page=0", "page=-1",
                                 "per_page=0", "per_page=99999999999999999999"])
def test_out_of_range_pages_are_400(jimu, client, staff, arg):
    r = client.get(f"/api/v1/forms/工单/records?{arg}", headers=_h(jimu, staff["admin"]))
    assert r.status_code == 400, (arg, r.status_code)
    assert r.get_json()["error"]["code"] == "request.bad_param"


def test_deeply_nested_json_is_a_400(jimu, client, staff):
    body = "[" * 100_000 + "]" * 100_000
    r = client.post("/api/v1/forms/工单/records", headers={**_h(jimu, staff["admin"]),
                                                         "Content-Type": "application/json"}, data=body)
    assert r.status_code == 400, r.status_code
    assert r.get_json()["error"]["code"] == "request.not_json"


def test_pagination_refuses_pages_beyond_the_maximum_and_a_page_loop_sees_every_record(jimu, client, staff):
    from tests.runtime.rules_helpers import create
    h = _h(jimu, staff["admin"])
    r = client.get("/api/v1/forms/工单/records?per_page=1000", headers=h)
    assert r.status_code == 400 and r.get_json()["error"]["param"] == "per_page"
    for i in range(7):
        create(jimu, "客户", {"客户姓名": f"客户{i}"})
    seen, url, pages = [], "/api/v1/forms/客户/records?per_page=3", 0
    while url:
        r = client.get(url, headers=h)
        assert r.status_code == 200
        body = r.get_json()
        assert body["per_page"] == 3 and len(body["records"]) <= 3 and body["total"] == 7
        seen += [x["id"] for x in body["records"]]
        url = body.get("next")
        if url:
            assert f'<{url}>; rel="next"' in r.headers["Link"]
        pages += 1
        assert pages < 10
    assert len(seen) == len(set(seen)) == 7
