// Geometry of the flow diagram and its automatic layout (layered, left → right).
//
// Layout: back edges (rework loops) are found by a depth-first walk from the start and left out;
// each node's layer is its longest distance from a source over the remaining edges; nodes are
// ordered within a layer by the mean position of their predecessors (a few sweeps), then placed
// in columns, each column centred on the tallest one. Nodes no path reaches go after the others
// in the order they are listed, so the drawing stays stable.

export const GAP_X = 100;
export const GAP_Y = 40;
export const PAD = 40;

// Node size by the node type's palette group: events are circles, gateways diamonds, the rest boxes.
export function sizeOf(group) {
  if (group === "event") return { w: 56, h: 56, shape: "circle" };
  if (group === "gateway") return { w: 64, h: 64, shape: "diamond" };
  return { w: 150, h: 60, shape: "rect" };
}

// ``isStart(node)`` and ``size(node)`` come from the node type registry; ``labelWidth(edge)``
// (optional) widens the gap after a column so the labels of the edges leaving it fit.
export function layered(nodes, edges, { isStart, size: sizeOfNode, labelWidth = () => 0 }) {
  const ids = nodes.map((n) => n.id);
  const out = new Map(ids.map((id) => [id, []]));
  const inc = new Map(ids.map((id) => [id, []]));
  for (const e of edges) {
    if (!out.has(e.from) || !inc.has(e.to) || e.from === e.to) continue;
    out.get(e.from).push(e.to);
    inc.get(e.to).push(e.from);
  }
  // depth-first from the start nodes (then every other node): an edge to a node on the stack is a back edge
  const back = new Set();
  const state = new Map();
  const starts = nodes.filter((n) => isStart(n)).map((n) => n.id);
  const visit = (root) => {
    const stack = [[root, 0]];
    state.set(root, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [id, i] = top;
      const next = out.get(id)[i];
      if (next === undefined) { state.set(id, 2); stack.pop(); continue; }
      top[1] += 1;
      if (state.get(next) === 1) back.add(`${id}\u0000${next}`);
      else if (!state.has(next)) { state.set(next, 1); stack.push([next, 0]); }
    }
  };
  for (const s of starts) if (!state.has(s)) visit(s);
  const reached = new Set(state.keys());
  for (const id of ids) if (!state.has(id)) visit(id);

  // longest path layering over forward edges (Kahn's order)
  const fwdIn = new Map(ids.map((id) => [id, inc.get(id).filter((p) => !back.has(`${p}\u0000${id}`))]));
  const layer = new Map();
  const indeg = new Map(ids.map((id) => [id, fwdIn.get(id).length]));
  const queue = ids.filter((id) => indeg.get(id) === 0);
  while (queue.length) {
    const id = queue.shift();
    layer.set(id, Math.max(0, ...fwdIn.get(id).map((p) => (layer.get(p) ?? -1) + 1)));
    for (const nxt of out.get(id)) {
      if (back.has(`${id}\u0000${nxt}`)) continue;
      indeg.set(nxt, indeg.get(nxt) - 1);
      if (indeg.get(nxt) === 0) queue.push(nxt);
    }
  }
  let last = Math.max(-1, ...[...layer.entries()].filter(([id]) => reached.has(id)).map(([, l]) => l));
  for (const id of ids) {
    if (!layer.has(id)) layer.set(id, 0);
    if (!reached.has(id)) layer.set(id, ++last);     // unreachable nodes: one column each, after the rest
  }

  // a forward edge that skips layers gets a placeholder in each layer between, so the rows
  // make room for it and it does not run behind the nodes it passes (Sugiyama's dummy nodes)
  const columns = [];
  for (const id of ids) (columns[layer.get(id)] ||= []).push(id);
  for (let c = 0; c < columns.length; c++) columns[c] ||= [];
  const dummies = new Set();
  let k = 0;
  for (const e of edges) {
    if (!layer.has(e.from) || !layer.has(e.to) || back.has(`${e.from}\u0000${e.to}`)) continue;
    const a = layer.get(e.from);
    const b = layer.get(e.to);
    if (b - a < 2) continue;
    let prev = e.from;
    for (let l = a + 1; l < b; l++) {
      const d = `\u0000d${k++}`;
      dummies.add(d);
      columns[l].push(d);
      inc.set(d, [prev]);
      prev = d;
    }
    inc.set(e.to, [...inc.get(e.to).filter((p) => p !== e.from), prev]);
  }
  // barycentre ordering, a few sweeps left → right
  for (let sweep = 0; sweep < 3; sweep++) {
    for (let c = 1; c < columns.length; c++) {
      const rank = new Map(columns[c - 1].map((id, i) => [id, i]));
      const score = (id) => {
        const ps = inc.get(id).filter((p) => rank.has(p));
        return ps.length ? ps.reduce((s, p) => s + rank.get(p), 0) / ps.length : Infinity;
      };
      const before = new Map(columns[c].map((id, i) => [id, i]));
      columns[c].sort((a, b) => (score(a) - score(b)) || (before.get(a) - before.get(b)));
    }
  }
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const size = (id) => (dummies.has(id) ? { w: 0, h: 40 } : sizeOfNode(byId.get(id)));
  const colHeight = (col) => col.reduce((s, id) => s + size(id).h, 0) + Math.max(0, col.length - 1) * GAP_Y;
  const tallest = Math.max(0, ...columns.map(colHeight));
  const colWidth = columns.map((col) => Math.max(0, ...col.map((id) => size(id).w)));
  const colOf = new Map();
  columns.forEach((col, c) => col.forEach((id) => colOf.set(id, c)));
  const gapAfter = columns.map(() => GAP_X);
  for (const e of edges) {
    const c = colOf.get(e.from);
    if (c !== undefined && colOf.get(e.to) === c + 1) gapAfter[c] = Math.max(gapAfter[c], labelWidth(e) + 40);
  }
  const pos = {};
  let x = PAD;
  columns.forEach((col, c) => {
    let y = PAD + (tallest - colHeight(col)) / 2;
    for (const id of col) {
      const s = size(id);
      if (!dummies.has(id)) pos[id] = { x: Math.round(x + (colWidth[c] - s.w) / 2), y: Math.round(y) };
      y += s.h + GAP_Y;
    }
    x += colWidth[c] + gapAfter[c];
  });
  return pos;
}

