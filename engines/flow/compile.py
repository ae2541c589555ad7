"""Compile a process definition (JSON) into an immutable ``FlowSpec``, once.

``compile_flow(definition)`` validates everything it can and raises one
``FlowCheckError`` listing *every* problem with its node or edge id: unknown
node types, configs that fail their node type's JSON Schema, duplicate or
dangling ids, conditions that do not compile, then the graph checks of
``check.py`` and each node type's own checks. Findings that do not stop a
flow from running (a gateway without a default edge) are kept in
``spec.warnings``.

Definition shape (``schemas/flow.json``)::

    {"key": "order_flow", "version": 1, "form": "order", "label": ...,
     "start": "on_create" | "manual", "reopen_to": "<node id>",
     "nodes": [{"id": "n1", "type": "user_task", "label": ..., "config": {...},
                "position": {"x": 0, "y": 0}}, ...],
     "edges": [{"id": "e1", "from": "n1", "to": "n2", "condition": "urgency == '高'",
                "default": false, "outcome": "approve", "label": ...}, ...]}

``nodes`` may also be an object keyed by node id.
"""
from __future__ import annotations

from typing import Any, Mapping

import networkx as nx
from jsonschema import Draft202012Validator

from ..errors import JimuError
from . import conditions
from .check import check_graph, graph_of
from .exceptions import FlowCheckError
from .nodes.base import FLOW_NODES, problem
from .spec import EdgeSpec, FlowSpec, NodeSpec, freeze

_validators: dict[type, Draft202012Validator] = {}


def _validator(cls: type) -> Draft202012Validator:
    v = _validators.get(cls)
    if v is None:
        v = _validators[cls] = Draft202012Validator(cls.config_schema)
    return v


def _node_items(raw: Any) -> list[dict]:
    if isinstance(raw, Mapping):
        return [dict(v, id=k) if isinstance(v, Mapping) else {"id": k} for k, v in raw.items()]
    if isinstance(raw, list):
        return [n if isinstance(n, Mapping) else {} for n in raw]
    return []


