"""The value semantics of the expression language, written once for Python.

``runtime/static/js/expr.js`` implements the same rules for the browser and the
shared corpus (``tests/engines/expr/corpus.json``) holds them together. The
rules are chosen so both sides can agree exactly:

* types: null (``None``), booleans, numbers (int/float, never bool), strings,
  lists, dates and datetimes; field values that are ISO strings compare with
  dates as dates;
* ``null`` propagates through arithmetic (an empty field makes a formula
  empty), ordering comparisons with ``null`` are false;
* booleans are not numbers: ``true + 1`` is ``expr.type``, ``true == 1`` false;
* integers stay within ±2**53 and floats finite, strings within
  ``MAX_STRING`` characters and lists within ``MAX_COLLECTION`` items;
* ``%`` and ``//`` follow Python (floor) semantics; ``/`` always divides as
  floats; ``round`` rounds half away from zero.
"""
from __future__ import annotations

import math
import operator
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

from simpleeval import MAX_STRING_LENGTH

from .errors import ExprEvalError, ExprLimitError, ExprTypeError

MAX_STRING = MAX_STRING_LENGTH
MAX_COLLECTION = 10_000
MAX_SAFE_INT = 2 ** 53
MAX_EXPONENT = 1_000


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, date):
        return "date"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "record"
    return type(value).__name__


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def truthy(value: Any) -> bool:
    """Python truthiness, which the browser evaluator copies (``[]`` and ``""`` are false)."""
    if isinstance(value, (date, datetime)):
        return True
    return bool(value)


#: what ``strip`` removes: Python's white space (``str.isspace``), which expr.js spells out
WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005" \
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, tuple, dict)) and len(value) == 0) \
        or (isinstance(value, str) and not value.strip(WHITESPACE))


def as_utc(value: datetime) -> datetime:
    if value.tzinfo is timezone.utc:
        return value
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


#: the ISO forms text may take to count as a date or datetime: ``2026-11-23``,
#: ``2026-11-23T08:00``, ``2026-11-23 08:00:00.5``, ``…Z``, ``…+08:00``; without an offset, UTC
_TEMPORAL = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})"
                       r"(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?", re.ASCII)


def parse_temporal(text: str) -> date | datetime | None:
    """An ISO date (``2026-11-23``) or datetime (``2026-11-23T08:00:00Z``), else None.

    Only the forms of ``_TEMPORAL`` count (not the many more ``fromisoformat`` takes),
    so that the browser evaluator can accept exactly the same texts."""
    m = _TEMPORAL.fullmatch(text.strip(WHITESPACE))
    if m is None:
        return None
    y, mo, d, hh, mi, ss, frac, off = m.groups()
    try:
        if hh is None:
            return date(int(y), int(mo), int(d))
        tz = timezone.utc
        if off and off != "Z":
            sign = -1 if off[0] == "-" else 1
            oh, om = int(off[1:3]), int(off[-2:])
            if oh > 23 or om > 59:
                return None
            tz = timezone(sign * timedelta(hours=oh, minutes=om))
        value = datetime(int(y), int(mo), int(d), int(hh), int(mi), int(ss or 0),
                         int((frac or "0").ljust(6, "0")), tzinfo=tz)
        return as_utc(value)
    except (ValueError, OverflowError):
        return None


def temporal(value: Any, where: str = "value") -> date | datetime:
    """Coerce a date, datetime or ISO string; anything else is ``expr.type``."""
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        parsed = parse_temporal(value)
        if parsed is not None:
            return parsed
    raise ExprTypeError(f"{where} must be a date or datetime, not {type_name(value)} {value!r:.40}")


def _align(a: Any, b: Any) -> tuple[Any, Any]:
    """Make two temporal operands comparable: strings parse, a date meets a datetime at 00:00 UTC."""
    a_t = isinstance(a, (date, datetime))
    b_t = isinstance(b, (date, datetime))
    if a_t and isinstance(b, str):
        b, b_t = temporal(b), True
    elif b_t and isinstance(a, str):
        a, a_t = temporal(a), True
    if a_t and b_t:
        a, b = _to_dt(a), _to_dt(b)
    return a, b


def _to_dt(v: date | datetime) -> datetime:
    if isinstance(v, datetime):
        return as_utc(v)
    return datetime(v.year, v.month, v.day, tzinfo=timezone.utc)


