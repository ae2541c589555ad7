"""The builder's JSON API (``/builder/api/...``): registries, drafts, checks, publishing, versions.

Every error answers with the platform's one shape ``{"error": {code, message, ...}}``
(``ValidationErrors`` add ``errors``, each with a JSON pointer into the package).
Installing reuses ``runtime.installer`` — the same code the REST import and the CLI run.
"""
from __future__ import annotations

import hashlib
import json

from flask import jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from apps import PackageError
from engines.errors import JimuError, words
from runtime import installer
from runtime.auth import current_principal
from runtime.auth.policy import may_build, require_app_builder
from runtime.context import current_jimu
from runtime.i18n import current_language, gettext as _

from . import api, drafts
from .registries import registries


@api.errorhandler(JimuError)
def _jimu_error(exc: JimuError):
    body = exc.to_dict()
    if exc.template:   # said in the UI language
        body["message"] = _(exc.template, **words(exc.context))
    return jsonify({"error": body}), exc.status


@api.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return jsonify({"error": {"code": f"http.{exc.code}", "message": exc.description or exc.name}}), exc.code


def _body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise drafts.BuilderError.said("send a JSON object", code="request.not_json")
    return data


def _revision(data: dict) -> int:
    rev = data.get("revision")
    if not isinstance(rev, int) or isinstance(rev, bool):
        raise drafts.BuilderError.said("give the draft revision you started from", code="builder.no_revision")
    return rev


def _actor() -> int | None:
    return current_principal().user_id


# -- registries ----------------------------------------------------------------------------

@api.get("/registries")
def get_registries():
    return jsonify(registries())


@api.get("/users")
def find_users():
    """Active users whose username or display name starts with ``q`` (at most 20): the
    designers' assignee and recipient pickers suggest them."""
    import sqlalchemy as sa
    from runtime import db
    from runtime.store.query import like_escape
    q = (request.args.get("q") or "").strip()[:150]
    t = db.users
    stmt = (sa.select(t.c.username, t.c.display_name).where(t.c.is_active.is_(True))
            .order_by(t.c.username).limit(20))
    if q:
        pattern = like_escape(q) + "%"
        stmt = stmt.where(sa.or_(t.c.username.like(pattern, escape="\\"),
                                 t.c.display_name.like(pattern, escape="\\")))
    with current_jimu().read() as conn:
        rows = conn.execute(stmt).all()
    return jsonify({"users": [{"username": r.username, "display_name": r.display_name} for r in rows]})


@api.post("/expr/check")
def check_expr():
    data = _body()
    names = data.get("names") if isinstance(data.get("names"), list) else []
    fields = data.get("fields") if isinstance(data.get("fields"), list) else None
    result = drafts.check_expression(data.get("source"), names, fields)
    if not result["ok"]:
        from .messages import problem
        result["error"] = {**result["error"], "detail": result["error"].get("message"),
                           "message": problem(result["error"], current_language())}
    return jsonify(result)


# -- apps and drafts -----------------------------------------------------------------------

@api.get("/apps")
def list_apps():
    """The apps the caller designs (every app for an administrator)."""
    principal = current_principal()
    with current_jimu().read() as conn:
        return jsonify({"apps": [a for a in drafts.list_apps(conn) if may_build(principal, a["key"])]})


@api.post("/apps")
def create_app():
    data = _body()
    jimu = current_jimu()
    principal = current_principal()
    with jimu.begin() as conn:
        draft = drafts.create_app_draft(conn, data.get("key"), data.get("label"), now=jimu.now(), actor_id=_actor(),
                                        creator=None if principal.is_admin else principal.user_id)
    _forget_principals(principal.user_id)
    return jsonify(draft), 201


def _forget_principals(user_id: int | None = None) -> None:
    """Drop cached principals (one user's, or everyone's): builder roles just changed. Other web
    processes follow within ``AUTH_CACHE_SECONDS``."""
    current_jimu().services.principals.forget(user_id)


@api.get("/apps/<app_key>/draft")
def get_draft(app_key):
    with current_jimu().read() as conn:
        return jsonify(drafts.get_draft(conn, app_key))


