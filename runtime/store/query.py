"""Structured record filters → SQLAlchemy clauses.

A filter is JSON: ``{"field": "status", "op": "in", "value": ["a", "b"]}``,
or a group ``{"all": [...]}`` / ``{"any": [...]}``. Operators and their meaning come
from the one registry ``engines.operators`` (rules and reports use it too). Field keys resolve through
the form's column map (unknown keys are coded errors, never SQL); values are
coerced by the field's widget where possible and always bound.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

import sqlalchemy as sa

from engines.errors import JimuError
from engines.operators import OPERATORS, Operator

from .mapping import FormTable


class FilterError(JimuError):
    code = "filter.invalid"


def like_escape(text: str) -> str:
    """``text`` with LIKE's wildcards (and the escape character) escaped: use with ``escape="\\"``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def icontains(col, v):
    """A case-insensitive substring match (the user and group pickers; not a filter operator: those
    are ``engines.operators`` and match case-sensitively; records are searched by
    ``runtime.store.search``)."""
    return sa.func.lower(sa.cast(col, sa.Text)).like(f"%{like_escape(str(v).lower())}%", escape="\\")


def _coerce(ft: FormTable, key: str, op: Operator, value: Any) -> Any:
    if op.input in ("none", "text", "days") or value is None or op.type in ("contains_any", "contains_all"):
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
        if op.input in ("list", "pair") and isinstance(value, (list, tuple)):
            return [widget.to_python(v) for v in value]
        return widget.to_python(value)
    except JimuError as exc:
        raise FilterError(f"bad value for {key}: {exc.message}", code="filter.bad_value", field=key) from None


def filter_clause(ft: FormTable, spec: Any, *, now: datetime | None = None, depth: int = 0,
                  forms: Any = None) -> sa.ColumnElement:
    """The SQL condition of a filter. With ``forms`` (``forms.form(key)`` gives a form's table), a
    field ``客户.等级`` follows the link ``客户`` to the linked form, as expressions and chart
    drill-downs do; ``forms.row_filter(ft)`` (optional) limits the linked rows to those the reader
    may see, so a filter cannot probe records outside their scope."""
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
        clauses = [filter_clause(ft, p, now=now, depth=depth + 1, forms=forms) for p in parts]
        if not clauses:
            return sa.true()
        return sa.and_(*clauses) if "all" in spec else sa.or_(*clauses)
    key, op = spec.get("field"), spec.get("op", "eq")
    if not isinstance(key, str):
        raise FilterError("each filter names a field", code="filter.no_field")
    head, dot, rest = key.partition(".")
    if dot and forms is not None and ft.link_target(head) and head not in ft.multi:
        target = forms.form(ft.link_target(head))
        visible = getattr(forms, "require_visible", None)
        if visible is not None:
            visible(target.key, [rest])
        inner = filter_clause(target, {**spec, "field": rest}, now=now, depth=depth + 1)
        scope = getattr(forms, "row_filter", None)
        scope = scope(target) if scope is not None else None
        if scope is not None:
            inner = sa.and_(inner, scope)
        if spec.get("op") in ("ne", "not_in", "not_contains", "is_empty"):  # an empty link has no such value
            return sa.or_(ft.column(head).is_(None), ft.column(head).in_(sa.select(target.table.c.id).where(inner)))
        return ft.column(head).in_(sa.select(target.table.c.id).where(inner))
    if key in ft.multi:
        return multi_clause(ft, key, op, spec.get("value"))
    column = ft.column(key)
    if not isinstance(op, str) or op not in OPERATORS:
        raise FilterError(f"unknown operator {op!r}; use one of {', '.join(OPERATORS.types())}",
                          code="filter.unknown_operator", op=str(op)[:50])
    operator = OPERATORS.get(op)
    value = spec.get("value")
    problem = None if operator.input == "none" else operator.value_problem(value)
    if problem:
        raise FilterError(f"{problem} (field {key!r})", code="filter.bad_value", field=key)
    try:
        return operator.clause(column, _coerce(ft, key, operator, value), now)
    except JimuError as exc:
        raise FilterError(f"{key}: {exc.message}", code="filter.bad_value", field=key) from None


#: what a multi-value field (checkboxes, several users, groups or linked records) is filtered with:
#: the registry's operators, meaning what their Python ``test`` means for a list
MULTI_OPERATORS = ("contains", "not_contains", "contains_any", "contains_all", "is_empty", "is_not_empty")


def multi_clause(ft: FormTable, key: str, op: Any, value: Any) -> sa.ColumnElement:
    """The condition on a multi-value field, over its value table: ``contains`` one of its items equals
    the value, ``contains_any``/``contains_all`` any/all of the values given, ``not_contains`` none
    does (an empty field too), ``is_empty`` no item. Values are coerced by the field's widget (an
    option's label is taken for its value, ids are checked) and bound."""
    if op not in MULTI_OPERATORS:
        raise FilterError(f"{key} holds several values; filter it with one of {', '.join(MULTI_OPERATORS)}",
                          code="filter.bad_operator", field=key, op=str(op)[:50])
    operator = OPERATORS.get(op)
    problem = None if operator.input == "none" else operator.value_problem(value)
    if operator.input == "text" and problem and value not in (None, "") and not isinstance(value, (list, dict)):
        problem = None  # contains 5 on several linked records or users: a value, not text
    if problem:
        raise FilterError(f"{problem} (field {key!r})", code="filter.bad_value", field=key)
    mt = ft.multi[key].table
    mine = mt.c.record_id == ft.table.c.id
    if operator.input == "none":
        found = sa.exists().where(mine)
        return sa.not_(found) if op == "is_empty" else found
    wanted = _multi_values(ft, key, value if operator.input == "list" else [value])
    if op == "contains_all":
        if not wanted:
            return sa.false()
        n = (sa.select(sa.func.count(sa.distinct(mt.c.value))).where(mine, mt.c.value.in_(wanted))
             .scalar_subquery())
        return n == len(wanted)
    found = sa.exists().where(mine, mt.c.value.in_(wanted)) if wanted else sa.false()
    return sa.not_(found) if op == "not_contains" else found


def _multi_values(ft: FormTable, key: str, values: list) -> list:
    widget = ft.spec.field(key).widget
    try:
        return list(dict.fromkeys(widget.to_python(list(values))))
    except JimuError as exc:
        raise FilterError(f"bad value for {key}: {exc.message}", code="filter.bad_value", field=key) from None


def order_clause(ft: FormTable, sort: str | None) -> list[sa.ColumnElement]:
    out = []
    for part in (sort or "").split(","):
        part = part.strip()
        if not part:
            continue
        desc = part.startswith("-")
        key = part.lstrip("-+")
        col = first_value(ft, key) if key in ft.multi else ft.column(key)
        out.append(col.desc() if desc else col.asc())
    return out


def first_value(ft: FormTable, key: str) -> sa.ColumnElement:
    """What a multi-value field sorts by: its first item (the first option ticked, the first linked
    record or user, in the field's own order); an empty field sorts as an empty single field does."""
    mt = ft.multi[key].table
    return (sa.select(mt.c.value).where(mt.c.record_id == ft.table.c.id)
            .order_by(mt.c.position, mt.c.id).limit(1).scalar_subquery())
