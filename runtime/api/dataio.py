"""Spreadsheets over REST: import records from XLSX/CSV, export a list, the import template.

``POST /api/v1/forms/<form>/imports/preview`` — multipart part ``file`` (or ``file_id`` of an earlier
upload) and optional ``mapping`` (JSON: heading → field key) and ``link_keys`` (JSON: link field →
key field): the headings, the mapping (matched by label when not given), the importable fields and
the first rows with every error per cell. Nothing is written.

``POST /api/v1/forms/<form>/imports`` — the same parts plus ``mode`` (``valid``: import the valid
rows and keep the rejected ones; ``all``: all or nothing) and ``skip_rules`` (``true``: rules and
flows do not run; builders of the app only; audited). 202 with the import's state; the worker runs
it. ``GET /api/v1/imports/<id>`` polls its progress; ``GET /api/v1/imports/<id>/rejected.csv|.xlsx``
downloads the rejected rows with an error column.

``GET /api/v1/forms/<form>/records/export.csv|.xlsx`` — the records a list request would page
through (``filter``, ``sort``, ``q``), every page, streamed; labels, not keys; the list's
permission checks. ``GET /api/v1/forms/<form>/import-template.xlsx`` — the importable columns with
drop-down lists of the options.
"""
from __future__ import annotations

import json
from flask import g, jsonify, request, url_for

from ..auth import current_principal, policy
from ..context import current_jimu
from ..dataio import export, importer, writers
from ..exceptions import NotAuthenticated
from ..i18n import current_language
from . import bp
from .util import BadRequest, json_arg, json_param, query_args


def _principal():
    principal = current_principal()
    if not principal.is_authenticated:
        raise NotAuthenticated("log in or send an API token (Authorization: Bearer ...)")
    return principal


def _json_part(name: str):
    raw = request.form.get(name)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        raise BadRequest(f"part {name!r} must be a JSON object", code="request.bad_param", param=name) from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise BadRequest(f"part {name!r} must be a JSON object of strings", code="request.bad_param", param=name)
    return value


def _file(conn, principal) -> tuple[str, str]:
    """(file id, name) of the posted file (saved now) or of ``file_id``, an earlier upload of the caller's."""
    upload = request.files.get("file")
    if upload is not None:
        ref = importer.save_upload(current_jimu(), conn, principal, upload.stream, upload.filename)
        return ref["id"], ref["name"]
    file_id = request.form.get("file_id")
    if not file_id:
        raise BadRequest("send the spreadsheet as the multipart part 'file' (or 'file_id' of an earlier upload)",
                         code="import.no_file")
    return file_id, importer.uploaded_name(conn, principal, file_id)


def _flag(name: str) -> bool:
    return (request.form.get(name) or "").strip().lower() in ("1", "true", "yes", "on")


@bp.post("/forms/<form>/imports/preview")
@query_args()
def import_preview(form):
    """Preview an import: headings, mapping (matched by label), fields, first rows with every error per cell."""
    principal = _principal()
    jimu = current_jimu()
    with jimu.begin() as conn:
        policy.require(principal, "create", jimu.catalog.form(form).key)
        file_id, name = _file(conn, principal)
        out = importer.preview(jimu, conn, principal, form, file_id, name, mapping=_json_part("mapping"),
                               link_keys=_json_part("link_keys"))
    return jsonify({"file_id": file_id, "file_name": name, **out})


@bp.post("/forms/<form>/imports")
@query_args()
def import_start(form):
    """Start importing a spreadsheet (mode valid or all, skip_rules); 202, the worker runs it."""
    principal = _principal()
    jimu = current_jimu()
    with jimu.begin() as conn:
        policy.require(principal, "create", jimu.catalog.form(form).key)
        file_id, name = _file(conn, principal)
        iid = importer.start(jimu, conn, principal, form, file_id, name, mapping=_json_part("mapping"),
                             mode=request.form.get("mode") or "valid", skip_rules=_flag("skip_rules"),
                             link_keys=_json_part("link_keys"), token_id=g.token.id if g.get("token") else None)
        state = importer.status(conn, principal, iid)
    return jsonify(_links(state)), 202, {"Location": url_for("api.import_status", iid=iid)}


def _links(state: dict) -> dict:
    iid = state["id"]
    return {**state, "links": {"self": url_for("api.import_status", iid=iid),
                               "rejected_csv": url_for("api.import_rejected", iid=iid, fmt="csv"),
                               "rejected_xlsx": url_for("api.import_rejected", iid=iid, fmt="xlsx")}}


@bp.get("/imports/<int:iid>")
@query_args()
def import_status(iid):
    """An import's progress: status, rows read, imported, rejected, progress 0..1 (its starter only)."""
    principal = _principal()
    with current_jimu().read() as conn:
        return jsonify(_links(importer.status(conn, principal, iid)))


@bp.get("/imports/<int:iid>/rejected.<fmt>")
@query_args()
def import_rejected(iid, fmt):
    """The rows an import rejected, with their line and an error column, as .csv (UTF-8 with BOM) or .xlsx."""
    principal = _principal()
    writers.check_format(fmt)
    jimu = current_jimu()
    with jimu.read() as conn:
        state = importer.status(conn, principal, iid)  # 404 for anyone but its starter (and admins)
    lang = current_language()

    def body():
        with jimu.read() as conn:
            header, rows = importer.rejected_table(conn, iid, lang)
            yield from writers.stream(fmt, header, rows)
    return writers.response(body(), fmt, f"rejected-{state['file'].rsplit('.', 1)[0]}.{fmt}")


@bp.get("/forms/<form>/records/export.<fmt>")
@query_args("sort", "q", filter=json_param({"type": ["object", "array"]}))
def records_export(form, fmt):
    """Export every record of a list (filter, sort, q) as .csv or .xlsx, with labels, as the list allows."""
    principal = _principal()
    jimu = current_jimu()
    filters = json_arg("filter")
    if filters is not None and not isinstance(filters, list):
        filters = [filters]
    with jimu.read():
        ft = jimu.catalog.form(form)
    return export.records_download(jimu, principal, ft, fmt, lang=current_language(), filters=filters,
                                   sort=request.args.get("sort"), q=request.args.get("q"))


@bp.get("/forms/<form>/import-template.xlsx")
@query_args()
def import_template(form):
    """The import template: an .xlsx of the columns the caller may import, with option drop-downs."""
    return export.template_download(current_jimu(), _principal(), form, current_language())
