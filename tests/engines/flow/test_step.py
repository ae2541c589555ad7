from datetime import timedelta

import pytest

from engines.calendar import BusinessCalendar
from engines.flow import (ActionsDone, AppendHistory, AssignTask, Cancel, CancelTimer, CloseTask, CreateTask, Delegate,
                          Escalate, FlowConflict, FlowError, InstanceEnded, Reassign, Reopen, Return, RunActions,
                          ScheduleTimer, TaskCompleted, TimerFired, compile_flow, new_state, step, Start)

from .helpers import T0, Driver, chain, edge, flow, node


def test_start_and_end_complete_at_once():
    d = Driver(chain(("s", "start"), ("e", "end")))
    assert d.state["status"] == "completed" and d.state["tokens"] == {}
    assert [e.kind for e in d.of(AppendHistory)] == ["started", "ended"]
    assert d.of(InstanceEnded)[0].outcome == "completed"


def test_step_never_changes_the_given_state():
    spec = compile_flow(chain(("s", "start"), ("a", "user_task"), ("e", "end")))
    state = new_state(spec, 9)
    before = repr(state)
    started, _ = step(spec, state, Start(), now=T0)
    assert repr(state) == before
    snapshot = repr(started)
    task = next(iter(started["tasks"]))
    step(spec, started, TaskCompleted(task), now=T0)
    assert repr(started) == snapshot


def test_user_task_opens_a_task_with_fields_and_outcomes_and_moves_on_completion():
    d = Driver(flow([node("s", "start"),
                     node("a", "user_task", assignee={"kind": "role", "value": "agent"},
                          outcomes=["solved", "unsolved"], fields={"title": "visible", "note": "required"}),
                     node("ok", "end", outcome="solved"), node("no", "end", outcome="escalated")],
                    [edge("s", "a"), edge("a", "ok", outcome="solved"), edge("a", "no", outcome="unsolved")]))
    (created,) = d.created()
    assert created.assignee == {"kind": "role", "value": "agent"}
    assert dict(created.fields) == {"title": "visible", "note": "required"}
    assert [o["key"] for o in created.outcomes] == ["solved", "unsolved"]
    with pytest.raises(FlowError) as info:
        d.send(TaskCompleted(created.task_id, outcome="maybe"))
    assert info.value.code == "flow.unknown_outcome"
    d.send(TaskCompleted(created.task_id, outcome="unsolved", actor="bob", comment="needs expert"))
    assert d.state["status"] == "completed" and d.state["outcome"] == "escalated"
    closed = d.of(CloseTask)[0]
    assert (closed.task_id, closed.state, closed.outcome, closed.actor) == (created.task_id, "completed",
                                                                           "unsolved", "bob")
    with pytest.raises(FlowConflict):
        d.send(TaskCompleted(created.task_id, outcome="solved"))


def test_exclusive_gateway_takes_the_first_true_condition_else_the_default():
    d = flow([node("s", "start"), node("g", "exclusive_gateway"), node("hi", "user_task"), node("lo", "user_task"),
              node("e", "end")],
             [edge("s", "g"), edge("g", "hi", condition="urgency == '高'"), edge("g", "lo", default=True),
              edge("hi", "e"), edge("lo", "e")])
    assert Driver(d, record={"urgency": "高"}).at == ["hi"]
    assert Driver(d, record={"urgency": "低"}).at == ["lo"]


def test_the_conditions_of_one_step_share_one_evaluation_context(monkeypatch):
    from engines.flow import conditions
    built, real = [], conditions.context
    monkeypatch.setattr(conditions, "context", lambda *a, **k: built.append(1) or real(*a, **k))
    d = flow([node("s", "start"), node("g", "exclusive_gateway"), node("g2", "exclusive_gateway"),
              node("a", "user_task"), node("b", "user_task"), node("c", "user_task"), node("e", "end")],
             [edge("s", "g"), edge("g", "a", condition="n > 10"), edge("g", "g2", default=True),
              edge("g2", "b", condition="n < 0"), edge("g2", "c", condition="n == 5"),
              edge("a", "e"), edge("b", "e"), edge("c", "e")])
    assert Driver(d, record={"n": 5}).at == ["c"]   # three conditions evaluated, in order
    assert len(built) == 1


