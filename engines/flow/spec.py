"""The compiled, immutable process specification (SpiffWorkflow habit).

A ``FlowSpec`` is built once per published (key, version) by
``compile_flow`` and shared by every instance of that version; it holds no
runtime state. Node configuration is deep-frozen (mappings become read-only
proxies, lists become tuples) so nothing at runtime can change it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from .nodes.base import FlowNode


def freeze(value: Any) -> Any:
    """A read-only deep copy of JSON data."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


@dataclass(frozen=True, slots=True)
class EdgeSpec:
    id: str
    source: str
    target: str
    condition: Any = None          # compiled expression, or None
    condition_source: str | None = None
    default: bool = False
    outcome: str | None = None     # taken only when the task ended with this outcome
    label: Any = None


@dataclass(frozen=True, slots=True)
class NodeSpec:
    id: str
    type: str
    label: Any
    config: Mapping[str, Any]
    behaviour: "FlowNode"
    incoming: tuple[EdgeSpec, ...] = ()
    outgoing: tuple[EdgeSpec, ...] = ()


@dataclass(frozen=True)
class FlowSpec:
    key: str
    version: int
    label: Any
    form: str | None
    start_mode: str
    nodes: Mapping[str, NodeSpec]
    edges: Mapping[str, EdgeSpec]
    start_node: str | None
    #: the node after start: where ``return`` goes by default
    first_node: str | None
    #: where ``Reopen`` restarts an ended instance by default
    reopen_to: str | None
    #: whether the definition names ``reopen_to``: then entering that node along an edge (a
    #: "reopen" outcome) is a reopen too and is recorded in the history as one
    reopen_declared: bool = False
    #: node id → every node reachable from it (loops included); used by Return and Reopen
    reach: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: problems that do not stop the flow from running (a gateway without a default edge)
    warnings: tuple[dict, ...] = ()
    #: node id → {"x", "y"} for the designer and the runtime diagram
    positions: Mapping[str, Any] = field(default_factory=dict)
    #: the service-level clocks of the definition's ``sla`` section (``engines.flow.sla``), or None
    sla: Any = None

    def node(self, node_id: str) -> NodeSpec:
        return self.nodes[node_id]

    def can_reach(self, source: str, target: str) -> bool:
        return target in self.reach.get(source, ())
