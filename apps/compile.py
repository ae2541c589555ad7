"""The one compile pipeline: a package (or a builder draft) in, a compiled app or every error out.

What validates is what runs: ``jimu validate``, ``POST /api/v1/apps/import`` (and its dry
run), the builder's check and publish and the installer all call ``compile_package`` and
nothing else. Inside it, in order:

1. reading (bounded size and depth, UTF-8, JSON without repeated keys) and format migration;
2. the JSON Schema of the package (``schemas/app.json`` and the kinds it refers to);
3. reference checks (``apps.validation``): every name in every expression, condition,
   template placeholder, assignee, recipient, calendar, role, group, task field permission,
   report field, trigger;
4. cross-app key ownership: a form, flow, rule, report, dashboard, role, group, template or
   calendar key already owned by another installed app is refused (keys are global: record
   tables, flow versions, roles and groups are stored by key);
5. each engine's own compile (forms, flows, rules, calendars) through its public entry point.

Every error is a dict ``{code, pointer, message, ...context}``: ``pointer`` is an RFC 6901
JSON pointer into the package and ``message`` says the fix. The function never raises: an
engine that crashes on a definition becomes an ``app.compile_crash`` error at that
definition, so a caller can always show the list.

``apps`` opens no database: what the target deployment already holds (who owns which key,
which users exist, the outbound allowlist) is passed in as ``Installed``; the runtime
builds it from its tables (``runtime.installer.installed_context``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from engines.errors import JimuError

from .exceptions import PackageError
from .loader import Package, Source, DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, check_depth, parse_json, read_bounded
from .migrations import migrate
from .validation import SYSTEM_COLUMNS, Error, pointer, schema_errors, semantic_errors

__all__ = ["Installed", "CompiledApp", "Problems", "compile_package", "load_package", "OWNED_KINDS"]

#: definition kinds whose keys are global across apps, so each key belongs to one app
OWNED_KINDS: tuple[str, ...] = ("forms", "flows", "rules", "reports", "dashboards", "roles", "groups",
                                "templates", "calendars")


@dataclass(frozen=True)
class Installed:
    """What the target deployment holds that a package may refer to or clash with.

    ``owners``: kind (``forms``, ``roles`` ...) → key → the app that owns it, or None for
    platform-level roles and groups (created by an administrator, usable by every app).
    ``users``: the usernames that exist, or None when unknown (then user names are not checked).
    ``allow``: the outbound URL allowlist rules and webhooks are checked against.
    """

    owners: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)
    users: frozenset[str] | None = None
    allow: tuple[str, ...] = ()

    def owner(self, kind: str, key: str) -> tuple[bool, str | None]:
        """(known, owning app) of ``key`` of ``kind``."""
        keys = self.owners.get(kind) or {}
        return (key in keys, keys.get(key))


class Problems(list):
    """Every error of a package that does not compile (a list of error dicts), plus ``warnings``:
    what the definitions that did compile would also want said (a gateway without a default edge),
    so a designer can show both at once."""

    def __init__(self, errors: list[Error], warnings: tuple[Error, ...] = ()):
        super().__init__(errors)
        self.warnings = tuple(warnings)


@dataclass(frozen=True)
class CompiledApp:
    """A valid package and what each engine compiled from it, compiled once.

    ``warnings`` are findings that do not stop installing (a gateway without a default
    edge), each with a pointer.
    """

    package: Package
    forms: Mapping[str, Any]
    flows: Mapping[str, Any]
    rules: tuple
    calendars: Mapping[str, Any]
    warnings: tuple[Error, ...] = ()
    #: report key → the report engine's compiled chart (checked against in-memory tables of the forms)
    reports: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.package.key

    @property
    def data(self) -> dict:
        return self.package.data


def compile_package(source: Source | Mapping[str, Any] | Package, *, installed: Installed | None = None,
                    max_bytes: int = DEFAULT_MAX_BYTES, max_depth: int = DEFAULT_MAX_DEPTH
                    ) -> CompiledApp | Problems:
    """The compiled app, or every error (each with ``code``, ``pointer`` and ``message``).

    ``source`` is JSON text (bytes/str), a path, a binary stream, an already parsed package
    (a builder draft) or a ``Package``. Never raises for anything the package contains.
    """
    installed = installed or Installed()
    try:
        data = _read(source, max_bytes, max_depth)
        data = migrate(data)
    except PackageError as exc:
        return Problems([{"pointer": "", **e} for e in exc.errors])
    errors = _guard(lambda: schema_errors(data), "", "the JSON Schema")
    structural = bool(errors)
    errors += _guard(lambda: semantic_errors(data, installed), "", "the reference checks")
    errors += ownership_errors(data, installed)
    if structural:  # the engines need well-formed definitions; the schema errors say what to fix first
        return Problems(errors)
    compiled: dict[str, Any] = {"forms": {}, "flows": {}, "calendars": {}}
    warnings: list[Error] = []
    engine_errors: list[Error] = []
    rules: list = []
    templates = {t["key"]: t for t in data.get("templates") or [] if isinstance(t, dict) and "key" in t}
    charts: dict[str, Any] = {}
    source = _PackageSource(compiled["forms"])
    # the package's form definitions by key, so 客户.等级 in an expression is checked against the linked form
    siblings = {f["key"]: f for f in data.get("forms") or [] if isinstance(f, dict) and "key" in f}
    steps = {"forms": lambda i, d: _compile_form(i, d, compiled["forms"], siblings),
             "flows": lambda i, d: _compile_flow(i, d, compiled["flows"], warnings),
             "calendars": lambda i, d: _compile_calendar(i, d, compiled["calendars"]),
             "rules": lambda i, d: _compile_rule(i, d, data["app"]["key"], installed.allow, templates, rules),
             "reports": lambda i, d: _compile_report(i, d, source, charts),
             "dashboards": lambda i, d: _compile_dashboard(i, d, charts)}
    for kind, step in steps.items():
        for i, definition in enumerate(data.get(kind) or []):
            engine_errors += _guard(lambda: step(i, definition), pointer(kind, i),
                                    f"{kind[:-1]} {definition.get('key')!r}")
    errors += _merge(errors, engine_errors)
    if errors:
        return Problems(errors, tuple(warnings))
    return CompiledApp(Package(data), MappingProxyType(compiled["forms"]), MappingProxyType(compiled["flows"]),
                       tuple(rules), MappingProxyType(compiled["calendars"]), tuple(warnings),
                       MappingProxyType(charts))


def load_package(source: Source | Mapping[str, Any], **limits: Any) -> Package:
    """``compile_package`` without a deployment (no ownership or user checks) for scripts and
    tests: the valid ``Package``, or ``PackageError`` with every error."""
    result = compile_package(source, **limits)
    if isinstance(result, list):
        raise package_error(result)
    return result.package


def package_error(errors: list[Error]) -> PackageError:
    """The exception the entry points raise for a refused package (HTTP 413/422, CLI exit 1).

    A package that could not even be read keeps its own code (``package.too_large``,
    ``package.json`` ...) and status; anything else is ``package.invalid``. The warnings of
    ``Problems`` ride along (``exc.warnings``) for the designer.
    """
    codes = {e.get("code") for e in errors}
    if len(codes) == 1 and errors[0].get("code") in _READ_STATUS:
        exc = PackageError(errors, errors[0]["message"], code=errors[0]["code"],
                           status=_READ_STATUS[errors[0]["code"]])
    else:
        exc = PackageError(errors, f"the package has {len(errors)} error(s); fix them and try again")
    exc.warnings = tuple(getattr(errors, "warnings", ()))
    return exc


_READ_STATUS = {"package.too_large": 413, "package.too_deep": 422, "package.json": 422, "package.encoding": 422,
                "package.not_object": 422, "package.unreadable": 422, "package.duplicate_json_key": 422,
                "package.version_missing": 422, "package.version_too_new": 422, "package.version_unknown": 422}


# -- reading ---------------------------------------------------------------------------------

def _read(source: Any, max_bytes: int, max_depth: int) -> dict:
    if isinstance(source, Package):
        source = source.data
    if isinstance(source, Mapping):
        import copy
        data: Any = copy.deepcopy(dict(source))  # a draft: compiling never changes the caller's object
    else:
        raw = read_bounded(source, max_bytes)
        check_depth(raw, max_depth)
        data = parse_json(raw)
    if not isinstance(data, dict):
        raise PackageError.single("package.not_object", "an app package is a JSON object with format, version "
                                  f"and app; got a JSON {type(data).__name__}", pointer="")
    return data


# -- ownership ---------------------------------------------------------------------------------

def ownership_errors(data: dict, installed: Installed) -> list[Error]:
    """A key of another installed app is refused: installing would take that app's definition over."""
    app = data.get("app") if isinstance(data.get("app"), dict) else {}
    me = app.get("key")
    out = []
    for kind in OWNED_KINDS:
        items = data.get(kind)
        for i, item in enumerate(items if isinstance(items, list) else []):
            key = item.get("key") if isinstance(item, dict) else None
            if not isinstance(key, str):
                continue
            known, owner = installed.owner(kind, key)
            if known and owner is not None and owner != me:
                noun = kind[:-1]
                out.append({"code": "app.key_taken", "pointer": pointer(kind, i, "key"), "kind": noun, "key": key,
                            "owner": owner,
                            "message": f"{noun} key {key!r} belongs to the installed app {owner!r}; every key "
                                       f"belongs to one app — rename this {noun} (e.g. {me}_{key})"})
    return out


