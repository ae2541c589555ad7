"""``/admin/users``: the administrator's people page (users, their roles and groups).

Administrators only (everyone else gets 403). The page is a thin form layer
over ``runtime.api.users`` — the same create/update functions, password and
e-mail rules and audit events as ``/api/v1/users``. Errors are shown inline with
their code; the form keeps what was typed (except passwords).
"""
from __future__ import annotations

from math import ceil

from flask import flash, redirect, render_template, request, url_for

from engines.errors import JimuError

from ..api.users import all_groups, all_roles, create, get_user, list_users, require_admin, update
from ..auth import start_session
from ..auth.sessions import current_generation
from ..context import current_jimu
from ..i18n import label
from . import bp

PER_PAGE = 25


def _page_arg() -> int:
    try:
        return max(int(request.args.get("page", 1)), 1)
    except ValueError:
        return 1


def _choices(conn) -> dict:
    """Every role and group of every installed app, labelled in the page's language."""
    return {"roles": [dict(r, text=label(r["label"], r["key"])) for r in all_roles(conn)],
            "groups": [dict(g, text=label(g["label"], g["key"])) for g in all_groups(conn)]}


def _submitted() -> dict:
    form = request.form
    data = {"display_name": form.get("display_name", ""), "email": form.get("email", ""),
            "roles": form.getlist("roles"), "groups": form.getlist("groups")}
    return data


@bp.get("/admin/users")
def admin_users():
    require_admin()
    q = request.args.get("q", "").strip()
    page = _page_arg()
    with current_jimu().read() as conn:
        users, total = list_users(conn, q=q, page=page, per_page=PER_PAGE)
        choices = _choices(conn)
    role_text = {r["key"]: r["text"] for r in choices["roles"]}
    group_text = {g["key"]: g["text"] for g in choices["groups"]}
    return render_template("admin/users.html", users=users, total=total, q=q, page=page,
                           pages=max(ceil(total / PER_PAGE), 1), role_text=role_text, group_text=group_text)


@bp.route("/admin/users/new", methods=["GET", "POST"])
def admin_user_new():
    actor = require_admin()
    jimu = current_jimu()
    error, values, status = None, {"roles": [], "groups": []}, 200
    if request.method == "POST":
        values = dict(_submitted(), username=request.form.get("username", ""),
                      is_admin="is_admin" in request.form)
        try:
            with jimu.begin() as conn:
                uid = create(conn, actor, dict(values, password=request.form.get("password", "")), now=jimu.now())
            flash(label({"zh-CN": f"已创建用户 {values['username'].strip()}",
                         "en": f"User {values['username'].strip()} created"}))
            return redirect(url_for("ui.admin_user_edit", user_id=uid))
        except JimuError as exc:
            error, status = exc, 422
    with jimu.read() as conn:
        choices = _choices(conn)
    return render_template("admin/user_form.html", user=None, values=values, error=error, **choices), status


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
def admin_user_edit(user_id: int):
    actor = require_admin()
    jimu = current_jimu()
    error, status = None, 200
    with jimu.read() as conn:
        user = get_user(conn, user_id)
    values = dict(user)
    if request.method == "POST":
        data = dict(_submitted(), is_active="is_active" in request.form, is_admin="is_admin" in request.form)
        if request.form.get("password"):
            data["password"] = request.form["password"]
        try:
            with jimu.begin() as conn:
                changes = update(conn, actor, user_id, data, now=jimu.now())
                generation = current_generation(conn, user_id)
            if user_id == actor.user_id and "password" in data:
                start_session(user_id, generation)   # a reset of one's own password keeps this browser in
            done = "password" in data or changes
            flash(label({"zh-CN": "已保存" if done else "没有改动",
                         "en": "Saved" if done else "Nothing changed"}))
            return redirect(url_for("ui.admin_user_edit", user_id=user_id))
        except JimuError as exc:
            error, status = exc, 422
            values = dict(user, **{k: v for k, v in data.items() if k != "password"})
    with jimu.read() as conn:
        choices = _choices(conn)
    return render_template("admin/user_form.html", user=user, values=values, error=error,
                           is_self=user_id == actor.user_id, **choices), status
