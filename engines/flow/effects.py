"""Effects: what the runtime must do after a step, as frozen dataclasses.

The engine never touches the database, the clock or the network; ``step``
returns a list of these and the runtime executes them in one transaction (or
through the outbox for what leaves the process). Ids (task, timer) are issued
from a counter in the instance state, so replaying a step yields the same ids
and the same idempotency keys. ``to_dict`` gives a JSON-friendly form with a
``type`` tag and ISO-8601 datetimes.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar, Mapping


def plain(value: Any) -> Any:
    """JSON-friendly copy: frozen mappings → dicts, tuples → lists, datetimes → ISO text."""
    if isinstance(value, (dict, MappingProxyType)):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


class Effect:
    type: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        out = {"type": self.type}
        for f in fields(self):  # type: ignore[arg-type]
            out[f.name] = plain(getattr(self, f.name))
        return out


@dataclass(frozen=True, slots=True)
class CreateTask(Effect):
    """Open a task for a person. ``assignee`` is the node's assignee spec
    (``{"kind": "user"|"role"|"group"|"field"|"round_robin"|"least_open"|"initiator", "value": ...}``),
    resolved by the runtime; ``fields`` maps field key → visible|editable|required|hidden;
    ``outcomes`` are the buttons (``{"key", "label"}``)."""

    type: ClassVar[str] = "create_task"
    task_id: str
    node_id: str
    label: Any
    assignee: Mapping[str, Any]
    due_at: datetime | None
    fields: Mapping[str, str]
    outcomes: tuple
    form: str | None = None


@dataclass(frozen=True, slots=True)
class CloseTask(Effect):
    """Close an open task. ``state`` is a ``TaskState`` label (completed, cancelled, returned, expired)."""

    type: ClassVar[str] = "close_task"
    task_id: str
    state: str
    outcome: str | None = None
    reason: str | None = None
    actor: str | None = None


@dataclass(frozen=True, slots=True)
class AssignTask(Effect):
    """Give an open task to someone else (``reason``: reassign | delegate)."""

    type: ClassVar[str] = "assign_task"
    task_id: str
    assignee: Mapping[str, Any]
    reason: str
    actor: str | None = None


@dataclass(frozen=True, slots=True)
class ScheduleTimer(Effect):
    """Fire ``TimerFired(timer_id)`` at ``fire_at``. ``kind`` is ``sla`` or ``wait``;
    ``key`` is the idempotency key of the durable timer row."""

    type: ClassVar[str] = "schedule_timer"
    timer_id: str
    node_id: str
    fire_at: datetime
    kind: str
    key: str


@dataclass(frozen=True, slots=True)
class CancelTimer(Effect):
    type: ClassVar[str] = "cancel_timer"
    timer_id: str
    key: str


@dataclass(frozen=True, slots=True)
class RunActions(Effect):
    """Run rule actions (the rule engine's action list) on the instance's record, then feed
    ``ActionsDone(key)``: the token waits on the node until then. ``key`` is the idempotency
    key of this run (one per entry into the node)."""

    type: ClassVar[str] = "run_actions"
    node_id: str
    actions: tuple
    key: str = ""
    token: str = ""


@dataclass(frozen=True, slots=True)
class Escalate(Effect):
    """An SLA deadline passed. ``action``: notify | reassign | raise_priority | edge;
    ``assignee`` for reassign, ``set`` (field → value) for raise_priority."""

    type: ClassVar[str] = "escalate"
    task_id: str
    node_id: str
    action: str
    level: int = 0
    assignee: Mapping[str, Any] | None = None
    set: Mapping[str, Any] | None = None
    #: messages to send (notify configurations; ``to`` may name ``assignee`` and ``lead``); None: the default
    notify: tuple | None = None


@dataclass(frozen=True, slots=True)
class SlaNotice(Effect):
    """A service-level clock of the flow (``engines.flow.sla``) reached its warning or its deadline
    (``kind``: warning | breach): the runtime sends ``messages`` (notify configurations whose
    recipients may name the open tasks' assignees and leads)."""

    type: ClassVar[str] = "sla_notice"
    clock: str
    kind: str
    label: Any = None
    due: str | None = None
    messages: tuple = ()


@dataclass(frozen=True, slots=True)
class SetDue(Effect):
    """An open task's deadline changed (``None``: it has none left, e.g. its SLA was met)."""

    type: ClassVar[str] = "set_due"
    task_id: str
    due_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AppendHistory(Effect):
    """One line of the instance timeline (append-only audit)."""

    type: ClassVar[str] = "append_history"
    node_id: str | None
    kind: str
    actor: str | None
    outcome: str | None
    comment: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class InstanceEnded(Effect):
    """The instance reached an end (or was cancelled); ``outcome`` names how."""

    type: ClassVar[str] = "instance_ended"
    outcome: str


EFFECTS: tuple[type[Effect], ...] = (CreateTask, CloseTask, AssignTask, ScheduleTimer, CancelTimer,
                                     RunActions, Escalate, SlaNotice, SetDue, AppendHistory, InstanceEnded)
