"""An end: consumes its token; the instance ends when no token is left, or at
once when ``terminate`` is set (open tasks on other branches are cancelled)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..states import TaskState
from .base import FlowNode

if TYPE_CHECKING:
    from ..run import Run
    from ..spec import NodeSpec


class EndNode(FlowNode):
    type = "end"
    label = {"zh-CN": "结束", "en": "End"}
    icon = "stop"
    group = "event"
    edges_out = (0, 0)
    is_end = True
    config_schema = {
        "type": "object",
        "properties": {
            "outcome": {"type": "string", "default": "completed",
                        "description": "Outcome the instance ends with, e.g. resolved or rejected."},
            "terminate": {"type": "boolean", "default": False,
                          "description": "End the instance now even if other branches still run."},
        },
    }

    def enter(self, run: "Run", node: "NodeSpec", token: str) -> None:
        run.consume(token)
        if self.config.get("terminate"):
            for other in list(run.state["tokens"]):
                run.discard(other, TaskState.CANCELLED, "terminated")
        if not run.state["tokens"]:
            run.finish(self.config.get("outcome", "completed"), node_id=node.id)
