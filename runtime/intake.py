"""Channels in: e-mail and JSON webhooks become records, as a form's ``intake`` block says.

``intake.email`` maps parts of a message (``subject``, ``text``, ``from_address``,
``from_name``, ``to``, ``attachments``) to fields; when the subject carries the
key of an existing record (``reply.match``, a regex, found in ``reply.key_field``),
the message is added to it as a record of ``reply.form`` linked through
``reply.link_field`` instead of opening a new one. ``intake.webhook`` maps JSON
pointers of a posted document to fields. Both write through ``Records``, so
validation, rules and audit apply as for any other write.
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

from .auth.principal import ANONYMOUS, Principal
from .records import Records

#: who creates a record from a webhook signed with the hook's secret
HOOK = Principal(user_id=None, username="webhook", display_name="Webhook")

MAX_MESSAGE = 25 * 1024 * 1024


class IntakeError(JimuError):
    code = "intake.error"


def parse_message(raw: bytes) -> dict[str, Any]:
    """The parts of an e-mail an intake can map: decoded headers, plain text, attachments."""
    if len(raw) > MAX_MESSAGE:
        raise IntakeError(f"message larger than {MAX_MESSAGE // 1024 // 1024} MB", code="intake.too_large")
    msg: EmailMessage = email.message_from_bytes(raw, policy=email.policy.default)
    name, address = parseaddr(str(msg.get("From", "")))
    body = msg.get_body(preferencelist=("plain", "html"))
    text = ""
    if body is not None:
        text = body.get_content()
        if body.get_content_type() == "text/html":
            text = nh3.clean(text, tags=set()).strip()
    attachments = []
    for part in msg.iter_attachments():
        data = part.get_payload(decode=True) or b""
        attachments.append({"name": part.get_filename() or "attachment", "type": part.get_content_type(),
                            "data": data})
    return {"subject": str(msg.get("Subject", "")).strip(), "text": text.strip(), "from_address": address.lower(),
            "from_name": name or address.split("@")[0], "to": [a.lower() for _, a in getaddresses(msg.get_all("To", []))],
            "message_id": str(msg.get("Message-ID", "")), "attachments": attachments}


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
        elif parts.get(part) not in (None, ""):
            out[field] = parts[part]
    return out


def deliver_email(jimu, conn, parts: Mapping[str, Any]) -> tuple[str, int, str]:
    """Create the record (or the reply) for one parsed message; returns (form, id, "new"|"reply")."""
    forms = _email_forms(jimu.catalog, parts.get("to", []))
    if not forms:
        raise IntakeError("no form takes e-mail for these recipients", code="intake.no_form")
    ft = forms[0]
    cfg = ft.spec.definition["intake"]["email"]
    records = Records(jimu, conn, ANONYMOUS, source="email", check_permissions=False)

    def stored_files():
        return [jimu.services.files.save(io.BytesIO(a["data"]), a["name"], a["type"], conn=conn, now=jimu.now())
                for a in parts.get("attachments", [])]

    reply = cfg.get("reply")
    if reply:
        found = re.search(reply["match"], parts.get("subject", ""))
        if found:
            key_col = ft.columns[reply["key_field"]]
            rid = conn.execute(sa.select(ft.table.c.id).where(key_col == found.group(0)).limit(1)).scalar()
            if rid is not None:
                values = _values(reply.get("fields"), parts, reply.get("defaults"), stored_files())
                values[reply["link_field"]] = rid
                made = records.create(reply["form"], values)
                return reply["form"], made["id"], "reply"
    values = _values(cfg.get("fields"), parts, cfg.get("defaults"), stored_files())
    made = records.create(ft.key, values)
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
            parts = parse_message(envelope.original_content or envelope.content)
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
