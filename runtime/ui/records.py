"""Record pages: list (filter, search, sort, paging), detail, create and edit forms.

Every write goes through ``runtime.records.Records`` — the same clean, rules
and audit as the API. The browser runs the form's expressions live from
``FormSpec.client_spec()`` with ``static/js/expr.js``; the server still decides.
"""
from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from markupsafe import Markup

from engines.errors import JimuError
from engines.form import label_text

from ..auth import current_principal
from ..files import send_record_file
from ..auth import policy
from ..auth.policy import can
from ..context import current_jimu
from ..i18n import current_language, deployment_zone, gettext as _
from ..records import RecordInvalid, Records
from . import bp, record_page
from .views import _login_required

PER_PAGE = 25
#: widgets whose values do not fit a list cell
UNLISTED_STORAGE = ("children", "none")


def _records(conn) -> Records:
    return Records(current_jimu(), conn, current_principal(), source="ui")


def list_columns(ft, limit: int = 8, hidden=frozenset()) -> list:
    fields = [f for f in ft.spec.fields if f.storage not in UNLISTED_STORAGE and f.key not in hidden]
    shown = ft.spec.definition.get("list_fields")
    if shown:
        fields = [f for f in fields if f.key in shown]
    return fields[:limit]


def _filter_arg() -> list | None:
    raw = request.args.get("filter")
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        raise JimuError("the filter parameter is not JSON", code="filter.not_json") from None
    return value if isinstance(value, list) else [value]


def list_query(ft, principal) -> tuple[dict | None, list | None, str, str]:
    """(view, filters, sort, search) of the list the request asks for: the named view's filter and
    sort, the ``filter`` parameter, the toolbar's field/op/value. The list page and its exports read
    the same arguments, so an export holds what the list shows."""
    sort = request.args.get("sort") or "-id"
    q = request.args.get("q", "")
    filters = _filter_arg()
    field = request.args.get("field")
    if field and request.args.get("value", "") != "":
        filters = (filters or []) + [{"field": field, "op": request.args.get("op") or "eq",
                                      "value": request.args.get("value")}]
    view, view_filters, view_sort = record_page.view_filter(ft, request.args.get("view"), principal.user_id)
    if view_filters:
        filters = list(view_filters) + list(filters or [])
    if view_sort and not request.args.get("sort"):
        sort = view_sort
    return view, filters, sort, q


@bp.get("/forms/<form>")
def record_list(form):
    _login_required()
    jimu = current_jimu()
    principal = current_principal()
    page = max(1, request.args.get("page", 1, type=int) or 1)
    with jimu.read() as conn:
        records = _records(conn)
        ft = records.form(form)
        view, filters, sort, q = list_query(ft, principal)
        rows, total, capped = records.list(form, filters=filters, sort=sort, q=q, page=page, per_page=PER_PAGE)
        bulk = _bulk_actions(jimu, records, ft) if rows and can(principal, "update", form) else None
    pages = max(1, math.ceil(total / PER_PAGE))
    return render_template("records/list.html", ft=ft, rows=rows, total=total, capped=capped, page=page,
                           pages=pages, sort=sort, q=q, filters=[] if view else (filters or []),
                           columns=list_columns(ft, hidden=policy.hidden_fields(principal, form)),
                           can_create=can(principal, "create", form), args=dict(request.args),
                           views=record_page.list_views(ft), view=view, bulk=bulk)


#: widgets a bulk "set" offers on the list page (a choice or a person, one value)
BULK_WIDGETS = ("select", "radio", "user", "group")


def _bulk_actions(jimu, records, ft) -> dict:
    """What the list's selection toolbar offers: the listed choice and people fields the viewer may
    write, the form's manual rules and its macros."""
    from ..macros import macros
    from ..rules.manual import manual_rules
    closed = policy.field_access(records.principal, ft.key)
    offered = ft.spec.definition.get("bulk_fields") or [f.key for f in list_columns(ft)]
    fields = [ft.spec.field(k) for k in offered if ft.spec.has_field(k)]
    fields = [f for f in fields if f.widget.type in BULK_WIDGETS and f.key not in closed
              and f.storage != "multi" and not f.definition.get("read_only") and not f.computed]
    return {"fields": fields, "rules": [{"key": r.key, "label": r.label} for r in manual_rules(jimu, records, ft.key)],
            "macros": [{"key": m["key"], "label": m.get("label") or m["key"]} for m in macros(ft)]}