def test_exclusive_gateway_without_a_matching_edge_is_an_error_and_state_is_kept():
    d = flow([node("s", "start"), node("a", "user_task"), node("g", "exclusive_gateway"), node("x", "user_task"),
              node("y", "user_task"), node("e", "end")],
             [edge("s", "a"), edge("a", "g"), edge("g", "x", condition="n > 10"), edge("g", "y", condition="n < 0"),
              edge("x", "e"), edge("y", "e")])
    drv = Driver(d, record={"n": 5})
    state = drv.state
    with pytest.raises(FlowError) as info:
        drv.send(TaskCompleted(drv.task_at("a")))
    assert info.value.code == "flow.no_path"
    assert drv.state is state and drv.at == ["a"]


def test_parallel_fork_and_join():
    d = Driver(flow([node("s", "start"), node("f", "parallel_gateway"), node("a", "user_task"),
                     node("b", "user_task"), node("j", "parallel_gateway"), node("after", "user_task"),
                     node("e", "end")],
                    [edge("s", "f"), edge("f", "a"), edge("f", "b"), edge("a", "j"), edge("b", "j"),
                     edge("j", "after"), edge("after", "e")]))
    assert d.at == ["a", "b"]
    d.send(TaskCompleted(d.task_at("b")))
    assert d.at == ["a"] and d.state["joins"] == {"j": 1}
    d.send(TaskCompleted(d.task_at("a")))
    assert d.at == ["after"] and d.state["joins"] == {}
    d.send(TaskCompleted(d.task_at("after")))
    assert d.state["status"] == "completed"


def approval_flow(**approval):
    return flow([node("s", "start"), node("submit", "user_task"), node("check", "user_task"),
                 node("boss", "approval", **approval), node("e", "end")],
                [edge("s", "submit"), edge("submit", "check"), edge("check", "boss"),
                 edge("boss", "e", outcome="approve"), edge("boss", "submit", outcome="reject")])


def test_rejected_approval_returns_to_the_first_step_and_can_then_pass():
    d = Driver(approval_flow())
    for n in ("submit", "check"):
        d.send(TaskCompleted(d.task_at(n)))
    d.send(TaskCompleted(d.task_at("boss"), outcome="reject", actor="boss", comment="missing invoice"))
    assert d.at == ["submit"] and d.state["status"] == "running"
    assert sum(1 for c in d.created() if c.node_id == "submit") == 2
    for n in ("submit", "check"):
        d.send(TaskCompleted(d.task_at(n)))
    d.send(TaskCompleted(d.task_at("boss"), outcome="approve"))
    assert d.state["status"] == "completed"
    hist = [(h.node_id, h.kind, h.outcome, h.comment) for h in d.of(AppendHistory)]
    assert ("boss", "task_completed", "reject", "missing invoice") in hist


def test_reject_without_reject_edge_ends_the_instance_as_rejected():
    d = Driver(chain(("s", "start"), ("boss", "approval"), ("e", "end")))
    d.send(TaskCompleted(d.task_at("boss"), outcome="reject"))
    assert d.state["status"] == "completed" and d.state["outcome"] == "rejected"


def test_approval_return_outcome_goes_to_return_to_or_the_first_step():
    d = Driver(approval_flow(return_to="check"))
    for n in ("submit", "check"):
        d.send(TaskCompleted(d.task_at(n)))
    d.send(TaskCompleted(d.task_at("boss"), outcome="return"))
    assert d.at == ["check"]
    d = Driver(approval_flow())
    for n in ("submit", "check"):
        d.send(TaskCompleted(d.task_at(n)))
    d.send(TaskCompleted(d.task_at("boss"), outcome="return"))
    assert d.at == ["submit"]


def test_return_event_sends_work_back_to_a_chosen_earlier_step_only():
    d = Driver(approval_flow())
    d.send(TaskCompleted(d.task_at("submit")))
    task = d.task_at("check")
    with pytest.raises(FlowError) as info:
        d.send(Return(task, "e"))
    assert info.value.code == "flow.bad_return_target"
    d.send(Return(task, "submit", actor="lead", comment="wrong category"))
    assert d.at == ["submit"]
    assert d.of(CloseTask)[-1].state == "returned"


