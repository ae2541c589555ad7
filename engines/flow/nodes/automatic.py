"""An automatic step: runs its rule actions (set fields, notify, webhook ...)
through a ``RunActions`` effect, then moves on without waiting."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..effects import RunActions
from .base import FlowNode

if TYPE_CHECKING:
    from ..run import Run
    from ..spec import NodeSpec


class AutomaticNode(FlowNode):
    type = "automatic"
    label = {"zh-CN": "自动处理", "en": "Automatic step"}
    icon = "zap"
    group = "automation"
    config_schema = {
        "type": "object",
        "required": ["actions"],
        "properties": {
            "actions": {"type": "array", "description": "Rule actions, as in a rule's 'actions' list.",
                        "items": {"type": "object", "required": ["type"],
                                  "properties": {"type": {"type": "string", "minLength": 1}}}},
        },
    }

    def enter(self, run: "Run", node: "NodeSpec", token: str) -> None:
        run.effects.append(RunActions(node.id, node.config["actions"], run.timer_key(run.new_id("a"))))
        run.history(node.id, "actions_run")
        run.leave(node, token)
