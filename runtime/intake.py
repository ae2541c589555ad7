"""Channels in: e-mail and JSON webhooks become records, as a form's ``intake`` block says.

``intake.email`` maps parts of a message (``subject``, ``text``, ``from_address``,
``from_name``, ``to``, ``cc``, ``message_id``, ``attachments``) to fields. A message is
added to an existing record as a record of ``reply.form`` linked through
``reply.link_field`` (instead of opening a new one) when its ``In-Reply-To`` or
``References`` name a message of that record's thread (``runtime.mailthread``), or else
when its subject carries the record's key (``reply.match``, a regex, found in
``reply.key_field``). ``intake.webhook`` maps JSON pointers of a posted document to
fields. Both write through ``Records``, so validation, rules and audit apply as for any
other write. Messages arrive over SMTP (``jimu mail-intake``) or are fetched from a
mailbox over IMAP (``intake.email.imap``, ``runtime.mailbox``).

Automatic mail is never answered and never becomes a record (RFC 3834): a bounce (a
``multipart/report; report-type=delivery-status``, a message from MAILER-DAEMON or
postmaster, or one with the null sender ``<>``) and an automatic reply (``Auto-Submitted``
other than ``no``, ``Precedence: bulk/junk/list``, ``X-Autoreply``, ``X-Autorespond``, or a
message Jimu sent itself coming back) are written to the audit log instead
(``mail.bounced``, ``mail.automatic``), on the record they are about when their headers
name one, so administrators and the app's owners see them in the audit viewer; with
``intake.email.automatic`` a message about a known record is also kept as a note on it (a record of
the named form, linked back), so the people working the record see that their mail did not arrive.
"""
from __future__ import annotations

import email
import email.policy
import io
import re
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from typing import Any, Mapping

import nh3
import sqlalchemy as sa

from engines.errors import JimuError

from . import mailthread
from .auth.principal import ANONYMOUS, Principal
from .records import Records

#: who creates a record from a webhook signed with the hook's secret
HOOK = Principal(user_id=None, username="webhook", display_name="Webhook")

MAX_MESSAGE = 25 * 1024 * 1024


class IntakeError(JimuError):
    code = "intake.error"


BOUNCE, AUTOMATIC = "bounce", "automatic"
_DAEMONS = ("mailer-daemon", "postmaster")


def automatic(msg: EmailMessage, sender: str | None = None) -> tuple[str, str] | None:
    """(``"bounce"`` or ``"automatic"``, the reason) for mail that must not be answered, else None.

    ``sender`` is the envelope sender (SMTP ``MAIL FROM``; for a fetched message its
    ``Return-Path``): ``""`` is the null sender of bounces and automatic replies."""
    ctype = msg.get_content_type()
    if ctype == "multipart/report" and (msg.get_param("report-type") or "").lower() == "delivery-status":
        return BOUNCE, "multipart/report; report-type=delivery-status"
    _, address = parseaddr(str(msg.get("From", "")))
    if address.split("@")[0].lower() in _DAEMONS:
        return BOUNCE, f"From: {address}"
    auto = str(msg.get("Auto-Submitted", "")).strip().lower()
    if auto and auto.split(";")[0].strip() != "no":
        return AUTOMATIC, f"Auto-Submitted: {auto}"
    for name in ("X-Autoreply", "X-Autorespond"):
        if msg.get(name) is not None:
            return AUTOMATIC, name
    precedence = str(msg.get("Precedence", "")).strip().lower()
    if precedence in ("bulk", "junk", "list"):
        return AUTOMATIC, f"Precedence: {precedence}"
    if ctype == "multipart/report":
        return AUTOMATIC, f"multipart/report; report-type={msg.get_param('report-type')}"
    if msg.get("X-Jimu-Idempotency-Key") is not None:
        return AUTOMATIC, "sent by Jimu (X-Jimu-Idempotency-Key)"
    if sender is not None and sender.strip() in ("", "<>"):
        return BOUNCE, "null sender <>"
    return None


def _bounce_details(msg: EmailMessage) -> dict[str, Any]:
    """What a delivery-status report says: the failed recipients, their status and diagnostic, and
    the Message-ID of the message that bounced (from its returned headers)."""
    failed, original = [], ""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            for block in part.get_payload() or []:
                if not hasattr(block, "get"):
                    continue
                recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
                if recipient:
                    failed.append({"recipient": recipient.split(";")[-1].strip().lower(),
                                   "action": str(block.get("Action", "")), "status": str(block.get("Status", "")),
                                   "diagnostic": str(block.get("Diagnostic-Code", ""))[:300]})
        elif ctype in ("message/rfc822", "text/rfc822-headers") and not original:
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                original = str(inner[0].get("Message-ID", ""))
            elif isinstance(inner, str):
                found = re.search(r"^Message-ID:\s*(<[^>]+>)", inner, re.I | re.M)
                original = found.group(1) if found else ""
    return {"failed": failed, "original_message_id": original.strip()}


