"""Reports and dashboards over HTTP: chart data, dashboard data, drill-down, CSV/XLSX export.

The report engine compiles definitions; this module is its imperative shell:

* ``Reports`` finds the report and dashboard definitions of the installed app
  packages and compiles them once per catalogue revision (the one definition
  cache, ``Catalog.compiled``) — not per request — against ``RuntimeSource``, the engine's view of the record
  store.
* ``run_chart`` executes a chart's one SELECT for a viewer: read permission
  on the chart's form and on every form it joins, no field hidden from the
  viewer among those it reads (dimensions, measures, filters, joins), and the
  viewer's row scope (``policy.row_filter``) as the WHERE the engine adds, also
  for joined records, so a viewer only ever sees aggregates over rows they may
  read.

Routes (``/api/v1``)::

    GET  /reports                           reports the viewer may read
    GET  /reports/catalog                   chart types, aggregates, operators, buckets (for the designer)
    GET  /reports/<key>/data                ?filter=<json filter list>&lang=  rows + plotly figure
    POST /reports/<key>/drilldown           {"point": row, "measure"?, "values"?, "dashboard"?}
                                            → {"form", "filter", "url": "/forms/<form>?filter=<json>"}
    GET  /reports/<key>/export.csv|.xlsx    same parameters as data
    GET  /dashboards                        dashboards the viewer may open
    GET  /dashboards/<key>/data             ?values=<json {field: value}>&lang=  every tile's figure

A report key is unique within its app; when two installed apps use the same
key, pass ``?app=<app key>``.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping
from urllib.parse import quote

import sqlalchemy as sa
from flask import Response, jsonify, request
from sqlalchemy.ext.compiler import compiles

from engines.errors import JimuError, NotFound, PermissionDenied
from engines.operators import OPERATORS
from engines.report import (CompiledChart, ReportError, ValidationErrors, apply_shared_filters, check_dashboard,
                            compile_chart)
from engines.report.dashboard import shared_target
from engines.report.dialects import register_sqlite_functions
from engines.report.labels import localize

from .. import db
from ..audit import jsonable
from ..chart_cache import DEFAULT_SECONDS, ChartCache
from ..auth import current_principal
from ..auth import policy
from ..auth.policy import can, row_filter
from ..context import Jimu, current_jimu
from ..exceptions import NotAuthenticated
from ..i18n import current_language
from ..store.mapping import index_name
from . import bp
from .util import BadRequest, json_arg, json_body, json_param, query_args

#: the ``filter`` and ``values`` query arguments: a JSON list of {field, op, value}; a JSON object
FILTERS = json_param({"type": "array", "items": {"type": "object", "required": ["field"],
                                                 "properties": {"field": {"type": "string"}, "op": {"type": "string"}}}})
VALUES = json_param({"type": "object", "description": "the dashboard's shared filters: field → value"})

#: the record list page's filter parameter (a JSON list of {field, op, value}, see runtime/store/query.py)
LIST_FILTER_PARAM = "filter"


# -- the engine's view of the record store ------------------------------------------------------
class _FormSource:
    """A ``FormTable`` as the report engine's ``FormSource``; unknown fields are ``report.unknown_field``."""

    def __init__(self, ft, names: "_Names | None" = None):
        self.ft = ft
        self.names = names
        self.key = ft.key
        self.table = ft.table
        self.id_column = ft.table.c.id

    def column(self, field_key: str) -> sa.ColumnElement:
        if not isinstance(field_key, str) or (field_key not in self.ft.columns and field_key not in _SYSTEM):
            raise ReportError(f"form {self.key!r} has no field {field_key!r} a report can use "
                              "(sub-tables and multi-value fields are not aggregated)",
                              code="report.unknown_field", field=str(field_key)[:100])
        return self.ft.column(field_key)

    def field_kind(self, field_key: str) -> str:
        self.column(field_key)
        return self.ft.field_kind(field_key)

    def link_target(self, field_key: str) -> str | None:
        return self.ft.link_target(field_key)

    def child_column(self, field_key: str, column_key: str):
        return self.ft.child_column(field_key, column_key)

    def field_label(self, field_key: str) -> Any:
        """The field's label as the form defines it (system fields: None, the engine names them)."""
        if field_key not in self.ft.columns:
            return None
        return self.ft.spec.field(field_key).label

    def choice_labels(self, field_key: str) -> dict | None:
        """Option value → label of a field with fixed options (select, radio), so charts show labels."""
        if field_key not in self.ft.columns:
            return None
        widget = self.ft.spec.field(field_key).widget
        if self.names is not None and widget.value_kind in ("user", "group"):
            return self.names.of(widget.value_kind)     # people and teams by name, not by id
        choices = getattr(widget, "choices", None)
        options = getattr(choices, "options", None)
        return {o["value"]: o["label"] for o in options} if options else None