def test_countersign_two_of_three():
    signers = [{"kind": "user", "value": u} for u in ("ann", "ben", "cat")]
    d = Driver(flow([node("s", "start"), node("cs", "countersign", assignees=signers, rule="count", count=2),
                     node("ok", "end", outcome="approved")],
                    [edge("s", "cs"), edge("cs", "ok")]))
    tasks = d.open_tasks("cs")
    assert len(tasks) == 3 and [c.assignee["value"] for c in d.created()] == ["ann", "ben", "cat"]
    d.send(TaskCompleted(tasks[0], outcome="approve"))
    d.send(TaskCompleted(tasks[1], outcome="reject"))
    assert d.state["status"] == "running" and len(d.open_tasks()) == 1
    d.send(TaskCompleted(tasks[2], outcome="approve"))
    assert d.state["status"] == "completed" and d.state["outcome"] == "approved"


def test_countersign_decides_early_and_cancels_the_rest():
    signers = [{"kind": "user", "value": u} for u in ("ann", "ben", "cat")]
    d = Driver(flow([node("s", "start"), node("cs", "countersign", assignees=signers, rule="count", count=2),
                     node("ok", "end")], [edge("s", "cs"), edge("cs", "ok")]))
    tasks = d.open_tasks("cs")
    d.send(TaskCompleted(tasks[0], outcome="approve"))
    d.send(TaskCompleted(tasks[1], outcome="approve"))
    assert d.state["status"] == "completed"
    assert [c.state for c in d.of(CloseTask) if c.task_id == tasks[2]] == ["cancelled"]
    # two rejections make 2 of 3 impossible
    d = Driver(flow([node("s", "start"), node("cs", "countersign", assignees=signers, rule="count", count=2),
                     node("ok", "end")], [edge("s", "cs"), edge("cs", "ok")]))
    tasks = d.open_tasks("cs")
    d.send(TaskCompleted(tasks[0], outcome="reject"))
    d.send(TaskCompleted(tasks[1], outcome="reject"))
    assert d.state["outcome"] == "rejected"


@pytest.mark.parametrize("rule,extra,votes,result", [
    ("all", {}, ["approve", "approve", "approve"], "approved"),
    ("all", {}, ["reject"], "rejected"),
    ("any", {}, ["reject", "approve"], "approved"),
    ("percent", {"percent": 60}, ["approve", "approve"], "approved"),
    ("percent", {"percent": 60}, ["reject", "reject"], "rejected"),
])
def test_countersign_rules(rule, extra, votes, result):
    signers = [{"kind": "user", "value": u} for u in ("ann", "ben", "cat")]
    d = Driver(flow([node("s", "start"), node("cs", "countersign", assignees=signers, rule=rule, **extra),
                     node("ok", "end", outcome="approved")], [edge("s", "cs"), edge("cs", "ok")]))
    tasks = d.open_tasks("cs")
    for task, vote in zip(tasks, votes):
        d.send(TaskCompleted(task, outcome=vote))
    assert d.state["outcome"] == result


def test_timer_node_waits_a_duration_and_moves_on_when_fired():
    d = Driver(flow([node("s", "start"), node("w", "timer", after="PT2H"), node("a", "user_task"), node("e", "end")],
                    [edge("s", "w"), edge("w", "a"), edge("a", "e")]))
    (sched,) = d.of(ScheduleTimer)
    assert sched.fire_at == T0 + timedelta(hours=2) and sched.kind == "wait" and sched.key == f"1/{sched.timer_id}"
    d.send(TimerFired(sched.timer_id))
    assert d.at == ["a"]
    effects = d.send(TimerFired(sched.timer_id))  # at-least-once delivery: a duplicate is a no-op
    assert effects == [] and d.at == ["a"]