@api.put("/apps/<app_key>/draft")
def save_draft(app_key):
    data = _body()
    jimu = current_jimu()
    with jimu.begin() as conn:
        draft = drafts.save_draft(conn, app_key, data.get("package"), _revision(data), now=jimu.now(),
                                  actor_id=_actor(), holders=data.get("holders"))
    return jsonify(draft)


@api.get("/apps/<app_key>/names/<kind>")
def new_name(app_key, kind):
    """A generated key no app holds, for a new form (flow, rule, ...) created in one click."""
    with current_jimu().read() as conn:
        drafts.get_draft(conn, app_key)          # an unknown app answers 404
        return jsonify({"key": drafts.free_key(conn, app_key, kind)})


@api.post("/apps/<app_key>/references")
def references(app_key):
    """What in the draft refers to a form (``field``: one of its fields), flow, report or template —
    listed before it is deleted. The body's ``package`` (the designer's unsaved state) or the saved draft."""
    from .references import find
    data = _body()
    kind, key, field = data.get("kind"), data.get("key"), data.get("field")
    if kind not in drafts.KINDS or not isinstance(key, str) or (field is not None and not isinstance(field, str)):
        raise drafts.BuilderError.said("give kind (forms, flows, rules, reports, dashboards ...), key and optionally "
                                       "field", code="request.bad_param")
    package = data.get("package")
    if not isinstance(package, dict):
        with current_jimu().read() as conn:
            package = drafts.get_draft(conn, app_key)["package"]
    return jsonify({"references": find(package, kind, key, current_language(), field)})


@api.delete("/apps/<app_key>/draft")
def discard_draft(app_key):
    with current_jimu().begin() as conn:
        drafts.discard_draft(conn, app_key)
    _forget_principals()      # an unpublished app's builder role went with it
    return "", 204


@api.post("/apps/<app_key>/draft/validate")
def validate_draft(app_key):
    """Validate the package in the body (the designer's unsaved state) or else the saved draft."""
    data = request.get_json(silent=True) or {}
    package = data.get("package")
    if package is None:
        with current_jimu().read() as conn:
            package = drafts.get_draft(conn, app_key)["package"]
    from .messages import describe
    lang = current_language()
    with current_jimu().read() as conn:
        result = drafts.check(conn, package)
    return jsonify({**result, "errors": describe(result["errors"], package, lang),
                    "warnings": describe(result["warnings"], package, lang)})


@api.get("/apps/<app_key>/draft/diff")
def draft_diff(app_key):
    with current_jimu().read() as conn:
        draft = drafts.get_draft(conn, app_key)
        installed = installer.installed_package(conn, app_key)
    package = json.loads(json.dumps(draft["package"]))
    package["app"]["version"] = drafts.next_version(installed and installed["app"]["version"],
                                                     package["app"].get("version"))
    return jsonify({**drafts.diff(installed or {}, package, current_language()), "revision": draft["revision"],
                    "from_version": installed["app"]["version"] if installed else None,
                    "to_version": package["app"]["version"]})


@api.post("/apps/<app_key>/publish")
def publish(app_key):
    data = _body()
    jimu = current_jimu()
    try:
        with jimu.begin() as conn:
            result = drafts.publish(conn, app_key, _revision(data), now=jimu.now(), actor_id=_actor())
    except drafts.DraftInvalid as exc:  # each problem in the UI language, naming its object
        from .messages import describe
        with jimu.read() as conn:
            package = drafts.get_draft(conn, app_key)["package"]
        exc.errors = describe(exc.errors, package, current_language())
        exc.message = _("the draft has %(n)s problem(s); fix them before publishing", n=len(exc.errors))
        raise
    for uid in result["holders"]["users"]:   # the roles the draft gave count at once
        _forget_principals(uid)
    return jsonify(result), 201


