"""AND gateway: a fork sends a token down every outgoing edge; a join (several
incoming edges) waits until a token has arrived on each of them, counting
arrivals in ``state["joins"][node_id]``. Conditions on its edges are ignored,
so the checker refuses them."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from .base import FlowNode, problem

if TYPE_CHECKING:
    from ..run import Run
    from ..spec import FlowSpec, NodeSpec


class ParallelGatewayNode(FlowNode):
    type = "parallel_gateway"
    label = {"zh-CN": "并行分支", "en": "Parallel gateway"}
    icon = "columns"
    group = "gateway"
    is_parallel = True

    def check(self, spec: "FlowSpec") -> Iterable[dict]:
        for edge in spec.nodes[self.id].outgoing:
            if edge.condition is not None or edge.default:
                yield problem("flow.parallel_condition", f"edge {edge.id!r} leaves parallel gateway {self.id!r} "
                              "with a condition or as default; every branch is always taken — use an "
                              "exclusive gateway to choose", node=self.id, edge=edge.id)

    def enter(self, run: "Run", node: "NodeSpec", token: str) -> None:
        run.consume(token)
        if len(node.incoming) > 1:
            joins = run.state["joins"]
            joins[node.id] = joins.get(node.id, 0) + 1
            if joins[node.id] < len(node.incoming):
                return
            del joins[node.id]
        for edge in node.outgoing:
            run.move(run.new_id("k"), edge)