# -- engines -------------------------------------------------------------------------------

def _guard(fn, ptr: str, what: str) -> list[Error]:
    """Run one check; an unexpected exception becomes one error at ``ptr`` instead of a crash."""
    try:
        return list(fn() or [])
    except Exception as exc:  # noqa: BLE001 — the pipeline's contract: only its error list comes out
        return [{"code": "app.compile_crash", "pointer": ptr,
                 "message": f"checking {what} failed ({type(exc).__name__}: {str(exc)[:200]}); this is a bug in "
                            "Jimu — report it with the package; meanwhile simplify the definition at this pointer"}]


#: engine findings the reference checks make with the package's own names (an engine that leaves
#: out a field with an unknown widget would then report the layout "placing an unknown field")
_REFERENCE_CODES = frozenset({"form.layout_unknown_field", "flow.dangling_edge", "flow.duplicate_id"})


def _merge(found: list[Error], engine: list[Error]) -> list[Error]:
    """Engine errors the reference checks did not already report. One is left out when an
    earlier error sits at its pointer or below it (the engine names the field, the reference
    check its property), has the same code within the same definition, or is one the reference
    checks own."""
    out: list[Error] = []
    for e in engine:
        ptr = str(e.get("pointer") or "")
        definition = "/".join(ptr.split("/")[:3]) + "/"
        if e.get("code") in _REFERENCE_CODES or any(
                (p := str(f.get("pointer") or "")) == ptr or p.startswith(ptr + "/")
                or (f.get("code") == e.get("code") and (p + "/").startswith(definition))
                for f in found) or any((f.get("pointer"), f.get("code")) == (e.get("pointer"), e.get("code"))
                                       for f in out):
            continue
        out.append(e)
    return out


