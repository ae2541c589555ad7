"""Users and passwords in the database.

Passwords are hashed with werkzeug's scrypt. API tokens live in
``runtime.auth.tokens``; sessions and login throttling in ``runtime.auth.sessions``.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from engines.errors import JimuError

from .. import db


#: a password shorter than this is refused
MIN_PASSWORD = 8


class UserError(JimuError):
    code = "user.invalid"


class UserExists(UserError):
    """The username is taken: a conflict with what is stored (409), not a malformed request."""
    code = "user.exists"
    status = 409


class SelfLockout(UserError):
    """An administrator deactivating or un-admining themselves: a right no one has over themselves (403)."""
    code = "user.self_lockout"
    status = 403


def check_password(password: Any, username: str = "") -> str:
    """The password rule: at least 8 characters, not the username, not only digits or only letters."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise UserError(f"the password needs at least {MIN_PASSWORD} characters", code="user.weak_password")
    if len(password) > 200:
        raise UserError("the password may have at most 200 characters", code="user.weak_password")
    if password.strip().lower() == (username or "").strip().lower():
        raise UserError("the password must not be the username", code="user.weak_password")
    if password.isdigit() or password.isalpha():
        raise UserError("the password must mix letters with digits or symbols", code="user.weak_password")
    return password


def create_user(conn: sa.Connection, username: str, password: str | None, *, now: datetime,
                display_name: str | None = None, email: str | None = None, is_admin: bool = False,
                roles: list[str] = (), groups: list[str] = ()) -> int:
    username = (username or "").strip()
    if not username or len(username) > 150:
        raise UserError("a username of 1 to 150 characters is required", code="user.invalid_username")
    if conn.execute(sa.select(db.users.c.id).where(db.users.c.username == username)).first():
        raise UserExists(f"user {username!r} already exists; choose another name")
    uid = conn.execute(sa.insert(db.users).values(
        username=username, display_name=display_name or username, email=email,
        password_hash=generate_password_hash(password) if password else None,
        is_admin=is_admin, is_active=True, created_at=now)).inserted_primary_key[0]
    set_roles(conn, uid, roles)
    for g in groups:
        add_to_group(conn, uid, g)
    return uid


def set_roles(conn: sa.Connection, user_id: int, roles) -> None:
    for key in roles:
        rid = conn.execute(sa.select(db.roles.c.id).where(db.roles.c.key == key)).scalar()
        if rid is None:
            raise UserError(f"no role {key!r}; install the app that defines it first", code="user.unknown_role")
        if not conn.execute(sa.select(db.user_roles).where(db.user_roles.c.user_id == user_id,
                                                            db.user_roles.c.role_id == rid)).first():
            conn.execute(sa.insert(db.user_roles).values(user_id=user_id, role_id=rid))


def add_to_group(conn: sa.Connection, user_id: int, group_key: str) -> None:
    gid = conn.execute(sa.select(db.groups.c.id).where(db.groups.c.key == group_key)).scalar()
    if gid is None:
        raise UserError(f"no group {group_key!r}", code="user.unknown_group")
    if not conn.execute(sa.select(db.group_members).where(db.group_members.c.user_id == user_id,
                                                          db.group_members.c.group_id == gid)).first():
        conn.execute(sa.insert(db.group_members).values(user_id=user_id, group_id=gid))


def authenticate(conn: sa.Connection, username: str, password: str) -> int | None:
    row = conn.execute(sa.select(db.users.c.id, db.users.c.password_hash, db.users.c.is_active)
                       .where(db.users.c.username == (username or "").strip())).first()
    if row is None or not row.is_active or not row.password_hash:
        check_password_hash(_DUMMY_HASH, password or "")  # same cost whether or not the user exists
        return None
    return row.id if check_password_hash(row.password_hash, password or "") else None


_DUMMY_HASH = generate_password_hash("not a password")


def change_password(conn: sa.Connection, user_id: int, current: str, new: str, confirm: str | None = None) -> None:
    """A user changes their own password: the current one must be right and the new one meet the rule.

    The caller ends the user's other sessions (``runtime.auth.sessions.end_sessions``) and audits it.
    """
    row = conn.execute(sa.select(db.users.c.username, db.users.c.password_hash)
                       .where(db.users.c.id == user_id)).first()
    if row is None or not row.password_hash or not check_password_hash(row.password_hash, current or ""):
        raise UserError("the current password is wrong; type the password you logged in with",
                        code="user.wrong_password", field="current")
    if confirm is not None and new != confirm:
        raise UserError("the two new passwords differ; type the same new password twice",
                        code="user.password_mismatch", field="confirm")
    check_password(new, row.username)
    conn.execute(sa.update(db.users).where(db.users.c.id == user_id)
                 .values(password_hash=generate_password_hash(new)))
