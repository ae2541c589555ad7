"""What a form's definition adds around its records, without code:

* ``views``: named filters of the list page (``"$me"`` stands for the signed-in user);
* ``related``: records of other forms that link here (directly or through a link of theirs), as a
  timeline or a table on the record page with their count and summary figures (``runtime.related``),
  with an inline form to add one and message templates to start from;
* ``suggest``: records of another form that look related, by shared words of the
  record's text: the one search (``runtime.store.search``, Chinese cut into words), any word,
  best first.
"""
from __future__ import annotations

import json
from typing import Any, Iterable

import sqlalchemy as sa
from flask import url_for

from engines.errors import JimuError
from engines.rule.templates import render

from .. import db
from ..auth import policy
from ..auth.policy import can
from ..i18n import current_language
from ..names import ReferenceNames
from ..store import search
from ..store.query import filter_clause
from ..related import related_lists

ME = "$me"


def resolve_me(spec: Any, user_id: int | None) -> Any:
    if isinstance(spec, list):
        return [resolve_me(s, user_id) for s in spec]
    if isinstance(spec, dict):
        return {k: (user_id if v == ME else resolve_me(v, user_id)) for k, v in spec.items()}
    return spec


def list_views(ft) -> list[dict]:
    return list(ft.spec.definition.get("views") or [])


def view_filter(ft, key: str | None, user_id: int | None) -> tuple[dict | None, Any, str | None]:
    """(view, filter, sort) of the named view; unknown names are an error that lists the views."""
    if not key:
        return None, None, None
    for view in list_views(ft):
        if view.get("key") == key:
            return view, resolve_me(view.get("filter"), user_id), view.get("sort")
    raise JimuError(f"form {ft.key!r} has no view {key!r}; its views are "
                    f"{', '.join(v.get('key', '?') for v in list_views(ft)) or 'none'}", code="view.unknown")


def _user_names(conn, ids: Iterable[int | None]) -> dict[int, str]:
    ids = {i for i in ids if isinstance(i, int)}
    if not ids:
        return {}
    rows = conn.execute(sa.select(db.users.c.id, db.users.c.display_name, db.users.c.username)
                        .where(db.users.c.id.in_(ids)))
    return {r.id: r.display_name or r.username for r in rows}


def _system_authors(conn, form_key: str, ids: list) -> dict:
    """("system", id) → "系统 / System" for the records among ``ids`` that a rule or a flow step wrote
    (they have no author; anonymous public writes keep showing as anonymous)."""
    if not ids:
        return {}
    from engines.form import label_text

    from ..i18n import current_language
    from ..records import Records
    rows = conn.execute(sa.select(db.events.c.record_id, db.events.c.data).where(
        db.events.c.kind == "record.created", db.events.c.form_key == form_key, db.events.c.record_id.in_(ids)))
    system = label_text({"zh-CN": "系统", "en": "System"}, current_language())
    return {("system", r.record_id): system for r in rows
            if isinstance(r.data, dict) and r.data.get("source") in Records.SYSTEM_SOURCES}


def related_blocks(records, ft, record: dict) -> list[dict]:
    """The form's related lists (``runtime.related``: what the viewer may read, with counts and
    summaries) as the record page shows them: a timeline or a table, authors, highlights, an
    inline composer with message templates."""
    conn, catalog, principal = records.conn, records.jimu.catalog, records.principal
    blocks = []
    shown = ReferenceNames(conn, catalog, current_language(), principal).for_form(ft)
    for rel in related_lists(records, ft, record):
        other, hidden, spec = rel.form, rel.hidden, rel.definition
        rows = rel.rows
        names = _user_names(conn, [r.get("created_by") for r in rows])
        names.update(_system_authors(conn, other.key, [r["id"] for r in rows if r.get("created_by") is None]))
        highlight = None
        if spec.get("highlight_if") and not hidden:  # a highlight could tell a hidden field's value
            from engines.expr import compile_expr
            highlight = compile_expr(spec["highlight_if"])
        items = [{"record": r, "author": names.get(r.get("created_by")) or names.get(("system", r["id"])),
                  "highlight": bool(highlight and highlight.evaluate(r))} for r in rows]
        last = rel.field.split(".")[-1] if "." not in rel.field else None
        block = {"index": rel.index, "label": rel.label, "form": other, "field": rel.field,
                 "fields": [other.spec.field(k) for k in spec.get("fields") or other.spec.field_keys
                            if other.spec.has_field(k) and k != last and k not in hidden],
                 "items": items, "total": rel.total, "summary": rel.summary, "compose": None,
                 "style": spec.get("style") or "timeline",
                 "all_url": url_for("ui.record_list", form=other.key, filter=json.dumps(rel.filter, ensure_ascii=False))
                 if rel.total > len(rows) else None}
        compose = spec.get("compose")
        if compose and "." not in rel.field and can(principal, "create", other.key):
            closed = policy.field_access(principal, other.key)
            block["compose"] = {"fields": [other.spec.field(k) for k in compose.get("fields", [])
                                           if other.spec.has_field(k) and k not in closed],
                                "templates": _templates(conn, catalog, principal, compose.get("templates"), record,
                                                        shown)}
        blocks.append(block)
    return blocks


def _templates(conn, catalog, principal, spec: dict | None, record: dict, names=None) -> dict | None:
    """Message templates (records of another form) rendered with this record's values."""
    if not spec or spec.get("form") not in catalog or not can(principal, "read", spec["form"]):
        return None
    tf = catalog.form(spec["form"])
    body, name = tf.columns.get(spec.get("body")), tf.columns.get(spec.get("name") or tf.spec.title_field)
    if body is None:
        return None
    hidden = policy.hidden_fields(principal, tf.key)
    if spec.get("body") in hidden:
        return None
    if name is not None and (spec.get("name") or tf.spec.title_field) in hidden:
        name = None
    q = sa.select(tf.table.c.id, body.label("body"), (name if name is not None else tf.table.c.id).label("name"))
    scope = policy.row_filter(principal, tf)
    if scope is not None:
        q = q.where(scope)
    rows = conn.execute(q.order_by(tf.table.c.id).limit(100)).all()
    out = []
    for r in rows:
        try:
            text = render(r.body, record, names=names)
        except JimuError as exc:
            text = f"[{exc.code}] {exc.message}"
        out.append({"id": r.id, "name": str(r.name), "text": text})
    return {"target": spec.get("into"), "items": out}


def suggestions(conn, catalog, principal, ft, record: dict, now) -> list[dict]:
    out = []
    for sug in ft.spec.definition.get("suggest") or []:
        if sug.get("form") not in catalog or not can(principal, "read", sug["form"]):
            continue
        other = catalog.form(sug["form"])
        # the one search, any word ranked by relevance; a match on a field hidden from the viewer
        # would tell its content, so fields outside ``match`` and hidden ones do not decide
        hidden = policy.hidden_fields(principal, other.key)
        matched = set(sug.get("match", [])) - set(hidden)
        text = " ".join(str(record.get(k) or "") for k in sug.get("from", []))
        where = [w for w in (policy.row_filter(principal, other),
                             filter_clause(other, sug["filter"], now=now) if sug.get("filter") else None)
                 if w is not None]
        query = search.parse(text)
        if query.empty or not matched:
            continue
        rows, _, _ = search.search(conn, other, query, any_word=True, where=sa.and_(*where) if where else None,
                                hidden={f.key for f in search.fields(other) if f.key not in matched},
                                limit=int(sug.get("limit", 5)))
        out.append({"label": sug.get("label") or other.spec.label, "form": other,
                    "items": [policy.redact(principal, other.key, r) for r in rows]})
    return out
