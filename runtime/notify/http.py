"""A small HTTP client for outbound calls that cannot be pointed at the internal network.

Every hop (the URL and each redirect) is checked twice: its spelling
(``engines.rule.urls.check_url``) and its resolved addresses
(``resolve_checked``); the socket then connects to the checked address while
TLS and the ``Host`` header keep the real name. Redirects are followed by hand,
at most ``MAX_REDIRECTS``, so a redirect into a private range is refused.
Answers are read up to ``MAX_BODY`` bytes.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any, Iterable, Mapping
from urllib.parse import quote, urljoin, urlsplit

from engines.rule.urls import UnsafeURL, check_url

from .ssrf import resolve_checked

MAX_REDIRECTS = 3
MAX_BODY = 1 << 20
USER_AGENT = "Jimu-Rules/1.0"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    url: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


class _Pinned(http.client.HTTPConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedTLS(http.client.HTTPSConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def request(method: str, url: str, *, body: bytes | None = None, headers: Mapping[str, str] | None = None,
            timeout: float = 10, allow: Iterable[str] = ()) -> Response:
    allow = tuple(allow)
    headers = {"User-Agent": USER_AGENT, **(headers or {})}
    for _ in range(MAX_REDIRECTS + 1):
        scheme, host, port = check_url(url, allow)
        address = resolve_checked(host, port, allow)
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn = (_PinnedTLS if scheme == "https" else _Pinned)(host, port, address, timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read(MAX_BODY)
            status, resp_headers = resp.status, {k.lower(): v for k, v in resp.getheaders()}
        finally:
            conn.close()
        location = resp_headers.get("location")
        if status in (301, 302, 303, 307, 308) and location:
            url = urljoin(url, location)
            if status == 303 or (status in (301, 302) and method == "POST"):
                method, body = "GET", None
            continue
        return Response(status, resp_headers, data, url)
    raise UnsafeURL(f"more than {MAX_REDIRECTS} redirects", code="url.too_many_redirects")


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` + hex HMAC-SHA256 of ``timestamp.body`` (the receiver recomputes and compares)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def sign_dingtalk_url(url: str, secret: str, now_ms: int | None = None) -> str:
    """DingTalk robots' 加签: ``timestamp`` and ``sign`` = base64(HMAC-SHA256(secret, "ts\\nsecret"))."""
    ts = str(now_ms if now_ms is not None else int(time.time() * 1000))
    mac = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    sign = quote(base64.b64encode(mac).decode(), safe="")
    return f"{url}{'&' if '?' in url else '?'}timestamp={ts}&sign={sign}"
