"""Who: recipients (users, groups, leads, fields, participants, addresses) and assignment strategies."""
from __future__ import annotations

from typing import Any, Iterable, Mapping, NamedTuple

import sqlalchemy as sa

from engines.rule import ActionError

from .. import db
from .tables import record_participants


def user_ids(conn: sa.Connection, names: Iterable[Any]) -> list[int]:
    """User names (or ids) → active user ids, in order, unknown ones dropped."""
    out: list[int] = []
    names = [n for n in names if n not in (None, "")]
    if not names:
        return out
    by_name = dict(conn.execute(sa.select(db.users.c.username, db.users.c.id).where(
        db.users.c.username.in_([str(n) for n in names]), db.users.c.is_active.is_(True))).all())
    ids = {i for (i,) in conn.execute(sa.select(db.users.c.id).where(
        db.users.c.id.in_([n for n in names if isinstance(n, int) and not isinstance(n, bool)]),
        db.users.c.is_active.is_(True)))}
    for n in names:
        uid = n if isinstance(n, int) and n in ids else by_name.get(str(n))
        if uid is not None and uid not in out:
            out.append(uid)
    return out


def group_members(conn: sa.Connection, group_key: str) -> list[tuple[int, str]]:
    return _group(conn, group_key)[1]


def _group(conn: sa.Connection, group_key: str) -> tuple[int | None, list[tuple[int, str]]]:
    """The group's id (None when it has no active member) and its active members (id, name), by name,
    in one query."""
    g, m, u = db.groups, db.group_members, db.users
    rows = conn.execute(
        sa.select(u.c.id, u.c.username, g.c.id.label("group_id")).join(m, m.c.user_id == u.c.id)
        .join(g, g.c.id == m.c.group_id).where(g.c.key == group_key, u.c.is_active.is_(True))
        .order_by(u.c.username)).all()
    return (rows[0].group_id if rows else None), [(r[0], r[1]) for r in rows]


def resolve_users(conn: sa.Connection, spec: Mapping[str, Any], record: Mapping[str, Any] | None,
                  form: str | None = None) -> list[int]:
    names: list[Any] = list(spec.get("users") or [])
    for f in spec.get("user_fields") or []:
        v = (record or {}).get(f)
        names.extend(v if isinstance(v, list) else [v])
    out = user_ids(conn, names)
    for gk in spec.get("groups") or []:
        for uid, _ in group_members(conn, gk):
            if uid not in out:
                out.append(uid)
    for rk in spec.get("roles") or []:
        for (uid,) in conn.execute(sa.select(db.users.c.id).join(db.user_roles, db.user_roles.c.user_id == db.users.c.id)
                                   .join(db.roles, db.roles.c.id == db.user_roles.c.role_id)
                                   .where(db.roles.c.key == rk, db.users.c.is_active.is_(True))
                                   .order_by(db.users.c.id)):
            if uid not in out:
                out.append(uid)
    group_keys = list(spec.get("group_leads") or [])
    for f in spec.get("group_lead_fields") or []:
        v = (record or {}).get(f)
        for g in (v if isinstance(v, list) else [v]):
            if isinstance(g, int) and not isinstance(g, bool):  # a group field holds the group's id
                g = conn.execute(sa.select(db.groups.c.key).where(db.groups.c.id == g)).scalar()
            if isinstance(g, str) and g:
                group_keys.append(g)
    for gk in group_keys:
        lead = conn.execute(sa.select(db.groups.c.lead_id).where(db.groups.c.key == gk)).scalar()
        if lead is not None and lead not in out:
            out.append(lead)
    if spec.get("participants") and record and form:
        p = record_participants
        for (uid,) in conn.execute(sa.select(p.c.user_id).where(p.c.form_key == form,
                                                                p.c.record_id == record.get("id"))):
            if uid not in out:
                out.append(uid)
    return out


def resolve_emails(conn: sa.Connection, spec: Mapping[str, Any], record: Mapping[str, Any] | None,
                   form: str | None = None) -> list[str]:
    out: list[str] = []
    ids = resolve_users(conn, spec, record, form)
    if ids:
        for (email,) in conn.execute(sa.select(db.users.c.email).where(db.users.c.id.in_(ids))):
            if email and email not in out:
                out.append(email)
    literal = list(spec.get("emails") or [])
    for f in spec.get("email_fields") or []:
        v = (record or {}).get(f)
        literal.extend(v if isinstance(v, list) else [v])
    for e in literal:
        if isinstance(e, str) and "@" in e and "\n" not in e and "\r" not in e and e not in out:
            out.append(e.strip())
    return out


