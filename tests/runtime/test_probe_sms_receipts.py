"""The SMS receipt URL probed from the outside (issue 20): pushes without the URL's token, with a
token no vendor was given, and receipts naming one delivery's vendor id with another number."""
from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest
import sqlalchemy as sa

from runtime import db

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _deliveries(jimu, *rows):
    now = jimu.now()
    with jimu.begin() as conn:
        for n, (provider, pid, phone) in enumerate(rows):
            conn.execute(sa.insert(db.sms_messages).values(
                key=f"job-{n}:{phone}", provider=provider, phone=phone, template="T1", params={}, status="sent",
                provider_id=pid, attempts=1, created_at=now, updated_at=now))


def _status(jimu):
    with jimu.read() as conn:
        return {r.phone: r.status for r in conn.execute(sa.select(db.sms_messages))}


def _paths(client, admin_headers):
    urls = client.get("/api/v1/sms/messages", headers=admin_headers).get_json()["receipt_urls"]
    return {p: urlsplit(u).path for p, u in urls.items()}


def _aliyun(pid, phone, ok=False):
    return {"phone_number": phone, "success": ok, "err_code": "DELIVERED" if ok else "MK:0001", "biz_id": pid,
            "send_time": "2026-11-02 09:00:00", "report_time": "2026-11-02 09:00:05", "err_msg": "x"}


def _tencent(pid, mobile, ok=False, nation="86"):
    return {"sid": pid, "mobile": mobile, "nationcode": nation, "report_status": "SUCCESS" if ok else "FAIL",
            "errmsg": "DELIVRD" if ok else "MK:0001", "description": "x", "user_receive_time": "2026-11-02 09:00:05"}


def test_a_push_needs_the_urls_token_whatever_it_carries(client, jimu, admin_headers):
    _deliveries(jimu, ("aliyun", "B1", "+8613500135000"))
    paths = _paths(client, admin_headers)
    body = [_aliyun("B1", "13500135000")]
    prefix = paths["aliyun"].rsplit("/", 1)[0]
    for token in ("", "x", "0" * 40, "令牌", quote("ü" * 40), paths["tencent"].rsplit("/", 1)[1]):
        resp = client.post(f"{prefix}/{token}", json=body)
        assert resp.status_code in (401, 404, 405), (token, resp.status_code)
        if resp.status_code == 401:
            assert resp.get_json()["error"]["code"] == "sms.bad_receipt_token"
    assert client.post("/api/v1/sms/receipts/other/" + paths["aliyun"].rsplit("/", 1)[1], json=body).status_code == 404
    assert client.post("/api/v1/sms/receipts/pull").status_code == 401
    assert client.get("/api/v1/sms/messages").status_code == 401
    assert _status(jimu) == {"+8613500135000": "sent"}
    for bad in ({"a": 1}, "x", None):
        resp = client.post(paths["aliyun"], json=bad)
        assert resp.status_code == 400 and _status(jimu) == {"+8613500135000": "sent"}



def test_every_shared_secret_check_refuses_non_ascii_with_its_code(client, jimu, monkeypatch):
    """The same comparison guards a webhook's signature and a signed-in browser's CSRF token: a value
    with characters outside ASCII is a wrong value (401/403 with its code), not a server error."""
    from tests.conftest import install_package, make_user, sign_in
    from tests.runtime.test_webhook_signed import ALARMS
    monkeypatch.setitem(jimu.config, "HOOK_SECRETS", {"alarm": "a-long-shared-secret"})
    install_package(jimu, ALARMS)
    resp = client.post("/api/v1/hooks/alarm", json={"sensor": {"name": "x"}},
                       headers={"X-Jimu-Signature": "sha256=" + "é" * 64})
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "intake.bad_signature"
    sign_in(client, jimu, make_user(jimu, "carol", admin=True))
    resp = client.post("/api/v1/forms/alarm/records", json={"sensor": "x"}, headers={"X-CSRF-Token": "tök"})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "auth.csrf"
    resp = client.post("/logout", data={"csrf_token": "令牌"})
    assert resp.status_code == 403


def test_a_receipt_changes_only_the_delivery_of_its_number(client, jimu, admin_headers):
    """A receipt names the vendor's id and the number; one whose number is not the delivery's (a
    forged or misrouted receipt) changes nothing."""
    _deliveries(jimu, ("aliyun", "B1", "+8613500135000"), ("aliyun", "B2", "+8613500135001"),
                ("tencent", "S1", "+8613500135002"), ("tencent", "S2", "+85261234567"))
    paths = _paths(client, admin_headers)
    forged = client.post(paths["aliyun"], json=[_aliyun("B1", "13500135001"), _aliyun("B2", "")])
    assert forged.status_code == 200 and forged.get_json() == {"code": 0, "msg": "成功"}
    client.post(paths["tencent"], json=[_tencent("S1", "13500135001"), _tencent("S2", "61234567", nation="86")])
    assert set(_status(jimu).values()) == {"sent"}
    client.post(paths["aliyun"], json=[_aliyun("B1", "13500135000", ok=True), _aliyun("B2", "8613500135001")])
    client.post(paths["tencent"], json=[_tencent("S1", "13500135002"), _tencent("S2", "61234567", ok=True,
                                                                              nation="852")])
    assert _status(jimu) == {"+8613500135000": "delivered", "+8613500135001": "undelivered",
                             "+8613500135002": "undelivered", "+85261234567": "delivered"}
