"""Reading and writing records of one form with SQLAlchemy Core.

Values handed to the store are already cleaned by the form engine (the
service layer in ``runtime.records`` does that); the store only maps field
keys to physical columns and child tables. Updates use optimistic locking:
``row_version`` must match or nothing is written.

Records this transaction wrote are kept for the rest of it (``written``): a create or update
returns the whole row (``RETURNING``; a create whose row waits for the commit, the row as it will
read: ``_insert_later``), and the write path's later reads of the same record — the
service's answer, the flow it starts, each rule that looks at it, the re-read after a rule changed
it — are answered from memory instead of one or two ``SELECT`` each. Only rows this transaction
wrote are kept: it holds their row locks (PostgreSQL) or the database's write lock (SQLite), so
nobody else can have changed them. A savepoint rolled back drops them all (``forget_written``,
wired by ``runtime.db.make_engine``), as does the end of the transaction.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from math import isfinite
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from engines.sqltypes import UTCDateTime

from .. import deferred
from ..memo import once
from ..txmemo import LastAnswer
from ..db import copy_type, data_written, insert_rows
from ..exceptions import JimuError, NotFound, StaleRecord
from . import search
from .mapping import SEARCH_COLUMN, SYSTEM_COLUMNS, FormTable


class RecordNotFound(NotFound):
    code = "record.not_found"


#: ``conn.info`` key: (transaction, {(table, id): record}) of the records that transaction wrote
_WRITTEN = "jimu_records_written"


#: the records ``written`` answered last, by connection and transaction (``runtime.txmemo``): every read,
#: constraint check and flow step of a write asks; ``forget_written`` forgets it, as does a connection's
#: invalidation (``forget_last_written``), after which ``conn.info`` raises as before
_LAST = LastAnswer()


def written(conn: sa.Connection, *, create: bool = False) -> dict | None:
    """The records ``conn``'s current transaction wrote, by (table, id); None outside one."""
    tx = conn.get_transaction()
    if tx is not None and (known := _LAST.get(conn, tx)) is not None:
        return known
    entry = conn.info.get(_WRITTEN)
    if entry is not None and entry[0] is tx:
        cache = entry[1]
    elif not create or tx is None:
        return None
    else:
        cache = {}
        conn.info[_WRITTEN] = (tx, cache)
    _LAST.keep(conn, tx, cache)
    return cache


def created_here(conn: sa.Connection, ft: FormTable, rid: Any) -> bool:
    """Whether ``conn``'s transaction created record ``rid`` of ``ft`` (with ``RecordStore.create``, in no
    savepoint rolled back since): nothing about it can predate the transaction."""
    kept = written(conn)
    return kept is not None and (ft.table, "created", rid) in kept


def forget_written(conn: sa.Connection, *_args) -> None:
    """A savepoint was rolled back: what it wrote is gone, and so are the kept copies."""
    forget_last_written()
    conn.info.pop(_WRITTEN, None)


def forget_last_written(*_args) -> None:
    """``written`` asks ``conn.info`` again (a connection was invalidated: reading it raises)."""
    _LAST.forget()


#: ``conn.info`` key: the open ``savepoint`` blocks of the connection, outermost first
_LAZY = "jimu_lazy_savepoints"


class WriteNotUndone(JimuError):
    """A ``savepoint`` block failed after a write it had settled for (``_Lazy.settle``): no SAVEPOINT
    was sent, so the write cannot be undone alone and the whole transaction must end."""
    code = "db.write_not_undone"
    status = 500


class _Lazy:
    __slots__ = ("nested", "mark", "starting", "settled", "wrote")

    def __init__(self, mark):
        self.nested: sa.NestedTransaction | None = None
        self.mark = mark
        self.starting = False
        self.settled = False
        self.wrote = False

    def settle(self) -> None:
        """What is left of the block is its last write and what follows it: if the SAVEPOINT has not
        been sent yet, none is (it would cost two statements, the SAVEPOINT and its RELEASE, to guard
        a write that fails only with the whole transaction). Errors before that write are still undone
        in memory; a write that can trip a constraint takes its own savepoint (``Records._integrity``);
        anything that fails after the write raises ``WriteNotUndone``, which ends the transaction."""
        self.settled = True


