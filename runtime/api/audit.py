"""The audit viewer: ``GET /api/v1/audit`` (JSON, paged) and ``GET /api/v1/audit.csv`` over the event log.

Filters (all optional, combined with AND): ``user`` (username or id of the
actor), ``app``, ``form``, ``record`` (a record id), ``kind`` (exact, or a
prefix such as ``record.*``), ``since`` / ``until`` (ISO 8601 date or time).
Newest first; ``page`` and ``per_page`` (at most 500) page the JSON; the CSV
holds every matching event up to ``AUDIT_CSV_MAX_ROWS`` (100,000).

Who may read it: administrators read every event; an app's owners (holders
of a builder role of that app) read the events of that app's forms only —
logins, user administration and tokens stay with administrators. Anyone else
gets 403, and so does a narrowed API token (it carries no builder or
administrator rights). The ``/audit`` page (``runtime.ui.audit``) calls the
same ``audit_scope`` and ``search`` functions.
"""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time, timezone
from typing import Any, Iterator, Mapping

import sqlalchemy as sa
from flask import Response, g, jsonify, request, stream_with_context

from engines.errors import PermissionDenied

from .. import db
from ..audit import jsonable
from ..auth import current_principal
from ..auth.principal import Principal
from ..context import current_jimu
from ..exceptions import NotAuthenticated
from ..store.query import like_escape
from . import bp
from .util import MAX_INT, BadRequest, int_arg, query_args, whole

MAX_PER_PAGE = 500
CSV_MAX_ROWS = 100_000
FILTERS = ("user", "app", "form", "record", "kind", "since", "until")
#: the filters as query parameters: ``since``/``until`` a date or a time, ``record`` an id
_WHEN = {"type": "string", "anyOf": [{"format": "date"}, {"format": "date-time"}]}
AUDIT_FILTERS = {"user": {"type": "string", "description": "a username or user id"}, "app": {"type": "string"},
                 "form": {"type": "string"}, "record": whole(), "kind": {"type": "string",
                                                                      "description": "an event kind; * ends a prefix"},
                 "since": _WHEN, "until": _WHEN}


def audit_scope(principal: Principal) -> set[str] | None:
    """The apps whose events ``principal`` may read; None = every event (administrators)."""
    if not principal.is_authenticated:
        raise NotAuthenticated("log in first")
    use = g.get("token")
    if use is not None and not use.scope.is_full:
        raise PermissionDenied("a read-only or app-scoped token cannot read the audit log; use a full token",
                               code="audit.forbidden")
    if principal.is_admin:
        return None
    owned = set(principal.builder_apps)     # the apps whose builder role the user holds (policy.may_build)
    if not owned:
        raise PermissionDenied("only administrators and app owners (builders of the app) may read the audit log",
                               code="audit.forbidden")
    return owned


def _when(raw: str, name: str, *, end: bool) -> datetime:
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            value = datetime.combine(day, time.max if end else time.min)
        else:
            value = datetime.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a date (2026-11-02) or an ISO 8601 time", code="request.bad_param",
                         param=name) from None
    if value.tzinfo is None:
        from zoneinfo import ZoneInfo
        value = value.replace(tzinfo=ZoneInfo(str(current_jimu().config.get("TIMEZONE") or "UTC")))
    return value.astimezone(timezone.utc)


def conditions(conn: sa.Connection, filters: Mapping[str, str], owned: set[str] | None) -> list:
    """SQL conditions on ``jimu_events`` for ``filters``, within the apps ``owned`` (None = all)."""
    e, f = db.events, db.forms
    where: list = []
    app = (filters.get("app") or "").strip()
    if owned is not None:
        if app and app not in owned:
            raise PermissionDenied(f"you do not own app {app!r}; ask an administrator", code="audit.forbidden",
                                   app=app)
        apps = [app] if app else sorted(owned)
        where.append(e.c.form_key.in_(sa.select(f.c.key).where(f.c.app_key.in_(apps))))
    elif app:
        where.append(e.c.form_key.in_(sa.select(f.c.key).where(f.c.app_key == app)))
    user = (filters.get("user") or "").strip()
    if user:
        actor = conn.execute(sa.select(db.users.c.id).where(
            db.users.c.username == user if not user.isdigit() else
            sa.or_(db.users.c.id == int(user), db.users.c.username == user))).scalar()
        where.append(e.c.actor_id == (actor if actor is not None else -1))
    if filters.get("form"):
        where.append(e.c.form_key == filters["form"].strip())
    record = (filters.get("record") or "").strip()
    if record:
        if not record.isdigit():
            raise BadRequest("record must be a record id (a whole number)", code="request.bad_param", param="record")
        where.append(e.c.record_id == int(record))
    kind = (filters.get("kind") or "").strip()
    if kind.endswith("*"):
        prefix = like_escape(kind[:-1])
        where.append(e.c.kind.like(prefix + "%", escape="\\"))
    elif kind:
        where.append(e.c.kind == kind)
    if filters.get("since"):
        where.append(e.c.at >= _when(filters["since"].strip(), "since", end=False))
    if filters.get("until"):
        where.append(e.c.at <= _when(filters["until"].strip(), "until", end=True))
    return where