@bp.post("/forms/<form>/bulk")
def record_bulk(form):
    """The list's selection toolbar: one action on every ticked record; a summary of what was done
    and what was refused (with each reason) comes back as a message."""
    _login_required()
    jimu = current_jimu()
    from .. import bulk
    ids = list(dict.fromkeys(int(i) for i in request.form.getlist("ids")
                             if i.isascii() and i.isdigit() and 0 < int(i) < 2**63))[:bulk.MAX_SELECTION]
    back = request.form.get("next") or ""
    back = back if back.startswith("/") and not back.startswith("//") else url_for("ui.record_list", form=form)
    if not ids:
        flash(_("Select records first"))
        return redirect(back)
    with jimu.begin() as conn:
        records = _records(conn)
        ft = records.form(form)
        if request.form.get("rule"):
            kind, arg = "rule", request.form["rule"]
        elif request.form.get("macro"):
            kind, arg = "macro", request.form["macro"]
        else:
            key = request.form.get("set_field", "")
            if not ft.spec.has_field(key):
                raise JimuError("choose the field to set", code="bulk.action")
            f = ft.spec.field(key)
            kind, arg = "set", {key: f.widget.value_from_formdata(request.form, request.files, key)}
        result = bulk.run(jimu, records, form, ids, kind, arg)
    flash(_("%(done)s done, %(refused)s refused", done=result["done"], refused=result["refused"]))
    for r in result["results"]:
        if not r["ok"]:   # the reason: a validation error's own messages, else the refusal's
            reasons = [e.get("message", "") for e in r["error"].get("errors") or []] or [r["error"]["message"]]
            flash(f"#{r['id']}: {'; '.join(reasons)}")
    return redirect(back)


def _done_or_said(work, *, passes: tuple = (401, 403)) -> bool:
    """Run ``work(conn)`` in one transaction for a button of the record page; a refusal is flashed
    (the page shows why) unless its status is in ``passes`` (the error pages answer those). Whether
    it ran."""
    try:
        with current_jimu().begin() as conn:
            work(conn)
    except JimuError as exc:
        if exc.status in passes:
            raise
        flash(exc.message)
        return False
    return True


@bp.post("/forms/<form>/<int:rid>/macro/<macro>")
def record_macro(form, rid, macro):
    """A macro's button on the record page: run it with the viewer's rights, then come back."""
    _login_required()
    from ..macros import run
    if _done_or_said(lambda conn: run(_records(conn), form, rid, macro), passes=(401, 403, 404)):
        flash(_("Done"))
    return redirect(url_for("ui.record_detail", form=form, rid=rid))


@bp.post("/forms/<form>/<int:rid>/merge")
def record_merge(form, rid):
    """Merge this record into the one whose number is given; then open the record kept (a record to
    keep that does not exist is said on this record's page)."""
    _login_required()
    from ..merge import merge
    into = request.form.get("into", type=int)
    if not into or not 0 < into < 2**63:
        flash(_("Give the number of the record to keep"))
    elif _done_or_said(lambda conn: merge(current_jimu(), _records(conn), form, rid, into)):
        flash(_("Merged"))
        return redirect(url_for("ui.record_detail", form=form, rid=into))
    return redirect(url_for("ui.record_detail", form=form, rid=rid))


@bp.get("/forms/<form>/<int:rid>")
def record_detail(form, rid):
    _login_required()
    jimu = current_jimu()
    principal = current_principal()
    with jimu.read() as conn:
        records = _records(conn)
        ft = records.form(form)
        record = records.get(form, rid)
        related = record_page.related_blocks(records, ft, record)
        suggested = record_page.suggestions(conn, jimu.catalog, principal, ft, record, jimu.now())
        from ..rules.manual import offered
        actions = offered(jimu, records, form, record)
        from .. import macros
        offered_macros = macros.offered(records, ft, record)
        processes = _has_process(jimu, conn, form, rid)
        can_update = can(principal, "update", form) and policy.row_visible(conn, principal, ft, rid, "update")
        can_delete = can(principal, "delete", form) and policy.row_visible(conn, principal, ft, rid, "delete")
    return render_template("records/detail.html", ft=ft, record=record, related=related, suggested=suggested,
                           can_update=can_update, can_delete=can_delete, actions=actions, macros=offered_macros,
                           can_merge=can_update and bool(ft.spec.definition.get("merge"))
                           and record.get(ft.spec.definition["merge"]["link"]) is None,
                           has_process=processes, field_access=policy.field_access(principal, form))


