"""A record's related lists: ``GET /api/v1/forms/<form>/records/<id>/related``."""
from __future__ import annotations

from flask import jsonify

from ..audit import jsonable
from ..auth import current_principal
from ..context import current_jimu
from ..records import Records
from ..related import MAX_LIMIT, related_lists
from . import bp
from .util import int_arg, query_args, whole


@bp.get("/forms/<form>/records/<int:rid>/related")
@query_args(limit=whole(hi=MAX_LIMIT))
def record_related(form, rid):
    """The records of other forms that point at this record (the form's ``related`` lists), each with
    its count, its summary figures and its first rows, as far as the caller may read them."""
    jimu = current_jimu()
    with jimu.read() as conn:
        records = Records(jimu, conn, current_principal(), source="api")
        record = records.get(form, rid)   # read permission and row scope: out of reach is a 404
        lists = related_lists(records, records.form(form), record, limit=int_arg("limit", 0, hi=MAX_LIMIT) or None)
    return jsonify({"related": jsonable([r.to_json() for r in lists])})
