"""Who: recipients (users, groups, leads, fields, participants, addresses) and assignment strategies."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import sqlalchemy as sa

from engines.rule import ActionError

from .. import db
from .tables import record_participants, rule_state


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
    g, m, u = db.groups, db.group_members, db.users
    return [tuple(r) for r in conn.execute(
        sa.select(u.c.id, u.c.username).join(m, m.c.user_id == u.c.id).join(g, g.c.id == m.c.group_id)
        .where(g.c.key == group_key, u.c.is_active.is_(True)).order_by(u.c.username))]


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


def group_value(conn: sa.Connection, ft, field: str, group_key: str):
    """What ``field`` stores for group ``group_key``: its id in a group field, else the key."""
    if ft.spec.has_field(field) and ft.spec.field(field).widget.value_kind == "group":
        return conn.execute(sa.select(db.groups.c.id).where(db.groups.c.key == group_key)).scalar()
    return group_key


def _state(conn, key: str, default, *, lock: bool = False):
    q = sa.select(rule_state.c.value).where(rule_state.c.key == key)
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()  # two writers do not hand out the same turn (SQLite writes are serialised)
    row = conn.execute(q).first()
    return row.value if row else default


def _save_state(conn, key: str, value) -> None:
    if conn.execute(sa.update(rule_state).where(rule_state.c.key == key).values(value=value)).rowcount == 0:
        conn.execute(sa.insert(rule_state).values(key=key, value=value))


def pick(jimu, conn: sa.Connection, effect: Mapping[str, Any], *, dry: bool = False) -> tuple[int, str, str | None]:
    """Choose the assignee for an ``assign`` effect: (user id, user name, group key)."""
    strategy, group = effect["strategy"], effect.get("group")
    if strategy == "user":
        ids = user_ids(conn, [effect["user"]])
        if not ids:
            raise ActionError(f"no active user {effect['user']!r} to assign", code="rule.unknown_user")
        name = conn.execute(sa.select(db.users.c.username).where(db.users.c.id == ids[0])).scalar()
        return ids[0], name, None
    if strategy == "by_field":
        source = effect.get("source")
        ids = user_ids(conn, [source])
        if ids:
            name = conn.execute(sa.select(db.users.c.username).where(db.users.c.id == ids[0])).scalar()
            return ids[0], name, None
        if isinstance(source, str) and group_members(conn, source):
            strategy, group = "round_robin", source
        else:
            raise ActionError(f"the field names neither a user nor a group: {source!r}", code="rule.unknown_user")
    members = group_members(conn, group)
    if not members:
        raise ActionError(f"group {group!r} has no active members to assign to", code="rule.empty_group",
                          group=group)
    if strategy == "round_robin":
        key = f"rr:{effect.get('form')}:{effect.get('field')}:{group}"
        last = _state(conn, key, {}, lock=not dry).get("last")
        names = [n for _, n in members]
        nxt = members[(names.index(last) + 1) % len(members)] if last in names else members[0]
        if not dry:
            _save_state(conn, key, {"last": nxt[1]})
        return nxt[0], nxt[1], group
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
    return best[0], best[1], group
