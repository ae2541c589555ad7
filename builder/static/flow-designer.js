// The flow designer: a palette of node types (from the flow node registry), an SVG canvas
// (flow-canvas.js) with drag, connect, move, auto-layout (flow-layout.js) and keyboard access,
// a property panel (flow-props.js), the engine's checks marked on the diagram, undo/redo, save,
// publish.
//
// It edits ``flows[i]`` of the app's draft: ``nodes`` (a list; a definition keyed by id is
// turned into a list on the first edit), ``edges`` and each node's ``position`` ({x, y}, which
// the engine ignores and the runtime's process diagram reuses).
import { get, post, enc } from "./api.js";
import { DraftStore } from "./draft.js";
import { designerToolbar, titleEditor } from "./designer-shell.js";
import { publishFlow } from "./publish.js";
import { offerMigration } from "./flow-migration.js";
import { t, h, label, relabel, announce } from "./i18n.js";
import "./flow-strings.js";
import { FlowCanvas, MIME_NODE } from "./flow-canvas.js";
import { showLabels } from "./expr-editor.js";
import { layered, sizeOf } from "./flow-layout.js";
import { renderFlowProps, renderNodeProps, renderEdgeProps, nodeName } from "./flow-props.js";

const root = document.getElementById("flow-designer");
const appKey = root.dataset.app;
const flowKey = root.dataset.flow;
const store = new DraftStore(appKey);
const toolbar = designerToolbar(store);
const title = titleEditor(document.getElementById("flow-title"), {
  get: () => (store.package ? label(flowOf()?.label, flowKey) : flowKey),
  set: (text) => editFlow((fl) => { fl.label = relabel(fl.label, text); }, "flow-title", { panel: true }),
});
const els = {
  palette: document.getElementById("fd-palette"),
  canvas: document.getElementById("fd-canvas"),
  props: document.getElementById("fd-props"),
  problems: document.getElementById("problems"),
  state: document.getElementById("save-state"),
};
const GROUPS = ["event", "task", "gateway", "automation"];
const GLYPHS = { start: "▶", end: "■", exclusive_gateway: "✕", parallel_gateway: "+", timer: "◔",
  user_task: "▭", approval: "✓", countersign: "✓✓", automatic: "⚙" };
const ICON_GLYPHS = { play: "▶", stop: "■", "git-branch": "✕", columns: "+", clock: "◔", zap: "⚙", users: "✓✓", stamp: "✓", "user-check": "▭" };

let registry = null;
let types = {};                // node type → registry entry
let selected = null;           // {kind: "node"|"edge", id}
let connectFrom = null;        // node id while connecting by keyboard
let problems = [];             // errors with pointers (validate or publish)
let warnings = [];
let canvas = null;

// -- model -------------------------------------------------------------------------------------

const flowIndex = (pkg = store.package) => (pkg.flows || []).findIndex((f) => f.key === flowKey);
const flowOf = (pkg = store.package) => (pkg.flows || [])[flowIndex(pkg)];

function nodesOf(flow) {
  const raw = flow.nodes;
  if (Array.isArray(raw)) return raw.filter((n) => n && typeof n === "object");
  if (raw && typeof raw === "object") return Object.entries(raw).map(([id, n]) => ({ ...n, id }));
  return [];
}

function edgesOf(flow) {
  return (flow.edges || []).map((e, i) => ({ ...e, id: e.id || `e${i}` }));
}

function formOf(flow = flowOf()) { return (store.package.forms || []).find((f) => f.key === flow?.form); }
function formFields() { return (formOf()?.fields || []).filter((f) => f && f.key); }
function names() {
  return [...formFields().map((f) => ({ key: f.key, label: label(f.label, f.key), labels: f.label })),
    ...(registry.expressions?.names || []).map((n) => ({ key: n, label: n }))];
}

// Every change goes through here: one undoable step. The definition is normalised first
// (nodes as a list, every edge with an id) so the change can address nodes and edges by id.
function editFlow(fn, coalesce = null, { panel = !coalesce } = {}) {
  store.change((pkg) => {
    const flow = flowOf(pkg);
    flow.nodes = nodesOf(flow);
    flow.edges = edgesOf(flow);
    fn(flow);
  }, "edit", { coalesce });
  renderCanvas();
  if (panel) renderProps();
  toolbar.render();
}

const editNode = (id, fn, coalesce) => editFlow((flow) => { const n = flow.nodes.find((x) => x.id === id); if (n) fn(n); }, coalesce);
const editEdge = (id, fn, coalesce) => editFlow((flow) => { const e = flow.edges.find((x) => x.id === id); if (e) fn(e); }, coalesce);

function uniqueId(base, taken) {
  let n = 1;
  while (taken.has(`${base}_${n}`)) n += 1;
  return `${base}_${n}`;
}

