"""Outgoing record-event webhooks: tell another system when records of a form are created, updated
or deleted.

A *subscription* names a form, the events (``record.created``, ``record.updated``,
``record.deleted``), a URL and a secret; app builders manage those of their apps' forms
(``/api/v1/subscriptions``, the ``/admin/webhooks`` page). Every record write is offered to the
listener ``on_record_event`` in the writing transaction (it is one of the container's
``listeners``); for each active subscription of the form and event it writes a *delivery* — a row
with a stable ``delivery_id``, the event's JSON body and its status — and queues a
``webhook.deliver`` job in the same transaction, so a write that rolls back sends nothing. The
subscriptions are read once per catalogue revision (creating or changing one moves the revision),
so a write to a form nobody subscribed to costs no statement.

The job POSTs the body through the container's notifier (the SSRF guard and
``OUTBOUND_ALLOWLIST`` apply) with::

    Content-Type: application/json; charset=utf-8   (body: delivery_id, event, form, record_id,
                                                      occurred_at, actor_id, record; on record.updated
                                                      also changed: the field keys it changed)
    X-Jimu-Event: record.updated
    X-Jimu-Delivery: <delivery_id>       (the same on every attempt: receivers drop repeats)
    Idempotency-Key: <delivery_id>
    X-Jimu-Timestamp: <unix seconds>
    X-Jimu-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the subscription's secret>

Any 2xx answer delivers it. Otherwise the attempt (its response code or error) is written to the
delivery and the next attempt is queued after the queue's back-off (``runtime.jobs.backoff``: 30 s,
1 min, 2 min ...) until ``WEBHOOK_MAX_ATTEMPTS`` (default 6), after which the delivery is
``failed``. A delivery whose subscription was disabled or deleted meanwhile is ``cancelled``. (The
jobs themselves may run up to three times: that covers a crash of the handler, not the receiver's
answer, which is the delivery's own attempt count.)
"""
from __future__ import annotations

import json
import secrets
import uuid
from typing import Any, Mapping

import sqlalchemy as sa

from engines.errors import JimuError, NotFound
from engines.rule.urls import UnsafeURL, check_url

from . import db, jobs
from .audit import jsonable
from .notify import webhook_signature

EVENTS = ("record.created", "record.updated", "record.deleted")
JOB_KIND = "webhook.deliver"
PENDING, DELIVERED, FAILED, CANCELLED = "pending", "delivered", "failed", "cancelled"


class SubscriptionInvalid(JimuError):
    code = "webhook.invalid"
    status = 422


class SubscriptionNotFound(NotFound):
    code = "webhook.not_found"


# -- the subscriptions ------------------------------------------------------------------------------
def _active(conn: sa.Connection) -> dict[tuple[str, str], list[int]]:
    t = db.webhook_subscriptions
    out: dict[tuple[str, str], list[int]] = {}
    for sid, form, events in conn.execute(sa.select(t.c.id, t.c.form_key, t.c.events)
                                          .where(t.c.is_active.is_(True)).order_by(t.c.id)):
        for event in events or ():
            out.setdefault((form, event), []).append(sid)
    return out


def _changed(conn: sa.Connection) -> None:
    from .store.evolve import bump_revision
    bump_revision(conn)  # every process reads the subscriptions again


def check(catalog, data: Mapping[str, Any], *, partial: bool = False, allow=()) -> dict[str, Any]:
    """A subscription's fields, checked; errors are coded and say the fix."""
    out: dict[str, Any] = {}
    unknown = set(data) - {"name", "form", "events", "url", "secret", "is_active"}
    if unknown:
        raise SubscriptionInvalid(f"unknown fields {', '.join(sorted(unknown))}; a subscription has name, form, "
                                  "events, url, secret and is_active", code="webhook.unknown_field")
    if "form" in data or not partial:
        form = data.get("form")
        if not isinstance(form, str) or form not in catalog:
            raise SubscriptionInvalid(f"form {form!r} is not installed; name a form key", code="webhook.bad_form")
        out["form_key"] = form
    if "events" in data or not partial:
        events = data.get("events")
        if not isinstance(events, list) or not events or any(e not in EVENTS for e in events):
            raise SubscriptionInvalid(f"events is a non-empty list of {', '.join(EVENTS)}", code="webhook.bad_events")
        out["events"] = list(dict.fromkeys(events))
    if "url" in data or not partial:
        try:
            check_url(data.get("url"), allow)
        except UnsafeURL as exc:
            raise SubscriptionInvalid(f"url: {exc.message}", code="webhook.bad_url") from None
        out["url"] = data["url"]
    if "name" in data or not partial:
        name = data.get("name") or (out.get("form_key", "") + " → " + str(out.get("url", ""))[:150])
        if not isinstance(name, str) or len(name) > 200:
            raise SubscriptionInvalid("name is text of at most 200 characters", code="webhook.bad_name")
        out["name"] = name.strip() or "webhook"
    if data.get("secret") is not None:
        if not isinstance(data["secret"], str) or not 16 <= len(data["secret"]) <= 200:
            raise SubscriptionInvalid("secret is 16 to 200 characters (leave it out and one is made for you)",
                                      code="webhook.bad_secret")
        out["secret"] = data["secret"]
    if "is_active" in data:
        if not isinstance(data["is_active"], bool):
            raise SubscriptionInvalid("is_active is true or false", code="webhook.bad_active")
        out["is_active"] = data["is_active"]
    return out


