"""What a person may pick for a reference field: ``GET /api/v1/forms/<form>/fields/<field>/choices``.

User, group and link fields store ids; people choose by name. The runtime form's picker
(``runtime/static/js/picker.js``) and integrators ask this route for ``{id, text}`` pairs matching
what was typed. A linked form's records are offered as the caller's direct list read shows them —
its row scope, the link's own ``filter`` and the record's title (its ``display_field`` or the
form's ``title_field``; ``#id`` where that field is hidden from the caller) — so a picker never
shows a record the caller could not open.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import jsonify, request

from engines.errors import NotFound, PermissionDenied
from engines.form import label_text

from .. import db
from ..auth import current_principal
from ..auth.policy import can, hidden_fields
from ..context import current_jimu
from ..exceptions import NotAuthenticated
from ..i18n import current_language
from ..records import Records
from ..store.query import icontains
from . import bp
from .util import int_arg, query_args, whole

#: the most choices one request answers (a picker shows the first ones and asks for more text)
MAX_CHOICES = 50


def _signed_in(what: str):
    principal = current_principal()
    if not principal.is_authenticated:
        raise NotAuthenticated(f"log in or send an API token to {what}")
    return principal


def _field_to_fill(jimu, principal, form: str, field: str):
    """The field ``field`` of ``form`` when the caller may fill it (create or update on the form, the
    field not hidden from them); else 404, as if it did not exist. Inside a read (a current catalogue)."""
    if form not in jimu.catalog or not any(can(principal, v, form) for v in ("create", "update")):
        raise NotFound(f"no form {form!r} you may fill", code="form.not_found")
    spec = jimu.catalog.form(form).spec
    if not spec.has_field(field) or field in hidden_fields(principal, form):
        raise NotFound(f"form {form!r} has no field {field!r}", code="field.not_found")
    return spec.field(field)


@bp.get("/forms/<form>/fields/<field>/choices")
@query_args("q", limit=whole(hi=MAX_CHOICES))
def field_choices(form, field):
    """``{"choices": [{"id", "text"}]}``: users, groups or linked records matching ``q`` for a
    field the caller may fill (create or update verb on its form)."""
    principal = _signed_in("look up choices")
    jimu = current_jimu()
    q = (request.args.get("q") or "").strip()
    limit = int_arg("limit", 20, lo=1, hi=MAX_CHOICES)
    with jimu.read() as conn:   # the catalogue is current inside a transaction
        widget = _field_to_fill(jimu, principal, form, field).widget
        if widget.value_kind == "user":
            choices = _users(conn, q, limit)
        elif widget.value_kind == "group":
            choices = _groups(conn, q, limit)
        elif widget.value_kind == "link":
            choices = _linked(Records(jimu, conn, principal, source="api"), widget, q, limit)
        else:
            raise NotFound(f"field {field!r} is a {widget.type} field, not a user, group or link field; "
                           "its options are in the form's definition", code="field.no_choices")
    return jsonify({"choices": choices})


def _users(conn: sa.Connection, q: str, limit: int) -> list[dict[str, Any]]:
    u = db.users.c
    query = sa.select(u.id, u.username, u.display_name).where(u.is_active.is_(True))
    if q:
        query = query.where(sa.or_(icontains(u.username, q), icontains(u.display_name, q)))
    rows = conn.execute(query.order_by(u.display_name, u.username).limit(limit))
    return [{"id": r.id, "text": r.display_name or r.username} for r in rows]


def _groups(conn: sa.Connection, q: str, limit: int) -> list[dict[str, Any]]:
    g = db.groups.c
    query = sa.select(g.id, g.key, g.label)
    if q:
        query = query.where(sa.or_(icontains(g.key, q), icontains(g.label, q)))
    lang = current_language()
    return [{"id": r.id, "text": label_text(r.label, lang, r.key)}
            for r in conn.execute(query.order_by(g.key).limit(limit))]


def _linked(records: Records, widget, q: str, limit: int) -> list[dict[str, Any]]:
    target = widget.target
    if not can(records.principal, "read", target):
        raise PermissionDenied(f"your role may not read {target!r} records, so it cannot pick one; "
                               "ask the app's builder for read access", code="permission.denied")
    ft = records.form(target)
    shown = widget.display_field or ft.spec.title_field
    rows, _, _ = records.list(target, filters=widget.config.get("filter") or None, q=q or None,
                           sort=shown if shown and shown in ft.columns else None, per_page=limit)
    return [{"id": r["id"], "text": _text(r.get(shown) if shown else None, r["id"])} for r in rows]


def _text(value: Any, rid: int) -> str:
    if value in (None, "", []):
        return f"#{rid}"
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


@bp.get("/forms/<form>/fields/<field>/snippets")
@query_args("q", limit=whole(hi=MAX_CHOICES))
def field_snippets(form, field):
    """``{"snippets": [{"form", "id", "title", "text"}]}``: the records a text field's ``insert_from``
    offers (knowledge articles, canned replies) matching ``q``, for a field the caller may fill; only
    records the caller may read (``runtime.snippets``)."""
    from ..snippets import find
    principal = _signed_in("look up texts to insert")
    jimu = current_jimu()
    q = (request.args.get("q") or "").strip()
    limit = int_arg("limit", 20, lo=1, hi=MAX_CHOICES)
    with jimu.read() as conn:
        sources = _field_to_fill(jimu, principal, form, field).widget.config.get("insert_from") or []
        if not sources:
            raise NotFound(f"field {field!r} offers nothing to insert; give its widget insert_from",
                           code="field.no_snippets")
        found = find(Records(jimu, conn, principal, source="api"), sources, q, limit)
    return jsonify({"snippets": found})
