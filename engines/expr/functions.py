"""The fixed function library. Each entry says its arity and what it does (zh-CN/en),
which is what the builder's autocomplete lists, what ``expr.js`` mirrors and what
docs/expressions.md is tested against. The library is one ``Registry``
(``engines.registry``, kind ``expr_function``) like every other extension point.

Functions receive the ``EvalContext`` first: ``now()`` and ``today()`` read
the injectable clock, ``workdays_between`` the business calendar.
"""
from __future__ import annotations

import calendar as _calendar
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo

from ..registry import Registry
from .errors import ExprEvalError, ExprLimitError, ExprTypeError
from .values import (WHITESPACE, MAX_SAFE_INT, MAX_STRING, _to_dt, as_utc, check, equal, is_empty, is_number, order,
                     temporal, type_name)

def _no_check(args: list[dict], fail: Callable[[str], Exception]) -> None:
    return None


@dataclass(frozen=True)
class Function:
    """One library function. ``check(args, fail)`` runs at compile time on the argument trees
    (``raise fail(message)`` makes it an ``expr.unknown_function`` error with a position), so a
    mistake shows when the definition is validated, not on every save."""

    name: str
    impl: Callable[..., Any]
    min_args: int
    max_args: int | None
    doc: dict[str, str]
    check: Callable[[list[dict], Callable[[str], Exception]], None] = _no_check

    @property
    def type(self) -> str:
        """The registry key: the name the expression calls."""
        return self.name

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "min_args": self.min_args, "max_args": self.max_args, "doc": self.doc}

FUNCTIONS: Registry[Function] = Registry("expr_function")

def function(name: str, min_args: int, max_args: int | None, zh: str, en: str, check=_no_check):
    def register(impl):
        FUNCTIONS.register(Function(name, impl, min_args, max_args, {"zh-CN": zh, "en": en}, check))
        return impl
    return register

def _text(value: Any, fn: str) -> str:
    if not isinstance(value, str):
        raise ExprTypeError(f"{fn}() needs text, not {type_name(value)}")
    return value

def _number(value: Any, fn: str) -> int | float:
    if not is_number(value):
        raise ExprTypeError(f"{fn}() needs a number, not {type_name(value)}")
    return value

def _local_tz(ctx) -> ZoneInfo | timezone:
    if not ctx.tz or ctx.tz == "UTC":
        return timezone.utc
    zone = _ZONES.get(ctx.tz)
    if zone is not None:
        return zone
    try:
        zone = _ZONES[ctx.tz] = ZoneInfo(ctx.tz)
        return zone
    except Exception:  # ZoneInfoNotFoundError is a KeyError; a malformed key a ValueError
        raise ExprEvalError(f"unknown time zone {ctx.tz!r}") from None

_ZONES: dict[str, ZoneInfo] = {}

# -- dates and durations ---------------------------------------------------------------

@function("now", 0, 0, "当前时间", "the current date and time")
def _now(ctx):
    return ctx.current_time()

@function("today", 0, 0, "今天的日期(按时区)", "today's date in the context's time zone")
def _today(ctx):
    return ctx.current_time().astimezone(_local_tz(ctx)).date()

@function("hours_between", 2, 2, "两个时间之间的小时数(b − a)", "hours from a to b (b − a)")
def _hours_between(ctx, a, b):
    if a is None or b is None:
        return None
    return (_to_dt(temporal(b, "hours_between()")) - _to_dt(temporal(a, "hours_between()"))) \
        .total_seconds() / 3600

@function("days_between", 2, 2, "两个日期之间的天数(b − a)", "calendar days from a to b (b − a)")
def _days_between(ctx, a, b):
    if a is None or b is None:
        return None
    da, db = (_as_date(ctx, temporal(x, "days_between()")) for x in (a, b))
    return (db - da).days

def _as_date(ctx, value: date | datetime) -> date:
    return value.astimezone(_local_tz(ctx)).date() if isinstance(value, datetime) else value

@function("workdays_between", 2, 2, "两个日期之间的工作日数(按工作日历, 不含起始日)",
          "working days from a to b on the business calendar (start day excluded)")
def _workdays_between(ctx, a, b):
    if a is None or b is None:
        return None
    da, db = (_as_date(ctx, temporal(x, "workdays_between()")) for x in (a, b))
    sign = 1
    if db < da:
        da, db, sign = db, da, -1
    if (db - da).days > 366 * 100:
        raise ExprLimitError("workdays_between() spans more than 100 years")
    # the days after a up to and including b; the calendar only says which days are working days,
    # so the count follows this library's rule with or without one
    working = _is_working_day(ctx)
    days = 0
    d = da
    while d < db:
        d += timedelta(days=1)
        if working(d):
            days += 1
    return sign * days

