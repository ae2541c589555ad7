"""Outgoing record-event webhooks (issue #14, item 7), tried as an integrator would: subscribe a URL
to an agency app's project events over the API, write records, and watch a local receiver on
127.0.0.1 that fails once and then succeeds. Each delivery is signed (HMAC-SHA256 with the
subscription's secret), keeps its delivery id across attempts, is retried through the job queue with
back-off, and shows in the delivery log (API and admin page). (The old main had no such thing.)"""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from runtime import jobs
from tests.conftest import sign_in
from tests.runtime.agency_package import agency, url  # noqa: F401  (fixture)
from tests.runtime.test_notify import Hook

SUBS = "/api/v1/subscriptions"


@pytest.fixture
def hook(jimu, monkeypatch):
    monkeypatch.setitem(jimu.config, "OUTBOUND_ALLOWLIST", "127.0.0.1")
    h = Hook()
    yield h
    h.close()


def _subscribe(agency, hook, **extra):
    body = {"form": "project", "events": ["record.created", "record.updated", "record.deleted"],
            "url": hook.url + "/jimu", "name": "ERP sync", **extra}
    r = agency.client.post(SUBS, headers=agency.h["root"], json=body)
    assert r.status_code == 201, r.get_json()
    return r


def _signed(secret: str, request: dict) -> bool:
    h = {k.lower(): v for k, v in request["headers"].items()}
    want = "sha256=" + hmac.new(secret.encode(), h["x-jimu-timestamp"].encode() + b"." + request["body"],
                                hashlib.sha256).hexdigest()
    return hmac.compare_digest(h["x-jimu-signature"], want)


def test_a_failed_delivery_is_retried_with_the_same_id_and_logged(agency, hook, jimu, clock):
    sub = _subscribe(agency, hook).get_json()
    assert sub["secret"].startswith("whsec_") and sub["is_active"] is True
    hook.script = [(500, b"busy", {}), (200, b"ok", {})]
    rid = agency.create("project", title="Rebrand", hours=3)
    assert jobs.run_due(jimu) == 1                       # first attempt: the receiver answers 500
    log = agency.get("root", f"{SUBS}/{sub['id']}/deliveries").get_json()["deliveries"]
    assert [(d["status"], d["attempts"], d["response_code"]) for d in log] == [("pending", 1, 500)]
    assert jobs.run_due(jimu) == 0                       # the retry waits for its back-off
    clock.advance(seconds=31)
    assert jobs.run_due(jimu) == 1
    log = agency.get("root", f"{SUBS}/{sub['id']}/deliveries").get_json()["deliveries"]
    assert [(d["status"], d["attempts"], d["response_code"], d["last_error"]) for d in log] == \
        [("delivered", 2, 200, None)]
    first, second = hook.requests
    heads = [{k.lower(): v for k, v in r["headers"].items()} for r in (first, second)]
    assert heads[0]["x-jimu-delivery"] == heads[1]["x-jimu-delivery"] == log[0]["delivery_id"]
    assert heads[1]["idempotency-key"] == log[0]["delivery_id"] and heads[1]["x-jimu-event"] == "record.created"
    assert _signed(sub["secret"], first) and _signed(sub["secret"], second)
    assert not _signed("another secret of the same length..", second)
    body = json.loads(second["body"])
    assert body["event"] == "record.created" and body["form"] == "project" and body["record_id"] == rid
    assert body["record"]["title"] == "Rebrand" and body["delivery_id"] == log[0]["delivery_id"]


def test_an_update_says_which_fields_it_changed(agency, hook, jimu):
    _subscribe(agency, hook, events=["record.updated"])
    rid = agency.create("project", title="Site", hours=1, tags=["web"])
    agency.client.patch(url("project", rid), headers=agency.h["root"], json={"hours": 5, "title": "Site"})
    assert jobs.run_due(jimu) == 1
    body = json.loads(hook.requests[0]["body"])
    assert body["event"] == "record.updated" and body["changed"] == ["hours"] and body["record"]["hours"] == 5