def create(conn: sa.Connection, values: Mapping[str, Any], *, user_id: int | None, now) -> dict[str, Any]:
    row = dict(values, created_by=user_id, created_at=now, updated_at=now)
    row.setdefault("secret", "whsec_" + secrets.token_urlsafe(24))
    row.setdefault("is_active", True)
    sid = conn.execute(sa.insert(db.webhook_subscriptions).values(row)).inserted_primary_key[0]
    _changed(conn)
    return get(conn, sid, secret=True)


def update(conn: sa.Connection, sid: int, values: Mapping[str, Any], *, now) -> dict[str, Any]:
    get(conn, sid)
    t = db.webhook_subscriptions
    conn.execute(sa.update(t).where(t.c.id == sid).values(dict(values, updated_at=now)))
    _changed(conn)
    return get(conn, sid)


def delete(conn: sa.Connection, sid: int) -> None:
    get(conn, sid)
    conn.execute(sa.delete(db.webhook_deliveries).where(db.webhook_deliveries.c.subscription_id == sid))
    conn.execute(sa.delete(db.webhook_subscriptions).where(db.webhook_subscriptions.c.id == sid))
    _changed(conn)


def _out(row: Mapping[str, Any], secret: bool = False) -> dict[str, Any]:
    out = {"id": row["id"], "name": row["name"], "form": row["form_key"], "events": list(row["events"] or ()),
           "url": row["url"], "is_active": bool(row["is_active"]), "created_by": row["created_by"],
           "created_at": row["created_at"], "updated_at": row["updated_at"]}
    if secret:  # shown when it is made; afterwards only its first characters
        out["secret"] = row["secret"]
    else:
        out["secret_hint"] = row["secret"][:10] + "…"
    return out


def get(conn: sa.Connection, sid: int, *, secret: bool = False) -> dict[str, Any]:
    row = conn.execute(sa.select(db.webhook_subscriptions).where(db.webhook_subscriptions.c.id == sid)).mappings().first()
    if row is None:
        raise SubscriptionNotFound(f"webhook subscription {sid} does not exist", id=sid)
    return _out(row, secret)


def listing(conn: sa.Connection, forms: list[str] | None = None) -> list[dict[str, Any]]:
    """Every subscription (``forms``: of those forms only), newest first, with its delivery counts."""
    t, d = db.webhook_subscriptions, db.webhook_deliveries
    q = sa.select(t).order_by(t.c.id.desc())
    if forms is not None:
        q = q.where(t.c.form_key.in_(forms))
    subs = [_out(r) for r in conn.execute(q).mappings()]
    if subs:
        counts = conn.execute(sa.select(d.c.subscription_id, d.c.status, sa.func.count())
                              .where(d.c.subscription_id.in_([s["id"] for s in subs]))
                              .group_by(d.c.subscription_id, d.c.status)).all()
        for s in subs:
            s["deliveries"] = {status: n for sid, status, n in counts if sid == s["id"]}
    return subs


