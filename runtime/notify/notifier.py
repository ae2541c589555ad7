"""The container's ``notifier``: what leaves the process (e-mail, HTTP, SMS), with this deployment's
settings bound once — SMTP settings and the outbound allowlist are not looked up by each caller."""
from __future__ import annotations

from typing import Mapping, Sequence

from engines.rule.urls import parse_allowlist

from .http import Response, request
from .mail import send_mail
from .workmsg import VENDORS, TokenCache


class Notifier:
    def __init__(self, config: Mapping):
        self.config = config
        #: WeCom and DingTalk access tokens, cached per app for this process
        self.tokens = TokenCache()

    def workmsg(self, vendor: str):
        """The work-message client of ``vendor`` (``wecom``, ``dingtalk``: ``runtime.notify.workmsg``)."""
        return VENDORS[vendor](self.config, self.http, self.tokens)

    @property
    def allowlist(self) -> tuple[str, ...]:
        """Hosts that webhooks and HTTP calls may reach although private (``OUTBOUND_ALLOWLIST``)."""
        return parse_allowlist(self.config.get("OUTBOUND_ALLOWLIST"))

    def mail(self, to: Sequence[str], subject: str, body: str, *, key: str, html: str | None = None,
             cc: Sequence[str] = (), headers: Mapping[str, str] | None = None,
             attachments: Sequence[tuple[str, str, bytes]] = ()) -> str:
        """Send one message (``runtime.notify.mail.send_mail``); returns its Message-ID."""
        return send_mail(self.config, to, subject, body, key=key, html=html, cc=cc, headers=headers,
                         attachments=attachments)

    def http(self, method: str, url: str, **kw) -> Response:
        return request(method, url, allow=self.allowlist, **kw)

    def sms_provider(self, now):
        """The SMS vendor this deployment sends through (``SMS_PROVIDER``, ``runtime.notify.sms``)."""
        from .sms import provider_for
        return provider_for(self.config, self.sms_http, now)

    def sms_http(self, method: str, url: str, **kw) -> Response:
        """A call to the SMS vendor's API (``runtime.notify.sms``), bounded by ``SMS_TIMEOUT`` (10 s)."""
        return request(method, url, allow=self.allowlist, timeout=float(self.config.get("SMS_TIMEOUT") or 10), **kw)
