"""An approval: approve, reject, or return the work to an earlier node.

- approve takes the edge for ``approve`` (or an edge without outcome);
- reject takes the edge for ``reject`` if there is one (a rework loop),
  otherwise the instance ends with outcome ``rejected``;
- return sends the work back to ``config.return_to`` (default: the node
  after start); a ``Return`` event may name any earlier node instead.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from .base import problem
from .task import ASSIGNEE_SCHEMA, FIELDS_SCHEMA, NOTIFY_SCHEMA, SLA_SCHEMA, TaskNode

if TYPE_CHECKING:
    from ..run import Run
    from ..spec import FlowSpec, NodeSpec


def reject(run: "Run", node: "NodeSpec", token: str) -> None:
    """Follow the ``reject`` edge, or end the instance as rejected when there is none."""
    edges = [e for e in node.outgoing if e.outcome == "reject"]
    if edges:
        run.move(token, run.select(node, "reject", strict=True))
    else:
        run.finish("rejected", node_id=node.id)


class ApprovalNode(TaskNode):
    type = "approval"
    label = {"zh-CN": "审批", "en": "Approval"}
    icon = "stamp"
    custom_outcomes = False
    default_outcomes = (
        {"key": "approve", "label": {"zh-CN": "同意", "en": "Approve"}},
        {"key": "reject", "label": {"zh-CN": "驳回", "en": "Reject"}},
        {"key": "return", "label": {"zh-CN": "退回", "en": "Return"}},
    )
    config_schema = {
        "type": "object",
        "properties": {
            "assignee": ASSIGNEE_SCHEMA,
            "fields": FIELDS_SCHEMA,
            "sla": SLA_SCHEMA,
            "notify": NOTIFY_SCHEMA,
            "return_to": {"type": "string", "description": "Node id the 'return' outcome goes back to; "
                                                           "default: the node after start."},
        },
    }

    def check(self, spec: "FlowSpec") -> Iterable[dict]:
        yield from super().check(spec)
        target = self.config.get("return_to")
        if target is not None and not (target in spec.nodes and spec.can_reach(target, self.id)):
            yield problem("flow.bad_return_target", f"return_to {target!r} is not a node before "
                          f"{self.id!r}; name a node from which {self.id!r} can be reached", node=self.id)

    def decided(self, run: "Run", node: "NodeSpec", token: str, outcome: str) -> None:
        if outcome == "reject":
            reject(run, node, token)
        elif outcome == "return":
            run.send_back(self.config.get("return_to") or run.spec.first_node)
        else:
            run.leave(node, token, outcome)