def _has_process(jimu, conn, form: str, rid: int) -> bool:
    return bool(jimu.services.flows.runtime(conn).instances_of_record(form, rid))


@bp.post("/forms/<form>/<int:rid>/run/<rule>")
def record_run_rule(form, rid, rule):
    """A manual rule's button on the record page: run it, then open what it created (or come back)."""
    _login_required()
    jimu = current_jimu()
    from ..rules.manual import run
    try:
        with jimu.begin() as conn:
            result = run(jimu, _records(conn), form, rid, rule)
    except JimuError as exc:
        if exc.status in (401, 403, 404):
            raise
        flash(exc.message)
        return redirect(url_for("ui.record_detail", form=form, rid=rid))
    flash(_("Done"))
    made = result["records"]
    if made:
        return redirect(url_for("ui.record_detail", form=made[0]["form"], rid=made[0]["id"]))
    return redirect(url_for("ui.record_detail", form=form, rid=rid))


def _submitted(ft) -> dict[str, Any]:
    """Read the posted HTML form with each widget's own reader (files included).

    Fields hidden or read-only for the user are not on their page, so they are not read either.
    """
    data = {}
    closed = policy.field_access(current_principal(), ft.key)
    for f in ft.spec.input_fields:
        if f.key in closed:
            continue
        if f.children is not None:
            raw = request.form.get(f.key)
            if raw is None:
                continue
            try:
                data[f.key] = json.loads(raw) if raw else []
            except ValueError:
                data[f.key] = raw
            continue
        value = f.widget.value_from_formdata(request.form, request.files, f.key)
        if value is not None:
            data[f.key] = value
    return data


def _store_uploads(conn, ft, data: dict) -> None:
    """Save posted files (in the write transaction) and put their references in ``data``."""
    jimu = current_jimu()
    errors = jimu.services.files.save_uploads(ft.spec, data, conn=conn, user_id=current_principal().user_id,
                                              now=jimu.now())
    if errors:
        raise RecordInvalid(errors)


@bp.get("/forms/<form>/<int:rid>/files/<field>/<file_id>")
def record_file(form, rid, field, file_id):
    """Download a file of a record: allowed to whoever may read the record, only if the
    record's field really holds that file; served under its own name, never inline."""
    _login_required()
    with current_jimu().read() as conn:
        record = _records(conn).get(form, rid)  # outside the row scope: 404; a hidden field is not in it
        return send_record_file(conn, current_jimu().services.files, record.get(field), file_id)


def _form_page(ft, record, values, errors, status=200):
    lang = current_language()
    return render_template("records/form.html", ft=ft, record=record, values=values, errors=errors,
                           errors_by_field=_by_field(errors), lang=lang,
                           field_access=policy.field_access(current_principal(), ft.key),
                           client_spec=ft.spec.client_spec(lang),
                           context={"now": current_jimu().now().isoformat(),
                                    "user": current_principal().as_context(),
                                    "tz": current_jimu().config.get("TIMEZONE", "UTC")}), status


