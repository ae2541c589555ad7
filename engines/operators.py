"""The one operator registry: what ``{"field", "op", "value"}`` means, everywhere.

Record-list filters (``runtime.store.query``), rule conditions
(``engines.rule.conditions``), report filters and measure filters
(``engines.report.filters``) and the drill-down filters a chart hands to the
record list all look operators up here, so one operator has one meaning. Each
operator is a class with a unique ``type``, a bilingual ``label``, the
``input`` it needs (``none``, ``scalar``, ``list``, ``pair``, ``days``) and
the value kinds it applies to (what the designers list), and two
implementations that agree:

* ``test(actual, expected, now)`` — Python, for a record in memory (rules);
* ``clause(column, value, now)`` — SQLAlchemy Core, for the database (lists,
  reports, aggregates), with the value bound as a parameter.

The semantics, chosen so that Python, SQLite and PostgreSQL give the same rows:

* **text matching is case-sensitive** (``contains``, ``not_contains``,
  ``contains_any``, ``contains_all``, ``startswith``), like ``==``, ``in`` and the expression
  functions ``contains()``/``startswith()``: case folding differs between
  Python, SQLite (ASCII only) and PostgreSQL (locale), so it is left out on
  purpose. ``lower(x)`` in an expression folds case where it is wanted;
* **empty** is null, empty text or an empty list (``is_empty``);
* **a list** (a multi-value field: checkboxes, several users or linked records) *contains* a value
  when one of its items equals it; ``contains_any``/``contains_all`` ask that of any/all of the
  values given (on text: any/all of the keywords occur); the record list compiles these to
  ``EXISTS`` over the field's value table (``runtime.store.query``);
* **null** satisfies ``ne``, ``not_in`` and ``not_contains`` and nothing else;
* **ordering** (``gt`` ... ``between``) compares numbers with numbers — money
  and decimal values (``Decimal``) included — texts with texts, dates with
  dates (ISO text compares as a date); comparing across kinds is a typed
  ``expr.type`` error, never a silent false;
* **within_days N** holds for a date or date-time in the last N days up to now:
  ``now − N days ≤ value ≤ now`` (for dates: the dates of those instants), so a
  future date is never "within the last days", in lists, rules, charts and
  drill-downs alike.

Operators register in one ``Registry`` (``engines.registry``) filled explicitly
below; a plugin registers more with ``OPERATORS.register`` (both implementations
are checked at registration).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from engines.expr.errors import ExprEvalError, ExprTypeError
from engines.expr.values import equal, order, parse_temporal, type_name
from engines.registry import Registry

ALL_KINDS = ("text", "number", "choice", "date", "bool", "link", "any")
MAX_LIST = 1000
MAX_DAYS = 36600


class Operator:
    """One operator. ``value_problem`` says what is wrong with a value for it (None: fine)."""

    type: str = ""
    label: dict[str, str] = {}
    input: str = "scalar"
    kinds: tuple[str, ...] = ALL_KINDS

    @classmethod
    def test(cls, actual: Any, expected: Any, now: dt.datetime | None = None) -> bool:  # pragma: no cover
        raise NotImplementedError

    @classmethod
    def clause(cls, column: sa.ColumnElement, value: Any, now: dt.datetime | None = None) -> sa.ColumnElement:
        raise NotImplementedError  # pragma: no cover - interface

    @classmethod
    def value_problem(cls, value: Any) -> str | None:
        shape = cls.input
        if shape == "list":
            if not isinstance(value, (list, tuple)):
                return f"operator {cls.type!r} needs a list of values"
            if len(value) > MAX_LIST:
                return f"operator {cls.type!r} takes at most {MAX_LIST} values"
        elif shape == "pair":
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                return f"operator {cls.type!r} needs a list of two values [low, high]"
        elif shape == "days":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_DAYS:
                return f"operator {cls.type!r} needs a number of days from 1 to {MAX_DAYS}"
        elif shape == "text":
            if not isinstance(value, str) or not value:
                return f"operator {cls.type!r} needs non-empty text"
        return None

    @classmethod
    def to_json(cls) -> dict[str, Any]:
        return {"type": cls.type, "label": cls.label, "input": cls.input, "kinds": list(cls.kinds)}


# -- value helpers -----------------------------------------------------------------------------

def plain(value: Any) -> Any:
    """Money and decimal values (``Decimal`` from NUMERIC columns) as numbers of the language."""
    return float(value) if type(value) is Decimal else value


def _ordered(op: str, a: Any, b: Any) -> bool:
    """``order`` on plain values: null is never ordered; other kinds mismatched are ``expr.type``."""
    a, b = plain(a), plain(b)
    if a is None or b is None:
        return False
    return order(op, a, b)


def _is_text(column: sa.ColumnElement) -> bool:
    kind = getattr(column.type, "impl_instance", None) or getattr(column.type, "impl", column.type)
    try:
        return kind.python_type is str
    except NotImplementedError:
        return False


def _as_text(column: sa.ColumnElement) -> sa.ColumnElement:
    return column if _is_text(column) else sa.cast(column, sa.Text)


class TextContains(FunctionElement):
    """``needle`` occurs in ``haystack``, case-sensitively (SQLite ``instr``, PostgreSQL ``strpos``)."""

    type = sa.Boolean()
    inherit_cache = True
    name = "jimu_text_contains"


@compiles(TextContains, "sqlite")
def _contains_sqlite(element, compiler, **kw):
    haystack, needle = (compiler.process(c, **kw) for c in element.clauses)
    return f"(instr({haystack}, {needle}) > 0)"


@compiles(TextContains)
def _contains_default(element, compiler, **kw):
    haystack, needle = (compiler.process(c, **kw) for c in element.clauses)
    return f"(strpos({haystack}, {needle}) > 0)"


def _sql_contains(column, text) -> sa.ColumnElement:
    return TextContains(_as_text(column), sa.bindparam(None, str(text), type_=sa.Text))


def _py_contains(actual: Any, needle: Any) -> bool:
    if actual is None or needle is None:
        return False
    if isinstance(actual, (list, tuple)):
        return any(equal(plain(x), plain(needle)) for x in actual)
    return str(needle) in (actual if isinstance(actual, str) else str(plain(actual)))


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, tuple, dict)) and len(value) == 0)


def _sql_empty(column) -> sa.ColumnElement:
    if _is_text(column):
        return sa.or_(column.is_(None), column == "")
    return column.is_(None)


def window(days: float, now: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    """[now − days, now] of ``within_days``; the clock is the caller's (engines never read it)."""
    if now is None:
        raise ExprEvalError("within_days needs the current time", code="operator.needs_now")
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    return now - dt.timedelta(days=days), now


