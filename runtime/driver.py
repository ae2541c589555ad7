"""Hot statements sent straight through the driver's cursor: the few every write request runs in
autocommit (a Bearer token's lookup, a serial number's or a round-robin turn's counter bump, id draws:
``first``) and a transaction's one statement at commit (``execute_alone``). SQLAlchemy's Core
execution around each (the compiled cache's key, parameter processing, the execution context, the
result's metadata) cost about as much client CPU as the driver's own work.

The statement is compiled by SQLAlchemy once per (statement, dialect), with its bind and result
processors, so values go in and come out exactly as ``Connection.execute`` would give them. It goes
to libpq itself (``_run``), its parameters as text, prepared on the server from its second run on a
connection; its row's columns come back through psycopg's conversions, as the cursor's would. The
engine's ``before_cursor_execute`` listeners are told as for any statement (statement counters, a
background statement that must finish first: ``db.wire_background``), with no execution context.
A driver error comes out as SQLAlchemy's ``DBAPIError``, and a connection the error broke is
invalidated, as ``Connection.execute`` does.

What a server connection needs for this (``_Server``) is kept with it (``_SERVER``).

Only for connections in autocommit, which run no transaction: nothing here begins, flushes
(``runtime.deferred``) or tracks one. ``first`` on a connection in a transaction, or on another
database than PostgreSQL (SQLite's statements cost little), takes SQLAlchemy's path.
"""
from __future__ import annotations

import functools
import itertools
import re
from collections import namedtuple
from typing import Any, Callable, NamedTuple

import sqlalchemy as sa

try:
    from psycopg import errors as pg_errors, pq
    from psycopg.adapt import Transformer
except ImportError:   # an installation for SQLite alone: nothing here runs
    pg_errors = pq = Transformer = None


class _Slot(NamedTuple):
    """A parameter of a statement: the key a caller passes it by, its name in the statement, its value
    when the caller passes none (``_REQUIRED`` when it must), and SQLAlchemy's bind processor for it."""
    key: str
    name: str
    value: Any
    process: Callable | None


_REQUIRED = object()


class _Plan(NamedTuple):
    sql: str
    compiled: Any
    binds: dict[str, Callable]
    results: tuple[Callable | None, ...]
    row: type
    #: the statement as the server prepares it (``$1``, ``$2``...), its parameters' names in that order, and
    #: the name it is prepared under on each server connection (``_Server``)
    numbered: bytes
    order: tuple[str, ...]
    name: bytes
    #: its parameters in that order (``_values``); None for one that ``construct_params`` must work out
    #: (a list expanded into the statement, a value from a callable, a name the statement escapes)
    slots: tuple[_Slot, ...] | None


#: a placeholder of the driver's paramstyle (``%(name)s``), or an escaped percent sign
_PLACEHOLDER = re.compile(r"%\(([^)]+)\)s|%%")
_NAMES = itertools.count(1)


def _numbered(sql: str) -> tuple[bytes, tuple[str, ...]]:
    """SQLAlchemy's text for psycopg (``%(name)s``, ``%%``) as the server takes it (``$1``, ``%``), and the
    parameters' names by number (a name used twice is one number)."""
    order: list[str] = []
    index: dict[str, int] = {}

    def number(m: re.Match) -> str:
        if m.group(1) is None:
            return "%"
        if m.group(1) not in index:
            order.append(m.group(1))
            index[m.group(1)] = len(order)
        return f"${index[m.group(1)]}"
    return _PLACEHOLDER.sub(number, sql).encode(), tuple(order)


@functools.lru_cache(maxsize=512)
def _plan(stmt: sa.Executable, dialect: sa.Dialect) -> _Plan:
    compiled = stmt.compile(dialect=dialect)
    columns = compiled._result_columns
    results = tuple(c[3]._cached_result_processor(dialect, None) for c in columns)
    binds = {k: v for k, v in (compiled._bind_processors or {}).items() if v is not None}
    numbered, order = _numbered(compiled.string)
    return _Plan(compiled.string, compiled, binds, results, namedtuple("Row", [c[0] for c in columns], rename=True),
                 numbered, order, b"jimu_%d" % next(_NAMES), _slots(compiled, order, binds))


