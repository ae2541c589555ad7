"""Job handlers for what rules send out and for rule time: e-mail, in-app notifications, webhooks
and robots, SMS (``runtime.rules.sms``), HTTP calls that write back, timers relative to a date field, and cron schedules.

Messages are rendered here, not in the write that fired the rule, per recipient's view of the
record (``runtime.rules.messages``); a template over its step/time limit fails its job at once
with the template's code and never touches the write.

Each handler runs in the job's own transaction (``runtime.jobs``); raising makes
the job retry with back-off and, after ``max_attempts``, parks it as ``failed``
(listed by ``GET /api/v1/rules/outbox`` and counted in the UI badge for admins).
The job's idempotency key travels with every message (``Idempotency-Key``
header, ``X-Jimu-Idempotency-Key`` mail header) so receivers can drop repeats.
"""
from __future__ import annotations

import functools
import json
import time
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engines.errors import JimuError
from engines.rule.triggers import Schedule, TimeAfter

from engines.rule.actions.notify import robot_payload

from .. import jobs, mailthread
from ..audit import jsonable
from ..auth import policy
from ..auth.principal import Principal
from ..notify import sign_dingtalk_url, webhook_signature
from . import messages
from ..recipients import resolve_users

SYSTEM = Principal(user_id=None, username="rules", display_name="Rules", is_admin=True)


class DeliveryFailed(JimuError):
    code = "notify.delivery_failed"


def _runner(jimu):
    return jimu.services.rules


def _records(jimu, conn, source: str):
    return jimu.services.records(jimu, conn, SYSTEM, source=source, check_permissions=False)


def send_email_job(jimu, conn, job) -> None:
    """Render the mail per audience (``messages.mail_audiences``) and send one message per distinct
    text; each has its own delivery record (the job's key, then ``<key>:<n>``), so a retry sends only
    what was not acknowledged. The ``cc`` copies go with the message people outside Jimu read (or,
    when only users are addressed, in a message of their own), and each message attaches the files
    of ``attach`` its readers may see. A message about a record carries the record's e-mail thread
    (``In-Reply-To``, ``References``: ``runtime.mailthread``) and ``Auto-Submitted`` (``auto_submitted``;
    by default ``auto-replied`` when the rule answers the message that opened the record, else
    ``auto-generated``), and is noted in the thread. Jobs queued before messages were rendered here
    carry ``to``/``subject``/``body``."""
    p = job.payload
    form, rid = p.get("form"), p.get("record_id")
    if "templates" not in p:
        outgoing = [{"subject": p["subject"], "body": p["body"], "to": list(p["to"]), "cc": [], "files": []}]
    else:
        outgoing = _mail_messages(jimu, conn, p)
    headers = mailthread.headers(conn, form, rid)
    auto = p.get("auto_submitted") or ("auto-replied" if p.get("event") == "record.created"
                                       and mailthread.taken_in(conn, form, rid) else "auto-generated")
    if auto != "no":
        headers["Auto-Submitted"] = auto
    for n, m in enumerate(outgoing):
        key = job.idempotency_key if n == 0 else f"{job.idempotency_key}:{n}"
        if jobs.delivered(conn, key):
            continue  # sent by an earlier attempt whose completion was lost
        mid = jimu.services.notifier.mail(m["to"], m["subject"], m["body"], key=key, cc=m["cc"], headers=headers,
                                          attachments=m["files"])
        jobs.mark_delivered(jimu, conn, key, "email")
        if form and rid is not None and mid:
            mailthread.note(conn, mid, "out", form, rid, jimu.now())


def _mail_messages(jimu, conn, p) -> list[dict]:
    """The messages of a rendered e-mail job: one per distinct text and attachments, in a stable order;
    the ``cc`` copies ride on the message outsiders read, or get it on their own."""
    ft = messages.form_of(jimu, p)
    values = messages.variables(ft, p)
    extra = _links(jimu, p) if p.get("page") else {}

    def message(hidden, principal):
        m = messages.render(jimu, conn, p, ft, values, hidden, principal, **extra)
        return {"subject": m.get("subject", ""), "body": m.get("body", ""), "to": [], "cc": [],
                "files": messages.attachments(jimu, conn, p, ft, values, hidden, principal)}

    by_text: dict[tuple, dict] = {}
    outsider = None
    for hidden, principal, addresses in messages.mail_audiences(jimu, conn, p, ft, values):
        m = message(hidden, principal)
        m = by_text.setdefault((m["subject"], m["body"], tuple((n, t, d) for n, t, d in m["files"])), m)
        m["to"] = sorted(set(m["to"]) | set(addresses))
        if principal is None:
            outsider = m
    out = sorted(by_text.values(), key=lambda m: m["to"])
    addressed = {a for m in out for a in m["to"]}
    copies = [a for a in messages.cc_addresses(conn, p, ft, values) if a not in addressed]
    if copies and outsider is not None:
        outsider["cc"] = copies
    elif copies:  # only users addressed: the copies get the message outsiders read
        m = message(policy.outsider_hidden(conn, ft) if ft is not None else frozenset(), None)
        out.append({**m, "to": copies})
    if not out:
        raise messages.Undeliverable("the e-mail has no recipient with an address who may read the record",
                                     code="rule.no_recipients", rule=p.get("rule"))
    return out