// The smallest config a node type's schema accepts, for the names the platform's nodes use.
function starterConfig(type) {
  const schema = types[type]?.config_schema || {};
  const required = [...(schema.required || []), ...((schema.oneOf || [])[0]?.required || [])];
  const config = {};
  const props = schema.properties || {};
  if (props.assignee) config.assignee = { kind: "initiator" };
  for (const key of required) {
    if (key === "assignees") config.assignees = [{ kind: "initiator" }];
    else if (key === "actions") config.actions = [];
    else if (key === "after") config.after = "PT1H";
    else if (props[key]?.default !== undefined) config[key] = props[key].default;
  }
  return config;
}

function sizeOfNode(node) { return sizeOf(types[node?.type]?.group || "task"); }

// A node of ``type`` takes one connection in and gives one out: it can go into a connection.
function canSplit(type) {
  const info = types[type] || {};
  return (info.edges_in || [1, null])[1] !== 0 && (info.edges_out || [1, null])[1] !== 0;
}

function newNode(type, flow) {
  const info = types[type];
  const id = uniqueId(type, new Set(nodesOf(flow).map((n) => n.id)));
  const n = id.split("_").pop();
  const node = { id, type, label: { "zh-CN": `${label(info.label?.["zh-CN"] ? info.label["zh-CN"] : info.label, type)}${n}`, en: `${info.label?.en || type} ${n}` } };
  const config = starterConfig(type);
  if (Object.keys(config).length) node.config = config;
  return node;
}

const snap = (p) => ({ x: Math.max(0, Math.round(p.x / 10) * 10), y: Math.max(0, Math.round(p.y / 10) * 10) });

// Every node gets its place written down (the layout's, where it had none), then, if the new node at
// ``pos`` overlaps one, everything from its column on moves right to make room: a node put into a
// connection pushes the rest of the way along instead of landing on it.
function makeRoom(fl, node, pos, size) {
  const view = positions();
  for (const other of fl.nodes) if (!other.position && view[other.id]) other.position = { x: view[other.id].x, y: view[other.id].y };
  const clash = fl.nodes.some((o) => o.id !== node.id && view[o.id]
    && pos.x < o.position.x + view[o.id].w + 30 && o.position.x < pos.x + size.w + 30
    && pos.y < o.position.y + view[o.id].h + 20 && o.position.y < pos.y + size.h + 20);
  if (!clash) return;
  const right = fl.nodes.filter((o) => o.id !== node.id && o.position.x + (view[o.id]?.w || 0) > pos.x);
  const shift = pos.x + size.w + 60 - Math.min(...right.map((o) => o.position.x));
  if (shift > 0) for (const o of right) o.position = { ...o.position, x: o.position.x + shift };
}

// Add a node: at (x, y) (a drop), else beside the selected node or after the rightmost. ``into``: the id
// of a connection the node goes into (dropped on it, or added while it is selected): A → B becomes
// A → new → B, the first part keeping the connection's condition, outcome and id.
function addNode(type, x = null, y = null, into = null) {
  const info = types[type];
  if (!info) return;
  if (into === null && x === null && selected?.kind === "edge") into = selected.id;
  const flow = flowOf();
  const edge = into !== null && canSplit(type) ? edgesOf(flow).find((e) => e.id === into) : null;
  if (edge) return insertNode(type, edge.id, x === null ? null : { x, y });
  const node = newNode(type, flow);
  const size = sizeOf(info.group);
  let pos;
  if (x === null) {                       // keyboard: to the right of the selected node, else after the rightmost
    const view = positions();
    const anchor = selected?.kind === "node" ? view[selected.id] : null;
    const base = anchor || Object.values(view).reduce((best, p) => (!best || p.x > best.x ? p : best), null) || { x: 40, y: 120, w: 0, h: 60 };
    pos = { x: base.x + (base.w || 0) + 80, y: base.y + ((base.h || 60) - size.h) / 2 };
    while (Object.values(view).some((p) => Math.abs(p.x - pos.x) < 60 && Math.abs(p.y - pos.y) < 40)) pos.y += size.h + 40;
  } else pos = { x: x - size.w / 2, y: y - size.h / 2 };
  node.position = snap(pos);
  selected = { kind: "node", id: node.id };
  editFlow((fl) => { fl.nodes.push(node); });
  canvas.focus("node", node.id);
  announce(t("fd_added") + nodeName(ctx(), node));
}

