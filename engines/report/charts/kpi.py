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
            value, previous = row.get(m.key), row.get(f"{m.key}__previous")
            trace = {"type": "indicator", "mode": "number", "title": {"text": chart.measure_label(m, lang)},
                     "domain": {"x": [i / n, (i + 1) / n], "y": [0, 1]}, **shown(value, m.format, lang)}
            if previous is not None:
                trace["mode"] = "number+delta"
                # counts and sums change relatively (+25 %); a rate changes by points
                trace["delta"] = {"reference": reference(value, previous, trace["value"], m.format),
                                  "relative": m.format != "percent", "valueformat": ".1%"}
            traces.append(trace)
        return {"data": traces, "layout": {}}


#: a duration's units in the UI language (a duration measure counts minutes, as working_minutes does)
UNITS = {"zh-CN": (" 小时 ", " 分钟"), "en": (" h ", " min")}


def shown(value, fmt: str | None, lang: str) -> dict:
    """The indicator's ``value`` and ``number`` for a measure's format, never rounded silently
    (Plotly's default keeps three significant digits: 3,866 read as 3,870): whole numbers with
    digit grouping, decimals to two places, percentages to one, durations as hours and minutes."""
    if value is None or fmt == "percent":
        return {"value": value, "number": {"valueformat": ".1%"} if fmt == "percent" else {}}
    if fmt == "duration":
        hours_unit, minutes_unit = UNITS.get(lang, UNITS["en"])
        minutes = round(float(value))
        if minutes >= 60:   # the number is the whole hours; the minutes ride in the suffix
            return {"value": minutes // 60, "number": {"valueformat": ",d", "suffix": f"{hours_unit}{minutes % 60}{minutes_unit}"}}
        return {"value": round(float(value), 1), "number": {"valueformat": ",.1~f", "suffix": minutes_unit}}
    if fmt == "integer" or float(value).is_integer():
        return {"value": value, "number": {"valueformat": ",d"}}
    return {"value": value, "number": {"valueformat": ",.2~f"}}


def reference(value, previous, drawn, fmt: str | None):
    """The delta's reference on the drawn number's scale, so Plotly's relative change is the
    measure's own (a duration is drawn in whole hours: the reference is scaled alike)."""
    if fmt != "duration" or not value or drawn == value:
        return previous
    return drawn * float(previous) / float(value)