def _is_working_day(ctx) -> Callable[[date], bool]:
    """The calendar's working days, else Monday to Friday (what the browser evaluator uses)."""
    if ctx.calendar is not None:
        return ctx.calendar.is_working_day
    return lambda d: d.weekday() < 5

def _calendar_literal(args: list[dict], fail) -> None:
    if len(args) == 3 and not (args[2]["t"] == "lit" and isinstance(args[2]["v"], str) and args[2]["v"]):
        raise fail("working_minutes() names its business calendar by key as text, e.g. "
                   "working_minutes(提交时间, 完成时间, \"office\")")


@function("working_minutes", 2, 3, "两个时间之间的工作时间分钟数(按工作日历的上班时段, b − a)",
          "minutes of working time from a to b on a business calendar (its working hours, holidays and "
          "extra working days); the calendar is named by key or is the context's default",
          check=_calendar_literal)
def _working_minutes(ctx, a, b, calendar=None):
    if a is None or b is None:
        return None
    if calendar is not None:
        cal = (ctx.calendars or {}).get(calendar)
        if cal is None:
            raise ExprEvalError(f"working_minutes(): no business calendar {calendar!r} is installed; add it to "
                                "the package's calendars or name one that is", code="expr.unknown_calendar",
                                calendar=calendar)
    else:
        cal = ctx.calendar
        if cal is None:
            raise ExprEvalError("working_minutes() needs a business calendar here: name one, e.g. "
                                "working_minutes(a, b, \"office\")", code="expr.unknown_calendar")
    da, db = (_to_dt(temporal(x, "working_minutes()")) for x in (a, b))
    if abs((db - da).days) > 366 * 10:
        raise ExprLimitError("working_minutes() spans more than 10 years")
    minutes = cal.working_time_between(da, db).total_seconds() / 60
    return int(minutes) if float(minutes).is_integer() else minutes


_UNITS = ("minutes", "hours", "days", "weeks", "months", "years")

@function("date_add", 2, 3, "日期加上数量, 单位 minutes/hours/days/weeks/months/years/workdays, 默认 days",
          "add an amount to a date; unit minutes/hours/days/weeks/months/years/workdays, default days")
def _date_add(ctx, value, amount, unit="days"):
    if value is None or amount is None:
        return None
    value = temporal(value, "date_add()")
    amount = _number(amount, "date_add")
    if unit not in (*_UNITS, "workdays"):
        raise ExprEvalError(f"date_add() unit must be one of {', '.join(_UNITS)}, workdays; not {unit!r}")
    if abs(amount) > 100_000:
        raise ExprLimitError("date_add() amount is too large")
    try:
        if unit in ("months", "years"):
            months = int(amount) * (12 if unit == "years" else 1)
            y, m = divmod(value.month - 1 + months, 12)
            year = value.year + y
            day = min(value.day, _calendar.monthrange(year, m + 1)[1])
            return value.replace(year=year, month=m + 1, day=day)
        if unit == "workdays":
            step, working = (1 if amount >= 0 else -1), _is_working_day(ctx)
            left, cur = abs(int(amount)), value
            while left:
                cur += timedelta(days=step)
                if working(_as_date(ctx, cur)):
                    left -= 1
            return cur
        delta = timedelta(**{unit: amount})
        if isinstance(value, datetime) or unit in ("days", "weeks") and float(amount).is_integer():
            return value + delta
        return _to_dt(value) + delta
    except (OverflowError, ValueError) as exc:
        raise ExprEvalError(f"date_add(): {exc}") from None

@function("year", 1, 1, "年份", "the year of a date")
def _year(ctx, value):
    return None if value is None else _as_date(ctx, temporal(value, "year()")).year

@function("month", 1, 1, "月份(1–12)", "the month of a date (1–12)")
def _month(ctx, value):
    return None if value is None else _as_date(ctx, temporal(value, "month()")).month

@function("weekday", 1, 1, "星期几(1=周一 … 7=周日)", "the weekday (1 = Monday … 7 = Sunday)")
def _weekday(ctx, value):
    return None if value is None else _as_date(ctx, temporal(value, "weekday()")).isoweekday()