// A node of ``type`` into the connection ``edgeId``: at ``at`` (where it was dropped), else just after
// the connection's source; the nodes in the way move right.
function insertNode(type, edgeId, at = null) {
  const flow = flowOf();
  const edge = edgesOf(flow).find((e) => e.id === edgeId);
  const node = newNode(type, flow);
  const size = sizeOf(types[type].group);
  const view = positions();
  const a = view[edge.from];
  const pos = snap(at ? { x: Math.max(at.x - size.w / 2, a.x + a.w + 40), y: at.y - size.h / 2 } : { x: a.x + a.w + 70, y: a.y + (a.h - size.h) / 2 });
  node.position = pos;
  const id = uniqueId("e", new Set(edgesOf(flow).map((e) => e.id)));
  selected = { kind: "node", id: node.id };
  editFlow((fl) => {
    makeRoom(fl, node, pos, size);
    fl.nodes.push(node);
    const e = fl.edges.find((x) => x.id === edgeId);
    fl.edges.push({ id, from: node.id, to: e.to });
    e.to = node.id;
  });
  keepInView();
  canvas.focus("node", node.id);
  announce(t("fd_inserted") + nodeName(ctx(), node));
}

// "+" on a node: the next step, already connected. A step with one way out gets the new one put into
// that connection (the chain stays one line); a gateway, or a step with no or several ways out, gets
// the new node as a further branch beside the others. A branch of a choosing gateway (not a parallel
// one) that has no default path yet becomes its default ("otherwise"), so only the other branches need
// a condition.
function addNext(fromId, type) {
  const flow = flowOf();
  const from = nodesOf(flow).find((n) => n.id === fromId);
  const info = types[type];
  if (!from || !info) return;
  const outs = edgesOf(flow).filter((e) => e.from === fromId);
  if (outs.length === 1 && canSplit(type) && types[from.type]?.group !== "gateway") return insertNode(type, outs[0].id);
  const outMax = (types[from.type]?.edges_out || [1, null])[1];
  if (outMax !== null && outs.length >= outMax) { flash(t("fd_no_more_out")); return; }
  const node = newNode(type, flow);
  const size = sizeOf(info.group);
  const view = positions();
  const a = view[fromId];
  const pos = { x: a.x + a.w + 70, y: a.y + (a.h - size.h) / 2 };
  while (Object.values(view).some((p) => pos.x < p.x + p.w + 20 && p.x < pos.x + size.w + 20
    && pos.y < p.y + p.h + 20 && p.y < pos.y + size.h + 20)) pos.y += Math.max(size.h, 60) + 40;
  node.position = snap(pos);
  const id = uniqueId("e", new Set(edgesOf(flow).map((e) => e.id)));
  const chooser = types[from.type]?.group === "gateway" && !types[from.type]?.is_parallel;
  const edge = { id, from: fromId, to: node.id, ...(chooser && !outs.some((e) => e.default) ? { default: true } : {}) };
  selected = { kind: "node", id: node.id };
  editFlow((fl) => {
    fl.nodes.push(node);
    fl.edges.push(edge);
  });
  keepInView();
  canvas.focus("node", node.id);
  announce(t("fd_added") + nodeName(ctx(), node));
}

// After the diagram grew: zoomed out so all of it is in view, as a large flow opens.
function keepInView() {
  const { w, h: ht } = canvas.extent();
  if (w * canvas.zoom > els.canvas.clientWidth || ht * canvas.zoom > els.canvas.clientHeight) canvas.fit();
}

// The "+" menu: node types to add after ``fromId``, the most common (a user task) first, the end last;
// types that cannot follow (the start; only splitting types where the node has no way out left) are left out.
function openAddMenu(fromId, anchor) {
  closeAddMenu();
  const flow = flowOf();
  const from = nodesOf(flow).find((n) => n.id === fromId);
  if (!from) return;
  const outs = edgesOf(flow).filter((e) => e.from === fromId).length;
  const outMax = (types[from.type]?.edges_out || [1, null])[1];
  const full = outMax !== null && outs >= outMax;
  const rank = (info) => (info.type === "user_task" ? 0 : info.is_end ? 9 : { task: 1, gateway: 2, automation: 3, event: 4 }[info.group] ?? 5);
  const offered = (registry.flow_nodes || []).filter((info) => !info.is_start && (types[info.type].edges_in || [1, null])[1] !== 0
    && (!full || canSplit(info.type))).sort((a, b) => rank(a) - rank(b));
  const menu = h("div", { class: "fd-add-menu", id: "fd-add-menu", role: "menu", "aria-label": `${t("fd_add_next")}: ${nodeName(ctx(), from)}`,
    onkeydown: (e) => {
      const items = [...menu.querySelectorAll("[role=menuitem]")];
      const i = items.indexOf(document.activeElement);
      if (e.key === "Escape") { e.preventDefault(); closeAddMenu(); canvas.focus("node", fromId); }
      else if (e.key === "ArrowDown") { e.preventDefault(); items[(i + 1) % items.length].focus(); }
      else if (e.key === "ArrowUp") { e.preventDefault(); items[(i - 1 + items.length) % items.length].focus(); }
    } },
  ...offered.map((info) => h("button", { type: "button", role: "menuitem", class: `fd-add-item group-${info.group}`,
    "data-node-type": info.type, onclick: () => { closeAddMenu(); addNext(fromId, info.type); } },
  h("span", { class: "fd-item-glyph", "aria-hidden": "true" }, GLYPHS[info.type] || ICON_GLYPHS[info.icon] || "□"),
  label(info.label, info.type))));
  const box = els.canvas.getBoundingClientRect();
  els.canvas.append(menu);
  const right = els.canvas.scrollLeft + els.canvas.clientWidth - menu.offsetWidth - 6;   // kept inside the canvas
  menu.style.left = `${Math.max(els.canvas.scrollLeft + 4, Math.min(anchor.left - box.left + els.canvas.scrollLeft, right))}px`;
  menu.style.top = `${anchor.bottom - box.top + els.canvas.scrollTop + 4}px`;
  menu.querySelector("[role=menuitem]")?.focus();
  setTimeout(() => document.addEventListener("pointerdown", outsideMenu, true));
}

