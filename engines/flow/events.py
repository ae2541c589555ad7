"""Events the runtime feeds into ``step``: user actions and fired timers."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Start:
    """Put the first token on the start node of a fresh state (see ``new_state``)."""

    actor: str | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class TaskCompleted:
    task_id: str
    outcome: str | None = None
    actor: str | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class TimerFired:
    """A durable timer came due. Unknown (already cancelled) timers are ignored,
    because timers are delivered at least once."""

    timer_id: str


@dataclass(frozen=True, slots=True)
class Cancel:
    actor: str | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class Reopen:
    """Run an ended instance again from ``node_id`` (default: the definition's
    ``reopen_to``, else the node after start)."""

    actor: str | None = None
    node_id: str | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class Reassign:
    task_id: str
    assignee: dict
    actor: str | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class Delegate:
    task_id: str
    to_user: str
    actor: str | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class Return:
    """Send the work of an open task back to an earlier node (one that can reach it)."""

    task_id: str
    to_node: str
    actor: str | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class ActionsDone:
    """The actions of the ``RunActions`` effect with this ``key`` were applied (field updates
    stored): the token waiting on that automatic node moves on, deciding on the record as it is
    now. A key no longer pending (a duplicate delivery, a cancelled branch) is a no-op."""

    key: str


@dataclass(frozen=True, slots=True)
class RecordChanged:
    """The instance's record was written: the flow's service-level clocks re-read it (met, paused,
    resumed). Nothing else moves."""


Event = RecordChanged | ActionsDone | Start | TaskCompleted | TimerFired | Cancel | Reopen | Reassign | Delegate | Return