def compile_flow(definition: Mapping[str, Any]) -> FlowSpec:
    """The compiled spec, or ``FlowCheckError`` with every problem at once."""
    problems: list[dict] = []
    if not isinstance(definition, Mapping):
        raise FlowCheckError([problem("flow.not_object", "a flow definition is a JSON object")])
    key = definition.get("key")
    if not isinstance(key, str) or not key:
        problems.append(problem("flow.no_key", "a flow needs a 'key'"))
    version = definition.get("version", 1)

    behaviours: dict[str, Any] = {}
    raw_nodes: dict[str, Mapping] = {}
    for i, raw in enumerate(_node_items(definition.get("nodes"))):
        node_id = raw.get("id")
        if not isinstance(node_id, str) or not node_id:
            problems.append(problem("flow.node_id", f"node #{i} has no id; give every node a unique id", index=i))
            continue
        if node_id in raw_nodes:
            problems.append(problem("flow.duplicate_id", f"node id {node_id!r} is used twice; rename one",
                                    node=node_id))
            continue
        raw_nodes[node_id] = raw
        try:
            cls = FLOW_NODES.get(raw.get("type"))
        except JimuError:
            problems.append(problem("flow.unknown_node_type", f"node {node_id!r} has unknown type "
                                    f"{raw.get('type')!r}; use one of {', '.join(FLOW_NODES.types())}",
                                    node=node_id, type=str(raw.get("type"))))
            continue
        config = raw.get("config") or {}
        errors = sorted(_validator(cls).iter_errors(config), key=lambda e: list(e.absolute_path))
        if errors:
            for err in errors:
                where = "/".join(str(p) for p in err.absolute_path)
                problems.append(problem("flow.bad_config", f"node {node_id!r} config"
                                        + (f" at {where!r}" if where else "") + f": {err.message}",
                                        node=node_id, path=where))
            continue
        behaviour = cls(node_id, freeze(config))
        problems.extend(behaviour.prepare())
        behaviours[node_id] = behaviour

    edges: dict[str, EdgeSpec] = {}
    for i, raw in enumerate(definition.get("edges") or []):
        if not isinstance(raw, Mapping):
            problems.append(problem("flow.bad_edge", f"edge #{i} is not an object", index=i))
            continue
        edge_id = raw.get("id") or f"e{i}"
        if edge_id in edges:
            problems.append(problem("flow.duplicate_id", f"edge id {edge_id!r} is used twice; rename one",
                                    edge=edge_id))
            continue
        source, target = raw.get("from"), raw.get("to")
        bad = False
        for end, ref in (("from", source), ("to", target)):
            if ref not in raw_nodes:
                problems.append(problem("flow.dangling_edge", f"edge {edge_id!r} {end} {ref!r} is not a node "
                                        "of this flow; connect it to an existing node", edge=edge_id))
                bad = True
        condition = None
        source_text = raw.get("condition")
        if source_text not in (None, ""):
            try:
                condition = conditions.compile_condition(source_text)
            except JimuError as exc:
                problems.append(problem("flow.bad_condition", f"condition of edge {edge_id!r} "
                                        f"({source_text}): {exc.message}", edge=edge_id, cause=exc.code))
                bad = True
        if bad:
            continue
        edges[edge_id] = EdgeSpec(edge_id, source, target, condition, source_text or None,
                                  bool(raw.get("default")), raw.get("outcome"), freeze(raw.get("label")))

    from .sla import compile_section
    sla = compile_section(definition.get("sla"), problems)
    if problems:  # the graph checks need well-formed nodes and edges
        raise FlowCheckError(problems, f"flow {key!r} has {len(problems)} problem(s)")

    nodes = {}
    for node_id, raw in raw_nodes.items():
        nodes[node_id] = NodeSpec(
            # a node without a label is called by its type's name (人工任务), never by its id
            node_id, raw["type"], freeze(raw.get("label") or dict(getattr(behaviours[node_id], "label", None) or {})
                                         or node_id), behaviours[node_id].config,
            behaviours[node_id],
            tuple(e for e in edges.values() if e.target == node_id),
            tuple(e for e in edges.values() if e.source == node_id))
    g = nx.MultiDiGraph()
    g.add_nodes_from(nodes)
    for e in edges.values():
        g.add_edge(e.source, e.target, key=e.id)
    reach = {n: frozenset(nx.descendants(g, n)) for n in nodes}
    starts = [n for n in nodes.values() if n.behaviour.is_start]
    start = starts[0].id if len(starts) == 1 else None
    first = starts[0].outgoing[0].target if start and starts[0].outgoing else None
    reopen_to = definition.get("reopen_to") or first
    spec = FlowSpec(key=key, version=int(version) if isinstance(version, int) else 1,
                    label=freeze(definition.get("label") or key), form=definition.get("form"),
                    start_mode=definition.get("start", "on_create"), nodes=freeze_nodes(nodes),
                    edges=freeze_nodes(edges), start_node=start, first_node=first, reopen_to=reopen_to,
                    reopen_declared=bool(definition.get("reopen_to")),
                    reach=freeze_nodes(reach), sla=sla,
                    positions=freeze({n: raw.get("position") for n, raw in raw_nodes.items()
                                      if isinstance(raw.get("position"), Mapping)}))
    problems = list(check_graph(spec, graph_of(spec)))
    if reopen_to is not None and reopen_to not in nodes:
        problems.append(problem("flow.bad_reopen_target", f"reopen_to {reopen_to!r} is not a node of this "
                                "flow", node=reopen_to))
    warnings = []
    for node in nodes.values():
        problems.extend(node.behaviour.check(spec))
        warnings.extend(node.behaviour.warnings(spec))
    if problems:
        raise FlowCheckError(problems, f"flow {key!r} has {len(problems)} problem(s)")
    object.__setattr__(spec, "warnings", tuple(warnings))
    return spec


def freeze_nodes(mapping: dict) -> Mapping:
    from types import MappingProxyType
    return MappingProxyType(dict(mapping))


def check_flow(definition: Mapping[str, Any]) -> list[dict]:
    """Every problem of ``definition`` (empty when it compiles), for the designer and the installer."""
    try:
        compile_flow(definition)
    except FlowCheckError as exc:
        return exc.errors
    return []
