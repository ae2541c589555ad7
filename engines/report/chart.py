"""Compile a chart definition once; build its one SELECT and shape its rows per request.

``compile_chart(definition, source)`` checks the whole definition (structure
against ``schemas/report.json``, then every field, operator, aggregate and
option against the form and the chart type) and raises one
``ValidationErrors`` listing every problem with its JSON pointer. The
``CompiledChart`` is immutable and holds no data; per request the runtime calls

    stmt = chart.query(where=<row-level read permission>, shared_filters=[...], now=now)
    rows = chart.rows(connection.execute(stmt).all())
    fig  = chart.figure(rows, lang="zh-CN")

``query`` returns exactly one SELECT: dimensions are GROUP BY expressions,
measures are aggregates (measure filters and the KPI's previous period are
conditional aggregation in the same SELECT, shares a window total). ``rows``
does the per-group arithmetic SQL cannot do portably (ratios, formulas, the
'Others' group of a top-N). SQL labels are generated (``d0``, ``m0``): keys
and labels the user writes never reach SQL.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import sqlalchemy as sa

from ..errors import JimuError
from . import periods
from .charts import CHARTS, ChartType
from .dialects import TIME_OF_DAY_BUCKETS, DateBucket, check_timezone
from .drilldown import drilldown_filters
from .exceptions import ReportError, ValidationErrors
from .export import export_table
from .expr_sql import translate
from .fields import TEMPORAL_KINDS, Field, FieldResolver
from .filters import CompiledFilter, compile_filters
from .labels import CYCLIC_LABELS, field_name, localize
from .measures import ADDITIVE, AGGREGATES, Measure, divide, field_ok_for
from .source import Source

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "report.json"
OTHERS = "__others__"
#: schema violations that have a more telling code of their own
_SCHEMA_CODES = {("agg", "enum"): "report.unknown_aggregate", ("op", "enum"): "report.unknown_operator",
                 ("bucket", "enum"): "report.unknown_bucket"}


@dataclass(frozen=True)
class Dimension:
    key: str
    label: Any
    field: Field
    bucket: str | None
    expr: sa.ColumnElement

    @property
    def labels(self) -> Mapping[Any, Any] | None:
        """How the dimension's values read: the field's option labels, or the names of a cyclic bucket's
        values (weekday ``1`` reads 周一 / Mon, hour of day ``09`` reads 09:00)."""
        if self.bucket is None:
            return self.field.labels
        return CYCLIC_LABELS.get(self.bucket)


@dataclass(frozen=True)
class Period:
    """The KPI window: the last ``days`` days before ``now``, and optionally the window before it."""

    field: Field
    days: int
    previous: bool

    def bounds(self, now: dt.datetime | None) -> tuple[Any, Any, Any]:
        if now is None:
            raise ReportError("this chart compares periods: pass now= to query()", code="report.needs_now")
        if self.field.python_type is dt.date:
            end = now.date() + dt.timedelta(days=1)
        else:
            end = now
        start = end - dt.timedelta(days=self.days)
        return start - dt.timedelta(days=self.days), start, end


class CompiledChart:
    """An immutable, checked chart. See the module docstring for the call sequence."""

    def __init__(self, *, definition: dict, chart_type: ChartType, resolver: FieldResolver,
                 filters: list[CompiledFilter], filter_expr: sa.ColumnElement | None,
                 dimensions: list[Dimension], measures: list[Measure], period: Period | None, tz: str = "UTC"):
        self.definition = definition
        self.tz = tz
        self.key: str = definition["key"]
        self.label = definition.get("label") or definition["key"]
        self.form: str = definition["form"]
        self.chart_type = chart_type
        self.dimensions = dimensions
        self.measures = measures
        self.period = period
        self._resolver = resolver
        self._filters = filters
        self._filter_expr = filter_expr
        self._sql_measures = [m for m in measures if m.in_sql]
        self._derived = [m for m in measures if not m.in_sql]
        self._by_key = {m.key: m for m in measures}
        top = definition.get("top")
        self._top_n: int | None = top["n"] if top else None
        self._top_by: str | None = (top.get("by") or self._sql_measures[0].key) if top else None
        self._fold = bool(top and top.get("others"))
        self._sort = [(s["by"], s.get("dir", "asc") == "desc") for s in definition.get("sort", [])]
        self._limit: int | None = definition.get("limit")
        derived_keys = {m.key for m in self._derived}
        self._sort_in_python = bool(top and self._sort) or any(by in derived_keys for by, _ in self._sort)
        self._positions = self._layout()
        #: the date-bucketed dimension of a trend, whose empty buckets are filled in
        self._trend: Dimension | None = (
            dimensions[0] if getattr(chart_type, "continuous", False) and len(dimensions) == 1
            and dimensions[0].bucket in periods.SEQUENTIAL and not top else None)
        #: (form key, field key) of every field the definition reads: dimensions, measures, filters,
        #: joins and period (the runtime refuses a chart that reads a field hidden from the viewer)
        self.fields_read: tuple[tuple[str, str], ...] = resolver.owners(resolver.used())

    # -- query -------------------------------------------------------------------------
    def query(self, *, where: sa.ColumnElement[bool] | None = None,
              shared_filters: Sequence[Mapping] | None = None, now: dt.datetime | None = None) -> sa.Select:
        """The chart's one SELECT. ``where`` is the viewer's row-level read permission."""
        conditions = [f.clause(now) for f in self._filters]
        if self._filter_expr is not None:
            conditions.append(self._filter_expr)
        if shared_filters:
            errors: list[JimuError] = []
            extra = compile_filters(list(shared_filters), self._resolver, "/shared_filters", errors)
            if errors:
                raise ValidationErrors(errors, "a dashboard filter does not fit this chart")
            conditions.extend(f.clause(now) for f in extra)
        if where is not None:
            conditions.append(where)
        current = previous = None
        if self.period is not None:
            before, start, end = self.period.bounds(now)
            col = self.period.field.column
            if self.period.previous:
                conditions.append(sa.and_(col >= before, col < end))
                current, previous = sa.and_(col >= start, col < end), sa.and_(col >= before, col < start)
            else:
                conditions.append(sa.and_(col >= start, col < end))

        labelled: dict[str, sa.ColumnElement] = {}
        for i, dim in enumerate(self.dimensions):
            labelled[f"d{i}"] = dim.expr.label(f"d{i}")
        for i, m in enumerate(self._sql_measures):
            own = [f.clause(now) for f in m.filters]
            labelled[f"m{i}"] = m.sql(_all(own + [current])).label(f"m{i}")
            if previous is not None:
                labelled[f"p{i}"] = m.sql(_all(own + [previous])).label(f"p{i}")
            if self._fold and m.agg == "avg":
                labelled[f"c{i}"] = m.non_null_count(_all(own + [current])).label(f"c{i}")
        sql_index = {m.key: i for i, m in enumerate(self._sql_measures)}
        for j, m in enumerate(self._derived):
            if m.agg == "percent_of_total":
                of = self._sql_measures[sql_index[m.of]]
                own = [f.clause(now) for f in of.filters]
                labelled[f"t{j}"] = sa.func.sum(of.sql(_all(own + [current]))).over().label(f"t{j}")

        stmt = sa.select(*labelled.values()).select_from(self._resolver.from_clause)
        if conditions:
            stmt = stmt.where(*conditions)
        if self.dimensions:
            stmt = stmt.group_by(*(dim.expr for dim in self.dimensions))
            stmt = stmt.order_by(*self._order(labelled, sql_index))
        limit = self._sql_limit()
        if limit is not None:
            stmt = stmt.limit(limit)
        return stmt

    def _order(self, labelled: dict, sql_index: dict[str, int]) -> list:
        dims_asc = [sa.nulls_last(labelled[f"d{i}"].asc()) for i in range(len(self.dimensions))]
        if self._top_by is not None:
            return [sa.nulls_last(labelled[f"m{sql_index[self._top_by]}"].desc()), *dims_asc]
        if not self._sort or self._sort_in_python:
            return dims_asc
        dim_index = {d.key: i for i, d in enumerate(self.dimensions)}
        order = []
        for by, desc in self._sort:
            col = labelled[f"d{dim_index[by]}"] if by in dim_index else labelled[f"m{sql_index[by]}"]
            order.append(sa.nulls_last(col.desc() if desc else col.asc()))
        return order + dims_asc

    def _sql_limit(self) -> int | None:
        if self._fold or self._sort_in_python:
            return None
        limits = [n for n in (self._top_n, self._limit) if n is not None]
        return min(limits) if limits else None

    def _layout(self) -> dict[str, int]:
        """Position of each generated SQL label in a result row (the order ``query`` builds)."""
        names = [f"d{i}" for i in range(len(self.dimensions))]
        for i, m in enumerate(self._sql_measures):
            names.append(f"m{i}")
            if self.period is not None and self.period.previous:
                names.append(f"p{i}")
            if self._fold and m.agg == "avg":
                names.append(f"c{i}")
        names += [f"t{j}" for j, m in enumerate(self._derived) if m.agg == "percent_of_total"]
        return {name: pos for pos, name in enumerate(names)}

    # -- rows --------------------------------------------------------------------------
    def rows(self, result_rows: Iterable[Sequence], now: dt.datetime | None = None) -> list[dict]:
        """Result rows of ``query`` as dicts keyed by dimension and measure keys.

        Adds ratio, formula and share measures per group, folds the groups
        after the top n into one row flagged ``"__others__": [top values]``,
        and for a KPI with previous period adds ``<key>__previous`` and
        ``<key>__change`` (relative change, 0.25 = +25 %). A trend (a chart type
        that draws a continuous axis, over one date-bucketed dimension) gets a
        row for every bucket between its first and last, counts and sums 0 where
        no record fell; the bucket ``now`` falls in is flagged ``"__partial__": true``
        (still filling up).
        """
        pos = self._positions
        previous = self.period is not None and self.period.previous
        dims = [(d.key, pos[f"d{i}"]) for i, d in enumerate(self.dimensions)]
        meas = [(m, pos[f"m{i}"], pos.get(f"p{i}"), pos.get(f"c{i}")) for i, m in enumerate(self._sql_measures)]
        totals_at = {m.key: pos[f"t{j}"] for j, m in enumerate(self._derived) if m.agg == "percent_of_total"}
        out: list[dict] = []
        weights: list[dict] = []
        prevs: list[dict] = []
        totals: dict[str, Any] = {}
        for r in result_rows:
            row = {key: r[p] for key, p in dims}
            prev: dict[str, Any] = {}
            weight: dict[str, Any] = {}
            for m, p, pp, cp in meas:
                row[m.key] = m.normalise(r[p])
                if pp is not None:
                    prev[m.key] = m.normalise(r[pp])
                if cp is not None:
                    weight[m.key] = r[cp]
            if not totals:
                totals = {k: _number(r[p]) for k, p in totals_at.items()}
            out.append(row)
            weights.append(weight)
            prevs.append(prev)
        if self._fold and self._top_n is not None and len(out) > self._top_n:
            out = out[:self._top_n] + [self._others(out[:self._top_n], out[self._top_n:],
                                                     weights[self._top_n:])]
        if self._trend is not None:
            out = self._fill(out, now)
            prevs = [{} for _ in out]
        for i, row in enumerate(out):
            self._derive(row, totals)
            if previous:
                prev = prevs[i]
                self._derive(prev, {})
                for m in self.measures:
                    before = prev.get(m.key)
                    row[f"{m.key}__previous"] = before
                    now_value = row.get(m.key)
                    row[f"{m.key}__change"] = (None if before in (None, 0) or now_value is None
                                               else (now_value - before) / abs(before))
        if self._sort_in_python:
            out = self._python_sort(out)
            if self._limit is not None:
                out = out[:self._limit]
        return out

    def _fill(self, rows: list[dict], now: dt.datetime | None) -> list[dict]:
        """Every bucket from the first row's to the last row's (a bucket without records: counts and
        sums 0, other aggregates empty), in order, the current one flagged; rows without a date last."""
        dim = self._trend
        dated = {r[dim.key]: r for r in rows if r.get(dim.key) is not None}
        undated = [r for r in rows if r.get(dim.key) is None]
        if dated:
            labels = sorted(dated)
            filled = []
            for label in periods.between(dim.bucket, labels[0], labels[-1]):
                filled.append(dated.pop(label, None) or {
                    dim.key: label, **{m.key: 0 if m.agg in ADDITIVE else None for m in self._sql_measures}})
            rows = filled + sorted(dated.values(), key=lambda r: r[dim.key]) + undated
        if now is not None:
            here = periods.current(dim.bucket, now, self.tz)
            for r in rows:
                if r.get(dim.key) == here:
                    r["__partial__"] = True
        return self._python_sort(rows) if self._sort else rows

    def _others(self, kept: list[dict], rest: list[dict], weights: list[dict]) -> dict:
        dim = self.dimensions[0].key
        others: dict[str, Any] = {dim: None, OTHERS: [r[dim] for r in kept]}
        for m in self._sql_measures:
            values = [r[m.key] for r in rest if r[m.key] is not None]
            if m.agg in ADDITIVE:
                others[m.key] = sum(values)
            elif m.agg == "min":
                others[m.key] = min(values) if values else None
            elif m.agg == "max":
                others[m.key] = max(values) if values else None
            elif m.agg == "avg":
                pairs = [(r[m.key], w[m.key]) for r, w in zip(rest, weights) if r[m.key] is not None]
                n = sum(w for _, w in pairs)
                others[m.key] = sum(v * w for v, w in pairs) / n if n else None
            else:  # distinct counts and medians of a union cannot be derived from the groups
                others[m.key] = None
        return others

    def _derive(self, row: dict, totals: dict) -> None:
        for m in self._derived:
            if m.agg == "percent_of_total":
                row[m.key] = divide(row.get(m.of), totals.get(m.key))
            elif m.ratio is not None:
                row[m.key] = divide(row.get(m.ratio[0]), row.get(m.ratio[1]))
            else:
                row[m.key] = _evaluate(m.formula, row)

    def _python_sort(self, rows: list[dict]) -> list[dict]:
        others = [r for r in rows if OTHERS in r]
        rows = [r for r in rows if OTHERS not in r]
        for by, desc in reversed(self._sort):
            present = [r for r in rows if r.get(by) is not None]
            missing = [r for r in rows if r.get(by) is None]
            present.sort(key=lambda r: r[by], reverse=desc)
            rows = present + missing
        return rows + others

    @property
    def forms(self) -> tuple[str, ...]:
        """The chart's form and every form it joins: the viewer needs read access to all of them."""
        return (self.form, *self._resolver.joined_forms())

    @property
    def reads_process(self) -> bool:
        """Whether the chart reads the flow runtime's process data (``process.*``), which no form's
        data version covers."""
        return any(isinstance(r, str) and r.startswith("process.") for r in self._resolver.used())

    # -- presentation --------------------------------------------------------------------
    def figure(self, rows: list[dict], lang: str = "zh-CN") -> dict:
        """A plain plotly figure dict; ``layout.meta.empty`` is true when there is no data."""
        return self.chart_type.render(self, rows, lang)

    def drilldown(self, point: Mapping[str, Any], *, now: dt.datetime | None = None) -> list[dict]:
        """Filters selecting the records behind a clicked point (a row of ``rows`` or its dimension values).

        ``point["measure"]`` (a measure key) adds that measure's own filters.
        """
        return drilldown_filters(self, point, now)

    def export_rows(self, rows: list[dict], lang: str = "zh-CN") -> tuple[list[str], list[list]]:
        """Header and cells for CSV/XLSX; text cells are neutralised with ``escape_cell``."""
        return export_table(self, rows, lang)

    def fields_of(self, refs) -> tuple[tuple[str, str], ...]:
        """(form key, field key) of field references (e.g. of dashboard filters) against this chart."""
        return self._resolver.owners(refs)

    def joined_rows(self, scope_of) -> sa.ColumnElement[bool] | None:
        """The condition keeping joined records inside ``scope_of(form_key)`` (see ``FieldResolver.join_scope``)."""
        return self._resolver.join_scope(scope_of)

    def has_field(self, ref: str) -> bool:
        """Whether ``ref`` names a field of this chart's form or of a joined form."""
        return self._resolver.has(ref)

    def measure_label(self, m: Measure, lang: str) -> str:
        return localize(m.label, lang, m.key)

    def dimension_label(self, d: Dimension, lang: str) -> str:
        """The dimension's own label, else its field's label in ``lang`` (never a field key in
        another language on an English axis)."""
        return localize(d.label, lang) or field_name(d.field, lang)

    def field_name(self, ref: str, lang: str) -> str:
        """How the field ``ref`` (of this chart's form or a joined one) reads in ``lang``."""
        return field_name(self._resolver.resolve(ref), lang)