def _slots(compiled, order: tuple[str, ...], binds: dict[str, Callable]) -> tuple[_Slot, ...] | None:
    if (compiled.escaped_bind_names or compiled._render_postcompile
            or (compiled._collect_params and compiled._collected_params)):
        return None
    by_name = {name: bind for bind, name in compiled.bind_names.items()}
    slots = []
    for name in order:
        bind = by_name.get(name)
        if bind is None or bind.expanding or bind.callable is not None:
            return None
        slots.append(_Slot(bind.key, name, _REQUIRED if bind.required else bind.value, binds.get(name)))
    return tuple(slots)


def _values(plan: _Plan, params: dict[str, Any]) -> dict[str, Any]:
    """The statement's parameters by name, processed, as ``compiled.construct_params`` and the bind
    processors give them: a caller's value by its key (or by the statement's name for it), else the
    statement's own. ``construct_params`` itself (which raises for a required value not given, and
    works out what ``_slots`` leaves to it) took as long as the rest of a one-row statement's Python."""
    if plan.slots is not None:
        values: dict[str, Any] = {}
        for key, name, value, process in plan.slots:
            if key in params:
                value = params[key]
            elif name in params:
                value = params[name]
            elif value is _REQUIRED:
                break
            values[name] = value if process is None else process(value)
        else:
            return values
    values = plan.compiled.construct_params(params)
    for key, process in plan.binds.items():
        if key in values:
            values[key] = process(values[key])
    return values


def compiled_plans() -> int:
    """How many statements have been compiled here so far (each once, unless pushed out of the cache)."""
    return _plan.cache_info().misses


def first(conn: sa.Connection, stmt: sa.Executable, params: dict[str, Any]) -> tuple | None:
    """``conn.execute(stmt, params).first()`` with SQLAlchemy's execution left out: the first row (its
    columns by name and position) or None."""
    if conn.dialect.name != "postgresql" or conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        return conn.execute(stmt, params).first()
    plan = _plan(stmt, conn.dialect)
    got = _send(conn, plan, params, fetch=True)
    if got is None:
        return None
    return plan.row(*(v if process is None else process(v) for v, process in zip(got, plan.results)))


def execute_alone(conn: sa.Connection, stmt: sa.Executable, params: dict[str, Any]) -> None:
    """``conn.execute(stmt, params)`` of a statement that returns no rows, as a transaction of its own, on a
    PostgreSQL connection in a transaction that has sent nothing yet (``deferred.flush``: a transaction's
    one statement). libpq sends it with no BEGIN before it; psycopg's cursor, which would send one,
    takes it in autocommit (setting that costs as much as the statement's own Python, so only then)."""
    _send(conn, _plan(stmt, conn.dialect), params, fetch=False, alone=True)


class _Server:
    """What the driver keeps with one server connection: the cursor the engine's listeners are shown (and
    that takes a statement whose values ``_text`` does not write), psycopg's value conversions for the
    columns of its rows (``Transformer``, the connection's own adapters), and its plans seen once and
    prepared."""
    __slots__ = ("dbapi_conn", "cursor", "transformer", "seen", "prepared")

    def __init__(self, dbapi_conn):
        self.dbapi_conn = dbapi_conn
        self.cursor = dbapi_conn.cursor()
        self.transformer = Transformer(dbapi_conn)
        self.seen: set[bytes] = set()
        self.prepared: set[bytes] = set()