def _as_dicts(exc: Exception) -> list[dict]:
    for name in ("errors", "problems"):
        value = getattr(exc, name, None)
        if isinstance(value, list):
            return [p if isinstance(p, dict) else p.to_dict() if isinstance(p, JimuError) else {"message": str(p)}
                    for p in value]
    return [exc.to_dict()] if isinstance(exc, JimuError) else [{"message": str(exc)}]


def _compile_form(index: int, form: dict, out: dict, siblings: Mapping[str, dict]) -> list[Error]:
    from engines.form import compile_form
    from engines.form.exceptions import FormDefinitionError
    try:
        out[form["key"]] = compile_form(form, siblings)
    except FormDefinitionError as exc:
        return [{**p, "pointer": _form_pointer(index, form, p)} for p in _as_dicts(exc)]
    return []


def _form_pointer(index: int, form: dict, problem: dict) -> str:
    """Point a form compile problem at the field (and property) it names, else at the form."""
    base = pointer("forms", index)
    if str(problem.get("pointer", "")).startswith("/layout"):
        return base + problem["pointer"]
    path = str(problem.get("form") or "").split(".")[1:]  # "order.lines" → a problem inside sub-table lines
    fields, ptr = form.get("fields") or [], base
    for parent in path:
        j = next((j for j, f in enumerate(fields) if isinstance(f, dict) and f.get("key") == parent), None)
        if j is None:
            return ptr
        ptr = ptr + pointer("fields", j, "config")
        fields = (fields[j].get("config") or {}).get("fields") or []
    key = problem.get("field")
    for j, f in enumerate(fields):
        if isinstance(f, dict) and f.get("key") == key:
            at = ptr + pointer("fields", j)
            return at + pointer(problem["property"]) if problem.get("property") else at
    cycle = problem.get("fields")
    if isinstance(cycle, list) and cycle:  # a formula cycle: point at its first field's formula
        j = next((j for j, f in enumerate(fields) if isinstance(f, dict) and f.get("key") == cycle[0]), None)
        if j is not None:
            return ptr + pointer("fields", j, "formula")
    return ptr