def _all(parts: list) -> sa.ColumnElement[bool] | None:
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else sa.and_(*parts)


def _number(value: Any) -> Any:
    return float(value) if value is not None and not isinstance(value, (int, float)) else value


def _evaluate(formula: Any, row: dict) -> Any:
    """A formula over one aggregated group; a group it cannot compute (x / 0, a NULL) gets None."""
    try:
        value = formula.evaluate(row)
    except (JimuError, ArithmeticError, TypeError, ValueError):
        return None
    return value


# -- compilation ---------------------------------------------------------------------------
def compile_chart(definition: dict, source: Source, *, tz: str = "UTC") -> CompiledChart:
    """Check ``definition`` against ``source`` and compile it; ``ValidationErrors`` lists every problem.

    ``tz`` (an IANA zone, the deployment's ``TIMEZONE``) is the calendar date buckets follow.
    """
    check_timezone(tz)
    structural = schema_errors(definition)
    if structural:
        raise ValidationErrors(structural, "the report definition does not match schemas/report.json")
    errors: list[JimuError] = []

    def guard(pointer: str, fn, *args):
        try:
            return fn(*args)
        except JimuError as exc:
            exc.context.setdefault("pointer", pointer)
            errors.append(exc)
            return None

    chart_type_cls = guard("/type", CHARTS.get, definition["type"])
    base = guard("/form", source.form, definition["form"])
    if base is None:
        raise _invalid(errors)
    resolver = FieldResolver(source, base)
    for i, join in enumerate(definition.get("joins", [])):
        guard(f"/joins/{i}", resolver.add_join, join["field"], join["as"])
    filters = compile_filters(definition.get("filters", []), resolver, "/filters", errors)
    filter_expr = None
    if "filter_expr" in definition:
        filter_expr = guard("/filter_expr", translate, definition["filter_expr"], resolver)

    dimensions = []
    for i, item in enumerate(definition.get("dimensions", [])):
        dim = guard(f"/dimensions/{i}", _dimension, item, resolver, tz)
        if dim is not None:
            dimensions.append(dim)
    measures: list[Measure] = []
    for i, item in enumerate(definition["measures"]):
        m = guard(f"/measures/{i}", _measure, item, resolver, measures, errors, f"/measures/{i}")
        if m is not None:
            measures.append(m)

    seen: set[str] = set()
    for pointer, key in ([(f"/dimensions/{i}", d.key) for i, d in enumerate(dimensions)]
                         + [(f"/measures/{i}", m.key) for i, m in enumerate(measures)]):
        if key in seen or key == OTHERS:
            errors.append(ReportError(f"key {key!r} is used twice; give each dimension and measure its own key",
                                      code="report.duplicate_key", pointer=pointer, key=key))
        seen.add(key)
    _check_order(definition, dimensions, measures, errors)

    chart_type = None
    period = None
    if chart_type_cls is not None:
        options = definition.get("options", {})
        for err in chart_type_cls.option_errors(options):
            errors.append(err)
        _check_counts(chart_type_cls, definition.get("dimensions", []), definition["measures"], errors)
        if chart_type_cls.supports_period and "date_field" in options:
            period = guard("/options/date_field", _period, options, resolver)
        chart_type = chart_type_cls({**chart_type_cls.default_options, **options})
    if errors:
        raise _invalid(errors)
    return CompiledChart(definition=definition, chart_type=chart_type, resolver=resolver, filters=filters,
                         filter_expr=filter_expr, dimensions=dimensions, measures=measures, period=period, tz=tz)


