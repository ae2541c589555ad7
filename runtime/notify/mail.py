"""SMTP delivery. Settings: ``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_FROM``, ``SMTP_USER``,
``SMTP_PASSWORD``, ``SMTP_STARTTLS``, ``SMTP_TIMEOUT``. Subjects and bodies are UTF-8 (Chinese
subjects are RFC 2047 encoded by the e-mail package); the Message-ID is derived from the
idempotency key, so every attempt of one job sends the same Message-ID and a re-sent message is
recognisable as the same one. ``headers`` may add the threading headers (``In-Reply-To``,
``References``) and ``Auto-Submitted``; ``cc`` addresses are named in the ``Cc`` header and receive
the message; ``attachments`` are ``(name, content type, bytes)``."""
from __future__ import annotations

import hashlib
import smtplib
from email.message import EmailMessage
from email.utils import formatdate
from typing import Mapping, Sequence
from urllib.parse import quote

from engines.errors import JimuError


class MailNotConfigured(JimuError):
    code = "mail.not_configured"


#: headers a caller may set on an outgoing message
EXTRA_HEADERS = ("In-Reply-To", "References", "Auto-Submitted")


def message_id(config: Mapping, key: str) -> str:
    """The Message-ID of the message sent under idempotency ``key`` (the same on every attempt)."""
    domain = (config.get("SMTP_FROM") or "jimu@localhost").rpartition("@")[2].strip(" >") or "localhost"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}.jimu@{domain}>"


def _clean(value: str) -> str:
    return str(value).replace("\r", " ").replace("\n", " ")


def send_mail(config: Mapping, to: Sequence[str], subject: str, body: str, *, key: str,
              html: str | None = None, cc: Sequence[str] = (), headers: Mapping[str, str] | None = None,
              attachments: Sequence[tuple[str, str, bytes]] = ()) -> str:
    """Send one message; returns its Message-ID."""
    host = config.get("SMTP_HOST")
    if not host:
        raise MailNotConfigured("set SMTP_HOST (and SMTP_PORT, SMTP_FROM) to send e-mail")
    msg = EmailMessage()
    msg["From"] = config.get("SMTP_FROM") or "jimu@localhost"
    if to:
        msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = _clean(subject)
    msg["Date"] = formatdate(localtime=False)
    ascii_key = quote(key, safe=":.+-_@/")  # keys may hold Chinese form or rule keys; SMTP headers are ASCII
    msg["Message-ID"] = mid = message_id(config, key)
    for name, value in (headers or {}).items():
        if name in EXTRA_HEADERS and value:
            msg[name] = _clean(value)
    msg["X-Jimu-Idempotency-Key"] = ascii_key
    msg.set_content(body)
    if html:
        msg.add_alternative(html, subtype="html")
    for name, ctype, data in attachments:
        maintype, _, subtype = (ctype or "application/octet-stream").partition("/")
        if not subtype or maintype == "multipart":
            maintype, subtype = "application", "octet-stream"
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    with smtplib.SMTP(host, int(config.get("SMTP_PORT") or 25), timeout=float(config.get("SMTP_TIMEOUT") or 10)) as s:
        if config.get("SMTP_STARTTLS"):
            s.starttls()
        if config.get("SMTP_USER"):
            s.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
        s.send_message(msg, to_addrs=list(to) + [a for a in cc if a not in to])
    return mid
