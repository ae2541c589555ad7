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
// least MIN_CELL px wide, each number's font fitted to its cell (gauges keep their own layout).
const MIN_CELL = 120;

export function fitIndicators(data, layout, width, height) {
  const numbers = data.filter((t) => t.type === "indicator" && !String(t.mode || "").includes("gauge"));
  if (numbers.length < 2 || numbers.length !== data.length || !width || !height) return data;
  layout.margin = {l: 8, r: 8, t: 8, b: 8};
  const cols = Math.max(1, Math.min(numbers.length, Math.floor(width / MIN_CELL)));
  const rows = Math.ceil(numbers.length / cols);
  const cellW = (width - 16) / cols, cellH = (height - 16) / rows;
  const size = Math.round(Math.max(14, Math.min(44, cellW / 4.5, (cellH - 24) * 0.7)));
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

export function drawFigure(node, figure) {
  const layout = layoutFor(figure);
  const data = fitTableColumns(fitIndicators(figure.data, layout, node.clientWidth, node.clientHeight));
  return window.Plotly.newPlot(node, data, layout, {responsive: true, displaylogo: false, displayModeBar: false});
}
