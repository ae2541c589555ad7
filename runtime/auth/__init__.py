"""Identity: who is asking (session cookie or Bearer token), CSRF, login/logout.

Browser requests carry a signed session cookie naming the user and the
session generation it was started in (``runtime.auth.sessions``); it is
honoured only while the user's row still has that generation, so logout,
password changes and deactivation end every session at once. Every
state-changing browser request must also carry the session's CSRF token (form
field ``csrf_token`` or header ``X-CSRF-Token``). Integrators send
``Authorization: Bearer <token>`` (``runtime.auth.tokens``: scope, expiry,
revocation checked on every request) and are exempt from CSRF because no
cookie is involved. Logins are throttled per account and per address.
"""
from __future__ import annotations

import hmac
import secrets
import time
from contextlib import contextmanager
from typing import Iterator

from flask import Blueprint, Flask, abort, current_app, g, redirect, render_template, request, session, url_for

from .. import aside
from ..context import current_jimu
from ..db import single_reads
from ..exceptions import NotAuthenticated
from ..store.catalog import Catalog
from . import sessions, tokens
from .principal import ANONYMOUS, Principal, load_principal
from .users import authenticate

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
bp = Blueprint("auth", __name__)


def csrf_token() -> str:
    """The session's CSRF token; on a view marked ``signed_form_token`` a signed token instead."""
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "csrf_signed", False):
        return _signer().dumps(_signed_scope())
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def signed_form_token(view):
    """Mark a view whose forms carry a signed, expiring token instead of the session's.

    For anonymous pages that must work inside another site's iframe (an embedded public form):
    browsers send no SameSite cookie there, so a session-bound token would always fail. What such
    a view writes is done as the anonymous principal, so no cookie lends it authority; the token
    proves the form was served by this app for this form within ``PUBLIC_FORM_TOKEN_SECONDS``."""
    view.csrf_signed = True
    return view


def _signer():
    from itsdangerous import URLSafeTimedSerializer
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="jimu.public-form")


def _signed_scope() -> str:
    return f"{request.blueprint}:{(request.view_args or {}).get('form', '')}"


def _signed_token_ok(sent: str) -> bool:
    from itsdangerous import BadData
    try:
        scope = _signer().loads(sent, max_age=int(current_app.config.get("PUBLIC_FORM_TOKEN_SECONDS", 86400)))
    except BadData:
        return False
    return scope == _signed_scope()  # the signature already proves it is ours; this binds it to the form


class PrincipalCache:
    """Principals by user id for ``AUTH_CACHE_SECONDS`` (default 5).

    Loading a principal costs three queries (user, roles, groups) on every
    request; caching it briefly makes a role change or deactivation take effect
    within a few seconds, while a revoked token is still refused at once (the
    token itself is looked up on every request).
    """

    def __init__(self) -> None:
        self._items: dict[int, tuple[float, Principal | None]] = {}

    def get(self, conn, uid: int, ttl: float) -> Principal | None:
        now = time.monotonic()
        hit = self._items.get(uid)
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
        principal = load_principal(conn, uid)
        if ttl > 0:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[uid] = (now, principal)
        return principal

    def forget(self, uid: int | None = None) -> None:
        if uid is None:
            self._items.clear()
        else:
            self._items.pop(uid, None)


def _principal_for(jimu, conn, uid: int) -> Principal | None:
    return jimu.services.principals.get(conn, uid, float(jimu.config.get("AUTH_CACHE_SECONDS", 5)))


def _load_principal() -> None:
    jimu = current_jimu()
    jimu.catalog.forget_seen()
    g.principal = ANONYMOUS
    g.via_token = False
    g.token = None
    if request.endpoint == "static":
        return
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer":  # auth schemes are case-insensitive (RFC 9110 §11.1)
        now = jimu.now()
        # plain reads: identity needs no catalogue refresh, nor one snapshot (no BEGIN)
        with _identity_reads(jimu) as conn:
            use = tokens.authenticate_token(conn, credentials.strip(), now=now)
            principal = _principal_for(jimu, conn, use.user_id)
            if principal is not None and not use.scope.is_full:
                principal = tokens.narrow(principal, use.scope, tokens.form_apps(conn))
            stale = use.needs_touch(now)
        if principal is None:
            raise NotAuthenticated("the API token's user is deactivated", code="auth.bad_token")
        if stale:
            tokens.touch(jimu.engine, use.id, now=now)
        g.principal, g.via_token, g.token = principal, True, use
        jimu.catalog.seen(use.catalog_revision)
        return
    uid = session.get("uid")
    if uid:
        with _identity_reads(jimu) as conn:
            live = sessions.current_generation(conn, uid) == session.get("gen")
            principal = _principal_for(jimu, conn, uid) if live else None
        if principal is None:
            session.clear()
        else:
            g.principal = principal