function outsideMenu(e) {
  if (!document.getElementById("fd-add-menu")?.contains(e.target)) closeAddMenu();
}

function closeAddMenu() {
  document.removeEventListener("pointerdown", outsideMenu, true);
  document.getElementById("fd-add-menu")?.remove();
}

function connect(from, to) {
  connectFrom = null;
  const flow = flowOf();
  const nodes = nodesOf(flow);
  const a = nodes.find((n) => n.id === from);
  const b = nodes.find((n) => n.id === to);
  if (!a || !b || from === to) { renderCanvas(); return; }
  const edges = edgesOf(flow);
  const ta = types[a.type] || {};
  const tb = types[b.type] || {};
  const outMax = (ta.edges_out || [1, null])[1];
  const inMax = (tb.edges_in || [1, null])[1];
  let refusal = null;
  if (outMax === 0) refusal = t("fd_no_edge_out");
  else if (inMax === 0) refusal = t("fd_no_edge_in");
  else if (edges.some((e) => e.from === from && e.to === to)) refusal = t("fd_edge_exists");
  if (refusal) { announce(refusal); flash(refusal); renderCanvas(); return; }
  const id = uniqueId("e", new Set(edges.map((e) => e.id)));
  selected = { kind: "edge", id };
  editFlow((fl) => {
    if (outMax !== null && fl.edges.filter((e) => e.from === from).length >= outMax) {
      fl.edges = fl.edges.filter((e) => e.from !== from);        // start: one way out, the new one replaces it
    }
    fl.edges.push({ id, from, to });
  });
  canvas.focus("edge", id);
  announce(`${t("fd_connected")}${from} → ${to}`);
}

function removeNode(id) {
  selected = null;
  editFlow((fl) => {
    fl.nodes = fl.nodes.filter((n) => n.id !== id);
    fl.edges = fl.edges.filter((e) => e.from !== id && e.to !== id);
    if (fl.reopen_to === id) delete fl.reopen_to;
  });
  announce(t("deleted") + id);
  els.canvas.querySelector('[data-kind="node"]')?.focus();
}

function removeEdge(id) {
  selected = null;
  editFlow((fl) => { fl.edges = fl.edges.filter((e) => e.id !== id); });
  announce(t("deleted") + id);
}

function renameNode(old, id) {
  selected = { kind: "node", id };
  editFlow((fl) => {
    for (const n of fl.nodes) {
      if (n.id === old) n.id = id;
      if (n.config?.return_to === old) n.config.return_to = id;
    }
    for (const e of fl.edges) { if (e.from === old) e.from = id; if (e.to === old) e.to = id; }
    if (fl.reopen_to === old) fl.reopen_to = id;
  });
  document.getElementById("node-id")?.focus();
}

function setDefault(id, on) {
  editFlow((fl) => {
    const edge = fl.edges.find((e) => e.id === id);
    for (const e of fl.edges) if (e.from === edge.from && e !== edge && on) delete e.default;
    if (on) edge.default = true; else delete edge.default;
  });
}

function moveNode(id, x, y, coalesce = null) {
  editFlow((fl) => {
    const n = fl.nodes.find((v) => v.id === id);
    // nodes placed by the layout get their place fixed when one is moved, so nothing else jumps
    const view = positions();
    for (const other of fl.nodes) if (!other.position && view[other.id]) other.position = { x: view[other.id].x, y: view[other.id].y };
    n.position = { x: Math.max(0, Math.round(x)), y: Math.max(0, Math.round(y)) };
  }, coalesce, { panel: false });
}

