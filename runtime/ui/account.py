"""``/account/...``: what a signed-in user manages about themselves (password, API tokens).

``/account/tokens`` lists the user's API tokens (scope, expiry, last use,
status), creates one (the secret is shown on the response page once, never
put in the session cookie or a redirect) and revokes them; ``/admin/tokens``
is the same page over every user's tokens, for administrators. Both call the
functions of ``runtime.api.tokens``, so the rules and audit events match the API.

Changing the password ends every other session of the user (the session
generation moves on) and re-signs this browser into the new generation, as
Django's ``update_session_auth_hash`` does.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for

from engines.errors import JimuError

from .. import db
from ..api.tokens import new_token, visible_token
from ..api.users import require_admin
from ..audit import record_event
from ..auth import current_principal, forget_principal, start_session
from ..auth.sessions import end_sessions
from ..auth.tokens import list_tokens, revoke_token, status
from ..auth.users import change_password
from ..context import current_jimu
from ..exceptions import NotAuthenticated
from ..i18n import label
from . import bp


def require_login():
    principal = current_principal()
    if not principal.is_authenticated:
        raise NotAuthenticated("log in first")
    return principal


@bp.route("/account/password", methods=["GET", "POST"])
def account_password():
    principal = require_login()
    error, status = None, 200
    if request.method == "POST":
        jimu = current_jimu()
        try:
            with jimu.begin() as conn:
                change_password(conn, principal.user_id, request.form.get("current", ""),
                                request.form.get("password", ""), request.form.get("confirm", ""))
                generation = end_sessions(conn, principal.user_id)
                record_event(conn, "user.password_changed", at=jimu.now(), actor_id=principal.user_id,
                             data={"user_id": principal.user_id, "username": principal.username,
                                   "ip": request.remote_addr})
        except JimuError as exc:
            error, status = exc, 422
        else:
            forget_principal(principal.user_id)
            start_session(principal.user_id, generation)
            flash(label({"zh-CN": "密码已修改；其他设备上的登录已退出。",
                         "en": "Password changed; you were logged out on every other device."}))
            return redirect(url_for("ui.account_password"))
    return render_template("account/password.html", error=error), status


EXPIRY_CHOICES = (30, 90, 365)


def _token_page(principal, *, everyone: bool, created=None, secret=None, error=None, values=None):
    jimu = current_jimu()
    now = jimu.now()
    with jimu.read() as conn:
        rows = list_tokens(conn, user_id=None if everyone else principal.user_id)
        apps = [dict(r) for r in conn.execute(sa.select(db.apps.c.key, db.apps.c.label).order_by(db.apps.c.key))
                .mappings()]
        forms = [dict(r) for r in conn.execute(sa.select(db.forms.c.key, db.forms.c.app_key)
                                               .where(db.forms.c.status == "active")
                                               .order_by(db.forms.c.app_key, db.forms.c.key)).mappings()]
        users = (conn.execute(sa.select(db.users.c.id, db.users.c.username).where(db.users.c.is_active.is_(True))
                              .order_by(db.users.c.username)).all() if everyone else [])
    for t in rows:
        t["status"] = status(t, now)
    base = (jimu.config.get("BASE_URL") or request.host_url).rstrip("/")
    return render_template("account/tokens.html", tokens=rows, apps=apps, forms=forms, users=users,
                           everyone=everyone, created=created, secret=secret, error=error, values=values or {},
                           expiry_choices=EXPIRY_CHOICES, base_url=base), \
        (201 if secret else 422 if error else 200), {"Cache-Control": "no-store"}


def _create_from_form(principal, everyone: bool):
    jimu = current_jimu()
    form = request.form
    data = {"name": form.get("name", ""), "access": form.get("access", "read"), "apps": form.getlist("apps"),
            "forms": form.getlist("forms"), "expires_in_days": form.get("expires_in_days") or None}
    if everyone and form.get("user_id"):
        data["user_id"] = form["user_id"]
    try:
        with jimu.begin() as conn:
            token, secret = new_token(conn, principal, data, now=jimu.now(), via="page")
    except JimuError as exc:
        return _token_page(principal, everyone=everyone, error=exc, values=data)
    return _token_page(principal, everyone=everyone, created=token, secret=secret)


def _revoke_from_form(principal, token_id: int, endpoint: str):
    jimu = current_jimu()
    with jimu.begin() as conn:
        visible_token(conn, principal, token_id)
        token = revoke_token(conn, token_id, now=jimu.now(), actor_id=principal.user_id, via="page")
    flash(label({"zh-CN": f"已吊销令牌 {token['name']}", "en": f"Token {token['name']} revoked"}))
    return redirect(url_for(endpoint))


@bp.route("/account/tokens", methods=["GET", "POST"])
def account_tokens():
    principal = require_login()
    if request.method == "POST":
        return _create_from_form(principal, everyone=False)
    return _token_page(principal, everyone=False)


@bp.post("/account/tokens/<int:token_id>/revoke")
def account_token_revoke(token_id: int):
    return _revoke_from_form(require_login(), token_id, "ui.account_tokens")


@bp.route("/admin/tokens", methods=["GET", "POST"])
def admin_tokens():
    principal = require_admin()
    if request.method == "POST":
        return _create_from_form(principal, everyone=True)
    return _token_page(principal, everyone=True)


@bp.post("/admin/tokens/<int:token_id>/revoke")
def admin_token_revoke(token_id: int):
    return _revoke_from_form(require_admin(), token_id, "ui.admin_tokens")
