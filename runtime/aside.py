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

from contextvars import ContextVar, Token

import sqlalchemy as sa

#: ``conn.info`` key: (transaction, autocommit connection) set aside for it, and whether it was lent
_KEY = "jimu_connection_aside"

#: the autocommit connection lent by the work in progress (a request's identity lookup), or None
_LENT: ContextVar[sa.Connection | None] = ContextVar("jimu_lent_connection", default=None)


def aside(conn: sa.Connection) -> sa.Connection:
    """The autocommit connection set aside for ``conn``'s current transaction (which must be open, on
    an engine ``wire``-d): the one ``lend``-ed for the work in progress if there is one on the same
    engine, else one more checked out of the pool."""
    tx = conn.get_transaction()
    entry = conn.info.get(_KEY)
    if entry is not None:
        if entry[0] is tx:
            return entry[1]
        release(conn)
    lent = _LENT.get()
    if lent is not None and lent.engine is conn.engine and not (lent.closed or lent.invalidated):
        conn.info[_KEY] = (tx, lent, True)
        return lent
    other = conn.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    conn.info[_KEY] = (tx, other, False)
    return other


def release(conn: sa.Connection) -> None:
    """``commit`` and ``rollback`` (``wire``): the transaction ended, its connection aside goes back to
    the pool (a lent one to its lender)."""
    entry = conn.info.pop(_KEY, None)
    if entry is not None and not entry[2]:
        entry[1].close()


def lend(conn: sa.Connection) -> tuple[Token, sa.Connection]:
    """Let ``conn``, an autocommit connection the caller keeps open (a request's identity lookup's,
    ``runtime.db.single_reads``), serve as the connection aside of the transactions that follow in
    this context on its engine, until ``take_back``: the request checks out one connection for both,
    not one more (a checkout, its switch to autocommit and back and its checkin cost as much client
    CPU as a statement). Its statements each commit on their own, whoever runs them."""
    return _LENT.set(conn), conn


def take_back(lent: tuple[Token, sa.Connection]) -> None:
    """End a ``lend``: the connection goes back to the pool."""
    token, conn = lent
    try:
        _LENT.reset(token)
    except ValueError:   # ended in another context than it began in (a server that switched them)
        if _LENT.get() is conn:
            _LENT.set(None)
    conn.close()


def wire(engine: sa.Engine) -> None:
    """Return each transaction's connection aside when it ends (``runtime.db.make_engine``, server databases)."""
    sa.event.listen(engine, "commit", release)
    sa.event.listen(engine, "rollback", release)
