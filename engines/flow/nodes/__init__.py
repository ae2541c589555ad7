"""Built-in flow node types. Each registers through the ``jimu.flow_nodes``
entry-point group in setup.cfg, the same way a plugin does."""
from .base import FLOW_NODES, FlowNode, problem

__all__ = ["FLOW_NODES", "FlowNode", "problem"]
