"""Who hears: the one resolver of recipients (``engines.recipients.RECIPIENTS_SCHEMA``).

Rule actions (notify, send_survey, add_participants, an e-mail's cc, the dry run) and a flow's
own messages (SLA warnings and breaches, escalations) resolve their recipients here, and nowhere
else: named users, groups, roles and leads, users and groups held in fields, the record's
participants, and the people of its process —

* ``assignee``: who holds each task now: its user, or (a task nobody took yet) every active member
  of its group or holder of its role;
* ``lead``: the lead of each task's group; for a task of one person outside a group pool, the leads
  of the groups that person belongs to (never the assignee themself);
* ``submitter``: the record's creator (``created_by``).

The tasks are the record's open flow tasks, or the ones a flow message is about (``tasks``: their
ids, e.g. the task whose deadline passed). Resolution happens when the message is sent (the
outbox job), so a task reassigned in the same write is announced to whom it ends up with.
"""
from __future__ import annotations

import functools
import json
from typing import Any, Iterable, Mapping

import sqlalchemy as sa

from . import db
from .shared_tables import flow_tasks, record_participants


# The resolver's reads, built once with bound parameters: a message resolves its recipients when it
# is sent, several reads each, and a statement built per call cost more CPU (its construction and
# cache key) than running it on SQLite
_u, _g, _gm = db.users, db.groups, db.group_members
_ACTIVE = _u.c.is_active.is_(True)
_BY_NAME = sa.select(_u.c.username, _u.c.id).where(_u.c.username.in_(sa.bindparam("names", expanding=True)), _ACTIVE)
_ACTIVE_IDS = sa.select(_u.c.id).where(_u.c.id.in_(sa.bindparam("ids", expanding=True)), _ACTIVE)
_ROLE_HOLDERS = (sa.select(_u.c.id).join(db.user_roles, db.user_roles.c.user_id == _u.c.id)
                 .join(db.roles, db.roles.c.id == db.user_roles.c.role_id)
                 .where(db.roles.c.key == sa.bindparam("role"), _ACTIVE).order_by(_u.c.id))
_TASK_COLUMNS = (flow_tasks.c.id, flow_tasks.c.assignee_user_id, flow_tasks.c.assignee_group,
                 flow_tasks.c.assignee_role)
_TASKS_BY_ID = (sa.select(*_TASK_COLUMNS).where(flow_tasks.c.id.in_(sa.bindparam("ids", expanding=True)))
                .order_by(flow_tasks.c.id))
_OPEN_TASKS_ON = (sa.select(*_TASK_COLUMNS).where(flow_tasks.c.form_key == sa.bindparam("form"),
                                                  flow_tasks.c.record_id == sa.bindparam("rid"),
                                                  flow_tasks.c.status == "open").order_by(flow_tasks.c.id))
_LEAD_OF_GROUP = sa.select(_g.c.lead_id).where(_g.c.key == sa.bindparam("group"))   # a group key is unique
_LEADS_OF_MEMBER = (sa.select(_g.c.lead_id).join(_gm, _gm.c.group_id == _g.c.id)
                    .where(_gm.c.user_id == sa.bindparam("user")).order_by(_g.c.id))
_GROUP_KEY = sa.select(_g.c.key).where(_g.c.id == sa.bindparam("id"))
_PARTICIPANTS = sa.select(record_participants.c.user_id).where(record_participants.c.form_key == sa.bindparam("form"),
                                                               record_participants.c.record_id == sa.bindparam("rid"))


def user_ids(conn: sa.Connection, names: Iterable[Any]) -> list[int]:
    """User names (or ids) → active user ids, in order, unknown ones dropped."""
    out: list[int] = []
    names = [n for n in names if n not in (None, "")]
    if not names:
        return out
    by_name = dict(conn.execute(_BY_NAME, {"names": [str(n) for n in names]}).all())
    ids = {i for (i,) in conn.execute(
        _ACTIVE_IDS, {"ids": [n for n in names if isinstance(n, int) and not isinstance(n, bool)]})}
    for n in names:
        uid = n if isinstance(n, int) and n in ids else by_name.get(str(n))
        if uid is not None and uid not in out:
            out.append(uid)
    return out


def group_members(conn: sa.Connection, group_key: str) -> list[tuple[int, str]]:
    return group_and_members(conn, group_key)[1]


def _members(group_key) -> sa.Select:
    """(id, name, group id) of the group's active members, by name. No two tables of one FROM share
    a column name: ``members_column`` is written inside RETURNING, where SQLAlchemy leaves columns
    without their tables on SQLite."""
    g, m, u = db.groups, db.group_members, db.users
    group_id = sa.select(g.c.id).where(g.c.key == group_key).scalar_subquery()
    return (sa.select(u.c.id, u.c.username, m.c.group_id).join(m, m.c.user_id == u.c.id)
            .where(m.c.group_id == group_id, u.c.is_active.is_(True))
            .order_by(u.c.username))


def group_and_members(conn: sa.Connection, group_key: str) -> tuple[int | None, list[tuple[int, str]]]:
    """The group's id (None when it has no active member) and its active members (id, name), by name,
    in one query."""
    return _as_members(conn.execute(_GROUP_MEMBERS, {"group_key": group_key}).all())


#: ``_members`` of the group ``:group_key``, built once
_GROUP_MEMBERS = _members(sa.bindparam("group_key", type_=sa.String))


def _as_members(rows) -> tuple[int | None, list[tuple[int, str]]]:
    return (rows[0][2] if rows else None), [(r[0], r[1]) for r in rows]