def parse_message(raw: bytes, sender: str | None = None) -> dict[str, Any]:
    """The parts of an e-mail an intake can map: decoded headers, plain text, attachments; and
    ``automatic`` (see ``automatic``), the threading headers and, for a bounce, what bounced."""
    if len(raw) > MAX_MESSAGE:
        raise IntakeError(f"message larger than {MAX_MESSAGE // 1024 // 1024} MB", code="intake.too_large")
    msg: EmailMessage = email.message_from_bytes(raw, policy=email.policy.default)
    name, address = parseaddr(str(msg.get("From", "")))
    if sender is None and msg.get("Return-Path") is not None:
        sender = str(msg.get("Return-Path")).strip()
    kind = automatic(msg, sender)
    body = msg.get_body(preferencelist=("plain", "html"))
    text = ""
    if body is not None:
        text = body.get_content()
        if body.get_content_type() == "text/html":
            text = nh3.clean(text, tags=set()).strip()
    attachments = []
    if kind is None:
        for part in msg.iter_attachments():
            data = part.get_payload(decode=True) or b""
            attachments.append({"name": part.get_filename() or "attachment", "type": part.get_content_type(),
                                "data": data})
    refs = mailthread.message_ids(msg.get("References"))
    replying = [i for i in mailthread.message_ids(msg.get("In-Reply-To")) if i not in refs]
    parts = {"subject": str(msg.get("Subject", "")).strip(), "text": text.strip(), "from_address": address.lower(),
             "from_name": name or address.split("@")[0],
             "to": [a.lower() for _, a in getaddresses(msg.get_all("To", [])) if a],
             "cc": [a.lower() for _, a in getaddresses(msg.get_all("Cc", [])) if a],
             "message_id": str(msg.get("Message-ID", "")).strip(), "attachments": attachments,
             # newest first: the message replied to, then the thread from its latest message back
             "references": replying + refs[::-1], "automatic": kind}
    if kind and kind[0] == BOUNCE:
        parts["bounce"] = _bounce_details(msg)
    return parts


def _email_forms(catalog, recipients: list[str]):
    """Forms with an e-mail intake, those whose address is among the recipients first."""
    forms = [ft for ft in catalog if (ft.spec.definition.get("intake") or {}).get("email")]
    addressed = [ft for ft in forms if ft.spec.definition["intake"]["email"].get("address", "").lower() in recipients]
    return addressed or [ft for ft in forms if not ft.spec.definition["intake"]["email"].get("address")]


def _values(mapping: Mapping[str, str], parts: Mapping[str, Any], defaults: Mapping[str, Any], files) -> dict:
    out = dict(defaults or {})
    for field, part in (mapping or {}).items():
        if part == "attachments":
            out[field] = files
        elif isinstance(parts.get(part), list):  # to, cc: the addresses, comma separated
            if parts[part]:
                out[field] = ", ".join(parts[part])
        elif parts.get(part) not in (None, ""):
            out[field] = parts[part]
    return out


def _log_automatic(jimu, conn, ft, parts: Mapping[str, Any]) -> tuple[str, int | None, str]:
    """Write an automatic message (a bounce, an out-of-office) to the audit log, on the record its
    headers name if there is one (a bounce names the message that bounced); nothing is created and
    nothing answers it."""
    kind, reason = parts["automatic"]
    bounce = parts.get("bounce") or {}
    refs = list(parts.get("references") or [])
    if bounce.get("original_message_id"):
        refs.insert(0, bounce["original_message_id"])
    rid = mailthread.find(conn, ft.key, refs)
    data = {"from": parts.get("from_address"), "subject": parts.get("subject", "")[:300],
            "message_id": parts.get("message_id"), "reason": reason}
    if kind == BOUNCE:
        data["failed"] = bounce.get("failed") or []
    from .audit import record_event
    record_event(conn, "mail.bounced" if kind == BOUNCE else "mail.automatic", at=jimu.now(), form_key=ft.key,
                 record_id=rid, data=data)
    keep = ft.spec.definition["intake"]["email"].get("automatic")
    if keep and rid is not None:
        facts = {**parts, "kind": kind, "reason": reason, "failed": [f["recipient"] for f in data.get("failed", [])]}
        values = _values(keep.get("fields"), facts, keep.get("defaults"), [])
        values[keep["link_field"]] = rid
        Records(jimu, conn, ANONYMOUS, source="email", check_permissions=False).create(keep["form"], values)
    return ft.key, rid, kind