def _links(jimu, p) -> dict[str, str]:
    """``status_link`` and ``survey_link`` of a ``send_survey`` message."""
    from .survey import status_link, survey_link
    status = status_link(jimu, p["form"], p["record_id"])
    survey = status if p.get("page") == "status" else survey_link(jimu, p["survey_form"], p["form"], p["record_id"])
    return {"status_link": status, "survey_link": survey}


@functools.cache
def _insert_notifications() -> sa.Insert:
    """The inbox rows' insert, built once (``in_app_job``)."""
    from .tables import notifications
    return sa.insert(notifications)


def in_app_job(jimu, conn, job) -> None:
    """Put the message in the inbox of each recipient who may read the record, as they see it."""
    p = job.payload
    ft = messages.form_of(jimu, p)
    values = messages.variables(ft, p)
    users = resolve_users(conn, p.get("recipients") or {}, values, p.get("form"), tasks=p.get("tasks"))
    if not users:
        raise messages.Undeliverable("the in-app notification has no recipients", code="rule.no_recipients",
                                     rule=p.get("rule"))
    default_link = f"/forms/{p['form']}/records/{p['record_id']}" if p.get("record_id") else None
    rows = []
    for (hidden, *_), principals in messages.user_views(conn, ft, p.get("record_id"), users).items():
        m = messages.render(jimu, conn, p, ft, values, hidden, principals[0])
        title = (m.get("subject") or m.get("body", "")[:100])[:500]
        link = messages.safe_link(m.get("link") or default_link)
        rows += [{"user_id": pr.user_id, "at": jimu.now(), "title": title, "body": m.get("body", ""),
                  "link": link, "rule_key": p.get("rule"), "form_key": p.get("form"),
                  "record_id": p.get("record_id")} for pr in principals]
    if rows:  # in the job's transaction: committed with its completion, exactly once
        conn.execute(_insert_notifications(), rows)


def _outsider_message(jimu, conn, p) -> tuple[dict[str, str], dict]:
    """The rendered message and the record as people outside Jimu may read them (webhooks, robots,
    HTTP calls)."""
    ft = messages.form_of(jimu, p)
    values = messages.variables(ft, p)
    hidden = policy.outsider_hidden(conn, ft) if ft is not None else frozenset()
    record = {k: v for k, v in values.items() if k not in hidden}
    return messages.render(jimu, conn, p, ft, values, hidden), record


