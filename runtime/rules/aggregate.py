"""Aggregates in rule conditions, evaluated in SQL: ``count``/``sum`` over another form's records
matching a structured filter (``runtime.store.query.filter_clause``) within a time window."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from engines.rule import RuleError

from ..store.query import filter_clause

#: expression spellings of the filter operators
_OPS = {"==": "eq", "=": "eq", "!=": "ne", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte", "not in": "not_in"}


class Aggregator:
    """The ``EvalContext.aggregate`` callable: ``(fn, form, field, filters, days, date_field=...)``.

    Rules count every record. Given a ``principal`` (a designer's dry run) it counts only the rows
    that person may read and refuses fields hidden from them, so a condition cannot be used to
    probe records outside their grant (another app's included).
    """

    def __init__(self, jimu, conn: sa.Connection, now: datetime, principal=None):
        self.jimu, self.conn, self.now, self.principal = jimu, conn, now, principal

    def __call__(self, fn: str, form: str, field: str | None, filters: list, days: Any,
                 date_field: str = "created_at") -> Any:
        ft = self.jimu.catalog.form(form)
        specs = []
        for f in filters:
            if isinstance(f, (list, tuple)) and len(f) == 3:
                key, op, value = f
            elif isinstance(f, dict):
                key, op, value = f.get("field"), f.get("op", "eq"), f.get("value")
            else:
                raise RuleError("each aggregate filter is [field, op, value]", code="rule.bad_aggregate")
            specs.append({"field": key, "op": _OPS.get(op, op), "value": value})
        if any(s["field"] == "id" and s["op"] == "eq" and s["value"] is None for s in specs):
            return 0  # no record has no id (the link the filter follows is empty): nothing to ask
        clauses = [filter_clause(ft, {"all": specs}, now=self.now)] if specs else []
        if self.principal is not None:
            from ..auth import policy
            policy.require_visible_fields(self.principal, form, [s["field"] for s in specs] + [field, date_field])
            scope = policy.row_filter(self.principal, ft)
            if scope is not None:
                clauses.append(scope)
        if days is not None:
            clauses.append(ft.column(date_field) >= self.now - timedelta(days=float(days)))
        if fn == "count":
            q = sa.select(sa.func.count()).select_from(ft.table)
        elif fn == "sum":
            q = sa.select(sa.func.coalesce(sa.func.sum(ft.column(field)), 0))
        else:
            raise RuleError(f"unknown aggregate {fn!r}", code="rule.bad_aggregate")
        if clauses:
            q = q.where(*clauses)
        value = self.conn.execute(q).scalar()
        if hasattr(value, "is_integer") or value.__class__.__name__ == "Decimal":
            value = float(value)
            return int(value) if value.is_integer() else value
        return value
