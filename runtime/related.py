"""Related lists: the records of other forms that point at one record, with counts and summaries.

A form declares them in ``related`` (``schemas/form.json``): the other form and its link field that
points here, or a path through a link of the other form (``订单.会员``: the payments of the member's
orders), optional ``summary`` figures (count, sum, avg, min, max, share of a filter) and the fields
shown. The record page shows them (``runtime.ui.record_page``) and the API answers them
(``GET /api/v1/forms/<form>/records/<id>/related``); both read what this module reads:

* only forms the viewer may read, only rows inside their row scope (of the other form and of every
  form the path passes through: the one list filter, ``filter_clause`` with the reader's forms);
* no figure over a field hidden from them, and hidden fields left out of the rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from engines.errors import JimuError

from .auth import policy
from .store.query import filter_clause, order_clause

#: rows of one related list shown on a record page (the count covers them all)
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
#: what a summary figure computes over the related rows
MEASURES = ("count", "sum", "avg", "min", "max", "share")


@dataclass
class RelatedList:
    """One declared related list as the viewer sees it."""
    index: int
    definition: dict
    form: Any                      # the other form's table
    field: str                     # its link (or path) pointing at the record
    label: Any
    total: int = 0
    rows: list[dict] = dc_field(default_factory=list)
    summary: list[dict] = dc_field(default_factory=list)
    hidden: frozenset = frozenset()
    #: the list filter of these rows (the record list opens with it: "show all")
    filter: list = dc_field(default_factory=list)

    def to_json(self) -> dict:
        return {"form": self.form.key, "field": self.field, "label": self.label, "total": self.total,
                "summary": self.summary, "filter": self.filter, "records": self.rows}


def link_path(catalog, other, path: str, target: str) -> bool:
    """Whether ``path`` of form ``other`` is a single link (or a chain of single links) ending on
    form ``target``."""
    ft = other
    parts = path.split(".")
    for i, part in enumerate(parts):
        if not ft.spec.has_field(part) or part in ft.multi or not ft.link_target(part):
            return False
        nxt = ft.link_target(part)
        if i == len(parts) - 1:
            return nxt == target
        if nxt not in catalog:
            return False
        ft = catalog.form(nxt)
    return False


def related_lists(records, ft, record: dict, *, limit: int | None = None) -> list[RelatedList]:
    """The related lists of ``ft`` declared in its definition, for ``record`` as ``records.principal``
    reads them: forms they may not read are left out."""
    from .records import _Readable
    catalog = records.jimu.catalog
    principal = records.principal
    out = []
    for i, rel in enumerate(ft.spec.definition.get("related") or []):
        if rel.get("form") not in catalog or not policy.can(principal, "read", rel["form"]):
            continue
        other = catalog.form(rel["form"])
        path = rel.get("field") or ""
        if not link_path(catalog, other, path, ft.key):
            continue
        hidden = policy.hidden_fields(principal, other.key) if records.check else frozenset()
        if path.split(".")[0] in hidden:
            continue   # listing by a link hidden from the viewer would tell its value
        flt = [{"field": path, "op": "eq", "value": record["id"]}]
        try:
            where = filter_clause(other, flt, now=records.now, forms=_Readable(records) if records.check
                                  else catalog)
        except JimuError:
            continue   # the path passes through a form (or a field) the viewer may not read
        scope = policy.row_filter(principal, other) if records.check else None
        if scope is not None:
            where = sa.and_(where, scope)
        block = RelatedList(i, rel, other, path, rel.get("label") or other.spec.label, hidden=hidden, filter=flt)
        sort = rel.get("sort") or "created_at"
        if sort.lstrip("-+") in hidden:
            sort = "created_at"
        n = max(1, min(int(limit or rel.get("limit") or DEFAULT_LIMIT), MAX_LIMIT))
        rows, block.total = records.store.select(other, where=where, order_by=order_clause(other, sort), limit=n)
        block.rows = [policy.redact(principal, other.key, r) if records.check else r for r in rows]
        block.summary = [figure for s in rel.get("summary") or []
                         if (figure := _figure(records, other, where, s, hidden)) is not None]
        out.append(block)
    return out


def _figure(records, other, where, spec: dict, hidden) -> dict | None:
    """One summary figure over the related rows (``None`` when it would read a field hidden from the
    viewer, or names one the form does not have)."""
    measure = spec.get("measure", "count")
    key = spec.get("field")
    cond = None
    if spec.get("filter"):
        from .records import _filter_fields
        if set(_filter_fields(spec["filter"])) & set(hidden):
            return None
        cond = filter_clause(other, spec["filter"], now=records.now)
    if key is not None and (key in hidden or key not in other.columns):
        return None
    col = other.columns[key] if key is not None else None
    t = other.table
    if measure == "count":
        expr = sa.func.count() if col is None else sa.func.count(col)
        q = sa.select(expr).select_from(t).where(where, *([cond] if cond is not None else []))
    elif measure == "share":
        if cond is None:
            return None
        q = sa.select(sa.func.count(), sa.func.sum(sa.case((cond, 1), else_=0))).select_from(t).where(where)
        total, hits = records.conn.execute(q).one()
        value = round(100.0 * (hits or 0) / total, 1) if total else None
        return _shown(spec, measure, key, value)
    elif measure in ("sum", "avg", "min", "max") and col is not None:
        q = sa.select(getattr(sa.func, measure)(col)).select_from(t).where(where,
                                                                          *([cond] if cond is not None else []))
    else:
        return None
    value = records.conn.execute(q).scalar()
    if isinstance(value, (float, Decimal)):
        value = round(float(value), int(spec.get("decimals", 2)))
    return _shown(spec, measure, key, value)


def _shown(spec: dict, measure: str, key: str | None, value: Any) -> dict:
    return {"label": spec.get("label") or measure, "measure": measure, "field": key, "value": value,
            "unit": "%" if measure == "share" else spec.get("unit")}
