"""Server-side session generations and login throttling.

A browser session is a signed cookie; a signature cannot be taken back, so the
cookie alone would stay valid after logout or a password reset. Each user row
therefore carries a ``session_generation``: a session records the generation it
was started in and is honoured only while the row still has it. Logout, a
password change or reset and deactivation bump the number, which ends every
session of that user, in every browser and on every web process, at its next
request.

Login throttling counts failed logins per account and per client address with the
fixed-window counters of ``runtime.auth.throttle`` (shared by all web processes). After
``LOGIN_MAX_FAILURES`` failures for one account, or
``LOGIN_MAX_FAILURES_PER_ADDRESS`` from one address, within
``LOGIN_WINDOW_MINUTES``, further logins for it are refused for
``LOGIN_LOCK_MINUTES`` — even with the right password, so guessing gains
nothing. The address is ``request.remote_addr``, i.e. the client's address
once ``TRUSTED_PROXIES`` is set behind a reverse proxy.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Mapping

import sqlalchemy as sa
from flask.sessions import SecureCookieSessionInterface

from engines.errors import JimuError

from .. import db
from . import throttle

DEFAULTS = {"LOGIN_MAX_FAILURES": 5, "LOGIN_MAX_FAILURES_PER_ADDRESS": 20, "LOGIN_WINDOW_MINUTES": 15,
            "LOGIN_LOCK_MINUTES": 15}


class SignedCookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer built once per secret key (and
    fallback keys) instead of on every request: Flask builds a new one to open each request's session,
    cookie or not, which cost an API request (no cookie at all) about 3 % of its CPU. A changed key
    still takes effect at the next request."""

    _built: tuple | None = None

    def get_signing_serializer(self, app):
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        built = self._built
        if built is None or built[0] != keys:
            built = self._built = (keys, super().get_signing_serializer(app))
        return built[1]


class LoginThrottled(JimuError):
    code = "auth.throttled"
    status = 429


# -- session generations ----------------------------------------------------------
def current_generation(conn: sa.Connection, user_id: int) -> int | None:
    """The generation a session of ``user_id`` must carry; None if the user is gone or inactive."""
    row = conn.execute(sa.select(db.users.c.session_generation, db.users.c.is_active)
                       .where(db.users.c.id == user_id)).first()
    if row is None or not row.is_active:
        return None
    return int(row.session_generation or 0)


def end_sessions(conn: sa.Connection, user_id: int) -> int:
    """End every session of ``user_id`` (they must log in again); returns the new generation."""
    u = db.users
    conn.execute(sa.update(u).where(u.c.id == user_id)
                 .values(session_generation=sa.func.coalesce(u.c.session_generation, 0) + 1))
    return int(conn.execute(sa.select(u.c.session_generation).where(u.c.id == user_id)).scalar() or 0)


# -- throttling ----------------------------------------------------------------------
def _setting(config: Mapping, name: str) -> int:
    return int(config.get(name, DEFAULTS[name]))


def account_key(username: str) -> str:
    return "account:" + (username or "").strip().lower()[:150]


def address_key(address: str | None) -> str:
    return "address:" + (address or "unknown")[:100]


def check_login_allowed(conn: sa.Connection, username: str, address: str | None, *, now: datetime,
                        config: Mapping) -> None:
    """Raise ``LoginThrottled`` if the account or the address is locked out right now."""
    for key, until in sorted(throttle.locked(conn, [account_key(username), address_key(address)], now=now).items()):
        minutes = max(1, math.ceil((until - now).total_seconds() / 60))
        if key.startswith("account:"):
            raise LoginThrottled(f"too many failed logins for this account; wait {minutes} minute(s) and try "
                                 "again, or ask an administrator to reset the password",
                                 code="auth.throttled_account", retry_after=minutes * 60)
        raise LoginThrottled(f"too many failed logins from your network address; wait {minutes} minute(s) "
                             "and try again", code="auth.throttled_address", retry_after=minutes * 60)


def login_failed(conn: sa.Connection, username: str, address: str | None, *, now: datetime,
                 config: Mapping) -> None:
    """Count one failed login against the account and the address (locking them at the limit)."""
    window = timedelta(minutes=_setting(config, "LOGIN_WINDOW_MINUTES"))
    lock = timedelta(minutes=_setting(config, "LOGIN_LOCK_MINUTES"))
    for key, limit in ((account_key(username), _setting(config, "LOGIN_MAX_FAILURES")),
                       (address_key(address), _setting(config, "LOGIN_MAX_FAILURES_PER_ADDRESS"))):
        failures, _ = throttle.count(conn, key, now=now, window=window)
        if failures >= limit:
            throttle.lock(conn, key, now + lock)


def login_succeeded(conn: sa.Connection, username: str) -> None:
    clear_account(conn, username)


def clear_account(conn: sa.Connection, username: str) -> None:
    """Forget an account's failed logins (a successful login, an administrator's password reset)."""
    throttle.forget(conn, account_key(username))
