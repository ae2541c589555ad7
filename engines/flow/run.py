"""One step's working context: a private copy of the instance state plus the
effects produced so far.

Node behaviours act only through a ``Run``: they move tokens, open and close
tasks, schedule timers and append history; the Run turns each of those into a
state change and an effect. Tokens are processed from a queue, not by
recursion, so automatic chains and gateways cannot overflow the stack, and a
cap on hops per step turns a loop of automatic nodes into an error instead of
a hang. Ids come from ``state["seq"]``, so the same step replayed on the same
state produces the same ids and idempotency keys.
"""
from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Any, Mapping

from ..calendar import BusinessCalendar, Duration
from ..errors import JimuError
from . import conditions
from .effects import (AppendHistory, CancelTimer, CloseTask, CreateTask, Effect, InstanceEnded,
                      ScheduleTimer)
from .exceptions import FlowError
from .spec import EdgeSpec, FlowSpec, NodeSpec
from .states import InstanceStatus, TaskState

#: node entries one step may make before it is considered a runaway loop
MAX_HOPS = 1000
_NESTED = ("tokens", "tasks", "timers", "joins", "votes", "actions", "clocks")


def copy_state(state: Mapping[str, Any]) -> dict:
    """A copy deep enough that the caller's state is never changed (``actions`` is absent from
    states stored before automatic steps waited for their actions: it starts empty)."""
    out = dict(state)
    for name in _NESTED:
        out[name] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in state.get(name, {}).items()}
    return out


