"""SMTP delivery. Settings: ``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_FROM``, ``SMTP_USER``,
``SMTP_PASSWORD``, ``SMTP_STARTTLS``, ``SMTP_TIMEOUT``. Subjects and bodies are UTF-8 (Chinese
subjects are RFC 2047 encoded by the e-mail package); the Message-ID carries the idempotency
key so a re-sent message is recognisable as the same one."""
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


def send_mail(config: Mapping, to: Sequence[str], subject: str, body: str, *, key: str,
              html: str | None = None) -> None:
    host = config.get("SMTP_HOST")
    if not host:
        raise MailNotConfigured("set SMTP_HOST (and SMTP_PORT, SMTP_FROM) to send e-mail")
    msg = EmailMessage()
    msg["From"] = config.get("SMTP_FROM") or "jimu@localhost"
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject.replace("\r", " ").replace("\n", " ")
    msg["Date"] = formatdate(localtime=False)
    domain = (config.get("SMTP_FROM") or "jimu@localhost").rpartition("@")[2] or "localhost"
    ascii_key = quote(key, safe=":.+-_@/")  # keys may hold Chinese form or rule keys; SMTP headers are ASCII
    # the same on every attempt of one job, so a receiver (and a test) recognises a re-sent message
    msg["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}.jimu@{domain}>"
    msg["X-Jimu-Idempotency-Key"] = ascii_key
    msg.set_content(body)
    if html:
        msg.add_alternative(html, subtype="html")
    with smtplib.SMTP(host, int(config.get("SMTP_PORT") or 25), timeout=float(config.get("SMTP_TIMEOUT") or 10)) as s:
        if config.get("SMTP_STARTTLS"):
            s.starttls()
        if config.get("SMTP_USER"):
            s.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
        s.send_message(msg)