def test_the_document_describes_the_subscription_routes(agency):
    doc = agency.get("root", "/api/v1/openapi.json").get_json()
    post = doc["paths"]["/subscriptions"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert post["required"] == ["form", "events", "url"] and "record.deleted" in post["properties"]["events"]["items"]["enum"]
    patch = doc["paths"]["/subscriptions/{sid}"]["patch"]["requestBody"]["content"]["application/json"]["schema"]
    assert "required" not in patch and "/subscriptions/{sid}/deliveries" in doc["paths"]


def test_updates_and_deletes_are_delivered_only_for_subscribed_events(agency, hook, jimu):
    _subscribe(agency, hook, events=["record.deleted"])
    rid = agency.create("project", title="Poster", hours=1)
    agency.client.patch(url("project", rid), headers=agency.h["root"], json={"hours": 2})
    assert jobs.run_due(jimu) == 0                       # nothing subscribed to created/updated
    agency.client.delete(url("project", rid), headers=agency.h["root"])
    assert jobs.run_due(jimu) == 1
    body = json.loads(hook.requests[0]["body"])
    assert body["event"] == "record.deleted" and body["record"]["hours"] == 2


def test_a_disabled_subscription_sends_nothing_and_cancels_what_waits(agency, hook, jimu):
    sub = _subscribe(agency, hook).get_json()
    agency.create("project", title="Queued", hours=1)    # a delivery waits in the queue
    r = agency.client.patch(f"{SUBS}/{sub['id']}", headers=agency.h["root"], json={"is_active": False})
    assert r.status_code == 200 and r.get_json()["is_active"] is False and "secret" not in r.get_json()
    agency.create("project", title="After", hours=1)     # no delivery at all
    jobs.run_due(jimu)
    assert hook.requests == []
    log = agency.get("root", f"{SUBS}/{sub['id']}/deliveries").get_json()
    assert log["total"] == 1 and log["deliveries"][0]["status"] == "cancelled"


def test_only_those_who_design_the_app_manage_its_webhooks(agency, hook):
    sub = _subscribe(agency, hook).get_json()
    body = {"form": "project", "events": ["record.created"], "url": hook.url}
    r = agency.client.post(SUBS, headers=agency.h["sam"], json=body)  # staff may write projects, not export them
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "webhook.not_builder"
    assert agency.get("sam", SUBS).get_json()["subscriptions"] == []
    assert agency.get("sam", f"{SUBS}/{sub['id']}").status_code == 404
    assert agency.client.delete(f"{SUBS}/{sub['id']}", headers=agency.h["sam"]).status_code == 404
    assert agency.client.get(SUBS).status_code == 401


def test_bad_subscriptions_are_refused_with_codes(agency, hook):
    for body, code in (({"form": "nope", "events": ["record.created"], "url": hook.url}, "webhook.bad_form"),
                       ({"form": "project", "events": ["record.read"], "url": hook.url}, "webhook.bad_events"),
                       ({"form": "project", "events": ["record.created"], "url": "http://10.1.2.3/x"},
                        "webhook.bad_url"),
                       ({"form": "project", "events": ["record.created"], "url": "file:///etc/passwd"},
                        "webhook.bad_url"),
                       ({"form": "project", "events": ["record.created"], "url": hook.url, "colour": 1},
                        "webhook.unknown_field")):
        r = agency.client.post(SUBS, headers=agency.h["root"], json=body)
        assert r.status_code == 422 and r.get_json()["error"]["code"] == code, (body, r.get_json())


def test_the_admin_page_lists_creates_disables_and_shows_the_log(agency, hook, jimu, client):
    sub = _subscribe(agency, hook).get_json()
    hook.script = [(503, b"", {})]
    agency.create("project", title="Logged", hours=1)
    jobs.run_due(jimu)
    csrf = sign_in(client, jimu, agency.ids["root"])
    page = client.get("/admin/webhooks").get_data(as_text=True)
    assert "ERP sync" in page and f'data-subscription="{sub["id"]}"' in page
    log = client.get(f"/admin/webhooks/{sub['id']}").get_data(as_text=True)
    assert 'data-status="pending"' in log and "503" in log
    r = client.post("/admin/webhooks", data={"csrf_token": csrf, "form": "project", "events": ["record.updated"],
                                             "url": hook.url + "/two", "name": "Second"})
    assert r.status_code == 302
    assert "whsec_" in client.get(r.headers["Location"]).get_data(as_text=True)  # the secret, shown once
    r = client.post(f"/admin/webhooks/{sub['id']}/active", data={"csrf_token": csrf, "active": "0"})
    assert r.status_code == 302
    assert agency.get("root", f"{SUBS}/{sub['id']}").get_json()["is_active"] is False
    bad = client.post("/admin/webhooks", data={"csrf_token": csrf, "form": "project", "events": ["record.updated"],
                                               "url": "http://10.1.2.3/"})
    assert bad.status_code == 422 and 'data-code="webhook.bad_url"' in bad.get_data(as_text=True)
    sam = agency.client.application.test_client()
    sign_in(sam, jimu, agency.ids["sam"])
    assert sam.get("/admin/webhooks").status_code == 403
