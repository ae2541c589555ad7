"""Pie (or donut) chart: the share of each group of one dimension in the first measure.

Further measures (a share, a ratio) travel along for export and drill-down.
"""
from __future__ import annotations

from .base import ChartType, categories


class PieChart(ChartType):
    type = "pie"
    label = {"zh-CN": "饼图", "en": "Pie"}
    icon = "chart-pie"
    dimensions = (1, 1)
    measures = (1, 4)
    options_schema = {"type": "object", "additionalProperties": False, "properties": {
        "donut": {"type": "boolean", "description": "Draw a ring instead of a disc."},
        "show_percent": {"type": "boolean", "description": "Label slices with their percentage."}}}
    default_options = {"donut": False, "show_percent": True}

    def build(self, chart, rows, lang):
        m = chart.measures[0]
        trace = {"type": "pie", "labels": categories(rows, chart.dimensions[0].key, lang, chart.dimensions[0].labels),
                 "values": [r[m.key] for r in rows], "name": chart.measure_label(m, lang), "sort": False,
                 "customdata": list(range(len(rows))), "meta": m.key,
                 "textinfo": "label+percent" if self.options["show_percent"] else "label+value"}
        if self.options["donut"]:
            trace["hole"] = 0.45
        return {"data": [trace], "layout": {"showlegend": True}}
