"""What a transaction writes at commit: append-only rows, updates of rows it wrote, counters.

One create can write an audit event for the record, one for the related record its flow's automatic
step files and one for a rule's change; flow history for the start, the automatic step and a
reassignment; the rule firings. Nothing in the writing transaction reads those rows back, so
instead of one statement each they are collected here (``add``) and written together just before
the transaction commits (``flush``, the engine's ``commit`` event, wired by ``runtime.db.make_engine``).

Updates of rows the transaction wrote itself are deferred the same way (``update``): a flow instance
moves several times in one create (started, past its automatic step, reassigned by a rule), and
only its final state is written, in one UPDATE at commit. Whatever reads or writes such a table in
the meantime sees the pending values: they are written first, just before any statement that names
the table (``_autoflush``, as an ORM session flushes before a query). Counters moved once per
transaction (a form's data version) are ``increment``-ed at commit too.

At commit, PostgreSQL gets all of it in one statement (data-modifying ``WITH`` clauses, one per
table: a multi-row INSERT, an UPDATE per row); SQLite, which has no such clauses, one statement per
table. Large batches (bulk imports) go as an executemany per table instead.

Savepoints keep their meaning: the rows added inside a savepoint that is rolled back are dropped
with it and the updates pending when it began come back; a transaction rolled back writes none.
Rows are kept per transaction on the connection (``conn.info``); their order within a table is the
order they were added, so ids still follow it.
"""
from __future__ import annotations

from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.sql import util as sa_util

#: ``conn.info`` key: _Pending of the connection's current transaction
_KEY = "jimu_deferred_rows"
#: bound values one commit statement may carry on PostgreSQL; larger batches go as executemany
MAX_COMBINED_PARAMS = 2000
#: rows of one table and column set updated one statement each (more: one executemany)
MAX_SINGLE_UPDATES = 20


class _Pending:
    __slots__ = ("tx", "rows", "updates", "increments", "marks")

    def __init__(self, tx):
        self.tx = tx
        self.rows: list[tuple[sa.Table, dict[str, Any]]] = []
        #: (table, id) → the values that row gets at commit (each merge makes a new dict)
        self.updates: dict[tuple[sa.Table, Any], dict[str, Any]] = {}
        #: (table, column, id) of the counters moved by one at commit
        self.increments: set[tuple[sa.Table, str, Any]] = set()
        #: (how many rows there were, the pending updates) when each open savepoint began, innermost
        #: last (savepoints nest; SQLAlchemy names one only after its ``savepoint`` event)
        self.marks: list[tuple[int, dict]] = []


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


def update(conn: sa.Connection, table: sa.Table, row_id: Any, values: Mapping[str, Any]) -> None:
    """Give row ``row_id`` of ``table`` (which this transaction wrote) ``values`` when the transaction
    commits, or before any statement that names ``table`` (at once outside one). Later values of
    the same column win."""
    pending = _pending(conn, create=True)
    if pending is None:
        conn.execute(sa.update(table).where(table.c.id == row_id).values(**values))
        return
    key = (table, row_id)
    pending.updates[key] = {**pending.updates.get(key, {}), **values}


def increment(conn: sa.Connection, table: sa.Table, column: str, row_id: Any) -> None:
    """Add one to ``column`` of row ``row_id`` as the transaction commits — once, however often the
    transaction asks (at once outside one). The row is locked for the commit only."""
    pending = _pending(conn, create=True)
    if pending is None:
        conn.execute(_increments(table, column, [row_id]))
        return
    pending.increments.add((table, column, row_id))


def _increments(table: sa.Table, column: str, ids) -> sa.Update:
    return (sa.update(table).where(table.c.id.in_(sorted(ids)))
            .values({column: table.c[column] + 1}))


def _update_statements(conn: sa.Connection, pending: _Pending,
                       tables=None) -> list[tuple[sa.Executable, list | None]]:
    """The pending updates (of ``tables``, default all), taken out: (statement, None) per row, or
    (statement, parameters) for an executemany of several rows naming the same columns (of many
    on PostgreSQL, where single ones join the combined statement)."""
    singles = MAX_SINGLE_UPDATES if conn.dialect.name == "postgresql" else 1
    chosen = [k for k in pending.updates if tables is None or k[0] in tables]
    batches: dict[tuple[sa.Table, tuple], list[tuple[Any, dict]]] = {}
    for key in chosen:
        values = pending.updates.pop(key)
        batches.setdefault((key[0], tuple(sorted(values))), []).append((key[1], values))
    out: list[tuple[sa.Executable, list | None]] = []
    for (table, columns), rows in batches.items():
        if len(rows) <= singles:
            out += [(sa.update(table).where(table.c.id == rid).values(values), None) for rid, values in rows]
            continue
        stmt = sa.update(table).where(table.c.id == sa.bindparam("row_id_")).values(
            {c: sa.bindparam("v_" + c) for c in columns})
        out.append((stmt, [{"row_id_": rid, **{"v_" + c: v for c, v in values.items()}} for rid, values in rows]))
    return out