class _Names:
    """Id → name of users (display name or username) and groups (label) for chart labels: compiled
    charts keep these mappings, which read the tables when a chart is drawn (at most every 30 s)."""

    TTL = 30.0

    def __init__(self, jimu):
        self.by_kind = {kind: _NameMap(jimu, kind, self.TTL) for kind in ("user", "group")}

    def of(self, kind: str) -> "_NameMap":
        return self.by_kind[kind]


class _NameMap(Mapping):
    def __init__(self, jimu, kind: str, ttl: float):
        self.jimu, self.kind, self.ttl = jimu, kind, ttl
        self._names: dict | None = None
        self._at = 0.0

    def _load(self) -> dict:
        import time
        now = time.monotonic()
        if self._names is None or now - self._at > self.ttl:
            with self.jimu.read() as conn:
                if self.kind == "user":
                    rows = conn.execute(sa.select(db.users.c.id, db.users.c.display_name, db.users.c.username))
                    names = {r.id: r.display_name or r.username for r in rows}
                else:
                    rows = conn.execute(sa.select(db.groups.c.id, db.groups.c.label, db.groups.c.key))
                    names = {r.id: r.label or r.key for r in rows}
            self._names, self._at = names, now
        return self._names

    def __getitem__(self, key):
        return self._load()[key]

    def __iter__(self):
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


_SYSTEM = ("id", "created_at", "updated_at", "created_by", "updated_by")


class FlowProcess:
    """Per-record process data derived from the flow runtime's history, as the engine's ``ProcessSource``.

    One row per record that ever ran a flow, computed in SQL by the chart's own query (a grouped
    derived table over ``jimu_flow_instances`` ⋈ ``jimu_flow_history``, LEFT JOINed by the engine):

    ============================  ======================================================================
    ``first_response_minutes``    first flow start → the first response: the first record of the form a
                                  flow's ``first_response`` names that links to the record and matches
                                  its filter (a public reply by a handler); NULL without one, or when
                                  no flow of the form says what a response is
    ``first_completion_minutes``  first flow start → the first completed task
    ``handling_minutes``          first flow start → the last ``ended`` entry; NULL while running or reopened
    ``reopen_count``              ``reopened`` entries: every reopen, of an ended instance or along an edge
                                  into the flow's declared ``reopen_to`` node
    ``completed_tasks``           ``task_completed`` entries
    ``started_at``/``ended_at``   the same instants as date-times
    ``sla_<clock key>``           per service-level clock of the form's flows (``sla.clocks``): 1 when it
                                  was met, 0 when it was breached (once breached, always 0), NULL while
                                  it runs; an average of it is the compliance rate
    ============================  ======================================================================
    """

    FIELDS = {"first_response_minutes": "duration", "first_completion_minutes": "duration",
              "handling_minutes": "duration", "reopen_count": "number", "completed_tasks": "number",
              "started_at": "datetime", "ended_at": "datetime"}
    scope = None

    def __init__(self, instances: sa.Table, history: sa.Table, form_key: str,
                 responses: sa.FromClause | None = None, clocks: Iterable[str] = ()):
        """``responses``: one row per record (``record_id``, ``at``: its first response), or None;
        ``clocks``: the keys of the service-level clocks of the form's flows."""
        from engines.report.dialects import MinutesBetween
        i, h = instances.c, history.c
        started = sa.func.min(i.started_at)
        first_done = sa.func.min(sa.case((h.kind == "task_completed", h.at)))
        last_end = sa.func.max(sa.case((h.kind == "ended", h.at)))
        last_reopen = sa.func.max(sa.case((h.kind == "reopened", h.at)))
        ended = sa.case((sa.or_(last_reopen.is_(None), last_end > last_reopen), last_end))
        joined = instances.join(history, h.instance_id == i.id)
        if responses is not None:
            joined = joined.outerjoin(responses, responses.c.record_id == i.record_id)
            first_response = MinutesBetween(sa.func.min(responses.c.at), started)
        else:
            first_response = sa.cast(sa.null(), sa.Float)
        query = (sa.select(i.record_id.label("record_id"), started.label("started_at"), ended.label("ended_at"),
                           first_response.label("first_response_minutes"),
                           MinutesBetween(first_done, started).label("first_completion_minutes"),
                           MinutesBetween(ended, started).label("handling_minutes"),
                           sa.func.count(sa.case((h.kind == "reopened", 1))).label("reopen_count"),
                           sa.func.count(sa.case((h.kind == "task_completed", 1))).label("completed_tasks"),
                           *(self._clock(h, key).label(f"sla_{i}") for i, key in enumerate(clocks)))
                 .select_from(joined)
                 .where(i.form_key == form_key, i.record_id.is_not(None))
                 .group_by(i.record_id))
        self.key = form_key
        self.table = query.subquery("process")
        self.record_column = self.table.c.record_id
        #: field key → (kind, column label): the clocks' columns are labelled by position, never by user text
        self.fields = {k: (kind, k) for k, kind in self.FIELDS.items()}
        self.fields.update({f"sla_{key}": ("number", f"sla_{i}") for i, key in enumerate(clocks)})

    @staticmethod
    def _clock(h, key: str) -> sa.ColumnElement:
        # a clock's entries have no node (a task's own SLA notes sla_met at its node, its action as outcome)
        clock = sa.and_(h.node_id.is_(None), h.outcome == key)
        breached = sa.func.count(sa.case((sa.and_(clock, h.kind == "sla_breached"), 1)))
        met = sa.func.count(sa.case((sa.and_(clock, h.kind == "sla_met"), 1)))
        return sa.case((breached > 0, 0), (met > 0, 1))

    def column(self, field_key: str) -> sa.ColumnElement:
        if field_key not in self.fields:
            raise ReportError(f"no process field {field_key!r}; use one of {', '.join(self.fields)}",
                              code="report.unknown_field", field=f"process.{str(field_key)[:100]}")
        return self.table.c[self.fields[field_key][1]]

    def field_kind(self, field_key: str) -> str:
        self.column(field_key)
        return self.fields[field_key][0]

    def link_target(self, field_key: str) -> None:
        return None


