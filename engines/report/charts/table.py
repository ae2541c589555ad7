"""Table: the aggregated rows as they are, one column per dimension and measure."""
from __future__ import annotations

from .base import ChartType, categories


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
        columns += [[_cell(r[m.key], m) for r in rows] for m in chart.measures]
        return {"data": [{"type": "table", "header": {"values": header}, "cells": {"values": columns}}],
                "layout": {}}


def _cell(value, measure):
    if value is None:
        return ""
    if measure.format == "percent":
        return f"{value:.1%}"
    if isinstance(value, float):
        return round(value, 2)
    return value
