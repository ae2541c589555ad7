"""The database-specific SQL of the report engine, in one place.

Two constructs differ between SQLite and PostgreSQL:

* ``DateBucket(column, unit)``: the bucket label of a date, normalised to one
  ISO string on both databases (hour ``2026-11-22 10:00``, day ``2026-11-22``,
  week = ISO week start ``2026-11-16``, month ``2026-11``, quarter ``2026-Q4``,
  year ``2026``); and two cyclic buckets for peak hours: ``hour_of_day`` ``00``..``23``
  and ``weekday`` ``1`` (Monday)..``7`` (Sunday), ISO numbering on both. Format strings are constants of this module, rendered as SQL
  literals so SELECT and GROUP BY carry the identical expression (bound
  parameters would make PostgreSQL reject the GROUP BY).
* ``Median(column)``: ``percentile_cont(0.5)`` on PostgreSQL; on SQLite the
  ``jimu_median`` aggregate that ``register_sqlite_functions`` installs on each
  connection (the runtime hooks it to the engine's ``connect`` event).

Any other database raises ``report.unsupported_dialect`` when the query is compiled.
"""
from __future__ import annotations

import datetime as dt
import re
import statistics
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal

from .exceptions import ReportError

BUCKETS = ("hour", "day", "week", "month", "quarter", "year", "hour_of_day", "weekday")
#: buckets that repeat (every day has an hour 09): they name no one date range
CYCLIC_BUCKETS = frozenset({"hour_of_day", "weekday"})
#: buckets finer than a day, which a field of dates without time cannot fill
TIME_OF_DAY_BUCKETS = frozenset({"hour", "hour_of_day"})

_SQLITE_FORMATS = {"hour": "%Y-%m-%d %H:00", "day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y",
                   "hour_of_day": "%H"}
_PG_FORMATS = {"hour": "YYYY-MM-DD HH24:00", "day": "YYYY-MM-DD", "month": "YYYY-MM", "year": "YYYY",
               "quarter": 'YYYY-"Q"Q', "hour_of_day": "HH24", "weekday": "ID"}


_TZ_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$")


def check_timezone(name: str) -> ZoneInfo:
    """The zone of an IANA name (``Asia/Shanghai``); ``report.bad_timezone`` for anything else.

    The name is rendered into SQL as a literal on PostgreSQL, so only real zone names pass.
    """
    if not isinstance(name, str) or not _TZ_RE.match(name):
        raise ReportError(f"time zone {name!r} is not an IANA zone name such as Asia/Shanghai",
                          code="report.bad_timezone", timezone=repr(name)[:60])
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ReportError(f"unknown time zone {name!r}", code="report.bad_timezone", timezone=name) from None


class DateBucket(FunctionElement):
    """The ISO label of the bucket (``unit`` in ``BUCKETS``) a date or date-time falls in.

    Date-times are stored in UTC; ``tz`` names the zone whose calendar the buckets follow
    (a day in Asia/Shanghai starts at 16:00 UTC). PostgreSQL converts with the zone's rules;
    SQLite has no zone database, so it shifts by the zone's fixed standard offset (exact for
    zones without daylight saving time, such as China's). Dates are bucketed as they are.
    """

    type = sa.String()
    inherit_cache = True
    name = "jimu_date_bucket"
    # unit and zone change the SQL text, so they belong in the statement cache key
    _traverse_internals = FunctionElement._traverse_internals + [("unit", InternalTraversal.dp_string),
                                                                 ("tz", InternalTraversal.dp_string)]

    def __init__(self, column: sa.ColumnElement, unit: str, tz: str = "UTC"):
        if unit not in BUCKETS:
            raise ReportError(f"unknown date bucket {unit!r}; use one of {', '.join(BUCKETS)}",
                              code="report.unknown_bucket", bucket=repr(unit)[:40])
        check_timezone(tz)
        self.unit = unit
        self.tz = tz
        super().__init__(column)


