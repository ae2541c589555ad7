// The dashboard designer: the app's reports on a 12-column grid. A new chart is made here (a chart type
// clicked or dragged onto the grid, then its field picked on the right: dashboard-charts.js), or a
// dashboard starts from templates; an existing report is dragged from the list onto the grid (or
// focused and Enter pressed): dropped on a taken place it goes to the nearest free one. Drag a tile's
// title bar to move it and its corner to resize it; with the keyboard a focused tile moves with the
// arrow keys, resizes with Shift+arrows and goes with Delete. Tiles a moved tile would overlap are
// pushed down. Shared filters, the title and the refresh interval
// are edited in the panel. Tiles are live: the draft dashboard and the draft's reports are posted to
// /builder/api/apps/<app>/dashboards/preview, which answers with the runtime dashboard's own data.
import { get, post, enc } from "./api.js";
import { DraftStore } from "./draft.js";
import { publishFlow } from "./publish.js";
import { bindToolbar, titleEditor } from "./designer-shell.js";
import { isDefaultName, relabel } from "./i18n.js";
import {
  t, h, label, announce, LANG, TEMPORAL, reportFields, widgetIndex, keepFocus, createIfNew, followDraft,
  drawFigure, codedErrors, setLabel, labelIn,
} from "./report-common.js";
import { chartReport, formsOf, newReportKey, quickSettings, templatePanel, templateReport, templatesLabel } from "./dashboard-charts.js";

const root = document.getElementById("dashboard-designer");
const appKey = root.dataset.app;
const dashKey = root.dataset.dashboard;
const store = new DraftStore(appKey);
const els = {
  reports: document.getElementById("dd-reports"),
  grid: document.getElementById("dd-grid"),
  props: document.getElementById("dd-props"),
  problems: document.getElementById("dd-problems"),
  title: document.getElementById("dashboard-title"),
  try: document.getElementById("dd-try"),
  start: document.getElementById("dd-start-holder"),
};
const COLS = 12;
const ROW_PX = 70;
const MAX_H = 24;
const MIME = "application/x-jimu-report";
const MIME_CHART = "application/x-jimu-chart-type";

let registry = null;
let widgets = {};
let charts = {};          // chart type → palette entry
let tiles = {};           // report key → the last preview's tile (figure, empty or error)
let problems = [];
let selected = null;      // index of the selected tile
let dragging = null;      // {report: key} or {chart: type} while one is dragged from the palette
let showTemplates = false; // the template panel, opened on a dashboard that already has tiles
let creating = false;     // reports are being created (their keys come from the server)
let lastForm = null;      // the form of the last chart made here: the next one starts on it
let toolbar = null;
let tryValues = {};       // shared filter values tried in the designer (not saved): field → value
let pointerBusy = false;  // a tile is being dragged: the live data waits, so the tile is not replaced under the pointer

// -- model -------------------------------------------------------------------------------------------