class RuntimeSource:
    """All installed forms (``jimu.catalog``) as the report engine's ``Source``.

    ``process(form)`` offers the flow runtime's per-record process data when its tables exist
    (looked up once per compile); otherwise ``process.*`` fields are ``report.no_process_data``.
    """

    def __init__(self, catalog, flow_tables: tuple[sa.Table, sa.Table] | None = None, names: _Names | None = None,
                 responses: Mapping[str, Mapping[str, Any]] | None = None,
                 clocks: Mapping[str, Iterable[str]] | None = None):
        self.catalog = catalog
        self.names = names
        self.flow_tables = flow_tables
        #: form key → its flow's ``first_response`` (what counts as a response to one of its records)
        self.responses = dict(responses or {})
        #: form key → the keys of its flows' service-level clocks
        self.clocks = {k: tuple(v) for k, v in (clocks or {}).items()}

    def process(self, form_key: str) -> FlowProcess | None:
        if self.flow_tables is None:
            return None
        return FlowProcess(*self.flow_tables, form_key, self._responses(form_key), self.clocks.get(form_key, ()))

    def _responses(self, form_key: str) -> sa.FromClause | None:
        """Per record of ``form_key``, when its first response came: the earliest ``created_at`` of the
        responding form's records that link to it and match the filter (one grouped subquery)."""
        spec = self.responses.get(form_key)
        if not spec:
            return None
        from engines.report.fields import FieldResolver
        from engines.report.filters import compile_filters
        other = self.form(spec["form"])
        errors: list[JimuError] = []
        filters = compile_filters(list(spec.get("filter") or []), FieldResolver(self, other), "/first_response/filter",
                                  errors)
        if errors:
            raise errors[0]
        link = other.column(spec["link"])
        return (sa.select(link.label("record_id"), sa.func.min(other.table.c.created_at).label("at"))
                .where(link.is_not(None), *(f.clause(None) for f in filters))
                .group_by(link).subquery("first_responses"))

    def form(self, form_key: str) -> _FormSource:
        if not isinstance(form_key, str) or form_key not in self.catalog:
            raise ReportError(f"no form {form_key!r} is installed", code="report.unknown_form",
                              form=str(form_key)[:100])
        return _FormSource(self.catalog.form(form_key), self.names)



