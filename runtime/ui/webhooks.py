"""``/admin/webhooks``: outgoing webhook subscriptions on a page — list, create, disable or enable,
and each one's delivery log (status, attempts, last response code). A thin form layer over
``runtime.webhooks_out`` with the rights of ``/api/v1/subscriptions``: administrators see every
subscription, app builders those of their apps' forms, others get 403."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from engines.errors import JimuError, PermissionDenied

from .. import webhooks_out as hooks
from ..api.subscriptions import _mine, managed_forms, manager, require_manages
from ..audit import record_event
from ..context import current_jimu
from ..i18n import label
from . import bp


def _principal():
    principal = manager()
    jimu = current_jimu()
    if not principal.is_admin and not managed_forms(principal, jimu.catalog):
        raise PermissionDenied("only administrators and app builders manage webhooks", code="webhook.not_builder")
    return principal


def _page(principal, error=None, sent=None, status=200):
    jimu = current_jimu()
    with jimu.read() as conn:
        forms = managed_forms(principal, jimu.catalog)
        subs = hooks.listing(conn, forms)
        choices = [ft for ft in jimu.catalog if forms is None or ft.key in forms]
    return render_template("admin/webhooks.html", subs=subs, forms=choices, events=hooks.EVENTS, error=error,
                           sent=sent or {}), status


@bp.get("/admin/webhooks")
def admin_webhooks():
    return _page(_principal())


@bp.post("/admin/webhooks")
def admin_webhook_create():
    principal = _principal()
    jimu = current_jimu()
    sent = {"form": request.form.get("form", ""), "events": request.form.getlist("events"),
            "url": request.form.get("url", "").strip(), "name": request.form.get("name", "").strip()}
    try:
        with jimu.begin() as conn:
            values = hooks.check(jimu.catalog, sent, allow=jimu.services.notifier.allowlist)
            require_manages(principal, jimu.catalog, values["form_key"])
            sub = hooks.create(conn, values, user_id=principal.user_id, now=jimu.now())
            record_event(conn, "webhook.subscribed", at=jimu.now(), actor_id=principal.user_id,
                         form_key=sub["form"], data={"subscription": sub["id"], "url": sub["url"],
                                                     "events": sub["events"]})
    except JimuError as exc:
        return _page(principal, error=exc, sent=sent, status=exc.status)
    flash(label({"zh-CN": f"已创建。签名密钥（只显示这一次）：{sub['secret']}",
                 "en": f"Created. Signing secret (shown this once): {sub['secret']}"}))
    return redirect(url_for("ui.admin_webhook", sid=sub["id"]))


@bp.post("/admin/webhooks/<int:sid>/active")
def admin_webhook_active(sid):
    principal = _principal()
    jimu = current_jimu()
    active = request.form.get("active") == "1"
    with jimu.begin() as conn:
        _mine(conn, principal, jimu.catalog, sid)
        sub = hooks.update(conn, sid, {"is_active": active}, now=jimu.now())
        record_event(conn, "webhook.changed", at=jimu.now(), actor_id=principal.user_id, form_key=sub["form"],
                     data={"subscription": sid, "changed": ["is_active"]})
    return redirect(request.form.get("next") or url_for("ui.admin_webhooks"))


@bp.get("/admin/webhooks/<int:sid>")
def admin_webhook(sid):
    principal = _principal()
    jimu = current_jimu()
    try:
        page = max(int(request.args.get("page", 1)), 1)
    except ValueError:
        page = 1
    per_page = 50
    with jimu.read() as conn:
        sub = _mine(conn, principal, jimu.catalog, sid)
        rows, total = hooks.deliveries(conn, sid, limit=per_page, offset=(page - 1) * per_page)
    return render_template("admin/webhook.html", sub=sub, deliveries=rows, total=total, page=page,
                           pages=max(1, -(-total // per_page)))
