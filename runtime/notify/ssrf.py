"""The send-time half of the SSRF guard: resolve the name, check *every* address, and hand back
the one to connect to — the caller connects to exactly that address (no second lookup that
DNS rebinding could change). Literal spellings are checked by ``engines.rule.urls``."""
from __future__ import annotations

import ipaddress
import socket
from typing import Iterable

from engines.rule.urls import UnsafeURL, allowed, forbidden, literal_ip


def resolve_checked(host: str, port: int, allow: Iterable[str] = ()) -> str:
    ip = literal_ip(host)
    if ip is not None:
        addresses = [ip]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise UnsafeURL(f"cannot resolve {host}: {exc}", code="url.unresolvable", host=host) from None
        addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    if not addresses:
        raise UnsafeURL(f"{host} has no address", code="url.unresolvable", host=host)
    for a in addresses:
        if forbidden(a) and not allowed(a, allow):
            raise UnsafeURL(f"{host} resolves to {a}, a private, loopback or link-local address; outbound "
                            "calls may not reach the internal network", code="url.private_address",
                            host=host, address=str(a))
    return str(addresses[0])