def test_timer_node_on_a_business_calendar_and_until_a_field():
    cal = BusinessCalendar.from_definition({"key": "office", "version": 1, "label": "Office", "timezone": "UTC",
                                            "hours": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}})
    d = Driver(flow([node("s", "start"), node("w", "timer", after="PT10H", calendar="office"), node("e", "end")],
                    [edge("s", "w"), edge("w", "e")]), calendar={"office": cal})
    assert d.of(ScheduleTimer)[0].fire_at == T0.replace(day=3, hour=10)  # Mon 09:00 + 10 working hours
    d = Driver(flow([node("s", "start"), node("w", "timer", until="due", offset="PT1H"), node("e", "end")],
                    [edge("s", "w"), edge("w", "e")]), record={"due": "2026-11-05T08:00:00+00:00"})
    assert d.of(ScheduleTimer)[0].fire_at == T0.replace(day=5)
    with pytest.raises(FlowError) as info:
        Driver(flow([node("s", "start"), node("w", "timer", until="due"), node("e", "end")],
                    [edge("s", "w"), edge("w", "e")]), record={})
    assert info.value.code == "flow.timer_field_empty"


def test_sla_levels_escalate_and_an_edge_level_moves_the_token():
    sla = [{"after": "PT2H", "action": "notify"},
           {"after": "PT4H", "action": "reassign", "assignee": {"kind": "group", "value": "lead"}},
           {"after": "PT6H", "action": "raise_priority", "set": {"urgency": "高"}},
           {"after": "PT8H", "action": "edge", "edge": "late"}]
    d = Driver(flow([node("s", "start"), node("a", "user_task", sla=sla, outcomes=["done", "escalate"]),
                     node("x", "user_task"), node("e", "end")],
                    [edge("s", "a"), edge("a", "e", outcome="done"), edge("a", "x", id="late", outcome="escalate"),
                     edge("x", "e")]))
    timers = d.of(ScheduleTimer)
    assert [t.fire_at - T0 for t in timers] == [timedelta(hours=h) for h in (2, 4, 6, 8)]
    assert d.created()[0].due_at == T0 + timedelta(hours=2)
    for t in timers[:3]:
        d.send(TimerFired(t.timer_id))
    assert [(e.action, e.level) for e in d.of(Escalate)] == [("notify", 0), ("reassign", 1), ("raise_priority", 2)]
    assert d.of(Escalate)[2].set == {"urgency": "高"} and d.at == ["a"]
    d.send(TimerFired(timers[3].timer_id))
    assert d.at == ["x"]
    assert [c.state for c in d.of(CloseTask)] == ["expired"]


def test_completing_a_task_cancels_its_sla_timers():
    d = Driver(flow([node("s", "start"), node("a", "user_task", sla={"after": "PT2H"}), node("e", "end")],
                    [edge("s", "a"), edge("a", "e")]))
    timer = d.of(ScheduleTimer)[0]
    d.send(TaskCompleted(d.task_at("a")))
    assert [c.key for c in d.of(CancelTimer)] == [timer.key]
    assert d.state["timers"] == {}


def test_automatic_step_emits_rule_actions_and_waits_for_them_before_moving_on():
    actions = [{"type": "set_field", "field": "status", "value": "受理"}]
    d = Driver(flow([node("s", "start"), node("auto", "automatic", actions=actions), node("a", "user_task"),
                     node("e", "end")], [edge("s", "auto"), edge("auto", "a"), edge("a", "e")]))
    (run,) = d.of(RunActions)
    assert run.node_id == "auto" and run.to_dict()["actions"] == actions and run.key.startswith("1/a")
    assert d.at == ["auto"] and d.created() == []
    d.send(ActionsDone(run.key))
    assert d.at == ["a"]
    assert d.send(ActionsDone(run.key)) == []    # delivered twice: a no-op


def test_the_gateway_after_an_automatic_step_decides_on_the_record_it_is_resumed_with():
    d = Driver(flow([node("s", "start"), node("auto", "automatic", actions=[{"type": "set_fields"}]),
                     node("g", "exclusive_gateway"), node("big", "user_task"), node("small", "user_task"),
                     node("e", "end")],
                    [edge("s", "auto"), edge("auto", "g"), edge("g", "big", condition="合计 > 50000"),
                     edge("g", "small", default=True), edge("big", "e"), edge("small", "e")]),
               record={"合计": 100})
    (run,) = d.of(RunActions)
    d.record = {"合计": 60000}          # what the step's actions stored
    d.send(ActionsDone(run.key))
    assert d.at == ["big"]