def flow_tables(conn: sa.Connection) -> tuple[sa.Table, sa.Table] | None:
    """The flow runtime's instance and history tables, reflected, if this database has them."""
    names = ("jimu_flow_instances", "jimu_flow_history")
    inspector = sa.inspect(conn)
    if not all(inspector.has_table(n) for n in names):
        return None
    meta = sa.MetaData()
    return tuple(sa.Table(n, meta, autoload_with=conn) for n in names)  # type: ignore[return-value]


# -- compiled definitions, once per catalogue revision ---------------------------
@dataclass
class ReportEntry:
    app: str
    key: str
    definition: dict
    chart: CompiledChart | None
    error: JimuError | None


@dataclass
class DashboardEntry:
    app: str
    key: str
    definition: dict
    error: JimuError | None
    reports: dict[str, ReportEntry] = field(default_factory=dict)
    #: the deployment's time zone: the calendar of date buckets and of date-range filters
    tz: str = "UTC"


@dataclass
class Definitions:
    #: the catalogue revision these were compiled at
    revision: int
    reports: dict[tuple[str, str], ReportEntry]
    dashboards: dict[tuple[str, str], DashboardEntry]

    def find(self, kind: str, key: str, app: str | None):
        items = self.reports if kind == "report" else self.dashboards
        hits = [v for (a, k), v in items.items() if k == key and (app is None or a == app)]
        if not hits:
            raise NotFound(f"no {kind} {key!r} is installed", code=f"{kind}.not_found", key=key)
        if len(hits) > 1:
            raise BadRequest(f"several apps have a {kind} {key!r}; pass ?app=<app key>", code=f"{kind}.ambiguous",
                             apps=sorted(h.app for h in hits))
        return hits[0]


class Reports:
    """The compiled report and dashboard definitions of one ``Jimu`` (the container's ``reports``)."""

    def __init__(self, jimu: Jimu):
        self.jimu = jimu
        self.cache = ChartCache()

    def definitions(self, conn: sa.Connection) -> Definitions:
        """Up-to-date compiled definitions, from the one definition cache (once per catalogue revision)."""
        return self.jimu.catalog.compiled("reports", conn, self._compile)

    def _compile(self, conn: sa.Connection) -> Definitions:
        packages = conn.execute(sa.select(db.apps.c.key, db.apps.c.package)).all()
        responses = {flow["form"]: flow["first_response"] for _, package in packages
                     for flow in (package or {}).get("flows", []) or []
                     if isinstance(flow, Mapping) and flow.get("first_response") and flow.get("form")}
        clocks: dict[str, list[str]] = {}
        for _, package in packages:
            for flow in (package or {}).get("flows", []) or []:
                sla = flow.get("sla") if isinstance(flow, Mapping) else None
                for clock in (sla or {}).get("clocks", []) if isinstance(sla, Mapping) else []:
                    if isinstance(clock, Mapping) and isinstance(clock.get("key"), str) and flow.get("form"):
                        keys = clocks.setdefault(flow["form"], [])
                        if clock["key"] not in keys:
                            keys.append(clock["key"])
        source = RuntimeSource(self.jimu.catalog, flow_tables(conn), _Names(self.jimu), responses, clocks)
        tz = self.jimu.config.get("TIMEZONE") or "UTC"
        reports: dict[tuple[str, str], ReportEntry] = {}
        dashboards: dict[tuple[str, str], DashboardEntry] = {}
        for app_key, package in packages:
            package = package or {}
            for definition in package.get("reports", []) or []:
                chart, error = None, None
                try:
                    chart = compile_chart(definition, source, tz=tz)
                except JimuError as exc:
                    error = exc
                key = str(definition.get("key"))
                reports[(app_key, key)] = ReportEntry(app_key, key, definition, chart, error)
            for definition in package.get("dashboards", []) or []:
                key = str(definition.get("key"))
                own = {k: v for (a, k), v in reports.items() if a == app_key}
                error = None
                try:
                    check_dashboard(definition, {k: v.chart for k, v in own.items() if v.chart is not None} |
                                    {k: None for k, v in own.items() if v.chart is None})
                except JimuError as exc:
                    error = exc
                dashboards[(app_key, key)] = DashboardEntry(app_key, key, definition, error, own, tz)
        return Definitions(self.jimu.catalog.revision, reports, dashboards)


# -- running a chart for a viewer ----------------------------------------------------------------
def may_read(principal, chart: CompiledChart) -> bool:
    return principal.is_authenticated and all(can(principal, "read", form) for form in chart.forms) and \
        not _hidden_read(principal, chart.fields_read)


def _hidden_read(principal, fields) -> list[tuple[str, str]]:
    """The (form, field) pairs among ``fields`` the policy hides from ``principal``."""
    return [(form, key) for form, key in fields if key in policy.hidden_fields(principal, form)]


