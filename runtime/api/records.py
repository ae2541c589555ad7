"""Records CRUD per form: ``/api/v1/forms/<form>/records``."""
from __future__ import annotations

from contextlib import contextmanager

from flask import jsonify, request, url_for

from ..audit import jsonable
from ..auth import current_principal
from ..auth.policy import can, hidden_fields, visible_forms
from ..auth.principal import VERBS
from ..context import current_jimu
from ..exceptions import (JimuError, NotAuthenticated, PermissionDenied, PreconditionFailed, StaleRecord,
                          ValidationErrors)
from ..records import MAX_PAGE, RecordInvalid, Records
from . import bp, shape
from .util import (MAX_INT, BadRequest, etag, expected_version, int_arg, json_arg, json_body, page_url,
                   query_args, request_json)


def _records(conn) -> Records:
    return Records(current_jimu(), conn, current_principal(), source="api", json_types=True)


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
        rows, total, capped = records.list(form, filters=json_arg("filter"), sort=request.args.get("sort"),
                                           q=request.args.get("q"), page=page, per_page=per_page)
        rows = _shaped(records, form, rows)
    body = {"records": jsonable(rows), "total": total, "total_capped": capped, "page": page, "per_page": per_page,
            "next": None}
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


# -- batch update and batch delete -----------------------------------------------------------------
#: rows in one batch update or delete (each runs the whole write path: rules, flows, audit)
MAX_BATCH = 1000


class BatchFailed(RecordInvalid):
    """Some rows of a batch could not be written; none was. ``errors`` lists each problem with the
    row's index in the request (``row``), its ``id`` and its own code. The status is the first that
    applies of 422 (a row is invalid), 404 (a row is missing or outside the caller's reach), 409 (a
    row is stale, or names a record twice) and 403 (a row would write what the caller may not)."""

    code = "record.batch_failed"


def _batch_items(kind: str) -> list[tuple[int, dict]]:
    """The request's rows as (id, the rest): a list of ``{"id", "row_version"?, ...}`` objects (batch
    delete also takes bare ids). A row without a whole positive id is refused with its index."""
    body = json_body(list)
    if not 1 <= len(body) <= MAX_BATCH:
        raise BadRequest(f"send 1 to {MAX_BATCH} rows per batch {kind}", code="request.batch_size",
                         max=MAX_BATCH)
    items, errors, duplicates, seen = [], [], [], set()
    for i, item in enumerate(body):
        if isinstance(item, float) and item.is_integer():
            item = int(item)  # 7.0 is the integer 7 in JSON
        if kind == "delete" and isinstance(item, int) and not isinstance(item, bool):
            item = {"id": item}
        rid = item.get("id") if isinstance(item, dict) else None
        if isinstance(rid, float) and rid.is_integer():
            rid = int(rid)  # 7.0 is the integer 7 in JSON
        if not isinstance(rid, int) or isinstance(rid, bool) or not 0 < rid <= MAX_INT:
            errors.append({"row": i, "code": "record.no_id",
                           "message": "each row is an object with the record's id" +
                                      (" (or a bare id)" if kind == "delete" else "")})
        elif rid in seen:
            duplicates.append({"row": i, "id": rid, "code": "record.duplicate_in_batch",
                               "message": f"record {rid} is named twice; send one row per record"})
        else:
            seen.add(rid)
        items.append((rid, {k: v for k, v in item.items() if k != "id"} if isinstance(item, dict) else {}))
    if errors:
        raise BatchFailed(errors, f"{len(errors)} of {len(body)} rows are malformed; nothing was written")
    if duplicates:
        failed = BatchFailed(duplicates, f"{len(duplicates)} rows name a record named before; nothing was written")
        failed.status = 409
        raise failed
    return items


def _version(i: int, rid: int, item: dict) -> int | None:
    version = item.pop("row_version", None)
    if version is None:
        return None
    if not isinstance(version, int) or isinstance(version, bool):
        raise BadRequest("row_version must be the record's row_version number", code="request.bad_param",
                         param="row_version")
    return version


def _run_batch(conn, items: list[tuple[int, dict]], write) -> list:
    """``write(i, id, item)`` for every row in the caller's transaction; the coded errors of all rows
    are collected (with ``row`` and ``id``) and raised together, which rolls every row back."""
    done, errors, statuses = [], [], []
    for i, (rid, item) in enumerate(items):
        try:
            done.append(write(i, rid, item))
        except ValidationErrors as exc:
            errors.extend(dict(e, row=i, id=rid) for e in exc.errors)
            statuses.append(exc.status)
        except JimuError as exc:
            if isinstance(exc, PermissionDenied) and exc.code == "permission.denied":
                raise  # the caller lacks the verb on the form: one 403, not a row's problem
            errors.append({**exc.to_dict(), "row": i, "id": rid})
            statuses.append(exc.status)
    if errors:
        failed = BatchFailed(errors, f"{len({e['row'] for e in errors})} of {len(items)} rows failed; nothing "
                                     "was written — fix the rows named in errors and send the batch again")
        failed.status = next((s for s in (422, 404, 409, 403) if s in statuses), 422)
        raise failed
    return done


@bp.patch("/forms/<form>/records")
@query_args()
def batch_update(form):
    """Update many records at once, all or nothing: a list of ``{"id", "row_version"?, <fields>}``."""
    items = _batch_items("update")
    with current_jimu().begin() as conn:
        records = _records(conn)
        records._require("update", form)

        def write(i, rid, item):
            return records.update(form, rid, item, expected_version=_version(i, rid, item))
        updated = _run_batch(conn, items, write)
    return jsonify({"records": jsonable(updated), "updated": len(updated)})


@bp.post("/forms/<form>/records/batch-delete")
@query_args()
def batch_delete(form):
    """Delete many records at once, all or nothing: a list of ids or of ``{"id", "row_version"?}``.
    Each goes through the one delete of a single record (its flows cancelled, its audit entry)."""
    items = _batch_items("delete")
    with current_jimu().begin() as conn:
        records = _records(conn)
        records._require("delete", form)

        def write(i, rid, item):
            records.delete(form, rid, expected_version=_version(i, rid, item))
            return rid
        deleted = _run_batch(conn, items, write)
    return jsonify({"ids": deleted, "deleted": len(deleted)})
