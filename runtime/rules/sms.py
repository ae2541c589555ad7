"""The SMS channel's outbox job and delivery records.

A rule's SMS (``notify`` with ``"channel": "sms"``, or ``send_survey`` by SMS) is planned in the write:
the job holds the vendor template's code, the templates of its variables and the variables. Here,
after the write committed, the variables are rendered as people outside Jimu may read the record
(``policy.outsider_hidden``: an SMS leaves Jimu), the numbers are read from the recipients
(``phones``, ``phone_fields``) and each number gets one message through the configured provider
(``runtime.notify.sms``).

Each message has a delivery record (``jimu_sms_messages``, keyed by the job's idempotency key and the
number) holding the vendor's answer: ``sent`` (accepted, with the vendor's id: Aliyun BizId, Tencent
SerialNo), ``failed`` (refused: a bad number, an unapproved template; the job fails at once with the
vendor's code), ``throttled`` (the vendor's rate limit: the job retries with back-off and sends only
the numbers not yet accepted). The vendor's receipt later sets ``delivered`` or ``undelivered``
(``receive_receipts``, the API's ``POST /api/v1/sms/receipts/<provider>/<token>``).
"""
from __future__ import annotations

from typing import Any, Mapping

import sqlalchemy as sa

from engines.errors import JimuError

from .. import db, jobs
from ..auth import policy
from ..notify.sms import normalize
from . import messages


class SmsThrottled(JimuError):
    """The vendor asked to slow down: the job retries with back-off."""

    code = "sms.throttled"


class SmsRefused(JimuError):
    """The vendor refused a message for a reason a retry does not change."""

    code = "sms.refused"
    permanent = True


def phones(spec: Mapping[str, Any], values: Mapping[str, Any]) -> list[str]:
    """The distinct numbers of a recipient list, normalised (``+86…``); what is no number is left out."""
    raw: list[Any] = list(spec.get("phones") or [])
    for f in spec.get("phone_fields") or []:
        v = values.get(f)
        for item in v if isinstance(v, list) else [v]:
            raw.extend(item.replace(";", ",").split(",") if isinstance(item, str) else [])
    out = []
    for p in raw:
        n = normalize(p)
        if n and n not in out:
            out.append(n)
    return out


def _links(jimu, p) -> dict[str, str]:
    if not p.get("page"):
        return {}
    from .survey import status_link, survey_link
    status = status_link(jimu, p["form"], p["record_id"])
    survey = status if p.get("page") == "status" else survey_link(jimu, p["survey_form"], p["form"], p["record_id"])
    return {"status_link": status, "survey_link": survey}


def send_sms_job(jimu, conn, job) -> None:
    p = job.payload
    settings = p.get("settings") or {}
    ft = messages.form_of(jimu, p)
    values = messages.variables(ft, p)
    hidden = policy.outsider_hidden(conn, ft) if ft is not None else frozenset()
    numbers = phones(p.get("recipients") or {}, {k: v for k, v in values.items() if k not in hidden})
    if not numbers:
        raise messages.Undeliverable("the SMS has no recipient with a mobile number", code="rule.no_recipients",
                                     rule=p.get("rule"))
    rendered = messages.render(jimu, conn, p, ft, values, hidden, **_links(jimu, p))
    params = [(name, rendered.get(f"param.{name}", "")) for name in settings.get("params") or []]
    provider = jimu.services.notifier.sms_provider(jimu.now)
    throttled, refused, kept = [], [], []
    try:
        for phone in numbers:
            key = f"{job.idempotency_key}:{phone}"
            if jobs.delivered(conn, key):
                continue  # accepted on an earlier attempt
            result = provider.send(phone, settings["sms_template"], params, sign_name=settings.get("sign_name"),
                                   key=key)
            write = _writer(jimu.now(), key, {
                "provider": provider.name, "phone": phone, "template": str(settings["sms_template"])[:100],
                "params": dict(params), "status": result.status, "provider_id": result.provider_id,
                "code": (result.code or "")[:100] or None, "message": (result.message or "")[:500] or None,
                "rule_key": p.get("rule"), "form_key": p.get("form"), "record_id": p.get("record_id")})
            if conn.dialect.name == "sqlite":
                write(conn)  # the job's transaction is SQLite's one writer; kept if the job fails (below)
                kept.append(write)
            else:
                with jimu.engine.begin() as own:  # committed at once, as ``jobs.mark_delivered``
                    write(own)
            if result.status == "throttled":
                throttled.append(f"{phone}: {result.code}")
            elif result.status == "failed":
                refused.append(f"{phone}: {result.code} {result.message or ''}".strip())
        if throttled:
            raise SmsThrottled(f"{provider.name} throttled the SMS ({'; '.join(throttled)}); retrying later")
        if refused:
            raise SmsRefused(f"{provider.name} refused the SMS ({'; '.join(refused)})")
    except Exception as exc:
        exc.kept_writes = kept  # the delivery records survive the job's rollback (``runtime.jobs.run_job``)
        raise