@contextmanager
def savepoint(conn: sa.Connection) -> Iterator[_Lazy]:
    """A block whose writes are undone if it raises — with a SAVEPOINT sent only when it is needed:
    just before the block's first statement that writes (or a savepoint taken inside it). A block
    that only reads, and changes rows kept in memory or deferred to commit (``runtime.deferred``),
    costs no statement; if it raises, those are put back as they were when it began. Reads are not
    guarded: as for the reads before any savepoint, a read that fails fails the transaction.
    Statements run with ``execution_options(undo=False)`` (a round-robin turn) start no savepoint
    and stay taken. Yields the block, which its caller may ``settle``."""
    stack = conn.info.setdefault(_LAZY, [])
    lazy = _Lazy(deferred.mark(conn))
    stack.append(lazy)
    try:
        yield lazy
    except BaseException as exc:
        stack.remove(lazy)
        if lazy.nested is not None:
            if lazy.nested.is_active:
                lazy.nested.rollback()
        else:
            forget_written(conn)
        deferred.restore(conn, lazy.mark)
        if lazy.wrote and isinstance(exc, Exception) and not isinstance(exc, WriteNotUndone):
            raise WriteNotUndone("a step failed after its last write, which no savepoint guards",
                                 detail=str(exc)[:200]) from exc
        raise
    stack.remove(lazy)
    if lazy.nested is not None and lazy.nested.is_active:
        lazy.nested.commit()


def _start_savepoints(conn: sa.Connection) -> None:
    """Send the SAVEPOINTs the open blocks have not sent yet, outermost first (each one's own
    ``savepoint`` event must not start the next: that one would be sent, and nest, first)."""
    waiting = [lazy for lazy in conn.info.get(_LAZY) or ()
               if lazy.nested is None and not lazy.starting and not lazy.settled]
    for lazy in waiting:
        lazy.starting = True
    for lazy in waiting:
        lazy.nested = conn.begin_nested()


_WRITES = (sa.Insert, sa.Update, sa.Delete)


def begin_when_writing(conn: sa.Connection, clauseelement, _multiparams, _params, options) -> None:
    """``before_execute``: a statement that writes inside an open ``savepoint`` block sends its SAVEPOINT."""
    if not conn.info.get(_LAZY) or not isinstance(clauseelement, _WRITES) or options.get("undo") is False:
        return
    if clauseelement.get_execution_options().get("undo") is False:
        return
    for lazy in conn.info[_LAZY]:
        if lazy.settled and lazy.nested is None:
            lazy.wrote = True
    _start_savepoints(conn)


def in_savepoint_block(conn: sa.Connection) -> bool:
    """Whether a ``savepoint`` block whose rollback would undo a write now is open on ``conn`` (its
    SAVEPOINT sent or not; a settled block without one undoes nothing)."""
    return any(lazy.nested is not None or not lazy.settled for lazy in conn.info.get(_LAZY) or ())


def begin_before_savepoint(conn: sa.Connection, _name) -> None:
    """``savepoint`` (first listener): a savepoint taken inside an open block nests in the block's."""
    if conn.info.get(_LAZY):
        _start_savepoints(conn)


def constrained(ft: FormTable, rows: Sequence[Mapping[str, Any]], conn: sa.Connection | None = None) -> bool:
    """Whether writing ``rows`` can violate a constraint: a value for a unique field or a link — but
    not a link to a record ``conn``'s transaction created and still has (the row is there and
    nobody else can delete it before the commit: its foreign key holds)."""
    kept = written(conn) if conn is not None else None
    for key, target in once(ft, _constraining):
        for values in rows:
            value = values.get(key)
            if value in (None, "", []):
                continue
            if not (kept and target is not None and isinstance(value, int) and (target, value) in kept
                    and (target, "created", value) in kept):
                return True
    return False


def _constraining(ft: FormTable) -> tuple[tuple[str, sa.Table | None], ...]:
    """(key, the one table its foreign key names, else None) of each unique or link field of ``ft``, for
    ``constrained`` (worked out once per form table: walking every field's definition cost more than
    the rest of the check)."""
    out = []
    for f in ft.spec.fields:
        if not (f.unique or f.widget.value_kind == "link"):
            continue
        col = ft.columns.get(f.key) if not f.unique else None
        targets = [fk.column.table for fk in col.foreign_keys] if col is not None else []
        out.append((f.key, targets[0] if len(targets) == 1 else None))
    return tuple(out)