@api.post("/apps/<app_key>/preview")
def preview(app_key):
    """The runtime form page for a draft form definition, rendered by the runtime's own templates."""
    from engines.form import compile_form
    from engines.form.exceptions import FormDefinitionError
    form = _body().get("form")
    if not isinstance(form, dict):
        raise drafts.BuilderError.said("give the form definition to preview", code="builder.no_form")
    try:
        spec = compile_form(form)
    except FormDefinitionError as exc:
        return jsonify({"error": exc.to_dict()}), 422
    lang = current_language()
    values: dict = {}
    try:
        values = dict(spec.clean({}).values)
    except Exception:  # a default that needs the runtime's context; the preview starts empty then
        values = {}
    jimu = current_jimu()
    context = {"now": jimu.now().isoformat(), "user": current_principal().as_context(),
               "tz": jimu.config.get("TIMEZONE", "UTC")}
    return render_template("builder/preview.html", ft=_PreviewForm(form.get("key") or "preview", spec),
                           values=values, errors_by_field={}, lang=lang, client_spec=spec.client_spec(lang),
                           context=context)


class _PreviewForm:
    """What the runtime's layout macros read of a form table: its key and compiled spec."""

    def __init__(self, key, spec):
        self.key, self.spec = key, spec


# -- live report and dashboard previews -----------------------------------------------------

@api.post("/apps/<app_key>/reports/preview")
def report_preview(app_key):
    """The figure of a draft report definition over the installed records the builder may read.

    Compiled by the report engine against the runtime's record store and run by the runtime's
    own ``run_chart`` (so the viewer's row filter applies); definition problems answer 422
    with every error, each with its code and JSON pointer."""
    from runtime.api.reports import ReportEntry, chart_payload, explain_chart, run_chart
    from .samples import sample_rows
    data = _body()
    definition = data.get("report")
    if not isinstance(definition, dict):
        raise drafts.BuilderError.said("give the report definition to preview", code="builder.no_report")
    jimu = current_jimu()
    principal = current_principal()
    lang = _preview_lang(data)
    with jimu.read() as conn:
        filters = _preview_filters(data.get("filter"))
        try:
            chart, package = _preview_chart(conn, app_key, definition)
            if package is not None:  # a form of the draft only: sample records made from its fields
                chart, rows = sample_rows(package, definition, tz=_tz(), now=jimu.now(), shared_filters=filters)
                payload = chart_payload(ReportEntry(app_key, str(definition.get("key")), definition, chart, None),
                                        rows, lang)
                return jsonify({**payload, "explain": None, "sample": True})
        except JimuError as exc:
            raise _worded(exc, definition, lang) from None
        rows = run_chart(jimu, conn, principal, chart, filters)
        explain = explain_chart(jimu, conn, principal, chart, filters)  # how its query runs: indexes, scans
    payload = chart_payload(ReportEntry(app_key, str(definition.get("key")), definition, chart, None),
                            rows, lang)
    return jsonify({**payload, "explain": explain, "sample": False})


@api.post("/apps/<app_key>/dashboards/preview")
def dashboard_preview(app_key):
    """Every tile of a draft dashboard (``dashboard``) over draft reports (``reports``), as the runtime's
    dashboard data: a tile whose report does not compile carries that report's coded error."""
    from engines.report import check_dashboard
    from runtime.api.reports import DashboardEntry, ReportEntry, dashboard_data
    data = _body()
    definition, reports = data.get("dashboard"), data.get("reports") or []
    if not isinstance(definition, dict) or not isinstance(reports, list):
        raise drafts.BuilderError.said("give the dashboard definition and the draft's reports",
                                       code="builder.no_dashboard")
    values = data.get("values") or {}
    if not isinstance(values, dict):
        raise drafts.BuilderError.said("values must be an object {field: value}", code="request.bad_param")
    jimu = current_jimu()
    principal = current_principal()
    tz = jimu.config.get("TIMEZONE") or "UTC"
    from runtime.api.reports import chart_payload, dashboard_shared
    from .samples import compile_sample, sample_rows
    lang = _preview_lang(data)
    with jimu.read() as conn:
        entries, charts, samples = {}, {}, {}
        for item in reports:
            if not isinstance(item, dict) or not isinstance(item.get("key"), str):
                continue
            chart, error = None, None
            try:
                chart, package = _preview_chart(conn, app_key, item)
                if package is not None:   # drawn below on sample records; the runtime's tiles skip it
                    samples[item["key"]] = package
                    charts[item["key"]] = compile_sample(package, item, tz=tz)
                    chart, error = None, _SAMPLE
            except JimuError as exc:
                error = _worded(exc, item, lang)
            entries[item["key"]] = ReportEntry(app_key, item["key"], item, chart, error)
            charts.setdefault(item["key"], chart)
        check_dashboard(definition, charts)
        entry = DashboardEntry(app_key, str(definition.get("key")), definition, None, entries, tz)
        out = dashboard_data(jimu, conn, principal, entry, values, lang)
    shared = dashboard_shared(entry, values)
    for placed, tile in zip(definition["charts"], out["charts"]):
        key = tile["report"]
        if key in samples:
            tile.pop("error", None)
            try:
                chart, rows = sample_rows(samples[key], entries[key].definition, tz=tz, now=jimu.now(),
                                          shared_filters=shared.get(key))
            except JimuError as exc:
                tile["error"] = _worded(exc, entries[key].definition, lang).to_dict()
                continue
            tile.update(chart_payload(ReportEntry(app_key, key, entries[key].definition, chart, None), rows, lang,
                                      placed.get("title")))
            tile["sample"] = True
    return jsonify(out)


