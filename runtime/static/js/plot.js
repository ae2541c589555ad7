// Drawing a server-built plotly figure into a tile: shared by the dashboard page and the builder's
// report and dashboard designers. plotly.js (window.Plotly) is loaded before from /vendor/plotly.min.js.

export function layoutFor(figure) {
  // the tile header shows the title; let the plot use the whole tile
  const layout = Object.assign({}, figure.layout, {autosize: true});
  delete layout.title;
  const indicator = figure.data.some((t) => t.type === "indicator");  // KPI/gauge titles sit above the number
  layout.margin = Object.assign({l: 40, r: 16, b: 36}, figure.layout.margin || {}, {t: indicator ? 40 : 16});
  for (const axis of ["xaxis", "yaxis"]) {
    if (layout[axis] && layout[axis].visible !== false) layout[axis] = Object.assign({automargin: true}, layout[axis]);
  }
  return layout;
}

export function drawFigure(node, figure) {
  return window.Plotly.newPlot(node, figure.data, layoutFor(figure),
                               {responsive: true, displaylogo: false, displayModeBar: false});
}