@functools.lru_cache(maxsize=None)
def members_column(dialect: str) -> sa.Label:
    """The members of group ``:group_key`` (``_members``) as one JSON array of [id, name, group id],
    for a statement that writes something else to return with its own row (a round-robin turn:
    ``rules.people``), instead of a query of their own. Built once per dialect."""
    rows = _members(sa.bindparam("group_key", type_=sa.String)).subquery()
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import aggregate_order_by
        items = sa.func.json_agg(aggregate_order_by(
            sa.func.json_build_array(rows.c.id, rows.c.username, rows.c.group_id), rows.c.username))
    else:  # SQLite aggregates in the order of the subquery's rows
        items = sa.func.json_group_array(sa.func.json_array(rows.c.id, rows.c.username, rows.c.group_id))
    return sa.select(items).scalar_subquery().label("members")


def members_from(value) -> tuple[int | None, list[tuple[int, str]]]:
    """``group_and_members``'s answer from what ``members_column`` returned."""
    if isinstance(value, str):
        value = json.loads(value)
    return _as_members(value or [])


def role_holders(conn: sa.Connection, role_key: str) -> list[int]:
    return list(conn.execute(_ROLE_HOLDERS, {"role": role_key}).scalars())


def _tasks(conn: sa.Connection, form: str | None, record_id: Any, task_ids: Iterable[int] | None) -> list:
    """The tasks a message is about (by id), else the record's open flow tasks, oldest first."""
    if task_ids:
        return conn.execute(_TASKS_BY_ID, {"ids": [int(i) for i in task_ids]}).mappings().all()
    if form and record_id is not None:
        return conn.execute(_OPEN_TASKS_ON, {"form": form, "rid": record_id}).mappings().all()
    return []


def task_people(conn: sa.Connection, tasks: Iterable[Mapping[str, Any]], *, assignee: bool = False,
                lead: bool = False) -> list[int]:
    """The active users who hold ``tasks`` (``assignee``) and their leads (``lead``), in order."""
    out: list[int] = []

    def add(ids):
        out.extend(i for i in ids if i is not None and i not in out)

    active = None
    for task in tasks:
        user = task["assignee_user_id"]
        if assignee:
            if user:
                add([user])
            elif task["assignee_group"]:
                add(uid for uid, _ in group_members(conn, task["assignee_group"]))
            elif task["assignee_role"]:
                add(role_holders(conn, task["assignee_role"]))
        if lead:
            if task["assignee_group"]:
                leads = conn.execute(_LEAD_OF_GROUP, {"group": task["assignee_group"]})
            elif user:
                leads = conn.execute(_LEADS_OF_MEMBER, {"user": user})
            else:
                continue
            add(u for u in leads.scalars() if u != user)
    if out:  # a user switched off since the task was assigned hears nothing
        active = set(conn.execute(_ACTIVE_IDS, {"ids": out}).scalars())
        out = [u for u in out if u in active]
    return out


def resolve_users(conn: sa.Connection, spec: Mapping[str, Any], record: Mapping[str, Any] | None,
                  form: str | None = None, *, tasks: Iterable[int] | None = None) -> list[int]:
    """The active users ``spec`` names for ``record`` of ``form`` (``tasks``: the ids of the flow tasks
    the message is about, else the record's open ones), in order, each once."""
    record = record or {}
    names: list[Any] = list(spec.get("users") or [])
    for f in spec.get("user_fields") or []:
        v = record.get(f)
        names.extend(v if isinstance(v, list) else [v])
    if spec.get("submitter"):
        names.append(record.get("created_by"))
    out = user_ids(conn, names)

    def add(ids):
        out.extend(i for i in ids if i not in out)

    for gk in spec.get("groups") or []:
        add(uid for uid, _ in group_members(conn, gk))
    for rk in spec.get("roles") or []:
        add(role_holders(conn, rk))
    group_keys = list(spec.get("group_leads") or [])
    for f in spec.get("group_lead_fields") or []:
        v = record.get(f)
        for g in (v if isinstance(v, list) else [v]):
            if isinstance(g, int) and not isinstance(g, bool):  # a group field holds the group's id
                g = conn.execute(_GROUP_KEY, {"id": g}).scalar()
            if isinstance(g, str) and g:
                group_keys.append(g)
    for gk in group_keys:
        lead = conn.execute(_LEAD_OF_GROUP, {"group": gk}).scalar()
        if lead is not None:
            add([lead])
    if spec.get("assignee") or spec.get("lead"):
        add(task_people(conn, _tasks(conn, form, record.get("id"), tasks), assignee=bool(spec.get("assignee")),
                        lead=bool(spec.get("lead"))))
    if spec.get("participants") and record and form:
        add(conn.execute(_PARTICIPANTS, {"form": form, "rid": record.get("id")}).scalars())
    return out


#: local parts that never get mail from a rule: the senders of bounces (RFC 3834: never answer them)
NO_REPLY_LOCAL_PARTS = frozenset({"mailer-daemon"})


def literal_emails(spec: Mapping[str, Any], record: Mapping[str, Any] | None) -> list[str]:
    """Addresses typed in a recipient list and held in its fields (a field may hold several, comma
    or semicolon separated, as an intake's ``to``/``cc`` part stores them), each once."""
    raw: list[Any] = list(spec.get("emails") or [])
    for f in spec.get("email_fields") or []:
        v = (record or {}).get(f)
        for item in v if isinstance(v, list) else [v]:
            raw.extend(item.replace(";", ",").split(",") if isinstance(item, str) else [])
    out = []
    for e in raw:
        e = e.strip() if isinstance(e, str) else ""
        if "@" in e and "\n" not in e and "\r" not in e and e.split("@")[0].lower() not in NO_REPLY_LOCAL_PARTS \
                and e not in out:
            out.append(e)
    return out
