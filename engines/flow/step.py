"""The pure core: ``step(spec, state, event) -> (state, effects)``.

``state`` is a plain JSON dict (what the runtime persists); ``step`` never
changes the one it is given and returns a new one with the effects the
runtime must execute (create/close tasks, schedule/cancel timers, history
lines, rule actions). It reads no clock and no database: ``now`` and the
record's field values (for edge conditions and "until a field" timers) are
passed in. An event that does not apply raises ``FlowError`` /
``FlowConflict`` and the caller's state is untouched.

State document (version ``STATE_VERSION``)::

    {"v": 1, "id": <instance id or None>, "spec_key": "...", "spec_version": 1,
     "status": "running" | "completed" | "cancelled", "outcome": null, "seq": 7,
     "tokens": {"k1": "<node id>"},                    # token → node it sits on
     "tasks":  {"t3": {"node": "...", "token": "k1"}}, # open tasks
     "timers": {"w4": {"node": "...", "kind": "sla" | "wait", "token": ..., "task": ..., "level": 0}},
     "joins":  {"<join node>": 1},                     # arrivals at a parallel join
     "actions": {"<key>": {"node": "...", "token": "k1"}},  # automatic steps waiting for their actions
     "votes":  {"k1": {"approve": 1, "reject": 0}},    # countersign tallies per token
     "clocks": {"response": {"status": "running", "due": "...", ...}}}  # service-level clocks (sla.py)
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from .effects import AssignTask, Effect
from . import sla
from .events import (ActionsDone, Cancel, Delegate, Event, Reassign, RecordChanged, Reopen, Return, Start,
                     TaskCompleted, TimerFired)
from .exceptions import FlowConflict, FlowError
from .run import Run
from .spec import FlowSpec
from .states import InstanceStatus, TaskState

STATE_VERSION = 1


def new_state(spec: FlowSpec, instance_id: Any = None) -> dict:
    """The state of an instance that has not started yet (feed it ``Start()``)."""
    return {"v": STATE_VERSION, "id": instance_id, "spec_key": spec.key, "spec_version": spec.version,
            "status": "new", "outcome": None, "seq": 0,
            "tokens": {}, "tasks": {}, "timers": {}, "joins": {}, "votes": {}, "actions": {}, "clocks": {}}


def step(spec: FlowSpec, state: Mapping[str, Any], event: Event, *, now: datetime,
         record: Mapping[str, Any] | None = None, calendar: Any = None) -> tuple[dict, list[Effect]]:
    """Apply one event. ``calendar``: a ``BusinessCalendar`` or a mapping key → calendar."""
    if state.get("v") != STATE_VERSION:
        raise FlowError(f"instance state version {state.get('v')!r} is not {STATE_VERSION}; migrate it first",
                        code="flow.state_version")
    if (state["spec_key"], state["spec_version"]) != (spec.key, spec.version):
        raise FlowError(f"instance runs {state['spec_key']} v{state['spec_version']}, not "
                        f"{spec.key} v{spec.version}; load the version it started on",
                        code="flow.wrong_version")
    run = Run(spec, state, now=now, record=record, calendar=calendar, actor=getattr(event, "actor", None))
    handler = _HANDLERS.get(type(event))
    if handler is None:
        raise FlowError(f"unknown event {type(event).__name__}", code="flow.unknown_event")
    handler(run, event)
    run.drain()
    return run.result()


def _running(run: Run) -> None:
    if run.state["status"] != InstanceStatus.RUNNING.label:
        raise FlowConflict(f"the instance is {run.state['status']}, not running", code="flow.not_running",
                           status=run.state["status"])


def _open_task(run: Run, task_id: str) -> dict:
    _running(run)
    task = run.state["tasks"].get(task_id)
    if task is None:
        raise FlowConflict(f"task {task_id!r} is not open (already completed, returned or cancelled)",
                           code="flow.task_closed", task=task_id)
    return task


def _start(run: Run, event: Start) -> None:
    if run.state["status"] != "new":
        raise FlowConflict("the instance has already started", code="flow.already_started")
    run.state["status"] = InstanceStatus.RUNNING.label
    run.history(run.spec.start_node, "started", comment=event.comment)
    sla.start_clocks(run)
    run.arrive(run.spec.start_node)


def _complete(run: Run, event: TaskCompleted) -> None:
    task = _open_task(run, event.task_id)
    node = run.spec.nodes[task["node"]]
    node.behaviour.on_task_completed(run, node, event.task_id, event)


def _timer(run: Run, event: TimerFired) -> None:
    if run.state["status"] != InstanceStatus.RUNNING.label:
        return  # delivered late (at least once): the instance has ended meanwhile
    timer = run.state["timers"].pop(event.timer_id, None)
    if timer is None:
        return  # already fired or cancelled: a duplicate delivery is a no-op
    if timer.get("clock"):
        sla.timer_fired(run, timer)
        return
    node = run.spec.nodes[timer["node"]]
    node.behaviour.on_timer(run, node, event.timer_id, timer)


def _record_changed(run: Run, event: RecordChanged) -> None:
    if run.state["status"] == InstanceStatus.RUNNING.label:
        sla.record_changed(run)


def _actions_done(run: Run, event: ActionsDone) -> None:
    if run.state["status"] != InstanceStatus.RUNNING.label:
        return  # the instance ended (cancelled) while the actions ran
    pending = run.state["actions"].pop(event.key, None)
    if pending is None:
        return  # already moved on, or its token was discarded: a duplicate delivery is a no-op
    node = run.spec.nodes[pending["node"]]
    node.behaviour.on_actions_done(run, node, pending["token"])


def _cancel(run: Run, event: Cancel) -> None:
    _running(run)
    run.history(None, "cancelled", comment=event.comment)
    run.finish("cancelled", InstanceStatus.CANCELLED)


def _reopen(run: Run, event: Reopen) -> None:
    if run.state["status"] not in (InstanceStatus.COMPLETED.label, InstanceStatus.CANCELLED.label):
        raise FlowConflict("only an ended instance can be reopened", code="flow.not_ended",
                           status=run.state["status"])
    target = event.node_id or run.spec.reopen_to
    if target not in run.spec.nodes or run.spec.nodes[target].behaviour.is_start:
        raise FlowError(f"cannot reopen at {target!r}; name a node of this flow after the start",
                        code="flow.bad_reopen_target", node=target)
    run.state["status"] = InstanceStatus.RUNNING.label
    run.state["outcome"] = None
    run.history(target, "reopened", comment=event.comment)
    run.arrive(target)


def _assign(run: Run, task_id: str, assignee: Mapping[str, Any], reason: str, comment: str | None) -> None:
    task = _open_task(run, task_id)
    run.history(task["node"], reason, comment=comment)
    run.effects.append(AssignTask(task_id, dict(assignee), reason, run.actor))


def _reassign(run: Run, event: Reassign) -> None:
    if not isinstance(event.assignee, Mapping) or "kind" not in event.assignee:
        raise FlowError("reassign needs an assignee like {'kind': 'user', 'value': 'alice'}",
                        code="flow.bad_assignee")
    _assign(run, event.task_id, event.assignee, "reassigned", event.comment)


def _delegate(run: Run, event: Delegate) -> None:
    _assign(run, event.task_id, {"kind": "user", "value": event.to_user}, "delegated", event.comment)


def _return(run: Run, event: Return) -> None:
    task = _open_task(run, event.task_id)
    here = task["node"]
    target = run.spec.nodes.get(event.to_node)
    if target is None or target.behaviour.is_start or not run.spec.can_reach(event.to_node, here):
        raise FlowError(f"cannot return from {here!r} to {event.to_node!r}; choose an earlier step from "
                        f"which {here!r} is reached", code="flow.bad_return_target", node=event.to_node)
    run.close_task(event.task_id, TaskState.RETURNED, reason="returned")
    run.history(here, "returned", outcome=event.to_node, comment=event.comment)
    run.send_back(event.to_node)


_HANDLERS = {Start: _start, TaskCompleted: _complete, TimerFired: _timer, Cancel: _cancel, Reopen: _reopen,
             Reassign: _reassign, Delegate: _delegate, Return: _return, ActionsDone: _actions_done, RecordChanged: _record_changed}


def returnable(spec: FlowSpec, node_id: str) -> list[str]:
    """Earlier task nodes the work at ``node_id`` may be returned to (for the Return menu)."""
    return [n.id for n in spec.nodes.values()
            if n.behaviour.creates_tasks and n.id != node_id and spec.can_reach(n.id, node_id)]
