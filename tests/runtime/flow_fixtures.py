"""A tiny ticket app with flows, and helpers shared by the flow runtime tests."""
from __future__ import annotations

import copy

import sqlalchemy as sa

from tests.conftest import install_package, make_user

TICKET = {"key": "ticket", "version": 1, "label": {"zh-CN": "工单", "en": "Ticket"}, "title_field": "title",
          "fields": [{"key": "title", "label": {"zh-CN": "标题", "en": "Title"}, "widget": "text", "required": True},
                     {"key": "urgency", "label": {"zh-CN": "紧急程度", "en": "Urgency"}, "widget": "text"},
                     {"key": "reply", "label": {"zh-CN": "答复", "en": "Reply"}, "widget": "text"},
                     {"key": "owner", "label": {"zh-CN": "负责人", "en": "Owner"}, "widget": "text"},
                     {"key": "note", "label": {"zh-CN": "备注", "en": "Note"}, "widget": "text"}]}


def n(id, type, **config):
    return {"id": id, "type": type, "config": config}


def e(a, b, **extra):
    return {"id": extra.pop("id", f"{a}-{b}"), "from": a, "to": b, **extra}


def package(flows, *, version="1.0.0", groups=None):
    return {"format": "jimu.app", "version": 2,
            "app": {"key": "desk", "version": version, "label": "Desk"},
            "roles": [{"key": "agent", "version": 1, "label": "Agent",
                       "permissions": {"ticket": ["create", "read", "update"]}}],
            "groups": groups or [{"key": "l1", "version": 1, "label": "L1", "members": ["ann", "ben", "cat"],
                                  "lead": "lead"}],
            "forms": [copy.deepcopy(TICKET)], "flows": flows}


def simple_flow(key="handle", version=1, assignee=None, **task):
    return {"key": key, "version": version, "form": "ticket", "label": "Handle",
            "nodes": [n("s", "start"),
                      n("work", "user_task", assignee=assignee or {"kind": "user", "value": "ann"},
                        outcomes=["solved", "unsolved"], **task),
                      n("done", "end", outcome="solved"), n("esc", "end", outcome="escalated")],
            "edges": [e("s", "work"), e("work", "done", outcome="solved"), e("work", "esc", outcome="unsolved")]}


def setup_users(jimu):
    ids = {name: make_user(jimu, name) for name in ("ann", "ben", "cat", "lead")}
    ids["admin"] = make_user(jimu, "root", admin=True)
    return ids


def principal(jimu, user_id):
    from runtime.auth.principal import load_principal
    with jimu.read() as conn:
        return load_principal(conn, user_id)


def create_ticket(jimu, user_id, **values):
    from runtime.records import Records
    with jimu.begin() as conn:
        return Records(jimu, conn, principal(jimu, user_id)).create("ticket", {"title": "t", **values})


def runtime_call(jimu, fn):
    from runtime.flows import FlowRuntime
    with jimu.begin() as conn:
        return fn(FlowRuntime(jimu, conn))


def tasks(jimu, **where):
    from runtime.flows.tables import flow_tasks
    with jimu.read() as conn:
        q = sa.select(flow_tasks).order_by(flow_tasks.c.id)
        for k, v in where.items():
            q = q.where(flow_tasks.c[k] == v)
        return [dict(r) for r in conn.execute(q).mappings()]


def instances(jimu):
    from runtime.flows.tables import flow_instances
    with jimu.read() as conn:
        return [dict(r) for r in conn.execute(sa.select(flow_instances).order_by(flow_instances.c.id)).mappings()]


def settle(jimu):
    """Run the jobs due now until none is left (a new task's notice queues its in-app message)."""
    from runtime import jobs
    while jobs.run_due(jimu):
        pass


def install(jimu, flows, **kw):
    return install_package(jimu, package(flows, **kw))
