"""Files over REST: upload to a form's file field, then reference the upload from a record.

``POST /api/v1/forms/<form>/fields/<field>/files`` takes the file as ``multipart/form-data``
(part ``file``) or as the raw body (its own Content-Type; the name from ``?name=`` or
``Content-Disposition``), streamed to the file store and checked against the field's widget (type
and size limits). It answers 201 with the reference ``{id, name, size, type}``; a record created or
updated by the same caller then takes that reference in the field's list, ``{"<field>": [ref]}``
(a file may be taken by one record, and only by the caller who uploaded it; name, size and type are
read back from the stored file: ``runtime.files.check_references``).

``GET /api/v1/forms/<form>/records/<id>/files/<field>/<file_id>`` downloads a record's file with
the record's own checks: the caller may read the record (its row scope), the field is not hidden
from them, and the field really holds that file.
"""
from __future__ import annotations

from flask import jsonify, request
from werkzeug.http import parse_options_header

from engines.errors import NotFound
from engines.form.exceptions import FieldError

from ..auth import current_principal, policy
from ..context import current_jimu
from ..exceptions import NotAuthenticated
from ..files import FileTooLarge, safe_name, send_record_file
from . import bp
from .records import _records
from .util import BadRequest, query_args


def _file_field(form: str, field: str):
    ft = current_jimu().catalog.form(form)
    f = ft.spec.field(field) if ft.spec.has_field(field) else None
    if f is None or not getattr(f.widget, "accepts_files", False):
        raise NotFound(f"form {form!r} has no file field {field!r}", code="file.no_field", field=field)
    return f


@bp.post("/forms/<form>/fields/<field>/files")
@query_args("name")
def upload_file(form, field):
    principal = current_principal()
    if not principal.is_authenticated:
        raise NotAuthenticated("log in or send an API token to upload files")
    jimu = current_jimu()
    with jimu.read():
        f = _file_field(form, field)
    if not (policy.can(principal, "create", form) or policy.can(principal, "update", form)):
        policy.require(principal, "create", form)
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise BadRequest("send the file as the multipart part named 'file'", code="file.missing")
        stream, name, ctype = upload.stream, upload.filename, upload.mimetype
    else:
        if not request.content_length and not request.headers.get("Transfer-Encoding"):
            raise BadRequest("send the file as the request body, or as multipart part 'file'", code="file.missing")
        _, opts = parse_options_header(request.headers.get("Content-Disposition", ""))
        stream, name, ctype = request.stream, request.args.get("name") or opts.get("filename"), request.mimetype
    name = safe_name(name)
    try:
        f.widget.check_upload(name, ctype, request.content_length if request.mimetype != "multipart/form-data"
                              else None)
        with jimu.begin() as conn:
            ref = jimu.services.files.save(stream, name, ctype, conn=conn, max_size=f.widget.max_size,
                                           user_id=principal.user_id, now=jimu.now())
    except (FieldError, FileTooLarge) as exc:
        body = exc.to_dict()
        return jsonify({"error": {**body, "field": field}}), 413 if body["code"].endswith("too_large") else 422
    return jsonify(ref), 201


@bp.get("/forms/<form>/records/<int:rid>/files/<field>/<file_id>")
@query_args()
def download_file(form, rid, field, file_id):
    principal = current_principal()
    if not principal.is_authenticated:
        raise NotAuthenticated("log in or send an API token to download files")
    with current_jimu().read() as conn:
        _file_field(form, field)
        record = _records(conn).get(form, rid)  # outside the row scope: 404; hidden fields are not in it
        return send_record_file(conn, current_jimu().services.files, record.get(field), file_id)
