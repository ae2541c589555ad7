"""The report engine: chart and dashboard definitions compiled to one SQL SELECT per chart.

Public API::

    chart = compile_chart(definition, source, tz="Asia/Shanghai")  # once per published version
    stmt = chart.query(where=..., shared_filters=[...], now=now)   # an sa.Select, run by the runtime
    rows = chart.rows(result.all())                     # list of dicts keyed by dimension/measure keys
    fig = chart.figure(rows, lang="zh-CN")              # a plain plotly figure dict
    filters = chart.drilldown(point)                    # record filters behind a clicked point
    header, cells = chart.export_rows(rows, lang)       # CSV/XLSX, cells neutralised by escape_cell

``Source``/``FormSource`` (``engines.report.source``) are what the runtime's
record store implements; an optional ``Source.process(form)`` (``ProcessSource``)
offers per-record process data as ``process.<field>`` references. ``tz`` is the
calendar of date buckets (timestamps are stored in UTC). On SQLite the runtime registers
``register_sqlite_functions`` on its engine's ``connect`` event (median).
"""
from ..operators import OPERATORS
from .chart import OTHERS, CompiledChart, compile_chart, schema_errors
from .charts import CHARTS, ChartType
from .dashboard import apply_shared_filters, check_dashboard
from .dialects import BUCKETS, register_sqlite_functions
from .drilldown import bucket_range
from .exceptions import ReportError, ValidationErrors
from .export import escape_cell
from .measures import AGGREGATES
from .source import FormSource, Source

__all__ = ["AGGREGATES", "BUCKETS", "CHARTS", "OPERATORS", "OTHERS", "ChartType", "CompiledChart", "FormSource",
           "ReportError", "Source", "ValidationErrors", "apply_shared_filters", "bucket_range", "check_dashboard",
           "compile_chart", "escape_cell", "register_sqlite_functions", "schema_errors"]
