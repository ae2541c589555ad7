"""Table: the aggregated rows as they are, one column per dimension and measure.

Cells read as the measure's format says, in the viewer's language (a percentage 88.4%, a duration
"2 小时 5 分钟" / "2 h 5 min", whole numbers grouped), and measure columns are aligned right.
"""
from __future__ import annotations

from .base import ChartType, categories
from .kpi import UNITS


class TableChart(ChartType):
    type = "table"
    label = {"zh-CN": "明细表", "en": "Table"}
    icon = "chart-table"
    dimensions = (0, 3)
    measures = (1, 20)

    def build(self, chart, rows, lang):
        header = [chart.dimension_label(d, lang) for d in chart.dimensions]
        header += [chart.measure_label(m, lang) for m in chart.measures]
        columns = [categories(rows, d.key, lang, d.labels) for d in chart.dimensions]
        columns += [[cell(r[m.key], m.format, lang) for r in rows] for m in chart.measures]
        align = ["left"] * len(chart.dimensions) + ["right"] * len(chart.measures)
        return {"data": [{"type": "table", "header": {"values": header, "align": align},
                          "cells": {"values": columns, "align": align}}], "layout": {}}


def cell(value, fmt, lang):
    """A measure's value as the table shows it."""
    if value is None:
        return ""
    if fmt == "percent":
        return f"{value:.1%}"
    if fmt == "duration":
        return duration_text(value, lang)
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{int(value):,}"
    return value


def duration_text(minutes, lang):
    """Minutes as hours and minutes in ``lang`` (under an hour: minutes to one decimal)."""
    hours_unit, minutes_unit = UNITS.get(lang, UNITS["en"])
    whole = round(float(minutes))
    if whole >= 60:
        return f"{whole // 60:,}{hours_unit}{whole % 60}{minutes_unit}"
    return f"{float(minutes):.1f}".rstrip("0").rstrip(".") + minutes_unit.rstrip()