def time_as_read(value: datetime) -> datetime:
    """A time as a timestamp column gives it back: aware, in UTC."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _reads_back(col: sa.Column, value: Any) -> bool:
    """Whether reading ``value`` back from ``col`` certainly gives ``value`` itself."""
    if value is None:
        return True
    kind = col.type
    if isinstance(value, bool):
        return isinstance(kind, sa.Boolean)
    if isinstance(value, int):
        return isinstance(kind, sa.Integer)
    if isinstance(value, str):
        return isinstance(kind, sa.String) and not isinstance(kind, sa.Enum)
    if isinstance(value, datetime):
        return isinstance(kind, UTCDateTime) and value.tzinfo is not None and value.utcoffset().total_seconds() == 0
    return False


def copy_record(record: Mapping[str, Any], keys: Iterable[str] | None = None) -> dict[str, Any]:
    """A copy the caller may change (multi-values and sub-table rows included): the record copied
    whole, then its lists (most values are not; a copy that tested each value in Python cost
    several times the copy). ``keys``: the only fields that may hold a list (``_list_keys``)."""
    out = dict(record)
    for k in out if keys is None else keys:
        v = out.get(k)
        if isinstance(v, list):
            out[k] = [dict(x) if isinstance(x, dict) else x for x in v]
    return out


def _list_keys(ft: FormTable) -> tuple[str, ...]:
    """The fields of ``ft``'s records that may hold a list: many-valued fields, sub-tables and the columns
    of any type but text, numbers, booleans and times (JSON), worked out once per form table (``once``)
    for ``copy_record``, which testing every field of a record read from memory made a tenth of a read."""
    return (*ft.multi, *ft.children, *(k for k, col in ft.columns.items() if _read_types(col) is None))


def _read_types(col: sa.Column) -> tuple | None:
    """The Python types whose values written to ``col`` read back exactly (text, integers, floats,
    booleans, dates, UTC times) — converted by ``_as_column_read`` where the read changes them (an
    integer comes back from a float column as a float, a time aware in UTC); None for any other
    column."""
    kind = col.type
    if isinstance(kind, sa.Enum):
        return None
    if isinstance(kind, sa.String):
        return (str,)
    if isinstance(kind, sa.Boolean):
        return (bool,)
    if isinstance(kind, sa.Integer):
        return (int,)
    if isinstance(kind, sa.Float) and not kind.asdecimal:
        return (int, float)
    if isinstance(kind, UTCDateTime):
        return (datetime,)
    if isinstance(kind, sa.Date) and not isinstance(kind, sa.DateTime):
        return (date,)
    return None


def _as_column_read(col: sa.Column, values: list) -> list | None:
    """``values`` written to ``col`` as reading them back gives them, or None when one of them is
    not certain (a value of another type; NaN, which comes back NULL)."""
    allowed = _read_types(col)
    if allowed is None:
        return None
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if not kinds.issubset(allowed):
        return None
    if float in kinds and not all(isfinite(v) for v in values if v is not None):
        return None
    if int in kinds and allowed == (int, float):   # a REAL / double precision column gives a float
        return [v if v is None else float(v) for v in values]
    if datetime in kinds:
        out, last, done = [], None, None
        for v in values:   # a batch's one timestamp is converted once
            if v is not last:
                last, done = v, (v if v is None else time_as_read(v))
            out.append(done)
        return out
    return values


def _insert_returning(ft: FormTable) -> sa.Insert:
    """``INSERT INTO table ... RETURNING`` the record's columns, its values given as execute parameters,
    built once per form table (``once``): a statement built per create with ``.values(dict)`` cost a
    third of the create's INSERT in Python (coercing each value, then a new cache key), and
    SQLAlchemy's compiled cache already keys on the parameter names."""
    return sa.insert(ft.table).returning(*ft.row_columns)


def _next_ids(ft: FormTable) -> sa.Select:
    """The statement drawing ``n`` ids from the form table's sequence for a bulk write (PostgreSQL; built
    once per table, ``once``; a single create's comes from ``deferred.new_id``), the sequence looked up
    once: in a subquery kept apart by its OFFSET, which a plain ``nextval(pg_get_serial_sequence(...))``
    over a series is not, and PostgreSQL then looks the sequence up by name for every id drawn — five
    to six times the cost of drawing them (about 50 ms of server time per 10,000 ids)."""
    name = postgresql.dialect().identifier_preparer.format_table(ft.table)
    seq = sa.select(sa.func.pg_get_serial_sequence(name, "id").label("seq")).offset(0).subquery("seq")
    series = sa.func.generate_series(1, sa.bindparam("n", type_=sa.Integer)).table_valued("i")
    return sa.select(sa.func.nextval(seq.c.seq)).select_from(seq).join(series, sa.true())


def _by_id(ft: FormTable) -> sa.Select:
    """The record's row by its id (the parameter ``rid``), built once per form table (``once``): built per
    read, its construction and cache key cost more than running it on SQLite."""
    return sa.select(*ft.row_columns).where(ft.table.c.id == sa.bindparam("rid"))


def _by_ids(ft: FormTable) -> sa.Select:
    """The rows of the records ``ids`` (an expanding parameter), in id order; built once per form table."""
    t = ft.table
    return sa.select(*ft.row_columns).where(t.c.id.in_(sa.bindparam("ids", expanding=True))).order_by(t.c.id)


def _child_reads(ft: FormTable) -> tuple[tuple, tuple]:
    """The reads of ``to_records``, built once per form table: (key, query) of each multi-value field,
    (key, child table, query) of each sub-table, each for the records ``ids`` (an expanding parameter)."""
    ids = sa.bindparam("ids", expanding=True)
    multi = tuple((key, sa.select(mt.table.c.record_id, mt.table.c.value).where(mt.table.c.record_id.in_(ids))
                   .order_by(mt.table.c.record_id, mt.table.c.position)) for key, mt in ft.multi.items())
    children = tuple((key, ct, sa.select(ct.table).where(ct.table.c.record_id.in_(ids))
                      .order_by(ct.table.c.record_id, ct.table.c.position)) for key, ct in ft.children.items())
    return multi, children


