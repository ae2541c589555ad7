"""Serial numbers (``GD-{yyyyMMdd}-{0000}``) that stay unique under concurrency, and the runtime's
other atomic counters (round-robin turns of the ``assign`` rule action, ``form_key`` "round_robin").

One counter row per (form, field, period), bumped with one atomic
``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``: two writers can never get the same number.

Where the bump runs depends on the database:

* PostgreSQL: in a short transaction of its own (on the record transaction's connection aside,
  ``runtime.aside``: one more pooled connection in autocommit for all its bumps), so the
  counter row is locked for that one statement only. Bumped inside the record's transaction it
  stayed locked until the create committed, and every create of the form queued behind it (a
  second web worker added nothing). The price: a number is not given back when the create that
  took it fails or rolls back afterwards, so **gaps can appear** in the sequence (as with any
  PostgreSQL sequence); numbers stay unique and increasing in allocation order. That short
  transaction commits without waiting for the disk (``synchronous_commit`` off for it alone): the
  record that uses the number commits later, and its wait for the write-ahead log covers the bump.
* SQLite: inside the record's transaction, which already holds the database's single write lock
  (another connection would wait for it); a rolled-back record gives its number back, no gaps.
"""
from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from . import db, deferred, driver
from .aside import aside
from .memo import once


@functools.lru_cache(maxsize=None)
def _bump(dialect: str, *, undo: bool = True, also: sa.ColumnElement | None = None) -> sa.Insert:
    """The counter bump of ``next_value`` for ``dialect``, built once with bound parameters (form_key,
    field_key, period, count): building it anew cost a third of a bump's CPU. ``also``: one more
    column it returns (built once too: it is part of the cache key)."""
    t = db.serial_counters
    count = sa.bindparam("count", type_=sa.BigInteger)
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(t)
    stmt = (insert.values(form_key=sa.bindparam("form_key"), field_key=sa.bindparam("field_key"),
                          period=sa.bindparam("period"), value=count)
            .on_conflict_do_update(index_elements=[t.c.form_key, t.c.field_key, t.c.period],
                                   set_={"value": t.c.value + count})
            .returning(t.c.value))
    if dialect == "postgresql":
        # the commit does not wait for the disk (``synchronous_commit`` off for this transaction,
        # set by the statement itself: no second statement): the number is used only by a
        # transaction that commits after this one and waits for the write-ahead log up to its own
        # commit, so up to this one's too; a crash before that loses the bump together with every
        # record that used it. An autocommit that waited for its own flush was a second disk wait
        # per create, most of its time.
        stmt = stmt.returning(sa.func.set_config("synchronous_commit", "off", True))
    if also is not None:
        stmt = stmt.returning(also)
    return stmt if undo else stmt.execution_options(undo=False)


def next_value(conn: sa.Connection, form_key: str, field_key: str, period: str, count: int = 1, *,
               undo: bool = True) -> int:
    """Reserve ``count`` numbers; returns the last one reserved. ``undo=False``: on SQLite too, a
    savepoint rolled back afterwards does not give them back (a round-robin turn), so taking them
    starts no savepoint (``runtime.store.records.savepoint``)."""
    return next_value_and(conn, form_key, field_key, period, count, undo=undo)[0]


def next_value_and(conn: sa.Connection, form_key: str, field_key: str, period: str, count: int = 1, *,
                   undo: bool = True, also: sa.ColumnElement | None = None, params: dict | None = None) -> tuple:
    """``next_value``, and the value of ``also`` (a column built once, its bound ``params``) read by the
    same statement: (last number reserved, that value). On PostgreSQL the statement runs in its
    own short transaction, so ``also`` sees what is committed, not this transaction's changes."""
    params = {**(params or {}), "form_key": form_key, "field_key": field_key, "period": period, "count": count}
    if conn.dialect.name != "postgresql":
        row = conn.execute(_bump(conn.dialect.name, undo=undo, also=also), params).one()
    elif conn.get_transaction() is None:
        with conn.engine.connect() as own:
            row = driver.first(own.execution_options(isolation_level="AUTOCOMMIT"), _bump("postgresql", also=also),
                               params)
    else:
        row = driver.first(aside(conn), _bump("postgresql", also=also), params)
    return row[0], (row[-1] if also is not None else None)


def peek_value(conn: sa.Connection, form_key: str, field_key: str, period: str) -> int:
    """The last number reserved (0 before the first), reserving nothing."""
    t = db.serial_counters
    return conn.execute(sa.select(t.c.value).where(t.c.form_key == form_key, t.c.field_key == field_key,
                                                   t.c.period == period)).scalar() or 0


def _serial_fields(spec) -> tuple:
    return tuple(f for f in spec.fields if f.widget.type == "serial")


def allocate_serials(conn: sa.Connection, ft, rows: Sequence[dict[str, Any]], now: datetime) -> None:
    """Give ``rows`` their serial numbers. A single record's id is drawn by the first bump too, on
    PostgreSQL where its row waits for the commit (``deferred.waits``), with the ids of the rows the
    create is expected to insert next (``deferred.expect``: the flows it starts): one statement on
    the connection aside, not one each (``deferred.reserve``; the inserts take them either way)."""
    for k, f in enumerate(once(ft.spec, _serial_fields)):
        widget = f.widget
        period = widget.period_key(now)
        tables = deferred.drawing(conn, ft.table) if k == 0 and len(rows) == 1 and deferred.waits(conn) else ()
        last, ids = next_value_and(conn, ft.key, f.key, period, len(rows),
                                   also=deferred.ids_column(tables) if tables else None)
        for table, row_id in zip(tables, ids or ()):
            deferred.reserve(conn, table, row_id)
        first = last - len(rows) + 1
        for i, values in enumerate(rows):
            values[f.key] = widget.format_serial(now, first + i)