def _invalid(errors: list[JimuError]) -> ValidationErrors:
    summary = "; ".join(f"{e.context.get('pointer', '')}: {e.message}" for e in errors[:5])
    return ValidationErrors(errors, f"the report definition has {len(errors)} error(s): {summary}")


def _dimension(item: dict, resolver: FieldResolver, tz: str = "UTC") -> Dimension:
    field = resolver.resolve(item["field"])
    bucket = item.get("bucket")
    expr: sa.ColumnElement = field.column
    if bucket is not None:
        if field.kind not in TEMPORAL_KINDS and field.python_type not in (dt.date, dt.datetime):
            raise ReportError(f"only date fields can be bucketed; {field.ref!r} is {field.kind}",
                              code="report.bad_bucket", field=field.ref)
        if bucket in TIME_OF_DAY_BUCKETS and field.python_type is dt.date:
            raise ReportError(f"{field.ref!r} holds dates without time; bucket it by day or longer",
                              code="report.bad_bucket", field=field.ref)
        expr = DateBucket(field.column, bucket, tz)
    return Dimension(item.get("key") or field.ref, item.get("label"), field, bucket, expr)


def _measure(item: dict, resolver: FieldResolver, earlier: list[Measure], errors: list[JimuError],
             pointer: str) -> Measure | None:
    key, label, fmt = item["key"], item.get("label"), item.get("format")
    known = {m.key: m for m in earlier}
    if "ratio" in item:
        missing = [k for k in item["ratio"] if k not in known]
        if missing:
            raise ReportError(f"ratio refers to {', '.join(map(repr, missing))}; list those measures before it",
                              code="report.unknown_measure", measure=key)
        return Measure(key, label, "ratio", ratio=tuple(item["ratio"]), format=fmt or "percent")
    if "formula" in item:
        formula, names = _formula(item["formula"], known)
        return Measure(key, label, "formula", formula=formula, names=names, format=fmt)
    agg = item["agg"]
    if agg not in AGGREGATES:  # the schema's enum catches this first; kept for callers skipping it
        raise ReportError(f"unknown aggregate {agg!r}", code="report.unknown_aggregate")
    if agg == "percent_of_total":
        of = known.get(item.get("of", ""))
        if of is None or not of.in_sql:
            raise ReportError("percent_of_total needs 'of': the key of an earlier count/sum measure",
                              code="report.unknown_measure", measure=key)
        if of.agg not in ADDITIVE:
            raise ReportError(f"a share of total needs a count or sum measure; {of.key!r} is {of.agg}",
                              code="report.bad_measure", measure=key)
        return Measure(key, label, "agg", agg=agg, of=of.key, format=fmt or "percent")
    field = resolver.resolve(item["field"]) if "field" in item else None
    problem = field_ok_for(agg, field)
    if problem:
        raise ReportError(problem, code="report.bad_aggregate_field", measure=key)
    filters = compile_filters(item.get("filter", []), resolver, f"{pointer}/filter", errors)
    return Measure(key, label, "agg", agg=agg, field=field, filters=tuple(filters), format=fmt)


