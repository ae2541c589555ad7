"""People administration: users, their roles and group memberships (administrators only).

``GET/POST /api/v1/users`` and ``GET/PATCH /api/v1/users/<id>``. The functions
here are also what the ``/admin/users`` page (``runtime.ui.admin``) calls, so
both doors apply the same rules: a new user goes through
``runtime.auth.users.create_user`` (the same function ``jimu create-user``
uses); roles and groups through its ``set_roles`` / ``add_to_group``; every
change is written to the audit log (``user.created``, ``user.updated``,
``user.password_reset``); an administrator cannot deactivate or un-admin
themselves. A password reset or a deactivation ends every session of the user
(``runtime.auth.sessions.end_sessions``): they must log in again.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Mapping

import sqlalchemy as sa
from flask import jsonify, request

from engines.errors import NotFound, PermissionDenied

from .. import db
from ..audit import record_event
from ..auth import current_principal, forget_principal
from ..auth.sessions import clear_account, end_sessions
from ..auth.principal import Principal
from ..auth.users import SelfLockout, UserError, add_to_group, check_password, create_user, set_roles
from ..context import current_jimu
from ..exceptions import NotAuthenticated
from ..store.query import like_escape
from . import bp
from .models import EMAIL_PATTERN
from .util import MAX_INT, BadRequest, int_arg, json_body, query_args, whole

MAX_PER_PAGE = 200
_EMAIL = re.compile(EMAIL_PATTERN)
EDITABLE = ("display_name", "email", "is_active", "is_admin", "password", "roles", "groups")


def require_admin() -> Principal:
    principal = current_principal()
    if not principal.is_authenticated:
        raise NotAuthenticated("log in first")
    if not principal.is_admin:
        raise PermissionDenied("only an administrator may manage users", code="admin.required")
    return principal


# -- rules ---------------------------------------------------------------------------
def check_email(email: Any) -> str | None:
    if email is None or (isinstance(email, str) and not email.strip()):
        return None
    if not isinstance(email, str) or len(email) > 320 or not _EMAIL.match(email.strip()):
        raise UserError(f"{email!r} is not an e-mail address (name@example.com)", code="user.bad_email")
    return email.strip()


def _text(value: Any, name: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise UserError(f"{name} must be text of at most {limit} characters", code="user.invalid", field=name)
    return value.strip() or None


def _keys(value: Any, name: str) -> list[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise UserError(f"{name} must be a list of keys", code="user.invalid", field=name)
    return list(dict.fromkeys(value))


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise UserError(f"{name} must be true or false", code="user.invalid", field=name)
    return value


# -- reading ---------------------------------------------------------------------------
def all_roles(conn: sa.Connection) -> list[dict]:
    r = db.roles
    return [dict(row) for row in conn.execute(
        sa.select(r.c.id, r.c.key, r.c.app_key, r.c.label).order_by(r.c.app_key, r.c.key)).mappings()]


def all_groups(conn: sa.Connection) -> list[dict]:
    g = db.groups
    return [dict(row) for row in conn.execute(
        sa.select(g.c.id, g.c.key, g.c.app_key, g.c.label).order_by(g.c.app_key, g.c.key)).mappings()]


def list_users(conn: sa.Connection, *, q: str = "", page: int = 1, per_page: int = 25,
               ids: list[int] | None = None) -> tuple[list[dict], int]:
    u = db.users
    where = []
    if q:
        like = "%" + like_escape(q) + "%"
        where.append(sa.or_(u.c.username.ilike(like, escape="\\"), u.c.display_name.ilike(like, escape="\\"),
                            u.c.email.ilike(like, escape="\\")))
    if ids is not None:
        where.append(u.c.id.in_(ids))
    total = conn.execute(sa.select(sa.func.count()).select_from(u).where(*where)).scalar_one()
    rows = conn.execute(sa.select(u.c.id, u.c.username, u.c.display_name, u.c.email, u.c.is_active, u.c.is_admin,
                                  u.c.created_at).where(*where).order_by(u.c.username)
                        .limit(per_page).offset((page - 1) * per_page)).mappings().all()
    users = {row.id: dict(row, roles=[], groups=[], last_login=None) for row in rows}
    if users:
        uids = list(users)
        for uid, key in conn.execute(sa.select(db.user_roles.c.user_id, db.roles.c.key)
                                     .join(db.roles, db.roles.c.id == db.user_roles.c.role_id)
                                     .where(db.user_roles.c.user_id.in_(uids)).order_by(db.roles.c.key)):
            users[uid]["roles"].append(key)
        for uid, key in conn.execute(sa.select(db.group_members.c.user_id, db.groups.c.key)
                                     .join(db.groups, db.groups.c.id == db.group_members.c.group_id)
                                     .where(db.group_members.c.user_id.in_(uids)).order_by(db.groups.c.key)):
            users[uid]["groups"].append(key)
        e = db.events
        for uid, at in conn.execute(sa.select(e.c.actor_id, sa.func.max(e.c.at))
                                    .where(e.c.kind == "auth.login", e.c.actor_id.in_(uids))
                                    .group_by(e.c.actor_id)):
            users[uid]["last_login"] = at
    return list(users.values()), total


def get_user(conn: sa.Connection, user_id: int) -> dict:
    found, _ = list_users(conn, ids=[user_id], per_page=1)
    if not found:
        raise NotFound(f"no user with id {user_id}", code="user.not_found", user_id=user_id)
    return found[0]


def as_json(user: Mapping[str, Any]) -> dict:
    from ..audit import jsonable
    return jsonable({k: user[k] for k in ("id", "username", "display_name", "email", "is_active", "is_admin",
                                          "roles", "groups", "last_login", "created_at")})


# -- writing ---------------------------------------------------------------------------
def create(conn: sa.Connection, actor: Principal, data: Mapping[str, Any], *, now: datetime) -> int:
    username = data.get("username")
    if not isinstance(username, str):
        raise UserError("a username of 1 to 150 characters is required", code="user.invalid_username")
    username = username.strip()
    password = check_password(data.get("password"), username)
    email = check_email(data.get("email"))
    display_name = _text(data.get("display_name"), "display_name", 200)
    roles = _keys(data.get("roles") or [], "roles")
    groups = _keys(data.get("groups") or [], "groups")
    is_admin = _bool(data.get("is_admin", False), "is_admin")
    uid = create_user(conn, username, password, now=now, display_name=display_name, email=email,
                      is_admin=is_admin, roles=roles, groups=groups)
    record_event(conn, "user.created", at=now, actor_id=actor.user_id, data={
        "user_id": uid, "username": username, "display_name": display_name or username, "email": email,
        "is_admin": is_admin, "roles": sorted(roles), "groups": sorted(groups)})
    return uid


def update(conn: sa.Connection, actor: Principal, user_id: int, data: Mapping[str, Any], *,
           now: datetime) -> dict[str, list]:
    """Change what ``data`` names; returns ``{field: [old, new]}`` of what changed (also audited)."""
    unknown = sorted(set(data) - set(EDITABLE))
    if unknown:
        raise UserError(f"these cannot be changed here: {', '.join(unknown)}; editable: {', '.join(EDITABLE)}",
                        code="user.not_editable", fields=unknown)
    before = get_user(conn, user_id)
    values: dict[str, Any] = {}
    if "display_name" in data:
        values["display_name"] = _text(data["display_name"], "display_name", 200) or before["username"]
    if "email" in data:
        values["email"] = check_email(data["email"])
    for flag in ("is_active", "is_admin"):
        if flag in data:
            values[flag] = _bool(data[flag], flag)
            if user_id == actor.user_id and values[flag] is False and before[flag]:
                what = "deactivate" if flag == "is_active" else "remove administrator rights from"
                raise SelfLockout(f"you cannot {what} yourself; ask another administrator", field=flag)
    changes = {k: [before[k], v] for k, v in values.items() if before[k] != v}
    if values:
        conn.execute(sa.update(db.users).where(db.users.c.id == user_id).values(**values))
    if "roles" in data:
        roles = _keys(data["roles"], "roles")
        conn.execute(sa.delete(db.user_roles).where(db.user_roles.c.user_id == user_id))
        set_roles(conn, user_id, roles)
        if sorted(roles) != before["roles"]:
            changes["roles"] = [before["roles"], sorted(roles)]
    if "groups" in data:
        groups = _keys(data["groups"], "groups")
        conn.execute(sa.delete(db.group_members).where(db.group_members.c.user_id == user_id))
        for key in groups:
            add_to_group(conn, user_id, key)
        if sorted(groups) != before["groups"]:
            changes["groups"] = [before["groups"], sorted(groups)]
    if data.get("password") is not None:
        from werkzeug.security import generate_password_hash
        password = check_password(data["password"], before["username"])
        conn.execute(sa.update(db.users).where(db.users.c.id == user_id)
                     .values(password_hash=generate_password_hash(password)))
        clear_account(conn, before["username"])   # a reset also lifts a login lockout
        record_event(conn, "user.password_reset", at=now, actor_id=actor.user_id,
                     data={"user_id": user_id, "username": before["username"]})
    if data.get("password") is not None or "is_active" in changes:
        end_sessions(conn, user_id)
    if changes:
        record_event(conn, "user.updated", at=now, actor_id=actor.user_id,
                     data={"user_id": user_id, "username": before["username"], "changes": changes})
    forget_principal(user_id)
    return changes


# -- routes ------------------------------------------------------------------------------
@bp.get("/users")
@query_args("q", page=whole(hi=MAX_INT // MAX_PER_PAGE), per_page=whole(hi=MAX_PER_PAGE))
def users_index():
    require_admin()
    per_page = int_arg("per_page", 25, hi=MAX_PER_PAGE)
    page = int_arg("page", 1, hi=MAX_INT // per_page)
    with current_jimu().read() as conn:
        users, total = list_users(conn, q=request.args.get("q", "").strip(), page=page, per_page=per_page)
    return jsonify({"users": [as_json(u) for u in users], "total": total, "page": page, "per_page": per_page})


@bp.post("/users")
def users_create():
    actor = require_admin()
    data = json_body()
    jimu = current_jimu()
    with jimu.begin() as conn:
        uid = create(conn, actor, data, now=jimu.now())
        user = get_user(conn, uid)
    return jsonify({"user": as_json(user)}), 201


@bp.get("/users/<int:user_id>")
def users_show(user_id: int):
    require_admin()
    with current_jimu().read() as conn:
        return jsonify({"user": as_json(get_user(conn, user_id))})


@bp.patch("/users/<int:user_id>")
def users_update(user_id: int):
    actor = require_admin()
    data = json_body()
    if not data:
        raise BadRequest("send the fields to change, e.g. {\"roles\": [\"sales\"]}", code="request.empty")
    jimu = current_jimu()
    with jimu.begin() as conn:
        update(conn, actor, user_id, data, now=jimu.now())
        user = get_user(conn, user_id)
    return jsonify({"user": as_json(user)})
