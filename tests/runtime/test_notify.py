"""Notifications out: SMTP (local aiosmtpd), signed webhooks retried then failed, WeCom/DingTalk robot
formats, HTTP calls that store the answer, and the SSRF guard at save and at send with real payloads."""
import email
import hashlib
import hmac
import json
import socket
import threading
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from engines.rule import RuleInvalid, compile_rule
from engines.rule.urls import UnsafeURL
from runtime import jobs
from runtime.notify import request
from tests.conftest import install_package, make_user
from tests.runtime.rules_helpers import create, firings, get, jobs_of, package


class Hook:
    """A local HTTP receiver: records requests, answers from a script of (status, body, headers)."""

    def __init__(self):
        self.requests, self.script = [], []
        outer = self

        class H(BaseHTTPRequestHandler):
            def _serve(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                       "body": body})
                status, payload, headers = outer.script.pop(0) if outer.script else (200, b'{"errcode":0}', {})
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.close()


@pytest.fixture
def allow_local(jimu, monkeypatch):
    monkeypatch.setitem(jimu.config, "OUTBOUND_ALLOWLIST", "127.0.0.1")
    monkeypatch.setenv("JIMU_OUTBOUND_ALLOWLIST", "127.0.0.1")  # install_package runs outside a request


def test_email_arrives_at_the_smtp_server_with_the_rendered_chinese_subject(jimu, smtp):
    ann = make_user(jimu, "ann")
    install_package(jimu, package([
        {"key": "mail", "trigger": {"type": "record_created"},
         "actions": [{"type": "notify", "channel": "email", "to": {"users": ["ann"], "email_fields": ["邮箱"]},
                      "subject": "新工单 {标题}: {客户姓名}", "body": "您好 {客户姓名}, 描述: {描述}"}]}]))
    with jimu.begin() as conn:
        import sqlalchemy as sa
        from runtime import db
        from runtime.auth.users import set_roles
        set_roles(conn, ann, ["desk_reader"])  # a Jimu user is mailed about records she may read
        conn.execute(sa.update(db.users).where(db.users.c.username == "ann").values(email="ann@example.com"))
    create(jimu, "工单", {"标题": "T-001", "客户姓名": "张三", "邮箱": "zhang@example.com", "描述": "{{7*7}}"})
    assert smtp.messages == []  # queued in the outbox, not sent inside the write
    assert jobs.run_due(jimu) == 1
    [(rcpt, raw)] = smtp.messages
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert rcpt == ["ann@example.com", "zhang@example.com"]
    assert msg["Subject"] == "新工单 T-001: 张三"
    assert msg.get_content().strip() == "您好 张三, 描述: {{7*7}}"
    assert msg["X-Jimu-Idempotency-Key"] == jobs_of(jimu, "rule.email")[0]["idempotency_key"]


