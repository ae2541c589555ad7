"""An automatic step: runs its rule actions (set fields, notify, webhook ...) and moves on.

The token waits on the node while the runtime applies the actions: the
``RunActions`` effect carries a key (kept in ``state["actions"]``), the runtime
executes the actions in the same transaction (field updates stored, external
messages queued in the outbox) and then feeds ``ActionsDone(key)`` with the
record as it now is. So the
gateway or condition right after an automatic step decides on the values the
step set, never on the ones before it.
"""
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
        key = run.timer_key(run.new_id("a"))
        run.state["actions"][key] = {"node": node.id, "token": token}
        run.effects.append(RunActions(node.id, node.config["actions"], key, token))

    def on_actions_done(self, run: "Run", node: "NodeSpec", token: str) -> None:
        run.history(node.id, "actions_run")
        run.leave(node, token)
