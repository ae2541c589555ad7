"""Date buckets as a sequence: the bucket after a label, the bucket an instant falls in.

The database labels buckets (``dialects.DateBucket``: hour ``2026-11-22 10:00``, day
``2026-11-22``, week ``2026-11-16`` (its Monday), month ``2026-11``, quarter ``2026-Q4``,
year ``2026``); a trend over them must also show the buckets that have no rows (a day
without records is a zero, not a gap the line jumps across) and say which bucket is the
current one, still filling up. Both are done here on the labels, in Python.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterator

from .dialects import check_timezone

#: the buckets that follow one another in time (hour of day and weekday repeat: nothing to fill)
SEQUENTIAL = frozenset({"hour", "day", "week", "month", "quarter", "year"})
#: never insert more buckets than this between the first and the last row (a decade of days)
MAX_FILLED = 4000


def start_of(unit: str, label: str) -> dt.datetime | None:
    """The first instant (naive, in the buckets' zone) of the bucket ``label``; None if it is not one."""
    try:
        if unit == "hour":
            return dt.datetime.strptime(label, "%Y-%m-%d %H:%M")
        if unit in ("day", "week"):
            return dt.datetime.strptime(label, "%Y-%m-%d")
        if unit == "month":
            return dt.datetime.strptime(label, "%Y-%m")
        if unit == "quarter":
            year, q = label.split("-Q")
            return dt.datetime(int(year), 3 * int(q) - 2, 1)
        if unit == "year":
            return dt.datetime(int(label), 1, 1)
    except (TypeError, ValueError, AttributeError):
        return None
    return None


def label_of(unit: str, moment: dt.datetime) -> str:
    """The label of the bucket a naive local instant falls in."""
    if unit == "hour":
        return moment.strftime("%Y-%m-%d %H:00")
    if unit == "day":
        return moment.strftime("%Y-%m-%d")
    if unit == "week":
        return (moment.date() - dt.timedelta(days=moment.weekday())).isoformat()
    if unit == "month":
        return moment.strftime("%Y-%m")
    if unit == "quarter":
        return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"
    return str(moment.year)


def _after(unit: str, start: dt.datetime) -> dt.datetime:
    if unit == "hour":
        return start + dt.timedelta(hours=1)
    if unit == "day":
        return start + dt.timedelta(days=1)
    if unit == "week":
        return start + dt.timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[unit]
    m = start.month - 1 + months
    return start.replace(year=start.year + m // 12, month=m % 12 + 1, day=1)


def between(unit: str, first: str, last: str) -> Iterator[str]:
    """The labels from ``first`` to ``last`` inclusive (nothing when either is not a label)."""
    a, b = start_of(unit, first), start_of(unit, last)
    if a is None or b is None:
        return
    n = 0
    while a <= b and n <= MAX_FILLED:
        yield label_of(unit, a)
        a = _after(unit, a)
        n += 1


def current(unit: str, now: dt.datetime, tz: str) -> str:
    """The label of the bucket ``now`` (an aware instant) falls in, on the calendar of zone ``tz``."""
    local = now.astimezone(check_timezone(tz)) if now.tzinfo is not None else now
    return label_of(unit, local.replace(tzinfo=None))
