"""Funnel: one measure per stage; ``stages`` fixes the order (and selection) of the stage values."""
from __future__ import annotations

from .base import ChartType, categories, value_label


class FunnelChart(ChartType):
    type = "funnel"
    label = {"zh-CN": "漏斗图", "en": "Funnel"}
    icon = "chart-funnel"
    dimensions = (1, 1)
    measures = (1, 1)
    options_schema = {"type": "object", "additionalProperties": False, "properties": {
        "stages": {"type": "array", "items": {"type": ["string", "number", "boolean"]}, "maxItems": 50,
                   "description": "Stage values in funnel order; others are left out."}}}

    def build(self, chart, rows, lang):
        dim, m = chart.dimensions[0].key, chart.measures[0].key
        labels = chart.dimensions[0].labels
        stages = self.options.get("stages")
        if stages:
            by_value = {value_label(r[dim], lang, labels): i for i, r in enumerate(rows)}
            names = [value_label(s, lang, labels) for s in stages]
            index = [by_value.get(n) for n in names]
            values = [0 if i is None else rows[i][m] for i in index]
        else:
            names, values = categories(rows, dim, lang, labels), [r[m] for r in rows]
            index = list(range(len(rows)))
        return {"data": [{"type": "funnel", "y": names, "x": values, "textinfo": "value+percent initial",
                          "customdata": index, "meta": m}],
                "layout": {}}