def deliver_email(jimu, conn, parts: Mapping[str, Any], form_key: str | None = None) -> tuple[str, int | None, str]:
    """Create the record (or the reply) for one parsed message; returns (form, id, "new"|"reply"), or
    for automatic mail (form, the record it is about or None, "bounce"|"automatic") and for a message
    already taken (the same Message-ID) (form, its record, "duplicate"). ``form_key``: the form whose
    mailbox the message was fetched from; else the form is chosen by the recipients."""
    forms = [jimu.catalog.form(form_key)] if form_key else \
        _email_forms(jimu.catalog, parts.get("to", []) + parts.get("cc", []))
    if not forms:
        raise IntakeError("no form takes e-mail for these recipients", code="intake.no_form")
    ft = forms[0]
    if parts.get("automatic"):
        return _log_automatic(jimu, conn, ft, parts)
    seen = mailthread.known(conn, parts.get("message_id"))
    if seen is not None:
        return seen[1], seen[2], "duplicate"
    cfg = ft.spec.definition["intake"]["email"]
    records = Records(jimu, conn, ANONYMOUS, source="email", check_permissions=False)

    def stored_files():
        return [jimu.services.files.save(io.BytesIO(a["data"]), a["name"], a["type"], conn=conn, now=jimu.now())
                for a in parts.get("attachments", [])]

    reply = cfg.get("reply")
    if reply:
        rid = mailthread.find(conn, ft.key, parts.get("references") or [])
        found = re.search(reply["match"], parts.get("subject", "")) if rid is None else None
        if found:
            key_col = ft.columns[reply["key_field"]]
            rid = conn.execute(sa.select(ft.table.c.id).where(key_col == found.group(0)).limit(1)).scalar()
        if rid is not None:
            values = _values(reply.get("fields"), parts, reply.get("defaults"), stored_files())
            values[reply["link_field"]] = rid
            made = records.create(reply["form"], values)
            mailthread.note(conn, parts.get("message_id"), "in", ft.key, rid, jimu.now())
            return reply["form"], made["id"], "reply"
    values = _values(cfg.get("fields"), parts, cfg.get("defaults"), stored_files())
    made = records.create(ft.key, values)
    mailthread.note(conn, parts.get("message_id"), "in", ft.key, made["id"], jimu.now())
    return ft.key, made["id"], "new"


_POINTER_ESCAPES = (("~1", "/"), ("~0", "~"))


def resolve_pointer(doc: Any, pointer: str) -> Any:
    """RFC 6901 JSON pointer lookup; a missing part gives None."""
    if pointer in ("", "/"):
        return doc
    cur = doc
    for token in pointer.lstrip("/").split("/"):
        for a, b in _POINTER_ESCAPES:
            token = token.replace(a, b)
        if isinstance(cur, Mapping):
            cur = cur.get(token)
        elif isinstance(cur, list) and token.isdigit() and int(token) < len(cur):
            cur = cur[int(token)]
        else:
            return None
    return cur


def webhook_config(jimu, form_key: str) -> Mapping[str, Any]:
    cfg = (jimu.catalog.form(form_key).spec.definition.get("intake") or {}).get("webhook")
    if not cfg:
        from engines.errors import NotFound
        raise NotFound(f"form {form_key!r} takes no webhooks; add intake.webhook to its definition",
                       code="intake.no_webhook")
    return cfg


def deliver_webhook(jimu, conn, principal: Principal | None, form_key: str, doc: Any) -> dict:
    """``principal`` None: the sender proved itself with the hook's shared secret, so the record is
    created by the platform (``source="webhook"``) without a user's permissions."""
    cfg = webhook_config(jimu, form_key)
    values = dict(cfg.get("defaults") or {})
    for field, pointer in (cfg.get("fields") or {}).items():
        value = resolve_pointer(doc, pointer)
        if value is not None:
            values[field] = value
    if principal is None:
        return jimu.services.records(jimu, conn, HOOK, source="webhook", check_permissions=False).create(
            form_key, values)
    return Records(jimu, conn, principal, source="webhook").create(form_key, values)


class SMTPHandler:
    """aiosmtpd handler: each accepted message becomes a record inside the Flask app."""

    def __init__(self, app):
        self.app = app

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        from .context import current_jimu
        try:
            parts = parse_message(envelope.original_content or envelope.content, sender=envelope.mail_from or "")
            parts["to"] = sorted(set(parts["to"]) | {r.lower() for r in envelope.rcpt_tos})
            with self.app.app_context():
                jimu = current_jimu()
                with jimu.begin() as conn:
                    deliver_email(jimu, conn, parts)
        except JimuError as exc:
            self.app.logger.warning("mail intake refused a message: %s", exc.message)
            return f"550 {exc.code}: {exc.message}"[:500]
        except Exception:  # noqa: BLE001 - a broken message must not stop the intake
            self.app.logger.exception("mail intake failed")
            return "451 temporary failure, try again later"
        return "250 Message accepted"


def start_smtp(app, host: str = "127.0.0.1", port: int = 2525):
    """Start the SMTP intake in a background thread; returns the aiosmtpd Controller."""
    from aiosmtpd.controller import Controller
    controller = Controller(SMTPHandler(app), hostname=host, port=port, data_size_limit=MAX_MESSAGE)
    controller.start()
    return controller
