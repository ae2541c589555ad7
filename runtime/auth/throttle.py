"""Fixed-window counters in ``jimu_login_throttle``, shared by every web process.

One mechanism counts two things: failed logins (``runtime.auth.sessions``: per account and per
address, with a lock once the limit is reached) and API requests (``runtime.api.ratelimit``: per
token, per signed-in user, per anonymous address). A counter is a row keyed by what it counts
(``account:<name>``, ``api.token:<id>`` ...): ``failures`` is the count in the window that began at
``first_at``; ``locked_until`` holds a lock that outlives the window. Adding one is a single
``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` statement (SQLite ≥ 3.35 and PostgreSQL), so two
processes counting the same key at the same moment both count, and neither waits on a read first.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from .. import db


def _insert(conn: sa.Connection):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(db.login_throttle)


def count(conn: sa.Connection, key: str, *, now: datetime, window: timedelta) -> tuple[int, datetime]:
    """Add one to ``key``'s counter and return (the count in its window, the window's start). A window
    that has passed starts again at ``now`` — unless the key is locked (a lock keeps its count)."""
    t = db.login_throttle
    restart = sa.and_(t.c.first_at <= now - window,
                      sa.or_(t.c.locked_until.is_(None), t.c.locked_until <= now))
    stmt = _insert(conn).values(key=key, failures=1, first_at=now, locked_until=None)
    stmt = stmt.on_conflict_do_update(index_elements=[t.c.key], set_={
        "failures": sa.case((restart, 1), else_=t.c.failures + 1),
        "first_at": sa.case((restart, now), else_=t.c.first_at)})
    row = conn.execute(stmt.returning(t.c.failures, t.c.first_at)).one()
    return int(row.failures), row.first_at


def lock(conn: sa.Connection, key: str, until: datetime) -> None:
    """Refuse ``key`` until ``until`` (its count is kept while it is locked)."""
    conn.execute(sa.update(db.login_throttle).where(db.login_throttle.c.key == key).values(locked_until=until))


def locked(conn: sa.Connection, keys: list[str], *, now: datetime) -> dict[str, datetime]:
    """The keys among ``keys`` that are locked now, with the end of their lock."""
    t = db.login_throttle
    return dict(conn.execute(sa.select(t.c.key, t.c.locked_until)
                             .where(t.c.key.in_(keys), t.c.locked_until > now)).all())


def forget(conn: sa.Connection, key: str) -> None:
    conn.execute(sa.delete(db.login_throttle).where(db.login_throttle.c.key == key))
