"""Coercion of filter values to the Python type of the column they are compared with.

Values from a definition or a dashboard always travel as bound parameters.
Coercing them first turns a wrong value (``'{1}'`` against a number field)
into a clean ``report.bad_value`` instead of a database error, and makes
SQLite and PostgreSQL compare the same things.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from .exceptions import ReportError
from .fields import Field

_INT_RE = re.compile(r"^[+-]?\d+$")


def coerce(field: Field, value: Any) -> Any:
    """``value`` as the field's column type, or ``ReportError`` code ``report.bad_value``."""
    target = field.python_type
    if value is None:
        return None
    if isinstance(value, (dict, list, tuple, set)):
        raise _bad(field, value, "a single value")
    try:
        if target in (int, float, Decimal):
            return _number(value)
        if target is str:
            if isinstance(value, bool):
                raise ValueError
            return value if isinstance(value, str) else str(value)
        if target is dt.datetime:
            value = _datetime(value)
            if value.tzinfo is not None and not _aware_column(field):
                # a column of naive date-times holds UTC: compare the same instant
                value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
            return value
        if target is dt.date:
            return _date(value)
        if target is bool:
            return _bool(value)
    except (ValueError, TypeError, InvalidOperation):
        raise _bad(field, value, _EXPECTED.get(target, "a value of the field's type")) from None
    return value


_EXPECTED = {int: "a number", float: "a number", Decimal: "a number", str: "text",
             dt.datetime: "an ISO date-time such as 2026-11-22T10:00", dt.date: "an ISO date such as 2026-11-22",
             bool: "true or false"}


def _bad(field: Field, value: Any, expected: str) -> ReportError:
    return ReportError(f"value {value!r} for field {field.ref!r} must be {expected}",
                       code="report.bad_value", field=field.ref, value=repr(value)[:80])


def _aware_column(field: Field) -> bool:
    kind = field.column.type
    kind = getattr(kind, "impl_instance", None) or getattr(kind, "impl", kind)
    return bool(getattr(kind, "timezone", False))


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if _INT_RE.match(text):
            return int(text)
        number = Decimal(text)
        if not number.is_finite():
            raise ValueError
        return float(number)
    raise ValueError


def _datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    raise ValueError


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10]) if len(value) > 10 else dt.date.fromisoformat(value)
    raise ValueError


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ValueError
