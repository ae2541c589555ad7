"""Flows and rules together: an automatic step runs the rule engine's actions through the rule
runtime's executor, and task/flow events reach rules with task_* / flow_* triggers."""
import pytest

import sqlalchemy as sa

from runtime import db, jobs

from .flow_fixtures import create_ticket, e, n, package, principal, runtime_call, setup_users, simple_flow, tasks
from tests.conftest import install_package

pytest.importorskip("runtime.rules")


def rule(key, trigger, **values):
    return {"key": key, "version": 1, "label": key, "form": "ticket", "trigger": trigger,
            "actions": [{"type": "set_fields", "values": values}]}


@pytest.fixture
def users(jimu):
    return setup_users(jimu)


def test_automatic_step_runs_rule_engine_actions(jimu, users):
    flow = {"key": "auto", "version": 1, "form": "ticket",
            "nodes": [n("s", "start"), n("accept", "automatic",
                                         actions=[{"type": "set_fields", "values": {"note": "已受理"}}]),
                      n("a", "user_task", assignee={"kind": "user", "value": "ann"}), n("end", "end")],
            "edges": [e("s", "accept"), e("accept", "a"), e("a", "end")]}
    install_package(jimu, package([flow]))
    rec = create_ticket(jimu, users["admin"])
    assert runtime_call(jimu, lambda rt: rt._record("ticket", rec["id"]))["note"] == "已受理"  # in the write
    with jimu.read() as conn:  # nothing left to retry: only the new task's notice is queued
        pending = conn.execute(sa.select(db.jobs.c.kind).where(db.jobs.c.status == "pending")).scalars().all()
    assert pending == ["flow.task_notice"] and [t["node_id"] for t in tasks(jimu)] == ["a"]


def test_task_and_flow_events_fire_rules(jimu, users, clock):
    data = package([simple_flow(sla={"after": "PT2H"})])
    data["rules"] = [rule("created", {"type": "task_created", "flow": "handle", "task": "work"}, owner="ann"),
                     rule("overdue", {"type": "task_overdue", "flow": "handle"}, urgency="高"),
                     rule("ended", {"type": "flow_ended", "flow": "handle"}, note="closed")]
    install_package(jimu, data)
    rec = create_ticket(jimu, users["admin"], urgency="低")
    record = lambda: runtime_call(jimu, lambda rt: rt._record("ticket", rec["id"]))
    assert record()["owner"] == "ann" and record()["urgency"] == "低"
    clock.advance(hours=2)
    jobs.run_due(jimu)
    assert record()["urgency"] == "高"
    (task,) = tasks(jimu)
    runtime_call(jimu, lambda rt: rt.complete(principal(jimu, users["ann"]), task["id"], outcome="solved"))
    assert record()["note"] == "closed"