const dashOf = (pkg = store.package) => (pkg.dashboards || []).find((d) => d.key === dashKey);
const reportOf = (key) => (store.package.reports || []).find((r) => r.key === key);
const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));
const overlaps = (a, b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

function edit(fn, reason = "edit", { quiet = false, coalesce = null } = {}) {
  store.change((pkg) => fn(dashOf(pkg), pkg), reason, { coalesce });
  if (!quiet) renderAll();
}

// Put tile ``i`` at ``rect`` and push every tile it (or a pushed tile) would overlap further down.
function place(dash, i, rect) {
  const moved = Object.assign(dash.charts[i], rect);
  const settled = [moved];
  const others = dash.charts.filter((_, j) => j !== i).sort((a, b) => a.y - b.y || a.x - b.x);
  for (const tile of others) {
    let hit = settled.find((s) => overlaps(s, tile));
    while (hit) {
      tile.y = hit.y + hit.h;
      hit = settled.find((s) => overlaps(s, tile));
    }
    settled.push(tile);
  }
}

// The first free place for a w×h tile in reading order, from ``from`` (the top-left corner by default).
function freeSpot(dash, w, h, from = { x: 0, y: 0 }) {
  for (let y = from.y; y < from.y + 200; y += 1) {
    for (let x = y === from.y ? from.x : 0; x + w <= COLS; x += 1) {
      const rect = { x, y, w, h };
      if (!dash.charts.some((c) => overlaps(c, rect))) return { x, y };
    }
  }
  return { x: 0, y: Math.max(0, ...dash.charts.map((c) => c.y + c.h)) };
}

function tileSize(type) {
  if (type === "kpi" || type === "gauge") return { w: 4, h: 3 };
  return type === "line" ? { w: COLS, h: 4 } : { w: 6, h: 4 };   // a trend reads best the whole width
}

// Where a new tile goes: the place it was dropped on when that is free, else the nearest free place
// after it (a tile never lands on another, and nothing already placed moves); without a drop, the
// first free place.
function newTile(dash, reportKey, type, at) {
  const { w, h: height } = tileSize(type);
  const want = at ? { x: clamp(at.x, 0, COLS - w), y: Math.max(0, at.y) } : { x: 0, y: 0 };
  const spot = freeSpot(dash, w, height, want);
  return { tile: { report: reportKey, x: spot.x, y: spot.y, w, h: height }, moved: !!at && (spot.x !== want.x || spot.y !== want.y) };
}

function addTile(reportKey, at = null) {
  let index = 0;
  let moved = false;
  edit((dash) => {
    const made = newTile(dash, reportKey, reportOf(reportKey)?.type, at);
    dash.charts.push(made.tile);
    moved = made.moved;
    index = dash.charts.length - 1;
  }, "add");
  selected = index;
  renderAll();
  const c = dashOf().charts[index];
  announce(moved ? `${t("dd_taken")}${c.x + 1}, ${c.y + 1}` : `${t("rd_added")}${label(reportOf(reportKey)?.label, reportKey)}`);
  document.getElementById(`tile-${index}`)?.focus();
}

// New reports made here, each with its tile: ``makers`` are functions (key) → report definition.
// A report's key comes from the server and is taken once the draft is saved, so the draft is saved
// before each key is asked for and after the last report.
async function createCharts(makers, at = null) {
  if (creating) return [];
  creating = true;
  const made = [];
  try {
    for (const make of makers) {
      if (store.dirty()) await toolbar.save();
      if (store.dirty()) break;                 // not saved (its message is in the toolbar): stop here
      const report = make(await newReportKey(appKey));
      let index = 0;
      edit((dash, pkg) => {
        pkg.reports = [...(pkg.reports || []), report];
        const { tile } = newTile(dash, report.key, report.type, made.length ? null : at);
        dash.charts.push(tile);
        index = dash.charts.length - 1;
      }, "add", { quiet: true });
      made.push(index);
      lastForm = report.form;
    }
    if (store.dirty()) await toolbar.save();
  } catch (err) {
    announce(err.message);
  } finally {
    creating = false;
  }
  if (made.length) {
    selected = made[made.length - 1];
    showTemplates = false;
    renderAll();
    announce(`${t("dd_created_charts")}${made.map((i) => tileTitle(dashOf().charts[i])).join(", ")}`);
    document.getElementById(`tile-${selected}`)?.focus();
  }
  return made;
}

// The form a new chart starts on: the selected tile's, the last chart's, else the draft's first form.
function startForm() {
  const forms = formsOf(store.package);
  const selectedForm = selected !== null ? reportOf(dashOf().charts[selected]?.report)?.form : null;
  return forms.find((f) => f.key === selectedForm) || forms.find((f) => f.key === lastForm) || forms[0];
}

function newChart(type, at = null) {
  const form = startForm();
  if (!form || !charts[type]) return;
  createCharts([(key) => chartReport(charts[type], form, widgets, key)], at);
}

// Charts from the template panel; a dashboard still under its one-click name ("仪表盘1") is named after
// the templates (saved with the first chart).
function fromTemplates(form, chosen, answers) {
  if (isDefaultName("dashboards", dashOf().label)) edit((dash) => { dash.label = templatesLabel(chosen); }, "edit");
  createCharts(chosen.map((tpl) => (key) => templateReport(tpl, form, widgets, key, answers, store.package)));
}

function removeTile(i) {
  const name = tileTitle(dashOf().charts[i]);
  edit((dash) => { dash.charts.splice(i, 1); }, "remove");
  selected = null;
  renderAll();
  announce(`${t("rd_removed")}${name}`);
  const next = document.getElementById(`tile-${Math.min(i, dashOf().charts.length - 1)}`);
  (next || els.grid).focus?.();
}

function moveTile(i, rect, reason = "move") {
  edit((dash) => place(dash, i, rect), reason);
  const c = dashOf().charts[i];
  announce(reason === "resize" ? `${t("dd_resized")}${c.w}×${c.h}` : `${t("dd_moved")}${c.x + 1}, ${c.y + 1}`);
  document.getElementById(`tile-${i}`)?.focus();
}

function tileTitle(item) {
  return label(item.title, "") || label(reportOf(item.report)?.label, item.report);
}

// -- report list -------------------------------------------------------------------------------------

function renderReports() {
  const reports = store.package.reports || [];
  const used = new Set(dashOf().charts.map((c) => c.report));
  const hasForms = formsOf(store.package).length > 0;
  const types = chartTypes().map((c) => {
    const btn = h("button", { type: "button", class: "dd-chart-type palette-item", draggable: "true", "data-chart": c.type,
      disabled: !hasForms || creating, "aria-describedby": "dd-new-help" }, label(c.label, c.type));
    btn.addEventListener("click", () => newChart(c.type));
    btn.addEventListener("dragstart", (e) => {
      dragging = { chart: c.type };
      e.dataTransfer.setData(MIME_CHART, c.type);
      e.dataTransfer.setData("text/plain", label(c.label, c.type));
      e.dataTransfer.effectAllowed = "copy";
    });
    btn.addEventListener("dragend", () => { dragging = null; els.grid.classList.remove("drop-here"); });
    return btn;
  });
  els.reports.replaceChildren(
    h("h2", {}, t("dd_new_chart")),
    h("p", { class: "small muted", id: "dd-new-help" }, hasForms ? t("dd_new_chart_help") : t("dd_no_forms")),
    h("div", { class: "palette-items dd-chart-types" }, ...types),
    h("button", { type: "button", class: "small dd-open-templates", id: "dd-open-templates", disabled: !hasForms,
      onclick: () => { showTemplates = true; renderStart(); document.getElementById("tpl-form")?.focus(); } }, t("dd_from_templates")),
    h("h2", { class: "dd-existing" }, t("dd_existing")),
    reports.length ? h("p", { class: "small muted", id: "dd-drop-help" }, t("dd_drop_tile")) : h("p", { class: "small muted" }, t("dd_no_reports")),
    h("ul", { class: "dd-report-list" }, ...reports.map((r) => {
      const btn = h("button", { type: "button", class: "dd-report palette-item", draggable: "true", "data-report": r.key,
        "aria-describedby": "dd-drop-help" },
      label(r.label, r.key), h("small", { class: "muted" }, `${label(charts[r.type]?.label, r.type)}${used.has(r.key) ? ` · ${t("dd_on_board")}` : ""}`));
      btn.addEventListener("click", () => addTile(r.key));
      btn.addEventListener("dragstart", (e) => {
        dragging = { report: r.key };
        e.dataTransfer.setData(MIME, r.key);
        e.dataTransfer.setData("text/plain", r.key);
        e.dataTransfer.effectAllowed = "copy";
      });
      btn.addEventListener("dragend", () => { dragging = null; els.grid.classList.remove("drop-here"); });
      return h("li", {}, btn);
    })));
}

// The chart types, the everyday ones first.
const COMMON = ["pie", "bar", "line", "kpi"];
function chartTypes() {
  const rank = (c) => (COMMON.includes(c.type) ? COMMON.indexOf(c.type) : COMMON.length);
  return Object.values(charts).sort((a, b) => rank(a) - rank(b));
}

// The template panel: on an empty dashboard, or when opened from the palette.
function renderStart() {
  const open = showTemplates || !dashOf().charts.length;
  if (!open) { els.start.replaceChildren(); return; }
  els.start.replaceChildren(templatePanel({ pkg: store.package, widgets, onCreate: fromTemplates,
    onClose: dashOf().charts.length ? () => { showTemplates = false; renderStart(); } : null }));
}

// -- the grid ----------------------------------------------------------------------------------------

function metrics() {
  const rect = els.grid.getBoundingClientRect();
  const style = getComputedStyle(els.grid);
  const gap = parseFloat(style.columnGap) || 0;
  const rowGap = parseFloat(style.rowGap) || 0;
  const colW = (rect.width - gap * (COLS - 1)) / COLS;
  return { rect, colPitch: colW + gap, rowPitch: ROW_PX + rowGap };
}

function cellAt(clientX, clientY) {
  const m = metrics();
  return { col: Math.floor((clientX - m.rect.left) / m.colPitch), row: Math.floor((clientY - m.rect.top) / m.rowPitch) };
}

function position(node, c) {
  node.style.gridColumn = `${c.x + 1} / span ${c.w}`;
  node.style.gridRow = `${c.y + 1} / span ${c.h}`;
}

// Plot nodes are kept between renders (moved into the new tile, resized when the tile changed size)
// and drawn again only when their figure changed: redrawing on every move would also race plotly's
// own asynchronous margin redraws.
const plots = new Map();   // "<tile index>:<report key>" → {figure, node, size}

function plotFor(key, figure, size) {
  const kept = plots.get(key);
  if (kept && kept.figure === figure) {
    if (kept.size !== size) {
      kept.size = size;
      requestAnimationFrame(() => { if (kept.node.isConnected && kept.node._fullLayout) window.Plotly.Plots.resize(kept.node); });
    }
    return kept.node;
  }
  if (kept) window.Plotly?.purge(kept.node);
  const node = h("div", { class: "plot" });
  plots.set(key, { figure, node, size, drawn: false });
  requestAnimationFrame(() => drawFigure(node, figure));
  return node;
}

function renderGrid() {
  const dash = dashOf();
  const bottom = Math.max(6, ...dash.charts.map((c) => c.y + c.h)) + 3;
  els.grid.style.minHeight = `${bottom * (ROW_PX + 8)}px`;
  const nodes = dash.charts.map((c, i) => tileNode(c, i));
  const shown = new Set();
  for (const [i, c] of dash.charts.entries()) {
    const data = tiles[c.report];
    const body = nodes[i].querySelector(".dd-tile-body");
    if (!data) {
      body.replaceChildren(h("p", { class: problems.length ? "tile-error" : "tile-empty" },
        problems.length ? t("rd_problems") : t("rd_loading")));
    } else if (data.error) {
      const first = data.error.errors?.[0] || data.error;
      // words in the UI language (builder/messages.py); the code stays for scripts, off the screen
      body.replaceChildren(h("p", { class: "tile-error", role: "note", "data-code": data.error.code },
        h("span", { class: "err-text", "data-code": first.code }, first.message)));
    } else {
      nodes[i].dataset.rows = JSON.stringify(data.rows);
      nodes[i].dataset.sample = data.sample ? "1" : "";
      if (data.empty) body.replaceChildren(h("p", { class: "tile-empty" }, t("dd_empty")));
      else {
        const key = `${i}:${c.report}`;   // the same report may sit on the grid twice
        shown.add(key);
        body.replaceChildren(plotFor(key, data.figure, `${c.w}x${c.h}`));
      }
      // a report of a form only in the draft: drawn on sample records made from its fields
      if (data.sample) body.prepend(h("p", { class: "tile-sample muted small", title: t("rd_sample") }, t("rd_sample_short")));
    }
  }
  for (const [key, kept] of plots) {
    if (!shown.has(key)) { window.Plotly?.purge(kept.node); plots.delete(key); }
  }
  els.grid.replaceChildren(...nodes);
}

function tileNode(c, i) {
  const title = tileTitle(c);
  const node = h("section", { class: `dd-tile${selected === i ? " selected" : ""}`, id: `tile-${i}`, tabindex: "0", role: "listitem",
    "data-index": String(i), "data-report": c.report, "data-x": String(c.x), "data-y": String(c.y), "data-w": String(c.w), "data-h": String(c.h),
    "aria-label": `${title}: ${t("dd_x")} ${c.x + 1}, ${t("dd_y")} ${c.y + 1}, ${t("dd_w")} ${c.w}, ${t("dd_h")} ${c.h}`,
    "aria-describedby": "dd-help" });
  position(node, c);
  const header = h("header", { class: "dd-tile-head" }, h("h2", { title }, title),
    h("span", { class: "dd-size", title: t("dd_size", { w: c.w, h: c.h }) }, `${c.w}×${c.h}`));
  const resize = h("button", { type: "button", class: "dd-resize", tabindex: "-1", "aria-label": `${t("dd_resize")} ${title}` });
  node.append(header, h("div", { class: "dd-tile-body plot-box" }), resize);
  node.addEventListener("keydown", (e) => tileKeys(e, i));
  node.addEventListener("click", () => { if (selected !== i) { selected = i; renderAll(); document.getElementById(`tile-${i}`)?.focus(); } });
  header.addEventListener("pointerdown", (e) => startPointer(e, i, "move"));
  resize.addEventListener("pointerdown", (e) => startPointer(e, i, "resize"));
  return node;
}

function tileKeys(e, i) {
  if (e.target !== e.currentTarget) return;
  const c = dashOf().charts[i];
  const arrows = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  if (arrows[e.key]) {
    e.preventDefault();
    const [dx, dy] = arrows[e.key];
    if (e.shiftKey) {
      const w = clamp(c.w + dx, 1, COLS - c.x);
      const hh = clamp(c.h + dy, 1, MAX_H);
      if (w !== c.w || hh !== c.h) moveTile(i, { w, h: hh }, "resize");
    } else {
      const x = clamp(c.x + dx, 0, COLS - c.w);
      const y = Math.max(0, c.y + dy);
      if (x !== c.x || y !== c.y) moveTile(i, { x, y });
    }
  } else if (e.key === "Delete" || e.key === "Backspace") {
    e.preventDefault();
    removeTile(i);
  } else if (e.key === "Enter" || e.key === " ") {
    e.preventDefault();
    selected = i;
    renderAll();
    document.getElementById(`tile-${i}`)?.focus();
  }
}

// Pointer drags: the tile follows the pointer cell by cell; one undoable change when it is let go.
function startPointer(e, i, mode) {
  if (e.button !== 0) return;
  e.preventDefault();
  e.stopPropagation();
  const node = document.getElementById(`tile-${i}`);
  const c = { ...dashOf().charts[i] };
  const start = cellAt(e.clientX, e.clientY);
  const offset = { col: start.col - c.x, row: start.row - c.y };
  let next = { ...c };
  node.classList.add("moving");
  pointerBusy = true;
  node.setPointerCapture?.(e.pointerId);
  const onMove = (ev) => {
    const cell = cellAt(ev.clientX, ev.clientY);
    if (mode === "move") {
      next = { ...c, x: clamp(cell.col - offset.col, 0, COLS - c.w), y: Math.max(0, cell.row - offset.row) };
    } else {
      next = { ...c, w: clamp(cell.col - c.x + 1, 1, COLS - c.x), h: clamp(cell.row - c.y + 1, 1, MAX_H) };
    }
    position(node, next);
    node.querySelector(".dd-size").textContent = `${next.w}×${next.h}`;
  };
  const onUp = () => {
    node.removeEventListener("pointermove", onMove);
    node.removeEventListener("pointerup", onUp);
    node.removeEventListener("pointercancel", onUp);
    document.removeEventListener("pointermove", onMove);
    document.removeEventListener("pointerup", onUp);
    node.classList.remove("moving");
    pointerBusy = false;
    selected = i;
    if (next.x !== c.x || next.y !== c.y || next.w !== c.w || next.h !== c.h) {
      moveTile(i, { x: next.x, y: next.y, w: next.w, h: next.h }, mode === "move" ? "move" : "resize");
    } else {
      renderAll();
      document.getElementById(`tile-${i}`)?.focus();
    }
  };
  // with pointer capture the node gets the events; without it (older engines) the document does
  node.addEventListener("pointermove", onMove);
  node.addEventListener("pointerup", onUp);
  node.addEventListener("pointercancel", onUp);
  if (!node.setPointerCapture) {
    document.addEventListener("pointermove", onMove);
    document.addEventListener("pointerup", onUp);
  }
}

els.grid.addEventListener("dragover", (e) => {
  if (!dragging) return;
  e.preventDefault();
  e.dataTransfer.dropEffect = "copy";
  els.grid.classList.add("drop-here");
});
els.grid.addEventListener("dragleave", (e) => { if (!els.grid.contains(e.relatedTarget)) els.grid.classList.remove("drop-here"); });
els.grid.addEventListener("drop", (e) => {
  e.preventDefault();
  els.grid.classList.remove("drop-here");
  const what = dragging || { report: e.dataTransfer.getData(MIME), chart: e.dataTransfer.getData(MIME_CHART) };
  dragging = null;
  const cell = cellAt(e.clientX, e.clientY);
  const at = { x: Math.max(0, cell.col), y: Math.max(0, cell.row) };
  if (what.chart && charts[what.chart]) newChart(what.chart, at);
  else if (what.report && reportOf(what.report)) addTile(what.report, at);
});

// -- properties --------------------------------------------------------------------------------------

function labelInputs(id, name, current, write) {
  const box = (lang) => {
    const input = h("input", { id: `${id}-${lang === "zh-CN" ? "zh" : "en"}`, value: labelIn(current, lang),
      "aria-label": `${name} (${t(lang === "zh-CN" ? "rd_in_zh" : "rd_in_en")})` });
    input.addEventListener("input", () => write((old) => setLabel(old, input.value, lang), input.id));
    input.addEventListener("change", () => { renderTitle(); renderGrid(); });
    return input;
  };
  return [h("div", { class: "prop" }, h("label", { for: `${id}-zh` }, `${name} (${t("rd_in_zh")})`), box("zh-CN")),
    h("div", { class: "prop" }, h("label", { for: `${id}-en` }, `${name} (${t("rd_in_en")})`), box("en"))];
}

// Every field a shared filter can name: the fields of the forms of the dashboard's reports.
function filterFields() {
  const seen = new Map();
  for (const c of dashOf().charts) {
    const report = reportOf(c.report);
    const form = (store.package.forms || []).find((f) => f.key === report?.form);
    for (const f of reportFields(form, widgets)) if (!seen.has(f.ref)) seen.set(f.ref, f);
  }
  return [...seen.values()];
}

function kindFor(field) {
  if (field && TEMPORAL.has(field.kind)) return "date_range";
  if (field && (field.options || field.kind === "choice" || field.kind === "bool")) return "choice";
  return "text";
}

function renderProps() {
  const dash = dashOf();
  const parts = [];
  const c = selected !== null ? dash.charts[selected] : null;
  if (c) {
    const i = selected;
    const report = reportOf(c.report);
    parts.push(h("h2", {}, `${t("dd_tile")}: ${tileTitle(c)}`),
      ...(report ? quickSettings({ report, pkg: store.package, widgets, charts, base: root.dataset.base, appKey,
        change: (fn) => changeReport(c.report, fn) }) : []),
      ...labelInputs("tile-title", t("dd_tile_title"), c.title, (fn, id) => edit((d) => {
        const v = fn(d.charts[i].title);
        if (v) d.charts[i].title = v; else delete d.charts[i].title;
      }, "title", { quiet: true, coalesce: id })),
      ...labelInputs("tile-help", t("dd_tile_definition"), c.help, (fn, id) => edit((d) => {
        const v = fn(d.charts[i].help);
        if (v) d.charts[i].help = v; else delete d.charts[i].help;
      }, "help", { quiet: true, coalesce: id })),
      h("div", { class: "dd-xywh" }, ...["x", "y", "w", "h"].map((k) => {
        const id = `tile-${k}`;
        const shown = k === "x" || k === "y" ? c[k] + 1 : c[k];
        const input = h("input", { id, type: "number", min: "1", max: k === "h" ? String(MAX_H) : String(COLS), value: String(shown) });
        input.addEventListener("change", () => {
          const n = Number(input.value);
          if (!Number.isInteger(n)) return;
          const rect = { ...c };
          if (k === "x") rect.x = clamp(n - 1, 0, COLS - c.w);
          if (k === "y") rect.y = Math.max(0, n - 1);
          if (k === "w") rect.w = clamp(n, 1, COLS - c.x);
          if (k === "h") rect.h = clamp(n, 1, MAX_H);
          moveTile(i, rect, k === "w" || k === "h" ? "resize" : "move");
          document.getElementById(id)?.focus();
        });
        return h("div", { class: "prop" }, h("label", { for: id }, t(`dd_${k}`)), input);
      })),
      h("p", {}, h("button", { type: "button", class: "small danger", id: "tile-remove", onclick: () => removeTile(i) }, t("dd_remove_tile"))),
      h("h3", {}, t("dashboards")));
  } else {
    parts.push(h("h2", {}, t("properties")), h("p", { class: "small muted" }, t("dd_select_tile")));
  }
  parts.push(...labelInputs("dd-label", t("dd_dash_label"), dash.label, (fn, id) => edit((d) => {
    const v = fn(d.label);
    if (v) d.label = v; else delete d.label;
  }, "label", { quiet: true, coalesce: id })));
  const refresh = h("input", { id: "dd-refresh", type: "number", min: "30", max: "86400", value: dash.refresh_seconds ?? "" });
  refresh.addEventListener("change", () => edit((d) => {
    if (refresh.value) d.refresh_seconds = Number(refresh.value); else delete d.refresh_seconds;
  }, "refresh"));
  parts.push(h("div", { class: "prop" }, h("label", { for: "dd-refresh" }, t("dd_refresh")), refresh));

  const fields = filterFields();
  const byRef = Object.fromEntries(fields.map((f) => [f.ref, f]));
  parts.push(h("h3", {}, t("dd_shared_filters")),
    ...(dash.filters || []).map((f, j) => {
      const fieldSel = h("select", { id: `sf-${j}-field`, "aria-label": `${t("dd_shared_filters")} ${j + 1}: ${t("dd_filter_field")}` },
        ...fields.map((x) => h("option", { value: x.ref, selected: x.ref === f.field }, x.label)));
      if (!byRef[f.field]) fieldSel.append(h("option", { value: f.field, selected: true }, `${f.field} ?`));
      fieldSel.addEventListener("change", () => edit((d) => {
        const field = byRef[fieldSel.value];
        d.filters[j] = { field: fieldSel.value, kind: kindFor(field), label: field.labels };
      }, "filter"));
      const kindSel = h("select", { id: `sf-${j}-kind`, "aria-label": `${t("dd_shared_filters")} ${j + 1}: ${t("dd_filter_kind")}` },
        ...["date_range", "choice", "text"].map((k) => h("option", { value: k, selected: k === f.kind }, t(`kind_${k}`))));
      kindSel.addEventListener("change", () => edit((d) => { d.filters[j].kind = kindSel.value; }, "filter"));
      const names = labelInputs(`sf-${j}-label`, `${t("dd_filter_label")} ${j + 1}`, f.label, (fn, id) => edit((d) => {
        const v = fn(d.filters[j].label);
        if (v) d.filters[j].label = v; else delete d.filters[j].label;
      }, "filter", { quiet: true, coalesce: id }));
      return h("div", { class: "dd-filter-row", "data-index": String(j) }, fieldSel, kindSel,
        h("button", { type: "button", class: "icon danger", "aria-label": `${t("remove")} ${label(f.label, f.field)}`,
          onclick: () => edit((d) => { d.filters.splice(j, 1); if (!d.filters.length) delete d.filters; }, "filter") }, "✕"),
        h("div", { class: "pair" }, ...names.map((n) => n.querySelector("input"))));
    }),
    h("button", { type: "button", class: "small", id: "dd-add-filter", disabled: !fields.length, onclick: () => {
      const used = new Set((dash.filters || []).map((f) => f.field));
      const field = fields.find((f) => !used.has(f.ref) && f.group === "form" && f.options) ||
        fields.find((f) => !used.has(f.ref)) || fields[0];
      edit((d) => { (d.filters ||= []).push({ field: field.ref, kind: kindFor(field), label: field.labels }); }, "filter");
      document.getElementById(`sf-${(dashOf().filters || []).length - 1}-field`)?.focus();
    } }, `+ ${t("dd_add_filter")}`));
  els.props.replaceChildren(...parts);
}

// A change to a tile's report from its quick settings (one undoable step; the tiles follow live).
function changeReport(key, fn) {
  store.change((pkg) => { const r = (pkg.reports || []).find((x) => x.key === key); if (r) fn(r); }, "report");
  renderAll();
}

let title = null;            // the dashboard's name, edited in place in the heading
function renderTitle() {
  title ||= titleEditor(els.title, { get: () => label(dashOf()?.label, dashKey),
    set: (text) => edit((d) => { d.label = relabel(d.label, text); }, "edit", { coalesce: "dashboard-title" }) });
  title.render();
}

// -- trying the shared filters ------------------------------------------------------------------------

function triedValues() {
  const declared = new Set((dashOf()?.filters || []).map((f) => f.field));
  return Object.fromEntries(Object.entries(tryValues).filter(([k]) => declared.has(k)));
}

function renderTry() {
  const filters = dashOf().filters || [];
  els.try.hidden = !filters.length;
  if (!filters.length) { els.try.replaceChildren(); return; }
  const byRef = Object.fromEntries(filterFields().map((f) => [f.ref, f]));
  const set = (field, value) => {
    if (value === undefined || value === "" || (typeof value === "object" && !Object.keys(value).length)) delete tryValues[field];
    else tryValues[field] = value;
    schedulePreview();
  };
  els.try.replaceChildren(h("span", { class: "small muted" }, t("dd_try")), ...filters.map((f, j) => {
    const field = byRef[f.field];
    const name = label(f.label, field?.label || f.field);
    const current = tryValues[f.field];
    if (f.kind === "date_range") {
      const range = { ...(current || {}) };
      const box = (end) => {
        const input = h("input", { type: "date", id: `try-${j}-${end}`, value: range[end] || "", "aria-label": `${name} ${t(end === "from" ? "rd_from" : "rd_to")}` });
        input.addEventListener("change", () => {
          if (input.value) range[end] = input.value; else delete range[end];
          set(f.field, { ...range });
        });
        return input;
      };
      return h("span", { class: "rd-inline" }, h("span", { class: "small" }, name), box("from"), "–", box("to"));
    }
    if (f.kind === "choice" && field?.options) {
      const select = h("select", { id: `try-${j}`, "aria-label": name },
        h("option", { value: "" }, t("dd_all")),
        ...field.options.map((o) => h("option", { value: JSON.stringify(o.value), selected: current === o.value }, label(o.label, String(o.value)))));
      select.addEventListener("change", () => set(f.field, select.value ? JSON.parse(select.value) : undefined));
      return h("label", { class: "rd-inline small" }, name, select);
    }
    const input = h("input", { id: `try-${j}`, type: "search", value: current || "", "aria-label": name });
    input.addEventListener("change", () => set(f.field, input.value));
    return h("label", { class: "rd-inline small" }, name, input);
  }));
}

// -- live tiles --------------------------------------------------------------------------------------

let timer = null;
let seq = 0;
function schedulePreview() {
  clearTimeout(timer);
  seq += 1;                  // an answer still on its way is for an older dashboard: drop it
  els.grid.dataset.state = "pending";
  timer = setTimeout(runPreview, 300);
}

async function runPreview() {
  const mine = ++seq;
  if (!dashOf()) return;
  els.grid.dataset.state = "loading";
  let data = null;
  let errors = [];
  try {
    data = await post(`/apps/${enc(appKey)}/dashboards/preview`,
      { dashboard: dashOf(), reports: store.package.reports || [], lang: LANG, values: triedValues() });
  } catch (err) {
    errors = err.errors?.length ? err.errors : [{ code: err.code || "error", message: err.message }];
  }
  if (mine !== seq || !dashOf()) return;
  problems = errors;
  els.problems.hidden = !problems.length;
  els.problems.replaceChildren(h("h2", {}, `${t("errors")} (${problems.length})`), codedErrors(problems));
  tiles = {};                // a dashboard the engine refuses shows its problems, not stale tiles
  for (const tile of data?.charts || []) tiles[tile.report] = tile;
  if (pointerBusy) { schedulePreview(); return; }   // asked again once the tile is let go
  keepFocus(renderGrid);
  els.grid.dataset.state = errors.length ? "error" : "ok";
}

// -- start --------------------------------------------------------------------------------------------

function renderAll() {
  const dash = dashOf();
  if (selected !== null && !dash.charts[selected]) selected = null;
  keepFocus(() => {
    renderReports();
    renderStart();
    renderTry();
    renderGrid();
    renderProps();
  });
  renderTitle();
  toolbar.render();
}

function starting(text) {
  return { key: dashKey, version: 1, label: { "zh-CN": text, en: text }, charts: [] };
}

async function start() {
  [registry] = await Promise.all([get("/registries"), store.load()]);
  widgets = widgetIndex(registry);
  for (const c of registry.charts || []) charts[c.type] = c;
  toolbar = bindToolbar(store);
  if (!(await createIfNew(store, "dashboards", dashKey, starting))) {
    els.grid.replaceChildren(h("p", { role: "alert", class: "field-error" }, `${t("rd_not_found")}: ${dashKey}`));
    return;
  }
  followDraft(store, toolbar, { exists: () => dashOf(), renderAll, refresh: schedulePreview, holder: els.grid, placeholderId: "dd-missing" });
  document.getElementById("btn-publish").addEventListener("click", async () => {
    const result = await publishFlow(store, { onErrors: (errs) => {
      const at = `/dashboards/${(store.package.dashboards || []).indexOf(dashOf())}`;
      problems = errs.filter((x) => x.pointer === at || x.pointer?.startsWith(`${at}/`));
      els.problems.hidden = !problems.length;
      els.problems.replaceChildren(h("h2", {}, `${t("errors")} (${problems.length})`), codedErrors(problems));
    } });
    if (result) {
      renderAll();
      document.getElementById("save-state").replaceChildren(`${t("publish_ok")}${result.to_version} · `,
        h("a", { href: root.dataset.runtime, id: "open-runtime" }, t("rd_open_dashboard")));
    }
  });
  renderAll();
  schedulePreview();
  root.dataset.ready = "1";
}

start().catch((err) => {
  els.grid.replaceChildren(h("p", { role: "alert", class: "field-error" }, err.message));
});