def send_webhook_job(jimu, conn, job) -> None:
    p = job.payload
    if jobs.delivered(conn, job.idempotency_key):
        return  # acknowledged on an earlier attempt whose completion was lost
    if "templates" in p:
        m, record = _outsider_message(jimu, conn, p)
        message = robot_payload(p, m.get("subject", ""), m.get("body", ""), record)
    else:
        message = p["payload"]  # queued before messages were rendered here
    body = json.dumps(jsonable(message), ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": job.idempotency_key}
    url = p["url"]
    secret = p.get("secret") or jimu.config.get("WEBHOOK_SECRET")
    if p["format"] == "webhook":
        ts = str(int(jimu.now().timestamp()))
        headers["X-Jimu-Timestamp"] = ts
        headers["X-Jimu-Event"] = str(message.get("event") or "")
        if secret:
            headers["X-Jimu-Signature"] = webhook_signature(secret, ts, body)
    elif p["format"] == "dingtalk" and p.get("secret"):
        url = sign_dingtalk_url(url, p["secret"], int(jimu.now().timestamp() * 1000))
    resp = jimu.services.notifier.http("POST", url, body=body, headers=headers,
                                       timeout=float(jimu.config.get("WEBHOOK_TIMEOUT", 10)))
    if not resp.ok:
        raise DeliveryFailed(f"{p['format']} {_host(p['url'])} answered HTTP {resp.status}")
    if p["format"] in ("wecom", "dingtalk"):
        try:
            answer = resp.json()
        except ValueError:
            answer = {}
        if isinstance(answer, dict) and answer.get("errcode") not in (None, 0):
            raise DeliveryFailed(f"{p['format']} robot refused the message: errcode {answer.get('errcode')} "
                                 f"{answer.get('errmsg', '')}")
    jobs.mark_delivered(jimu, conn, job.idempotency_key, p["format"])


def _host(url: str) -> str:
    from urllib.parse import urlsplit
    return urlsplit(url).hostname or "?"


def json_path(data: Any, path: str) -> Any:
    """``data.items.0.score`` → the value, or None when any step is missing."""
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.lstrip("-").isdigit() and -len(data) <= int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def call_http_job(jimu, conn, job) -> None:
    p = job.payload
    if "templates" in p:  # url, body and json values, rendered and evaluated as outsiders may read the record
        m, record = _outsider_message(jimu, conn, p)
        values = {**{k: None for k in p.get("variables") or {}}, **record}  # a hidden field reads as empty
        evaluated = {k: messages.evaluate(jimu, conn, p, source, values)
                     for k, source in (p.get("expressions") or {}).items()}
        p = {**p, "url": m["url"], "body": m.get("body") if "body" in p["templates"] else None,
             "json": None if p.get("json") is None else
             {**p["json"], **{k[5:]: v for k, v in m.items() if k.startswith("json.")}, **evaluated}}
    headers = {"Idempotency-Key": job.idempotency_key, **(p.get("headers") or {})}
    body = None
    if p.get("json") is not None:
        body = json.dumps(p["json"], ensure_ascii=False).encode()
        headers.setdefault("Content-Type", "application/json; charset=utf-8")
    elif p.get("body") is not None:
        body = p["body"].encode()
    resp = jimu.services.notifier.http(p.get("method", "POST"), p["url"], body=body, headers=headers,
                                       timeout=float(p.get("timeout") or 10))
    if not resp.ok:
        raise DeliveryFailed(f"{_host(p['url'])} answered HTTP {resp.status}")
    if p.get("store") and p.get("record_id") is not None:
        try:
            answer = resp.json()
        except ValueError:
            raise DeliveryFailed(f"{_host(p['url'])} did not answer JSON") from None
        values = {field: json_path(answer, path) for field, path in p["store"].items()}
        records = _records(jimu, conn, "rule.http")
        records.update(p["form"], p["record_id"], values)


def timer_job(jimu, conn, job) -> None:
    p = job.payload
    runner = _runner(jimu)
    rule = runner.cache.get(conn).by_key.get(p["rule"])
    if rule is None or not rule.enabled or not isinstance(rule.trigger, TimeAfter):
        return
    from ..store.records import RecordNotFound
    try:
        ft = jimu.catalog.form(p["form"])
        record = _records(jimu, conn, "rule.timer").store.get(ft, p["record_id"])
    except (RecordNotFound, JimuError):
        return  # the record is gone
    from .loader import calendar_for
    due = rule.trigger.due(record, calendar_for(runner.cache, conn, rule.trigger))
    if due is None or due.isoformat() != p["due"]:
        return  # the date moved: a newer timer is scheduled for it
    runner.fire(_records(jimu, conn, "rule.timer"), rule, "time.elapsed", p["form"], record, None,
                key=job.idempotency_key)


MAX_SCHEDULED_RECORDS = 10_000


def cron_job(jimu, conn, job) -> None:
    p = job.payload
    runner = _runner(jimu)
    rules = runner.cache.get(conn)
    rule = rules.by_key.get(p["rule"])
    if rule is None or not rule.enabled or not isinstance(rule.trigger, Schedule) \
            or rule.trigger.config.get("cron") != p.get("cron"):
        sync_schedules(jimu, conn, rules)
        return
    records = _records(jimu, conn, "rule.schedule")
    if rule.trigger.per_record:
        ft = jimu.catalog.form(rule.form)
        ids = list(conn.execute(sa.select(ft.table.c.id).order_by(ft.table.c.id).limit(MAX_SCHEDULED_RECORDS))
                   .scalars())
        for rid in ids:
            record = records.store.get(ft, rid)
            runner.fire(records, rule, "schedule", rule.form, record, None, key=f"{job.idempotency_key}:{rid}")
    else:
        runner.fire(records, rule, "schedule", rule.form, {}, None, key=job.idempotency_key)
    _enqueue_next(jimu, conn, rule, max(jimu.now(), datetime.fromisoformat(p["at"])))


def _enqueue_next(jimu, conn, rule, after: datetime) -> bool:
    at = rule.trigger.cron.next_after(after)
    return jobs.enqueue(conn, "rule.cron", {"rule": rule.key, "cron": rule.trigger.config.get("cron"),
                                            "at": at.isoformat()},
                        run_at=at, key=f"rule.cron:{rule.key}:{at.isoformat()}", now=jimu.now(), max_attempts=3)


def sync_schedules(jimu, conn, rules=None) -> int:
    """Make sure every enabled schedule rule has its next run queued (idempotent); returns how many
    were newly queued."""
    rules = rules or _runner(jimu).cache.get(conn)
    return sum(_enqueue_next(jimu, conn, r, jimu.now()) for r in rules.scheduled()
               if isinstance(r.trigger, Schedule))


#: the job kinds rules enqueue besides the notification channels' (``channel_jobs``), registered by
#: ``create_app`` in the container's job registry
JOB_HANDLERS = {
    "rule.http": call_http_job,
    "rule.timer": timer_job,
    "rule.cron": cron_job,
}