def _select(where: list) -> sa.Select:
    e, u, f = db.events, db.users, db.forms
    return (sa.select(e.c.id, e.c.at, e.c.kind, e.c.actor_id, u.c.username.label("actor"), e.c.form_key,
                      f.c.app_key.label("app"), e.c.record_id, e.c.data)
            .outerjoin(u, u.c.id == e.c.actor_id).outerjoin(f, f.c.key == e.c.form_key)
            .where(*where).order_by(e.c.id.desc()))


def search(conn: sa.Connection, filters: Mapping[str, str], owned: set[str] | None, *, page: int = 1,
           per_page: int = 50) -> tuple[list[dict], int]:
    where = conditions(conn, filters, owned)
    total = conn.execute(sa.select(sa.func.count()).select_from(db.events).where(*where)).scalar_one()
    rows = conn.execute(_select(where).limit(per_page).offset((page - 1) * per_page)).mappings().all()
    return [dict(r) for r in rows], total


def filters_from_request() -> dict[str, str]:
    return {k: request.args[k] for k in FILTERS if request.args.get(k)}


def as_json(event: Mapping[str, Any]) -> dict:
    return jsonable(dict(event))


def csv_rows(filters: Mapping[str, str], owned: set[str] | None, limit: int) -> Iterator[str]:
    """The CSV text in chunks, read in pages by id so a long export holds no big result in memory."""
    jimu = current_jimu()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "at", "kind", "actor", "actor_id", "app", "form", "record_id", "data"])
    yield "\ufeff" + out.getvalue()     # BOM: spreadsheet programs then read UTF-8 (Chinese) correctly
    sent, before = 0, None
    while sent < limit:
        with jimu.read() as conn:
            where = conditions(conn, filters, owned)
            if before is not None:
                where.append(db.events.c.id < before)
            rows = conn.execute(_select(where).limit(min(1000, limit - sent))).mappings().all()
        if not rows:
            return
        out.seek(0)
        out.truncate()
        for r in rows:
            writer.writerow([r["id"], jsonable(r["at"]), r["kind"], r["actor"] or "", r["actor_id"] or "",
                             r["app"] or "", r["form_key"] or "", r["record_id"] or "",
                             json.dumps(jsonable(r["data"] or {}), ensure_ascii=False, sort_keys=True)])
        yield out.getvalue()
        sent += len(rows)
        before = rows[-1]["id"]


@bp.get("/audit")
@query_args(page=whole(hi=MAX_INT // MAX_PER_PAGE), per_page=whole(hi=MAX_PER_PAGE), **AUDIT_FILTERS)
def audit_index():
    per_page = int_arg("per_page", 50, hi=MAX_PER_PAGE)  # beyond the range a 400, never clamped
    page = int_arg("page", 1, hi=MAX_INT // per_page)
    with current_jimu().read() as conn:
        owned = audit_scope(current_principal())
        events, total = search(conn, filters_from_request(), owned, page=page, per_page=per_page)
    return jsonify({"events": [as_json(e) for e in events], "total": total, "page": page, "per_page": per_page})


@bp.get("/audit.csv")
@query_args(**AUDIT_FILTERS)
def audit_csv():
    filters = filters_from_request()
    jimu = current_jimu()
    owned = audit_scope(current_principal())
    with jimu.read() as conn:
        conditions(conn, filters, owned)            # refuse bad filters before the download starts
    limit = int(jimu.config.get("AUDIT_CSV_MAX_ROWS", CSV_MAX_ROWS))
    name = f"audit-{jimu.now():%Y%m%d-%H%M}.csv"
    return Response(stream_with_context(csv_rows(filters, owned, limit)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
