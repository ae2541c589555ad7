"""Issue #15, item 2, under faults: two real ``jimu worker`` processes on PostgreSQL, a slow SMTP
server and a slow webhook receiver, a short lease (so the workers take over each other's waiting
batch jobs all the time) and one worker killed with -9 while it sends.

What each kind of effect is guaranteed, and what the test asserts:

- a database-only flow step (a timer whose automatic step writes a repair log): **exactly once**;
- e-mail: **at least once, one Message-ID per job**. SMTP cannot say "already have it": a worker
  killed after the server took the message but before it read the ``250`` has no way to know, so the
  retry sends the same message again (same Message-ID, same ``X-Jimu-Idempotency-Key``) and the
  receiver drops it by Message-ID. Every other retry (a lease taken over, a lost completion) sends
  nothing: the delivery record (``jimu_deliveries``) stops it;
- webhooks: the same, with the ``Idempotency-Key`` header as the delivery id a receiver dedupes on.

So at most one message may arrive twice (the one the killed worker was sending; a worker sends one
at a time), and then with the same id; every job's message arrives; no other duplicate.
"""
from __future__ import annotations

import asyncio
import email
import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa

from runtime import db
from tests.conftest import install_package

pytestmark = [pytest.mark.pg, pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]

JIMU = str(Path(sys.executable).with_name("jimu"))
SLOW = 1.5          # seconds the receivers take per message
LEASE = 2           # seconds: shorter than a batch takes, so waiting batch jobs are taken over
COUNT = 5           # repair requests: 5 mails, 5 webhooks, 5 timer steps

#: a repair-request app (not a helpdesk): each request mails the reporter, posts to a webhook, and
#: its flow's timer step writes one log row (a database-only effect run by a worker)
REQUEST = {"key": "报修", "version": 1, "label": {"zh-CN": "报修", "en": "Repair request"}, "title_field": "设备",
           "fields": [{"key": "设备", "label": {"zh-CN": "设备", "en": "Device"}, "widget": "text", "required": True},
                      {"key": "邮箱", "label": {"zh-CN": "邮箱", "en": "E-mail"}, "widget": "text"}]}
LOG = {"key": "维修日志", "version": 1, "label": {"zh-CN": "维修日志", "en": "Repair log"},
       "fields": [{"key": "报修单", "label": {"zh-CN": "报修单", "en": "Request"}, "widget": "number"},
                  {"key": "内容", "label": {"zh-CN": "内容", "en": "Text"}, "widget": "text"}]}


def repair_package(hook_url: str) -> dict:
    node = lambda id, type, **config: {"id": id, "type": type, "config": config}  # noqa: E731
    edge = lambda a, b: {"id": f"{a}-{b}", "from": a, "to": b}  # noqa: E731
    write_log = {"type": "create_record", "form": "维修日志",
                 "mapping": {"报修单": {"expr": "id"}, "内容": {"template": "已受理 {设备}"}}}
    return {"format": "jimu.app", "version": 2,
            "app": {"key": "repair", "version": "1.0.0", "label": {"zh-CN": "报修", "en": "Repairs"}},
            "forms": [REQUEST, LOG],
            "rules": [{"key": "mail", "version": 1, "label": "Mail", "form": "报修",
                       "trigger": {"type": "record_created"},
                       "actions": [{"type": "notify", "channel": "email", "to": {"email_fields": ["邮箱"]},
                                    "subject": "报修 {设备} 已收到", "body": "我们已收到 {设备} 的报修"}]},
                      {"key": "hook", "version": 1, "label": "Hook", "form": "报修",
                       "trigger": {"type": "record_created"},
                       "actions": [{"type": "notify", "channel": "webhook", "url": hook_url, "body": "{设备}"}]}],
            "flows": [{"key": "accept", "version": 1, "form": "报修", "label": "Accept",
                       "nodes": [node("s", "start"), node("wait", "timer", after="PT1S"),
                                 node("log", "automatic", actions=[write_log]), node("end", "end")],
                       "edges": [edge("s", "wait"), edge("wait", "log"), edge("log", "end")]}]}


# -- slow receivers -------------------------------------------------------------------------------
class SlowSMTP:
    """aiosmtpd that takes ``SLOW`` seconds to accept each message; it keeps what it received even
    when the sender is gone before the ``250`` (as a real server does)."""

    def __init__(self):
        from aiosmtpd.controller import Controller
        self.messages: list[bytes] = []

        class Handler:
            async def handle_DATA(_, server, session, envelope):
                await asyncio.sleep(SLOW)
                self.messages.append(envelope.content)
                return "250 OK"

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def message_ids(self) -> Counter:
        return Counter(email.message_from_bytes(raw, policy=policy.default)["Message-ID"] for raw in self.messages)


class SlowHook:
    """A webhook receiver that takes ``SLOW`` seconds per request and keeps each one it read."""

    def __init__(self):
        self.requests: list[dict] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(SLOW)
                outer.requests.append({"key": self.headers.get("Idempotency-Key"), "body": body})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_port}/repairs"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def keys(self) -> Counter:
        return Counter(r["key"] for r in self.requests)


@pytest.fixture
def receivers():
    smtp, hook = SlowSMTP(), SlowHook()
    yield smtp, hook
    smtp.controller.stop()
    hook.server.shutdown()


