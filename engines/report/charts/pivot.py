"""Pivot table: the first dimension down, the second across, one measure in the cells.

Count and sum measures get a total row and column (other aggregates do not add up).
"""
from __future__ import annotations

from ..labels import text
from ..measures import ADDITIVE
from .base import ChartType, series_by
from .table import cell


class PivotChart(ChartType):
    type = "pivot"
    label = {"zh-CN": "透视表", "en": "Pivot table"}
    icon = "chart-pivot"
    dimensions = (2, 2)
    measures = (1, 1)
    options_schema = {"type": "object", "additionalProperties": False, "properties": {
        "totals": {"type": "boolean", "description": "Add row and column totals (count and sum measures)."}}}
    default_options = {"totals": True}

    def build(self, chart, rows, lang):
        d0, d1 = chart.dimensions
        m = chart.measures[0]
        row_names, series = series_by(rows, d0.key, d1.key, m.key, lang, d0.labels, d1.labels)
        totals = self.options["totals"] and m.agg in ADDITIVE
        header = [f"{chart.dimension_label(d0, lang)} \\ {chart.dimension_label(d1, lang)}"]
        header += [name for name, _ in series]
        columns = [list(row_names)] + [[cell(v, m.format, lang) for v in values] for _, values in series]
        if totals:
            total = text("total", lang)
            header.append(total)
            row_totals = [sum(values[i] or 0 for _, values in series) for i in range(len(row_names))]
            columns.append([cell(v, m.format, lang) for v in row_totals])
            columns[0].append(total)
            for c, (_, values) in enumerate(series, start=1):
                columns[c].append(cell(sum(v or 0 for v in values), m.format, lang))
            columns[-1].append(cell(sum(row_totals), m.format, lang))
        align = ["left"] + ["right"] * (len(columns) - 1)
        return {"data": [{"type": "table", "header": {"values": header, "align": align},
                          "cells": {"values": columns, "align": align}}], "layout": {}}