// about how wide an edge's label is drawn (the canvas clips labels at 20 characters)
function labelWidth(e) {
  const chars = [...edgeText(e)].slice(0, 20);
  return chars.length ? chars.reduce((w, ch) => w + (ch.charCodeAt(0) > 255 ? 13 : 7.3), 10) : 0;
}

function autoLayout() {
  const flow = flowOf();
  const pos = layered(nodesOf(flow), edgesOf(flow), { isStart: (n) => !!types[n.type]?.is_start, size: sizeOfNode, labelWidth });
  editFlow((fl) => { for (const n of fl.nodes) n.position = pos[n.id]; }, null, { panel: false });
  canvas.fit();
  announce(t("fd_auto_layout"));
}

// Positions of every node: its own, else where the layered layout would put it.
function positions() {
  const flow = flowOf();
  const nodes = nodesOf(flow);
  const missing = nodes.some((n) => !n.position || typeof n.position.x !== "number");
  const auto = missing ? layered(nodes, edgesOf(flow), { isStart: (n) => !!types[n.type]?.is_start, size: sizeOfNode, labelWidth }) : {};
  const out = {};
  for (const n of nodes) {
    const p = n.position && typeof n.position.x === "number" ? n.position : auto[n.id];
    out[n.id] = { x: p.x, y: p.y, ...sizeOfNode(n) };
  }
  return out;
}

// -- problems: JSON pointers → nodes and edges --------------------------------------------------

function problemMap() {
  const base = `/flows/${flowIndex()}`;
  const flow = flowOf();
  const rawNodes = flow.nodes;
  const edges = edgesOf(flow);
  const map = { nodes: {}, edges: {}, flow: [] };
  const put = (bucket, key, p, level) => {
    const entry = (bucket[key] ||= { level, messages: [] });
    if (level === "error") entry.level = "error";
    entry.messages.push(p.message);
  };
  for (const [list, level] of [[problems, "error"], [warnings, "warning"]]) {
    for (const p of list) {
      const ptr = p.pointer || "";
      if (ptr !== base && !ptr.startsWith(`${base}/`)) continue;
      const parts = ptr.slice(base.length).split("/").slice(1).map((x) => x.replace(/~1/g, "/").replace(/~0/g, "~"));
      if (parts[0] === "nodes" && parts.length > 1) {
        const id = Array.isArray(rawNodes) ? rawNodes[Number(parts[1])]?.id : parts[1];
        if (id !== undefined) { put(map.nodes, id, p, level); continue; }
      }
      if (parts[0] === "edges" && parts.length > 1 && edges[Number(parts[1])]) {
        put(map.edges, edges[Number(parts[1])].id, p, level);
        continue;
      }
      map.flow.push({ ...p, level });
    }
  }
  return map;
}

function pickProblem(p) {
  const base = `/flows/${flowIndex()}`;
  const parts = (p.pointer || "").slice(base.length).split("/").slice(1);
  const flow = flowOf();
  if (parts[0] === "nodes") {
    const id = Array.isArray(flow.nodes) ? flow.nodes[Number(parts[1])]?.id : parts[1];
    if (id) select({ kind: "node", id }, true);
  } else if (parts[0] === "edges") {
    const e = edgesOf(flow)[Number(parts[1])];
    if (e) select({ kind: "edge", id: e.id }, true);
  } else {                                  // about the flow itself (its form, reopen_to ...)
    select(null);
    (document.getElementById(`flow-${{ form: "form", start: "start", reopen_to: "reopen" }[parts[0]] || "label-zh"}`))?.focus();
  }
}

function targetName(p) {
  const base = `/flows/${flowIndex()}`;
  const parts = (p.pointer || "").slice(base.length).split("/").slice(1);
  const flow = flowOf();
  const nodes = nodesOf(flow);
  if (parts[0] === "nodes") {
    const id = Array.isArray(flow.nodes) ? flow.nodes[Number(parts[1])]?.id : parts[1];
    const n = nodes.find((x) => x.id === id);
    if (n) return nodeName(ctx(), n);
  } else if (parts[0] === "edges") {
    const e = edgesOf(flow)[Number(parts[1])];
    if (e) return `${t("fd_edge")} ${e.from} → ${e.to}`;
  }
  return label(flow.label, flow.key);
}

