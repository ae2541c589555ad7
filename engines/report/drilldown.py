"""Drill-down: the record filters behind one clicked point of a chart.

The result is a list of filter dicts the runtime's record list understands:
the chart's own filters, the clicked point's dimension values (a date bucket
becomes ``gte`` start / ``lt`` end, an empty group ``is_empty``, the 'Others'
group ``not_in`` the shown values), the clicked measure's own filters, the
KPI period, and the chart's ``filter_expr`` as ``{"expr": ...}``. Field
references through a join are given as link paths (``customer.vip_level``).
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Mapping

from .dialects import CYCLIC_BUCKETS, check_timezone
from .exceptions import ReportError

if TYPE_CHECKING:  # pragma: no cover
    from .chart import CompiledChart

OTHERS = "__others__"


def drilldown_filters(chart: CompiledChart, point: Mapping[str, Any], now: dt.datetime | None) -> list[dict]:
    out = [_filter(f.field.path, f.op, f.value) for f in chart._filters]
    if "filter_expr" in chart.definition:
        out.append({"expr": chart.definition["filter_expr"]})
    others = point.get(OTHERS)
    for dim in chart.dimensions:
        if others is not None and dim is chart.dimensions[0]:
            shown = [v for v in others if v is not None]
            if shown:
                out.append({"field": dim.field.path, "op": "not_in", "value": shown})
            if len(shown) < len(others):
                out.append({"field": dim.field.path, "op": "is_not_empty"})
            continue
        if dim.key not in point:
            continue
        value = point[dim.key]
        if value is None:
            out.append({"field": dim.field.path, "op": "is_empty"})
        elif dim.bucket in CYCLIC_BUCKETS:
            raise ReportError(f"a point of {dim.bucket!r} (every such hour or weekday of the period) names no one "
                              "date range to list; group by hour, day or week to drill down",
                              code="report.no_drilldown", bucket=dim.bucket)
        elif dim.bucket is not None:
            date_only = dim.field.python_type is dt.date
            start, end = bucket_range(dim.bucket, value, None if date_only else chart.tz)
            out.append({"field": dim.field.path, "op": "gte", "value": start})
            out.append({"field": dim.field.path, "op": "lt", "value": end})
        else:
            out.append({"field": dim.field.path, "op": "eq", "value": _json(value)})
    measure = point.get("measure")
    if measure is not None:
        m = next((m for m in chart.measures if m.key == measure), None)
        if m is None:
            raise ReportError(f"the chart has no measure {measure!r}", code="report.unknown_measure")
        out += [_filter(f.field.path, f.op, f.value) for f in m.filters]
    if chart.period is not None:
        before, start, end = chart.period.bounds(now)
        path = chart.period.field.path
        out.append({"field": path, "op": "gte", "value": _json(start)})
        out.append({"field": path, "op": "lt", "value": _json(end)})
    return out


def bucket_range(unit: str, label: str, tz: str | None = None) -> tuple[str, str]:
    """ISO [start, end) of the bucket a label names (``2026-11`` -> 2026-11-01T00:00 .. 2026-12-01T00:00).

    With ``tz`` the bounds are that zone's local midnights, written with their UTC offset
    (``2026-11-01T00:00:00+08:00``), as buckets of date-times are.
    """
    try:
        if unit == "hour":
            start = dt.datetime.strptime(label, "%Y-%m-%d %H:00")
            end = start + dt.timedelta(hours=1)
        elif unit in ("day", "week"):
            start = dt.datetime.strptime(label, "%Y-%m-%d")
            end = start + dt.timedelta(days=1 if unit == "day" else 7)
        elif unit == "month":
            start = dt.datetime.strptime(label, "%Y-%m")
            end = _add_months(start, 1)
        elif unit == "quarter":
            year, quarter = label.split("-Q")
            start = dt.datetime(int(year), 3 * int(quarter) - 2, 1)
            end = _add_months(start, 3)
        elif unit == "year":
            start = dt.datetime(int(label), 1, 1)
            end = dt.datetime(start.year + 1, 1, 1)
        else:
            raise ValueError(unit)
    except (ValueError, TypeError):
        raise ReportError(f"{label!r} is not a {unit} bucket label", code="report.bad_point",
                          value=repr(label)[:60]) from None
    if tz is not None and tz != "UTC":
        zone = check_timezone(tz)
        start, end = start.replace(tzinfo=zone), end.replace(tzinfo=zone)
    return start.isoformat(), end.isoformat()


def _add_months(start: dt.datetime, months: int) -> dt.datetime:
    month = start.month - 1 + months
    return dt.datetime(start.year + month // 12, month % 12 + 1, 1)


def _filter(path: str, op: str, value: Any) -> dict:
    out = {"field": path, "op": op}
    if op not in ("is_empty", "is_not_empty"):
        out["value"] = _json(value)
    return out


def _json(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value
