"""Export of a chart's rows to CSV/XLSX, safe against formula injection.

A spreadsheet runs a cell that starts with ``= + - @`` (or a tab or carriage
return that precedes one) as a formula: ``=HYPERLINK(...)`` in a record's text
would run on the reader's machine. ``escape_cell`` prefixes such text with a
single quote so it shows as typed; numbers stay numbers.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from .charts.base import OTHERS, value_label
from .labels import text

if TYPE_CHECKING:  # pragma: no cover
    from .chart import CompiledChart

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: Any) -> Any:
    """``value`` safe to put in a spreadsheet cell."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def export_table(chart: CompiledChart, rows: list[dict], lang: str) -> tuple[list[str], list[list]]:
    columns: list[tuple[str, str]] = [(d.key, chart.dimension_label(d, lang)) for d in chart.dimensions]
    for m in chart.measures:
        columns.append((m.key, chart.measure_label(m, lang)))
        if chart.period is not None and chart.period.previous:
            label = chart.measure_label(m, lang)
            columns.append((f"{m.key}__previous", f"{label} ({text('previous', lang)})"))
            columns.append((f"{m.key}__change", f"{label} ({text('change', lang)})"))
    dim_keys = {d.key for d in chart.dimensions}
    dim_labels = {d.key: d.labels for d in chart.dimensions}
    header = [escape_cell(label) for _, label in columns]
    body = []
    for row in rows:
        cells = []
        for key, _ in columns:
            value = row.get(key)
            if key in dim_keys:
                value = text("others", lang) if OTHERS in row and key == chart.dimensions[0].key else (
                    None if value is None else value_label(value, lang, dim_labels[key]))
            elif isinstance(value, (dt.date, dt.datetime)):
                value = value.isoformat()
            cells.append(escape_cell(value))
        body.append(cells)
    return header, body
