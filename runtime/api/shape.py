"""``fields=`` and ``expand=`` on record reads: what an integrator asks a record answer to carry.

* ``fields=title,customer`` keeps only those fields (``id`` and ``row_version`` always stay: the
  record's address and its ETag). A field the form does not have is a 400 ``request.unknown_field``;
  one hidden from the caller a 403 ``permission.field_hidden``, as in a filter.
* ``expand=customer,owner`` replaces the ids of link, user and group fields by objects: a linked
  record as the caller would read it directly (``GET`` of that record: the linked form's read verb,
  the caller's row scope there, without the fields hidden from them), a user as
  ``{id, username, display_name}``, a group as ``{id, key, label}``. A link to a record the caller may
  not read — or one that no longer exists — stays ``{"id": n}``: expanding never tells more than
  the id the field already shows. One level deep; one query per linked form, users and groups.
"""
from __future__ import annotations

from typing import Any, Iterable

import sqlalchemy as sa
from flask import request

from engines.errors import JimuError

from .. import db
from ..auth import policy
from ..store.mapping import SYSTEM_COLUMNS

EXPANDABLE = ("link", "user", "group")
ALWAYS = ("id", "row_version")


class UnknownField(JimuError):
    code = "request.unknown_field"
    status = 400


def _names(param: str) -> list[str]:
    raw = request.args.get(param)
    if raw is None:
        return []
    names = [n.strip() for n in raw.split(",") if n.strip()]
    if not names:
        raise UnknownField(f"{param} lists field keys separated by commas", param=param)
    return list(dict.fromkeys(names))


def expandable(ft, key: str) -> bool:
    return ft.spec.has_field(key) and ft.spec.field(key).widget.value_kind in EXPANDABLE \
        and (key in ft.columns or key in ft.multi)


def requested(ft, principal) -> tuple[list[str] | None, list[str]]:
    """(the fields asked for, or None for all; the fields to expand), checked against the form and
    the caller's hidden fields."""
    fields, expand = _names("fields") or None, _names("expand")
    for key in fields or ():
        if key not in SYSTEM_COLUMNS and not ft.spec.has_field(key):
            raise UnknownField(f"form {ft.key!r} has no field {key!r} (fields=)", param="fields", field=key)
    for key in expand:
        if not expandable(ft, key):
            raise UnknownField(f"{key!r} is not a link, user or group field of {ft.key!r}; expand= takes those",
                               param="expand", field=key)
    policy.require_visible_fields(principal, ft.key, [*(fields or ()), *expand])
    return fields, expand


def shape(conn: sa.Connection, jimu, principal, ft, records: list[dict], fields: list[str] | None,
          expand: list[str]) -> list[dict]:
    """``records`` (already redacted for ``principal``) with only ``fields`` and ``expand`` expanded."""
    if fields is not None:
        keep = {*ALWAYS, *fields, *expand}
        records = [{k: v for k, v in r.items() if k in keep} for r in records]
    for key in expand:
        kind = ft.spec.field(key).widget.value_kind
        ids = {i for r in records for i in _ids(r.get(key))}
        if kind == "link":
            found = _linked(conn, jimu, principal, ft.spec.field(key).widget.target, ids)
        elif kind == "user":
            found = _users(conn, ids)
        else:
            found = _groups(conn, ids)
        for r in records:
            if key in r:
                value = r[key]
                r[key] = [found.get(i, {"id": i}) for i in value] if isinstance(value, list) \
                    else (None if value is None else found.get(value, {"id": value}))
    return records


def _ids(value: Any) -> Iterable[int]:
    if isinstance(value, list):
        return [v for v in value if isinstance(v, int)]
    return [value] if isinstance(value, int) else []


def _linked(conn, jimu, principal, target: str, ids: set[int]) -> dict[int, dict]:
    """The linked records the caller may read, by id, as a direct read shows them."""
    if not ids or not policy.can(principal, "read", target):
        return {}
    tft = jimu.catalog.form(target)
    where = tft.table.c.id.in_(sorted(ids))
    scope = policy.row_filter(principal, tft)
    if scope is not None:
        where = sa.and_(where, scope)
    store = jimu.services.store(conn)
    rows = store.to_records(tft, conn.execute(sa.select(tft.table).where(where)).mappings().all())
    return {r["id"]: policy.redact(principal, target, r) for r in rows}


def _users(conn, ids: set[int]) -> dict[int, dict]:
    if not ids:
        return {}
    u = db.users
    rows = conn.execute(sa.select(u.c.id, u.c.username, u.c.display_name).where(u.c.id.in_(sorted(ids))))
    return {r.id: {"id": r.id, "username": r.username, "display_name": r.display_name} for r in rows}


def _groups(conn, ids: set[int]) -> dict[int, dict]:
    if not ids:
        return {}
    t = db.groups
    rows = conn.execute(sa.select(t.c.id, t.c.key, t.c.label).where(t.c.id.in_(sorted(ids))))
    return {r.id: {"id": r.id, "key": r.key, "label": r.label} for r in rows}
