"""Structured filters ``{field, op, value}`` compiled to SQLAlchemy clauses.

Operators come from a fixed allowlist (``OPERATORS``, exported to the designer
with labels and the value shape each expects). Field keys map through the
source (an unknown key is ``report.unknown_field``, never SQL) and values are
coerced to the column's type and bound as parameters. ``within_days`` depends
on the clock, so a compiled filter builds its clause from the ``now`` the
caller passes at query time. ``contains``/``startswith`` ignore case on both
databases (SQLite's LIKE does anyway), so both give the same rows.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

import sqlalchemy as sa

from ..errors import JimuError
from .exceptions import ReportError
from .fields import Field, FieldResolver
from .values import coerce

#: op -> (value shape, label). The shape drives validation and the designer's input.
OPERATORS: dict[str, tuple[str, dict[str, str]]] = {
    "eq": ("one", {"zh-CN": "等于", "en": "equals"}),
    "ne": ("one", {"zh-CN": "不等于", "en": "does not equal"}),
    "gt": ("one", {"zh-CN": "大于", "en": "greater than"}),
    "gte": ("one", {"zh-CN": "大于等于", "en": "at least"}),
    "lt": ("one", {"zh-CN": "小于", "en": "less than"}),
    "lte": ("one", {"zh-CN": "小于等于", "en": "at most"}),
    "in": ("list", {"zh-CN": "属于", "en": "is one of"}),
    "not_in": ("list", {"zh-CN": "不属于", "en": "is none of"}),
    "contains": ("text", {"zh-CN": "包含", "en": "contains"}),
    "startswith": ("text", {"zh-CN": "开头是", "en": "starts with"}),
    "is_empty": ("none", {"zh-CN": "为空", "en": "is empty"}),
    "is_not_empty": ("none", {"zh-CN": "不为空", "en": "is not empty"}),
    "between": ("pair", {"zh-CN": "介于", "en": "between"}),
    "within_days": ("days", {"zh-CN": "最近N天", "en": "within the last N days"}),
}
MAX_DAYS = 36600


@dataclass(frozen=True)
class CompiledFilter:
    """One checked filter; ``clause(now)`` builds its SQL with bound values."""

    field: Field
    op: str
    value: Any

    def clause(self, now: dt.datetime | None) -> sa.ColumnElement[bool]:
        return _BUILDERS[self.op](self.field, self.value, now)


def compile_filters(items: Any, resolver: FieldResolver, pointer: str,
                    errors: list[JimuError]) -> list[CompiledFilter]:
    """Compile a list of filter dicts, appending each problem to ``errors`` with its pointer."""
    out: list[CompiledFilter] = []
    if items is None:
        return out
    if not isinstance(items, list):
        errors.append(ReportError("filters must be a list of {field, op, value}", code="report.bad_filter",
                                  pointer=pointer))
        return out
    for i, item in enumerate(items):
        try:
            out.append(compile_filter(item, resolver))
        except JimuError as exc:
            exc.context.setdefault("pointer", f"{pointer}/{i}")
            errors.append(exc)
    return out


def compile_filter(item: Any, resolver: FieldResolver) -> CompiledFilter:
    if not isinstance(item, dict) or "field" not in item or "op" not in item:
        raise ReportError("a filter is an object {field, op, value}", code="report.bad_filter")
    op = item["op"]
    if not isinstance(op, str) or op not in OPERATORS:
        raise ReportError(f"unknown filter operator {op!r}; use one of {', '.join(OPERATORS)}",
                          code="report.unknown_operator", op=repr(op)[:60])
    field = resolver.resolve(item["field"])
    return CompiledFilter(field, op, _check_value(field, op, item.get("value")))


def _check_value(field: Field, op: str, value: Any) -> Any:
    shape = OPERATORS[op][0]
    if shape == "one":
        if value is None and op in ("eq", "ne"):
            return None
        if value is None:
            raise ReportError(f"operator {op!r} needs a value", code="report.bad_value", field=field.ref)
        return coerce(field, value)
    if shape == "list":
        if not isinstance(value, list):
            raise ReportError(f"operator {op!r} needs a list of values", code="report.bad_value", field=field.ref)
        return tuple(coerce(field, v) for v in value)
    if shape == "text":
        if field.python_type is not str:
            raise ReportError(f"operator {op!r} works on text fields only; {field.ref!r} is {field.kind}",
                              code="report.bad_operator", field=field.ref, op=op)
        if not isinstance(value, str) or not value:
            raise ReportError(f"operator {op!r} needs non-empty text", code="report.bad_value", field=field.ref)
        return value
    if shape == "pair":
        if not isinstance(value, list) or len(value) != 2:
            raise ReportError("operator 'between' needs [low, high]", code="report.bad_value", field=field.ref)
        return tuple(coerce(field, v) for v in value)
    if shape == "days":
        if field.python_type not in (dt.date, dt.datetime):
            raise ReportError(f"'within_days' works on date fields only; {field.ref!r} is {field.kind}",
                              code="report.bad_operator", field=field.ref, op=op)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_DAYS:
            raise ReportError(f"'within_days' needs a whole number of days from 1 to {MAX_DAYS}",
                              code="report.bad_value", field=field.ref, value=repr(value)[:80])
        return value
    return None


def _empty(field: Field) -> sa.ColumnElement[bool]:
    col = field.column
    if field.python_type is str:
        return sa.or_(col.is_(None), col == "")
    return col.is_(None)


def _within_days(field: Field, days: int, now: dt.datetime | None) -> sa.ColumnElement[bool]:
    if now is None:
        raise ReportError("'within_days' needs the current time: pass now= to query()",
                          code="report.needs_now", field=field.ref)
    start = now - dt.timedelta(days=days)
    if field.python_type is dt.date:
        return field.column.between(start.date(), now.date())
    return field.column.between(start, now)


_BUILDERS: dict[str, Callable[[Field, Any, dt.datetime | None], sa.ColumnElement[bool]]] = {
    "eq": lambda f, v, now: f.column.is_(None) if v is None else f.column == v,
    "ne": lambda f, v, now: f.column.is_not(None) if v is None else sa.or_(f.column != v, f.column.is_(None)),
    "gt": lambda f, v, now: f.column > v,
    "gte": lambda f, v, now: f.column >= v,
    "lt": lambda f, v, now: f.column < v,
    "lte": lambda f, v, now: f.column <= v,
    "in": lambda f, v, now: f.column.in_(v),
    "not_in": lambda f, v, now: sa.or_(f.column.not_in(v), f.column.is_(None)),
    "contains": lambda f, v, now: f.column.icontains(v, autoescape=True),
    "startswith": lambda f, v, now: f.column.istartswith(v, autoescape=True),
    "is_empty": lambda f, v, now: _empty(f),
    "is_not_empty": lambda f, v, now: sa.not_(_empty(f)),
    "between": lambda f, v, now: f.column.between(v[0], v[1]),
    "within_days": _within_days,
}
