"""The process diagram of an instance as an SVG string, drawn on the server.

Nodes keep the designer's positions when the definition has them; otherwise
they are laid out in columns by their distance from the start (back edges of
rework loops are ignored for layering). Current nodes (where a token waits)
are highlighted, nodes the instance has passed are marked done. Every text
is escaped; the SVG carries no script.
"""
from __future__ import annotations

from collections import defaultdict, deque
from typing import Any, Iterable
from xml.sax.saxutils import escape

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


def render_svg(spec: FlowSpec, *, current: Iterable[str] = (), done: Iterable[str] = (), lang: str = "zh-CN") -> str:
    pos = layout(spec)
    current, done = set(current), set(done)
    width = max(x for x, _ in pos.values()) + W + PAD
    height = max(y for _, y in pos.values()) + H + PAD
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="flow-diagram" viewBox="0 0 {width:.0f} {height:.0f}" '
             f'width="{width:.0f}" height="{height:.0f}" role="img">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#667"/></marker></defs>']
    def inset(node_id: str) -> float:  # circles (start/end) are narrower than their box
        b = spec.nodes[node_id].behaviour
        return W / 2 - (H / 2 - 4) if (b.is_start or b.is_end) else 0

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
        parts.append(f'<path class="edge" d="{path}" fill="none" stroke="#889" stroke-width="1.5" '
                     f'marker-end="url(#arrow)" data-edge="{escape(edge.id)}"/>')
        text = _label(edge.label, lang) or edge.outcome or ("默认" if edge.default and lang == "zh-CN" else
                                                            "default" if edge.default else "") or \
            (edge.condition_source or "")
        if text:
            parts.append(f'<text x="{lx:.0f}" y="{ly:.0f}" font-size="11" text-anchor="middle" fill="#556">'
                         f'{escape(text[:28])}</text>')
    for node in spec.nodes.values():
        x, y = pos[node.id]
        state = "current" if node.id in current else "done" if node.id in done else "todo"
        fill, stroke = {"current": ("#fff4d6", "#e08a00"), "done": ("#e6f4ea", "#3c8d50"),
                        "todo": ("#ffffff", "#99a")}[state]
        width_px = 3 if state == "current" else 1.5
        attrs = f'fill="{fill}" stroke="{stroke}" stroke-width="{width_px}"'
        b = node.behaviour
        parts.append(f'<g class="node {state}" data-node="{escape(node.id)}" data-type="{escape(node.type)}">')
        if b.is_start or b.is_end:
            parts.append(f'<circle cx="{x + W / 2:.0f}" cy="{y + H / 2:.0f}" r="{H / 2 - 4:.0f}" {attrs}/>')
        elif b.group == "gateway":
            cx, cy = x + W / 2, y + H / 2
            parts.append(f'<polygon points="{cx:.0f},{y:.0f} {x + W:.0f},{cy:.0f} {cx:.0f},{y + H:.0f} '
                         f'{x:.0f},{cy:.0f}" {attrs}/>')
        else:
            parts.append(f'<rect x="{x:.0f}" y="{y:.0f}" width="{W}" height="{H}" rx="8" {attrs}/>')
        text = _label(node.label, lang) or node.id
        parts.append(f'<text x="{x + W / 2:.0f}" y="{y + H / 2 + 4:.0f}" font-size="13" text-anchor="middle" '
                     f'fill="#223">{escape(text[:16])}</text>')
        parts.append(f'<title>{escape(text)} ({escape(node.type)})</title></g>')
    parts.append("</svg>")
    return "".join(parts)
