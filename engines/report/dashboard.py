"""Dashboards: a grid of reports with shared filters.

``check_dashboard`` validates a definition against ``schemas/dashboard.json``
and the compiled reports it names. ``apply_shared_filters`` turns the values a
viewer picked in the dashboard's filter bar into per-chart filter lists
(``chart.query(shared_filters=...)``): a shared filter applies to each chart
whose form, or a form it joins, has that field (or to the field a tile names
in ``filter_fields``), and is skipped for the others. ``shared_target`` says
which field that is, so the dashboard can tell the viewer.
"""
from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from ..errors import JimuError
from .chart import CompiledChart
from .exceptions import ReportError, ValidationErrors

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


def check_dashboard(definition: Any, charts: Mapping[str, CompiledChart]) -> None:
    """Raise ``ValidationErrors`` for a malformed dashboard or one naming unknown reports."""
    errors: list[JimuError | dict] = []
    for err in _validator().iter_errors(definition):
        pointer = "".join(f"/{p}" for p in err.absolute_path)
        errors.append({"code": "dashboard.schema", "message": err.message[:300], "pointer": pointer})
    if errors:
        raise ValidationErrors(errors, "the dashboard definition does not match schemas/dashboard.json")
    for i, item in enumerate(definition["charts"]):
        if item["report"] not in charts:
            errors.append(ReportError(f"no report {item['report']!r}; add it to the app or remove the tile",
                                      code="dashboard.unknown_report", pointer=f"/charts/{i}/report"))
        if item["x"] + item["w"] > 12:
            errors.append(ReportError("a tile must fit the 12-column grid (x + w <= 12)",
                                      code="dashboard.bad_layout", pointer=f"/charts/{i}"))
        declared = {f["field"] for f in definition.get("filters", [])}
        chart = charts.get(item["report"])
        for shared, ref in (item.get("filter_fields") or {}).items():
            pointer = f"/charts/{i}/filter_fields/{shared}"
            if shared not in declared:
                errors.append(ReportError(f"filter_fields names {shared!r}, which is not a shared filter of this "
                                          "dashboard; use the field key of one of its filters",
                                          code="dashboard.unknown_shared_filter", pointer=pointer))
            elif ref is not None and chart is not None and not chart.has_field(ref):
                errors.append(ReportError(f"the tile's report has no field {ref!r} for the filter on {shared!r}; "
                                          "name a field of its form or of a form it joins (alias.field)",
                                          code="dashboard.unknown_field", pointer=pointer))
    if errors:
        raise ValidationErrors(errors)


def apply_shared_filters(dashboard: Mapping[str, Any], values: Mapping[str, Any],
                         charts: Mapping[str, CompiledChart], tz: str = "UTC") -> dict[str, list[dict]]:
    """Per report key, the filter dicts the viewer's shared-filter ``values`` (by field key) add.

    Empty values (None, "", [], {}) leave a filter off. A date range is
    ``{"from": "2026-11-01", "to": "2026-11-22"}`` (both optional, ``to``
    inclusive; days of the zone ``tz``) or ``{"within_days": 30}``.
    """
    declared = {f["field"]: f for f in dashboard.get("filters", [])}
    unknown = [k for k in values if k not in declared]
    if unknown:
        raise ReportError(f"the dashboard has no filter on {', '.join(map(repr, unknown))}",
                          code="report.unknown_shared_filter", fields=unknown)
    wanted = [(field, _filters_for(declared[field], value, tz)) for field, value in values.items()]
    out: dict[str, list[dict]] = {}
    for item in dashboard.get("charts", []):
        chart = charts.get(item["report"])
        if chart is None:
            continue
        refs = {field: shared_target(item, chart, field) for field, _ in wanted}
        out[item["report"]] = [dict(f, field=refs[field]) if f.get("field") == field else f
                               for field, filters in wanted if refs[field] is not None for f in filters]
    return out


def shared_target(item: Mapping[str, Any], chart: CompiledChart, field: str) -> str | None:
    """The field of the tile ``item`` (drawing ``chart``) that the shared filter on ``field`` applies
    to: the tile's ``filter_fields`` entry when it has one (None: not filtered), else the same key on
    the chart's form, else through the first join whose form has it (``alias.field``); None when
    neither has it."""
    named = item.get("filter_fields") or {}
    if field in named:
        return named[field]
    if chart.has_field(field):
        return field
    for join in (getattr(chart, "definition", None) or {}).get("joins", []):
        ref = f"{join['as']}.{field}"
        if chart.has_field(ref):
            return ref
    return None


def _filters_for(spec: Mapping[str, Any], value: Any, tz: str = "UTC") -> list[dict]:
    field, kind = spec["field"], spec["kind"]
    if value in (None, "", [], {}):
        return []
    if kind == "choice":
        if isinstance(value, list):
            return [{"field": field, "op": "in", "value": value}]
        return [{"field": field, "op": "eq", "value": value}]
    if kind == "text":
        if not isinstance(value, str):
            raise _bad(field, "text")
        return [{"field": field, "op": "contains", "value": value}]
    if kind == "date_range" and isinstance(value, Mapping):
        if "within_days" in value:
            return [{"field": field, "op": "within_days", "value": value["within_days"]}]
        out = []
        if value.get("from"):
            out.append({"field": field, "op": "gte", "value": _midnight(field, value["from"], tz)})
        if value.get("to"):
            out.append({"field": field, "op": "lt", "value": _midnight(field, value["to"], tz, days=1)})
        return out
    raise _bad(field, "{from, to} or {within_days}")


def _midnight(field: str, value: Any, tz: str, days: int = 0) -> str:
    """The start of the day ``days`` after ``value`` in zone ``tz`` (a date field reads its date part)."""
    try:
        day = dt.date.fromisoformat(str(value)[:10]) + dt.timedelta(days=days)
    except ValueError:
        raise _bad(field, "an ISO date such as 2026-11-22") from None
    if tz == "UTC":
        return day.isoformat()
    from .dialects import check_timezone
    return dt.datetime(day.year, day.month, day.day, tzinfo=check_timezone(tz)).isoformat()


def _bad(field: str, expected: str) -> ReportError:
    return ReportError(f"the value of the shared filter on {field!r} must be {expected}",
                       code="report.bad_shared_filter", field=field)


@lru_cache(maxsize=1)
def _validator():
    import jsonschema
    from referencing import Registry, Resource
    report = json.loads((SCHEMA_DIR / "report.json").read_text(encoding="utf-8"))
    dashboard = json.loads((SCHEMA_DIR / "dashboard.json").read_text(encoding="utf-8"))
    registry = Registry().with_resource(report["$id"], Resource.from_contents(report))
    return jsonschema.Draft202012Validator(dashboard, registry=registry)
