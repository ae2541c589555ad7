"""Bar chart: one dimension with a bar per measure (grouped), or a second dimension as series.

Options ``stacked`` stacks the series, ``horizontal`` lays the bars sideways.
"""
from __future__ import annotations

from .base import ChartType, categories, series_by, series_rows, tickformat


class BarChart(ChartType):
    """Each trace carries ``customdata`` (the row index of each bar) and ``meta`` (its measure key)."""

    type = "bar"
    label = {"zh-CN": "柱状图", "en": "Bar"}
    icon = "chart-bar"
    dimensions = (1, 2)
    measures = (1, 8)
    options_schema = {"type": "object", "additionalProperties": False, "properties": {
        "stacked": {"type": "boolean", "description": "Stack the series instead of grouping them."},
        "horizontal": {"type": "boolean", "description": "Horizontal bars (long category names)."}}}
    default_options = {"stacked": False, "horizontal": False}
    trace_type = "bar"

    def build(self, chart, rows, lang):
        dims = chart.dimensions
        if len(dims) == 2:
            m = chart.measures[0]
            labels = (dims[0].labels, dims[1].labels)
            xs, series = series_by(rows, dims[0].key, dims[1].key, m.key, lang, *labels)
            traces = [self.trace(name, xs, values) for name, values in series]
            for trace, index in zip(traces, series_rows(rows, dims[0].key, dims[1].key, lang, *labels)):
                trace["customdata"], trace["meta"] = index, m.key
            plotted = [m]
        else:
            xs = categories(rows, dims[0].key, lang, dims[0].labels)
            traces = [self.trace(chart.measure_label(m, lang), xs, [r[m.key] for r in rows])
                      for m in chart.measures]
            for trace, m in zip(traces, chart.measures):
                trace["customdata"], trace["meta"] = list(range(len(rows))), m.key
            plotted = chart.measures
        columns = [trace["x" if self.options.get("horizontal") else "y"] for trace in traces]
        values = [v for column in columns for v in column]
        if self.options.get("stacked"):  # the axis reaches each category's stacked total
            values += [sum(v for v in stack if isinstance(v, (int, float))) for stack in zip(*columns)]
        value_axis = {"title": {"text": chart.measure_label(plotted[0], lang)} if len(plotted) == 1 else {},
                      **tickformat(plotted, values)}
        cat_axis = {"type": "category", "title": {"text": chart.dimension_label(dims[0], lang)}}
        horizontal = self.options.get("horizontal")
        layout = {"xaxis": value_axis if horizontal else cat_axis, "yaxis": cat_axis if horizontal else value_axis,
                  "legend": {"orientation": "h"}}
        self.style(traces, layout)
        return {"data": traces, "layout": layout}

    def trace(self, name, xs, values):
        if self.options.get("horizontal"):
            return {"type": self.trace_type, "name": name, "y": xs, "x": values, "orientation": "h"}
        return {"type": self.trace_type, "name": name, "x": xs, "y": values}

    def style(self, traces, layout):
        layout["barmode"] = "stack" if self.options.get("stacked") else "group"