def _compile_flow(index: int, flow: dict, out: dict, warnings: list[Error]) -> list[Error]:
    from engines.flow import FlowCheckError, compile_flow
    try:
        spec = compile_flow(flow)
    except FlowCheckError as exc:
        return [{**p, "pointer": _flow_pointer(index, flow, p)} for p in _as_dicts(exc)]
    out[flow["key"]] = spec
    warnings.extend({**dict(w), "pointer": _flow_pointer(index, flow, dict(w))} for w in spec.warnings)
    return []


def _flow_pointer(index: int, flow: dict, problem: dict) -> str:
    """Point a flow problem at the edge or node it names (and the property), else at the flow.

    Edges need no id (the schema allows that): an edge without one is ``e<index>`` to the engine.
    """
    nodes = flow.get("nodes")
    edge, node = problem.get("edge"), problem.get("node")
    if edge is not None:
        for k, e in enumerate(flow.get("edges") or []):
            if isinstance(e, dict) and (e.get("id") or f"e{k}") == edge:
                prop = {"flow.bad_condition": "condition", "flow.missing_condition": "condition",
                        "flow.unknown_outcome": "outcome"}.get(problem.get("code"))
                return pointer("flows", index, "edges", k, *([prop] if prop else []))
    if problem.get("index") is not None and problem.get("code") in ("flow.bad_edge",):
        return pointer("flows", index, "edges", problem["index"])
    if node is not None:
        if isinstance(nodes, dict):
            base = pointer("flows", index, "nodes", node) if node in nodes else None
        else:
            base = next((pointer("flows", index, "nodes", j) for j, n in enumerate(nodes or [])
                         if isinstance(n, dict) and n.get("id") == node), None)
        if base is not None:
            if problem.get("code") == "flow.bad_config":
                return base + "/config" + ("/" + problem["path"] if problem.get("path") else "")
            return base
    return pointer("flows", index)


def _compile_calendar(index: int, definition: dict, out: dict) -> list[Error]:
    from engines.calendar import BusinessCalendar
    from engines.errors import ValidationErrors
    try:
        out[definition["key"]] = BusinessCalendar.from_definition(definition)
    except (ValidationErrors, JimuError) as exc:
        return [{**p, "pointer": pointer("calendars", index) + str(p.pop("path", "") or "")} for p in _as_dicts(exc)]
    return []


def _compile_rule(index: int, rule: dict, app: str, allow: tuple[str, ...], templates: dict, out: list) -> list[Error]:
    from engines.rule import RuleInvalid, compile_rule
    try:
        out.append(compile_rule(rule, order=index, app=app, allow=allow, templates=templates))
    except RuleInvalid as exc:
        return [{**p, "pointer": pointer("rules", index) + str(p.get("pointer") or ""), "rule": rule.get("key")}
                for p in _as_dicts(exc)]
    return []



def _compile_report(index: int, definition: dict, source: "_PackageSource", out: dict) -> list[Error]:
    from engines.report import ValidationErrors, compile_chart
    if definition.get("form") not in source.forms:
        out[definition["key"]] = None  # its form did not compile: the form's errors say why
        return []
    try:
        out[definition["key"]] = compile_chart(definition, source)
    except ValidationErrors as exc:
        out[definition["key"]] = None
        return [{**p, "pointer": pointer("reports", index) + str(p.get("pointer") or "")} for p in _as_dicts(exc)]
    return []


def _compile_dashboard(index: int, definition: dict, charts: dict) -> list[Error]:
    from engines.report import ValidationErrors, check_dashboard
    try:
        check_dashboard(definition, charts)
    except ValidationErrors as exc:
        return [{**p, "pointer": pointer("dashboards", index) + str(p.get("pointer") or "")} for p in _as_dicts(exc)]
    return []


