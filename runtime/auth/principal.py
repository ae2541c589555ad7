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
    #: ids of the user's groups (group fields store ids)
    group_ids: frozenset[int] = frozenset()
    #: form key → what the user's roles allow on its rows and fields (see ``FormAccess``)
    access: dict[str, "FormAccess"] = field(default_factory=dict)
    #: keys of the apps the user's builder roles belong to (builder rights are per app)
    builder_apps: frozenset[str] = frozenset()

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    def as_context(self) -> dict[str, Any]:
        """What expressions and templates may see of the current user."""
        return {"id": self.user_id, "username": self.username, "name": self.display_name,
                "roles": sorted(self.roles), "groups": sorted(self.groups)}


ANONYMOUS = Principal(user_id=None, username="anonymous")

#: field levels, most closed first; several roles add up to the most open one
FIELD_LEVELS = ("hidden", "read_only", "write")


@dataclass(frozen=True)
class FormAccess:
    """The row scopes and field levels one user's roles give on one form.

    ``rows`` maps a verb to the row scopes of the roles granting it; ``None``
    means every row (some role grants the verb without a scope). ``fields``
    holds the fields whose level is not ``"write"``.
    """

    rows: dict[str, tuple[dict, ...] | None] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)


def combine_access(roles: list[tuple[Any, Any]]) -> dict[str, FormAccess]:
    """``FormAccess`` per form from ``(permissions, access)`` of each role the user holds.

    A row is in reach of a verb when any role granting that verb admits it; a
    field's level is the most open among the roles granting anything on the
    form (a role that does not mention the field leaves it writable).
    """
    scopes: dict[str, dict[str, list[dict] | None]] = {}
    per_role_fields: dict[str, list[dict[str, str]]] = {}
    for permissions, access in roles:
        rows = (access or {}).get("rows") or {}
        fields = (access or {}).get("fields") or {}
        for form_key, verbs in (permissions or {}).items():
            verbs = [v for v in verbs or () if v in VERBS]
            if not verbs:
                continue
            scope = rows.get(form_key)
            for verb in verbs:
                current = scopes.setdefault(form_key, {}).get(verb, [])
                if current is None or not isinstance(scope, dict) or scope.get("scope", "all") == "all":
                    scopes[form_key][verb] = None
                else:
                    scopes[form_key][verb] = current + [scope]
            per_role_fields.setdefault(form_key, []).append(
                {k: v for k, v in (fields.get(form_key) or {}).items() if v in FIELD_LEVELS})
    out: dict[str, FormAccess] = {}
    for form_key, by_verb in scopes.items():
        rules = per_role_fields.get(form_key, [])
        mentioned = {k for r in rules for k in r}
        levels = {k: max((r.get(k, "write") for r in rules), key=FIELD_LEVELS.index) for k in mentioned}
        out[form_key] = FormAccess(rows={v: (None if s is None else tuple(s)) for v, s in by_verb.items()},
                                   fields={k: v for k, v in levels.items() if v != "write"})
    return out


# ``load_principal``'s reads, built once with the user's id bound (``user``): a principal is loaded per
# request and per job that acts as someone
_USER = sa.select(db.users).where(db.users.c.id == sa.bindparam("user"))
_ROLES = (sa.select(db.roles.c.key, db.roles.c.permissions, db.roles.c.builder, db.roles.c.access, db.roles.c.app_key)
          .join(db.user_roles, db.user_roles.c.role_id == db.roles.c.id)
          .where(db.user_roles.c.user_id == sa.bindparam("user")))
_GROUPS = (sa.select(db.groups.c.id, db.groups.c.key)
           .join(db.group_members, db.group_members.c.group_id == db.groups.c.id)
           .where(db.group_members.c.user_id == sa.bindparam("user")))


def load_principal(conn: sa.Connection, user_id: int) -> Principal | None:
    user = conn.execute(_USER, {"user": user_id}).first()
    if user is None or not user.is_active:
        return None
    role_rows = conn.execute(_ROLES, {"user": user_id}).all()
    grants: dict[str, set[str]] = {}
    for r in role_rows:
        for form_key, verbs in (r.permissions or {}).items():
            grants.setdefault(form_key, set()).update(v for v in verbs if v in VERBS)
    group_rows = conn.execute(_GROUPS, {"user": user_id}).all()
    return Principal(user_id=user.id, username=user.username, display_name=user.display_name or user.username,
                     is_admin=bool(user.is_admin), roles=frozenset(r.key for r in role_rows),
                     groups=frozenset(g.key for g in group_rows), group_ids=frozenset(g.id for g in group_rows),
                     access=combine_access([(r.permissions, r.access) for r in role_rows]),
                     grants={k: frozenset(v) for k, v in grants.items()},
                     builder=bool(user.is_admin or any(r.builder for r in role_rows)), language=user.language,
                     builder_apps=frozenset(r.app_key for r in role_rows if r.builder and r.app_key))
