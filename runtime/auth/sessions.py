"""Server-side session generations and login throttling.

A browser session is a signed cookie; a signature cannot be taken back, so the
cookie alone would stay valid after logout or a password reset. Each user row
therefore carries a ``session_generation``: a session records the generation it
was started in and is honoured only while the row still has it. Logout, a
password change or reset and deactivation bump the number, which ends every
session of that user, in every browser and on every web process, at its next
request.

Login throttling counts failed logins per account and per client address in
``jimu_login_throttle`` (shared by all web processes). After
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

from engines.errors import JimuError

from .. import db

DEFAULTS = {"LOGIN_MAX_FAILURES": 5, "LOGIN_MAX_FAILURES_PER_ADDRESS": 20, "LOGIN_WINDOW_MINUTES": 15,
            "LOGIN_LOCK_MINUTES": 15}


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
    t = db.login_throttle
    rows = conn.execute(sa.select(t.c.key, t.c.locked_until).where(
        t.c.key.in_([account_key(username), address_key(address)]), t.c.locked_until > now)).all()
    for row in sorted(rows, key=lambda r: r.key):
        minutes = max(1, math.ceil((row.locked_until - now).total_seconds() / 60))
        if row.key.startswith("account:"):
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
    t = db.login_throttle
    for key, limit in ((account_key(username), _setting(config, "LOGIN_MAX_FAILURES")),
                       (address_key(address), _setting(config, "LOGIN_MAX_FAILURES_PER_ADDRESS"))):
        row = conn.execute(sa.select(t).where(t.c.key == key)).first()
        if row is None:
            try:
                with conn.begin_nested():   # another process may insert the same key at the same moment
                    conn.execute(sa.insert(t).values(key=key, failures=1, first_at=now,
                                                     locked_until=now + lock if limit <= 1 else None))
                continue
            except sa.exc.IntegrityError:
                row = conn.execute(sa.select(t).where(t.c.key == key)).first()
        if row.first_at < now - window and not (row.locked_until and row.locked_until > now):
            failures, first_at = 1, now     # the window passed: start counting again
        else:
            failures, first_at = row.failures + 1, row.first_at
        conn.execute(sa.update(t).where(t.c.key == key).values(
            failures=failures, first_at=first_at,
            locked_until=now + lock if failures >= limit else row.locked_until))


def login_succeeded(conn: sa.Connection, username: str) -> None:
    clear_account(conn, username)


def clear_account(conn: sa.Connection, username: str) -> None:
    """Forget an account's failed logins (a successful login, an administrator's password reset)."""
    conn.execute(sa.delete(db.login_throttle).where(db.login_throttle.c.key == account_key(username)))