def _updates(ft: FormTable) -> tuple[sa.Update, sa.Update]:
    """The UPDATE of record ``:rid`` returning its row, without and with the optimistic check of its
    version (``:expected``), built once per form table (``once``): the columns it sets are the
    execute parameters named as columns (SQLAlchemy compiles, and caches, one form per set of them),
    plus the version's increment."""
    t = ft.table
    stmt = (sa.update(t).where(t.c.id == sa.bindparam("rid")).values(row_version=t.c.row_version + 1)
            .returning(*ft.row_columns))
    return stmt, stmt.where(t.c.row_version == sa.bindparam("expected"))


#: rows a bulk write makes its records as read for at a time while it copies them in (``RecordStore._insert_many``)
READ_PAGE = 500


def _has_rows(ft: FormTable, values: Mapping[str, Any]) -> bool:
    """Whether ``values`` give ``ft``'s sub-tables or many-valued fields rows of their own."""
    return any(values.get(k) for k in ft.multi) or any(values.get(k) for k in ft.children)


#: what ``_as_column_read`` does to one value of a column: nothing, a float column's (an integer read back
#: as a float, a NaN or infinity uncertain), a UTC time column's (``time_as_read``)
_AS_IS, _FLOAT_READ, _TIME_READ = 0, 1, 2


def _read_plan(ft: FormTable) -> tuple[tuple[str, bool, tuple | None, int], ...]:
    """For ``_row_as_read``, worked out once per form table (``once``): each column but the id as (its
    name as plain text, whether it has a default, the types whose values read back as written
    (``_read_types``), what ``_as_column_read`` does to a value of it). Asking the column's type each
    time was most of the cost of keeping a new record's row."""
    plan = []
    for col in ft.row_columns:
        if col.name == "id":
            continue
        allowed = _read_types(col)
        converts = (_AS_IS if allowed is None else _TIME_READ if datetime in allowed
                    else _FLOAT_READ if float in allowed else _AS_IS)
        plan.append((str(col.name), col.default is not None or col.server_default is not None, allowed, converts))
    return tuple(plan)


