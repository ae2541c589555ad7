"""Append-only rows written at commit, one multi-row INSERT per table.

One create can write an audit event for the record, one for the related record its flow's automatic
step files and one for a rule's change; flow history for the start, the automatic step and a
reassignment; the rule firings. Nothing in the writing transaction reads those rows back, so
instead of one statement each they are collected here (``add``) and written together just before
the transaction commits (``flush``, the engine's ``commit`` event, wired by
``runtime.context.Jimu``). Savepoints keep their meaning: the rows added inside a savepoint that
is rolled back are dropped with it; a transaction rolled back writes none.

Rows are kept per transaction on the connection (``conn.info``); their order within a table is the
order they were added, so ids still follow it.
"""
from __future__ import annotations

from typing import Any, Mapping

import sqlalchemy as sa

#: ``conn.info`` key: _Pending of the connection's current transaction
_KEY = "jimu_deferred_rows"


class _Pending:
    __slots__ = ("tx", "rows", "marks")

    def __init__(self, tx):
        self.tx = tx
        self.rows: list[tuple[sa.Table, dict[str, Any]]] = []
        #: how many rows there were when each open savepoint began, innermost last (savepoints
        #: nest; SQLAlchemy names one only after its ``savepoint`` event)
        self.marks: list[int] = []


def _pending(conn: sa.Connection, *, create: bool = False) -> _Pending | None:
    tx = conn.get_transaction()
    pending = conn.info.get(_KEY)
    if pending is not None and pending.tx is tx:
        return pending
    if not create or tx is None:
        return None
    pending = conn.info[_KEY] = _Pending(tx)
    return pending


def add(conn: sa.Connection, table: sa.Table, row: Mapping[str, Any]) -> None:
    """Write ``row`` into ``table`` when ``conn``'s transaction commits (at once outside one)."""
    pending = _pending(conn, create=True)
    if pending is None:
        conn.execute(sa.insert(table).values(**row))
        return
    pending.rows.append((table, dict(row)))


def flush(conn: sa.Connection) -> None:
    """Write what was added, one INSERT per table (per run of rows naming the same columns)."""
    pending = _pending(conn)
    if pending is None or not pending.rows:
        return
    rows, pending.rows = pending.rows, []
    batches: dict[tuple[sa.Table, frozenset], list[dict]] = {}
    for table, row in rows:
        batches.setdefault((table, frozenset(row)), []).append(row)
    for (table, _), batch in batches.items():
        conn.execute(sa.insert(table), batch)


def _on_savepoint(conn: sa.Connection, _name) -> None:
    pending = _pending(conn, create=True)
    if pending is not None:
        pending.marks.append(len(pending.rows))


def _on_rollback_savepoint(conn: sa.Connection, _name, _context) -> None:
    pending = _pending(conn)
    if pending is not None and pending.marks:
        del pending.rows[pending.marks.pop():]


def _on_release_savepoint(conn: sa.Connection, _name, _context) -> None:
    pending = _pending(conn)
    if pending is not None and pending.marks:
        pending.marks.pop()


def _on_rollback(conn: sa.Connection) -> None:
    conn.info.pop(_KEY, None)


def wire(engine: sa.Engine) -> None:
    """Flush at commit, follow savepoints (called by ``runtime.context.Jimu`` for its engine)."""
    sa.event.listen(engine, "commit", flush)
    sa.event.listen(engine, "savepoint", _on_savepoint)
    sa.event.listen(engine, "rollback_savepoint", _on_rollback_savepoint)
    sa.event.listen(engine, "release_savepoint", _on_release_savepoint)
    sa.event.listen(engine, "rollback", _on_rollback)