def _execute(conn: sa.Connection, statements: list[tuple[sa.Executable, list | None]]) -> None:
    """Run ``statements``; on PostgreSQL the single ones together, as data-modifying WITH clauses of one."""
    single = [s for s, params in statements if params is None]
    if conn.dialect.name == "postgresql" and len(single) > 1:
        main, *others = single
        conn.execute(main.add_cte(*(s.cte(f"deferred_{i}") for i, s in enumerate(others))))
    else:
        for s in single:
            conn.execute(s)
    for s, params in statements:
        if params is not None:
            conn.execute(s, params)


def _autoflush(conn: sa.Connection, clauseelement, _multiparams, _params, _options) -> None:
    """Before a statement that names a table with pending updates, write them (a read sees them, a
    write applies on top of them)."""
    pending = conn.info.get(_KEY)
    if pending is None or not pending.updates or not isinstance(clauseelement, sa.ClauseElement):
        return
    waiting = {t for t, _ in pending.updates}
    named = set(sa_util.find_tables(clauseelement, check_columns=True, include_joins=True, include_crud=True))
    if waiting & named and _pending(conn) is pending:
        _execute(conn, _update_statements(conn, pending, waiting & named))


def flush(conn: sa.Connection) -> None:
    """Write what was deferred: the pending updates, the counters, the added rows (one INSERT per table
    and set of columns), on PostgreSQL in one statement."""
    pending = _pending(conn)
    if pending is None:
        return
    statements = _update_statements(conn, pending)
    counters: dict[tuple[sa.Table, str], list] = {}
    for table, column, rid in pending.increments:
        counters.setdefault((table, column), []).append(rid)
    pending.increments = set()
    statements += [(_increments(table, column, ids), None) for (table, column), ids in counters.items()]
    rows, pending.rows = pending.rows, []
    batches: dict[tuple[sa.Table, frozenset], list[dict]] = {}
    for table, row in rows:
        batches.setdefault((table, frozenset(row)), []).append(row)
    for (table, columns), batch in batches.items():
        if len(batch) * len(columns) <= MAX_COMBINED_PARAMS:
            statements.append((sa.insert(table).values(batch), None))
        else:
            statements.append((sa.insert(table), batch))
    _execute(conn, statements)


def mark(conn: sa.Connection) -> tuple[int, dict] | None:
    """Where the transaction's deferred writes stand, for ``restore`` (a savepoint kept in memory)."""
    pending = _pending(conn)
    return None if pending is None else (len(pending.rows), dict(pending.updates))


def restore(conn: sa.Connection, at: tuple[int, dict] | None) -> None:
    """Drop the rows added and bring back the updates pending since ``mark`` returned ``at``."""
    pending = _pending(conn)
    if pending is None:
        return
    count, updates = at if at is not None else (0, {})
    del pending.rows[count:]
    pending.updates = dict(updates)


def _on_savepoint(conn: sa.Connection, _name) -> None:
    pending = _pending(conn, create=True)
    if pending is not None:
        pending.marks.append((len(pending.rows), dict(pending.updates)))


def _on_rollback_savepoint(conn: sa.Connection, _name, _context) -> None:
    pending = _pending(conn)
    if pending is not None and pending.marks:
        count, pending.updates = pending.marks.pop()
        del pending.rows[count:]


def _on_release_savepoint(conn: sa.Connection, _name, _context) -> None:
    pending = _pending(conn)
    if pending is not None and pending.marks:
        pending.marks.pop()


def _on_rollback(conn: sa.Connection) -> None:
    conn.info.pop(_KEY, None)


def wire(engine: sa.Engine) -> None:
    """Flush at commit, write pending updates before statements naming their tables, follow
    savepoints (called by ``runtime.db.make_engine`` for every engine)."""
    sa.event.listen(engine, "commit", flush)
    sa.event.listen(engine, "before_execute", _autoflush)
    sa.event.listen(engine, "savepoint", _on_savepoint)
    sa.event.listen(engine, "rollback_savepoint", _on_rollback_savepoint)
    sa.event.listen(engine, "release_savepoint", _on_release_savepoint)
    sa.event.listen(engine, "rollback", _on_rollback)
