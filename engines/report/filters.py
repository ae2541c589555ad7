"""Structured filters ``{field, op, value}`` compiled to SQLAlchemy clauses.

Operators come from the one registry ``engines.operators`` (record lists and
rule conditions use the same, so a drill-down lists exactly the rows a chart
counted). Field keys map through the source (an unknown key is
``report.unknown_field``, never SQL) and values are coerced to the column's
type and bound as parameters. ``within_days`` depends on the clock, so a
compiled filter builds its clause from the ``now`` the caller passes at query
time.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..errors import JimuError
from ..operators import MAX_DAYS, OPERATORS as REGISTRY, Operator
from .exceptions import ReportError
from .fields import Field, FieldResolver
from .values import coerce


@dataclass(frozen=True)
class CompiledFilter:
    """One checked filter; ``clause(now)`` builds its SQL with bound values."""

    field: Field
    op: str
    value: Any

    def clause(self, now: dt.datetime | None) -> sa.ColumnElement[bool]:
        if self.op == "within_days" and now is None:
            raise ReportError("'within_days' needs the current time: pass now= to query()",
                              code="report.needs_now", field=self.field.ref)
        return REGISTRY.get(self.op).clause(self.field.column, self.value, now)


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
    if not isinstance(op, str) or op not in REGISTRY:
        raise ReportError(f"unknown filter operator {op!r}; use one of {', '.join(REGISTRY.types())}",
                          code="report.unknown_operator", op=repr(op)[:60])
    field = resolver.resolve(item["field"])
    return CompiledFilter(field, op, _check_value(field, REGISTRY.get(op), item.get("value")))


def _check_value(field: Field, operator: Operator, value: Any) -> Any:
    op, shape = operator.type, operator.input
    if shape == "scalar":
        if value is None and op in ("eq", "ne"):
            return None
        if value is None:
            raise ReportError(f"operator {op!r} needs a value", code="report.bad_value", field=field.ref)
        return coerce(field, value)
    if shape == "list":
        if not isinstance(value, list) or operator.value_problem(value):
            raise ReportError(operator.value_problem(value) or f"operator {op!r} needs a list of values",
                              code="report.bad_value", field=field.ref)
        if op in ("contains_any", "contains_all"):
            return tuple(_text_value(field, op, v) for v in value)
        return tuple(coerce(field, v) for v in value)
    if shape == "text":
        return _text_value(field, op, value)
    if shape == "pair":
        if not isinstance(value, list) or len(value) != 2:
            raise ReportError("operator 'between' needs [low, high]", code="report.bad_value", field=field.ref)
        return tuple(coerce(field, v) for v in value)
    if shape == "days":
        if field.python_type not in (dt.date, dt.datetime):
            raise ReportError(f"'within_days' works on date fields only; {field.ref!r} is {field.kind}",
                              code="report.bad_operator", field=field.ref, op=op)
        if operator.value_problem(value):
            raise ReportError(f"'within_days' needs a number of days from 1 to {MAX_DAYS}",
                              code="report.bad_value", field=field.ref, value=repr(value)[:80])
        return value
    return None


def _text_value(field: Field, op: str, value: Any) -> str:
    if field.python_type is not str:
        raise ReportError(f"operator {op!r} works on text fields only; {field.ref!r} is {field.kind}",
                          code="report.bad_operator", field=field.ref, op=op)
    if not isinstance(value, str) or not value:
        raise ReportError(f"operator {op!r} needs non-empty text", code="report.bad_value", field=field.ref)
    return value
