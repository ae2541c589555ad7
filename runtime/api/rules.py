"""Rules over the REST API: catalogue for the builder, validation, dry run, firing log, outbox,
schedules; and the in-app inbox (``/notifications``) with its unread count.

Apps are tenants: the rule list, dry runs and the firing log answer a builder about the apps
they design only, and about the records their own read permission reaches (``policy.row_filter``).
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import jsonify, request

from engines.rule import TRIGGERS, RuleInvalid, action_catalogue, compile_rule, operator_catalogue

from .. import db
from ..audit import jsonable
from ..auth import current_principal
from ..auth import policy
from ..auth.policy import may_build, require_admin, require_app_builder, require_builder
from ..context import current_jimu
from ..exceptions import NotAuthenticated
from ..rules import dry_run, sync_schedules
from ..rules.loader import allowlist
from ..rules.tables import notifications, rule_firings
from . import bp
from .util import BOOL, BadRequest, int_arg, json_body, query_args, whole


def _runner():
    return current_jimu().services.rules


def _user():
    p = current_principal()
    if not p.is_authenticated:
        raise NotAuthenticated("log in first")
    return p


@bp.get("/rules")
def list_rules():
    principal = current_principal()
    require_builder(principal)
    with current_jimu().read() as conn:
        rs = _runner().cache.get(conn)
    return jsonify({"rules": [{"key": r.key, "app": r.app, "form": r.form, "label": r.label, "enabled": r.enabled,
                               "priority": r.priority, "trigger": r.trigger.config} for r in rs.rules
                              if may_build(principal, r.app)],
                    "problems": [p for p in rs.problems if may_build(principal, p.get("app"))]})


@bp.get("/rules/catalog")
def rule_catalog():
    require_builder(current_principal())
    return jsonify({"triggers": sorted(TRIGGERS), "operators": operator_catalogue(), "actions": action_catalogue()})


@bp.post("/rules/validate")
def validate_rule():
    require_builder(current_principal())
    try:
        compile_rule(json_body(), allow=allowlist(current_jimu()))
    except RuleInvalid as exc:
        return jsonify({"valid": False, "errors": exc.errors})
    return jsonify({"valid": True, "errors": []})


@bp.post("/rules/dry-run")
def rule_dry_run():
    """Body: ``{"rule": {...definition...}}`` or ``{"key": "installed_rule"}``; ``limit`` records shown."""
    principal = current_principal()
    require_builder(principal)
    body = json_body()
    jimu = current_jimu()
    limit = max(1, min(int(body.get("limit", 50)), 500))
    with jimu.read() as conn:
        if isinstance(body.get("key"), str):
            rule = _runner().cache.get(conn).get(body["key"])
        elif isinstance(body.get("rule"), dict):
            rule = compile_rule(body["rule"], allow=allowlist(jimu))
        else:
            raise BadRequest("send {\"rule\": {...}} or {\"key\": \"rule_key\"}", code="rule.dry_run_body")
        # the app that owns the watched form: only its builders dry-run rules against its records
        require_app_builder(principal, jimu.catalog.form(rule.form).app_key)
        result = dry_run(jimu, conn, rule, principal=principal, limit=limit)
    return jsonify(result)


@bp.get("/rules/firings")
@query_args("rule", "form", limit=whole(hi=1000), record=whole(), matched=BOOL)
def rule_firings_log():
    """The rule-firing log (effects, messages as their templates): for a builder, the firings of the apps they
    design on records they may read."""
    principal = current_principal()
    require_builder(principal)
    t = rule_firings
    q = sa.select(t).order_by(t.c.id.desc()).limit(int_arg("limit", 100, hi=1000))
    if request.args.get("rule"):
        q = q.where(t.c.rule_key == request.args["rule"])
    if request.args.get("form"):
        q = q.where(t.c.form_key == request.args["form"])
    if request.args.get("record"):
        q = q.where(t.c.record_id == int_arg("record", 0))
    if request.args.get("matched") in ("true", "false"):
        q = q.where(t.c.matched.is_(request.args["matched"] == "true"))
    with current_jimu().read() as conn:
        if not principal.is_admin:
            q = q.where(_firings_in_reach(principal))
        rows = [dict(r) for r in conn.execute(q).mappings()]
    return jsonify({"firings": jsonable(rows)})


def _firings_in_reach(principal) -> sa.ColumnElement:
    """Firings of rules of the apps the principal designs, on records their read permission reaches."""
    t = rule_firings
    per_form = []
    for ft in current_jimu().catalog:
        if not may_build(principal, ft.app_key) or not policy.can(principal, "read", ft.key):
            continue
        scope = policy.row_filter(principal, ft)
        mine = sa.and_(t.c.app_key == ft.app_key, t.c.form_key == ft.key)
        per_form.append(mine if scope is None else
                        sa.and_(mine, t.c.record_id.in_(sa.select(ft.table.c.id).where(scope))))
    return sa.or_(sa.false(), *per_form)


def _outbox_query(status: str | None):
    j = db.jobs
    q = sa.select(j.c.id, j.c.kind, j.c.status, j.c.attempts, j.c.max_attempts, j.c.run_at, j.c.last_error,
                  j.c.idempotency_key, j.c.created_at, j.c.finished_at, j.c.payload).where(j.c.kind.like("rule.%"))
    if status:
        q = q.where(j.c.status == status)
    return q


@bp.get("/rules/outbox")
@query_args("status")
def rule_outbox():
    """Outgoing rule messages and timers; ``?status=failed`` lists deliveries that gave up."""
    require_admin(current_principal())
    with current_jimu().read() as conn:
        rows = []
        for r in conn.execute(_outbox_query(request.args.get("status")).order_by(db.jobs.c.id.desc()).limit(200)
                              ).mappings():
            row = dict(r)
            payload = dict(row.pop("payload") or {})
            payload.pop("secret", None)
            row["target"] = (payload.get("url") or (payload.get("templates") or {}).get("url") or payload.get("to")
                             or payload.get("recipients") or payload.get("rule"))
            rows.append(row)
    return jsonify({"jobs": jsonable(rows)})


@bp.post("/rules/schedules/sync")
def rule_sync_schedules():
    require_admin(current_principal())
    jimu = current_jimu()
    with jimu.begin() as conn:
        queued = sync_schedules(jimu, conn, _runner().cache.get(conn))
    return jsonify({"queued": queued})


# -- the in-app inbox ------------------------------------------------------------------------
@bp.get("/notifications")
@query_args(limit=whole(hi=200), unread=BOOL)
def list_notifications():
    p = _user()
    n = notifications
    q = sa.select(n).where(n.c.user_id == p.user_id).order_by(n.c.id.desc()).limit(
        int_arg("limit", 50, hi=200))
    if request.args.get("unread") == "true":
        q = q.where(n.c.read_at.is_(None))
    with current_jimu().read() as conn:
        rows = [dict(r) for r in conn.execute(q).mappings()]
    return jsonify({"notifications": jsonable(rows)})


@bp.get("/notifications/unread-count")
def unread_count():
    p = _user()
    n = notifications
    with current_jimu().read() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(n).where(
            n.c.user_id == p.user_id, n.c.read_at.is_(None))).scalar_one()
        out = {"unread": count}
        if p.is_admin:
            out["failed_deliveries"] = conn.execute(sa.select(sa.func.count()).select_from(
                _outbox_query("failed").subquery())).scalar_one()
    return jsonify(out)


@bp.post("/notifications/<int:nid>/read")
def mark_read(nid):
    p = _user()
    n = notifications
    jimu = current_jimu()
    with jimu.begin() as conn:
        done = conn.execute(sa.update(n).where(n.c.id == nid, n.c.user_id == p.user_id, n.c.read_at.is_(None))
                            .values(read_at=jimu.now())).rowcount
    return jsonify({"updated": done})


@bp.post("/notifications/read-all")
def mark_all_read():
    p = _user()
    n = notifications
    jimu = current_jimu()
    with jimu.begin() as conn:
        done = conn.execute(sa.update(n).where(n.c.user_id == p.user_id, n.c.read_at.is_(None))
                            .values(read_at=jimu.now())).rowcount
    return jsonify({"updated": done})


@bp.post("/forms/<form>/records/<int:rid>/run/<rule>")
def run_manual_rule(form, rid, rule):
    """Run a rule with a ``manual`` trigger on one record (the person must be allowed to update it and
    the rule's condition must hold). Answers the records its actions wrote, e.g. a created draft."""
    from ..records import Records
    from ..rules.manual import run
    jimu = current_jimu()
    principal = _user()
    with jimu.begin() as conn:
        result = run(jimu, Records(jimu, conn, principal, source="api"), form, rid, rule)
    return jsonify(result)