def _formula(src: str, known: dict[str, Measure]) -> tuple[Any, tuple[str, ...]]:
    from ..expr import compile_expr
    compiled = compile_expr(src)
    names = tuple(sorted(compiled.names))
    missing = [n for n in names if n not in known]
    if missing:
        raise ReportError(f"formula uses {', '.join(map(repr, missing))}; a formula may use only measures "
                          "listed before it", code="report.unknown_measure", names=missing)
    return compiled, names


def _period(options: dict, resolver: FieldResolver) -> Period:
    field = resolver.resolve(options["date_field"])
    if field.python_type not in (dt.date, dt.datetime):
        raise ReportError(f"the period field must be a date field; {field.ref!r} is {field.kind}",
                          code="report.bad_period_field", field=field.ref)
    return Period(field, options.get("period_days", 30), bool(options.get("previous_period")))


def _check_order(definition: dict, dimensions: list[Dimension], measures: list[Measure],
                 errors: list[JimuError]) -> None:
    keys = {d.key for d in dimensions} | {m.key for m in measures}
    for i, item in enumerate(definition.get("sort", [])):
        if item["by"] not in keys:
            errors.append(ReportError(f"sort by {item['by']!r}: not a dimension or measure key of this chart",
                                      code="report.unknown_sort", pointer=f"/sort/{i}/by"))
    top = definition.get("top")
    if top is None:
        return
    if len(dimensions) != 1:
        errors.append(ReportError("top-N needs exactly one dimension", code="report.bad_top", pointer="/top"))
    sql_keys = {m.key for m in measures if m.in_sql}
    by = top.get("by") or next((m.key for m in measures if m.in_sql), None)
    if by not in sql_keys:
        errors.append(ReportError("top-N ranks by an aggregate measure (count, sum, avg ...); set 'by' to one",
                                  code="report.bad_top", pointer="/top/by"))


def _check_counts(chart_type: type[ChartType], dimensions: list, measures: list, errors: list) -> None:
    for what, items, (low, high) in (("dimension", dimensions, chart_type.dimensions),
                                     ("measure", measures, chart_type.measures)):
        if not low <= len(items) <= high:
            span = f"{low}" if low == high else f"{low} to {high}"
            errors.append(ReportError(f"a {chart_type.type} chart takes {span} {what}s, not {len(items)}",
                                      code=f"report.{what}_count", pointer=f"/{what}s"))


def schema_errors(definition: Any) -> list[dict]:
    """Structural problems of a definition against ``schemas/report.json``, with JSON pointers."""
    out = []
    for err in sorted(_validator().iter_errors(definition), key=lambda e: list(e.absolute_path)):
        path = [str(p) for p in err.absolute_path]
        code = _SCHEMA_CODES.get((path[-1] if path else "", err.validator), "report.schema")
        pointer = "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in path)
        out.append({"code": code, "message": err.message[:300], "pointer": pointer if path else ""})
    return out


@lru_cache(maxsize=1)
def _validator():
    import jsonschema
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)
