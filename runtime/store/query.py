"""Structured record filters → SQLAlchemy clauses.

A filter is JSON: ``{"field": "status", "op": "in", "value": ["a", "b"]}``,
or a group ``{"all": [...]}`` / ``{"any": [...]}``. Field keys resolve through
the form's column map (unknown keys are coded errors, never SQL); values are
coerced by the field's widget where possible and always bound.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable, Collection, Mapping

import sqlalchemy as sa

from engines.errors import JimuError

from .mapping import FormTable


class FilterError(JimuError):
    code = "filter.invalid"


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(col, v):
    return sa.func.lower(sa.cast(col, sa.Text)).like(f"%{_like_escape(str(v).lower())}%", escape="\\")


def _startswith(col, v):
    return sa.cast(col, sa.Text).like(f"{_like_escape(str(v))}%", escape="\\")


def _between(col, v):
    if not isinstance(v, (list, tuple)) or len(v) != 2:
        raise FilterError("between needs a list of two values [low, high]", code="filter.bad_value")
    return col.between(v[0], v[1])


def _as_list(v):
    if not isinstance(v, (list, tuple)):
        raise FilterError("this operator needs a list of values", code="filter.bad_value")
    if len(v) > 1000:
        raise FilterError("at most 1000 values in a list", code="filter.too_many_values")
    return list(v)


OPERATORS: dict[str, Callable[[Any, Any], sa.ColumnElement]] = {
    "eq": lambda c, v: c.is_(None) if v is None else c == v,
    "ne": lambda c, v: c.is_not(None) if v is None else sa.or_(c != v, c.is_(None)),
    "gt": lambda c, v: c > v,
    "gte": lambda c, v: c >= v,
    "lt": lambda c, v: c < v,
    "lte": lambda c, v: c <= v,
    "in": lambda c, v: c.in_(_as_list(v)),
    "not_in": lambda c, v: sa.or_(c.not_in(_as_list(v)), c.is_(None)),
    "contains": _contains,
    "startswith": _startswith,
    "is_empty": lambda c, v: sa.or_(c.is_(None), sa.cast(c, sa.Text) == ""),
    "is_not_empty": lambda c, v: sa.and_(c.is_not(None), sa.cast(c, sa.Text) != ""),
    "between": _between,
}
NO_VALUE = {"is_empty", "is_not_empty"}
LIST_VALUE = {"in", "not_in", "between"}


def _coerce(ft: FormTable, key: str, op: str, value: Any) -> Any:
    if op in NO_VALUE or value is None or op in ("contains", "startswith"):
        return value
    if not ft.spec.has_field(key):
        if key in ("created_at", "updated_at") and isinstance(value, str):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                raise FilterError(f"{key} needs an ISO date-time", code="filter.bad_value", field=key) from None
        return value
    widget = ft.spec.field(key).widget
    try:
        if op in LIST_VALUE and isinstance(value, (list, tuple)):
            return [widget.to_python(v) for v in value]
        return widget.to_python(value)
    except JimuError as exc:
        raise FilterError(f"bad value for {key}: {exc.message}", code="filter.bad_value", field=key) from None


def filter_clause(ft: FormTable, spec: Any, *, now: datetime | None = None, depth: int = 0) -> sa.ColumnElement:
    if depth > 8:
        raise FilterError("filters nest at most 8 levels deep", code="filter.too_deep")
    if isinstance(spec, list):
        spec = {"all": spec}
    if not isinstance(spec, Mapping):
        raise FilterError("a filter is an object {field, op, value} or {all: [...]} / {any: [...]}")
    if "all" in spec or "any" in spec:
        parts = spec.get("all", spec.get("any"))
        if not isinstance(parts, list):
            raise FilterError("all/any take a list of filters")
        clauses = [filter_clause(ft, p, now=now, depth=depth + 1) for p in parts]
        if not clauses:
            return sa.true()
        return sa.and_(*clauses) if "all" in spec else sa.or_(*clauses)
    key, op = spec.get("field"), spec.get("op", "eq")
    if not isinstance(key, str):
        raise FilterError("each filter names a field", code="filter.no_field")
    column = ft.column(key)
    if key in ft.multi:
        raise FilterError(f"{key} holds several values; filter it with 'has'", code="filter.bad_field", field=key)
    if op == "within_days":
        if now is None or not isinstance(spec.get("value"), (int, float)):
            raise FilterError("within_days needs a number of days", code="filter.bad_value", field=key)
        return column >= now - timedelta(days=spec["value"])
    fn = OPERATORS.get(op)
    if fn is None:
        raise FilterError(f"unknown operator {op!r}; use one of {', '.join(sorted(OPERATORS))}",
                          code="filter.unknown_operator", op=str(op)[:50])
    return fn(column, _coerce(ft, key, op, spec.get("value")))


def search_clause(ft: FormTable, q: str, *, hidden: Collection[str] = ()) -> sa.ColumnElement | None:
    """Substring search over the text fields (works for Chinese, which has no word breaks).

    ``hidden`` fields (the reader's policy hides them) are not searched: a hit would tell their content.
    """
    q = (q or "").strip()[:200]
    if not q:
        return None
    cols = [ft.columns[f.key] for f in ft.spec.fields
            if f.key in ft.columns and f.widget.value_kind in ("text", "choice") and f.key not in hidden]
    if not cols:
        return sa.false()
    return sa.or_(*[_contains(c, q) for c in cols])


def order_clause(ft: FormTable, sort: str | None) -> list[sa.ColumnElement]:
    out = []
    for part in (sort or "").split(","):
        part = part.strip()
        if not part:
            continue
        desc = part.startswith("-")
        col = ft.column(part.lstrip("-+"))
        out.append(col.desc() if desc else col.asc())
    return out