function renderProblems() {
  if (!flowOf()) return;
  const base = `/flows/${flowIndex()}`;
  const mine = (list) => list.filter((p) => p.pointer === base || p.pointer?.startsWith(`${base}/`));
  const errs = mine(problems);
  const warns = mine(warnings);
  els.problems.hidden = false;
  els.problems.classList.toggle("ok", !errs.length && !warns.length);
  els.problems.classList.toggle("warn-only", !errs.length && !!warns.length);
  if (!errs.length && !warns.length) {
    els.problems.replaceChildren(h("p", { class: "fd-ok" }, "✓ " + t("fd_checks_ok")));
    return;
  }
  // each finding is a sentence that names the step or connection it is about (builder/messages.py), a
  // link that selects it; the code stays in data-code, off the screen
  const item = (p) => h("li", { "data-code": p.code || "", "data-pointer": p.pointer || "" },
    h("a", { href: "#", onclick: (ev) => { ev.preventDefault(); pickProblem(p); } }, p.message || targetName(p)));
  els.problems.replaceChildren(...[
    errs.length ? h("h2", {}, `${t("errors")} (${errs.length})`) : null,
    errs.length ? h("ul", { class: "error-list", role: "alert" }, ...errs.map(item)) : null,
    warns.length ? h("h2", { class: "warn" }, `${t("fd_warnings")} (${warns.length})`) : null,
    warns.length ? h("ul", { class: "error-list warnings" }, ...warns.map(item)) : null,
  ].filter(Boolean));
}

let validateTimer = null;
function scheduleValidate() {
  clearTimeout(validateTimer);
  validateTimer = setTimeout(async () => {
    try {
      const res = await post(`/apps/${enc(appKey)}/draft/validate`, { package: store.package });
      const same = JSON.stringify([problems, warnings]) === JSON.stringify([res.errors || [], res.warnings || []]);
      problems = res.errors || [];
      warnings = res.warnings || [];
      if (same && !els.problems.hidden) return;        // nothing new: leave the diagram as it is
    } catch { return; }
    renderProblems();
    renderCanvas();
  }, 400);
}

// -- view --------------------------------------------------------------------------------------

function edgeText(e) {
  if (e.label) return label(e.label, "");
  const parts = [];
  if (e.outcome) {
    const src = nodesOf(flowOf()).find((n) => n.id === e.from);
    const st = types[src?.type] || {};
    const outs = st.custom_outcomes && src?.config?.outcomes ? src.config.outcomes.map((o) => (typeof o === "string" ? { key: o, label: o } : o)) : st.outcomes || [];
    parts.push(label(outs.find((o) => o.key === e.outcome)?.label, e.outcome));
  }
  if (e.condition) parts.push(showLabels(e.condition, names(), registry.expressions?.functions || []));
  if (e.default) parts.push(t("fd_default"));
  return parts.join(" · ");
}

function assigneeText(a) {
  if (!a || !a.kind) return "";
  return a.kind === "initiator" ? t("fd_kind_initiator") : `${t(`fd_kind_${a.kind}`)}: ${a.value || "?"}`;
}

function detailOf(node) {
  const c = node.config || {};
  if (c.assignee) return assigneeText(c.assignee);
  if (Array.isArray(c.assignees)) return c.assignees.map((a) => a.value || t(`fd_kind_${a.kind}`)).join(", ");
  if (Array.isArray(c.actions)) return c.actions.map((a) => a.type).join(", ");
  if (c.after) return c.after;
  return "";
}

function viewModel() {
  const flow = flowOf();
  const nodes = nodesOf(flow);
  const pos = positions();
  const pm = problemMap();
  const byId = Object.fromEntries(nodes.map((n) => [n.id, n]));
  return {
    selected, connectFrom,
    nodes: nodes.map((n) => {
      const info = types[n.type] || { label: n.type, group: "task" };
      const typeLabel = label(info.label, n.type);
      const name = label(n.label, "") || typeLabel;
      const p = pm.nodes[n.id];
      return { id: n.id, type: n.type, group: info.group, ...pos[n.id], label: name, typeLabel, detail: detailOf(n),
        glyph: GLYPHS[n.type] || ICON_GLYPHS[info.icon] || "●",
        canLeave: (info.edges_out || [1, null])[1] !== 0,
        aria: `${name} · ${typeLabel} (${n.id})`, problem: p?.level, messages: p?.messages };
    }),
    edges: edgesOf(flow).map((e) => {
      const p = pm.edges[e.id];
      const text = edgeText(e);
      const a = byId[e.from] ? label(byId[e.from].label, e.from) : e.from;
      const b = byId[e.to] ? label(byId[e.to].label, e.to) : e.to;
      return { id: e.id, from: e.from, to: e.to, text, isDefault: !!e.default, problem: p?.level, messages: p?.messages,
        aria: `${t("fd_edge")} ${a} → ${b}${text ? `: ${text}` : ""}` };
    }),
  };
}

function renderCanvas() {
  const flow = flowOf();
  if (!flow) return;                       // its creation was undone: nothing to draw
  title.render();
  canvas.render(viewModel());
}

function ctx() {
  const flow = flowOf();
  return { el: els.props, flow, pkg: store.package, nodes: nodesOf(flow), edges: edgesOf(flow), types, registry,
    formFields, names, editFlow, editNode, editEdge, connect, removeNode, removeEdge, renameNode, setDefault, edgeText,
    select };
}

