"""Batch update and batch delete (issue #14, item 7), tried on an agency app as an integrator syncing
from another system would: all or nothing, every failed row named by its index, id and code, the same
permission checks as one record at a time, ``Idempotency-Key`` replays, and deletes that go through
the single-record delete (audit entry per record). (The old main had neither route.)"""
from __future__ import annotations

import sqlalchemy as sa

from tests.runtime.agency_package import agency, url  # noqa: F401  (fixture)

BATCH_DELETE = "/api/v1/forms/project/records/batch-delete"


def _projects(agency, n=3, **values):
    return [agency.create("project", title=f"p{i}", hours=i, **values) for i in range(n)]


def _hours(agency):
    records = agency.get("root", url("project"), sort="id").get_json()["records"]
    return {r["id"]: r["hours"] for r in records}


def test_batch_update_writes_every_row(agency):
    ids = _projects(agency)
    r = agency.client.patch(url("project"), headers=agency.h["sam"],
                            json=[{"id": ids[0], "hours": 10}, {"id": ids[2], "hours": 12, "row_version": 1}])
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["updated"] == 2 and [rec["hours"] for rec in body["records"]] == [10, 12]
    assert _hours(agency) == {ids[0]: 10, ids[1]: 1, ids[2]: 12}


def test_one_bad_row_writes_nothing_and_every_problem_is_named(agency):
    ids = _projects(agency)
    r = agency.client.patch(url("project"), headers=agency.h["sam"], json=[
        {"id": ids[0], "hours": 99},
        {"id": ids[1], "title": ""},                       # required
        {"id": ids[2], "hours": 5, "row_version": 7},      # stale
        {"id": 987654, "hours": 1}])                       # missing
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert err["code"] == "record.batch_failed" and "nothing was written" in err["message"]
    got = {(e["row"], e["id"], e["code"]) for e in err["errors"]}
    assert (2, ids[2], "record.stale") in got and (3, 987654, "record.not_found") in got
    assert any(row == 1 and rid == ids[1] for row, rid, _ in got)
    assert not any(row == 0 for row, _, _ in got)
    assert _hours(agency) == {ids[0]: 0, ids[1]: 1, ids[2]: 2}  # row 0 was rolled back too


def test_the_status_says_the_most_pressing_problem(agency):
    ids = _projects(agency, 2)
    r = agency.client.patch(url("project"), headers=agency.h["sam"],
                            json=[{"id": i, "hours": 3, "row_version": 9} for i in ids])
    assert r.status_code == 409 and {e["code"] for e in r.get_json()["error"]["errors"]} == {"record.stale"}
    r = agency.client.post(BATCH_DELETE, headers=agency.h["sam"], json=[424242, 434343])
    assert r.status_code == 404
    r = agency.client.patch(url("project"), headers=agency.h["sam"],
                            json=[{"id": ids[0], "hours": 3, "row_version": 9}, {"id": 424242, "hours": 1}])
    assert r.status_code == 404 and len(r.get_json()["error"]["errors"]) == 2
    r = agency.client.post(BATCH_DELETE, headers=agency.h["sam"], json=[float(ids[0])])  # 7.0 is 7 in JSON
    assert r.status_code == 200 and r.get_json()["ids"] == [ids[0]]


def test_malformed_batches_are_400s_and_422s_with_codes(agency):
    ids = _projects(agency, 1)
    for body, status, code in (([], 400, "request.batch_size"), ({"id": ids[0]}, 400, "request.not_json"),
                               ([{"hours": 1}], 422, "record.batch_failed"),
                               ([{"id": ids[0]}, {"id": ids[0]}], 409, "record.batch_failed")):
        r = agency.client.patch(url("project"), headers=agency.h["sam"], json=body)
        assert r.status_code == status and r.get_json()["error"]["code"] == code, (body, r.get_json())
    r = agency.client.patch(url("project"), headers=agency.h["sam"], json=[{"id": ids[0]}, {"id": ids[0]}])
    assert r.get_json()["error"]["errors"][0]["code"] == "record.duplicate_in_batch"


def test_the_same_permission_checks_as_single_writes(agency):
    ids = _projects(agency, 2)
    mine = agency.create("project", title="eve's", hours=1, members=[agency.ids["eve"]])
    # a contractor may not update at all: one 403 for the request
    r = agency.client.patch(url("project"), headers=agency.h["cat"], json=[{"id": mine, "hours": 2}])
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "permission.denied"
    # eve reaches only her own project: the others are "not found", exactly as single reads say
    r = agency.client.patch(url("project"), headers=agency.h["eve"],
                            json=[{"id": mine, "hours": 2}, {"id": ids[0], "hours": 2}])
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "record.batch_failed"
    assert [(e["row"], e["code"]) for e in r.get_json()["error"]["errors"]] == [(1, "record.not_found")]
    # nor may she hand her project to someone else (it would leave her row scope)
    r = agency.client.patch(url("project"), headers=agency.h["eve"],
                            json=[{"id": mine, "members": [agency.ids["sam"]]}])
    assert r.status_code == 403 and r.get_json()["error"]["errors"][0]["row"] == 0
    r = agency.client.post(BATCH_DELETE, headers=agency.h["eve"], json=[mine, ids[1]])
    assert r.status_code == 404 and _hours(agency).keys() == {*ids, mine}


def test_batch_delete_goes_through_the_single_delete(agency, jimu):
    ids = _projects(agency, 3)
    r = agency.client.post(BATCH_DELETE, headers=agency.h["sam"], json=[ids[0], {"id": ids[2], "row_version": 1}])
    assert r.status_code == 200 and r.get_json() == {"ids": [ids[0], ids[2]], "deleted": 2}
    assert list(_hours(agency)) == [ids[1]]
    from runtime import db
    with jimu.read() as conn:
        deleted = set(conn.execute(sa.select(db.events.c.record_id).where(
            db.events.c.kind == "record.deleted", db.events.c.form_key == "project")).scalars())
    assert deleted == {ids[0], ids[2]}


def test_idempotency_key_replays_a_batch(agency):
    ids = _projects(agency, 2)
    h = {**agency.h["sam"], "Idempotency-Key": "sync-2026-11-02-1"}
    first = agency.client.post(BATCH_DELETE, headers=h, json=ids)
    again = agency.client.post(BATCH_DELETE, headers=h, json=ids)
    assert first.status_code == again.status_code == 200 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    more = _projects(agency, 1)
    h = {**agency.h["sam"], "Idempotency-Key": "sync-2026-11-02-2"}
    one = agency.client.patch(url("project"), headers=h, json=[{"id": more[0], "hours": 8, "row_version": 1}])
    two = agency.client.patch(url("project"), headers=h, json=[{"id": more[0], "hours": 8, "row_version": 1}])
    assert one.status_code == two.status_code == 200 and two.headers["Idempotent-Replayed"] == "true"
    assert agency.get("sam", url("project", more[0])).get_json()["row_version"] == 2
