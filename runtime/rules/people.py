"""Who gets a record: the assignment strategies of the rule action ``assign`` (recipients are
``runtime.recipients``'s)."""
from __future__ import annotations

import hashlib
from typing import Any, Mapping, NamedTuple

import sqlalchemy as sa

from engines.rule import ActionError

from .. import db
from ..recipients import group_and_members, group_members, members_column, members_from, user_ids
from ..serials import next_value_and, peek_value


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


def _turn(conn: sa.Connection, form: Any, field: Any, group: str, *,
          dry: bool) -> tuple[int, int | None, list[tuple[int, str]]]:
    """The round-robin turn of (form, field, group) and the group's id and active members: one atomic
    counter row (``runtime.serials``), taken in one statement that also reads the members — on
    PostgreSQL in a short transaction of its own, so creates are not queued behind a turn row locked
    until they commit (a rolled-back create skips a turn; so does a rolled-back rule, on SQLite too:
    the turn starts no savepoint; so does a turn of a group without active members). A dry run reads
    the next turn without taking it."""
    key = hashlib.sha1(f"{form}\x1f{field}\x1f{group}".encode()).hexdigest()
    if dry:
        return peek_value(conn, "round_robin", key, "") + 1, *group_and_members(conn, group)
    turn, members = next_value_and(conn, "round_robin", key, "", undo=False,
                                   also=members_column(conn.dialect.name), params={"group_key": group})
    return turn, *members_from(members)


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
    if strategy == "round_robin":  # turn n goes to the n-th active member by name, around the group
        turn, group_id, members = _turn(conn, effect.get("form"), effect.get("field"), group, dry=dry)
    else:
        group_id, members = group_and_members(conn, group)
    if not members:
        raise ActionError(f"group {group!r} has no active members to assign to", code="rule.empty_group",
                          group=group)
    if strategy == "round_robin":
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
