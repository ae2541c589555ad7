// The flow diagram: an SVG drawn from a view model, and the pointer and keyboard gestures on it.
//
// The canvas owns no data. The designer gives it a view ({nodes, edges, selected, connectFrom})
// and callbacks; every gesture ends in one callback, which the designer turns into one undoable
// change of the draft:
//   - a palette item dropped on the canvas → onDrop(type, x, y, edgeId); dropped on a connection, edgeId
//     names it (the connection under the pointer is marked while dragging) and the node goes into it
//   - the "+" beside a node (or the + key on it) → onAddNext(id, anchor), anchor: the "+"'s screen box
//   - a node dragged by its body → onMove(id, x, y) once, on release (drawn live meanwhile)
//   - a drag from a node's handle (the dot on its right) to another node → onConnect(from, to)
//   - focus or click on a node or edge → onSelect({kind, id}); on the background → onSelect(null)
//   - keys on a focused node: arrows → onNudge(id, dx, dy) (Shift: larger steps), Delete → onDelete,
//     C → onConnectStart(id), then Enter on another node → onConnect(from, to), Escape cancels.
import { edgePath } from "./flow-layout.js";

const NS = "http://www.w3.org/2000/svg";
export const MIME_NODE = "application/x-jimu-flow-node";

export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function clip(text, max) {
  const chars = [...(text || "")];
  return chars.length > max ? chars.slice(0, max - 1).join("") + "…" : chars.join("");
}

