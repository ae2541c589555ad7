"""XOR gateway: takes the first outgoing edge (in document order) whose
condition holds, else the default edge. With one incoming and several outgoing
edges it decides; with several incoming edges it merges (no waiting)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from .base import FlowNode, problem

if TYPE_CHECKING:
    from ..run import Run
    from ..spec import FlowSpec, NodeSpec


class ExclusiveGatewayNode(FlowNode):
    type = "exclusive_gateway"
    label = {"zh-CN": "条件分支", "en": "Exclusive gateway"}
    icon = "git-branch"
    group = "gateway"

    def check(self, spec: "FlowSpec") -> Iterable[dict]:
        outgoing = spec.nodes[self.id].outgoing
        if len(outgoing) < 2:
            return
        defaults = [e for e in outgoing if e.default]
        if len(defaults) > 1:
            yield problem("flow.many_defaults", f"gateway {self.id!r} has {len(defaults)} default edges "
                          f"({', '.join(e.id for e in defaults)}); keep one", node=self.id)
        for edge in outgoing:
            if edge.condition is None and not edge.default:
                yield problem("flow.missing_condition", f"edge {edge.id!r} leaves gateway {self.id!r} without a "
                              "condition; give it a condition or make it the default edge",
                              node=self.id, edge=edge.id)

    def warnings(self, spec: "FlowSpec") -> Iterable[dict]:
        outgoing = spec.nodes[self.id].outgoing
        if len(outgoing) > 1 and not any(e.default for e in outgoing):
            yield problem("flow.no_default_edge", f"gateway {self.id!r} has no default edge; an instance "
                          "whose record matches no condition will stop here with an error", node=self.id)

    def enter(self, run: "Run", node: "NodeSpec", token: str) -> None:
        run.leave(node, token)