#: a dashboard tile drawn on sample records (the runtime's tile loop leaves it to the preview)
_SAMPLE = JimuError("drawn on sample records", code="builder.sample")


def _tz() -> str:
    return current_jimu().config.get("TIMEZONE") or "UTC"


def _preview_chart(conn, app_key: str, definition: dict):
    """(chart, None) to preview a draft report on the app's own installed records, or (None, the draft
    package) to preview it on sample records: its form is only in the draft (never published, or named
    like another app's form, whose records a draft never reads), or its published version lacks what
    the draft adds. A form neither installed for this app nor in its draft is refused as before."""
    from engines.report import ValidationErrors as ReportInvalid
    from .samples import compile_sample
    form_key = definition.get("form")
    catalog = current_jimu().catalog
    own = isinstance(form_key, str) and form_key in catalog and catalog.form(form_key).app_key == app_key
    package = drafts.get_draft(conn, app_key)["package"]
    in_draft = any(isinstance(f, dict) and f.get("key") == form_key for f in package.get("forms") or [])
    if not in_draft:
        return _compile_report(conn, app_key, definition), None
    if own:
        try:
            return _compile_report(conn, app_key, definition), None
        except ReportInvalid:
            pass  # the published form lacks what the draft adds: the draft's own form, on samples
    compile_sample(package, definition, tz=_tz())   # definition problems answer as a real preview's do
    return None, package


def _compile_report(conn, app_key: str, definition: dict):
    """Compile a draft report against the installed forms (``report.unknown_form`` until its form is published);
    it may count only records of the app's own forms, and only those the builder may read."""
    from engines.report import compile_chart
    from runtime.api.reports import RuntimeSource, flow_tables, may_read
    from engines.errors import PermissionDenied
    jimu = current_jimu()
    chart = compile_chart(definition, RuntimeSource(jimu.catalog, flow_tables(conn)),
                          tz=jimu.config.get("TIMEZONE") or "UTC")
    for form in chart.forms:
        _own_form(app_key, form)
    if not may_read(current_principal(), chart):
        raise PermissionDenied("you may not read the records this report counts", code="permission.denied",
                               forms=list(chart.forms))
    return chart


def _worded(exc: JimuError, report: dict, lang: str) -> JimuError:
    """A preview's refusal in the UI language, naming the report (``builder.messages``)."""
    from .messages import describe
    package = {"reports": [report]}
    if isinstance(getattr(exc, "errors", None), list):
        exc.errors = describe([e if isinstance(e, dict) else e.to_dict() for e in exc.errors], package, lang,
                              base="/reports/0")
        exc.message = "; ".join(e["message"] for e in exc.errors[:3])
    else:
        (worded,) = describe([exc.to_dict()], package, lang, base="/reports/0")
        exc.context["detail"] = exc.message
        exc.message = worded["message"]
    return exc


def _own_form(app_key: str, form_key: str) -> None:
    """A draft may only reach the installed records of its own app's forms (a draft form keyed like
    another app's form does not open that app's records)."""
    from engines.errors import PermissionDenied
    catalog = current_jimu().catalog
    if form_key in catalog and catalog.form(form_key).app_key != app_key:
        raise PermissionDenied(f"form {form_key!r} belongs to another app; a draft of {app_key!r} may only use "
                               "its own app's records (rename the form)", code="permission.other_app",
                               form=form_key, app=app_key)


