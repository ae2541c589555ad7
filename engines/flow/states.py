"""Task and instance states: documented enums with masks (SpiffWorkflow habit).

Open tasks live in the instance state; a task leaves it in one of the
FINISHED states, which the runtime records from the ``CloseTask`` effect.
Instance ``status`` is stored in the state as the lower-case member name.
"""
from __future__ import annotations

from enum import IntFlag


class TaskState(IntFlag):
    #: waiting for its assignee
    OPEN = 1
    #: completed by its assignee with an outcome
    COMPLETED = 2
    #: closed because the instance was cancelled or a countersign was decided without it
    CANCELLED = 4
    #: closed because the work was sent back to an earlier node
    RETURNED = 8
    #: closed by an SLA boundary timer that moved the token on
    EXPIRED = 16

    FINISHED = COMPLETED | CANCELLED | RETURNED | EXPIRED

    @property
    def label(self) -> str:
        return (self.name or "").lower()


class InstanceStatus(IntFlag):
    RUNNING = 1
    COMPLETED = 2
    CANCELLED = 4

    ENDED = COMPLETED | CANCELLED

    @property
    def label(self) -> str:
        return (self.name or "").lower()

    @classmethod
    def of(cls, state: dict) -> "InstanceStatus":
        return cls[state["status"].upper()]
