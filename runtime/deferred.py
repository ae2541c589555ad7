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

import functools
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
        #: (table, row, the unique columns whose conflicts skip it or None), in the order added
        self.rows: list[tuple[sa.Table, dict[str, Any], tuple | None]] = []
        #: (table, id) → the values that row gets at commit (each merge makes a new dict)
        self.updates: dict[tuple[sa.Table, Any], dict[str, Any]] = {}
        #: (table, column, id) of the counters moved by one at commit
        self.increments: set[tuple[sa.Table, str, Any]] = set()
        #: (the rows, the updates) pending when each open savepoint began, innermost last (savepoints
        #: nest; SQLAlchemy names one only after its ``savepoint`` event)
        self.marks: list[tuple[tuple, dict]] = []


def _pending(conn: sa.Connection, *, create: bool = False) -> _Pending | None:
    tx = conn.get_transaction()
    pending = conn.info.get(_KEY)
    if pending is not None and pending.tx is tx:
        return pending
    if not create or tx is None:
        return None
    pending = conn.info[_KEY] = _Pending(tx)
    return pending


def add(conn: sa.Connection, table: sa.Table, row: Mapping[str, Any], *,
        skip_conflicts: tuple[str, ...] | None = None) -> None:
    """Write ``row`` into ``table`` when ``conn``'s transaction commits, or before any statement that
    names ``table`` (at once outside a transaction). ``skip_conflicts``: the unique columns on which
    a row already there (or added earlier) wins, silently (``INSERT … ON CONFLICT DO NOTHING``)."""
    pending = _pending(conn, create=True)
    if pending is None:
        conn.execute(_insert(conn, table, skip_conflicts).values(**row))
        return
    pending.rows.append((table, dict(row), skip_conflicts))


def _insert(conn: sa.Connection, table: sa.Table, skip_conflicts: tuple[str, ...] | None):
    if not skip_conflicts:
        return sa.insert(table)
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing(index_elements=list(skip_conflicts))


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
    """The pending updates (of ``tables``, default all), taken out: on PostgreSQL (statement, None)
    per row, to join the combined statement, or for many rows naming the same columns (statement,
    parameters), an executemany; on SQLite always the latter (one row or more)."""
    singles = MAX_SINGLE_UPDATES if conn.dialect.name == "postgresql" else 0
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
        out.append((_update_by_id(table, columns),
                    [{"row_id_": rid, **{"v_" + c: v for c, v in values.items()}} for rid, values in rows]))
    return out


@functools.lru_cache(maxsize=256)
def _update_by_id(table: sa.Table, columns: tuple[str, ...]) -> sa.Update:
    """``UPDATE table SET columns WHERE id = …`` with bound parameters, built once per table and set of
    columns (SQLite gets one per row updated at commit; building it anew was most of its CPU)."""
    return sa.update(table).where(table.c.id == sa.bindparam("row_id_")).values(
        {c: sa.bindparam("v_" + c) for c in columns})


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
    """Before a statement that names a table with pending rows or updates, write them (a read sees
    them, a write applies on top of them)."""
    pending = conn.info.get(_KEY)
    if (pending is None or not (pending.updates or pending.rows)
            or not isinstance(clauseelement, (sa.sql.Select, sa.Insert, sa.Update, sa.Delete))):
        return
    waiting = {t for t, _ in pending.updates} | {r[0] for r in pending.rows}
    named = set(sa_util.find_tables(clauseelement, check_columns=True, include_joins=True, include_crud=True))
    if waiting & named and _pending(conn) is pending:
        tables = waiting & named
        statements = _update_statements(conn, pending, tables)
        statements += _insert_statements(conn, [r for r in pending.rows if r[0] in tables])
        pending.rows = [r for r in pending.rows if r[0] not in tables]
        _execute(conn, statements)


def _insert_statements(conn: sa.Connection, rows) -> list[tuple[sa.Executable, list | None]]:
    """One INSERT per table, set of columns and conflict rule: multi-row, or executemany when large."""
    batches: dict[tuple, list[dict]] = {}
    for table, row, skip in rows:
        batch = batches.setdefault((table, frozenset(row), skip), [])
        batch.append(row)
    out: list[tuple[sa.Executable, list | None]] = []
    for (table, columns, skip), batch in batches.items():
        if skip:  # the first of rows sharing a unique value wins, as it would one INSERT at a time
            seen: set = set()
            batch = [r for r in batch if not (tuple(r.get(c) for c in skip) in seen
                                              or seen.add(tuple(r.get(c) for c in skip)))]
        # PostgreSQL joins the rows to the combined statement; SQLite gets an executemany
        if conn.dialect.name == "postgresql" and len(batch) * len(columns) <= MAX_COMBINED_PARAMS:
            out.append((_rows_insert(conn, table, skip, sorted(columns), batch), None))
        else:
            out.append((_insert(conn, table, skip), batch))
    return out


def _rows_insert(conn: sa.Connection, table: sa.Table, skip, columns: list[str], batch: list[dict]):
    """One INSERT of ``batch`` that SQLAlchemy compiles once per shape (table, columns, number of
    rows) and then takes from its statement cache: a multi-row ``VALUES`` is never cached (it was
    compiled anew at every commit, the largest CPU cost of a create), a ``SELECT`` of bound values
    per row joined by ``UNION ALL`` is. The rows keep their order, so ids still follow it."""
    if len(batch) == 1:
        return _insert(conn, table, skip).values(batch[0])
    types = [table.c[c].type for c in columns]
    rows = sa.union_all(*(sa.select(*(sa.literal(row.get(c), t) for c, t in zip(columns, types)))
                          for row in batch))
    return _insert(conn, table, skip).from_select(columns, rows)


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
    statements += _insert_statements(conn, rows)
    _execute(conn, statements)


def mark(conn: sa.Connection) -> tuple[tuple, dict] | None:
    """Where the transaction's deferred writes stand, for ``restore`` (a savepoint kept in memory)."""
    pending = _pending(conn)
    return None if pending is None else (tuple(pending.rows), dict(pending.updates))


def restore(conn: sa.Connection, at: tuple[tuple, dict] | None) -> None:
    """Bring back the rows and updates pending when ``mark`` returned ``at`` (those added since are
    dropped; those written since, inside a savepoint rolled back, are pending again)."""
    pending = _pending(conn)
    if pending is None:
        return
    rows, updates = at if at is not None else ((), {})
    pending.rows = list(rows)
    pending.updates = dict(updates)


def _on_savepoint(conn: sa.Connection, _name) -> None:
    pending = _pending(conn, create=True)
    if pending is not None:
        pending.marks.append((tuple(pending.rows), dict(pending.updates)))


def _on_rollback_savepoint(conn: sa.Connection, _name, _context) -> None:
    pending = _pending(conn)
    if pending is not None and pending.marks:
        rows, pending.updates = pending.marks.pop()
        pending.rows = list(rows)


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
