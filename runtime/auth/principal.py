"""Who is asking: a ``Principal`` loaded once per request from the database."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from .. import db

VERBS = ("create", "read", "update", "delete")


@dataclass(frozen=True)
class Principal:
    user_id: int | None
    username: str
    display_name: str = ""
    is_admin: bool = False
    roles: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    #: form key → verbs granted by the user's roles
    grants: dict[str, frozenset[str]] = field(default_factory=dict)
    builder: bool = False
    language: str | None = None

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    def as_context(self) -> dict[str, Any]:
        """What expressions and templates may see of the current user."""
        return {"id": self.user_id, "username": self.username, "name": self.display_name,
                "roles": sorted(self.roles), "groups": sorted(self.groups)}


ANONYMOUS = Principal(user_id=None, username="anonymous")


def load_principal(conn: sa.Connection, user_id: int) -> Principal | None:
    user = conn.execute(sa.select(db.users).where(db.users.c.id == user_id)).first()
    if user is None or not user.is_active:
        return None
    role_rows = conn.execute(
        sa.select(db.roles.c.key, db.roles.c.permissions, db.roles.c.builder)
        .join(db.user_roles, db.user_roles.c.role_id == db.roles.c.id)
        .where(db.user_roles.c.user_id == user_id)).all()
    grants: dict[str, set[str]] = {}
    for r in role_rows:
        for form_key, verbs in (r.permissions or {}).items():
            grants.setdefault(form_key, set()).update(v for v in verbs if v in VERBS)
    group_keys = conn.execute(
        sa.select(db.groups.c.key).join(db.group_members, db.group_members.c.group_id == db.groups.c.id)
        .where(db.group_members.c.user_id == user_id)).scalars().all()
    return Principal(user_id=user.id, username=user.username, display_name=user.display_name or user.username,
                     is_admin=bool(user.is_admin), roles=frozenset(r.key for r in role_rows),
                     groups=frozenset(group_keys), grants={k: frozenset(v) for k, v in grants.items()},
                     builder=bool(user.is_admin or any(r.builder for r in role_rows)), language=user.language)