def _text(values: list) -> list[bytes | None] | None:
    """The parameters in the server's text form, for the types the hot statements take (text, integers,
    booleans, None), each of which SQLAlchemy casts in the statement (``%(x)s::INTEGER``) or a function
    argument types; None when one is of another type, or text psycopg would refuse (a NUL character):
    the cursor takes those."""
    out: list[bytes | None] = []
    for v in values:
        t = type(v)
        if t is str or (t is not bool and t is not int and isinstance(v, str)):   # str, or a name SQLAlchemy quotes
            if "\x00" in v:
                return None
            out.append(v.encode())
        elif v is None:
            out.append(None)
        elif t is int:
            out.append(b"%d" % v)
        elif t is bool:
            out.append(b"t" if v else b"f")
        else:
            return None
    return out


def _send(conn: sa.Connection, plan: _Plan, params: dict[str, Any], *, fetch: bool,
          alone: bool = False) -> tuple | None:
    values = _values(plan, params)
    fairy = conn.connection
    dbapi_conn = fairy.driver_connection
    server = fairy.info.get(_SERVER)
    if server is None or server.dbapi_conn is not dbapi_conn:
        server = fairy.info[_SERVER] = _Server(dbapi_conn)
    try:
        conn.dispatch.before_cursor_execute(conn, server.cursor, plan.sql, values, None, False)
        text = _text([values[k] for k in plan.order])
        if text is None:
            return _through_cursor(server, plan, values, fetch, alone)
        result = _run(server, plan, text)
        if not fetch or result.ntuples == 0:
            return None
        server.transformer.set_pgresult(result)
        return server.transformer.load_row(0, tuple)
    except conn.dialect.loaded_dbapi.Error as error:
        broken = conn.dialect.is_disconnect(error, dbapi_conn, server.cursor)
        if broken:
            conn.invalidate(error)
        raise sa.exc.DBAPIError.instance(plan.sql, values, error, conn.dialect.loaded_dbapi.Error,
                                         connection_invalidated=broken) from error


def _through_cursor(server: _Server, plan: _Plan, values: dict[str, Any], fetch: bool, alone: bool) -> tuple | None:
    if alone:
        server.dbapi_conn.autocommit = True
    try:
        server.cursor.execute(plan.sql, values)
        return server.cursor.fetchone() if fetch else None
    finally:
        if alone:
            server.dbapi_conn.autocommit = False


def _run(server: _Server, plan: _Plan, text: list[bytes | None]):
    """The statement's result, from libpq itself: its first run on a server connection as an unnamed
    statement, the next ones prepared (a statement a connection runs once is not prepared in a round
    trip of its own). psycopg's cursor (its query conversion, preparation bookkeeping, result
    selection and waits in Python) cost about half again as much client CPU for a one-row statement.
    The call blocks in libpq with the interpreter's lock released, as a sync worker's request does
    anyway; a statement prepared before but gone from the server (``DEALLOCATE``) is prepared again."""
    pgconn = server.dbapi_conn.pgconn
    if plan.name not in server.prepared:
        if plan.name not in server.seen:
            server.seen.add(plan.name)
            return _check(pgconn.exec_params(plan.numbered, text), server)
        _check(pgconn.prepare(plan.name, plan.numbered), server)
        server.prepared.add(plan.name)
    result = pgconn.exec_prepared(plan.name, text)
    if result.error_field(_SQLSTATE) == _NO_SUCH_STATEMENT:
        _check(pgconn.prepare(plan.name, plan.numbered), server)
        result = pgconn.exec_prepared(plan.name, text)
    return _check(result, server)


_OK = frozenset({pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK}) if pq is not None else frozenset()
_SQLSTATE = pq.DiagnosticField.SQLSTATE if pq is not None else None
_NO_SUCH_STATEMENT = b"26000"   # invalid_sql_statement_name


def _check(result, server: _Server):
    """``result``, or psycopg's error for it (as its cursor would raise it)."""
    if result.status in _OK:
        return result
    raise pg_errors.error_from_result(result, encoding=server.dbapi_conn.info.encoding)


#: the connection record's ``info`` key of what the driver keeps with a server connection (``_Server``) for
#: as long as it lives (an invalidated connection's ``info`` is cleared with it): a new cursor per statement
#: looked up its parameters' dumpers and its columns' loaders again each time
_SERVER = "jimu_driver_server"
