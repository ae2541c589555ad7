"""Graph checks of a process definition, with networkx.

Every finding names its node or edge, and all are reported together so the
designer can mark every problem at once. Loops are allowed (rework), so the
checks are about reachability, edge counts and parallel balance, not acyclicity.

Parallel balance: every fork (a parallel gateway with several outgoing edges)
must have a matching join — the nearest parallel gateway with several incoming
edges that all its branches reach — whose incoming edge count equals the fork's
branch count; and every join must be matched by a fork. A branch that never
meets its siblings, or a join waiting for more tokens than were forked,
would leave the instance stuck.
"""
from __future__ import annotations

from typing import Iterable

import networkx as nx

from .nodes.base import problem
from .spec import FlowSpec


def graph_of(spec: FlowSpec) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    g.add_nodes_from(spec.nodes)
    for edge in spec.edges.values():
        g.add_edge(edge.source, edge.target, key=edge.id)
    return g


def _count(n: int, bounds: tuple[int, int | None]) -> bool:
    low, high = bounds
    return n >= low and (high is None or n <= high)


def _bounds(bounds: tuple[int, int | None]) -> str:
    low, high = bounds
    return f"exactly {low}" if low == high else f"at least {low}" if high is None else f"{low} to {high}"


def check_graph(spec: FlowSpec, g: nx.MultiDiGraph) -> Iterable[dict]:
    starts = [n.id for n in spec.nodes.values() if n.behaviour.is_start]
    ends = [n.id for n in spec.nodes.values() if n.behaviour.is_end]
    if len(starts) != 1:
        yield problem("flow.start_count", f"a flow needs exactly one start node, found {len(starts)}"
                      + (f" ({', '.join(starts)})" if starts else "; add one"), nodes=starts)
    if not ends:
        yield problem("flow.no_end", "a flow needs at least one end node; add one")
    for node in spec.nodes.values():
        b = node.behaviour
        if not _count(len(node.incoming), b.edges_in):
            yield problem("flow.incoming_edges", f"{node.type} node {node.id!r} has {len(node.incoming)} "
                          f"incoming edge(s); it needs {_bounds(b.edges_in)}", node=node.id)
        if not _count(len(node.outgoing), b.edges_out):
            yield problem("flow.outgoing_edges", f"{node.type} node {node.id!r} has {len(node.outgoing)} "
                          f"outgoing edge(s); it needs {_bounds(b.edges_out)}", node=node.id)
    if starts:
        reached = set(starts)
        for start in starts:
            reached |= nx.descendants(g, start)
        for node_id in spec.nodes:
            if node_id not in reached:
                yield problem("flow.unreachable", f"node {node_id!r} cannot be reached from the start; "
                              "connect an edge to it or delete it", node=node_id)
    if ends:
        finishing = set(ends)
        for end in ends:
            finishing |= nx.ancestors(g, end)
        for node_id in spec.nodes:
            if node_id not in finishing:
                yield problem("flow.dead_end", f"no path leads from node {node_id!r} to an end; an instance "
                              "there could never finish", node=node_id)
    yield from _check_parallel(spec, g)


def _check_parallel(spec: FlowSpec, g: nx.MultiDiGraph) -> Iterable[dict]:
    forks = [n for n in spec.nodes.values() if n.behaviour.is_parallel and len(n.outgoing) > 1]
    joins = {n.id: n for n in spec.nodes.values() if n.behaviour.is_parallel and len(n.incoming) > 1}
    matched: set[str] = set()
    for fork in forks:
        common = None
        for edge in fork.outgoing:
            branch = (nx.descendants(g, edge.target) | {edge.target}) & joins.keys()
            common = branch if common is None else common & branch
        if not common:
            yield problem("flow.parallel_unbalanced", f"the branches of parallel gateway {fork.id!r} never meet "
                          "at one parallel join; join them with a parallel gateway", node=fork.id)
            continue
        lengths = nx.single_source_shortest_path_length(g, fork.id)
        join = min(common, key=lambda j: (lengths.get(j, 0), j))
        matched.add(join)
        if len(joins[join].incoming) != len(fork.outgoing):
            yield problem("flow.parallel_unbalanced", f"parallel gateway {fork.id!r} forks {len(fork.outgoing)} "
                          f"branches but join {join!r} waits for {len(joins[join].incoming)}; make the counts "
                          "equal", node=fork.id, join=join)
    for join_id in sorted(joins.keys() - matched):
        yield problem("flow.parallel_unbalanced", f"parallel join {join_id!r} has no matching fork; it would "
                      "wait forever for its other branches — use an exclusive gateway to merge",
                      node=join_id)