def _py_within(actual: Any, days: Any, now: dt.datetime | None) -> bool:
    if actual is None:
        return False
    if isinstance(actual, str):
        parsed = parse_temporal(actual)
        if parsed is None:
            raise ExprTypeError(f"within_days needs a date or date-time, not text {actual!r:.40}")
        actual = parsed
    start, end = window(days, now)
    if isinstance(actual, dt.datetime):
        value = actual if actual.tzinfo else actual.replace(tzinfo=dt.timezone.utc)
        return start <= value <= end
    if isinstance(actual, dt.date):
        return start.date() <= actual <= end.date()
    raise ExprTypeError(f"within_days needs a date or date-time, not {type_name(actual)}")


def _sql_within(column, days: Any, now: dt.datetime | None) -> sa.ColumnElement:
    start, end = window(days, now)
    kind = getattr(column.type, "impl_instance", None) or getattr(column.type, "impl", column.type)
    try:
        python_type = kind.python_type
    except NotImplementedError:
        python_type = None
    if python_type is dt.date:
        return column.between(start.date(), end.date())
    if not getattr(kind, "timezone", False):  # a column of naive date-times holds UTC
        start, end = (x.astimezone(dt.timezone.utc).replace(tzinfo=None) for x in (start, end))
    return column.between(start, end)


def _op(type_: str, zh: str, en: str, test, clause, input_: str = "scalar", kinds=ALL_KINDS) -> type[Operator]:
    return type(f"Op_{type_}", (Operator,), {
        "type": type_, "label": {"zh-CN": zh, "en": en}, "input": input_, "kinds": tuple(kinds),
        "test": classmethod(lambda cls, a, b, now=None: test(a, b, now)),
        "clause": classmethod(lambda cls, c, v, now=None: clause(c, v, now))})


