// Dashboard page: draws the server-built plotly figures, applies shared filters, refreshes,
// drills down from a clicked slice/bar to the filtered record list, links CSV/XLSX exports.
// An ES module, no build step; plotly.js is loaded before it from /vendor/plotly.min.js.
import {drawFigure} from "./plot.js";

const grid = document.getElementById("dash-grid");
const form = document.getElementById("dash-filters");
const status = document.getElementById("dash-status");
const text = grid.dataset;
let data = JSON.parse(document.getElementById("dashboard-data").textContent);
const PHONE = window.matchMedia("(max-width: 720px)");

function csrf() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function query(params) {
  const out = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") out.set(k, v);
  if (data.app) out.set("app", data.app);
  return out.toString();
}

function valuesFromForm() {
  const values = {};
  if (!form) return values;
  for (const f of data.filters) {
    if (f.kind === "date_range") {
      const from = form.elements[`${f.field}__from`].value;
      const to = form.elements[`${f.field}__to`].value;
      if (from || to) values[f.field] = Object.fromEntries(Object.entries({from, to}).filter(([, v]) => v));
    } else {
      const v = form.elements[f.field].value;
      if (v) values[f.field] = v;
    }
  }
  return values;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function exportLink(tile, fmt) {
  const href = `/api/v1/reports/${encodeURIComponent(tile.report)}/export.${fmt}?` +
    query({dashboard: data.dashboard, values: JSON.stringify(data.values || {})});
  return el("a", {href, download: ""}, fmt === "csv" ? text.csv : text.xlsx);
}

async function drill(tile, point) {
  const idx = Array.isArray(point.customdata) ? point.customdata[0] : point.customdata;
  if (idx === undefined || idx === null || !tile.rows[idx]) return;
  await openRecords(tile, tile.rows[idx], point.data && point.data.meta);
}

async function openRecords(tile, row, measure) {
  const body = {point: row, measure, dashboard: data.dashboard, values: data.values || {}};
  const resp = await fetch(`/api/v1/reports/${encodeURIComponent(tile.report)}/drilldown?` + query({}), {
    method: "POST", headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf()},
    body: JSON.stringify(body), credentials: "same-origin"});
  const out = await resp.json();
  if (resp.ok && out.url) window.location.assign(out.url);
  else status.textContent = (out.error && out.error.message) || text.error;
}

// Which field each date filter applies to on this tile ("Created → CSAT survey › Ticket · Created"):
// the filters of one dashboard may count different tiles by different dates.
function filterNote(tile) {
  const dated = new Set(data.filters.filter((f) => f.kind === "date_range").map((f) => f.field));
  const mine = (tile.filters || []).filter((f) => dated.has(f.field));
  if (!mine.length) return "";
  const target = (f) => f.applies_to || text.unfiltered;
  // one date filter: "Date filter applies to: Ticket · Created"; several: each with its name
  return `${text.filteredby}: ` + (mine.length === 1 ? target(mine[0]) : mine.map((f) => `${f.label} → ${target(f)}`).join("; "));
}

function drawTile(tile) {
  const node = el("section", {class: "dash-tile", "data-report": tile.report, "data-type": tile.type || ""});
  node.style.gridColumn = `${tile.x + 1} / span ${tile.w}`;
  node.style.gridRow = `${tile.y + 1} / span ${tile.h}`;
  if (PHONE.matches) node.style.minHeight = `${Math.max(280, tile.h * 70)}px`;
  const actions = el("div", {class: "tile-actions"});
  if (!tile.error && !tile.empty) actions.append(exportLink(tile, "csv"), exportLink(tile, "xlsx"));
  if (!tile.error && !tile.empty && (tile.type === "kpi" || tile.type === "gauge")) {
    // a number has no slice to click: the records behind it (filters, KPI period) open from a link
    const link = el("a", {href: "#", class: "records-link"}, text.records);
    link.addEventListener("click", (ev) => { ev.preventDefault(); openRecords(tile, tile.rows[0]); });
    actions.prepend(link);
  }
  const head = el("header", {}, el("h2", {title: tile.title}, tile.title), actions);
  node.append(head);
  const note = filterNote(tile);
  if (tile.help) {
    // the tile's definition (what the figures count) behind a button, over the plot
    const id = `help-${tile.report}`;
    const button = el("button", {type: "button", class: "tile-help-toggle", "aria-expanded": "false",
                                 "aria-controls": id, title: text.help, "aria-label": `${text.help}: ${tile.title}`}, "?");
    const panel = el("div", {class: "tile-help", id, role: "note", hidden: ""}, tile.help);
    if (note) panel.append(el("p", {}, note));
    button.addEventListener("click", () => {
      const open = panel.hidden;
      // below the header (which may wrap onto two lines), never over its buttons
      panel.style.top = `${head.offsetHeight + 4}px`;
      panel.style.maxHeight = `calc(100% - ${head.offsetHeight + 12}px)`;
      panel.hidden = !open;
      button.setAttribute("aria-expanded", String(open));
    });
    actions.prepend(button);
    node.append(panel);
  }
  if (note) node.append(el("p", {class: "tile-filter-note"}, note));
  if (tile.error) {
    node.append(el("div", {class: "tile-error", role: "alert"}, text.error, el("small", {}, tile.error.message || "")));
  } else if (tile.empty) {
    node.append(el("div", {class: "tile-empty"}, text.empty));
  } else {
    const plot = el("div", {class: "plot"});
    node.append(plot);
    if (tile.drilldown) {
      node.classList.add("drillable");
      plot.title = text.drill;
    }
    grid.append(node);
    drawFigure(plot, tile.figure).then(() => {
      if (tile.drilldown) plot.on("plotly_click", (ev) => drill(tile, ev.points[0]));
    });
    return;
  }
  grid.append(node);
}

function render() {
  for (const plot of grid.querySelectorAll(".plot")) Plotly.purge(plot);
  grid.replaceChildren();
  const tiles = [...data.charts].sort((a, b) => a.y - b.y || a.x - b.x);
  tiles.forEach(drawTile);
  grid.dataset.rendered = String(Date.now());
}

async function load(values) {
  status.textContent = text.loading;
  const resp = await fetch(`/api/v1/dashboards/${encodeURIComponent(data.dashboard)}/data?` +
    query({values: JSON.stringify(values), lang: document.documentElement.lang}), {credentials: "same-origin"});
  const out = await resp.json();
  if (!resp.ok) {
    status.textContent = (out.error && out.error.message) || text.error;
    return;
  }
  data = Object.assign({}, out, {values});
  const url = new URL(window.location.href);
  if (Object.keys(values).length) url.searchParams.set("values", JSON.stringify(values));
  else url.searchParams.delete("values");
  history.replaceState(null, "", url);
  render();
  status.textContent = `${text.updated} ${new Date().toLocaleTimeString()}`;
}

if (form) {
  form.addEventListener("submit", (ev) => { ev.preventDefault(); load(valuesFromForm()); });
  form.addEventListener("reset", () => setTimeout(() => load({}), 0));
}
document.getElementById("dash-refresh").addEventListener("click", () => load(data.values || {}));
PHONE.addEventListener("change", render);
render();
if (data.refresh_seconds) {
  // a wallboard: reload while the page is visible
  setInterval(() => { if (!document.hidden) load(data.values || {}); }, data.refresh_seconds * 1000);
}