def _writer(now, key: str, row: dict):
    """Write (or update, on a later attempt) the delivery record of ``key``; an accepted message is also
    marked delivered for the outbox (``jobs.delivered``) so that a retry never sends it again."""

    def write(c):
        t = db.sms_messages
        found = c.execute(sa.select(t.c.id, t.c.attempts).where(t.c.key == key)).first()
        if found is None:
            c.execute(sa.insert(t).values(key=key, attempts=1, created_at=now, updated_at=now, **row))
        else:
            c.execute(sa.update(t).where(t.c.id == found.id).values(attempts=found.attempts + 1, updated_at=now,
                                                                    **row))
        if row["status"] == "sent":
            c.execute(sa.insert(db.deliveries).values(key=key, channel="sms", at=now))

    return write


#: receipt fields per provider: (list item → provider id, number, delivered?, code, message)
def _aliyun_receipt(item: Mapping[str, Any]):
    return (item.get("biz_id"), item.get("phone_number"), item.get("success") is True,
            item.get("err_code"), item.get("err_msg"))


def _tencent_receipt(item: Mapping[str, Any]):
    mobile, nation = item.get("mobile"), item.get("nationcode")
    phone = f"+{nation}{mobile}" if nation and mobile else mobile
    return (item.get("sid"), phone, item.get("report_status") == "SUCCESS",
            item.get("errmsg"), item.get("description"))


RECEIPTS = {"aliyun": _aliyun_receipt, "tencent": _tencent_receipt}
#: what each vendor expects back from a receipt push
RECEIPT_ANSWERS = {"aliyun": {"code": 0, "msg": "成功"}, "tencent": {"result": 0, "errmsg": "OK"}}


def receive_receipts(jimu, conn, provider: str, items: list) -> int:
    """Apply a vendor's delivery receipts (a JSON array: Aliyun SmsReport, Tencent's status callback) to
    the delivery records; answers how many records they matched. A receipt changes the record of its
    vendor id only when it names that record's number too: the URL's token is the only proof of the
    sender, and a receipt about another number (forged with a leaked URL, or misrouted) changes nothing."""
    read = RECEIPTS[provider]
    matched = 0
    for item in items:
        if not isinstance(item, Mapping):
            continue
        pid, phone, ok, code, message = read(item)
        if not pid:
            continue
        matched += _apply(jimu, conn, provider, pid, ok, code, message, phone=_digits(phone))
    return matched


def _digits(phone: Any) -> str:
    """A number as its digits only (``+86 135…`` → ``86135…``)."""
    return "".join(c for c in str(phone or "") if c.isdigit())


def pull_receipts(jimu, conn, limit: int = 100) -> int:
    """Ask the configured vendor for the receipts of messages it accepted and that have none yet
    (``SmsProvider.pull``), and apply them; answers how many records they changed."""
    provider = jimu.services.notifier.sms_provider(jimu.now)
    t = db.sms_messages
    sent = [dict(r) for r in conn.execute(sa.select(t).where(
        t.c.provider == provider.name, t.c.status == "sent", t.c.provider_id.is_not(None))
        .order_by(t.c.id).limit(limit)).mappings()]
    if not sent:
        return 0
    changed = 0
    for pid, ok, code, message in provider.pull(sent):
        changed += _apply(jimu, conn, provider.name, pid, ok, code, message)
    return changed


def _apply(jimu, conn, provider: str, pid, ok: bool, code, message, phone: str | None = None) -> int:
    """Set the receipt on the records of vendor id ``pid``; with ``phone`` (a pushed receipt's digits) only
    on those of that number (a mainland number may come without its 86, as it was sent)."""
    t = db.sms_messages
    where = [t.c.provider == provider, t.c.provider_id == str(pid)]
    if phone is not None:
        ids = [r.id for r in conn.execute(sa.select(t.c.id, t.c.phone).where(*where))
               if phone and _digits(r.phone) in (phone, "86" + phone)]
        if not ids:
            return 0
        where.append(t.c.id.in_(ids))
    return conn.execute(sa.update(t).where(*where).values(
        status="delivered" if ok else "undelivered", code=str(code or "")[:100] or None,
        message=str(message or "")[:500] or None, receipt_at=jimu.now(), updated_at=jimu.now())).rowcount


def receipt_token(jimu, provider: str) -> str:
    """The secret path part of a provider's receipt URL (set in the vendor's console): an HMAC of the
    provider's name under ``SECRET_KEY``, or the ``SMS_RECEIPT_TOKEN`` setting."""
    import hashlib
    import hmac
    if jimu.config.get("SMS_RECEIPT_TOKEN"):
        return str(jimu.config["SMS_RECEIPT_TOKEN"])
    return hmac.new(str(jimu.config["SECRET_KEY"]).encode(), f"sms-receipt:{provider}".encode(),
                    hashlib.sha256).hexdigest()[:40]


def delivery_records(conn, form: str | None = None, record_id: Any = None, limit: int = 200) -> list[dict]:
    t = db.sms_messages
    q = sa.select(t).order_by(t.c.id.desc()).limit(limit)
    if form is not None:
        q = q.where(t.c.form_key == form)
    if record_id is not None:
        q = q.where(t.c.record_id == record_id)
    return [dict(r) for r in conn.execute(q).mappings()]