def _preview_filters(filters):
    if filters is not None and not isinstance(filters, list):
        raise drafts.BuilderError.said("filter must be a list of {field, op, value}", code="request.bad_param")
    return filters or None


def _preview_lang(data: dict) -> str:
    return data["lang"] if data.get("lang") in ("zh-CN", "en") else current_language()


# -- versions ------------------------------------------------------------------------------

@api.get("/apps/<app_key>/versions")
def versions(app_key):
    lang = current_language()
    with current_jimu().read() as conn:
        items = drafts.versions(conn, app_key)
    for item in items:
        item["lines"] = _summary_from_dict(item.pop("diff"), lang)
    return jsonify({"versions": items})


def _summary_from_dict(d: dict, lang: str) -> list[str]:
    from apps.diff import FieldDiff, KeyDiff, PackageDiff
    if not d:
        return []

    def fdiff(x):
        return FieldDiff(tuple(x.get("added", ())), tuple(x.get("changed", ())), tuple(x.get("retired", ())),
                         tuple(x.get("type_changed", ())), {k: fdiff(v) for k, v in (x.get("subtables") or {}).items()})
    kinds = {k: KeyDiff(tuple(v.get("added", ())), tuple(v.get("changed", ())), tuple(v.get("retired", ())))
             for k, v in (d.get("kinds") or {}).items()}
    pd = PackageDiff(kinds, {k: fdiff(v) for k, v in (d.get("forms") or {}).items()},
                     bool(d.get("app_changed")), d.get("old_version"), d.get("new_version"), d.get("labels") or {})
    return pd.summary_lines(lang)


@api.get("/apps/<app_key>/versions/diff")
def versions_diff(app_key):
    """``?from=<id>&to=<id>``: what changes going from one version to the other (``to`` defaults to the draft)."""
    with current_jimu().read() as conn:
        old = drafts.version_package(conn, app_key, request.args.get("from", type=int) or 0)
        to = request.args.get("to", type=int)
        new = drafts.version_package(conn, app_key, to) if to else drafts.get_draft(conn, app_key)["package"]
    return jsonify(drafts.diff(old, new, current_language()))


@api.post("/apps/<app_key>/versions/<int:version_id>/rollback")
def rollback(app_key, version_id):
    jimu = current_jimu()
    with jimu.begin() as conn:
        result = drafts.rollback(conn, app_key, version_id, now=jimu.now(), actor_id=_actor())
    return jsonify(result), 201


# -- import and export -----------------------------------------------------------------------

@api.post("/import")
def import_package():
    """Multipart ``package`` file (or a JSON body). ``?dry_run=1`` shows the diff and a ``confirm``
    token; applying needs ``?confirm=<token>``, so nothing is installed without the diff being shown."""
    upload = request.files.get("package")
    raw = upload.read() if upload else request.get_data(cache=False)
    token = hashlib.sha256(raw).hexdigest()
    lang = current_language()
    jimu = current_jimu()
    principal = current_principal()
    try:
        if request.args.get("dry_run") in ("1", "true"):
            with jimu.read() as conn:
                app = installer.compile(conn, raw)
                _may_import(conn, app.package)
                plan = installer.plan(conn, app)
            return jsonify({"ok": True, "plan": plan.to_dict(), "lines": plan.diff.summary_lines(lang),
                            "confirm": token})
        if request.args.get("confirm") != token:
            raise drafts.ImportUnconfirmed.said("look at the upgrade diff first (dry run), then confirm that exact "
                                                "file")
        with jimu.begin() as conn:
            app = installer.compile(conn, raw)
            new = _may_import(conn, app.package)
            plan, _report = installer.install(conn, app, now=jimu.now(), actor_id=_actor(),
                                              allow_downgrade=request.args.get("allow_downgrade") == "1")
            if new and not principal.is_admin:
                drafts.grant_creator(conn, app.key, app.package.app.get("label"), principal.user_id)
    except PackageError as exc:  # the designer's import screen lists the errors itself
        return jsonify({"ok": False, "error": exc.to_dict()}), exc.status
    _forget_principals(principal.user_id)
    return jsonify({"ok": True, "plan": plan.to_dict(), "lines": plan.diff.summary_lines(lang)}), \
        200 if plan.action == "unchanged" else 201


