"""The process diagram of an instance as an SVG string, drawn on the server.

Nodes keep the designer's positions when the definition has them; otherwise
they are laid out in columns by their distance from the start (back edges of
rework loops are ignored for layering). Current nodes (where a token waits)
are highlighted, nodes the instance has passed are marked done. The markup is
written by ``templates/flows_diagram.svg`` with autoescaping, so node and edge
ids, labels and conditions (free text from the designer) stay text.
"""
from __future__ import annotations

from collections import defaultdict, deque
from typing import Any, Iterable

from jinja2 import Environment, PackageLoader

from engines.flow.spec import FlowSpec

W, H, GAP_X, GAP_Y, PAD = 132, 52, 64, 34, 24


def layout(spec: FlowSpec) -> dict[str, tuple[float, float]]:
    if spec.positions and all(n in spec.positions for n in spec.nodes):
        pos = {n: (float(p["x"]), float(p["y"])) for n, p in spec.positions.items()}
        min_x = min(x for x, _ in pos.values())
        min_y = min(y for _, y in pos.values())
        return {n: (x - min_x + PAD, y - min_y + PAD) for n, (x, y) in pos.items()}
    depth = {spec.start_node: 0} if spec.start_node else {}
    queue = deque(depth)
    while queue:  # BFS: shortest distance from start gives a stable left-to-right order, loops included
        node = queue.popleft()
        for edge in spec.nodes[node].outgoing:
            if edge.target not in depth:
                depth[edge.target] = depth[node] + 1
                queue.append(edge.target)
    for n in spec.nodes:
        depth.setdefault(n, max(depth.values(), default=0) + 1)
    columns: dict[int, list[str]] = defaultdict(list)
    for n in spec.nodes:  # definition order within a column
        columns[depth[n]].append(n)
    tallest = max(len(c) for c in columns.values())
    out = {}
    for col, nodes in columns.items():
        offset = (tallest - len(nodes)) * (H + GAP_Y) / 2
        for row, n in enumerate(nodes):
            out[n] = (PAD + col * (W + GAP_X), PAD + offset + row * (H + GAP_Y))
    return out


def _label(value: Any, lang: str) -> str:
    if isinstance(value, str):
        return value
    if hasattr(value, "get"):
        return value.get(lang) or value.get("zh-CN") or value.get("en") or next(iter(value.values()), "")
    return ""


def _shapes(spec: FlowSpec, current: set[str], done: set[str], lang: str,
            fields: Iterable[tuple[str, Any]] = ()) -> dict[str, Any]:
    """Geometry and texts of the diagram: plain data for the template, which escapes every value.
    People read names, not keys: a condition shows the labels of the form's ``fields`` (key, label),
    a node without a label its type's name."""
    from engines.expr import to_labels
    fields = list(fields)
    pos = layout(spec)
    width = max(x for x, _ in pos.values()) + W + PAD
    height = max(y for _, y in pos.values()) + H + PAD

    def inset(node_id: str) -> float:  # circles (start/end) are narrower than their box
        b = spec.nodes[node_id].behaviour
        return W / 2 - (H / 2 - 4) if (b.is_start or b.is_end) else 0

    edges = []
    for edge in spec.edges.values():
        (x1, y1), (x2, y2) = pos[edge.source], pos[edge.target]
        sx, sy, tx, ty = x1 + W - inset(edge.source), y1 + H / 2, x2 + inset(edge.target), y2 + H / 2
        if x2 <= x1:  # a loop back: route it below the boxes
            low = max(y1, y2) + H + GAP_Y / 2
            path = f"M{x1 + W / 2:.0f},{y1 + H:.0f} L{x1 + W / 2:.0f},{low:.0f} L{x2 + W / 2:.0f},{low:.0f} " \
                   f"L{x2 + W / 2:.0f},{y2 + H:.0f}"
            lx, ly = (x1 + x2 + W) / 2, low - 4
        else:
            mid = (sx + tx) / 2
            path = f"M{sx:.0f},{sy:.0f} C{mid:.0f},{sy:.0f} {mid:.0f},{ty:.0f} {tx:.0f},{ty:.0f}"
            lx, ly = mid, (sy + ty) / 2 - 4
        text = _label(edge.label, lang) or edge.outcome or ("默认" if edge.default and lang == "zh-CN" else
                                                            "default" if edge.default else "") or \
            to_labels(edge.condition_source or "", fields, lang)
        edges.append({"id": edge.id, "path": path, "x": round(lx), "y": round(ly), "text": text[:28]})
    nodes = []
    for node in spec.nodes.values():
        x, y = pos[node.id]
        state = "current" if node.id in current else "done" if node.id in done else "todo"
        b = node.behaviour
        shape = "circle" if (b.is_start or b.is_end) else "diamond" if b.group == "gateway" else "box"
        kind = _label(dict(getattr(b, "label", None) or {}), lang) or node.type  # the type's name, not its key
        text = _label(node.label, lang) or kind
        nodes.append({"id": node.id, "type": node.type, "state": state, "shape": shape, "x": round(x), "y": round(y),
                      "cx": round(x + W / 2), "cy": round(y + H / 2), "r": round(H / 2 - 4), "right": round(x + W),
                      "bottom": round(y + H), "text": text, "short": text[:16], "kind": kind})
    return {"width": round(width), "height": round(height), "w": W, "h": H, "edges": edges, "nodes": nodes}


_ENV = Environment(loader=PackageLoader("runtime", "templates"), autoescape=True, trim_blocks=True,
                   lstrip_blocks=True)


def render_svg(spec: FlowSpec, *, current: Iterable[str] = (), done: Iterable[str] = (), lang: str = "zh-CN",
               fields: Iterable[tuple[str, Any]] = ()) -> str:
    """The diagram as SVG markup, written by a template with autoescaping: ids and labels are free text
    typed in the designer, so none of them is ever formatted into markup by hand. ``fields`` are the
    (key, label) of the flow's form, so conditions read with labels."""
    return _ENV.get_template("flows_diagram.svg").render(d=_shapes(spec, set(current), set(done), lang, fields))
