"""What a person does to records beyond editing them: macros on one record, bulk actions on a
selection, and merging a duplicate into another record (``runtime.macros``, ``runtime.bulk``,
``runtime.merge``). Each runs with the caller's rights and is audited."""
from __future__ import annotations

from flask import jsonify

from ..audit import jsonable
from ..auth import current_principal
from ..context import current_jimu
from ..exceptions import NotAuthenticated
from ..records import Records
from . import bp
from .util import MAX_INT, BadRequest, json_body, query_args


def _records(conn) -> Records:
    principal = current_principal()
    if not principal.is_authenticated:
        raise NotAuthenticated("log in or send an API token (Authorization: Bearer ...)")
    return Records(current_jimu(), conn, principal, source="api")


def _id(value, name: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_INT:
        raise BadRequest(f"{name} must be a record id (a whole number from 1)", code="request.bad_param", param=name)
    return value


@bp.get("/forms/<form>/records/<int:rid>/macros")
@query_args()
def record_macros(form, rid):
    """The macros the caller may run on this record now (the form's ``macros`` whose condition holds)."""
    from ..macros import offered
    with current_jimu().read() as conn:
        records = _records(conn)
        record = records.get(form, rid)
        out = offered(records, records.form(form), record)
    return jsonify({"macros": out})


@bp.post("/forms/<form>/records/<int:rid>/macros/<macro>")
@query_args()
def run_macro(form, rid, macro):
    """Run a macro of the form on one record with the caller's rights (all its changes or none)."""
    from ..macros import run
    with current_jimu().begin() as conn:
        result = run(_records(conn), form, rid, macro)
    return jsonify(jsonable(result))


@bp.post("/forms/<form>/records/bulk")
@query_args()
def bulk_action(form):
    """Apply one action to each selected record (set field values, run a manual rule or a macro): each
    record is checked and written on its own; the answer counts those done and refused, with reasons."""
    from ..bulk import MAX_SELECTION, action_of, run
    body = json_body()
    ids = body.get("ids")
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_SELECTION:
        raise BadRequest(f"ids: send 1 to {MAX_SELECTION} record ids", code="request.batch_size", max=MAX_SELECTION)
    ids = [_id(i, "ids") for i in ids]
    if len(set(ids)) != len(ids):
        raise BadRequest("ids names a record twice; send each once", code="request.bad_param", param="ids")
    kind, arg = action_of(body)
    jimu = current_jimu()
    with jimu.begin() as conn:
        result = run(jimu, _records(conn), form, ids, kind, arg)
    return jsonify(jsonable(result))


@bp.post("/forms/<form>/records/<int:rid>/merge")
@query_args()
def merge_record(form, rid):
    """Merge this record (a duplicate) into another: its related records move there, it is closed with a
    link to the record kept. The caller needs update rights on both."""
    from ..merge import merge
    body = json_body()
    into = _id(body.get("into"), "into")
    jimu = current_jimu()
    with jimu.begin() as conn:
        result = merge(jimu, _records(conn), form, rid, into)
    return jsonify(jsonable(result))