def _may_import(conn, package) -> bool:
    """Whether the package is a new app. An existing app is imported only by its builders; a new one
    by any builder, who then designs it (``drafts.grant_creator``)."""
    if drafts.app_exists(conn, package.key):
        require_app_builder(current_principal(), package.key)
        return False
    return True


@api.get("/apps/<app_key>/export")
def export(app_key):
    """The installed package, or with ``?draft=1`` the draft, as a download."""
    with current_jimu().read() as conn:
        if request.args.get("draft") == "1":
            from apps import export_package
            pkg = export_package(drafts.get_draft(conn, app_key)["package"])
        else:
            pkg = installer.export(conn, app_key)
    resp = jsonify(pkg)
    resp.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(app_key)}.json"
    return resp


def _quote(text: str) -> str:
    from urllib.parse import quote
    return quote(text, safe="")


# -- rules: check and dry-run the draft's rule -----------------------------------------------

def _draft_rule(app_key: str) -> tuple[dict, dict]:
    """The rule in the body (the designer's unsaved state) or, given ``key``, the saved draft's rule;
    with the draft package, whose templates the rule may name. Only the app's own forms are watched."""
    data = _body()
    with current_jimu().read() as conn:
        package = drafts.get_draft(conn, app_key)["package"]
    rule = data.get("rule")
    if rule is None and isinstance(data.get("key"), str):
        rule = next((r for r in package.get("rules") or [] if isinstance(r, dict) and r.get("key") == data["key"]),
                    None)
        if rule is None:
            raise drafts.NotFound.said("the draft has no rule '%(key)s'", key=data["key"])
    if not isinstance(rule, dict):
        raise drafts.BuilderError.said("send {\"rule\": {...}} or {\"key\": \"rule_key\"}", code="builder.no_rule")
    forms = {f.get("key") for f in package.get("forms") or [] if isinstance(f, dict)}
    if rule.get("form") not in forms:
        raise drafts.BuilderError.said("the rule watches '%(form)s', which is not a form of this app",
                                       code="builder.unknown_form", pointer="/form", form=rule.get("form"))
    return rule, package


def _compile_draft_rule(rule: dict, package: dict):
    from engines.rule import compile_rule
    from runtime.rules.loader import allowlist, package_templates
    return compile_rule(rule, allow=allowlist(current_jimu()), templates=package_templates(package))


@api.post("/apps/<app_key>/rules/check")
def check_rule(app_key):
    """Compile the rule as publishing would (actions against their schemas, templates, URLs): its problems."""
    from engines.rule import RuleInvalid
    rule, package = _draft_rule(app_key)
    try:
        _compile_draft_rule(rule, package)
    except RuleInvalid as exc:
        from .messages import describe
        errors = [e if isinstance(e, dict) else e.to_dict() for e in exc.errors]
        return jsonify({"ok": False, "errors": describe(errors, {"rules": [rule]}, current_language(), base="/rules/0")})
    return jsonify({"ok": True, "errors": []})


@api.post("/apps/<app_key>/rules/dry-run")
def dry_run_rule(app_key):
    """The draft rule against the installed records: which it would match and what it would do.
    Read-only (``runtime.rules.dry_run``); ``limit`` records are shown (1–200)."""
    from runtime.rules import dry_run
    rule, package = _draft_rule(app_key)
    spec = _compile_draft_rule(rule, package)  # RuleInvalid answers 422 with every problem
    limit = request.get_json().get("limit", 50)
    limit = max(1, min(limit if isinstance(limit, int) and not isinstance(limit, bool) else 50, 200))
    jimu = current_jimu()
    if spec.form not in jimu.catalog:
        err = drafts.BuilderError.said("form '%(form)s' is not published yet: publish it to dry-run against its "
                                       "records", code="builder.form_not_published", form=spec.form)
        err.status = 409
        raise err
    with jimu.read() as conn:
        _own_form(app_key, spec.form)
        result = dry_run(jimu, conn, spec, principal=current_principal(), limit=limit)
    return jsonify(result)