def require_read(principal, entry: ReportEntry) -> CompiledChart:
    if not principal.is_authenticated:
        raise NotAuthenticated("log in first")
    if entry.chart is None:
        raise entry.error or ReportError("the report does not compile", code="report.invalid")
    hidden = _hidden_read(principal, entry.chart.fields_read)
    if hidden:
        raise PermissionDenied(f"report {entry.key!r} reads field {hidden[0][1]!r} of {hidden[0][0]!r}, which is "
                               "hidden from your role; ask its designer for a report without it",
                               code="permission.field_hidden", report=entry.key, form=hidden[0][0],
                               field=hidden[0][1])
    if not may_read(principal, entry.chart):
        raise PermissionDenied(f"you may not read the records behind report {entry.key!r}",
                               report=entry.key, forms=list(entry.chart.forms))
    return entry.chart


def run_chart(jimu: Jimu, conn: sa.Connection, principal, chart: CompiledChart,
              shared_filters: list[dict] | None = None, *, cached: bool = False) -> list[dict]:
    """The chart's rows over the records ``principal`` may read (the caller checked ``may_read``).

    ``cached``: served from the chart cache (``runtime.chart_cache``) while no record of the forms it
    reads was written and the report's ``cache_seconds`` have not passed; relative date filters then
    count from the current minute."""
    now = jimu.now()
    if cached:
        now = now.replace(second=0, microsecond=0)
    stmt = chart.query(where=chart_scope(jimu, principal, chart, shared_filters),
                       shared_filters=shared_filters or None, now=now)

    def run() -> list[dict]:
        if conn.dialect.name == "sqlite":
            # the median aggregate: cheap and idempotent, so any pooled connection has it
            register_sqlite_functions(conn.connection.dbapi_connection)
        return chart.rows(conn.execute(stmt).all(), now=now)
    if not cached or chart.reads_process:
        return run()
    seconds = chart.definition.get("cache_seconds", DEFAULT_SECONDS)
    return jimu.services.reports.cache.rows(conn, stmt, chart.forms, seconds, run)


class _Explain(sa.sql.expression.Executable, sa.sql.expression.ClauseElement):
    """``EXPLAIN`` of a statement, its parameters bound as when it runs."""

    inherit_cache = False

    def __init__(self, stmt: sa.Select):
        self.stmt = stmt


@compiles(_Explain)
def _compile_explain(element, compiler, **kw):
    prefix = "EXPLAIN QUERY PLAN " if compiler.dialect.name == "sqlite" else "EXPLAIN (FORMAT JSON) "
    return prefix + compiler.process(element.stmt, **kw)


_SQLITE_INDEX = re.compile(r"USING (?:COVERING )?INDEX (\S+)")
_SQLITE_SCAN = re.compile(r"^SCAN (\S+)")


def explain_chart(jimu: Jimu, conn: sa.Connection, principal, chart: CompiledChart,
                  shared_filters: list[dict] | None = None) -> dict:
    """How the database runs the chart's query for this viewer (the builder's report preview shows
    it): the plan's lines, the indexes used (as form fields), the tables read whole, and on
    PostgreSQL the planner's estimate of the rows read. Tables and indexes are named by form and
    field, never by their physical names."""
    stmt = chart.query(where=chart_scope(jimu, principal, chart, shared_filters),
                       shared_filters=shared_filters or None, now=jimu.now())
    names: dict[str, str] = {}
    for ft in jimu.catalog:
        names[ft.table.name] = ft.key
        for key, col in [*ft.columns.items(), ("created_at", ft.table.c.created_at),
                         ("updated_at", ft.table.c.updated_at)]:
            names[index_name(ft.table.name, col.name)] = f"{ft.key}.{key}"
    indexes: list[str] = []
    scans: list[str] = []
    if conn.dialect.name == "sqlite":
        register_sqlite_functions(conn.connection.dbapi_connection)
        plan = [row[-1] for row in conn.execute(_Explain(stmt))]
        for line in plan:
            indexes += _SQLITE_INDEX.findall(line)
            scans += _SQLITE_SCAN.findall(line)
        rows = None
    else:
        root = conn.execute(_Explain(stmt)).scalar()
        root = (json.loads(root) if isinstance(root, str) else root)[0]["Plan"]
        plan, rows = [], 0

        def walk(node: dict, depth: int) -> None:
            nonlocal rows
            relation, index = node.get("Relation Name"), node.get("Index Name")
            plan.append("  " * depth + " ".join(str(p) for p in (node["Node Type"], relation and f"on {relation}",
                                                                 index and f"using {index}") if p)
                        + f"  (rows≈{node.get('Plan Rows')})")
            if index:
                indexes.append(index)
            if relation:
                rows += int(node.get("Plan Rows") or 0)
                if node["Node Type"] == "Seq Scan":
                    scans.append(relation)
            for child in node.get("Plans", []):
                walk(child, depth + 1)
        walk(root, 0)

    def named(text: str) -> str:
        return re.sub(r"\b(ix_)?f\d+(_c\d+|_search)?\b", lambda m: names.get(m.group(0), m.group(0)), text)
    return {"plan": [named(line) for line in plan], "indexes": sorted({names.get(i, i) for i in indexes}),
            "full_scans": sorted({names.get(t, t) for t in scans}), "rows_estimate": rows}


