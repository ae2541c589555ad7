"""Measures: allowlisted aggregates in SQL, and the per-group arithmetic after it.

Three kinds:

* ``agg``: one SQL aggregate from ``AGGREGATES`` over a field (or the records),
  optionally only over records matching the measure's own filters, written as
  conditional aggregation (``count(CASE WHEN ... THEN 1 END)``) so every measure
  of a chart stays in the chart's single SELECT. ``percent_of_total`` adds a
  window total (``sum(m) OVER ()``) beside the measure it divides.
* ``ratio``: numerator / denominator of two other measures, per group.
* ``formula``: an expression of the shared expression language over the other
  measures, evaluated once per aggregated group, never per record.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from .dialects import Median
from .fields import NUMERIC_KINDS, Field
from .filters import CompiledFilter

#: aggregate -> (label, needs a field, field must be numeric)
AGGREGATES: dict[str, tuple[dict[str, str], bool, bool]] = {
    "count": ({"zh-CN": "计数", "en": "Count"}, False, False),
    "count_distinct": ({"zh-CN": "去重计数", "en": "Distinct count"}, True, False),
    "sum": ({"zh-CN": "求和", "en": "Sum"}, True, True),
    "avg": ({"zh-CN": "平均值", "en": "Average"}, True, True),
    "min": ({"zh-CN": "最小值", "en": "Minimum"}, True, False),
    "max": ({"zh-CN": "最大值", "en": "Maximum"}, True, False),
    "median": ({"zh-CN": "中位数", "en": "Median"}, True, True),
    "percent_of_total": ({"zh-CN": "占比", "en": "Share of total"}, False, False),
}
#: aggregates whose values of sub-groups add up to the value of their union
ADDITIVE = frozenset({"count", "sum"})


@dataclass(frozen=True)
class Measure:
    """A compiled measure. ``kind`` is ``agg``, ``ratio`` or ``formula``."""

    key: str
    label: Any
    kind: str
    agg: str | None = None
    field: Field | None = None
    filters: tuple[CompiledFilter, ...] = ()
    of: str | None = None
    ratio: tuple[str, str] | None = None
    formula: Any = None
    format: str | None = None
    names: tuple[str, ...] = dc_field(default=())

    @property
    def in_sql(self) -> bool:
        """True when SQL computes this measure (all but ratio, formula and percent_of_total)."""
        return self.kind == "agg" and self.agg != "percent_of_total"

    def sql(self, condition: sa.ColumnElement[bool] | None) -> sa.ColumnElement:
        """The aggregate, counting only records where ``condition`` holds (None: all)."""
        agg = self.agg
        if self.field is None:
            if condition is None:
                return sa.func.count()
            return sa.func.count(sa.case((condition, sa.literal_column("1"))))
        value = self.field.column if condition is None else sa.case((condition, self.field.column))
        if agg == "count":
            return sa.func.count(value)
        if agg == "count_distinct":
            return sa.func.count(sa.distinct(value))
        if agg == "median":
            return Median(value)
        return getattr(sa.func, agg)(value)

    def normalise(self, value: Any) -> Any:
        """The database's number as the same JSON-friendly Python number on every database.

        PostgreSQL returns Decimal for sums and averages where SQLite returns
        int or float; counts are int, averages and medians float, sums, minima
        and maxima keep an integer field's int.
        """
        if value is None:
            return None
        if self.agg in ("count", "count_distinct"):
            return int(value)
        if self.agg in ("avg", "median"):
            return float(value)
        if isinstance(value, Decimal):
            return int(value) if self.field is not None and self.field.python_type is int else float(value)
        return value

    def non_null_count(self, condition: sa.ColumnElement[bool] | None) -> sa.ColumnElement:
        """How many values an ``avg`` averaged: the weight to fold groups into 'Others'."""
        value = self.field.column if condition is None else sa.case((condition, self.field.column))
        return sa.func.count(value)


def field_ok_for(agg: str, field: Field | None) -> str | None:
    """Why ``field`` cannot be aggregated by ``agg``, or None when it can."""
    _, needs_field, numeric = AGGREGATES[agg]
    if needs_field and field is None:
        return f"aggregate {agg!r} needs a 'field'"
    if numeric and field is not None and field.kind not in NUMERIC_KINDS:
        return f"aggregate {agg!r} needs a number field; {field.ref!r} is {field.kind}"
    return None




def divide(numerator: Any, denominator: Any) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator
