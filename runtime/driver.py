"""Hot statements sent straight through the driver's cursor: the few every write request runs in
autocommit (a Bearer token's lookup, a serial number's or a round-robin turn's counter bump, id draws:
``first``) and a transaction's one statement at commit (``execute_autocommit``). SQLAlchemy's Core
execution around each (the compiled cache's key, parameter processing, the execution context, the
result's metadata) cost about as much client CPU as the driver's own work.

The statement is compiled by SQLAlchemy once per (statement, dialect), with its bind and result
processors, so values go in and come out exactly as ``Connection.execute`` would give them; psycopg
prepares it on the server as it would any statement (from its fifth run on a connection). The
engine's ``before_cursor_execute`` listeners are told as for any statement (statement counters, a
background statement that must finish first: ``db.wire_background``), with no execution context.
A driver error comes out as SQLAlchemy's ``DBAPIError``, and a connection the error broke is
invalidated, as ``Connection.execute`` does.

The statements of one server connection go through one cursor, kept with the connection (``_CURSOR``).

Only for connections in autocommit, which run no transaction: nothing here begins, flushes
(``runtime.deferred``) or tracks one. ``first`` on a connection in a transaction, or on another
database than PostgreSQL (SQLite's statements cost little), takes SQLAlchemy's path.
"""
from __future__ import annotations

import functools
from collections import namedtuple
from typing import Any, Callable, NamedTuple

import sqlalchemy as sa


class _Plan(NamedTuple):
    sql: str
    compiled: Any
    binds: dict[str, Callable]
    results: tuple[Callable | None, ...]
    row: type


@functools.lru_cache(maxsize=512)
def _plan(stmt: sa.Executable, dialect: sa.Dialect) -> _Plan:
    compiled = stmt.compile(dialect=dialect)
    columns = compiled._result_columns
    results = tuple(c[3]._cached_result_processor(dialect, None) for c in columns)
    binds = {k: v for k, v in (compiled._bind_processors or {}).items() if v is not None}
    return _Plan(compiled.string, compiled, binds, results,
                 namedtuple("Row", [c[0] for c in columns], rename=True))


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


def execute_autocommit(conn: sa.Connection, stmt: sa.Executable, params: dict[str, Any]) -> None:
    """``conn.execute(stmt, params)`` of a statement that returns no rows, on a PostgreSQL connection whose
    driver connection the caller has put in autocommit for it (``deferred.flush``: a transaction's one
    statement, sent as a transaction of its own)."""
    _send(conn, _plan(stmt, conn.dialect), params, fetch=False)


def _send(conn: sa.Connection, plan: _Plan, params: dict[str, Any], *, fetch: bool) -> tuple | None:
    values = plan.compiled.construct_params(params)
    for key, process in plan.binds.items():
        if key in values:
            values[key] = process(values[key])
    fairy = conn.connection
    dbapi_conn = fairy.driver_connection
    cursor = fairy.info.get(_CURSOR)
    if cursor is None or cursor.connection is not dbapi_conn or cursor.closed:
        cursor = fairy.info[_CURSOR] = dbapi_conn.cursor()
    try:
        conn.dispatch.before_cursor_execute(conn, cursor, plan.sql, values, None, False)
        cursor.execute(plan.sql, values)
        return cursor.fetchone() if fetch else None
    except conn.dialect.loaded_dbapi.Error as error:
        broken = conn.dialect.is_disconnect(error, dbapi_conn, cursor)
        if broken:
            conn.invalidate(error)
        raise sa.exc.DBAPIError.instance(plan.sql, values, error, conn.dialect.loaded_dbapi.Error,
                                         connection_invalidated=broken) from error


#: the connection record's ``info`` key of the cursor the driver's statements go through, one per server
#: connection for as long as it lives (an invalidated connection's ``info`` is cleared with it): a new
#: cursor per statement looked up its parameters' dumpers and its columns' loaders again each time,
#: about a fifth of the client's CPU for a one-row statement
_CURSOR = "jimu_driver_cursor"