// Where an edge leaves and enters: the facing sides of the two shapes; a curve between them.
// ``bend`` pushes the curve sideways (edges both ways between two nodes, or several one way).
export function edgePath(a, sa, b, sb, bend = 0) {
  const ac = { x: a.x + sa.w / 2, y: a.y + sa.h / 2 };
  const bc = { x: b.x + sb.w / 2, y: b.y + sb.h / 2 };
  const dx = bc.x - ac.x;
  const dy = bc.y - ac.y;
  let p1, p2, c1, c2;
  if (Math.abs(dx) >= Math.abs(dy) * 0.6 || dx > 0) {
    const dir = dx >= 0 ? 1 : -1;
    p1 = { x: ac.x + dir * sa.w / 2, y: ac.y };
    p2 = { x: bc.x - dir * sb.w / 2, y: bc.y };
    const k = Math.max(30, Math.abs(p2.x - p1.x) / 2);
    c1 = { x: p1.x + dir * k, y: p1.y };
    c2 = { x: p2.x - dir * k, y: p2.y };
  } else {
    const dir = dy >= 0 ? 1 : -1;
    p1 = { x: ac.x, y: ac.y + dir * sa.h / 2 };
    p2 = { x: bc.x, y: bc.y - dir * sb.h / 2 };
    const k = Math.max(30, Math.abs(p2.y - p1.y) / 2);
    c1 = { x: p1.x, y: p1.y + dir * k };
    c2 = { x: p2.x, y: p2.y - dir * k };
  }
  if (bend) {
    const len = Math.hypot(p2.x - p1.x, p2.y - p1.y) || 1;
    const nx = (-(p2.y - p1.y) / len) * bend * 1.4;
    const ny = ((p2.x - p1.x) / len) * bend * 1.4;
    c1 = { x: c1.x + nx, y: c1.y + ny };
    c2 = { x: c2.x + nx, y: c2.y + ny };
  }
  const mid = { x: (p1.x + 3 * c1.x + 3 * c2.x + p2.x) / 8, y: (p1.y + 3 * c1.y + 3 * c2.y + p2.y) / 8 };
  return { d: `M${p1.x},${p1.y} C${c1.x},${c1.y} ${c2.x},${c2.y} ${p2.x},${p2.y}`, mid };
}