def equal(a: Any, b: Any) -> bool:
    ta = type(a)
    if ta is type(b) and (ta is str or ta is int or ta is float):
        return a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if a is None or b is None:
        return a is None and b is None
    if is_number(a) and is_number(b):
        return a == b
    try:
        a, b = _align(a, b)
    except ExprTypeError:  # a date and text that is not a date: simply not equal
        return False
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if type_name(a) != type_name(b):
        return False
    return a == b


_ORDER_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def order(op: str, a: Any, b: Any) -> bool:
    """``<``, ``<=``, ``>``, ``>=``: false when either side is null, type error across types."""
    if a is None or b is None:
        return False
    ta, tb = type(a), type(b)
    if (ta is int or ta is float) and (tb is int or tb is float) or (ta is str and tb is str):
        return _ORDER_OPS[op](a, b)
    a, b = _align(a, b)
    ta, tb = type_name(a), type_name(b)
    if ta != tb or ta not in ("number", "text", "datetime"):
        raise ExprTypeError(f"cannot compare {ta} with {tb} using {op}")
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def member(item: Any, container: Any) -> bool:
    """``item in container``: a list holds items, text holds text, null holds nothing."""
    if container is None:
        return False
    if isinstance(container, str):
        if not isinstance(item, str):
            raise ExprTypeError(f"'in' on text needs text on the left, not {type_name(item)}")
        return item in container
    if isinstance(container, (list, tuple)):
        return any(equal(item, x) for x in container)
    raise ExprTypeError(f"'in' needs a list or text on the right, not {type_name(container)}")


def check(value: Any) -> Any:
    """Enforce the size bounds on a computed value."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INT:
            raise ExprLimitError(f"number {value:.3g} is larger than 2**53")
    elif isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ExprLimitError("number is too large or not a number")
    elif isinstance(value, str):
        if len(value) > MAX_STRING:
            raise ExprLimitError(f"text longer than {MAX_STRING} characters")
    elif isinstance(value, (list, tuple)):
        if len(value) > MAX_COLLECTION:
            raise ExprLimitError(f"list longer than {MAX_COLLECTION} items")
    return value


def _numbers(op: str, a: Any, b: Any) -> None:
    if not (is_number(a) and is_number(b)):
        raise ExprTypeError(f"{op} needs numbers, not {type_name(a)} and {type_name(b)}")


def arith(op: str, a: Any, b: Any) -> Any:
    """Binary arithmetic with null propagation and the bounds of ``check``."""
    if a is None or b is None:
        return None
    if op == "+":
        if isinstance(a, str) and isinstance(b, str):
            if len(a) + len(b) > MAX_STRING:
                raise ExprLimitError(f"text longer than {MAX_STRING} characters")
            return a + b
        if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
            if len(a) + len(b) > MAX_COLLECTION:
                raise ExprLimitError(f"list longer than {MAX_COLLECTION} items")
            return [*a, *b]
        _numbers(op, a, b)
        return check(a + b)
    _numbers(op, a, b)
    if op == "-":
        return check(a - b)
    if op == "*":
        return check(a * b)
    if op in ("/", "//", "%") and b == 0:
        raise ExprEvalError("division by zero", code="expr.zero_division")
    if op == "/":
        return check(a / b)
    if op in ("//", "%"):
        if not (isinstance(a, float) or isinstance(b, float)):
            return check(a // b if op == "//" else a % b)
        quotient = a / b
        if math.isinf(quotient):
            raise ExprLimitError("number is too large")
        return check(math.floor(quotient) if op == "//" else a - b * math.floor(quotient))
    if op == "**":
        if abs(b) > MAX_EXPONENT and abs(a) not in (0, 1):
            raise ExprLimitError(f"exponent larger than {MAX_EXPONENT}")
        if isinstance(a, int) and isinstance(b, int) and b >= 0 and abs(a) > 1 \
                and b * math.log2(abs(a)) > 54:
            raise ExprLimitError("number is larger than 2**53")
        try:
            result = float(a) ** b if b < 0 else a ** b
        except OverflowError:
            raise ExprLimitError("number is too large") from None
        except ZeroDivisionError:
            raise ExprEvalError("division by zero", code="expr.zero_division") from None
        if isinstance(result, complex):
            raise ExprEvalError("a negative number to a fractional power has no real value")
        return check(result)
    raise ExprTypeError(f"unknown operator {op}")  # pragma: no cover - the compiler never emits it


def negate(op: str, a: Any) -> Any:
    if op == "not":
        return not truthy(a)
    if a is None:
        return None
    if not is_number(a):
        raise ExprTypeError(f"unary {op} needs a number, not {type_name(a)}")
    return -a if op == "-" else a
