"""Import and export pages of a form's list: upload → map columns → preview with every error per
cell → import (a job of the worker, its progress polled from ``/api/v1/imports/<id>``, so a reload
finds it again); exports of the list as it is filtered; the import template.

The work is ``runtime.dataio``'s (the same as the API's and the CLI's); these views read the page's
arguments and render.
"""
from __future__ import annotations

from flask import redirect, render_template, request, url_for

from engines.errors import JimuError

from ..auth import current_principal, policy
from ..context import current_jimu
from ..dataio import export, importer, writers
from ..dataio.mapping import BadMapping
from ..i18n import current_language
from . import bp
from .records import list_query
from .views import _login_required


@bp.route("/forms/<form>/import", methods=["GET", "POST"])
def import_upload(form):
    _login_required()
    jimu, principal = current_jimu(), current_principal()
    with jimu.read():
        ft = jimu.catalog.form(form)
        policy.require(principal, "create", form)
    error = None
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            if upload is None or not upload.filename:
                raise BadMapping("choose an .xlsx or .csv file", code="import.no_file")
            with jimu.begin() as conn:
                ref = importer.save_upload(jimu, conn, principal, upload.stream, upload.filename)
            return redirect(url_for("ui.import_map", form=form, file_id=ref["id"]))
        except JimuError as exc:
            if exc.status in (401, 403):
                raise
            error = exc.message
    return render_template("records/import_upload.html", ft=ft, error=error), 400 if error else 200


def _mapping_args(header: list[str]) -> dict[str, str] | None:
    """The page's mapping: ``col<i>`` = field key for heading i ("" skips it); None before the user chose."""
    if not any(k.startswith("col") for k in request.values):
        return None
    return {h: request.values.get(f"col{i}", "") for i, h in enumerate(header)}


def _link_keys() -> dict[str, str]:
    return {k[4:]: v for k, v in request.values.items() if k.startswith("key:") and v}


@bp.get("/forms/<form>/import/<file_id>")
def import_map(form, file_id):
    _login_required()
    jimu, principal = current_jimu(), current_principal()
    with jimu.read() as conn:
        ft = jimu.catalog.form(form)
        name = importer.uploaded_name(conn, principal, file_id)
        error, out = None, None
        try:
            first = importer.preview(jimu, conn, principal, form, file_id, name, rows=0)
            mapping = _mapping_args(first["header"])
            out = importer.preview(jimu, conn, principal, form, file_id, name,
                                   mapping=mapping if mapping and any(mapping.values()) else None,
                                   link_keys=_link_keys())
        except JimuError as exc:
            if exc.status in (401, 403, 404) and not isinstance(exc, BadMapping):
                raise
            error = exc.message
            out = out or {"header": [], "mapping": {}, "rows": [], "fields": []}
        mapped = set(out["mapping"].values())
        links = {f["key"]: (f["label"], jimu.catalog.form(f["link"])) for f in out["fields"]
                 if f["link"] and f["key"] in mapped}
    may_skip = policy.may_build(principal, ft.app_key)
    return render_template("records/import_map.html", ft=ft, file_id=file_id, file_name=name, error=error,
                           preview=out, links=links, link_keys=_link_keys(), may_skip=may_skip,
                           lang=current_language())


@bp.post("/forms/<form>/import/<file_id>")
def import_start(form, file_id):
    _login_required()
    jimu, principal = current_jimu(), current_principal()
    with jimu.begin() as conn:
        name = importer.uploaded_name(conn, principal, file_id)
        header = importer.preview(jimu, conn, principal, form, file_id, name, rows=0)["header"]
        mapping = {h: k for h, k in (_mapping_args(header) or {}).items() if k}
        try:
            iid = importer.start(jimu, conn, principal, form, file_id, name, mapping=mapping or None,
                                 mode=request.form.get("mode") or "valid",
                                 skip_rules=request.form.get("skip_rules") == "on", link_keys=_link_keys())
        except BadMapping:
            return redirect(url_for("ui.import_map", form=form, file_id=file_id, **request.form.to_dict()))
    return redirect(url_for("ui.import_progress", iid=iid))


@bp.get("/imports/<int:iid>")
def import_progress(iid):
    _login_required()
    jimu, principal = current_jimu(), current_principal()
    with jimu.read() as conn:
        state = importer.status(conn, principal, iid)
        ft = jimu.catalog.form(state["form"])
    return render_template("records/import_progress.html", ft=ft, state=state, finished=state["status"] in
                           importer.FINISHED)


@bp.get("/forms/<form>/import-template.xlsx")
def import_template(form):
    _login_required()
    return export.template_download(current_jimu(), current_principal(), form, current_language())


@bp.get("/forms/<form>/export.<fmt>")
def record_export(form, fmt):
    """The list as it is shown (view, filters, search, sort), every page of it."""
    _login_required()
    writers.check_format(fmt)
    jimu, principal = current_jimu(), current_principal()
    with jimu.read():
        ft = jimu.catalog.form(form)
        _, filters, sort, q = list_query(ft, principal)
    return export.records_download(jimu, principal, ft, fmt, lang=current_language(), filters=filters, sort=sort,
                                   q=q)