def chart_scope(jimu: Jimu, principal, chart: CompiledChart, shared_filters=None) -> sa.ColumnElement | None:
    """The viewer's row scope on the chart's form and on the records it joins; filters added at run
    time (dashboard filters, drill-down) may not name a field hidden from the viewer."""
    refs = [f.get("field") for f in shared_filters or () if isinstance(f, Mapping)]
    hidden = _hidden_read(principal, chart.fields_of(refs))
    if hidden:
        policy.require_visible_fields(principal, hidden[0][0], [hidden[0][1]])
    parts = [row_filter(principal, jimu.catalog.form(chart.form)),
             chart.joined_rows(lambda form: row_filter(principal, jimu.catalog.form(form)))]
    parts = [p for p in parts if p is not None]
    return sa.and_(*parts) if parts else None


def chart_payload(entry: ReportEntry, rows: list[dict], lang: str, title: Any = None) -> dict:
    chart = entry.chart
    figure = chart.figure(rows, lang=lang)
    return {"report": entry.key, "app": entry.app, "type": chart.chart_type.type, "form": chart.form,
            "title": localize(title or chart.label, lang, chart.key), "figure": figure,
            "empty": bool(figure["layout"]["meta"]["empty"]), "rows": jsonable(rows),
            "drilldown": chart.chart_type.type not in ("table", "pivot")}


def _lang() -> str:
    asked = request.args.get("lang")
    return asked if asked in ("zh-CN", "en") else current_language()


def _filters_arg() -> list[dict] | None:
    filters = json_arg("filter")
    if filters is not None and not isinstance(filters, list):
        raise BadRequest("filter must be a JSON list of {field, op, value}", code="request.bad_param",
                         param="filter")
    return filters


def _values_arg(raw: Any) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise BadRequest("values must be a JSON object {field: value}", code="request.bad_param", param="values")
    return raw


def _report(conn, key: str) -> ReportEntry:
    jimu = current_jimu()
    return jimu.services.reports.definitions(conn).find("report", key, request.args.get("app"))


def _dashboard(conn, key: str) -> DashboardEntry:
    jimu = current_jimu()
    entry = jimu.services.reports.definitions(conn).find("dashboard", key, request.args.get("app"))
    if entry.error is not None:
        raise entry.error
    return entry


def dashboard_shared(entry: DashboardEntry, values: Mapping[str, Any]) -> dict[str, list[dict]]:
    charts = {k: r.chart for k, r in entry.reports.items() if r.chart is not None}
    return apply_shared_filters(entry.definition, values, charts, tz=entry.tz)


def dashboard_data(jimu: Jimu, conn: sa.Connection, principal, entry: DashboardEntry, values: Mapping[str, Any],
                   lang: str) -> dict:
    """Every tile of a dashboard: its figure and rows, or a coded error (no access, broken report)."""
    shared = dashboard_shared(entry, values)
    tiles = []
    for item in entry.definition["charts"]:
        report = entry.reports[item["report"]]
        tile = {"report": report.key, "x": item["x"], "y": item["y"], "w": item["w"], "h": item["h"],
                "title": localize(item.get("title") or report.definition.get("label"), lang, report.key),
                "help": localize(item.get("help") or report.definition.get("description"), lang) or None}
        try:
            chart = require_read(principal, report)
            tile["filters"] = _filter_targets(jimu, entry.definition, item, chart, lang)
            rows = run_chart(jimu, conn, principal, chart, shared.get(report.key), cached=True)
            tile.update(chart_payload(report, rows, lang, item.get("title")))
        except JimuError as exc:
            tile["error"] = exc.to_dict()
        tiles.append(tile)
    return {"dashboard": entry.key, "app": entry.app, "title": localize(entry.definition.get("label"), lang, entry.key),
            "refresh_seconds": entry.definition.get("refresh_seconds"),
            "filters": [{"field": f["field"], "kind": f["kind"], "label": localize(f.get("label"), lang, f["field"])}
                        for f in entry.definition.get("filters", [])],
            "charts": tiles}


