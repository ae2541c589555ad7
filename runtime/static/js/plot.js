// Drawing a server-built plotly figure into a tile: shared by the dashboard page and the builder's
// report and dashboard designers. plotly.js (window.Plotly) is loaded before from /vendor/plotly.min.js.

export function layoutFor(figure) {
  // the tile header shows the title; let the plot use the whole tile
  const layout = Object.assign({}, figure.layout, {autosize: true});
  delete layout.title;
  const indicator = figure.data.some((t) => t.type === "indicator");  // KPI/gauge titles sit above the number
  layout.margin = Object.assign({l: 40, r: 16, b: 36}, figure.layout.margin || {}, {t: indicator ? 40 : 16});
  // a horizontal legend below the plot collides with long (rotated) category labels: put it above
  if (layout.legend && layout.legend.orientation === "h" && layout.legend.y === undefined) {
    layout.legend = Object.assign({}, layout.legend, {x: 0, xanchor: "left", y: 1, yanchor: "bottom"});
  }
  for (const axis of ["xaxis", "yaxis"]) {
    if (layout[axis] && layout[axis].visible !== false) layout[axis] = Object.assign({automargin: true}, layout[axis]);
  }
  return layout;
}

// Several big numbers side by side overlap in a narrow tile: lay them out in a grid of cells at
// least MIN_CELL px wide (and wide enough for the longest number at a readable size), each number's
// font fitted to its cell and to the length of what it shows ("3 h 50 min" needs more room than
// "66.7%"; gauges keep their own layout).
const MIN_CELL = 120;
const READABLE = 22;   // px: the smallest number size worth a cell of its own

// The width of a number's text in font-size units: digits and Latin letters about 0.6, CJK 1.
function shownWidth(t) {
  const n = t.number || {};
  let value = t.value;
  if (typeof value === "number") {
    const fmt = String(n.valueformat || "");
    value = fmt.includes("%") ? `${(value * 100).toFixed(1)}%` : value.toLocaleString("en", {maximumFractionDigits: 2});
  }
  const text = `${n.prefix || ""}${value ?? ""}${n.suffix || ""}`;
  return [...text].reduce((w, ch) => w + (ch.charCodeAt(0) > 0x2e80 ? 1 : 0.6), 0) || 1;
}

export function fitIndicators(data, layout, width, height) {
  const numbers = data.filter((t) => t.type === "indicator" && !String(t.mode || "").includes("gauge"));
  if (numbers.length < 2 || numbers.length !== data.length || !width || !height) return data;
  layout.margin = {l: 8, r: 8, t: 8, b: 8};
  const longest = Math.max(...numbers.map(shownWidth));
  const minCell = Math.max(MIN_CELL, longest * READABLE + 16);
  const cols = Math.max(1, Math.min(numbers.length, Math.floor(width / minCell)));
  const rows = Math.ceil(numbers.length / cols);
  const cellW = (width - 16) / cols, cellH = (height - 16) / rows;
  const size = Math.round(Math.max(14, Math.min(44, (cellW - 12) / longest, (cellH - 24) * 0.7)));
  const gap = Math.min(0.08, 12 / Math.max(1, height));   // keep a row's title clear of the number above
  return data.map((t, i) => {
    const r = Math.floor(i / cols), c = i % cols;
    return Object.assign({}, t, {
      domain: {x: [c / cols, (c + 1) / cols], y: [1 - (r + 1) / rows, Math.max(0, 1 - r / rows - (r ? gap : 0))]},
      number: Object.assign({}, t.number || {}, {font: Object.assign({size}, (t.number || {}).font || {})}),
      title: Object.assign({}, t.title || {}, {font: Object.assign({size: 12}, (t.title || {}).font || {})}),
    });
  });
}

// A table's columns share the width in proportion to their longest text (CJK characters count double),
// so a column of names is not clipped while a column of small numbers takes less room.
export function fitTableColumns(data) {
  const width = (v) => [...String(v ?? "")].reduce((n, ch) => n + (ch.charCodeAt(0) > 0x2e80 ? 2 : 1), 0);
  return data.map((t) => {
    if (t.type !== "table" || t.columnwidth || !t.cells || !Array.isArray(t.cells.values)) return t;
    const heads = (t.header && t.header.values) || [];
    const widths = t.cells.values.map((col, i) =>
      Math.min(40, Math.max(4, width(heads[i]), ...(Array.isArray(col) ? col : []).map(width))));
    return Object.assign({}, t, {columnwidth: widths});
  });
}

// A table figure is drawn as an HTML table, not a plotly table: the text wraps instead of being
// clipped (a narrow column showed 88.4% as "8.4%"), the header stays on top while the rows scroll,
// the first column (the group: a name) stays put while a phone scrolls the columns sideways, and
// numbers line up on the right; on a phone each row becomes a card of "label  value" lines (the
// page's CSS, .plot-table under max-width 720px), so nothing needs sideways scrolling.
export function drawTable(node, trace) {
  const heads = (trace.header && trace.header.values) || [];
  const columns = (trace.cells && trace.cells.values) || [];
  const count = Math.max(0, ...columns.map((c) => (Array.isArray(c) ? c.length : 0)));
  const align = (trace.cells && trace.cells.align) || [];
  const numeric = columns.map((_, i) => (Array.isArray(align) ? align[i] : align) === "right");
  const table = document.createElement("table");
  table.className = "plot-table";
  const head = table.createTHead().insertRow();
  heads.forEach((h, i) => {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = String(h ?? "");
    if (numeric[i] && i > 0) th.className = "num";
    head.append(th);
  });
  const body = table.createTBody();
  for (let r = 0; r < count; r++) {
    const tr = body.insertRow();
    columns.forEach((col, i) => {
      const cell = document.createElement(i === 0 ? "th" : "td");
      if (i === 0) cell.scope = "row";
      cell.dataset.label = String(heads[i] ?? "");   // a phone shows each row as a card of label: value
      const v = (col || [])[r];
      cell.textContent = typeof v === "number" ? v.toLocaleString(document.documentElement.lang || undefined) : String(v ?? "");
      if (numeric[i] && i > 0) cell.className = "num";
      tr.append(cell);
    });
  }
  const wrap = document.createElement("div");
  wrap.className = "plot-table-wrap";
  wrap.append(table);
  node.replaceChildren(wrap);
  node.dataset.table = "html";
  return Promise.resolve(node);
}

export function drawFigure(node, figure) {
  if (figure.data.length === 1 && figure.data[0].type === "table") return drawTable(node, figure.data[0]);
  const layout = layoutFor(figure);
  const data = fitTableColumns(fitIndicators(figure.data, layout, node.clientWidth, node.clientHeight));
  return window.Plotly.newPlot(node, data, layout, {responsive: true, displaylogo: false, displayModeBar: false});
}
