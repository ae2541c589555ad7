"""KPI: big numbers, optionally with the change against the previous period.

With ``date_field`` the measures count the last ``period_days`` days; with
``previous_period`` the same query also computes them for the period before
(conditional aggregation) and the figure shows the relative change.
"""
from __future__ import annotations

from .base import ChartType


class KpiChart(ChartType):
    type = "kpi"
    label = {"zh-CN": "指标卡", "en": "KPI"}
    icon = "chart-kpi"
    dimensions = (0, 0)
    measures = (1, 6)
    supports_period = True
    options_schema = {"type": "object", "additionalProperties": False, "properties": {
        "date_field": {"type": "string", "description": "Date field that places a record in a period."},
        "period_days": {"type": "integer", "minimum": 1, "maximum": 3660, "description": "Length of the period."},
        "previous_period": {"type": "boolean", "description": "Show the change against the period before."}},
        "dependentRequired": {"previous_period": ["date_field"], "period_days": ["date_field"]}}
    default_options = {"period_days": 30, "previous_period": False}

    def build(self, chart, rows, lang):
        row = rows[0]
        n = len(chart.measures)
        traces = []
        for i, m in enumerate(chart.measures):
            percent = m.format == "percent"
            trace = {"type": "indicator", "mode": "number", "value": row.get(m.key),
                     "title": {"text": chart.measure_label(m, lang)},
                     "number": {"valueformat": ".1%"} if percent else {},
                     "domain": {"x": [i / n, (i + 1) / n], "y": [0, 1]}}
            previous = row.get(f"{m.key}__previous")
            if previous is not None:
                trace["mode"] = "number+delta"
                # counts and sums change relatively (+25 %); a rate changes by points
                trace["delta"] = {"reference": previous, "relative": not percent, "valueformat": ".1%"}
            traces.append(trace)
        return {"data": traces, "layout": {}}