class Run:
    def __init__(self, spec: FlowSpec, state: Mapping[str, Any], *, now: datetime,
                 record: Mapping[str, Any] | None, calendar: Any, actor: str | None):
        self.spec = spec
        self.state = copy_state(state)
        self.now = now
        self.record = record if record is not None else {}
        self.calendars = calendar
        self.actor = actor
        self.effects: list[Effect] = []
        self._queue: deque[tuple[str, str]] = deque()
        self._eval = None
        #: condition → whether it holds (``holds``): the record and the context do not change during a step
        self._held: dict[Any, bool] = {}

    # -- ids -----------------------------------------------------------------
    def new_id(self, prefix: str) -> str:
        self.state["seq"] += 1
        return f"{prefix}{self.state['seq']}"

    def timer_key(self, timer_id: str) -> str:
        return f"{self.state.get('id') or self.state['spec_key']}/{timer_id}"

    # -- tokens --------------------------------------------------------------
    def arrive(self, node_id: str) -> str:
        """A new token arrives at ``node_id`` and will enter it."""
        token = self.new_id("k")
        self.state["tokens"][token] = node_id
        self._queue.append((node_id, token))
        return token

    def move(self, token: str, edge: EdgeSpec) -> None:
        if self.spec.reopen_declared and edge.target == self.spec.reopen_to and edge.source != self.spec.start_node:
            # the flow's own way back after an end-like step ("not solved, reopen"): a reopen, counted
            # like reopening an ended instance (process.reopen_count reads these entries)
            self.history(edge.target, "reopened", outcome=edge.outcome)
        self.state["tokens"][token] = edge.target
        self.state["votes"].pop(token, None)
        self._queue.append((edge.target, token))

    def place(self, token: str, node_id: str) -> None:
        """Put an existing token on ``node_id`` and enter it (moving an instance to a newer version)."""
        self.state["tokens"][token] = node_id
        self._queue.append((node_id, token))

    def consume(self, token: str) -> None:
        self.state["tokens"].pop(token, None)
        self.state["votes"].pop(token, None)
        for key in [k for k, v in self.state["actions"].items() if v["token"] == token]:
            del self.state["actions"][key]

    def leave(self, node: NodeSpec, token: str, outcome: str | None = None) -> None:
        self.move(token, self.select(node, outcome))

    def select(self, node: NodeSpec, outcome: str | None = None, *, strict: bool = False) -> EdgeSpec:
        """The outgoing edge to take: edges for ``outcome`` first (else edges without
        an outcome, unless ``strict``), the first whose condition holds, else the default."""
        edges = [e for e in node.outgoing if outcome is not None and e.outcome == outcome]
        if not edges and not strict:
            edges = [e for e in node.outgoing if e.outcome is None]
        default = None
        for edge in edges:
            if edge.default:
                default = default or edge
            elif edge.condition is None or self.test(edge):
                return edge
        if default is not None:
            return default
        raise FlowError(f"no outgoing edge of node {node.id!r} applies"
                        + (f" to outcome {outcome!r}" if outcome else "")
                        + "; add a default edge or a condition that covers this case",
                        code="flow.no_path", node=node.id, outcome=outcome)

    def _context(self) -> Any:
        """The step's one ``EvalContext`` for its conditions, built at the first one."""
        if self._eval is None:
            self._eval = conditions.context(
                self.record, now=self.now, user=self.actor,
                calendar=self.calendars if isinstance(self.calendars, BusinessCalendar) else None)
        return self._eval

    def test(self, edge: EdgeSpec) -> bool:
        try:
            return conditions.evaluate(edge.condition, self.record, self._context())
        except JimuError as exc:
            raise FlowError(f"condition of edge {edge.id!r} ({edge.condition_source}) failed: {exc.message}",
                            code="flow.condition_failed", edge=edge.id, cause=exc.code) from exc

    def holds(self, condition: Any, source: str | None = None) -> bool:
        """Whether a compiled condition holds on the record now (SLA ``unless``), worked out once per step:
        the clocks of a section often share their conditions (one priority table for response and
        resolution; a text is compiled to one condition) and a step's record and context never change."""
        known = self._held.get(condition)
        if known is None:
            try:
                known = self._held[condition] = conditions.evaluate(condition, self.record, self._context())
            except JimuError as exc:
                raise FlowError(f"condition {source!r} failed: {exc.message}", code="flow.condition_failed",
                                cause=exc.code) from exc
        return known

    def drain(self) -> None:
        hops = 0
        while self._queue:
            node_id, token = self._queue.popleft()
            if self.state["tokens"].get(token) != node_id:
                continue  # the token was consumed meanwhile (terminate end, rewind)
            hops += 1
            if hops > MAX_HOPS:
                raise FlowError(f"more than {MAX_HOPS} nodes entered in one step; a loop of automatic "
                                "nodes or gateways never waits — put a task or timer inside it",
                                code="flow.runaway", node=node_id)
            node = self.spec.nodes[node_id]
            node.behaviour.enter(self, node, token)

    # -- tasks ---------------------------------------------------------------
    def open_task(self, node: NodeSpec, token: str, *, assignee: Mapping[str, Any], label: Any,
                  outcomes: tuple, fields: Mapping[str, str], sla: tuple = ()) -> str:
        task_id = self.new_id("t")
        self.state["tasks"][task_id] = {"node": node.id, "token": token}
        due_at = None
        for level, rule in enumerate(sla):
            fire_at = self.deadline(rule.after, rule.calendar)
            due_at = due_at or fire_at
            self.schedule(node.id, fire_at, "sla", token=token, task=task_id, level=level)
        self.effects.append(CreateTask(task_id, node.id, label, assignee, due_at, fields, outcomes,
                                       self.spec.form))
        return task_id

    def close_task(self, task_id: str, state: TaskState, *, outcome: str | None = None,
                   reason: str | None = None) -> dict:
        task = self.state["tasks"].pop(task_id)
        for timer_id, timer in list(self.state["timers"].items()):
            if timer.get("task") == task_id:
                self.cancel_timer(timer_id)
        self.effects.append(CloseTask(task_id, state.label, outcome, reason, self.actor))
        return task

    def tasks_of(self, token: str) -> list[str]:
        return [tid for tid, t in self.state["tasks"].items() if t["token"] == token]

    # -- timers --------------------------------------------------------------
    def calendar(self, key: str | None) -> BusinessCalendar | None:
        if key is None:
            return None
        cals = self.calendars
        if isinstance(cals, BusinessCalendar):
            return cals
        if isinstance(cals, Mapping) and key in cals:
            return cals[key]
        raise FlowError(f"business calendar {key!r} is not available; publish it or pass it to the step",
                        code="flow.calendar_missing", calendar=key)

    def deadline(self, duration: Duration, calendar_key: str | None) -> datetime:
        return duration.after(self.now, self.calendar(calendar_key))

    def schedule(self, node_id: str | None, fire_at: datetime, kind: str, **data: Any) -> str:
        timer_id = self.new_id("w")
        self.state["timers"][timer_id] = {"node": node_id, "kind": kind, **data}
        self.effects.append(ScheduleTimer(timer_id, node_id, fire_at, kind, self.timer_key(timer_id)))
        return timer_id

    def cancel_timer(self, timer_id: str) -> None:
        del self.state["timers"][timer_id]
        self.effects.append(CancelTimer(timer_id, self.timer_key(timer_id)))

    # -- history and ending --------------------------------------------------
    def history(self, node_id: str | None, kind: str, *, outcome: str | None = None,
                comment: str | None = None) -> None:
        self.effects.append(AppendHistory(node_id, kind, self.actor, outcome, comment, self.now))

    def discard(self, token: str, task_state: TaskState, reason: str) -> None:
        """Remove a token with its open tasks and timers (cancel, rewind, terminate)."""
        for task_id in self.tasks_of(token):
            self.close_task(task_id, task_state, reason=reason)
        for timer_id, timer in list(self.state["timers"].items()):
            if timer.get("token") == token:
                self.cancel_timer(timer_id)
        self.consume(token)

    def rewind(self, node_id: str, reason: str) -> None:
        """Drop every token that ``node_id`` can reach (that work will be redone) and
        reset the joins it can reach, before a token is put back on ``node_id``."""
        downstream = self.spec.reach[node_id] | {node_id}
        for token, at in list(self.state["tokens"].items()):
            if at in downstream:
                self.discard(token, TaskState.RETURNED, reason)
        for join in list(self.state["joins"]):
            if join in downstream:
                del self.state["joins"][join]

    def send_back(self, node_id: str) -> None:
        """Redo the work from ``node_id``: rewind what it reaches, put a token on it."""
        self.rewind(node_id, "returned")
        self.arrive(node_id)

    def finish(self, outcome: str, status: InstanceStatus = InstanceStatus.COMPLETED,
               node_id: str | None = None) -> None:
        for token in list(self.state["tokens"]):
            self.discard(token, TaskState.CANCELLED, outcome)
        self.state["joins"].clear()
        self.state["actions"].clear()
        from .sla import stop_clocks
        stop_clocks(self)
        self.state["status"] = status.label
        self.state["outcome"] = outcome
        self.history(node_id, "ended", outcome=outcome)
        self.effects.append(InstanceEnded(outcome))

    def result(self) -> tuple[dict, list[Effect]]:
        return self.state, self.effects