def _filter_targets(jimu: Jimu, dashboard: Mapping[str, Any], item: Mapping[str, Any], chart: CompiledChart,
                    lang: str) -> list[dict]:
    """Per shared filter of the dashboard, which field of which form it filters this tile by
    (``applies_to`` "Form · Field", or None when the tile is not filtered by it), so a tile can say
    which date its figures are counted by."""
    out = []
    for f in dashboard.get("filters", []):
        ref = shared_target(item, chart, f["field"])
        applies = None
        if ref is not None:
            owner = chart.fields_of([ref])
            form = localize(jimu.catalog.form(owner[0][0]).spec.label, lang) if owner else ""
            applies = " · ".join(p for p in (form, chart.field_name(ref, lang)) if p)
        out.append({"field": f["field"], "label": localize(f.get("label"), lang, f["field"]),
                    "applies_to": applies})
    return out


def visible_dashboards(conn, principal) -> list[DashboardEntry]:
    """Dashboards with at least one tile the viewer may read."""
    return [entry for entry in current_jimu().services.reports.definitions(conn).dashboards.values()
            if entry.error is None and may_open(principal, entry)]


def may_open(principal, entry: DashboardEntry) -> bool:
    """Whether the viewer may open a dashboard: they may read at least one report placed on its tiles
    (the app's other reports do not count)."""
    placed = {c.get("report") for c in entry.definition.get("charts") or [] if isinstance(c, dict)}
    return any(r.chart is not None and may_read(principal, r.chart) for k, r in entry.reports.items() if k in placed)


def record_list_url(form: str, filters: list[dict]) -> str:
    return f"/forms/{quote(form, safe='')}?{LIST_FILTER_PARAM}=" + quote(
        json.dumps(filters, ensure_ascii=False, separators=(",", ":")), safe="")


# -- routes ---------------------------------------------------------------------------------------
def _principal():
    principal = current_principal()
    if not principal.is_authenticated:
        raise NotAuthenticated("log in first")
    return principal


@bp.get("/reports/catalog")
def report_catalog():
    """What a report definition may use, for the designer: chart types (palette entries from the
    jimu.charts registry), aggregates, filter operators, date buckets and process fields."""
    _principal()
    from engines.report import AGGREGATES, BUCKETS, CHARTS
    return jsonify({
        "charts": [c.palette() for c in sorted(CHARTS, key=lambda c: c.type)],
        "aggregates": [{"agg": k, "label": label, "needs_field": needs, "numeric": numeric}
                       for k, (label, needs, numeric) in AGGREGATES.items()],
        # the one operator registry; the designer calls a single value "one"
        "operators": [{"op": o.type, "value": "one" if o.input == "scalar" else o.input, "label": o.label,
                       "kinds": list(o.kinds)} for o in OPERATORS],
        "buckets": list(BUCKETS),
        "process_fields": [{"field": f"process.{k}", "kind": kind} for k, kind in FlowProcess.FIELDS.items()]})


@bp.get("/reports")
@query_args("lang")
def list_reports():
    principal = _principal()
    lang = _lang()
    with current_jimu().read() as conn:
        defs = current_jimu().services.reports.definitions(conn)
        out = [{"key": e.key, "app": e.app, "form": e.definition.get("form"), "type": e.definition.get("type"),
                "label": localize(e.definition.get("label"), lang, e.key),
                "error": e.error.to_dict() if e.error is not None else None}
               for e in defs.reports.values()
               if e.chart is None and principal.is_admin or e.chart is not None and may_read(principal, e.chart)]
    return jsonify({"reports": out})


@bp.get("/reports/<key>/data")
@query_args("lang", "app", filter=FILTERS)
def report_data(key):
    principal = _principal()
    jimu = current_jimu()
    with jimu.read() as conn:
        entry = _report(conn, key)
        chart = require_read(principal, entry)
        rows = run_chart(jimu, conn, principal, chart, _filters_arg(), cached=True)
    return jsonify(chart_payload(entry, rows, _lang()))


