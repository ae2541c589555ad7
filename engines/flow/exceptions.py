"""Errors of the flow engine: definition problems and events that do not apply."""
from __future__ import annotations

from ..errors import Conflict, JimuError, ValidationErrors


class FlowCheckError(ValidationErrors):
    """A process definition has problems; ``errors`` lists every one with its node or edge id."""

    code = "flow.invalid"


class FlowError(JimuError):
    """An event cannot be applied to an instance in its current state (the state is unchanged)."""

    code = "flow.error"


class FlowConflict(Conflict):
    """The event refers to a task or instance state that is gone (completed twice, ended)."""

    code = "flow.conflict"
