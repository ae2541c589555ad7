"""Safe retries with ``Idempotency-Key`` (issue #14, item 5), tried on an equipment-loan app: the
same POST sent twice makes one record; the same key with another body is a 422; a PATCH retried
answers the same without writing twice; keys are per caller and expire."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import api_token, install_package, make_user

from .test_api_http import LOANS


@pytest.fixture
def h(jimu):
    install_package(jimu, LOANS)
    return {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, 'root', admin=True))}"}


def _count(client, h):
    return client.get("/api/v1/forms/loan/records", headers=h).get_json()["total"]


def test_a_retried_post_creates_one_record_and_replays_the_answer(client, h):
    k = {**h, "Idempotency-Key": "7c1d9a3e-loan-1"}
    first = client.post("/api/v1/forms/loan/records", headers=k, json={"item": "projector"})
    again = client.post("/api/v1/forms/loan/records", headers=k, json={"item": "projector"})
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert _count(client, h) == 1
    other = client.post("/api/v1/forms/loan/records", headers={**h, "Idempotency-Key": "another"},
                        json={"item": "projector"})
    assert other.status_code == 201 and _count(client, h) == 2


def test_the_same_key_with_another_request_is_a_422(client, h):
    k = {**h, "Idempotency-Key": "k-1"}
    assert client.post("/api/v1/forms/loan/records", headers=k, json={"item": "a"}).status_code == 201
    r = client.post("/api/v1/forms/loan/records", headers=k, json={"item": "b"})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "request.idempotency_key_reused"
    assert _count(client, h) == 1


def test_a_retried_patch_writes_once(client, h):
    url = client.post("/api/v1/forms/loan/records", headers=h, json={"item": "a", "days": 1}).headers["Location"]
    k = {**h, "Idempotency-Key": "patch-1", "If-Match": '"1"'}
    first = client.patch(url, headers=k, json={"days": 2})
    again = client.patch(url, headers=k, json={"days": 2})
    assert first.status_code == again.status_code == 200  # not a 412: the answer is replayed
    assert client.get(url, headers=h).get_json()["row_version"] == 2


def test_keys_belong_to_their_caller_and_expire(jimu, client, h, clock):
    other = {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, 'two', admin=True))}"}
    body = {"item": "x"}
    client.post("/api/v1/forms/loan/records", headers={**h, "Idempotency-Key": "same"}, json=body)
    r = client.post("/api/v1/forms/loan/records", headers={**other, "Idempotency-Key": "same"}, json=body)
    assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers
    clock.advance(days=2)
    r = client.post("/api/v1/forms/loan/records", headers={**h, "Idempotency-Key": "same"}, json=body)
    assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers
    assert _count(client, h) == 3


def test_a_retry_while_the_first_request_runs_is_told_to_wait(app, jimu, client, h):
    from runtime import db
    from runtime.api.idempotency import _fingerprint
    with app.test_request_context("/api/v1/forms/loan/records", method="POST", json={"item": "x"}):
        same = _fingerprint()
    with jimu.begin() as conn:
        uid = conn.execute(sa.select(db.users.c.id).where(db.users.c.username == "root")).scalar()
        conn.execute(sa.insert(db.idempotency).values(principal=f"u:{uid}", key="busy", fingerprint=same,
                                                       created_at=jimu.now()))
    r = client.post("/api/v1/forms/loan/records", headers={**h, "Idempotency-Key": "busy"}, json={"item": "x"})
    assert r.status_code == 409 and r.headers["Retry-After"] == "1"
    assert r.get_json()["error"]["code"] == "request.idempotency_in_progress" and _count(client, h) == 0
    bad = client.post("/api/v1/forms/loan/records", headers={**h, "Idempotency-Key": ""}, json={"item": "x"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "request.bad_idempotency_key"