@bp.post("/reports/<key>/drilldown")
@query_args("lang", "app")
def report_drilldown(key):
    """The record-list filter behind a clicked point (a row of the chart's data, or ``{}`` for a KPI)."""
    principal = _principal()
    body = json_body()
    point = body.get("point", {})
    if not isinstance(point, dict):
        raise BadRequest("point must be an object: a row of the chart's data", code="request.bad_param")
    if body.get("measure") is not None:
        point = {**point, "measure": body["measure"]}
    jimu = current_jimu()
    with jimu.read() as conn:
        entry = _report(conn, key)
        chart = require_read(principal, entry)
        filters = chart.drilldown(point, now=jimu.now())
        extra = body.get("filter") or []
        if not isinstance(extra, list):
            raise BadRequest("filter must be a list of {field, op, value}", code="request.bad_param")
        if body.get("dashboard"):
            dash = _dashboard(conn, str(body["dashboard"]))
            extra = extra + dashboard_shared(dash, _values_arg(body.get("values"))).get(entry.key, [])
        chart.query(where=chart_scope(jimu, principal, chart, extra), shared_filters=extra or None,
                    now=jimu.now())  # the same checks the data request ran
    filters += extra
    listable = [f for f in filters if _listable(f)]
    return jsonify({"form": chart.form, "filter": listable, "complete": len(listable) == len(filters),
                    "unlisted": [f for f in filters if not _listable(f)],
                    "url": record_list_url(chart.form, listable)})


def _listable(f: Mapping) -> bool:
    """Whether the record list can apply a drill-down filter (a field of the form, or of a linked
    form through its link field: ``客户.等级``; not a join alias or an expression)."""
    return ("field" in f and f["field"].count(".") <= 1 and not f["field"].startswith("process.")
            and f.get("op") in OPERATORS)


@bp.get("/reports/<key>/export.<fmt>")
@query_args("lang", "app", "dashboard", filter=FILTERS, values=VALUES)
def report_export(key, fmt):
    if fmt not in ("csv", "xlsx"):
        raise NotFound("export as .csv or .xlsx", code="report.bad_export_format")
    principal = _principal()
    jimu = current_jimu()
    lang = _lang()
    with jimu.read() as conn:
        entry = _report(conn, key)
        chart = require_read(principal, entry)
        filters = _filters_arg() or []
        dashboard = request.args.get("dashboard")
        if dashboard:
            filters += dashboard_shared(_dashboard(conn, dashboard), _values_arg(json_arg("values"))).get(key, [])
        rows = run_chart(jimu, conn, principal, chart, filters)
    header, cells = chart.export_rows(rows, lang)
    name = quote(f"{localize(chart.label, lang, chart.key)}.{fmt}")
    disposition = f"attachment; filename=\"{quote(chart.key)}.{fmt}\"; filename*=UTF-8''{name}"
    if fmt == "csv":
        return Response(to_csv(header, cells), mimetype="text/csv",
                        headers={"Content-Disposition": disposition})
    return Response(to_xlsx(header, cells, localize(chart.label, lang, chart.key)),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": disposition})


def to_csv(header: list, cells: Iterable[list]) -> bytes:
    """UTF-8 with a BOM, so Excel opens Chinese text correctly; cells arrive escaped by the engine."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(cells)
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(header: list, cells: Iterable[list], title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=_sheet_title(title))
    ws.append(header)
    for row in cells:
        out = []
        for value in row:
            cell = WriteOnlyCell(ws, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
            out.append(cell)
        ws.append(out)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _sheet_title(title: str) -> str:
    cleaned = "".join(ch for ch in title if ch not in "[]:*?/\\")[:31]
    return cleaned or "report"


@bp.get("/dashboards")
@query_args("lang")
def list_dashboards():
    principal = _principal()
    lang = _lang()
    with current_jimu().read() as conn:
        out = [{"key": e.key, "app": e.app, "label": localize(e.definition.get("label"), lang, e.key)}
               for e in visible_dashboards(conn, principal)]
    return jsonify({"dashboards": out})


@bp.get("/dashboards/<key>/data")
@query_args("lang", "app", values=VALUES)
def dashboard_data_view(key):
    principal = _principal()
    jimu = current_jimu()
    with jimu.read() as conn:
        entry = _dashboard(conn, key)
        if not may_open(principal, entry):
            raise PermissionDenied(f"you may not read the records behind dashboard {key!r}", dashboard=key)
        data = dashboard_data(jimu, conn, principal, entry, _values_arg(json_arg("values")), _lang())
    return jsonify(data)
