"""Chart types: one ``Registry`` filled from the ``jimu.charts`` entry-point group.

Built-in types (pie, bar, line, kpi, table, pivot, funnel, gauge) register
through setup.cfg exactly like a plugin's would. Each is a ``ChartType``
subclass; ``check_chart_type`` rejects a malformed one at registration.
"""
from __future__ import annotations

import jsonschema

from ...registry import Registry, RegistryError
from .base import ChartType


def check_chart_type(item: type) -> None:
    """Registration-time check of a chart type class (not call-time)."""
    if not (isinstance(item, type) and issubclass(item, ChartType)):
        raise RegistryError(f"chart type {item!r} must subclass engines.report.charts.ChartType",
                            code="chart.bad_type")
    for name in ("dimensions", "measures"):
        span = getattr(item, name)
        if not (isinstance(span, tuple) and len(span) == 2 and 0 <= span[0] <= span[1]):
            raise RegistryError(f"chart type {item.type!r}: {name} must be (min, max)", code="chart.bad_type")
    if not isinstance(item.label, dict) or not item.icon:
        raise RegistryError(f"chart type {item.type!r} needs a label map and an icon", code="chart.bad_type")
    jsonschema.Draft202012Validator.check_schema(item.options_schema)


CHARTS: Registry[ChartType] = Registry("chart", group="jimu.charts", check=check_chart_type)

__all__ = ["CHARTS", "ChartType", "check_chart_type"]
