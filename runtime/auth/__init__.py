"""Identity: who is asking (session cookie or Bearer token), CSRF, login/logout.

Browser requests carry a signed session cookie; every state-changing browser
request must also carry the session's CSRF token (form field ``csrf_token``
or header ``X-CSRF-Token``). Integrators send ``Authorization: Bearer <token>``
and are exempt from CSRF because no cookie is involved.
"""
from __future__ import annotations

import hmac
import secrets

from flask import Blueprint, Flask, abort, g, redirect, render_template, request, session, url_for

from ..context import current_jimu
from .principal import ANONYMOUS, Principal, load_principal
from .users import authenticate, user_for_token

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
bp = Blueprint("auth", __name__)


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def _load_principal() -> None:
    g.principal = ANONYMOUS
    g.via_token = False
    if request.endpoint == "static":
        return
    header = request.headers.get("Authorization", "")
    jimu = current_jimu()
    if header.startswith("Bearer "):
        with jimu.read() as conn:
            uid = user_for_token(conn, header[7:].strip())
            principal = load_principal(conn, uid) if uid else None
        if principal is None:
            from ..exceptions import NotAuthenticated
            raise NotAuthenticated("the API token is unknown or revoked; create a new one", code="auth.bad_token")
        g.principal, g.via_token = principal, True
        return
    uid = session.get("uid")
    if uid:
        with jimu.read() as conn:
            principal = load_principal(conn, uid)
        if principal is None:
            session.clear()
        else:
            g.principal = principal


def _check_csrf() -> None:
    if request.method in SAFE_METHODS or g.get("via_token") or request.endpoint in (None, "static"):
        return
    if request.blueprint and current_jimu().config.get("CSRF_EXEMPT_BLUEPRINTS") and \
            request.blueprint in current_jimu().config["CSRF_EXEMPT_BLUEPRINTS"]:
        return
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token", "")
    expected = session.get("csrf")
    if not expected or not hmac.compare_digest(sent, expected):
        from engines.errors import PermissionDenied
        raise PermissionDenied("the form expired or came from another site; reload the page and try again",
                               code="auth.csrf")


def current_principal() -> Principal:
    return g.get("principal", ANONYMOUS)


def init_auth(app: Flask) -> None:
    app.before_request(_load_principal)
    app.before_request(_check_csrf)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["current_principal"] = current_principal
    app.register_blueprint(bp)


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        jimu = current_jimu()
        with jimu.begin() as conn:
            uid = authenticate(conn, request.form.get("username", ""), request.form.get("password", ""))
            from ..audit import record_event
            record_event(conn, "auth.login" if uid else "auth.login_failed", actor_id=uid, at=jimu.now(),
                         data={"username": request.form.get("username", "")[:150], "ip": request.remote_addr})
        if uid:
            session.clear()
            session["uid"] = uid
            csrf_token()
            target = request.args.get("next") or ""
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("ui.home")
            return redirect(target)
        error = "login.failed"
    return render_template("login.html", error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    session.clear()
    return redirect(url_for("auth.login"))