def _by_field(errors: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for e in errors:
        out.setdefault(e.get("field") or "", []).append(e)
    return out


@bp.route("/forms/<form>/new", methods=["GET", "POST"])
def record_new(form):
    _login_required()
    jimu = current_jimu()
    if request.method == "GET":
        with jimu.read() as conn:
            records = _records(conn)
            ft = records.form(form)
            records._require("create", form)
            preview = ft.spec.clean({}, context=records.eval_context())
        return _form_page(ft, None, preview.values, [])
    try:
        with jimu.begin() as conn:
            records = _records(conn)
            ft = records.form(form)
            data = _submitted(ft)
            _store_uploads(conn, ft, data)
            record = records.create(form, data)
    except RecordInvalid as exc:
        return _form_page(ft, None, data, exc.errors, 422)
    flash(label_text({"zh-CN": "已保存", "en": "Saved"}, current_language()))
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(url_for("ui.record_detail", form=form, rid=record["id"]))


@bp.route("/forms/<form>/<int:rid>/edit", methods=["GET", "POST"])
def record_edit(form, rid):
    _login_required()
    jimu = current_jimu()
    if request.method == "GET":
        with jimu.read() as conn:
            records = _records(conn)
            ft = records.form(form)
            records._require("update", form)
            record = records.get(form, rid)
            policy.require_row(conn, current_principal(), ft, rid, "update")
        return _form_page(ft, record, record, [])
    version = request.form.get("row_version", type=int)
    try:
        with jimu.begin() as conn:
            records = _records(conn)
            ft = records.form(form)
            data = _submitted(ft)
            _store_uploads(conn, ft, data)
            record = records.update(form, rid, data, expected_version=version)
    except RecordInvalid as exc:
        with jimu.read() as conn:
            current = _records(conn).get(form, rid)
        return _form_page(ft, current, {**current, **data}, exc.errors, 422)
    flash(label_text({"zh-CN": "已保存", "en": "Saved"}, current_language()))
    return redirect(url_for("ui.record_detail", form=form, rid=rid))


@bp.post("/forms/<form>/<int:rid>/delete")
def record_delete(form, rid):
    _login_required()
    with current_jimu().begin() as conn:
        _records(conn).delete(form, rid, expected_version=request.form.get("row_version", type=int))
    flash(label_text({"zh-CN": "已删除", "en": "Deleted"}, current_language()))
    return redirect(url_for("ui.record_list", form=form))


# -- template helpers --------------------------------------------------------------

def display_value(f, value: Any) -> str:
    """A value as text for lists and detail pages."""
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:g}"
    if isinstance(value, list):
        return ", ".join(display_value(f, v) for v in value)
    if isinstance(value, dict):
        return str(value.get("name") or value.get("title") or value.get("id") or "")
    if f is not None and f.widget.value_kind in ("user", "group", "link") and isinstance(value, int):
        return _reference_name(f, value)
    options = (f.widget.config.get("options") or []) if f is not None else []
    for opt in options:
        if isinstance(opt, dict) and opt.get("value") == value:
            return label_text(opt.get("label"), current_language(), str(value))
    if hasattr(value, "isoformat"):
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(deployment_zone()).replace(tzinfo=None)   # the deployment's local time
        text = value.isoformat(sep=" ", timespec="minutes") if hasattr(value, "hour") else value.isoformat()
        return text.replace("+00:00", "")
    return str(value)


def chosen_names(f, value: Any) -> list[dict[str, Any]]:
    """``[{id, text}]`` of the ids a user, group or link field holds, for its picker (picker.js)."""
    ids = value if isinstance(value, list) else [value]
    return [{"id": i, "text": _reference_name(f, i)} for i in ids if isinstance(i, int) and not isinstance(i, bool)]


def _reference_name(f, value: int) -> str:
    """The name of the user or group, or the title of the linked record, an id field points at
    (one lookup per request; ``#id`` when it is gone or its form is not readable by the viewer)."""
    from flask import g

    from ..names import ReferenceNames
    names = g.get("jimu_reference_names")
    if names is None:
        jimu, principal = current_jimu(), current_principal()
        conn = g.jimu_names_conn = jimu.engine.connect()
        names = g.jimu_reference_names = ReferenceNames(conn, jimu.catalog, current_language(), principal)
    return names.name(f, value)


@bp.teardown_app_request
def _close_names_conn(_exc=None):
    from flask import g
    conn = g.pop("jimu_names_conn", None)
    if conn is not None:
        conn.close()


def widget_input(f, value: Any, errors: list[dict], lang: str) -> Markup:
    """Render a field's input with the widget's macro from widgets.html, or a plain input."""
    env = current_jimu_env()
    macro = None
    try:
        module = env.get_template("widgets.html").module
        macro = getattr(module, f.widget.macro, None)
    except Exception:  # widgets.html may not define every macro; the generic input serves
        macro = None
    error = errors[0] if errors else None
    if macro is not None:
        return Markup(macro(f, value, error, lang))
    return Markup(render_template("records/_input.html", f=f, value=value, error=error, lang=lang))


def current_jimu_env():
    from flask import current_app
    return current_app.jinja_env


@bp.app_template_global()
def sort_link(form: str, key: str, sort: str, args: dict) -> str:
    new = key if sort != key else f"-{key}"
    return url_for("ui.record_list", **{**args, "form": form, "sort": new, "page": 1})


@bp.app_template_global()
def page_link(form: str, page: int, args: dict) -> str:
    return url_for("ui.record_list", **{**args, "form": form, "page": page})


bp.add_app_template_global(display_value, "display_value")
bp.add_app_template_global(widget_input, "widget_input")
bp.add_app_template_global(chosen_names, "chosen_names")
