"""Durable timers and SLAs through runtime.jobs, driven by the injectable clock (no sleeps)."""
import pytest
import sqlalchemy as sa

from runtime import db, jobs
from runtime.flows.tables import flow_history

from .flow_fixtures import (create_ticket, e, install, instances, n, package, principal, runtime_call,
                            settle, setup_users, simple_flow, tasks)
from tests.conftest import install_package

OFFICE = {"key": "office", "version": 1, "label": "Office", "timezone": "UTC",
          "hours": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}}


@pytest.fixture
def users(jimu):
    return setup_users(jimu)


def job_rows(jimu, kind="flow.timer"):
    with jimu.read() as conn:
        return [dict(r) for r in conn.execute(sa.select(db.jobs).where(db.jobs.c.kind == kind)
                                              .order_by(db.jobs.c.id)).mappings()]


def escalations(jimu):
    with jimu.read() as conn:
        return [r.data for r in conn.execute(sa.select(db.events.c.data).where(db.events.c.kind == "flow.escalated")
                                             .order_by(db.events.c.id))]


def test_sla_notify_then_reassign_then_raise_priority(jimu, users, clock):
    sla = [{"after": "PT2H", "action": "notify"},
           {"after": "PT4H", "action": "reassign", "assignee": {"kind": "user", "value": "lead"}},
           {"after": "PT6H", "action": "raise_priority", "set": {"urgency": "高"}}]
    install(jimu, [simple_flow(assignee={"kind": "round_robin", "value": "l1"}, sla=sla)])
    rec = create_ticket(jimu, users["admin"], urgency="低")
    (task,) = tasks(jimu)
    assert task["due_at"] == clock.now.replace(hour=11)
    assert len(job_rows(jimu)) == 3
    settle(jimu)  # the new task's notice to its assignee, then its in-app message
    clock.advance(hours=1, minutes=59)
    assert jobs.run_due(jimu) == 0
    clock.advance(minutes=1)
    assert jobs.run_due(jimu) == 1
    (first,) = escalations(jimu)
    assert first["action"] == "notify" and first["notify"] == [users["ann"], users["lead"]]
    clock.advance(hours=2)
    jobs.run_due(jimu)
    assert tasks(jimu)[0]["assignee_user_id"] == users["lead"]
    clock.advance(hours=2)
    jobs.run_due(jimu)
    assert tasks(jimu)[0]["priority"] == 1
    assert runtime_call(jimu, lambda rt: rt._record("ticket", rec["id"]))["urgency"] == "高"
    assert [j["status"] for j in job_rows(jimu)] == ["done"] * 3


def test_sla_escalation_edge_moves_the_token_and_completion_cancels_timers(jimu, users, clock):
    flow = {"key": "esc", "version": 1, "form": "ticket",
            "nodes": [n("s", "start"),
                      n("l1", "user_task", assignee={"kind": "user", "value": "ann"},
                        sla={"after": "PT2H", "action": "edge", "edge": "up"}),
                      n("l2", "user_task", assignee={"kind": "user", "value": "lead"}), n("end", "end")],
            "edges": [e("s", "l1"), e("l1", "end"), e("l1", "l2", id="up", outcome="escalate"), e("l2", "end")]}
    flow["nodes"][1]["config"]["outcomes"] = ["done", "escalate"]
    flow["edges"][1]["outcome"] = "done"
    install(jimu, [flow])
    create_ticket(jimu, users["admin"])
    create_ticket(jimu, users["admin"])
    first, second = tasks(jimu)
    runtime_call(jimu, lambda rt: rt.complete(principal(jimu, users["ann"]), second["id"], outcome="done"))
    assert [j["status"] for j in job_rows(jimu)] == ["pending", "cancelled"]
    settle(jimu)
    clock.advance(hours=3)
    assert jobs.run_due(jimu) == 1
    rows = tasks(jimu)
    assert [(t["node_id"], t["status"]) for t in rows] == [("l1", "expired"), ("l1", "completed"), ("l2", "open")]
    assert rows[2]["assignee_user_id"] == users["lead"]