export class FlowCanvas {
  constructor(container, callbacks, { labels = {} } = {}) {
    this.box = container;
    this.cb = callbacks;
    this.labels = labels;
    this.view = { nodes: [], edges: [] };
    this.svg = s("svg", { class: "fd-svg", role: "group", tabindex: "-1", "aria-label": labels.canvas || "flow",
      "aria-describedby": labels.keysId || undefined });
    this.defs = s("defs", {},
      s("marker", { id: "fd-arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerUnits: "userSpaceOnUse", markerWidth: "11", markerHeight: "11", orient: "auto-start-reverse" },
        s("path", { d: "M0,0 L10,5 L0,10 z", class: "fd-arrowhead" })),
      s("marker", { id: "fd-arrow-bad", viewBox: "0 0 10 10", refX: "9", refY: "5", markerUnits: "userSpaceOnUse", markerWidth: "11", markerHeight: "11", orient: "auto-start-reverse" },
        s("path", { d: "M0,0 L10,5 L0,10 z", class: "fd-arrowhead bad" })));
    this.edgeLayer = s("g", { class: "fd-edges" });
    this.nodeLayer = s("g", { class: "fd-nodes" });
    this.labelLayer = s("g", { class: "fd-labels" });
    this.keyLayer = s("g", { class: "fd-edge-keys" });
    this.ghost = s("path", { class: "fd-ghost", d: "", "marker-end": "url(#fd-arrow)" });
    this.svg.append(this.defs, s("rect", { class: "fd-bg", x: 0, y: 0, width: "100%", height: "100%" }),
      this.edgeLayer, this.nodeLayer, this.labelLayer, this.keyLayer, this.ghost);
    this.box.append(this.svg);
    this.gesture = null;
    this.zoom = 1;
    this.bind();
  }

  // -- drawing ---------------------------------------------------------------------------------
  render(view) {
    if (this.gesture) { this.pending = view; return; }   // not under the pointer's feet: after the drag
    this.pending = null;
    const hadFocus = this.svg.contains(document.activeElement) ? document.activeElement.dataset : null;
    const focusKey = hadFocus?.kind ? `${hadFocus.kind}:${hadFocus.id}` : null;
    this.view = view;
    this.byId = new Map(view.nodes.map((n) => [n.id, n]));
    this.size();
    this.svg.classList.toggle("connecting", !!view.connectFrom);
    this.drawEdges();
    this.nodeLayer.replaceChildren(...view.nodes.map((n) => this.nodeEl(n)));
    if (focusKey) this.focus(...focusKey.split(/:(.*)/s).slice(0, 2));
  }

  // The drawing is in diagram units; ``zoom`` scales it on screen (the viewBox keeps units).
  extent() {
    const nodes = this.view.nodes;
    return { w: Math.max(0, ...nodes.map((n) => n.x + n.w + 30)), h: Math.max(0, ...nodes.map((n) => n.y + n.h + 40)) };
  }

  size() {
    const z = this.zoom;
    const { w, h } = this.extent();
    const width = Math.max((this.box.clientWidth - 4) / z, w);
    const height = Math.max((this.box.clientHeight - 4) / z, 440, h);
    this.svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    this.svg.setAttribute("width", width * z);
    this.svg.setAttribute("height", height * z);
  }

  setZoom(z) {
    this.zoom = Math.min(2, Math.max(0.3, Math.round(z * 100) / 100));
    this.size();
    this.cb.onZoom?.(this.zoom);
  }

  // zoom so the whole diagram is in view (never larger than 100%)
  fit() {
    const { w, h } = this.extent();
    if (!w || !h) return this.setZoom(1);
    this.setZoom(Math.min(1, (this.box.clientWidth - 8) / w, Math.max(0.3, (this.box.clientHeight - 8) / h)));
  }

  // how far each edge bends: apart when two nodes are joined both ways or more than once
  bends() {
    const groups = new Map();
    for (const e of this.view.edges) {
      const key = [e.from, e.to].sort().join("\u0000");
      (groups.get(key) || groups.set(key, []).get(key)).push(e);
    }
    const out = new Map();
    for (const list of groups.values()) {
      if (list.length < 2) continue;
      const forward = list.filter((e) => e.from === list[0].from);
      const backward = list.filter((e) => e.from !== list[0].from);
      if (forward.length === 1 && backward.length === 1) {
        out.set(forward[0].id, 18);
        out.set(backward[0].id, 18);            // the opposite direction bends to the other side
        continue;
      }
      forward.forEach((e, i) => out.set(e.id, 18 + i * 26));
      backward.forEach((e, i) => out.set(e.id, 18 + i * 26));
    }
    return out;
  }

  drawEdges() {
    const sel = this.view.selected;
    const bends = this.bends();
    this.edgeLayer.replaceChildren(...this.view.edges.map((e) => {
      const a = this.byId.get(e.from);
      const b = this.byId.get(e.to);
      if (!a || !b) return null;
      const { d } = edgePath(a, a, b, b, bends.get(e.id) || 0);
      const selected = sel?.kind === "edge" && sel.id === e.id;
      return s("g", { class: `fd-edge${selected ? " selected" : ""}${e.problem ? ` has-${e.problem}` : ""}${e.isDefault ? " is-default" : ""}`,
        "aria-hidden": "true", "data-kind": "edge", "data-id": e.id, "data-from": e.from, "data-to": e.to },
      s("title", {}, [e.aria, ...(e.messages || [])].join("\n")),
      s("path", { class: "fd-edge-hit", d }),
      s("path", { class: "fd-edge-line", d, "marker-end": e.problem === "error" ? "url(#fd-arrow-bad)" : "url(#fd-arrow)" }),
      );
    }));
    // the keyboard's edges: drawn after the nodes so Tab visits every node first, then the edges
    this.keyLayer.replaceChildren(...this.view.edges.map((e) => {
      const a = this.byId.get(e.from);
      const b = this.byId.get(e.to);
      if (!a || !b) return null;
      const { d } = edgePath(a, a, b, b, bends.get(e.id) || 0);
      const selected = sel?.kind === "edge" && sel.id === e.id;
      return s("g", { class: "fd-edge-key", tabindex: "0", role: "button", "aria-pressed": selected ? "true" : "false",
        "aria-label": [e.aria, ...(e.messages || [])].join(". "), "data-kind": "edge", "data-id": e.id,
        "data-from": e.from, "data-to": e.to }, s("path", { d }));
    }));
    // labels go above the nodes, so a condition stays readable where an edge is short
    this.labelLayer.replaceChildren(...this.view.edges.map((e) => {
      const a = this.byId.get(e.from);
      const b = this.byId.get(e.to);
      const text = clip(e.text, 20);
      if (!a || !b || !text) return null;
      const { mid } = edgePath(a, a, b, b, bends.get(e.id) || 0);
      const selected = sel?.kind === "edge" && sel.id === e.id;
      const width = Math.max(16, [...text].reduce((w, ch) => w + (ch.charCodeAt(0) > 255 ? 13 : 7.3), 0) + 10);
      return s("g", { class: `fd-edge-label${selected ? " selected" : ""}${e.problem ? ` has-${e.problem}` : ""}`,
        transform: `translate(${mid.x},${mid.y})`, "data-kind": "edge", "data-id": e.id, "aria-hidden": "true" },
      s("rect", { x: -width / 2, y: -10, width, height: 20, rx: 4 }),
      s("text", { "text-anchor": "middle", y: 4 }, text));
    }));
    // size each label's box to its text as drawn
    for (const g of this.labelLayer.querySelectorAll(".fd-edge-label")) {
      const box = g.querySelector("text").getBBox();
      if (!box.width) continue;
      const rect = g.querySelector("rect");
      rect.setAttribute("x", box.x - 5);
      rect.setAttribute("width", box.width + 10);
    }
  }

  nodeEl(n) {
    const sel = this.view.selected;
    const selected = sel?.kind === "node" && sel.id === n.id;
    const { w, h } = n;
    let shape;
    if (n.shape === "circle") shape = s("circle", { class: "fd-shape", cx: w / 2, cy: h / 2, r: w / 2 });
    else if (n.shape === "diamond") shape = s("polygon", { class: "fd-shape", points: `${w / 2},0 ${w},${h / 2} ${w / 2},${h} 0,${h / 2}` });
    else shape = s("rect", { class: "fd-shape", x: 0, y: 0, width: w, height: h, rx: 8 });
    const inside = n.shape === "rect"
      ? [s("text", { class: "fd-type", x: 10, y: 17 }, clip(n.typeLabel, 14)),
        s("text", { class: "fd-label", x: 10, y: 36 }, clip(n.label, 11)),
        n.detail ? s("text", { class: "fd-detail", x: 10, y: 52 }, clip(n.detail, 18)) : null]
      : [s("text", { class: "fd-glyph", x: w / 2, y: h / 2 + 5, "text-anchor": "middle" }, n.glyph || ""),
        s("text", { class: "fd-label below", x: w / 2, y: h + 16, "text-anchor": "middle" }, clip(n.label, 12)),
        n.detail ? s("text", { class: "fd-detail", x: w / 2, y: h + 30, "text-anchor": "middle" }, clip(n.detail, 16)) : null];
    const classes = ["fd-node", `shape-${n.shape}`, `type-${n.type}`, `group-${n.group}`];
    if (selected) classes.push("selected");
    if (n.problem) classes.push(`has-${n.problem}`);
    if (this.view.connectFrom === n.id) classes.push("connect-source");
    return s("g", { class: classes.join(" "), transform: `translate(${n.x},${n.y})`, tabindex: "0", role: "button",
      "aria-pressed": selected ? "true" : "false", "aria-label": n.aria, "data-kind": "node", "data-id": n.id,
      "data-type": n.type },
    s("title", {}, [n.aria, ...(n.messages || [])].join("\n")),
    shape, ...inside,
    n.problem ? s("g", { class: "fd-badge", transform: `translate(${w - 6},-6)` },
      s("circle", { r: 9 }), s("text", { "text-anchor": "middle", y: 4 }, "!")) : null,
    n.canLeave ? s("circle", { class: "fd-handle", cx: w, cy: h / 2, r: 7, "data-handle": n.id,
      "aria-hidden": "true" }) : null,
    // "+": the next step, already connected (a menu of node types); the + key does the same
    n.canLeave ? s("g", { class: "fd-add", transform: `translate(${w + 14},-8)`, "data-add": n.id, role: "button",
      "aria-label": `${this.labels.addNext || "+"}: ${n.label}` },
    s("title", {}, this.labels.addNext || "+"), s("circle", { r: 10 }), s("path", { d: "M-5,0 H5 M0,-5 V5" })) : null);
  }

  focus(kind, id) {
    const el = [...this.svg.querySelectorAll(`[data-kind="${kind}"][tabindex="0"]`)].find((x) => x.dataset.id === id);
    if (el) el.focus();
    return el;
  }

  // -- gestures --------------------------------------------------------------------------------
  point(event) {
    const r = this.svg.getBoundingClientRect();
    return { x: (event.clientX - r.left) / this.zoom, y: (event.clientY - r.top) / this.zoom };
  }

  bind() {
    this.box.addEventListener("dragover", (e) => {
      if (![...e.dataTransfer.types].includes(MIME_NODE)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "copy";
      this.box.classList.add("drop-here");
      this.markDropEdge(this.edgeAt(e));
    });
    this.box.addEventListener("dragleave", (e) => {
      if (this.box.contains(e.relatedTarget)) return;
      this.box.classList.remove("drop-here");
      this.markDropEdge(null);
    });
    this.box.addEventListener("drop", (e) => {
      this.box.classList.remove("drop-here");
      this.markDropEdge(null);
      const type = e.dataTransfer.getData(MIME_NODE);
      if (!type) return;
      e.preventDefault();
      const p = this.point(e);
      this.cb.onDrop(type, p.x, p.y, this.edgeAt(e));
    });

    this.svg.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      const add = e.target.closest("[data-add]");
      if (add) {
        e.preventDefault();
        e.stopPropagation();
        this.cb.onAddNext(add.dataset.add, add.getBoundingClientRect());
        return;
      }
      const handle = e.target.closest("[data-handle]");
      const item = e.target.closest("[data-kind]");
      if (handle) {
        e.preventDefault();
        const from = this.byId.get(handle.dataset.handle);
        this.gesture = { kind: "connect", from: from.id, start: { x: from.x + from.w, y: from.y + from.h / 2 } };
        this.svg.setPointerCapture(e.pointerId);
        this.svg.classList.add("linking");
      } else if (item?.dataset.kind === "node") {
        e.preventDefault();
        const n = this.byId.get(item.dataset.id);
        const p = this.point(e);
        this.gesture = { kind: "move", id: n.id, el: item, dx: p.x - n.x, dy: p.y - n.y, x0: n.x, y0: n.y, moved: false };
        this.svg.setPointerCapture(e.pointerId);
      } else if (item?.dataset.kind === "edge") {
        e.preventDefault();
        this.cb.onSelect({ kind: "edge", id: item.dataset.id });
        this.focus("edge", item.dataset.id);
      } else {
        this.cb.onSelect(null);
      }
    });
    this.svg.addEventListener("pointermove", (e) => {
      const g = this.gesture;
      if (!g) return;
      const p = this.point(e);
      if (g.kind === "connect") {
        const k = Math.max(30, Math.abs(p.x - g.start.x) / 2);
        this.ghost.setAttribute("d", `M${g.start.x},${g.start.y} C${g.start.x + k},${g.start.y} ${p.x - k},${p.y} ${p.x},${p.y}`);
        const over = this.nodeAt(e);
        this.svg.querySelectorAll(".fd-node.drop-target").forEach((x) => x.classList.remove("drop-target"));
        if (over && over.dataset.id !== g.from) over.classList.add("drop-target");
      } else if (g.kind === "move") {
        const x = Math.max(0, Math.round(p.x - g.dx));
        const y = Math.max(0, Math.round(p.y - g.dy));
        if (!g.moved && Math.abs(x - g.x0) + Math.abs(y - g.y0) < 4) return;
        g.moved = true;
        const n = this.byId.get(g.id);
        n.x = x;
        n.y = y;
        g.el.setAttribute("transform", `translate(${x},${y})`);
        this.drawEdges();
      }
    });
    const end = (e) => {
      const g = this.gesture;
      if (!g) return;
      this.gesture = null;
      try { this.svg.releasePointerCapture(e.pointerId); } catch { /* already released */ }
      this.svg.classList.remove("linking");
      this.ghost.setAttribute("d", "");
      if (g.kind === "connect") {
        const over = this.nodeAt(e);
        this.svg.querySelectorAll(".fd-node.drop-target").forEach((x) => x.classList.remove("drop-target"));
        if (over && over.dataset.id !== g.from && e.type === "pointerup") this.cb.onConnect(g.from, over.dataset.id);
      } else if (g.kind === "move") {
        const n = this.byId.get(g.id);
        if (g.moved && e.type === "pointerup") this.cb.onMove(g.id, n.x, n.y);
        else this.cb.onSelect({ kind: "node", id: g.id });
        this.focus("node", g.id);
      }
      if (this.pending) this.render(this.pending);          // a redraw that waited for the drag
    };
    this.svg.addEventListener("pointerup", end);
    this.svg.addEventListener("pointercancel", end);

    this.svg.addEventListener("focusin", (e) => {
      const item = e.target.closest?.("[data-kind]");
      if (!item || this.gesture) return;
      const sel = this.view.selected;
      if (sel && sel.kind === item.dataset.kind && sel.id === item.dataset.id) return;
      this.cb.onSelect({ kind: item.dataset.kind, id: item.dataset.id });
    });
    this.svg.addEventListener("keydown", (e) => {
      const item = e.target.closest?.("[data-kind]");
      if (!item) return;
      const { kind, id } = item.dataset;
      const step = e.shiftKey ? 40 : 10;
      const arrows = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
      if (kind === "node" && arrows[e.key] && !e.altKey && !e.ctrlKey && !e.metaKey) {
        e.preventDefault();
        this.cb.onNudge(id, ...arrows[e.key]);
      } else if (e.key === "Delete" || e.key === "Backspace") {
        e.preventDefault();
        this.cb.onDelete({ kind, id });
      } else if (kind === "node" && e.key === "+" && !e.ctrlKey && !e.metaKey) {
        e.preventDefault();
        const add = item.querySelector("[data-add]");
        if (add) this.cb.onAddNext(id, add.getBoundingClientRect());
      } else if (kind === "node" && (e.key === "c" || e.key === "C") && !e.ctrlKey && !e.metaKey) {
        e.preventDefault();
        this.cb.onConnectStart(id);
      } else if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        const from = this.view.connectFrom;
        if (kind === "node" && from && from !== id) this.cb.onConnect(from, id);
        else this.cb.onActivate({ kind, id });
      } else if (e.key === "Escape" && this.view.connectFrom) {
        e.preventDefault();
        this.cb.onConnectStart(null);
      } else if (e.key === "Escape") {                 // back to the flow's own properties
        e.preventDefault();
        this.svg.focus();
        this.cb.onSelect(null);
      }
    });
  }

  // the connection under the pointer (its line, label or keyboard handle), by id
  edgeAt(e) {
    const el = document.elementFromPoint(e.clientX, e.clientY);
    const g = el?.closest?.('[data-kind="edge"]');
    return g && this.svg.contains(g) ? g.dataset.id : null;
  }

  markDropEdge(id) {
    for (const g of this.edgeLayer.querySelectorAll(".fd-edge")) g.classList.toggle("drop-into", g.dataset.id === id);
  }

  nodeAt(e) {
    const el = document.elementFromPoint(e.clientX, e.clientY);
    return el?.closest?.('[data-kind="node"]') || null;
  }
}
