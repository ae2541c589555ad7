"""Outgoing webhook subscriptions over HTTP (``runtime.webhooks_out``):

* ``GET /api/v1/subscriptions`` — those the caller manages (``?form=`` narrows), with delivery counts;
* ``POST /api/v1/subscriptions`` ``{"form", "events", "url", "name"?, "secret"?}`` — 201 with the
  ``secret`` (made when not sent; shown in this answer only);
* ``GET/PATCH/DELETE /api/v1/subscriptions/<id>`` — ``PATCH {"is_active": false}`` disables one;
* ``GET /api/v1/subscriptions/<id>/deliveries`` — the delivery log (status, attempts, response code).

A subscription is managed by whoever designs the form's app (administrators, app builders): it sends
whole records out of Jimu, so reading the form is not enough. Changes are audited.
"""
from __future__ import annotations

from flask import jsonify, request, url_for

from ..audit import jsonable, record_event
from ..auth import current_principal
from ..auth.policy import may_build
from ..context import current_jimu
from ..exceptions import NotAuthenticated, PermissionDenied
from .. import webhooks_out as hooks
from . import bp
from .util import body_schema, int_arg, json_body, query_args, whole


def _schema(method: str) -> dict:
    """A subscription as sent: POST needs form, events and url; PATCH takes any of the fields."""
    schema = {"type": "object", "additionalProperties": False, "properties": {
        "name": {"type": "string", "maxLength": 200},
        "form": {"type": "string", "description": "the form key"},
        "events": {"type": "array", "minItems": 1, "items": {"enum": list(hooks.EVENTS)}},
        "url": {"type": "string", "format": "uri", "maxLength": 2000},
        "secret": {"type": "string", "minLength": 16, "maxLength": 200,
                   "description": "signs each delivery; made for you when left out"},
        "is_active": {"type": "boolean"}}}
    if method == "POST":
        schema["required"] = ["form", "events", "url"]
    return schema


def manager():
    principal = current_principal()
    if not principal.is_authenticated:
        raise NotAuthenticated("log in or send an API token to manage webhook subscriptions")
    return principal


def managed_forms(principal, catalog) -> list[str] | None:
    """The forms whose subscriptions ``principal`` manages (None: all, for administrators)."""
    if principal.is_admin:
        return None
    return [ft.key for ft in catalog if may_build(principal, ft.app_key)]


def require_manages(principal, catalog, form_key: str) -> None:
    app = catalog.form(form_key).app_key if form_key in catalog else None
    if not may_build(principal, app):
        raise PermissionDenied(f"only those who design app {app!r} manage webhooks of form {form_key!r}",
                               code="webhook.not_builder", form=form_key)


def _mine(conn, principal, catalog, sid: int) -> dict:
    """The subscription, if the caller manages its form (else reported as not existing)."""
    sub = hooks.get(conn, sid)
    forms = managed_forms(principal, catalog)
    if forms is not None and sub["form"] not in forms:
        raise hooks.SubscriptionNotFound(f"webhook subscription {sid} does not exist", id=sid)
    return sub


@bp.get("/subscriptions")
@query_args("form")
def list_subscriptions():
    """Outgoing webhook subscriptions the caller manages, with their delivery counts."""
    principal = manager()
    jimu = current_jimu()
    with jimu.read() as conn:
        forms = managed_forms(principal, jimu.catalog)
        wanted = request.args.get("form")
        if wanted:
            forms = [f for f in (forms if forms is not None else [wanted]) if f == wanted]
        subs = hooks.listing(conn, forms)
    return jsonify({"subscriptions": jsonable(subs)})


@bp.post("/subscriptions")
@query_args()
@body_schema(_schema)
def create_subscription():
    """Subscribe a URL to record events of a form; the answer carries the signing secret (once)."""
    principal = manager()
    jimu = current_jimu()
    data = json_body()
    with jimu.begin() as conn:
        values = hooks.check(jimu.catalog, data, allow=jimu.services.notifier.allowlist)
        require_manages(principal, jimu.catalog, values["form_key"])
        sub = hooks.create(conn, values, user_id=principal.user_id, now=jimu.now())
        record_event(conn, "webhook.subscribed", at=jimu.now(), actor_id=principal.user_id, form_key=sub["form"],
                     data={"subscription": sub["id"], "url": sub["url"], "events": sub["events"]})
    return jsonify(jsonable(sub)), 201, {"Location": url_for("api.get_subscription", sid=sub["id"])}


@bp.get("/subscriptions/<int:sid>")
@query_args()
def get_subscription(sid):
    """One webhook subscription (its secret's first characters only)."""
    principal = manager()
    jimu = current_jimu()
    with jimu.read() as conn:
        return jsonify(jsonable(_mine(conn, principal, jimu.catalog, sid)))


@bp.patch("/subscriptions/<int:sid>")
@query_args()
@body_schema(_schema)
def update_subscription(sid):
    """Change a subscription: is_active (false disables it: pending deliveries are cancelled), url, events,
    name, secret."""
    principal = manager()
    jimu = current_jimu()
    data = json_body()
    with jimu.begin() as conn:
        _mine(conn, principal, jimu.catalog, sid)
        values = hooks.check(jimu.catalog, data, partial=True, allow=jimu.services.notifier.allowlist)
        if "form_key" in values:
            require_manages(principal, jimu.catalog, values["form_key"])
        sub = hooks.update(conn, sid, values, now=jimu.now())
        record_event(conn, "webhook.changed", at=jimu.now(), actor_id=principal.user_id, form_key=sub["form"],
                     data={"subscription": sid, "changed": sorted(k for k in data if k != "secret")})
    return jsonify(jsonable(sub))


@bp.delete("/subscriptions/<int:sid>")
@query_args()
def delete_subscription(sid):
    """Remove a subscription and its delivery log."""
    principal = manager()
    jimu = current_jimu()
    with jimu.begin() as conn:
        sub = _mine(conn, principal, jimu.catalog, sid)
        hooks.delete(conn, sid)
        record_event(conn, "webhook.unsubscribed", at=jimu.now(), actor_id=principal.user_id, form_key=sub["form"],
                     data={"subscription": sid, "url": sub["url"]})
    return "", 204


@bp.get("/subscriptions/<int:sid>/deliveries")
@query_args(page=whole(hi=10**9), per_page=whole(hi=500))
def list_deliveries(sid):
    """The delivery log of a subscription, newest first: delivery id, event, record, status, attempts,
    last response code and error."""
    principal = manager()
    per_page = int_arg("per_page", 50, hi=500)
    page = int_arg("page", 1, hi=10**9)
    jimu = current_jimu()
    with jimu.read() as conn:
        _mine(conn, principal, jimu.catalog, sid)
        rows, total = hooks.deliveries(conn, sid, limit=per_page, offset=(page - 1) * per_page)
    return jsonify({"deliveries": jsonable(rows), "total": total, "page": page, "per_page": per_page})
