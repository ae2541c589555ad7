"""Gauge: one number on a dial from ``min`` to ``max``, with an optional ``target`` mark."""
from __future__ import annotations

from .base import ChartType


class GaugeChart(ChartType):
    type = "gauge"
    label = {"zh-CN": "仪表图", "en": "Gauge"}
    icon = "chart-gauge"
    dimensions = (0, 0)
    measures = (1, 1)
    options_schema = {"type": "object", "additionalProperties": False, "properties": {
        "min": {"type": "number"}, "max": {"type": "number"},
        "target": {"type": "number", "description": "Drawn as a threshold line."}}}
    default_options = {"min": 0, "max": 100}

    def build(self, chart, rows, lang):
        m = chart.measures[0]
        gauge = {"axis": {"range": [self.options["min"], self.options["max"]]}}
        if "target" in self.options:
            gauge["threshold"] = {"value": self.options["target"], "line": {"color": "#d62728", "width": 3},
                                  "thickness": 0.8}
        return {"data": [{"type": "indicator", "mode": "gauge+number", "value": rows[0].get(m.key),
                          "title": {"text": chart.measure_label(m, lang)}, "gauge": gauge,
                          "number": {"valueformat": ".1%"} if m.format == "percent" else {}}],
                "layout": {}}