def deliveries(conn: sa.Connection, sid: int, *, limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    """The delivery log of a subscription, newest first."""
    d = db.webhook_deliveries
    total = conn.execute(sa.select(sa.func.count()).where(d.c.subscription_id == sid)).scalar_one()
    rows = conn.execute(sa.select(d.c.id, d.c.delivery_id, d.c.event, d.c.form_key, d.c.record_id, d.c.status,
                                  d.c.attempts, d.c.response_code, d.c.last_error, d.c.created_at,
                                  d.c.last_attempt_at)
                        .where(d.c.subscription_id == sid).order_by(d.c.id.desc()).limit(limit).offset(offset))
    return [dict(r._mapping) for r in rows], total


# -- events in -------------------------------------------------------------------------------------
class WebhookListener:
    """The container's listener: a delivery and a job per subscription of the form and event."""

    def __init__(self, jimu):
        self.jimu = jimu

    def wants(self, records, event: str, ft) -> bool:
        return bool(self._subscriptions(records, event, ft))

    def _subscriptions(self, records, event: str, ft):
        return self.jimu.catalog.compiled("webhook_subscriptions", records.conn, _active).get((ft.key, event))

    def __call__(self, records, event: str, ft, after, before) -> None:
        subs = self._subscriptions(records, event, ft)
        if not subs:
            return
        record = after if after is not None else before
        fields = {k: record.get(k) for k in ("id", "row_version", "created_at", "updated_at", *ft.spec.field_keys)
                  if k in record}
        changed = None
        if after is not None and before is not None:  # an update: which fields it changed
            changed = [k for k in ft.spec.field_keys if k in after and after.get(k) != before.get(k)]
        for sid in subs:
            delivery = uuid.uuid4().hex
            body = jsonable({"delivery_id": delivery, "event": event, "form": ft.key, "record_id": record.get("id"),
                             "occurred_at": records.now, "actor_id": records.principal.user_id,
                             "record": fields, **({"changed": changed} if changed is not None else {})})
            did = records.conn.execute(sa.insert(db.webhook_deliveries).values(
                subscription_id=sid, delivery_id=delivery, event=event, form_key=ft.key,
                record_id=record.get("id"), payload=body, status=PENDING, attempts=0,
                created_at=records.now)).inserted_primary_key[0]
            jobs.enqueue(records.conn, JOB_KIND, {"delivery": did}, run_at=records.now, key=f"webhook:{delivery}:1",
                         now=records.now, max_attempts=3)


# -- deliveries out --------------------------------------------------------------------------------
def deliver_job(jimu, conn: sa.Connection, job) -> None:
    """One attempt; the next is queued (with back-off) here rather than by failing the job, so the
    attempt's outcome is kept in the delivery log in this same transaction."""
    d, t = db.webhook_deliveries, db.webhook_subscriptions
    row = conn.execute(sa.select(d, t.c.url, t.c.secret, t.c.is_active)
                       .join(t, t.c.id == d.c.subscription_id).where(d.c.id == job.payload["delivery"])
                       ).mappings().first()
    now = jimu.now()
    if row is None:
        return  # the subscription was deleted, and its log with it
    if row["status"] != PENDING:
        return
    if not row["is_active"]:
        conn.execute(sa.update(d).where(d.c.id == row["id"]).values(status=CANCELLED))
        return
    key = f"webhook:{row['delivery_id']}"
    attempt = row["attempts"] + 1
    code, error = None, None
    if jobs.delivered(conn, key):
        code = row["response_code"]  # acknowledged by an attempt whose completion was lost
    else:
        body = json.dumps(row["payload"], ensure_ascii=False, separators=(",", ":")).encode()
        ts = str(int(now.timestamp()))
        headers = {"Content-Type": "application/json; charset=utf-8", "X-Jimu-Event": row["event"],
                   "X-Jimu-Delivery": row["delivery_id"], "Idempotency-Key": row["delivery_id"],
                   "X-Jimu-Timestamp": ts, "X-Jimu-Signature": webhook_signature(row["secret"], ts, body)}
        try:
            resp = jimu.services.notifier.http("POST", row["url"], body=body, headers=headers,
                                               timeout=float(jimu.config.get("WEBHOOK_TIMEOUT", 10)))
            code = resp.status
            if not resp.ok:
                error = f"HTTP {resp.status}"
        except (OSError, JimuError) as exc:  # refused, timed out, unsafe address ...
            error = f"{type(exc).__name__}: {exc}"[:500]
        if error is None:
            jobs.mark_delivered(jimu, conn, key, "webhook")
    values: dict[str, Any] = {"attempts": attempt, "response_code": code, "last_error": error,
                              "last_attempt_at": now}
    if error is None:
        values["status"] = DELIVERED
    elif attempt >= int(jimu.config.get("WEBHOOK_MAX_ATTEMPTS") or 6):
        values["status"] = FAILED
    else:
        jobs.enqueue(conn, JOB_KIND, {"delivery": row["id"]}, run_at=now + jobs.backoff(attempt),
                     key=f"webhook:{row['delivery_id']}:{attempt + 1}", now=now, max_attempts=3)
    conn.execute(sa.update(d).where(d.c.id == row["id"]).values(values))


JOB_HANDLERS = {JOB_KIND: deliver_job}