function renderProps() {
  if (!flowOf()) return;
  const focusId = els.props.contains(document.activeElement) ? document.activeElement.id : null;
  els.props.replaceChildren();
  const c = ctx();
  if (selected?.kind === "node") {
    const node = c.nodes.find((n) => n.id === selected.id);
    if (node) renderNodeProps(c, node); else selected = null;
  } else if (selected?.kind === "edge") {
    const edge = c.edges.find((e) => e.id === selected.id);
    if (edge) renderEdgeProps(c, edge); else selected = null;
  }
  if (!selected) renderFlowProps(c);
  if (focusId) document.getElementById(focusId)?.focus();
}

function select(sel, focus = false) {
  selected = sel;
  renderCanvas();
  renderProps();
  if (focus && sel) canvas.focus(sel.kind, sel.id);
}

function renderPalette() {
  const groups = {};
  const rank = (info) => (info.is_start ? 0 : info.is_end ? 2 : 1);      // start first, end last
  for (const info of [...(registry.flow_nodes || [])].sort((a, b) => rank(a) - rank(b))) (groups[info.group] ||= []).push(info);
  const order = [...GROUPS.filter((g) => groups[g]), ...Object.keys(groups).filter((g) => !GROUPS.includes(g))];
  els.palette.replaceChildren(h("h2", {}, t("fd_palette")), h("p", { class: "muted small" }, t("fd_palette_hint")),
    ...order.map((g) => h("section", { class: "palette-group" }, h("h3", {}, GROUPS.includes(g) ? t(`fd_group_${g}`) : g),
      h("div", { class: "palette-items fd-items" }, ...groups[g].map((info) => h("button", {
        type: "button", class: `palette-item fd-item group-${g}`, draggable: "true", "data-node-type": info.type,
        title: t("fd_palette_hint"), onclick: () => addNode(info.type),
        ondragstart: (e) => { e.dataTransfer.setData(MIME_NODE, info.type); e.dataTransfer.effectAllowed = "copy"; } },
      h("span", { class: "fd-item-glyph", "aria-hidden": "true" }, GLYPHS[info.type] || ICON_GLYPHS[info.icon] || "□"),
      label(info.label, info.type)))))));
}

// Above the canvas: auto-layout and zoom.
function renderToolbar() {
  const level = h("output", { id: "fd-zoom-level", "aria-live": "polite" }, "100%");
  const bar = h("div", { class: "fd-toolbar", id: "fd-toolbar", role: "toolbar", "aria-label": t("fd_canvas") },
    h("button", { type: "button", id: "btn-layout", onclick: autoLayout }, t("fd_auto_layout")),
    h("span", { class: "fd-zoom" },
      h("button", { type: "button", id: "btn-zoom-out", class: "icon", "aria-label": t("fd_zoom_out"), title: t("fd_zoom_out"),
        onclick: () => canvas.setZoom(canvas.zoom - 0.1) }, "−"),
      level,
      h("button", { type: "button", id: "btn-zoom-in", class: "icon", "aria-label": t("fd_zoom_in"), title: t("fd_zoom_in"),
        onclick: () => canvas.setZoom(canvas.zoom + 0.1) }, "+"),
      h("button", { type: "button", id: "btn-zoom-fit", class: "small", onclick: () => canvas.fit() }, t("fd_zoom_fit"))));
  els.canvas.before(bar);
}

function flash(text) {
  const note = h("p", { class: "fd-flash", role: "alert" }, text);
  els.canvas.parentElement.querySelector(".fd-flash")?.remove();
  els.canvas.before(note);
  setTimeout(() => note.remove(), 4000);
}

// -- start -------------------------------------------------------------------------------------

// ``?new=1&label=...`` from the app page: the flow's starting definition is this designer's
// first (undoable) change — start → a user task (the initiator's) → end, connected, on the app's first
// form — and it is saved at once: the smallest flow that runs needs no drawing.
async function createIfNew() {
  const params = new URLSearchParams(window.location.search);
  if (flowOf() || params.get("new") !== "1") return false;
  const text = params.get("label") || flowKey;
  const form = (store.package.forms || [])[0];
  store.change((pkg) => {
    const task = { ...newNode("user_task", { nodes: [] }), position: { x: 170, y: 140 } };
    const flow = { key: flowKey, version: 1, label: text, start: "on_create",
      nodes: [{ id: "start", type: "start", label: { "zh-CN": "开始", en: "Start" }, position: { x: 40, y: 142 } },
        task, { id: "end", type: "end", label: { "zh-CN": "结束", en: "End" }, position: { x: 420, y: 142 } }],
      edges: [{ id: "e_1", from: "start", to: task.id }, { id: "e_2", from: task.id, to: "end" }] };
    if (form) flow.form = form.key;
    pkg.flows = [...(pkg.flows || []), flow];
  }, "create");
  title.render();   // the name at once, not the key, while the first save is on its way
  await toolbar.save();
  // the address drops "new=1" only once the item is saved: a reload before then creates it again
  history.replaceState(null, "", window.location.pathname + (params.get("lang") ? `?lang=${enc(params.get("lang"))}` : ""));
  return true;
}