def _row_as_read(ft: FormTable, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The row inserted with ``params`` (column → value) as reading it back gives it, but its id; None
    when a value's read is not certain (``_as_column_read``, here for one value at a time) or a
    column left out has a default."""
    row = {}
    for name, has_default, allowed, converts in once(ft, _read_plan):
        if name not in params:
            if has_default:
                return None
            row[name] = None
            continue
        value = params[name]
        if value is not None:
            if allowed is None or type(value) not in allowed:
                return None
            if converts == _FLOAT_READ:
                if type(value) is float:
                    if not isfinite(value):
                        return None
                else:
                    value = float(value)
            elif converts == _TIME_READ:
                value = time_as_read(value)
        row[name] = value
    return row


def _column_names(ft) -> dict[str, str]:
    """Field key → its column's name as plain text, worked out once per form table: SQLAlchemy names a
    column with a ``quoted_name``, a str subclass that orjson refuses as a key, so a row written at
    commit (``runtime.deferred``) whose keys were such names took a failed encoding and then orjson's
    slower one for keys that are no strings (twice in every create of a record and its related one)."""
    return {key: str(col.name) for key, col in ft.columns.items()}


class RecordStore:
    """Stateless helpers bound to a connection; one per unit of work."""

    def __init__(self, conn: sa.Connection):
        self.conn = conn
        #: (table, ids, the records as read or None) of the last ``bulk_create``, for ``created_records``
        self._bulk: tuple | None = None

    # -- writing ---------------------------------------------------------------
    def _scalar_params(self, ft: FormTable, values: Mapping[str, Any]) -> dict[str, Any]:
        names = once(ft, _column_names)
        return {names[k]: v for k, v in values.items() if k in names}

    def create(self, ft: FormTable, values: Mapping[str, Any], *, now: datetime, actor: int | None) -> int:
        """One INSERT (the search document goes in the same row; SQLite's FTS triggers index it), at
        commit where it can wait (``_insert_later``)."""
        params = self._scalar_params(ft, values)
        params[SEARCH_COLUMN] = search.document(ft, values)
        params.update(created_at=now, updated_at=now, created_by=actor, updated_by=actor, row_version=1)
        row = self._insert_later(ft, values, params)
        if row is None:
            if (ahead := deferred.reserved_id(self.conn, ft.table)) is not None:
                params["id"] = ahead   # drawn ahead: with its serial number, or with the write that expected it
            row = self.conn.execute(once(ft, _insert_returning), params).mappings().one()
        rid = row["id"]
        written(self.conn, create=True)[(ft.table, "created", rid)] = True
        data_written(self.conn, ft.form_id)
        self._write_children(ft, rid, values, replace=False)
        self._keep(ft, row, values, {})
        return rid

    def _insert_later(self, ft: FormTable, values: Mapping[str, Any], params: dict[str, Any]) -> dict | None:
        """PostgreSQL: draw the new record's id and insert its row when the transaction commits
        (``runtime.deferred.insert``), with the changes the rest of the transaction makes to it (a
        rule's fields, a flow's due times) merged in: the row is written once, where an INSERT now
        and an UPDATE at commit wrote a second version of it, in every index. Returns the row as
        reading it gives it (``_row_as_read``). Only where nothing can differ from inserting now:
        no sub-table row or many-valued field's value (their rows need the record's row now; a rule
        adding some later writes the pending row first, ``deferred._autoflush``), no value a constraint checks
        (``constrained``: it would fail at commit, not here), every value one that reads back as it
        is. Otherwise None: the caller inserts now."""
        if (self.conn.dialect.name != "postgresql" or _has_rows(ft, values)
                or constrained(ft, [values], self.conn)):
            return None
        row = _row_as_read(ft, params)
        if row is None:
            return None
        row["id"] = deferred.new_id(self.conn, ft.table)
        deferred.insert(self.conn, ft.table, {**params, "id": row["id"]})
        return row

    def bulk_create(self, ft: FormTable, rows: Sequence[Mapping[str, Any]], *, now: datetime,
                    actor: int | None, read: bool = False, meanwhile: Callable[[], Any] | None = None) -> list[int]:
        """The main rows in as few statements as the database takes (``_insert_many``), one executemany
        per child table. ``read``: the caller will ask for the records (``created_records``), which are
        then made as the rows are written. ``meanwhile``: the caller's work to do while the server
        takes in the last rows (on PostgreSQL once every row has gone to the COPY, before its end;
        it must send no statement), after the rows on SQLite."""
        if not rows:
            return []
        keys = list(ft.columns)
        # every column in every row (None for a field without a value), in one order: the fields', then the
        # system columns' and the search document's
        names = [c.name for c in ft.columns.values()] + [*SYSTEM_COLUMNS[1:], SEARCH_COLUMN]
        stamps = [now, now, actor, actor, 1]
        at = len(keys)   # where created_at is

        def row(values: Mapping[str, Any]) -> list:
            get = values.get
            p = [get(k) for k in keys]
            p += stamps
            p.append(search.document(ft, values))
            if "created_at" in values:   # imports and demo data keep their own creation time
                p[at] = p[at + 1] = values["created_at"]
            return p

        ids, records = self._insert_many(ft, map(row, rows), rows, names,
                                         read and not (ft.multi or ft.children), meanwhile)
        data_written(self.conn, ft.form_id)
        if ft.multi or ft.children:
            for rid, values in zip(ids, rows):
                self._write_children(ft, rid, values, replace=False)
        self._bulk = (ft.table, ids, records)
        return ids

    def _insert_many(self, ft: FormTable, made: Iterator[list], rows: Sequence[Mapping[str, Any]],
                     names: list[str], read: bool,
                     meanwhile: Callable[[], Any] | None = None) -> tuple[list[int], list[dict] | None]:
        """Insert the rows ``made`` makes of ``rows`` (each the values of the columns ``names``), returning
        their ids in order and, if ``read``, the records as reading them gives them (``_as_read``; None
        when that is not certain).

        PostgreSQL: the ids are drawn from the table's sequence first (one statement), then the rows,
        ids included, are copied in (``db.insert_rows``: one ``COPY``) as they are made: the server
        inserts the rows sent while the next ones (their search documents) are made. A multi-row
        ``INSERT ... RETURNING`` instead costs several times as much: psycopg parses each page's
        statement of thousands of placeholders in Python, and the server plans it anew. The server
        takes longer to store the rows (their search vectors) than the client to make them, so the
        records as read are made there too, a page of ``READ_PAGE`` at a time between rows, while
        the server takes in the rows sent before, instead of after the COPY.

        SQLite: multi-row INSERTs without RETURNING (``db.insert_rows``: one statement per page keeps
        the FTS5 trigger from flushing the index once per row). Form tables are ``AUTOINCREMENT``:
        SQLite gives each new row the larger of the largest id and the table's ``sqlite_sequence``
        entry, plus one; this transaction holds the database's write lock and sends no id, so the
        rows get the consecutive ids after that (checked against the largest id afterwards)."""
        t = ft.table
        if self.conn.dialect.name != "sqlite":
            ids = sorted(self.conn.execute(once(ft, _next_ids), {"n": len(rows)}).scalars().all())
            page: list[list] = []
            records: list[dict] | None = [] if read else None
            names = [*names, "id"]

            def read_page() -> None:
                nonlocal records
                if records is not None and page:
                    done = self._as_read(ft, ids[len(records):len(records) + len(page)], page, names)
                    if done is None:
                        records = None
                    else:
                        records.extend(done)
                page.clear()

            def numbered() -> Iterator[list]:
                for rid, p in zip(ids, made):
                    p.append(rid)
                    if records is not None:
                        if len(page) == READ_PAGE:
                            read_page()
                        page.append(p)
                    yield p
                # every row has gone; the server is still taking them in (it stores them slower
                # than they are made): the last records as read, and the caller's work, go now
                read_page()
                if meanwhile is not None:
                    meanwhile()
            insert_rows(self.conn, t, numbered(), names=names, binary=self._copy_types(ft, rows, names))
            return ids, records
        params = list(made)
        top = sa.select(sa.func.coalesce(sa.func.max(t.c.id), 0))
        seq = self.conn.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = ?", (t.name,)).scalar()
        first = max(self.conn.execute(top).scalar_one(), seq or 0) + 1
        insert_rows(self.conn, t, params, names=names)
        last = self.conn.execute(top).scalar_one()
        if last - first + 1 != len(params):  # not a consecutive range (cannot happen under the write lock)
            raise RuntimeError(f"{ft.key}: {len(params)} rows inserted but ids {first}..{last}")
        ids = list(range(first, last + 1))
        if meanwhile is not None:
            meanwhile()
        return ids, self._as_read(ft, ids, params, names) if read else None

    def _copy_types(self, ft: FormTable, rows: Sequence[Mapping[str, Any]], names: list[str]) -> list[str] | None:
        """The column types to copy a bulk write's rows in binary as (``db.insert_rows``), when every
        column has one and every field value (and creation time kept by an import) is of its
        column's Python type (``_read_types``: what the form engine cleans values to); None otherwise.
        The other columns' values are the write's own: its time, actor, version, search document, id."""
        types = [copy_type(self.conn, ft.table.c[name]) for name in names]
        if None in types:
            return None
        given = [(key, _read_types(col)) for key, col in ft.columns.items()]
        if any(values.get("created_at") is not None for values in rows):
            given.append(("created_at", (datetime,)))
        for key, allowed in given:
            kinds = {type(values.get(key)) for values in rows}
            kinds.discard(type(None))
            if allowed is None or not kinds.issubset(allowed):
                return None
        return types

    def update(self, ft: FormTable, rid: int, values: Mapping[str, Any], *, expected_version: int | None,
               now: datetime, actor: int | None, before: Mapping[str, Any] | None = None) -> int:
        """Write ``values``; returns the new row version; raises StaleRecord on a version mismatch.

        When a searchable field changes, the search document is rewritten in the same UPDATE, from
        ``before`` (the record as read by the caller) merged with ``values``."""
        t = ft.table
        params = self._scalar_params(ft, values)
        if search.touches(ft, values):
            if before is None:
                before = self.get(ft, rid)
            params[SEARCH_COLUMN] = search.document(ft, {**before, **values})
        deferred_version = self._update_later(ft, rid, values, params, expected_version, now, actor)
        if deferred_version is not None:
            return deferred_version
        params.update(updated_at=now, updated_by=actor, rid=rid, expected=expected_version)
        stmt = once(ft, _updates)[expected_version is not None]
        row = self.conn.execute(stmt, params).mappings().first()
        data_written(self.conn, ft.form_id)
        if row is None:
            current = self.conn.execute(sa.select(t.c.row_version).where(t.c.id == rid)).scalar()
            if current is None:
                raise RecordNotFound(f"{ft.key} record {rid} does not exist", form=ft.key, id=rid)
            raise StaleRecord(f"{ft.key} record {rid} was changed by someone else (version {current}, "
                              f"you sent {expected_version}); reload it and apply your change again",
                              form=ft.key, id=rid, current_version=current)
        self._write_children(ft, rid, values, replace=True)
        kept = written(self.conn)
        self._keep(ft, row, values, kept.get((t, rid)) if kept is not None else None)
        return row["row_version"]

    def _update_later(self, ft: FormTable, rid: int, values: Mapping[str, Any], params: dict[str, Any],
                      expected_version: int | None, now: datetime, actor: int | None) -> int | None:
        """A record this transaction created, changed again (a rule's or an automatic step's fields):
        the change goes to the kept copy and to one UPDATE at commit with the row's other changes
        (``runtime.deferred.update``), and the new row version is returned. Only where nothing can
        differ from writing at once: no sub-table or multi-value rows, no unique or link value (a
        constraint would fail at commit, not here), values that read back as they are (text,
        integers, booleans, UTC times). Otherwise None: the caller writes now."""
        t = ft.table
        kept = written(self.conn)
        record = kept.get((t, rid)) if kept is not None else None
        if (record is None or (t, "created", rid) not in kept or set(values) & (set(ft.multi) | set(ft.children))
                or constrained(ft, [values])):
            return None
        stored = {}
        for key, value in values.items():
            col = ft.columns.get(key)
            if col is None or not _reads_back(col, value):
                return None
            stored[key] = value
        if expected_version is not None and expected_version != record["row_version"]:
            raise StaleRecord(f"{ft.key} record {rid} was changed by someone else (version "
                              f"{record['row_version']}, you sent {expected_version}); reload it and apply "
                              "your change again", form=ft.key, id=rid, current_version=record["row_version"])
        version = record["row_version"] + 1
        stamp = time_as_read(now)
        deferred.update(self.conn, t, rid, {**params, "updated_at": stamp, "updated_by": actor, "row_version": version})
        data_written(self.conn, ft.form_id)
        kept[(t, rid)] = {**record, **stored, "updated_at": stamp, "updated_by": actor, "row_version": version}
        return version

    def delete(self, ft: FormTable, rid: int, *, expected_version: int | None = None) -> None:
        t = ft.table
        stmt = sa.delete(t).where(t.c.id == rid)
        if expected_version is not None:
            stmt = stmt.where(t.c.row_version == expected_version)
        data_written(self.conn, ft.form_id)
        # child rows go first: SQLite enforces ON DELETE CASCADE only with foreign_keys=ON per connection
        for mt in ft.multi.values():
            self.conn.execute(sa.delete(mt.table).where(mt.table.c.record_id == rid))
        for ct in ft.children.values():
            self.conn.execute(sa.delete(ct.table).where(ct.table.c.record_id == rid))
        kept = written(self.conn)
        if kept is not None:
            kept.pop((t, rid), None)
        if self.conn.execute(stmt).rowcount == 0:
            current = self.conn.execute(sa.select(t.c.row_version).where(t.c.id == rid)).scalar()
            if current is None:
                raise RecordNotFound(f"{ft.key} record {rid} does not exist", form=ft.key, id=rid)
            raise StaleRecord(f"{ft.key} record {rid} was changed by someone else; reload it",
                              form=ft.key, id=rid, current_version=current)

    def _write_children(self, ft: FormTable, rid: int, values: Mapping[str, Any], *, replace: bool) -> None:
        for key, mt in ft.multi.items():
            if key not in values:
                continue
            if replace:
                self.conn.execute(sa.delete(mt.table).where(mt.table.c.record_id == rid))
            items = values[key] or []
            if items:
                self.conn.execute(sa.insert(mt.table),
                                  [{"record_id": rid, "position": i, "value": v} for i, v in enumerate(items)])
        for key, ct in ft.children.items():
            if key not in values:
                continue
            self._write_rows(ct, rid, values[key] or [], replace=replace)

    def _write_rows(self, ct, rid: int, rows: list[Mapping[str, Any]], *, replace: bool) -> None:
        """Sub-table rows keep their ids: rows with a known id are updated, new ones inserted, missing ones deleted."""
        t = ct.table
        existing = set()
        if replace:
            existing = set(self.conn.execute(sa.select(t.c.id).where(t.c.record_id == rid)).scalars())
        kept = set()
        names = once(ct, _column_names)
        for pos, row in enumerate(rows):
            params = {names[k]: v for k, v in row.items() if k in names}
            params["position"] = pos
            row_id = row.get("id")
            if isinstance(row_id, int) and row_id in existing:
                self.conn.execute(sa.update(t).where(t.c.id == row_id).values(params))
                kept.add(row_id)
            else:
                params["record_id"] = rid
                self.conn.execute(sa.insert(t).values(params))
        gone = existing - kept
        if gone:
            self.conn.execute(sa.delete(t).where(t.c.id.in_(gone)))

    def created_records(self, ft: FormTable, ids: Sequence[int]) -> list[dict[str, Any]]:
        """The records ``ids`` the last ``bulk_create`` wrote, as reading them would give them, and kept
        for the rest of the transaction (``keep_created``: the rules' reads and changes of them stay in
        memory). Made from the values written (by ``bulk_create`` asked to ``read``) when every one of
        them reads back as itself (text, numbers, booleans, dates, UTC times: ``_read_types``) and the
        form has no multi-value or sub-table field; read back in one query otherwise. The records
        answered are the ones kept: the caller reads them, and hands whoever may change one a
        ``copy_record`` of it."""
        bulk, self._bulk = self._bulk, None
        records = None
        if bulk is not None and bulk[0] is ft.table and list(bulk[1]) == list(ids):
            records = bulk[2]
        if records is None:
            records = self.by_ids(ft, ids)
        self.keep_created(ft, records)
        return records

    @staticmethod
    def _as_read(ft: FormTable, ids: Sequence[int], params: Sequence[Sequence], names: Sequence[str]) -> list[dict] | None:
        """``to_records`` of the rows just inserted with ``params`` (the values of the columns
        ``names``), without reading them, column by column; None when a value's read is not certain."""
        keys, columns = ["id"], [list(ids)]
        named = [(name, name, ft.table.c[name]) for name in SYSTEM_COLUMNS[1:]]
        named += [(key, col.name, col) for key, col in ft.columns.items()]
        written = dict(zip(names, zip(*params)))
        for key, name, col in named:
            values = _as_column_read(col, list(written[name]))
            if values is None:
                return None
            keys.append(key)
            columns.append(values)
        return [dict(zip(keys, row)) for row in zip(*columns)]

    def keep_created(self, ft: FormTable, records: Sequence[dict[str, Any]]) -> None:
        """Keep records this transaction created in bulk, as just read back (whole: with their
        multi-values; not for forms with sub-tables, whose rows ``get`` reads): the records themselves,
        which the caller no longer changes: copying each of an import's records here (7 ms per 10,000)
        was for the few that listeners are handed, and may change."""
        if ft.children:
            return
        kept = written(self.conn, create=True)
        table = ft.table
        for record in records:
            kept[(table, record["id"])] = record
            kept[(table, "created", record["id"])] = True

    def _keep(self, ft: FormTable, row: Mapping[str, Any], values: Mapping[str, Any],
              before: Mapping[str, Any] | None) -> None:
        """Keep the record as written: the returned row, the multi-values written (or, on an update
        that did not send them, those ``before`` holds; none for a new record). Forms with sub-tables are read back instead (their
        rows get ids in the database)."""
        if ft.children:
            return
        kept = written(self.conn, create=True)
        record = self.to_records(ft, [row], children=False)[0]
        for key in ft.multi:
            if key in values:
                record[key] = list(values[key] or [])
            elif before is not None:
                record[key] = list(before.get(key) or [])
            else:
                kept.pop((ft.table, row["id"]), None)
                return
        kept[(ft.table, row["id"])] = record

    # -- reading ---------------------------------------------------------------
    def get(self, ft: FormTable, rid: int) -> dict[str, Any]:
        kept = written(self.conn)
        if kept is not None and (ft.table, rid) in kept:
            return copy_record(kept[(ft.table, rid)], once(ft, _list_keys))
        row = self.conn.execute(once(ft, _by_id), {"rid": rid}).mappings().first()
        if row is None:
            raise RecordNotFound(f"{ft.key} record {rid} does not exist", form=ft.key, id=rid)
        return self.to_records(ft, [row])[0]

    def by_ids(self, ft: FormTable, ids: Sequence[int]) -> list[dict[str, Any]]:
        """The records ``ids``, in id order, in one query (and one per child table)."""
        rows = self.conn.execute(once(ft, _by_ids), {"ids": list(ids)}).mappings()
        return self.to_records(ft, rows)

    def to_records(self, ft: FormTable, rows: Iterable[Mapping[str, Any]], *,
                   children: bool = True) -> list[dict[str, Any]]:
        """Physical rows → records keyed by field key; child values fetched in one query per child table
        (not with ``children=False``)."""
        out = []
        for row in rows:
            rec = {k: row[k] for k in SYSTEM_COLUMNS}
            for key, col in ft.columns.items():
                rec[key] = row[col.name]
            out.append(rec)
        if children and out and (ft.multi or ft.children):
            ids = {"ids": [r["id"] for r in out]}
            by_id = {r["id"]: r for r in out}
            multi_reads, child_reads = once(ft, _child_reads)
            for key, q in multi_reads:
                for r in out:
                    r[key] = []
                for record_id, value in self.conn.execute(q, ids):
                    by_id[record_id][key].append(value)
            for key, ct, q in child_reads:
                for r in out:
                    r[key] = []
                for crow in self.conn.execute(q, ids).mappings():
                    child = {"id": crow["id"]}
                    child.update({k: crow[c.name] for k, c in ct.columns.items()})
                    by_id[crow["record_id"]][key].append(child)
        return out

    def select(self, ft: FormTable, *, where: sa.ColumnElement | None = None,
               order_by: Sequence[sa.ColumnElement] = (), limit: int | None = None,
               offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """A page of records and the total count matching ``where``."""
        t = ft.table
        base = sa.select(*ft.row_columns)
        count = sa.select(sa.func.count()).select_from(t)
        if where is not None:
            base = base.where(where)
            count = count.where(where)
        total = self.conn.execute(count).scalar_one()
        q = base.order_by(*order_by, t.c.id.desc() if not order_by else t.c.id).offset(offset)
        if limit is not None:
            q = q.limit(limit)
        rows = self.conn.execute(q).mappings().all()
        return self.to_records(ft, rows), total

    def stream(self, ft: FormTable, *, where: sa.ColumnElement | None = None,
               order_by: Sequence[sa.ColumnElement] = (), batch: int = 500):
        """The records matching ``where`` in ``select``'s order, as lists of up to ``batch`` records,
        read from one streamed query (a server-side cursor on PostgreSQL): exports of any size."""
        t = ft.table
        q = sa.select(*ft.row_columns).order_by(*order_by, t.c.id.desc() if not order_by else t.c.id)
        if where is not None:
            q = q.where(where)
        result = self.conn.execution_options(stream_results=True, yield_per=batch).execute(q).mappings()
        for part in result.partitions(batch):
            yield self.to_records(ft, part)
