"""Line chart: a trend over one (usually date-bucketed) dimension; ``area`` fills under the lines."""
from __future__ import annotations

from .bar import BarChart


class LineChart(BarChart):
    type = "line"
    label = {"zh-CN": "折线图", "en": "Line"}
    icon = "chart-line"
    options_schema = {"type": "object", "additionalProperties": False, "properties": {
        "area": {"type": "boolean", "description": "Fill the area under each line."},
        "stacked": {"type": "boolean", "description": "Stack the series (with area: a stacked area chart)."},
        "markers": {"type": "boolean", "description": "Draw a marker on each point."}}}
    default_options = {"area": False, "stacked": False, "markers": True}
    trace_type = "scatter"

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