# -- text ------------------------------------------------------------------------------

@function("contains", 2, 2, "文本包含子串, 或列表包含元素", "text contains a substring, or a list contains an item")
def _contains(ctx, haystack, needle):
    if haystack is None or needle is None:
        return False
    if isinstance(haystack, str):
        return _text(needle, "contains") in haystack
    if isinstance(haystack, (list, tuple)):
        return any(equal(needle, x) for x in haystack)
    raise ExprTypeError(f"contains() needs text or a list, not {type_name(haystack)}")

@function("startswith", 2, 2, "文本以前缀开头", "text starts with a prefix")
def _startswith(ctx, text, prefix):
    if text is None or prefix is None:
        return False
    return _text(text, "startswith").startswith(_text(prefix, "startswith"))

@function("endswith", 2, 2, "文本以后缀结尾", "text ends with a suffix")
def _endswith(ctx, text, suffix):
    if text is None or suffix is None:
        return False
    return _text(text, "endswith").endswith(_text(suffix, "endswith"))

@function("len", 1, 1, "文本的字符数或列表的元素数; 空值为 0", "characters of text or items of a list; 0 for empty")
def _len(ctx, value):
    if value is None:
        return 0
    if isinstance(value, (str, list, tuple)):
        return len(value)
    raise ExprTypeError(f"len() needs text or a list, not {type_name(value)}")

@function("lower", 1, 1, "转小写", "lower case")
def _lower(ctx, value):
    return None if value is None else _text(value, "lower").lower()

@function("upper", 1, 1, "转大写", "upper case")
def _upper(ctx, value):
    return None if value is None else _text(value, "upper").upper()

def _strip(text: str) -> str:
    return text.strip(WHITESPACE)

@function("trim", 1, 1, "去掉首尾空白", "strip leading and trailing white space")
def _trim(ctx, value):
    return None if value is None else _strip(_text(value, "trim"))

