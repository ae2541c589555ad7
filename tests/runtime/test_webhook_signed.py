"""Webhook intake a sender without a token can use (issue #14, item 5): an HMAC signature with the
hook's shared secret, and one record per delivery however often the sender retries it. Tried with a
facilities app whose sensors post alarms."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from tests.conftest import install_package

ALARMS = {"format": "jimu.app", "version": 2, "app": {"key": "facilities", "version": "1.0.0", "label": "Facilities"},
          "forms": [{"key": "alarm", "version": 1, "label": "Alarm", "title_field": "sensor",
                     "fields": [{"key": "sensor", "label": "Sensor", "widget": "text", "required": True},
                                {"key": "reading", "label": "Reading", "widget": "number"}],
                     "intake": {"webhook": {"fields": {"sensor": "/sensor/name", "reading": "/value"},
                                            "delivery_id": "/event_id"}}},
                    {"key": "door", "version": 1, "label": "Door event",
                     "fields": [{"key": "door", "label": "Door", "widget": "text", "required": True}],
                     "intake": {"webhook": {"fields": {"door": "/door"}, "delivery_id": "X-Delivery"}}}]}
SECRET = "a-long-shared-secret-for-the-sensors"


@pytest.fixture
def hooks(jimu, monkeypatch):
    monkeypatch.setitem(jimu.config, "HOOK_SECRETS", {"alarm": SECRET, "door": SECRET})
    install_package(jimu, ALARMS)


def _post(client, form, doc, *, secret=SECRET, headers=None):
    body = json.dumps(doc).encode()
    sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(f"/api/v1/hooks/{form}", data=body, content_type="application/json",
                       headers={"X-Jimu-Signature": sig, **(headers or {})})


def _count(jimu, form):
    import sqlalchemy as sa
    with jimu.read() as conn:
        ft = jimu.catalog.form(form)
        return conn.execute(sa.select(sa.func.count()).select_from(ft.table)).scalar()


def test_a_signed_delivery_makes_a_record_and_a_retry_makes_none(jimu, client, hooks):
    doc = {"event_id": "evt-1", "sensor": {"name": "boiler-2"}, "value": 97}
    first = _post(client, "alarm", doc)
    assert first.status_code == 201, first.get_json()
    assert (first.get_json()["sensor"], first.get_json()["reading"]) == ("boiler-2", 97)
    again = _post(client, "alarm", doc)
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _post(client, "alarm", {**doc, "event_id": "evt-2"}).status_code == 201
    assert _count(jimu, "alarm") == 2


def test_delivery_id_from_a_header(jimu, client, hooks):
    for _ in range(3):
        assert _post(client, "door", {"door": "north"}, headers={"X-Delivery": "d-77"}).status_code == 201
    assert _count(jimu, "door") == 1


def test_a_wrong_or_missing_signature_is_refused(jimu, client, hooks):
    doc = {"event_id": "evt-9", "sensor": {"name": "boiler-2"}, "value": 1}
    r = _post(client, "alarm", doc, secret="guessed")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "intake.bad_signature"
    r = client.post("/api/v1/hooks/alarm", json=doc)
    assert r.status_code == 401
    tampered = json.dumps(doc).encode()
    sig = "sha256=" + hmac.new(SECRET.encode(), tampered, hashlib.sha256).hexdigest()
    r = client.post("/api/v1/hooks/alarm", data=tampered.replace(b"boiler-2", b"boiler-3"),
                    content_type="application/json", headers={"X-Jimu-Signature": sig})
    assert r.status_code == 401
    assert _count(jimu, "alarm") == 0


def test_a_form_without_a_secret_takes_no_signed_deliveries(jimu, client):
    install_package(jimu, ALARMS)
    r = _post(client, "alarm", {"event_id": "e", "sensor": {"name": "x"}})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "intake.no_secret"