def test_cancelling_drops_the_actions_an_automatic_step_waits_for():
    d = Driver(flow([node("s", "start"), node("auto", "automatic", actions=[]), node("e", "end")],
                    [edge("s", "auto"), edge("auto", "e")]))
    (run,) = d.of(RunActions)
    d.send(Cancel())
    assert d.state["actions"] == {}
    assert d.send(ActionsDone(run.key)) == []


def test_end_with_terminate_cancels_other_branches():
    d = Driver(flow([node("s", "start"), node("f", "parallel_gateway"),
                     node("a", "user_task", outcomes=["done", "abort"]), node("b", "user_task"),
                     node("j", "parallel_gateway"), node("stop", "end", terminate=True, outcome="aborted"),
                     node("e", "end")],
                    [edge("s", "f"), edge("f", "a"), edge("f", "b"), edge("a", "j", outcome="done"),
                     edge("b", "j"), edge("j", "e"), edge("a", "stop", outcome="abort")]))
    d.send(TaskCompleted(d.task_at("a"), outcome="abort"))
    assert d.state["status"] == "completed" and d.state["outcome"] == "aborted" and d.state["tasks"] == {}


def test_reassign_and_delegate_emit_assign_effects():
    d = Driver(chain(("s", "start"), ("a", "user_task"), ("e", "end")))
    task = d.task_at("a")
    d.send(Reassign(task, {"kind": "group", "value": "l2"}, actor="lead"))
    d.send(Delegate(task, "bob", actor="ann"))
    assert [(a.assignee["kind"], a.reason) for a in d.of(AssignTask)] == [("group", "reassigned"),
                                                                          ("user", "delegated")]
    assert d.task_at("a") == task


def test_cancel_closes_everything_and_reopen_restarts():
    d = Driver(flow([node("s", "start"), node("a", "user_task", sla={"after": "PT1H"}), node("e", "end")],
                    [edge("s", "a"), edge("a", "e")]))
    d.send(Cancel(actor="admin", comment="duplicate"))
    assert d.state["status"] == "cancelled" and d.state["tasks"] == {} and d.state["timers"] == {}
    assert d.of(CloseTask)[-1].state == "cancelled" and len(d.of(CancelTimer)) == 1
    with pytest.raises(FlowConflict):
        d.send(Cancel())
    d.send(Reopen(actor="admin"))
    assert d.state["status"] == "running" and d.at == ["a"]
    d.send(TaskCompleted(d.task_at("a")))
    with pytest.raises(FlowConflict):
        Driver(chain(("s", "start"), ("a", "user_task"), ("e", "end"))).send(Reopen())


def test_state_of_another_version_is_refused():
    v1 = compile_flow(chain(("s", "start"), ("a", "user_task"), ("e", "end")))
    v2 = compile_flow(chain(("s", "start"), ("a", "user_task"), ("e", "end"), version=2))
    state, _ = step(v1, new_state(v1), Start(), now=T0)
    with pytest.raises(FlowError) as info:
        step(v2, state, TaskCompleted(next(iter(state["tasks"]))), now=T0)
    assert info.value.code == "flow.wrong_version"


def test_replaying_a_step_gives_the_same_ids_and_keys():
    spec = compile_flow(flow([node("s", "start"), node("a", "user_task", sla={"after": "PT2H"}), node("e", "end")],
                             [edge("s", "a"), edge("a", "e")]))
    runs = [step(spec, new_state(spec, 7), Start(), now=T0) for _ in range(2)]
    assert runs[0][0] == runs[1][0]
    assert [e.to_dict() for e in runs[0][1]] == [e.to_dict() for e in runs[1][1]]


def test_a_loop_of_gateways_is_stopped():
    d = flow([node("s", "start"), node("a", "exclusive_gateway"), node("b", "exclusive_gateway"),
              node("g", "exclusive_gateway"), node("e", "end")],
             [edge("s", "a"), edge("a", "b"), edge("b", "g"), edge("g", "a", condition="true"),
              edge("g", "e", default=True)])
    with pytest.raises(FlowError) as info:
        Driver(d)
    assert info.value.code == "flow.runaway"
