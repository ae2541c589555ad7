"""A transaction's connection aside (PostgreSQL): one more pooled connection, in autocommit, for what
the transaction takes but must neither wait for nor give back — counter bumps (``runtime.serials``)
and the ids drawn for rows written at commit (``runtime.deferred``).

It is checked out at the transaction's first use and returned when the transaction ends (``wire``:
at its commit or rollback), so a create that takes a serial number, a round-robin turn and a few
ids checks out one more connection, not one per statement (each checkout, isolation switch and
checkin cost about as much CPU as a bump itself). It holds no lock: each statement on it commits on
its own. Drawing ids there leaves the transaction's own connection untouched until its first
write: a create whose writes all wait for the commit then sends them as one statement, its own
transaction, with no BEGIN and COMMIT around it (``deferred.flush``).
"""
from __future__ import annotations

import sqlalchemy as sa

#: ``conn.info`` key: (transaction, autocommit connection) set aside for it
_KEY = "jimu_connection_aside"


def aside(conn: sa.Connection) -> sa.Connection:
    """The autocommit connection set aside for ``conn``'s current transaction (which must be open, on
    an engine ``wire``-d)."""
    tx = conn.get_transaction()
    entry = conn.info.get(_KEY)
    if entry is not None:
        if entry[0] is tx:
            return entry[1]
        release(conn)
    other = conn.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    conn.info[_KEY] = (tx, other)
    return other


def release(conn: sa.Connection) -> None:
    """``commit`` and ``rollback`` (``wire``): the transaction ended, its connection aside goes back to
    the pool."""
    entry = conn.info.pop(_KEY, None)
    if entry is not None:
        entry[1].close()


def wire(engine: sa.Engine) -> None:
    """Return each transaction's connection aside when it ends (``runtime.db.make_engine``, PostgreSQL)."""
    sa.event.listen(engine, "commit", release)
    sa.event.listen(engine, "rollback", release)
