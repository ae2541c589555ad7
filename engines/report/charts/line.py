"""Line chart: a trend over one (usually date-bucketed) dimension; ``area`` fills under the lines.

Over a date bucket it is a continuous trend: every bucket is on the axis (empty ones count 0), and
the current bucket, which is not over yet, is drawn dotted under a shaded band that says so, so a
half-finished day never reads as a collapse.
"""
from __future__ import annotations

from ..labels import text
from .bar import BarChart
from .base import COLORWAY, PARTIAL


class LineChart(BarChart):
    type = "line"
    label = {"zh-CN": "折线图", "en": "Line"}
    icon = "chart-line"
    continuous = True
    options_schema = {"type": "object", "additionalProperties": False, "properties": {
        "area": {"type": "boolean", "description": "Fill the area under each line."},
        "stacked": {"type": "boolean", "description": "Stack the series (with area: a stacked area chart)."},
        "markers": {"type": "boolean", "description": "Draw a marker on each point."}}}
    default_options = {"area": False, "stacked": False, "markers": True}
    trace_type = "scatter"

    def build(self, chart, rows, lang):
        fig = super().build(chart, rows, lang)
        last = len(rows) - 1
        if len(chart.dimensions) == 1 and last >= 1 and rows[last].get(PARTIAL) and not self.options["stacked"]:
            self._mark_partial(fig, last, lang)
        return fig

    def _mark_partial(self, fig, last, lang):
        """Draw the segment into the partial last bucket dotted (same colour, no legend entry) and
        shade that bucket with a note."""
        dotted = []
        for i, trace in enumerate(fig["data"]):
            color = COLORWAY[i % len(COLORWAY)]
            trace["line"] = {**trace.get("line", {}), "color": color}
            trace["marker"] = {"color": color}
            ys = list(trace["y"])
            tail = {**trace, "x": trace["x"][last - 1:], "y": ys[last - 1:], "customdata": trace["customdata"][last - 1:],
                    "line": {"color": color, "dash": "dot"}, "showlegend": False, "legendgroup": trace["name"],
                    "name": f"{trace['name']} ({text('partial', lang)})"}
            trace["y"] = ys[:last] + [None]
            trace["legendgroup"] = trace["name"]
            dotted.append(tail)
        fig["data"].extend(dotted)
        layout = fig["layout"]
        layout["shapes"] = [{"type": "rect", "xref": "x", "yref": "paper", "x0": last - 0.5, "x1": last + 0.5,
                             "y0": 0, "y1": 1, "fillcolor": "rgba(128,128,128,0.12)", "line": {"width": 0},
                             "layer": "below"}]
        layout["annotations"] = [{"xref": "x", "yref": "paper", "x": last, "y": 1, "yanchor": "bottom",
                                  "showarrow": False, "text": text("partial_note", lang),
                                  "font": {"size": 11, "color": "#666"}}]

    def trace(self, name, xs, values):
        return {"type": "scatter", "name": name, "x": xs, "y": values,
                "mode": "lines+markers" if self.options["markers"] else "lines"}

    def style(self, traces, layout):
        for trace in traces:
            if self.options["stacked"]:
                trace["stackgroup"] = "one"
                if not self.options["area"]:
                    trace["fill"] = "none"
            elif self.options["area"]:
                trace["fill"] = "tozeroy"