def test_signed_webhook_is_delivered_with_the_record(jimu, hook, allow_local):
    install_package(jimu, package([
        {"key": "hook", "trigger": {"type": "record_created"},
         "actions": [{"type": "notify", "channel": "webhook", "url": hook.url + "/in", "secret": "s3cret",
                      "subject": "新工单 {标题}", "body": "{描述}"}]}]))
    rec = create(jimu, "工单", {"标题": "T", "描述": "{{7*7}}"})
    jobs.run_due(jimu)
    [req] = hook.requests
    body = req["body"]
    ts = req["headers"]["X-Jimu-Timestamp"]
    expected = "sha256=" + hmac.new(b"s3cret", ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert req["headers"]["X-Jimu-Signature"] == expected
    data = json.loads(body)
    assert data["message"] == "{{7*7}}" and data["subject"] == "新工单 T" and data["record_id"] == rec["id"]
    assert data["record"]["标题"] == "T" and req["headers"]["Idempotency-Key"].startswith("rule:")


def test_failing_webhook_is_retried_with_backoff_then_marked_failed_and_shown(jimu, hook, allow_local, clock,
                                                                              client, admin_headers, monkeypatch):
    monkeypatch.setitem(jimu.config, "RULE_MAX_ATTEMPTS", 3)
    install_package(jimu, package([
        {"key": "hook", "trigger": {"type": "record_created"},
         "actions": [{"type": "notify", "channel": "webhook", "url": hook.url, "body": "x"}]}]))
    hook.script = [(500, b"down", {})] * 3
    create(jimu, "工单", {"标题": "T"})
    jobs.run_due(jimu)
    [job] = jobs_of(jimu, "rule.webhook")
    assert job["status"] == "pending" and "HTTP 500" in job["last_error"]
    clock.advance(seconds=30)
    jobs.run_due(jimu)
    clock.advance(seconds=60)
    jobs.run_due(jimu)
    [job] = jobs_of(jimu, "rule.webhook")
    assert job["status"] == "failed" and job["attempts"] == 3 and len(hook.requests) == 3
    keys = {r["headers"]["Idempotency-Key"] for r in hook.requests}
    assert keys == {job["idempotency_key"]}  # every retry carries the same key
    r = client.get("/api/v1/notifications/unread-count", headers=admin_headers)
    assert r.json["failed_deliveries"] == 1
    r = client.get("/api/v1/rules/outbox?status=failed", headers=admin_headers)
    assert [j["kind"] for j in r.json["jobs"]] == ["rule.webhook"] and "HTTP 500" in r.json["jobs"][0]["last_error"]
    assert r.json["jobs"][0]["target"] == hook.url


def test_wecom_and_dingtalk_robot_formats(jimu, hook, allow_local):
    install_package(jimu, package([
        {"key": "robots", "trigger": {"type": "record_created"},
         "actions": [{"type": "notify", "channel": "wecom", "url": hook.url + "/cgi-bin/webhook/send?key=K",
                      "subject": "新工单", "body": "{标题}"},
                     {"type": "notify", "channel": "dingtalk", "url": hook.url + "/robot/send?access_token=T",
                      "secret": "SEC", "subject": "新工单", "body": "{标题}", "mentions": ["13800000000"]}]}]))
    create(jimu, "工单", {"标题": "打印机坏了"})
    assert jobs.run_due(jimu) == 2
    by_path = {r["path"].split("?")[0]: r for r in hook.requests}
    wecom, ding = by_path["/cgi-bin/webhook/send"], by_path["/robot/send"]
    assert json.loads(wecom["body"]) == {"msgtype": "markdown", "markdown": {"content": "**新工单**\n打印机坏了"}}
    d = json.loads(ding["body"])
    assert d["msgtype"] == "markdown" and d["markdown"]["title"] == "新工单"
    assert d["markdown"]["text"] == "### 新工单\n\n打印机坏了\n\n@13800000000"
    assert d["at"] == {"atMobiles": ["13800000000"], "isAtAll": False}
    q = parse_qs(urlsplit(ding["path"]).query)
    import base64
    mac = hmac.new(b"SEC", f"{q['timestamp'][0]}\nSEC".encode(), hashlib.sha256).digest()
    assert q["sign"][0] == base64.b64encode(mac).decode() and q["access_token"] == ["T"]


def test_robot_errcode_counts_as_a_failed_delivery(jimu, hook, allow_local):
    install_package(jimu, package([
        {"key": "robots", "trigger": {"type": "record_created"},
         "actions": [{"type": "notify", "channel": "wecom", "url": hook.url + "/send", "body": "{标题}"}]}]))
    hook.script = [(200, json.dumps({"errcode": 93000, "errmsg": "invalid webhook url"}).encode(), {})]
    create(jimu, "工单", {"标题": "x"})
    jobs.run_due(jimu)
    assert "93000" in jobs_of(jimu, "rule.webhook")[0]["last_error"]


def test_call_http_stores_fields_from_the_json_answer_through_the_write_path(jimu, hook, allow_local):
    install_package(jimu, package([
        {"key": "score", "trigger": {"type": "record_created"},
         "actions": [{"type": "call_http", "url": hook.url + "/score", "json": {"name": {"expr": "客户姓名"}},
                      "store": {"信用分": "data.items.0.score", "状态": "data.status"}}]},
        {"key": "after_score", "trigger": {"type": "field_changed", "field": "信用分"},
         "condition": {"field": "信用分", "op": "lt", "value": 60}, "actions": [
             {"type": "set_fields", "values": {"紧急程度": "高"}}]}]))
    hook.script = [(200, json.dumps({"data": {"items": [{"score": 42}], "status": "已评分"}}).encode(), {})]
    rec = create(jimu, "工单", {"标题": "x", "客户姓名": "王五"})
    jobs.run_due(jimu)
    assert json.loads(hook.requests[0]["body"]) == {"name": "王五"}
    got = get(jimu, "工单", rec["id"])
    assert got["信用分"] == 42 and got["状态"] == "已评分" and got["紧急程度"] == "高"  # rules chained on the answer


def test_an_http_call_sends_outsiders_no_field_a_reading_role_hides(jimu, hook, allow_local):
    """An HTTP call is an outsider: its ``{"expr"}`` and ``{"template"}`` values and its body read the
    record without the fields some role reading the form hides (here 描述): they come out empty, the
    others as they are. On the old code the expression sent the hidden description."""
    pkg = package([{"key": "crm", "trigger": {"type": "record_created"},
                    "actions": [{"type": "call_http", "url": hook.url + "/crm", "json": {
                        "name": {"expr": "客户姓名"}, "desc": {"expr": "描述"}, "line": {"template": "{标题}/{描述}"},
                        "fixed": 1}}]}])
    pkg["roles"].append({"key": "front", "version": 1, "label": "Front desk", "permissions": {"工单": ["read"]},
                         "fields": {"工单": {"描述": "hidden"}}})
    install_package(jimu, pkg)
    hook.script = [(200, b"{}", {})]
    create(jimu, "工单", {"标题": "T", "客户姓名": "王五", "描述": "内部: 客户欠款"})
    jobs.run_due(jimu)
    assert json.loads(hook.requests[0]["body"]) == {"name": "王五", "desc": None, "line": "T/", "fixed": 1}


# -- SSRF: real payloads ---------------------------------------------------------------------------
PRIVATE = ["http://127.1/hook", "http://2130706433/hook", "http://[::1]/hook", "http://0x7f000001/hook",
           "http://169.254.169.254/latest/meta-data/iam/", "http://[::ffff:169.254.169.254]/",
           "http://10.0.0.5:8080/", "http://[fe80::1%25eth0]/"]


@pytest.mark.parametrize("url", PRIVATE)
def test_private_urls_are_refused_when_the_rule_is_saved(url):
    for action in ({"type": "notify", "channel": "webhook", "url": url},
                   {"type": "call_http", "url": url}):
        with pytest.raises(RuleInvalid) as exc:
            compile_rule({"key": "x", "form": "f", "trigger": {"type": "record_created"}, "actions": [action]})
        assert exc.value.errors[0]["code"] == "url.private_address"


def test_a_package_with_a_private_webhook_url_is_refused_at_install(jimu, client, admin_headers):
    pkg = package([{"key": "leak", "trigger": {"type": "record_created"},
                    "actions": [{"type": "notify", "channel": "webhook", "url": "http://[::1]:8080/admin"},
                                {"type": "call_http", "url": "http://2130706433/"}]}])
    from apps import PackageError
    with pytest.raises(PackageError) as exc:
        install_package(jimu, pkg)
    assert [(e["pointer"], e["code"]) for e in exc.value.errors] == [
        ("/rules/0/actions/0", "url.private_address"), ("/rules/0/actions/1", "url.private_address")]
    with jimu.read() as conn:
        import sqlalchemy as sa
        from runtime import db
        assert conn.execute(sa.select(sa.func.count()).select_from(db.apps)).scalar() == 0


def test_validate_api_reports_the_ssrf_error(client, admin_headers):
    r = client.post("/api/v1/rules/validate", json={"key": "x", "form": "f", "trigger": {"type": "record_created"},
                                                    "actions": [{"type": "notify", "channel": "webhook",
                                                                 "url": "http://2130706433/"}]},
                    headers=admin_headers)
    assert r.json["valid"] is False and r.json["errors"][0]["code"] == "url.private_address"


@pytest.mark.parametrize("url", PRIVATE[:4])
def test_private_urls_are_refused_at_send_without_connecting(url, hook):
    with pytest.raises(UnsafeURL):
        request("POST", url.replace("/hook", f":{hook.server.server_port}/hook"), body=b"{}")
    assert hook.requests == []


def test_a_name_resolving_to_loopback_is_refused_at_send(jimu, hook):
    # saved fine (a name), refused after resolution: localhost → 127.0.0.1, not allowlisted here
    install_package(jimu, package([
        {"key": "hook", "trigger": {"type": "record_created"},
         "actions": [{"type": "notify", "channel": "webhook",
                      "url": f"http://localhost:{hook.server.server_port}/"}]}]))
    create(jimu, "工单", {"标题": "x"})
    jobs.run_due(jimu)
    assert hook.requests == [] and "private" in jobs_of(jimu, "rule.webhook")[0]["last_error"]


def test_every_resolved_address_is_checked_and_the_checked_one_is_dialled(hook, monkeypatch):
    real = socket.getaddrinfo

    def fake(host, port, *a, **kw):
        if host == "mixed.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", port))]
        if host == "pinned.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *a, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(UnsafeURL):
        request("GET", "http://mixed.example/")
    resp = request("GET", f"http://pinned.example:{hook.server.server_port}/x", allow=["127.0.0.1"])
    assert resp.status == 200 and hook.requests[0]["headers"]["Host"].startswith("pinned.example")


def test_redirects_into_private_ranges_are_refused(hook):
    hook.script = [(302, b"", {"Location": "http://169.254.169.254/latest/meta-data/"})]
    with pytest.raises(UnsafeURL):
        request("GET", hook.url + "/r", allow=["127.0.0.1"])
    hook.script = [(307, b"", {"Location": "http://[::1]:1/"})]
    with pytest.raises(UnsafeURL):
        request("POST", hook.url + "/r", body=b"x", allow=["127.0.0.1"])
    hook.script = [(302, b"", {"Location": "/final"}), (200, b"ok", {})]
    resp = request("GET", hook.url + "/r", allow=["127.0.0.1"])
    assert resp.status == 200 and resp.body == b"ok" and hook.requests[-1]["path"] == "/final"