def test_timer_node_on_a_business_calendar(jimu, users, clock):
    flow = {"key": "wait", "version": 1, "form": "ticket",
            "nodes": [n("s", "start"), n("w", "timer", after="PT10H", calendar="office"),
                      n("a", "user_task", assignee={"kind": "user", "value": "ann"}), n("end", "end")],
            "edges": [e("s", "w"), e("w", "a"), e("a", "end")]}
    data = package([flow])
    data["calendars"] = [OFFICE]
    install_package(jimu, data)
    create_ticket(jimu, users["admin"])   # Monday 09:00 UTC
    settle(jimu)
    (job,) = job_rows(jimu)
    assert job["run_at"] == clock.now.replace(day=3, hour=10)  # 9 h Monday + 1 h Tuesday
    clock.advance(hours=24)
    assert jobs.run_due(jimu) == 0 and tasks(jimu) == []
    clock.advance(hours=1)
    assert jobs.run_due(jimu) == 1
    assert [t["node_id"] for t in tasks(jimu)] == ["a"]


def test_overdue_timers_catch_up_after_downtime_and_fire_once(jimu, users, clock):
    flow = {"key": "wait", "version": 1, "form": "ticket",
            "nodes": [n("s", "start"), n("w", "timer", after="PT1H"),
                      n("a", "user_task", assignee={"kind": "user", "value": "ann"}), n("end", "end")],
            "edges": [e("s", "w"), e("w", "a"), e("a", "end")]}
    install(jimu, [flow])
    for _ in range(5):
        create_ticket(jimu, users["admin"])
    clock.advance(days=3)  # the workers were down for three days
    assert jobs.run_due(jimu) == 5
    settle(jimu)  # the five new tasks' notices
    assert job_rows(jimu, "flow.timer") and all(j["status"] == "done" for j in job_rows(jimu))
    with jimu.read() as conn:
        fired = conn.execute(sa.select(sa.func.count()).where(flow_history.c.kind == "timer_fired")).scalar()
    assert fired == 5 and len(tasks(jimu, status="open")) == 5


def test_a_timer_delivered_twice_fires_once(jimu, users, clock):
    flow = {"key": "wait", "version": 1, "form": "ticket",
            "nodes": [n("s", "start"), n("w", "timer", after="PT1H"),
                      n("a", "user_task", assignee={"kind": "user", "value": "ann"}), n("end", "end")],
            "edges": [e("s", "w"), e("w", "a"), e("a", "end")]}
    install(jimu, [flow])
    create_ticket(jimu, users["admin"])
    (job,) = job_rows(jimu)
    iid, timer = job["payload"]["instance"], job["payload"]["timer"]
    runtime_call(jimu, lambda rt: rt.fire_timer(iid, timer))
    runtime_call(jimu, lambda rt: rt.fire_timer(iid, timer))  # at-least-once redelivery
    assert len(tasks(jimu)) == 1
    with jimu.begin() as conn:  # the same idempotency key cannot be scheduled twice
        assert not jobs.enqueue(conn, "flow.timer", job["payload"], run_at=clock.now, key=job["idempotency_key"],
                                now=clock.now)


def test_automatic_step_that_cannot_run_waits_as_a_durable_job_and_fails_clearly(jimu, users, clock, monkeypatch):
    flow = {"key": "auto", "version": 1, "form": "ticket",
            "nodes": [n("s", "start"), n("acc", "automatic", actions=[{"type": "set_note", "value": "accepted"}]),
                      n("a", "user_task", assignee={"kind": "user", "value": "ann"}), n("end", "end")],
            "edges": [e("s", "acc"), e("acc", "a"), e("a", "end")]}
    install(jimu, [flow])
    rec = create_ticket(jimu, users["admin"])
    assert tasks(jimu) == []     # the step waits for its actions: the next node is not entered on old values
    jobs.run_due(jimu)
    (job,) = job_rows(jimu, "flow.actions")
    assert job["status"] == "pending" and "not installed" in job["last_error"]

    from engines.rule import ACTIONS, Action, Effect

    class SetNote(Action):  # a third-party rule action, registered the way a plugin is
        type = "set_note"
        config_schema = {"type": "object", "properties": {"type": {"type": "string"}, "value": {"type": "string"}},
                         "required": ["value"]}

        def plan(self, ctx):
            return [Effect("set_fields", {"form": ctx.form, "id": ctx.record_id,
                                          "values": {"note": self.config["value"]}})]

    ACTIONS.load()
    monkeypatch.setattr(ACTIONS, "_items", dict(ACTIONS._items))  # the registration is undone after the test
    ACTIONS.register(SetNote)
    clock.advance(minutes=5)
    jobs.run_due(jimu)
    assert job_rows(jimu, "flow.actions")[0]["status"] == "done"
    assert runtime_call(jimu, lambda rt: rt._record("ticket", rec["id"]))["note"] == "accepted"
    assert [t["node_id"] for t in tasks(jimu)] == ["a"]   # done: the flow moved on
