"""Where every instance begins; it passes its token straight on."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .base import FlowNode

if TYPE_CHECKING:
    from ..run import Run
    from ..spec import NodeSpec


class StartNode(FlowNode):
    type = "start"
    label = {"zh-CN": "开始", "en": "Start"}
    icon = "play"
    group = "event"
    edges_in = (0, 0)
    edges_out = (1, 1)
    is_start = True

    def enter(self, run: "Run", node: "NodeSpec", token: str) -> None:
        run.leave(node, token)