@contextmanager
def _identity_reads(jimu) -> Iterator:
    """The connection the identity lookup reads on (``single_reads``). On a server database it stays
    checked out for the rest of the request, lent as its transactions' connection aside
    (``runtime.aside.lend``: serial numbers, ids), and goes back at the request's end
    (``_take_back``); on SQLite, at once."""
    conn = single_reads(jimu.engine)
    lent = False
    try:
        yield conn
        if jimu.engine.dialect.name != "sqlite" and g.get("jimu_lent") is None:
            g.jimu_lent = aside.lend(conn)
            lent = True
    finally:
        if not lent:
            conn.close()


def _take_back(_exc=None) -> None:
    lent = g.pop("jimu_lent", None)
    if lent is not None:
        aside.take_back(lent)


def _forget_seen(_exc=None) -> None:
    """The catalogue revision the request's identity lookup read serves that request only."""
    Catalog.forget_seen()


def _check_csrf() -> None:
    if request.method in SAFE_METHODS or g.get("via_token") or request.endpoint in (None, "static"):
        return
    if request.path.startswith("/api/") and not session.get("uid"):
        return  # no cookie carries authority here; the API answers 401 itself
    if request.blueprint and current_jimu().config.get("CSRF_EXEMPT_BLUEPRINTS") and \
            request.blueprint in current_jimu().config["CSRF_EXEMPT_BLUEPRINTS"]:
        return
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token", "")
    if getattr(current_app.view_functions.get(request.endpoint), "csrf_signed", False):
        if _signed_token_ok(sent):
            return
        from engines.errors import PermissionDenied
        raise PermissionDenied("the form expired; reload the page and submit again", code="auth.csrf")
    expected = session.get("csrf")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):  # bytes: non-ASCII is no 500
        from engines.errors import PermissionDenied
        raise PermissionDenied("the form expired or came from another site; reload the page and try again",
                               code="auth.csrf")


def current_principal() -> Principal:
    return g.get("principal", ANONYMOUS)


def start_session(uid: int, generation: int) -> None:
    """Sign ``uid`` in on this browser, in the user's current session generation."""
    session.clear()
    session["uid"] = uid
    session["gen"] = generation
    csrf_token()


def forget_principal(uid: int | None = None) -> None:
    """Drop cached principals (after a change to the user's rights or sessions)."""
    current_jimu().services.principals.forget(uid)


def init_auth(app: Flask) -> None:
    app.session_interface = sessions.SignedCookieSessions()
    app.before_request(_load_principal)
    app.teardown_request(_forget_seen)
    app.teardown_request(_take_back)
    app.before_request(_check_csrf)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["current_principal"] = current_principal
    app.register_blueprint(bp)


@bp.route("/login", methods=["GET", "POST"])
def login():
    from ..audit import record_event
    error, status = None, 200
    if request.method == "POST":
        jimu = current_jimu()
        username, address, now = request.form.get("username", ""), request.remote_addr, jimu.now()
        data = {"username": username[:150], "ip": address}
        uid = generation = None
        with jimu.begin() as conn:
            try:
                sessions.check_login_allowed(conn, username, address, now=now, config=jimu.config)
            except sessions.LoginThrottled as exc:
                record_event(conn, "auth.login_throttled", at=now, data=dict(data, code=exc.code))
                error, status = exc, exc.status
            else:
                uid = authenticate(conn, username, request.form.get("password", ""))
                record_event(conn, "auth.login" if uid else "auth.login_failed", actor_id=uid, at=now, data=data)
                if uid:
                    sessions.login_succeeded(conn, username)
                    generation = sessions.current_generation(conn, uid)
                else:
                    sessions.login_failed(conn, username, address, now=now, config=jimu.config)
                    error, status = "login.failed", 401
        if uid:
            start_session(uid, generation)
            target = request.args.get("next") or ""
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("ui.home")
            return redirect(target)
    response = render_template("login.html", error=error)
    if status == 429:
        return response, status, {"Retry-After": str(error.context.get("retry_after", 60))}
    return response, status


@bp.route("/logout", methods=["POST"])
def logout():
    """Log out everywhere: the user's session generation moves on, so every browser is signed out."""
    uid = session.get("uid")
    if uid and current_principal().is_authenticated:
        from ..audit import record_event
        jimu = current_jimu()
        with jimu.begin() as conn:
            sessions.end_sessions(conn, uid)
            record_event(conn, "auth.logout", actor_id=uid, at=jimu.now(), data={"ip": request.remote_addr})
        forget_principal(uid)
    session.clear()
    return redirect(url_for("auth.login"))
