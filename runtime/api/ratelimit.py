"""The API's request rate limit: ``API_RATE_LIMIT`` requests per ``API_RATE_WINDOW_SECONDS`` (60) per
API token (or per signed-in user), and ``API_RATE_LIMIT_ANONYMOUS`` per client address for requests
without either (the webhook intake, public reads). 0 or unset turns a limit off — the default, because
counting costs one write per request, which a single-process SQLite install rarely needs.

The counters are the fixed-window counters of ``runtime.auth.throttle`` (the table login throttling
uses), so every web process shares them. Over the limit a request is refused with 429, code
``api.rate_limited`` and ``Retry-After`` (the seconds until the window ends); every counted answer
carries ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset`` (the IETF draft's names)
so a client can slow down before it is refused. The address is ``request.remote_addr``: set
``TRUSTED_PROXIES`` behind a reverse proxy, or every visitor shares the proxy's counter.
"""
from __future__ import annotations

import math
from datetime import timedelta

from flask import g, request

from engines.errors import JimuError

from ..auth import current_principal, throttle
from ..context import current_jimu


class RateLimited(JimuError):
    code = "api.rate_limited"
    status = 429


def setting(config, name: str, default: int = 0) -> int:
    raw = config.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        value = -1
    if value < 0:
        raise ValueError(f"{name} must be a whole number of requests (0 turns the limit off), not {raw!r}; "
                         f"set JIMU_{name}")
    return value


def check_settings(config) -> None:
    """Refuse to start with a limit that is not a whole number (rather than fail every request)."""
    for name in ("API_RATE_LIMIT", "API_RATE_LIMIT_ANONYMOUS", "API_RATE_WINDOW_SECONDS"):
        setting(config, name)


def _counter() -> tuple[str, int]:
    """The key counted for this request and its limit."""
    config = current_jimu().config
    token = g.get("token")
    if token is not None:
        return f"api.token:{token.id}", setting(config, "API_RATE_LIMIT")
    principal = current_principal()
    if principal.is_authenticated:
        return f"api.user:{principal.user_id}", setting(config, "API_RATE_LIMIT")
    return f"api.address:{(request.remote_addr or 'unknown')[:100]}", setting(config, "API_RATE_LIMIT_ANONYMOUS")


def before() -> None:
    """Count this request; over the limit, a 429 with ``Retry-After``."""
    key, limit = _counter()
    if not limit:
        return
    jimu = current_jimu()
    now = jimu.now()
    window = timedelta(seconds=setting(jimu.config, "API_RATE_WINDOW_SECONDS", 60) or 60)
    with jimu.engine.begin() as conn:  # a short transaction of its own, committed before the request runs
        used, start = throttle.count(conn, key, now=now, window=window)
    reset = max(1, math.ceil((start + window - now).total_seconds()))
    g.rate_limit = (limit, max(0, limit - used), reset)
    if used > limit:
        raise RateLimited(f"more than {limit} requests in {int(window.total_seconds())} s; wait {reset} s "
                          "(Retry-After) and send fewer requests, or ask an administrator to raise "
                          "API_RATE_LIMIT", limit=limit, retry_after=reset)


def after(response):
    counted = g.get("rate_limit")
    if counted is not None:
        limit, remaining, reset = counted
        response.headers["RateLimit-Limit"] = str(limit)
        response.headers["RateLimit-Remaining"] = str(remaining)
        response.headers["RateLimit-Reset"] = str(reset)
    return response