async function start() {
  [registry] = await Promise.all([get("/registries"), store.load()]);
  for (const info of registry.flow_nodes || []) types[info.type] = info;
  await createIfNew();
  if (!flowOf()) {
    els.canvas.replaceChildren(h("p", { role: "alert", class: "field-error" }, `${t("fd_no_flow")}: ${flowKey}`));
    return;
  }
  canvas = new FlowCanvas(els.canvas, {
    onDrop: (type, x, y, edgeId) => addNode(type, x, y, edgeId),
    onAddNext: (id, anchor) => openAddMenu(id, anchor),
    onMove: (id, x, y) => { selected = { kind: "node", id }; moveNode(id, x, y); renderProps(); },
    onNudge: (id, dx, dy) => {
      const p = positions()[id];
      selected = { kind: "node", id };
      moveNode(id, p.x + dx, p.y + dy, `nudge:${id}`);
      canvas.focus("node", id);
    },
    onConnect: (from, to) => connect(from, to),
    onConnectStart: (id) => { connectFrom = id; renderCanvas(); if (id) announce(t("fd_connect_pick")); },
    onSelect: (sel) => { if (JSON.stringify(sel) !== JSON.stringify(selected)) select(sel); },
    onActivate: (sel) => {
      select(sel);
      els.props.querySelector("input, select, textarea")?.focus();
    },
    onDelete: (sel) => (sel.kind === "node" ? removeNode(sel.id) : removeEdge(sel.id)),
    onZoom: (z) => { document.getElementById("fd-zoom-level").textContent = `${Math.round(z * 100)}%`; },
  }, { labels: { canvas: t("fd_canvas"), keysId: "fd-keys-help", addNext: t("fd_add_next") } });
  els.canvas.append(h("p", { id: "fd-keys-help", class: "visually-hidden" }, t("fd_keys")));
  renderToolbar();
  toolbar.bind();
  store.addEventListener("change", (e) => {
    const reason = e.detail.reason;
    if (["undo", "redo", "load"].includes(reason)) {
      // undoing the creation of a new flow leaves nothing to draw until it is redone (or saved so)
      const gone = !flowOf();
      document.getElementById("fd-gone")?.remove();
      for (const el of [els.canvas, document.getElementById("fd-toolbar"), els.props, els.problems]) el.hidden = gone;
      if (gone) {
        els.canvas.before(h("p", { id: "fd-gone", class: "fd-flash", role: "status" }, t("fd_gone")));
        toolbar.render();
        return;
      }
      const c = ctx();
      if (selected?.kind === "node" && !c.nodes.some((n) => n.id === selected.id)) selected = null;
      if (selected?.kind === "edge" && !c.edges.some((x) => x.id === selected.id)) selected = null;
      renderCanvas();
      renderProps();
    }
    toolbar.render();
    if (reason !== "saved" && flowOf()) scheduleValidate();
  });
  document.getElementById("btn-publish").addEventListener("click", async () => {
    const result = await publishFlow(store, { onErrors: (errs) => { problems = errs; warnings = []; renderProblems(); renderCanvas(); } });
    if (result) {
      problems = [];
      renderAll();
      els.state.replaceChildren(`${t("publish_ok")}${result.to_version} · `,
        h("a", { href: root.dataset.inbox, id: "open-inbox" }, t("fd_open_inbox")));
      await offerMigration(flowKey, publishedNodes(), { quiet: true });
    }
  });
  document.getElementById("btn-migrate").addEventListener("click", () => offerMigration(flowKey, publishedNodes()));
  renderPalette();
  renderAll();
  const { w, h: ht } = canvas.extent();               // a large flow opens zoomed to fit
  if (w > els.canvas.clientWidth || ht > els.canvas.clientHeight) canvas.fit();
  scheduleValidate();
}

// the flow's nodes as {id, type, label}, whatever shape the package keeps them in
function publishedNodes() {
  const flow = flowOf();
  return flow ? nodesOf(flow).map((n) => ({ id: n.id, type: n.type, label: n.label })) : [];
}

function renderAll() {
  renderCanvas();
  renderProps();
  toolbar.render();
}

start().catch((err) => {
  els.canvas.replaceChildren(h("p", { role: "alert", class: "field-error" }, err.message));
  console.error(err);
});
