"""``/account/...``: what a signed-in user manages about themselves (password, API tokens).

Changing the password ends every other session of the user (the session
generation moves on) and re-signs this browser into the new generation, as
Django's ``update_session_auth_hash`` does.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from engines.errors import JimuError

from ..audit import record_event
from ..auth import current_principal, forget_principal, start_session
from ..auth.sessions import end_sessions
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
