"""Records CRUD per form: ``/api/v1/forms/<form>/records``."""
from __future__ import annotations

from contextlib import contextmanager

from flask import jsonify, request, url_for

from ..audit import jsonable
from ..auth import current_principal
from ..auth.policy import can, hidden_fields, visible_forms
from ..auth.principal import VERBS
from ..context import current_jimu
from ..exceptions import NotAuthenticated, PreconditionFailed, StaleRecord
from ..records import MAX_PAGE, Records
from . import bp, shape
from .util import (MAX_INT, BadRequest, etag, expected_version, int_arg, json_arg, json_body, page_url,
                   query_args, request_json)


def _records(conn) -> Records:
    return Records(current_jimu(), conn, current_principal(), source="api")


def _shaped(records: Records, form: str, rows: list[dict]) -> list[dict]:
    """``rows`` as ``fields=`` and ``expand=`` ask (see ``runtime.api.shape``)."""
    if "fields" not in request.args and "expand" not in request.args:
        return rows
    ft = records.form(form)
    fields, expand = shape.requested(ft, records.principal)
    return shape.shape(records.conn, records.jimu, records.principal, ft, rows, fields, expand)


@bp.get("/forms")
@query_args("app")
def list_forms():
    """The forms the caller may use (``?app=<key>``: of one app), each with its app, the caller's
    verbs and the fields they may see. Needs a login or a token."""
    principal = current_principal()
    if not principal.is_authenticated:
        raise NotAuthenticated("log in or send an API token (Authorization: Bearer ...) to list the forms")
    jimu = current_jimu()
    with jimu.read():
        forms = []
        for ft in visible_forms(principal, jimu.catalog, request.args.get("app") or None):
            hidden = hidden_fields(principal, ft.key)
            forms.append({"key": ft.key, "app": ft.app_key, "label": ft.spec.label,
                          "verbs": [v for v in VERBS if can(principal, v, ft.key)],
                          "fields": [{"key": f.key, "label": f.label, "widget": f.widget.type}
                                     for f in ft.spec.fields if f.key not in hidden]})
    return jsonify({"forms": forms})


@bp.get("/forms/<form>/records")
@query_args("page", "per_page", "filter", "sort", "q", "fields", "expand")
def list_records(form):
    per_page = int_arg("per_page", 50, hi=MAX_PAGE)
    page = int_arg("page", 1, hi=MAX_INT // per_page)
    with current_jimu().read() as conn:
        records = _records(conn)
        rows, total = records.list(form, filters=json_arg("filter"), sort=request.args.get("sort"),
                                   q=request.args.get("q"), page=page, per_page=per_page)
        rows = _shaped(records, form, rows)
    body = {"records": jsonable(rows), "total": total, "page": page, "per_page": per_page, "next": None}
    headers = {}
    if page * per_page < total:
        body["next"] = page_url(page + 1)
        headers["Link"] = f'<{body["next"]}>; rel="next"'
    return jsonify(body), 200, headers


@bp.post("/forms/<form>/records")
@query_args()
def create_record(form):
    body = request_json()
    with current_jimu().begin() as conn:
        if isinstance(body, list):
            ids = _records(conn).bulk_create(form, body)
            return jsonify({"ids": ids, "created": len(ids)}), 201
        if not isinstance(body, dict):
            raise BadRequest("send a record as a JSON object, or a list of records for bulk create",
                             code="request.not_json")
        record = _records(conn).create(form, body)
    return jsonify(jsonable(record)), 201, {
        "ETag": etag(record["row_version"]),
        "Location": url_for("api.get_record", form=form, rid=record["id"])}


@bp.get("/forms/<form>/records/<int:rid>")
@query_args("fields", "expand")
def get_record(form, rid):
    with current_jimu().read() as conn:
        records = _records(conn)
        record = records.get(form, rid)
        tag = etag(record["row_version"])
        if tag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
            return "", 304, {"ETag": tag}
        record = _shaped(records, form, [record])[0]
    return jsonify(jsonable(record)), 200, {"ETag": tag}


@contextmanager
def _preconditions():
    """A version conflict named by ``If-Match`` is a 412; one named by ``row_version`` stays a 409."""
    try:
        yield
    except StaleRecord as exc:
        if request.headers.get("If-Match"):
            raise PreconditionFailed(exc.message, **exc.context) from None
        raise


@bp.route("/forms/<form>/records/<int:rid>", methods=["PATCH", "PUT"])
@query_args()
def update_record(form, rid):
    body = json_body()
    version = expected_version()
    body.pop("row_version", None)
    with _preconditions(), current_jimu().begin() as conn:
        record = _records(conn).update(form, rid, body, expected_version=version)
    return jsonify(jsonable(record)), 200, {"ETag": etag(record["row_version"])}


@bp.delete("/forms/<form>/records/<int:rid>")
@query_args()
def delete_record(form, rid):
    with _preconditions(), current_jimu().begin() as conn:
        _records(conn).delete(form, rid, expected_version=expected_version())
    return "", 204