def _str(value: Any, fn: str = "text") -> str:
    """Text of a value: whole numbers without ``.0`` (up to 2**53, where the browser can tell),
    other floats as Python's ``repr``, datetimes in UTC with ``Z``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_SAFE_INT:
        return str(int(value))
    if isinstance(value, datetime):
        return as_utc(value).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return str(value)
    raise ExprTypeError(f"{fn}() cannot turn {type_name(value)} into text")

@function("concat", 1, None, "把各参数连成文本(空值为空串)", "join the arguments as text (empty for null)")
def _concat(ctx, *parts):
    out = "".join(_str(p, "concat") for p in parts)
    if len(out) > MAX_STRING:
        raise ExprLimitError(f"text longer than {MAX_STRING} characters")
    return out

@function("text", 1, 1, "转为文本", "convert to text")
def _text_fn(ctx, value):
    return _str(value, "text")

#: what number() accepts after trimming: ASCII decimal notation, nothing else (no "inf", no "1_000")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)

@function("number", 1, 1, "转为数字, 无法转换时为空", "convert to a number; null when it is not one")
def _number_fn(ctx, value):
    if value is None or is_number(value):
        return value
    if isinstance(value, str):
        text = _strip(value)
        if not _NUMBER.fullmatch(text):
            return None
        num = float(text)
        if math.isinf(num):
            return None
        return int(num) if num.is_integer() and abs(num) <= MAX_SAFE_INT else num
    raise ExprTypeError(f"number() cannot convert {type_name(value)}")

# -- math ------------------------------------------------------------------------------

@function("round", 1, 2, "四舍五入到 n 位小数(远离零)", "round half away from zero to n decimals")
def _round(ctx, value, digits=0):
    if value is None:
        return None
    value = _number(value, "round")
    digits = _number(digits, "round")
    if not isinstance(digits, int) or not 0 <= digits <= 10:
        raise ExprEvalError("round() digits must be an integer from 0 to 10")
    scale = 10 ** digits
    scaled = abs(value) * scale + 0.5
    if math.isinf(scaled):
        raise ExprLimitError("number is too large to round")
    result = math.copysign(math.floor(scaled), value) / scale
    return check(int(result) if digits == 0 else result)

def _collect(args: tuple, fn: str) -> list:
    items = list(args[0]) if len(args) == 1 and isinstance(args[0], (list, tuple)) else list(args)
    return [x for x in items if x is not None]

@function("min", 1, None, "最小值(参数或一个列表, 忽略空值)", "smallest of the arguments or of one list (nulls ignored)")
def _min(ctx, *args):
    items = _collect(args, "min")
    if not items:
        return None
    best = items[0]
    for x in items[1:]:
        if order("<", x, best):
            best = x
    return best

@function("max", 1, None, "最大值(参数或一个列表, 忽略空值)", "largest of the arguments or of one list (nulls ignored)")
def _max(ctx, *args):
    items = _collect(args, "max")
    if not items:
        return None
    best = items[0]
    for x in items[1:]:
        if order(">", x, best):
            best = x
    return best

@function("sum", 1, None, "求和(参数或一个列表, 忽略空值)", "sum of the arguments or of one list (nulls ignored)")
def _sum(ctx, *args):
    total = 0
    for x in _collect(args, "sum"):
        total = check(total + _number(x, "sum"))
    return total

@function("abs", 1, 1, "绝对值", "absolute value")
def _abs(ctx, value):
    return None if value is None else abs(_number(value, "abs"))

# -- logic -----------------------------------------------------------------------------

@function("coalesce", 1, None, "第一个非空的参数", "the first argument that is not empty")
def _coalesce(ctx, *args):
    for a in args:
        if not is_empty(a):
            return a
    return None

@function("is_empty", 1, 1, "为空(空值、空文本、空列表)", "is empty (null, blank text, empty list)")
def _is_empty(ctx, value):
    return is_empty(value)

def _user(ctx) -> Mapping[str, Any]:
    """``EvalContext.user`` is ``Principal.as_context()``; a bare id (text or number) is accepted too."""
    user = ctx.user
    if user is None:
        return {}
    if isinstance(user, Mapping):
        return user
    if isinstance(user, (str, int)) and not isinstance(user, bool):
        return {"id": user}
    raise ExprEvalError(f"the evaluation context has a user of type {type(user).__name__}")

@function("current_user", 0, 0, "当前用户的 ID", "the current user's id")
def _current_user(ctx):
    return _user(ctx).get("id")

@function("has_role", 1, 1, "当前用户拥有某角色", "the current user has a role")
def _has_role(ctx, role):
    roles = _user(ctx).get("roles") or ()
    if isinstance(roles, str):
        roles = (roles,)
    return any(equal(role, r) for r in roles)

# -- rules: elapsed time and aggregates over other records -------------------------------

@function("hours_since", 1, 1, "从某时间到现在的小时数", "hours from a date-time until now")
def _hours_since(ctx, value):
    if value is None:
        return None
    return (ctx.current_time() - _to_dt(temporal(value, "hours_since()"))).total_seconds() / 3600

def _aggregate(ctx, fn: str, form, field, filters, days):
    if ctx.aggregate is None:
        raise ExprEvalError(f"{fn}() is only available where records can be counted (rule conditions)")
    if not isinstance(form, str):
        raise ExprTypeError(f"{fn}() needs a form key as text, not {type_name(form)}")
    if filters is not None and not isinstance(filters, list):
        raise ExprTypeError(f"{fn}() needs filters as a list of [field, op, value] lists")
    if days is not None and not is_number(days):
        raise ExprTypeError(f"{fn}() needs the window in days as a number, not {type_name(days)}")
    return ctx.aggregate(fn, form, field, filters or [], days)

@function("count_records", 1, 3, "统计另一表单中符合条件的记录数 (表单, [[字段, 运算, 值]...], 最近天数)",
          "count another form's records matching [[field, op, value], ...] within the last N days")
def _count_records(ctx, form, filters=None, days=None):
    return _aggregate(ctx, "count", form, None, filters, days)

@function("sum_records", 2, 4, "对另一表单中符合条件的记录求和 (表单, 字段, [[字段, 运算, 值]...], 最近天数)",
          "sum a field over another form's records matching [[field, op, value], ...] within the last N days")
def _sum_records(ctx, form, field, filters=None, days=None):
    if not isinstance(field, str):
        raise ExprTypeError(f"sum_records() needs a field key as text, not {type_name(field)}")
    return _aggregate(ctx, "sum", form, field, filters, days)

#: ``if(condition, then, else)`` is compiled lazily (only the chosen branch runs), so it is
#: not an ordinary function; it is listed here for the builder and the docs.
IF_DOC = Function("if", lambda ctx, c, a, b=None: a if c else b, 2, 3,
                  {"zh-CN": "条件为真取第二个参数, 否则取第三个", "en": "the second argument when the condition holds, else the third"})