def holds_ids(ft, field: str) -> bool:
    """Whether ``field`` stores users by id (a user or number field) rather than by name."""
    return ft.spec.has_field(field) and ft.spec.field(field).widget.value_kind in ("number", "user")


def group_value(conn: sa.Connection, ft, field: str, group_key: str, group_id: int | None = None):
    """What ``field`` stores for group ``group_key``: its id in a group field (``group_id`` when the
    caller knows it), else the key."""
    if ft.spec.has_field(field) and ft.spec.field(field).widget.value_kind == "group":
        if group_id is not None:
            return group_id
        return conn.execute(sa.select(db.groups.c.id).where(db.groups.c.key == group_key)).scalar()
    return group_key


class Pick(NamedTuple):
    user_id: int
    username: str
    group: str | None = None
    group_id: int | None = None


def _turn(conn: sa.Connection, form: Any, field: Any, group: str, *, dry: bool) -> int:
    """The round-robin turn of (form, field, group): one atomic counter row (``runtime.serials``),
    taken in one statement — on PostgreSQL in a short transaction of its own, so creates are not
    queued behind a turn row locked until they commit (a rolled-back create skips a turn; so does a
    rolled-back rule, on SQLite too: the turn starts no savepoint). A dry
    run reads the next turn without taking it."""
    import hashlib

    from ..serials import next_value, peek_value
    key = hashlib.sha1(f"{form}\x1f{field}\x1f{group}".encode()).hexdigest()
    if dry:
        return peek_value(conn, "round_robin", key, "") + 1
    return next_value(conn, "round_robin", key, "", undo=False)


def pick(jimu, conn: sa.Connection, effect: Mapping[str, Any], *, dry: bool = False) -> Pick:
    """Choose the assignee for an ``assign`` effect: (user id, user name, group key, group id)."""
    strategy, group = effect["strategy"], effect.get("group")
    if strategy == "user":
        ids = user_ids(conn, [effect["user"]])
        if not ids:
            raise ActionError(f"no active user {effect['user']!r} to assign", code="rule.unknown_user")
        name = conn.execute(sa.select(db.users.c.username).where(db.users.c.id == ids[0])).scalar()
        return Pick(ids[0], name)
    if strategy == "by_field":
        source = effect.get("source")
        ids = user_ids(conn, [source])
        if ids:
            name = conn.execute(sa.select(db.users.c.username).where(db.users.c.id == ids[0])).scalar()
            return Pick(ids[0], name)
        if isinstance(source, str) and group_members(conn, source):
            strategy, group = "round_robin", source
        else:
            raise ActionError(f"the field names neither a user nor a group: {source!r}", code="rule.unknown_user")
    group_id, members = _group(conn, group)
    if not members:
        raise ActionError(f"group {group!r} has no active members to assign to", code="rule.empty_group",
                          group=group)
    if strategy == "round_robin":  # turn n goes to the n-th active member by name, around the group
        turn = _turn(conn, effect.get("form"), effect.get("field"), group, dry=dry)
        nxt = members[(turn - 1) % len(members)]
        return Pick(nxt[0], nxt[1], group, group_id)
    # least loaded: fewest records of this form whose field holds the member (and that are open)
    from ..store.query import filter_clause
    ft = jimu.catalog.form(effect["form"])
    col = ft.column(effect["field"])
    numeric = holds_ids(ft, effect["field"])
    values = [uid if numeric else name for uid, name in members]
    q = sa.select(col, sa.func.count()).where(col.in_(values)).group_by(col)
    if effect.get("open_filter"):
        q = q.where(filter_clause(ft, {"all": effect["open_filter"]}))
    if effect.get("id") is not None:
        q = q.where(ft.table.c.id != effect["id"])
    load = dict(conn.execute(q).all())
    best = min(members, key=lambda m: (load.get(m[0] if numeric else m[1], 0), m[1]))
    return Pick(best[0], best[1], group, group_id)