class _PackageSource:
    """The package's compiled forms as the report engine's ``Source``: in-memory tables shaped
    like the record store's (system columns, one column per scalar field), so that a report is
    checked against the fields it will run on without a database. ``process.*`` fields are the
    runtime's per-record process data; their names are checked where the runtime knows them."""

    def __init__(self, forms: Mapping[str, Any]):
        import sqlalchemy as sa
        self.forms = forms
        self._metadata = sa.MetaData()
        self._tables: dict[str, _PackageForm] = {}

    def form(self, key: str) -> "_PackageForm":
        from engines.report import ReportError
        if key not in self.forms:
            raise ReportError(f"no form {key!r} in the package; name one of its forms", code="report.unknown_form",
                              form=str(key)[:100])
        if key not in self._tables:
            self._tables[key] = _PackageForm(self.forms[key], self._metadata, len(self._tables))
        return self._tables[key]

    def process(self, form_key: str) -> "_AnyProcess":
        return _AnyProcess(self._metadata, form_key)

    @property
    def metadata(self) -> Any:
        """The tables a compiled chart reads (its forms, sub-tables, process data)."""
        return self._metadata

    def tables(self) -> dict[str, "_PackageForm"]:
        """The forms a compiled chart reads, by key (their ``table``, ``columns`` and ``spec``)."""
        return dict(self._tables)


#: the package's forms as a report ``Source``: the builder draws previews on sample records in these tables
PackageSource = _PackageSource


class _PackageForm:
    def __init__(self, spec: Any, metadata: Any, n: int):
        import sqlalchemy as sa
        self.key, self.spec = spec.key, spec
        self.columns = {f.key: sa.Column(f"c{j}", f.widget.sa_type()) for j, f in enumerate(spec.fields)
                        if f.storage == "column"}
        system = [sa.Column(name, sa.Integer if name in ("id", "created_by", "updated_by", "row_version")
                            else sa.DateTime) for name in SYSTEM_COLUMNS]
        self.table = sa.Table(f"f{n}", metadata, *system, *self.columns.values())
        self.id_column = self.table.c.id
        self._children: dict[str, tuple[Any, dict]] = {}

    def child_column(self, field_key: str, column_key: str | None) -> Any:
        """A sub-table's column (its row id for None) like the record store's child tables, so
        ``sum(明细.金额)`` in a report filter is checked here as it will run."""
        import sqlalchemy as sa
        if not self.spec.has_field(field_key) or self.spec.field(field_key).children is None:
            return None
        if field_key not in self._children:
            rows = self.spec.field(field_key).children
            cols = {f.key: sa.Column(f"c{j}", f.widget.sa_type()) for j, f in enumerate(rows.fields)
                    if f.storage == "column"}
            table = sa.Table(f"{self.table.name}_{len(self._children)}", self.table.metadata,
                             sa.Column("id", sa.Integer), sa.Column("record_id", sa.Integer), *cols.values())
            self._children[field_key] = (table, cols)
        table, cols = self._children[field_key]
        if column_key is None:
            return table.c.record_id, table.c.id
        return (table.c.record_id, cols[column_key]) if column_key in cols else None

    def column(self, field_key: str) -> Any:
        from engines.report import ReportError
        if field_key in SYSTEM_COLUMNS:
            return self.table.c[field_key]
        if field_key not in self.columns:
            raise ReportError(f"form {self.key!r} has no field {field_key!r} a report can use (sub-tables and "
                              "multi-value fields are not aggregated)", code="report.unknown_field",
                              field=str(field_key)[:100])
        return self.columns[field_key]

    def field_kind(self, field_key: str) -> str:
        self.column(field_key)
        return self.spec.value_kind(field_key)

    def link_target(self, field_key: str) -> str | None:
        if field_key not in self.columns:
            return None
        widget = self.spec.field(field_key).widget
        return getattr(widget, "target", None) if widget.value_kind == "link" else None


class _AnyProcess:
    """Process data of any name, as numbers (the runtime checks the names it keeps)."""

    def __init__(self, metadata: Any, form_key: str):
        import sqlalchemy as sa
        self._sa = sa
        self.table = sa.Table(f"process_{len(metadata.tables)}", metadata, sa.Column("record_id", sa.Integer))
        self.record_column = self.table.c.record_id
        self.scope = None

    def column(self, field_key: str) -> Any:
        return self._sa.literal_column("0").label(str(field_key))

    def field_kind(self, field_key: str) -> str:
        return "number"

    def link_target(self, field_key: str) -> None:
        return None