# -- workers ----------------------------------------------------------------------------------------
class Workers:
    def __init__(self, db_url, tmp_path, smtp_port):
        self.tmp, self.procs = tmp_path, {}
        self.env = dict(os.environ, JIMU_DATABASE_URL=db_url, JIMU_SECRET_KEY="test", JIMU_BASE_URL="http://jimu.test",
                        JIMU_SMTP_HOST="127.0.0.1", JIMU_SMTP_PORT=str(smtp_port), JIMU_SMTP_FROM="desk@example.com",
                        JIMU_OUTBOUND_ALLOWLIST="127.0.0.1")

    def start(self, name):
        inst = self.tmp / name
        inst.mkdir()
        (inst / "config.py").write_text(f"JOB_LEASE_SECONDS = {LEASE}\nJOB_CLAIM_SIZE = 4\n")
        log = open(self.tmp / f"{name}.log", "w")
        self.procs[name] = subprocess.Popen([JIMU, "worker", "--poll", "0.1"], stdout=log, stderr=subprocess.STDOUT,
                                            env=dict(self.env, JIMU_INSTANCE_PATH=str(inst)))
        return self.procs[name]

    def log(self, name) -> str:
        return (self.tmp / f"{name}.log").read_text()

    def stop(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


def wait_for(predicate, deadline: float, what: str, state=lambda: None):
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)  # polling other processes
    raise AssertionError(f"timed out waiting for {what}: {state()}")


def job_rows(jimu) -> list:
    with jimu.read() as conn:
        return [tuple(r) for r in conn.execute(sa.select(
            db.jobs.c.kind, db.jobs.c.status, db.jobs.c.attempts, db.jobs.c.locked_by, db.jobs.c.last_error))]


def jobs_by_status(jimu, keys) -> dict:
    with jimu.read() as conn:
        return dict(conn.execute(sa.select(db.jobs.c.status, sa.func.count())
                                 .where(db.jobs.c.idempotency_key.in_(keys)).group_by(db.jobs.c.status)).all())


def held_by(jimu, pid) -> int:
    with jimu.read() as conn:
        return conn.execute(sa.select(sa.func.count()).where(db.jobs.c.status == "running",
                                                             db.jobs.c.locked_by.like(f"%:{pid}:%"))).scalar()


@pytest.mark.timeout(180)
def test_two_workers_slow_receivers_and_a_kill_9_every_effect_once(jimu, tmp_path, receivers, monkeypatch):
    smtp, hook = receivers
    monkeypatch.setenv("JIMU_OUTBOUND_ALLOWLIST", "127.0.0.1")  # install and rules check the webhook's address
    monkeypatch.setitem(jimu.config, "OUTBOUND_ALLOWLIST", "127.0.0.1")
    install_package(jimu, repair_package(hook.url))
    from runtime.auth.principal import Principal
    from runtime.records import Records
    with jimu.begin() as conn:
        Records(jimu, conn, Principal(user_id=None, username="t", is_admin=True), check_permissions=False) \
            .bulk_create("报修", [{"设备": f"打印机{i}", "邮箱": f"u{i}@example.com"} for i in range(COUNT)])
    with jimu.read() as conn:
        keys = dict(conn.execute(sa.select(db.jobs.c.idempotency_key, db.jobs.c.kind)).all())
    assert Counter(keys.values()) == {"rule.email": COUNT, "rule.webhook": COUNT, "flow.timer": COUNT}

    workers = Workers(jimu.config["DATABASE_URL"], tmp_path, smtp.port)
    try:
        victim = workers.start("victim")
        workers.start("other")
        # bounded, with room for a loaded CI machine running other test processes beside it
        deadline = time.monotonic() + 100
        # kill the victim while it holds jobs and is sending (once the receivers took a first message)
        wait_for(lambda: held_by(jimu, victim.pid) and len(smtp.messages) + len(hook.requests) >= 1, deadline,
                 "the victim to be sending")
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=5)
        assert held_by(jimu, victim.pid) > 0, "the victim died holding no job: the kill proved nothing"
        wait_for(lambda: jobs_by_status(jimu, keys) == {"done": 3 * COUNT}, deadline, "every job done",
                 lambda: (job_rows(jimu), workers.log("other")[-3000:]))
        time.sleep(SLOW + 0.2)  # a message still being accepted by a receiver would be counted late
    finally:
        workers.stop()

    # the database-only step: exactly once per request
    with jimu.read() as conn:
        ft = jimu.catalog.form("维修日志")
        logged = Counter(conn.execute(sa.select(ft.column("报修单"))).scalars())
        attempts = dict(conn.execute(sa.select(db.jobs.c.idempotency_key, db.jobs.c.attempts)).all())
        delivered = set(conn.execute(sa.select(db.deliveries.c.key)).scalars())
    assert len(logged) == COUNT and set(logged.values()) == {1}, logged

    # what leaves: every job's message arrived, under the job's own id
    mail_keys = {k for k, kind in keys.items() if kind == "rule.email"}
    hook_keys = {k for k, kind in keys.items() if kind == "rule.webhook"}
    expected_ids = {f"<{hashlib.sha256(k.encode()).hexdigest()[:32]}.jimu@example.com>": k for k in mail_keys}
    mail_ids, hook_ids = smtp.message_ids(), hook.keys()
    assert set(mail_ids) == set(expected_ids), (mail_ids, expected_ids)
    assert set(hook_ids) == hook_keys
    assert delivered == mail_keys | hook_keys  # each acknowledged delivery recorded once
    # ... and twice at most for the one message the victim was sending when it died, then under one id
    again = [expected_ids[i] for i, c in mail_ids.items() if c > 1] + [k for k, c in hook_ids.items() if c > 1]
    assert sum(mail_ids.values()) - COUNT + sum(hook_ids.values()) - COUNT == len(again) <= 1, (mail_ids, hook_ids)
    assert all(attempts[k] >= 2 for k in again)
    assert "Traceback" not in workers.log("other")