def standard_offset_minutes(tz: str) -> int:
    """The zone's offset from UTC in January (its standard time), in minutes."""
    offset = check_timezone(tz).utcoffset(dt.datetime(2026, 1, 15, 12, 0))
    return int(offset.total_seconds() // 60) if offset else 0


def _is_date_only(col) -> bool:
    kind = getattr(col.type, "impl_instance", None) or getattr(col.type, "impl", col.type)
    try:
        return kind.python_type is dt.date
    except NotImplementedError:
        return False



class MinutesBetween(FunctionElement):
    """Minutes from ``earlier`` to ``later`` (two date-times) as a float; NULL if either is NULL.

    For process fields the runtime derives (first response, handling time).
    """

    type = sa.Float()
    inherit_cache = True
    name = "jimu_minutes_between"


@compiles(MinutesBetween, "sqlite")
def _minutes_sqlite(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 1440.0)"


@compiles(MinutesBetween, "postgresql")
def _minutes_pg(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({later}) - ({earlier})) / 60.0)"


class Median(FunctionElement):
    """The median (continuous: mean of the two middle values) of a numeric column."""

    type = sa.Float()
    inherit_cache = True
    name = "jimu_median"


def _column(element, compiler, **kw) -> str:
    return compiler.process(list(element.clauses)[0], **kw)


def _utc_column(element, compiler, **kw) -> str:
    """A timestamptz column read in UTC, so PostgreSQL buckets like SQLite (which stores UTC) whatever
    the session's TimeZone; naive timestamps and dates are taken as they are."""
    col = list(element.clauses)[0]
    kind = getattr(col.type, "impl", col.type)
    text = compiler.process(col, **kw)
    return f"timezone('UTC', {text})" if getattr(kind, "timezone", False) else text


@compiles(DateBucket, "sqlite")
def _bucket_sqlite(element, compiler, **kw):
    col = _column(element, compiler, **kw)
    column = list(element.clauses)[0]
    shift = 0 if _is_date_only(column) else standard_offset_minutes(element.tz)
    args = f"{col}, '{shift:+d} minutes'" if shift else col  # an int: nothing user-written reaches SQL
    if element.unit == "week":
        return f"strftime('%Y-%m-%d', {args}, '-6 days', 'weekday 1')"
    if element.unit == "quarter":
        return (f"(strftime('%Y', {args}) || '-Q' || "
                f"((CAST(strftime('%m', {args}) AS INTEGER) + 2) / 3))")
    if element.unit == "weekday":  # SQLite's %w counts from Sunday = 0; ISO from Monday = 1
        return f"CAST(((CAST(strftime('%w', {args}) AS INTEGER) + 6) % 7 + 1) AS TEXT)"
    return f"strftime('{_SQLITE_FORMATS[element.unit]}', {args})"


@compiles(DateBucket, "postgresql")
def _bucket_pg(element, compiler, **kw):
    column = list(element.clauses)[0]
    if _is_date_only(column) or element.tz == "UTC":
        col = _utc_column(element, compiler, **kw)
    else:
        check_timezone(element.tz)  # checked again where it becomes an SQL literal
        kind = getattr(column.type, "impl", column.type)
        text = compiler.process(column, **kw)
        aware = text if getattr(kind, "timezone", False) else f"timezone('UTC', {text})"
        col = f"timezone('{element.tz}', {aware})"
    if element.unit == "week":
        return f"to_char(date_trunc('week', {col}), 'YYYY-MM-DD')"
    return f"to_char({col}, '{_PG_FORMATS[element.unit]}')"


@compiles(Median, "postgresql")
def _median_pg(element, compiler, **kw):
    return f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {_column(element, compiler, **kw)})"


@compiles(Median, "sqlite")
def _median_sqlite(element, compiler, **kw):
    return f"jimu_median({_column(element, compiler, **kw)})"


@compiles(DateBucket)
@compiles(Median)
@compiles(MinutesBetween)
def _unsupported(element, compiler, **kw):
    raise ReportError(f"reports support SQLite and PostgreSQL, not {compiler.dialect.name}",
                      code="report.unsupported_dialect", dialect=compiler.dialect.name)


class _MedianAggregate:
    """SQLite aggregate behind ``jimu_median``: keeps the group's values, NULLs skipped."""

    def __init__(self):
        self.values: list[float] = []

    def step(self, value):
        if value is not None:
            self.values.append(value)

    def finalize(self):
        return float(statistics.median(self.values)) if self.values else None


def register_sqlite_functions(dbapi_connection, connection_record=None) -> None:
    """Install the report engine's SQLite functions on a new DB-API connection.

    Signature fits ``sqlalchemy.event.listen(engine, "connect", register_sqlite_functions)``.
    """
    dbapi_connection.create_aggregate("jimu_median", 1, _MedianAggregate)