ORDERED = ("number", "date")
TEXT = ("text", "choice")

BUILTIN = (
    _op("eq", "等于", "equals", lambda a, b, now: equal(plain(a), plain(b)),
        lambda c, v, now: c.is_(None) if v is None else c == v),
    _op("ne", "不等于", "does not equal", lambda a, b, now: not equal(plain(a), plain(b)),
        lambda c, v, now: c.is_not(None) if v is None else sa.or_(c != v, c.is_(None))),
    _op("gt", "大于", "greater than", lambda a, b, now: _ordered(">", a, b), lambda c, v, now: c > v, kinds=ORDERED),
    _op("gte", "大于等于", "at least", lambda a, b, now: _ordered(">=", a, b), lambda c, v, now: c >= v,
        kinds=ORDERED),
    _op("lt", "小于", "less than", lambda a, b, now: _ordered("<", a, b), lambda c, v, now: c < v, kinds=ORDERED),
    _op("lte", "小于等于", "at most", lambda a, b, now: _ordered("<=", a, b), lambda c, v, now: c <= v,
        kinds=ORDERED),
    _op("in", "属于", "is one of", lambda a, b, now: any(equal(plain(a), plain(x)) for x in (b or ())),
        lambda c, v, now: c.in_(list(v)), "list"),
    _op("not_in", "不属于", "is none of", lambda a, b, now: not any(equal(plain(a), plain(x)) for x in (b or ())),
        lambda c, v, now: sa.or_(c.not_in(list(v)), c.is_(None)), "list"),
    _op("contains", "包含", "contains", lambda a, b, now: _py_contains(a, b),
        lambda c, v, now: _sql_contains(c, v), "text", kinds=(*TEXT, "any")),
    _op("not_contains", "不包含", "does not contain", lambda a, b, now: not _py_contains(a, b),
        lambda c, v, now: sa.or_(sa.not_(_sql_contains(c, v)), c.is_(None)), "text", kinds=(*TEXT, "any")),
    _op("contains_any", "包含任一关键词", "contains any of",
        lambda a, b, now: any(_py_contains(a, k) for k in (b or ()) if k),
        lambda c, v, now: sa.or_(sa.false(), *[_sql_contains(c, k) for k in v if k]), "list", kinds=("text",)),
    _op("contains_all", "包含全部", "contains all of",
        lambda a, b, now: bool(b) and all(_py_contains(a, k) for k in b),
        lambda c, v, now: sa.and_(sa.false() if not v else sa.true(), *[_sql_contains(c, k) for k in v]), "list",
        kinds=("text", "choice", "link")),
    _op("startswith", "开头是", "starts with",
        lambda a, b, now: isinstance(a, str) and isinstance(b, str) and a.startswith(b),
        lambda c, v, now: sa.func.substr(_as_text(c), 1, len(v)) == v, "text", kinds=("text",)),
    _op("is_empty", "为空", "is empty", lambda a, b, now: _empty(a), lambda c, v, now: _sql_empty(c), "none"),
    _op("is_not_empty", "不为空", "is not empty", lambda a, b, now: not _empty(a),
        lambda c, v, now: sa.not_(_sql_empty(c)), "none"),
    _op("between", "介于", "is between", lambda a, b, now: _ordered(">=", a, b[0]) and _ordered("<=", a, b[1]),
        lambda c, v, now: c.between(v[0], v[1]), "pair", kinds=ORDERED),
    _op("within_days", "最近N天", "within the last N days", _py_within, _sql_within, "days", kinds=("date",)),
)


def _check(item: type) -> None:
    for method in ("test", "clause"):
        if not callable(getattr(item, method, None)):
            raise TypeError(f"operator {item!r} has no {method}()")


OPERATORS: Registry[Operator] = Registry("operator", check=_check)
for _item in BUILTIN:
    OPERATORS.register(_item)


def catalogue() -> list[dict[str, Any]]:
    """What the designers list: every operator with its label, input and value kinds."""
    return [OPERATORS.get(t).to_json() for t in OPERATORS.types()]
