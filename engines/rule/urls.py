"""Outbound URL checks that need no network (the save-time half of the SSRF guard).

A URL is refused when its scheme is not http(s), it carries credentials, or
its host is an address — in any spelling the C resolver accepts: ``127.1``,
``2130706433``, ``0x7f.0.0.1``, ``0177.0.0.1``, ``[::1]``, ``[::ffff:127.0.0.1]`` —
in a private, loopback, link-local, multicast, reserved or unspecified range.
Names are resolved and checked again at send time by ``runtime.notify.ssrf``,
which also connects to the checked address. ``allow`` is the explicit
allowlist (addresses or networks) from the ``OUTBOUND_ALLOWLIST`` setting.
"""
from __future__ import annotations

import ipaddress
import socket
from typing import Iterable
from urllib.parse import urlsplit

from .exceptions import RuleError

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURL(RuleError):
    code = "url.unsafe"


def literal_ip(host: str) -> IP | None:
    """The address a host name *is*, if it is an address in any notation; else None."""
    h = host.strip("[]")
    try:
        return ipaddress.ip_address(h.split("%", 1)[0])
    except ValueError:
        pass
    if h and all(c in "0123456789abcdefxABCDEFX." for c in h) and any(c.isdigit() for c in h):
        try:  # inet_aton takes the legacy forms: 127.1, 2130706433, 0x7f.1, 0177.0.0.1
            return ipaddress.IPv4Address(socket.inet_aton(h))
        except OSError:
            return None
    return None


def forbidden(ip: IP) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            return forbidden(mapped)
        if ip.teredo or ip.is_site_local:
            return True
    return (not ip.is_global or ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified)


def allowed(ip: IP, allow: Iterable[str]) -> bool:
    for entry in allow or ():
        try:
            if ip in ipaddress.ip_network(entry.strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


def parse_allowlist(setting) -> tuple[str, ...]:
    if not setting:
        return ()
    if isinstance(setting, str):
        return tuple(p.strip() for p in setting.split(",") if p.strip())
    return tuple(str(p) for p in setting)


def check_url(url: str, allow: Iterable[str] = ()) -> tuple[str, str, int]:
    """Check what can be checked without the network; returns (scheme, host, port)."""
    if not isinstance(url, str) or len(url) > 2000:
        raise UnsafeURL("an outbound URL is text of at most 2000 characters")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"not a valid URL: {exc}", url=url[:200]) from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("outbound URLs use http or https", code="url.bad_scheme", url=url[:200])
    if parts.username or parts.password:
        raise UnsafeURL("outbound URLs carry no user name or password; use headers or a secret",
                        code="url.credentials", url=url[:200])
    host = parts.hostname or ""
    if not host:
        raise UnsafeURL("the URL has no host", url=url[:200])
    ip = literal_ip(host)
    if ip is not None and forbidden(ip) and not allowed(ip, allow):
        raise UnsafeURL(f"{host} is a private, loopback or link-local address ({ip}); outbound calls may "
                        "not reach the internal network (add it to OUTBOUND_ALLOWLIST if this is intended)",
                        code="url.private_address", url=url[:200], address=str(ip))
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)
