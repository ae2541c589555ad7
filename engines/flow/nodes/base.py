"""The node-type contract and its registry.

A node type is one class registered in ``FLOW_NODES`` through the
``jimu.flow_nodes`` entry-point group, exactly like a third-party plugin. An
instance of the class is bound to one node's frozen configuration when the
flow is compiled and holds no runtime state: everything an instance needs
between events lives in the instance state, reached through the ``Run``.

Calling rules (like pluggy hook specs):
- ``prepare()`` once at compile time, after the config passed its schema;
  returns problems (dicts with code, message, node) such as a bad duration.
- ``check(spec)`` once at compile time with the whole spec; returns problems
  that need the graph (a return target that is not upstream).
- ``warnings(spec)`` likewise, for findings that do not stop publishing.
- ``enter(run, node, token)`` whenever a token arrives; the node must move,
  consume or park the token.
- ``on_task_completed(run, node, task_id, event)`` for tasks this node opened.
- ``on_timer(run, node, timer_id, timer)`` for timers this node scheduled; the
  timer has already been removed from the state.
- ``on_actions_done(run, node, token)`` when the runtime has applied the
  actions a ``RunActions`` effect of this node asked for (``ActionsDone``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Mapping

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from ...registry import Registry, RegistryError
from ..exceptions import FlowError

if TYPE_CHECKING:
    from ..events import TaskCompleted
    from ..run import Run
    from ..spec import FlowSpec, NodeSpec


def problem(code: str, message: str, *, node: str | None = None, edge: str | None = None,
            **context: Any) -> dict:
    """One compile-time finding, in the shape ``ValidationErrors`` lists."""
    out = {"code": code, "message": message}
    if node is not None:
        out["node"] = node
    if edge is not None:
        out["edge"] = edge
    out.update(context)
    return out


class FlowNode:
    #: unique type name, e.g. ``"user_task"``
    type: ClassVar[str]
    #: palette entry for the flow designer
    label: ClassVar[Mapping[str, str]] = {}
    icon: ClassVar[str] = "node"
    #: palette group: event | task | gateway | automation
    group: ClassVar[str] = "task"
    #: JSON Schema (draft 2020-12) of ``config``
    config_schema: ClassVar[dict] = {"type": "object"}
    #: allowed numbers of incoming and outgoing edges: (min, max or None)
    edges_in: ClassVar[tuple[int, int | None]] = (1, None)
    edges_out: ClassVar[tuple[int, int | None]] = (1, None)
    #: capability flags read by the checker and the designer
    is_start: ClassVar[bool] = False
    is_end: ClassVar[bool] = False
    #: the node opens tasks for people (it may be a return target, it has outcomes)
    creates_tasks: ClassVar[bool] = False
    #: the node splits or joins parallel branches
    is_parallel: ClassVar[bool] = False

    def __init__(self, node_id: str, config: Mapping[str, Any]):
        self.id = node_id
        self.config = config

    @classmethod
    def palette(cls) -> dict:
        return {"type": cls.type, "label": dict(cls.label), "icon": cls.icon, "group": cls.group,
                "config_schema": cls.config_schema}

    def prepare(self) -> list[dict]:
        return []

    def check(self, spec: "FlowSpec") -> Iterable[dict]:
        return ()

    def warnings(self, spec: "FlowSpec") -> Iterable[dict]:
        return ()

    def enter(self, run: "Run", node: "NodeSpec", token: str) -> None:
        raise NotImplementedError

    def on_task_completed(self, run: "Run", node: "NodeSpec", task_id: str, event: "TaskCompleted") -> None:
        raise FlowError(f"node {node.id!r} ({self.type}) has no tasks to complete",
                        code="flow.no_tasks", node=node.id)

    def on_timer(self, run: "Run", node: "NodeSpec", timer_id: str, timer: dict) -> None:
        raise FlowError(f"node {node.id!r} ({self.type}) has no timers", code="flow.no_timers", node=node.id)

    def on_actions_done(self, run: "Run", node: "NodeSpec", token: str) -> None:
        raise FlowError(f"node {node.id!r} ({self.type}) runs no actions", code="flow.no_actions", node=node.id)


def _check_node_class(item: type) -> None:
    if not (isinstance(item, type) and issubclass(item, FlowNode)):
        raise RegistryError(f"flow node {item!r} must subclass engines.flow.nodes.base.FlowNode",
                            code="flow_node.bad_class")
    if not item.label:
        raise RegistryError(f"flow node {item.type!r} needs a palette label", code="flow_node.no_label")
    try:
        Draft202012Validator.check_schema(item.config_schema)
    except SchemaError as exc:
        raise RegistryError(f"flow node {item.type!r} has an invalid config_schema: {exc.message}",
                            code="flow_node.bad_schema") from None


FLOW_NODES: Registry[FlowNode] = Registry("flow_node", group="jimu.flow_nodes", check=_check_node_class)
