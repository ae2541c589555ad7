// The dashboard designer: the app's reports on a 12-column grid. Drag a report from the list onto the
// grid (or focus it and press Enter), drag a tile's title bar to move it and its corner to resize it;
// with the keyboard a focused tile moves with the arrow keys, resizes with Shift+arrows and goes with
// Delete. Tiles that would overlap are pushed down. Shared filters, the title and the refresh interval
// are edited in the panel. Tiles are live: the draft dashboard and the draft's reports are posted to
// /builder/api/apps/<app>/dashboards/preview, which answers with the runtime dashboard's own data.
import { get, post, enc } from "./api.js";
import { DraftStore } from "./draft.js";
import { publishFlow } from "./publish.js";
import { bindToolbar } from "./designer-shell.js";
import {
  t, h, label, announce, LANG, TEMPORAL, reportFields, widgetIndex, keepFocus, createIfNew, followDraft,
  drawFigure, codedErrors, setLabel, labelIn,
} from "./report-common.js";

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
};
const COLS = 12;
const ROW_PX = 70;
const MAX_H = 24;
const MIME = "application/x-jimu-report";

let registry = null;
let widgets = {};
let charts = {};          // chart type → palette entry
let tiles = {};           // report key → the last preview's tile (figure, empty or error)
let problems = [];
let selected = null;      // index of the selected tile
let dragging = null;      // a report key while one is dragged from the list
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

function freeSpot(dash, w, h) {
  for (let y = 0; y < 200; y += 1) {
    for (let x = 0; x + w <= COLS; x += 1) {
      const rect = { x, y, w, h };
      if (!dash.charts.some((c) => overlaps(c, rect))) return { x, y };
    }
  }
  return { x: 0, y: Math.max(0, ...dash.charts.map((c) => c.y + c.h)) };
}

function tileSize(reportKey) {
  const type = reportOf(reportKey)?.type;
  return type === "kpi" || type === "gauge" ? { w: 4, h: 3 } : { w: 6, h: 4 };
}

function addTile(reportKey, at = null) {
  let index = 0;
  edit((dash) => {
    const { w, h: height } = tileSize(reportKey);
    const spot = at ? { x: clamp(at.x, 0, COLS - w), y: Math.max(0, at.y) } : freeSpot(dash, w, height);
    dash.charts.push({ report: reportKey, x: spot.x, y: spot.y, w, h: height });
    index = dash.charts.length - 1;
    place(dash, index, {});
  }, "add");
  selected = index;
  renderAll();
  announce(`${t("rd_added")}${label(reportOf(reportKey)?.label, reportKey)}`);
  document.getElementById(`tile-${index}`)?.focus();
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
  els.reports.replaceChildren(h("h2", {}, t("dd_reports")),
    reports.length ? h("p", { class: "small muted", id: "dd-drop-help" }, t("dd_drop_tile")) : h("p", { class: "small muted" }, t("dd_no_reports")),
    h("ul", { class: "dd-report-list" }, ...reports.map((r) => {
      const btn = h("button", { type: "button", class: "dd-report palette-item", draggable: "true", "data-report": r.key,
        "aria-describedby": "dd-drop-help" },
      label(r.label, r.key), h("small", { class: "muted" }, `${label(charts[r.type]?.label, r.type)}${used.has(r.key) ? " ✓" : ""}`));
      btn.addEventListener("click", () => addTile(r.key));
      btn.addEventListener("dragstart", (e) => {
        dragging = r.key;
        e.dataTransfer.setData(MIME, r.key);
        e.dataTransfer.setData("text/plain", r.key);
        e.dataTransfer.effectAllowed = "copy";
      });
      btn.addEventListener("dragend", () => { dragging = null; els.grid.classList.remove("drop-here"); });
      return h("li", {}, btn);
    })));
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
      if (data.empty) body.replaceChildren(h("p", { class: "tile-empty" }, t("rd_empty")));
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
  const header = h("header", { class: "dd-tile-head" }, h("h2", { title }, title), h("span", { class: "dd-size" }, `${c.w}×${c.h}`));
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
  const key = dragging || e.dataTransfer.getData(MIME);
  dragging = null;
  if (!key || !reportOf(key)) return;
  const cell = cellAt(e.clientX, e.clientY);
  addTile(key, { x: cell.col, y: cell.row });
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
    parts.push(h("h2", {}, `${t("dd_tile")}: ${tileTitle(c)}`),
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
      h("p", {}, h("a", { href: `${root.dataset.base}apps/${enc(appKey)}/reports/${enc(c.report)}` }, t("dd_edit_report")), " ",
        h("button", { type: "button", class: "small danger", id: "tile-remove", onclick: () => removeTile(i) }, t("remove"))),
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

function renderTitle() {
  const dash = dashOf();
  els.title.textContent = label(dash.label, dash.key);
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
