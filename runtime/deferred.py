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
transaction (a form's data version) are ``tally``-ed at commit too.

A record created on PostgreSQL is ``insert``-ed at commit as well, its id drawn first (``new_id``, on
the transaction's connection aside), and so are the flow instance it starts and that one's first
task: the updates of them merge into the pending row, which is written once in its final state (an
INSERT then an UPDATE wrote a second version of the row, in every index of the table). It is
written before any statement naming its table, or a table that a foreign key links to it either way.

At commit, PostgreSQL gets all of it in one statement (data-modifying ``WITH`` clauses, one per
table and set of columns, each reading its rows from one JSON parameter: see ``_Shape``) — the
transaction's only statement when everything waited, sent in autocommit without BEGIN and COMMIT
(``flush``); SQLite, which has no such clauses, an executemany per table and set of columns.

Savepoints keep their meaning: the rows added inside a savepoint that is rolled back are dropped
with it and the updates and inserts pending when it began come back; a transaction rolled back writes none.
Rows are kept per transaction on the connection (``conn.info``); their order within a table is the
order they were added, so ids still follow it.
"""
from __future__ import annotations

import functools
import json
import weakref
from collections import Counter
from datetime import date, datetime
from datetime import time as dtime
from decimal import Decimal
from typing import Any, Mapping

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import util as sa_util

from . import driver
from .txmemo import LastAnswer

#: ``conn.info`` key: _Pending of the connection's current transaction
_KEY = "jimu_deferred_rows"


class _Pending:
    __slots__ = ("tx", "rows", "updates", "inserts", "tallies", "marks", "reserved", "expected")

    def __init__(self, tx):
        self.tx = tx
        #: (table, row, the unique columns whose conflicts skip it or None), in the order added
        self.rows: list[tuple[sa.Table, dict[str, Any], tuple | None]] = []
        #: (table, id) → the values that row gets at commit (each merge makes a new dict)
        self.updates: dict[tuple[sa.Table, Any], dict[str, Any]] = {}
        #: (table, id) → the row inserted at commit, later updates merged in (each merge makes a new dict)
        self.inserts: dict[tuple[sa.Table, Any], dict[str, Any]] = {}
        #: (table, column, the row's key as sorted (column, value) pairs) of the counters moved by one
        self.tallies: set[tuple[sa.Table, str, tuple]] = set()
        #: what ``mark`` returns, when each open savepoint began, innermost last (savepoints nest;
        #: SQLAlchemy names one only after its ``savepoint`` event)
        self.marks: list[tuple[tuple, dict, dict]] = []
        #: table → ids drawn for it ahead of its rows (``reserve``), the next one first; a savepoint
        #: rolled back does not give one back (an id is never used twice; one not used is a gap)
        self.reserved: dict[sa.Table, list] = {}
        #: tables the transaction is about to insert a waiting row into (``expect``), whose ids the
        #: next draw takes too
        self.expected: list[sa.Table] = []


#: the rows ``_pending`` answered last, by connection and transaction (``runtime.txmemo``): a write adds
#: and asks dozens of times; forgotten when a rollback drops them and when a connection is invalidated
_LAST = LastAnswer()


def _pending(conn: sa.Connection, *, create: bool = False) -> _Pending | None:
    tx = conn.get_transaction()
    if tx is not None and (known := _LAST.get(conn, tx)) is not None:
        return known
    pending = conn.info.get(_KEY)
    if pending is not None and pending.tx is tx:
        _LAST.keep(conn, tx, pending)
        return pending
    if not create or tx is None:
        return None
    pending = conn.info[_KEY] = _Pending(tx)
    _LAST.keep(conn, tx, pending)
    return pending


def add(conn: sa.Connection, table: sa.Table, row: Mapping[str, Any], *,
        skip_conflicts: tuple[str, ...] | None = None) -> tuple | None:
    """Write ``row`` into ``table`` when ``conn``'s transaction commits, or before any statement that
    names ``table`` (at once outside a transaction). ``skip_conflicts``: the unique columns on which
    a row already there (or added earlier) wins, silently (``INSERT … ON CONFLICT DO NOTHING``).
    Returns what ``drop`` takes to take the row back while it waits (None when written at once)."""
    pending = _pending(conn, create=True)
    if pending is None:
        _execute(conn, _take_rows([(table, row, skip_conflicts)]))
        return None
    entry = (table, dict(row), skip_conflicts)
    pending.rows.append(entry)
    return entry


def drop(conn: sa.Connection, entry: tuple | None) -> bool:
    """Take back a row ``add`` returned ``entry`` for, if it still waits in ``conn``'s transaction (not
    written since, nor dropped with a savepoint rolled back): whether it did. A savepoint rolled back
    afterwards brings it back, as it was pending when the savepoint began."""
    pending = _pending(conn)
    if pending is None or entry is None:
        return False
    for i, waiting in enumerate(pending.rows):
        if waiting is entry:
            pending.rows = pending.rows[:i] + pending.rows[i + 1:]
            return True
    return False


def _insert(dialect: str, table: sa.Table, skip_conflicts: tuple[str, ...] | None):
    if not skip_conflicts:
        return sa.insert(table)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=list(skip_conflicts))


def insert(conn: sa.Connection, table: sa.Table, row: Mapping[str, Any]) -> None:
    """Insert ``row`` (its ``id`` drawn already) into ``table`` when ``conn``'s transaction commits, with
    the values ``update`` gives it meanwhile: the row is written once, in its final state. Before any
    statement that names ``table`` or a table linked to it by a foreign key (either way), it is
    written (``_autoflush``). PostgreSQL only: SQLite has no statement that ``flush`` joins it to."""
    pending = _pending(conn, create=True) if conn.engine in _WIRED else None
    if pending is None:   # outside a transaction, or on an engine nothing flushes (not ``wire``-d)
        _execute(conn, _take_rows([(table, row, None)]))
        return
    pending.inserts[(table, row["id"])] = dict(row)


def waits(conn: sa.Connection) -> bool:
    """Whether a row ``insert``-ed on ``conn`` now waits for the commit: PostgreSQL, inside a transaction,
    on an engine ``wire``-d."""
    return conn.dialect.name == "postgresql" and conn.engine in _WIRED and conn.get_transaction() is not None


def jsonb_as_read(value: Any) -> Any:
    """``value`` as PostgreSQL gives it back from a ``jsonb`` column: objects with their keys in jsonb's
    order (shorter keys first, then by their bytes), everything else as it is. Raises ValueError for
    a value whose read is not certain: a float jsonb would print as an integer (1e16 and beyond), not
    a number (NaN, infinity), or a type JSON has not."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value != value or abs(value) >= 1e15:
            raise ValueError("a float whose jsonb text may read back otherwise")
        return value
    if isinstance(value, (list, tuple)):
        return [jsonb_as_read(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ValueError("a JSON object's keys are text")
        return {k: jsonb_as_read(value[k]) for k in sorted(value, key=lambda k: (len(k.encode()), k.encode()))}
    raise ValueError(f"a {type(value).__name__} is not JSON")


def update(conn: sa.Connection, table: sa.Table, row_id: Any, values: Mapping[str, Any]) -> None:
    """Give row ``row_id`` of ``table`` (which this transaction wrote) ``values`` when the transaction
    commits, or before any statement that names ``table`` (at once outside one). Later values of
    the same column win."""
    pending = _pending(conn, create=True)
    if pending is None:
        _execute(conn, [_Write(_shape("updates", table, tuple(sorted(values)), None), [(row_id, dict(values))])])
        return
    key = (table, row_id)
    if key in pending.inserts:
        pending.inserts[key] = {**pending.inserts[key], **values}
        return
    pending.updates[key] = {**pending.updates.get(key, {}), **values}


def tally(conn: sa.Connection, table: sa.Table, key: Mapping[str, Any], column: str) -> None:
    """Add one to ``column`` of the row of ``table`` whose primary key is ``key`` (a row at 1 when there
    is none yet) as the transaction commits — once, however often the transaction asks (at once
    outside one). The row is locked for the commit only."""
    pending = _pending(conn, create=True)
    if pending is None:
        _execute(conn, [_Write(_shape("tally", table, tuple(sorted(key)), column), [dict(key)])])
        return
    pending.tallies.add((table, column, tuple(sorted(key.items()))))


def _take_updates(pending: _Pending, tables=None) -> list["_Write"]:
    """The pending updates (of ``tables``, default all), taken out: one write per table and set of
    columns."""
    chosen = [k for k in pending.updates if tables is None or k[0] in tables]
    batches: dict[tuple[sa.Table, tuple], list[tuple[Any, dict]]] = {}
    for key in chosen:
        values = pending.updates.pop(key)
        batches.setdefault((key[0], tuple(sorted(values))), []).append((key[1], values))
    return [_Write(_shape("updates", table, columns, None), rows) for (table, columns), rows in batches.items()]


def _take_inserts(pending: _Pending, tables=None) -> list[tuple[sa.Table, dict, None]]:
    """The pending inserts (into ``tables``, default all), taken out, as rows for ``_take_rows``."""
    chosen = [k for k in pending.inserts if tables is None or k[0] in tables]
    return [(key[0], pending.inserts.pop(key), None) for key in chosen]


def _take_rows(rows) -> list["_Write"]:
    """One write per table, set of columns and conflict rule, the rows in the order added."""
    batches: dict[tuple, list[dict]] = {}
    for table, row, skip in rows:
        batches.setdefault((table, tuple(sorted(row)), skip), []).append(row)
    out = []
    for (table, columns, skip), batch in batches.items():
        if skip:  # the first of rows sharing a unique value wins, as it would one INSERT at a time
            seen: set = set()
            batch = [r for r in batch if not (tuple(r.get(c) for c in skip) in seen
                                              or seen.add(tuple(r.get(c) for c in skip)))]
        out.append(_Write(_shape("rows", table, columns, skip), batch))
    return out


class _Write:
    __slots__ = ("shape", "items")

    def __init__(self, shape: "_Shape", items: list):
        self.shape = shape
        #: rows (dicts) to insert, (id, values) to update, or the keys (dicts) of counters to move
        self.items = items


@functools.lru_cache(maxsize=1024)
def _shape(kind: str, table: sa.Table, columns: tuple[str, ...], arg) -> "_Shape":
    return _Shape(kind, table, columns, arg)


def _base_type(t: sa.types.TypeEngine) -> sa.types.TypeEngine:
    """The type PostgreSQL stores: a TypeDecorator's implementation, a variant's PostgreSQL type."""
    if isinstance(t, sa.types.TypeDecorator):
        t = t.impl_instance
    return t._variant_mapping.get("postgresql", t)


class _Spec(sa.types.UserDefinedType):
    """A type named as PostgreSQL spells it shortest, for the statement's text only (see ``_short_type``)."""
    cache_ok = True

    def __init__(self, spec: str):
        self.spec = spec

    def get_col_spec(self, **_kw) -> str:
        return self.spec


class _JsonText(_Spec):
    """JSON text bound as it is, cast by PostgreSQL (``$1::json``), instead of ``CAST(... AS JSON)`` around
    a VARCHAR-typed parameter."""
    cache_ok = True
    render_bind_cast = True

    def __init__(self):
        super().__init__("json")


_JSON_TEXT = _JsonText()
_ONE = sa.literal_column("1")
_PG = postgresql.dialect().identifier_preparer

#: long type names → PostgreSQL's short ones (a ``VARCHAR(n)`` is read as ``text``; the column's own
#: type checks the length when the row is written)
_SHORT = {"TIMESTAMP WITH TIME ZONE": "timestamptz", "TIMESTAMP WITHOUT TIME ZONE": "timestamp",
          "INTEGER": "int", "BIGINT": "int8", "BOOLEAN": "bool", "FLOAT": "float8", "DOUBLE PRECISION": "float8",
          "TEXT": "text", "JSONB": "jsonb", "JSON": "json", "SMALLINT": "int2"}


@functools.lru_cache(maxsize=256)
def _short_type(t: sa.types.TypeEngine) -> _Spec:
    """The type a column of the rows is read as, named short: the combined statement of one create
    stays under psycopg's 4,096 characters, beyond which it does not cache a query's parse and
    splits the text again in Python at every execution."""
    spec = _base_type(t).compile(dialect=postgresql.dialect())
    if spec.startswith("VARCHAR"):
        spec = "text"
    return _Spec(_SHORT.get(spec, spec))


def _as_json(value):
    """The encoders' ``default``: typed values as PostgreSQL reads them back from JSON text (ISO times
    and dates, exact decimals)."""
    if isinstance(value, (datetime, date, dtime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"a {type(value).__name__} cannot be written at commit")


def _dumps(rows: list) -> str:
    """The JSON text of a deferred write's rows. orjson writes the same JSON values as ``json.dumps``
    (times and dates in ISO form natively, as ``isoformat`` does; decimals through ``_as_json``;
    non-string keys as their text) in an eighth of its time: a create's commit, about twenty small
    rows, cost the standard encoder 120 µs, a thirtieth of the whole create's CPU. What orjson refuses
    (an integer beyond 64 bits, which a JSON field may hold; a time with a zone) goes to the standard
    encoder. One difference: a float NaN becomes null, where the standard encoder's NaN was text
    PostgreSQL refused (no field holds one: the number widget refuses it). Keys that are no strings
    are rare (a JSON field's own): orjson's option for them slowed every encoding by a third, so it is
    asked for only when the plain encoding refuses a key."""
    try:
        return orjson.dumps(rows, default=_as_json).decode()
    except orjson.JSONEncodeError:
        pass
    try:
        return orjson.dumps(rows, default=_as_json, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(rows, default=_as_json, ensure_ascii=False)


class _Shape:
    """A deferred write's statement, built once per kind, table, columns and ``arg``: ``rows`` (an
    INSERT; ``arg``: the unique columns on which a row already there wins, or None), ``updates`` (an
    UPDATE by id) or ``tally`` (one added to the counter column ``arg`` of the rows keyed by
    ``columns``, made at 1).

    On PostgreSQL the rows travel as one JSON array in one bound parameter, read back by
    ``json_to_recordset``: the statement is the same whatever the number of rows, so it is built
    and compiled once and the driver prepares it. A multi-row VALUES, or a parameter per value, made
    every commit a new statement to build, compile, parse and plan (most of the CPU of a create).
    ``json``, not ``jsonb``: the server checks the text once as it binds it and reads it once as
    rows, where ``jsonb`` built a sorted binary copy of it first, only to take it apart again
    (about a fifth of the server's CPU for the statement of a create, measured per statement).
    SQLite, which has no data-modifying WITH clauses to join them, gets an executemany per write."""

    def __init__(self, kind: str, table: sa.Table, columns: tuple[str, ...], arg):
        self.kind, self.table, self.columns, self.arg = kind, table, columns, arg
        #: column → its type's own conversion of a Python value (a TypeDecorator's: UTC times)
        self.converters = {c: t.process_bind_param for c in columns
                           if isinstance(t := table.c[c].type, sa.types.TypeDecorator)}
        self.json_columns = frozenset(c for c in columns if isinstance(_base_type(table.c[c].type), sa.JSON))

    @functools.cached_property
    def many(self) -> sa.Executable:
        """The statement an executemany of the items runs (SQLite)."""
        t = self.table
        if self.kind == "tally":
            return _tally(sqlite.insert(t).values({**{c: sa.bindparam(c) for c in self.columns}, self.arg: 1}),
                          t, self.columns, self.arg)
        if self.kind == "updates":
            return sa.update(t).where(t.c.id == sa.bindparam("row_id_")).values(
                {c: sa.bindparam("v_" + c) for c in self.columns})
        return _insert("sqlite", t, self.arg)

    def many_params(self, items) -> list[dict]:
        if self.kind == "updates":
            return [{"row_id_": rid, **{"v_" + c: v for c, v in values.items()}} for rid, values in items]
        return items

    def statement(self, param: str) -> sa.Executable:
        """The statement reading its items from the bound parameter ``param`` (PostgreSQL; named by its
        place in the combined statement), an UPDATE its rows' ids from ``param`` + ``i`` too."""
        t = self.table
        key = ("id",) if self.kind == "updates" else ()
        x = (sa.func.json_to_recordset(sa.bindparam(param, type_=_JSON_TEXT))
             .table_valued(*(sa.column(c, _short_type(t.c[c].type)) for c in key + self.columns))
             .render_derived(name="x", with_types=True))
        values = {c: self._read(c) for c in self.columns}
        if self.kind == "updates":
            ids = sa.bindparam(param + "i", type_=postgresql.ARRAY(sa.BigInteger))
            return sa.update(t).where(t.c.id == x.c.id, t.c.id == sa.any_(ids)).values(values)
        # the rows' columns are the INSERT's, in its order: ``SELECT *`` unless a JSON one needs its null kept
        rows = sa.select(*(values.values() if self.json_columns else [sa.literal_column("*")])).select_from(x)
        if self.kind == "tally":
            return _tally(postgresql.insert(t).from_select([*values, self.arg], rows.add_columns(_ONE)),
                          t, self.columns, self.arg)
        return _insert("postgresql", t, self.arg).from_select(list(values), rows)

    def _read(self, column: str) -> sa.ColumnElement:
        """A column of the rows; JSON ``null`` stays JSON null (what SQLAlchemy writes for Python's None
        in a JSON column), where ``json_to_recordset`` would make it SQL NULL. Written as text: a
        column object gets a label (``x.a AS a``) in each data-modifying WITH clause. Named as short as
        it reads (the combined statement must stay under psycopg's 4,096 characters): bare in an
        INSERT's rows, whose only source they are (an UPDATE's ``x.`` tells them from the table's own
        columns), and the null's type taken from the column's."""
        name = ("x." if self.kind == "updates" else "") + _PG.quote(column)
        if column in self.json_columns:
            return sa.literal_column(f"coalesce({name}, 'null')")
        return sa.literal_column(name)

    def params(self, name: str, dialect, items) -> dict[str, Any]:
        """What ``statement(name)`` binds for ``items``: the rows as a JSON array (and an UPDATE's ids)."""
        convert = self.converters
        rows = []
        for item in items:
            row = {"id": item[0], **item[1]} if self.kind == "updates" else dict(item)
            for c, fn in convert.items():
                row[c] = fn(row[c], dialect)
            rows.append(row)
        out = {name: _dumps(rows)}
        if self.kind == "updates":
            out[name + "i"] = [item[0] for item in items]
        return out


def _tally(insert, table: sa.Table, key: tuple[str, ...], column: str):
    """``insert`` (of rows with ``column`` at 1) adding one to ``column`` of the rows already there."""
    return insert.on_conflict_do_update(index_elements=list(key), set_={column: table.c[column] + _ONE})


@functools.lru_cache(maxsize=512)
def _combined(shapes: tuple[_Shape, ...]) -> sa.Executable:
    """The writes of ``shapes`` as one statement: the first, with the others as data-modifying WITH
    clauses (PostgreSQL), cached per combination so that it is built and compiled once."""
    main, *others = (s.statement(f"w{i}") for i, s in enumerate(shapes))
    return main.add_cte(*(s.cte(f"d{i}") for i, s in enumerate(others))) if others else main


def _execute(conn: sa.Connection, writes: list[_Write], *, alone: bool = False) -> None:
    """Run ``writes``: on PostgreSQL as one statement, on SQLite an executemany each. ``alone``: the
    statement is the transaction's only one (``flush``) and goes straight to the driver as a
    transaction of its own (``runtime.driver``): no transaction of SQLAlchemy's to keep, and its
    execution cost as much again."""
    if not writes:
        return
    if conn.dialect.name != "postgresql":
        for w in writes:
            conn.execute(w.shape.many, w.shape.many_params(w.items), execution_options=_OURS)
        return
    shapes = tuple(w.shape for w in writes)
    params: dict[str, Any] = {}
    for i, w in enumerate(writes):
        params.update(w.shape.params(f"w{i}", conn.dialect, w.items))
    if alone:
        driver.execute_alone(conn, _combined(shapes), params)
    else:
        conn.execute(_combined(shapes), params, execution_options=_OURS)


#: the execution option of the deferred writes' own statements: ``_autoflush`` leaves them alone (what
#: they need written first, the pending rows their foreign keys name, is chosen with them). Seen
#: as any write, the INSERT of a waiting record wrote the waiting records linking to it first, before
#: it: a foreign key violation.
_OURS = {"jimu_deferred_write": True}


#: statement → the tables it names, for statements built once and run many times (weakly held)
_NAMED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _tables_named(statement) -> frozenset:
    """The tables ``statement`` names, worked out once per statement object: walking the statement was
    a fifth of a millisecond per statement run while writes were pending."""
    named = _NAMED.get(statement)
    if named is None:
        named = _NAMED[statement] = frozenset(
            t for t in sa_util.find_tables(statement, check_columns=True, include_joins=True, include_crud=True)
            if isinstance(t, sa.Table))   # not the rows of a function (``json_to_recordset``, named None)
    return named


@functools.lru_cache(maxsize=1024)
def _named_by(table: sa.Table) -> frozenset:
    """``table`` and the tables its foreign keys name, however indirectly (fixed with the table)."""
    seen, todo = {table}, [table]
    while todo:
        near = {fk.column.table for fk in todo.pop().foreign_keys} - seen
        todo += near
        seen |= near
    return frozenset(seen)


def _autoflush(conn: sa.Connection, clauseelement, _multiparams, _params, _options) -> None:
    """Before a statement that names a table with pending rows or updates, write them (a read sees
    them, a write applies on top of them); the pending inserts into it too, and, before a write,
    those into the tables its foreign keys name (a row linking to a pending one) or whose foreign
    keys name it (a pending row linking to one deleted or changed): constraints are checked on
    rows that are there. The rows written name in turn the pending rows their foreign keys need."""
    pending = conn.info.get(_KEY)
    if (pending is None or not (pending.updates or pending.rows or pending.inserts)
            or not isinstance(clauseelement, (sa.sql.Select, sa.Insert, sa.Update, sa.Delete))
            or _options.get("jimu_deferred_write")):
        return
    waiting = {t for t, _ in pending.updates} | {r[0] for r in pending.rows}
    named = _tables_named(clauseelement)
    tables = waiting & named
    inserting = {t for t, _ in pending.inserts}
    if inserting:
        write = not isinstance(clauseelement, sa.sql.Select)
        hit = {t for t in inserting if t in named or (write and _named_by(t) & named)}
        inserting &= frozenset().union(*map(_named_by, hit | tables | (named if write else set())))
    if (tables or inserting) and _pending(conn) is pending:
        rows = _take_inserts(pending, inserting) + [r for r in pending.rows if r[0] in tables]
        writes = _take_updates(pending, tables) + _take_rows(rows)
        pending.rows = [r for r in pending.rows if r[0] not in tables]
        _execute(conn, writes)


def _lock_order(tally: tuple) -> tuple:
    table, column, key = tally
    return table.name, column, tuple((c, str(v)) for c, v in key)


@functools.lru_cache(maxsize=1024)
def next_id(table: sa.Table) -> sa.ColumnElement:
    """The next id of ``table``'s sequence (PostgreSQL), as a column a statement can return (built once
    per table: statements built once with it stay cached). The name is quoted as PostgreSQL's regclass
    functions read it."""
    name = postgresql.dialect().identifier_preparer.format_table(table)
    return sa.func.nextval(sa.func.pg_get_serial_sequence(name, "id"))


@functools.lru_cache(maxsize=1024)
def _drawing(tables: tuple[sa.Table, ...]) -> sa.Select:
    return sa.select(*map(next_id, tables))


@functools.lru_cache(maxsize=1024)
def ids_column(tables: tuple[sa.Table, ...]) -> sa.ColumnElement:
    """The next ids of ``tables``' sequences as one array column, for a statement that draws them
    with what it does anyway (``drawing``; built once per tuple of tables, so statements built with
    it stay cached)."""
    return postgresql.array([next_id(t) for t in tables])


def expect(conn: sa.Connection, *tables: sa.Table) -> None:
    """The transaction is about to insert a waiting row into each of ``tables`` (a table once per
    row; a create announces the flows it starts, ``Jimu.inserts_ahead``): the next id drawn for it,
    by ``new_id`` or with a serial number (``drawing``), draws theirs in the same statement, and
    their inserts take them (``reserve``) instead of sending one statement each."""
    if tables:
        _pending(conn, create=True).expected.extend(tables)


def drawing(conn: sa.Connection, table: sa.Table) -> tuple[sa.Table, ...]:
    """The tables whose ids the next draw for ``table`` takes: ``table``'s, then the ones ``expect``-ed
    (now no longer expected). The caller draws them in that order (``ids_column``) and ``reserve``-s
    each."""
    pending = _pending(conn, create=True)
    expected, pending.expected = pending.expected, []
    return (table, *expected)


def new_id(conn: sa.Connection, table: sa.Table, *also: sa.Table) -> Any:
    """An id for a row of ``table`` that ``waits`` to be inserted at commit (PostgreSQL): one ``reserve``-d
    for the transaction, else drawn now, with one for each table of ``also`` (the rows the caller
    expects to insert next) not reserved already and the ``expect``-ed ones: one statement, not one
    each, and none when all are reserved. Drawn on the transaction's connection aside
    (``runtime.aside``): an id is never given back anyway, and the transaction's own connection
    stays untouched until its first write (see ``flush``)."""
    ready = reserved_id(conn, table)
    pending = _pending(conn, create=True)
    if ready is not None and not also and not pending.expected:
        return ready   # drawn ahead, nothing more to draw (a create's flow instance, task, related record)
    wanted = Counter(also)
    if ready is None:
        wanted[table] += 1
    wanted -= Counter({t: len(ids) for t, ids in pending.reserved.items()})
    expected, pending.expected = pending.expected, []
    # what was expected covers the caller's own rows when it draws first (a flow started by a create
    # whose record did not draw an id): each row gets one id, not one from each count
    draw = (*expected, *(wanted - Counter(expected)).elements())
    if draw:
        from .aside import aside
        for other, row_id in zip(draw, driver.first(aside(conn), _drawing(draw), {})):
            reserve(conn, other, row_id)
    return ready if ready is not None else reserved_id(conn, table)


def reserved_id(conn: sa.Connection, table: sa.Table) -> Any:
    """The id ``reserve``-d next for a row of ``table`` in ``conn``'s transaction, taken; None if none is."""
    pending = _pending(conn)
    ready = pending.reserved.get(table) if pending is not None else None
    return ready.pop(0) if ready else None


def reserve(conn: sa.Connection, table: sa.Table, row_id: Any) -> None:
    """Keep ``row_id``, drawn from ``table``'s sequence by another statement (with a serial number: see
    ``runtime.serials.allocate_serials``), for the transaction's next ``new_id`` of ``table``."""
    _pending(conn, create=True).reserved.setdefault(table, []).append(row_id)


#: psycopg's ``TransactionStatus.IDLE`` (an ``IntEnum``; psycopg is imported only by an engine that uses it)
_IDLE = 0


def _untouched(conn: sa.Connection) -> bool:
    """Whether nothing has been sent on ``conn``'s server connection in its current transaction (no
    BEGIN yet: psycopg sends it with the first statement)."""
    if conn.dialect.driver != "psycopg":
        return False
    raw = conn.connection.dbapi_connection
    return raw.info.transaction_status == _IDLE and not raw.autocommit


def flush(conn: sa.Connection, *, committing: bool = False) -> None:
    """Write what was deferred: the pending updates, the counters, the added rows (one write per table
    and set of columns), on PostgreSQL in one statement.

    ``committing`` (the engine's ``commit`` event, ``_at_commit``): a transaction that sent nothing
    else (all its writes waited for the commit, its ids drawn aside) is that one statement, which
    then runs in autocommit: a transaction of its own, all or nothing as the BEGIN ... COMMIT around
    it would make it, and the commit that follows has nothing to send. The BEGIN and the COMMIT
    were two of the ten round trips of a create that starts a flow with an automatic step and a task."""
    pending = _pending(conn)
    if pending is None:
        return
    writes = _take_updates(pending)
    counters: dict[tuple, list] = {}
    for table, column, key in sorted(pending.tallies, key=_lock_order):   # the same order in every writer
        counters.setdefault((table, tuple(c for c, _ in key), column), []).append(dict(key))
    pending.tallies = set()
    writes += [_Write(_shape("tally", *shape), keys) for shape, keys in counters.items()]
    rows, pending.rows = pending.rows, []
    writes += _take_rows(_take_inserts(pending) + rows)
    _execute(conn, writes, alone=bool(writes) and committing and _untouched(conn))


def _at_commit(conn: sa.Connection) -> None:
    flush(conn, committing=True)


def mark(conn: sa.Connection) -> tuple[tuple, dict, dict] | None:
    """Where the transaction's deferred writes stand, for ``restore`` (a savepoint kept in memory)."""
    pending = _pending(conn)
    return None if pending is None else _state(pending)


def _state(pending: _Pending) -> tuple[tuple, dict, dict]:
    return tuple(pending.rows), dict(pending.updates), dict(pending.inserts)


def restore(conn: sa.Connection, at: tuple[tuple, dict, dict] | None) -> None:
    """Bring back the rows, updates and inserts pending when ``mark`` returned ``at`` (those added since
    are dropped; those written since, inside a savepoint rolled back, are pending again)."""
    pending = _pending(conn)
    if pending is None:
        return
    rows, updates, inserts = at if at is not None else ((), {}, {})
    pending.rows = list(rows)
    pending.updates = dict(updates)
    pending.inserts = dict(inserts)


def _on_savepoint(conn: sa.Connection, _name) -> None:
    pending = _pending(conn, create=True)
    if pending is not None:
        pending.marks.append(_state(pending))


def _on_rollback_savepoint(conn: sa.Connection, _name, _context) -> None:
    pending = _pending(conn)
    if pending is not None and pending.marks:
        rows, pending.updates, pending.inserts = pending.marks.pop()
        pending.rows = list(rows)


def _on_release_savepoint(conn: sa.Connection, _name, _context) -> None:
    pending = _pending(conn)
    if pending is not None and pending.marks:
        pending.marks.pop()


def _on_rollback(conn: sa.Connection) -> None:
    _LAST.forget()
    conn.info.pop(_KEY, None)


#: the engines ``wire``-d: only there does a row ``insert``-ed later reach the database
_WIRED: "weakref.WeakSet[sa.Engine]" = weakref.WeakSet()


def wire(engine: sa.Engine) -> None:
    """Flush at commit, write pending updates before statements naming their tables, follow
    savepoints (called by ``runtime.db.make_engine`` for every engine)."""
    _WIRED.add(engine)
    sa.event.listen(engine, "commit", _at_commit)
    sa.event.listen(engine, "before_execute", _autoflush)
    sa.event.listen(engine, "savepoint", _on_savepoint)
    sa.event.listen(engine, "rollback_savepoint", _on_rollback_savepoint)
    sa.event.listen(engine, "release_savepoint", _on_release_savepoint)
    sa.event.listen(engine, "rollback", _on_rollback)
    sa.event.listen(engine, "invalidate", _LAST.forget)
