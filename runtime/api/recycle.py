"""The recycle bin over REST: ``/api/v1/recycle-bin`` (``runtime.recycle`` does the work).

- ``GET /recycle-bin?app=&form=&page=&per_page=``: the deleted records the caller may see (who may
  delete a record may see it in the bin), newest first, with who deleted them and when;
- ``GET /recycle-bin/<id>``: one entry;
- ``POST /recycle-bin/<id>/restore``: put the record back, with its sub-table rows, files, links and
  waiting flows (``recycle.conflict`` if a unique value of it is taken meanwhile);
- ``DELETE /recycle-bin/<id>``: purge it for good — administrators only, audited.
"""
from __future__ import annotations

from flask import jsonify, request

from .. import recycle
from ..audit import jsonable
from ..auth import current_principal
from ..context import current_jimu
from ..exceptions import NotAuthenticated
from ..records import MAX_PAGE, Records
from . import bp
from .util import MAX_INT, int_arg, query_args, whole


def _principal():
    principal = current_principal()
    if not principal.is_authenticated:
        raise NotAuthenticated("log in or send an API token (Authorization: Bearer ...) to use the recycle bin")
    return principal


@bp.get("/recycle-bin")
@query_args("app", "form", page=whole(hi=MAX_INT // MAX_PAGE), per_page=whole(hi=MAX_PAGE))
def recycle_bin_list():
    """Deleted records the caller may see, newest first (who and when), for one app with ``?app=``."""
    principal = _principal()
    per_page = int_arg("per_page", 50, hi=MAX_PAGE)
    page = int_arg("page", 1, hi=MAX_INT // per_page)
    jimu = current_jimu()
    with jimu.read() as conn:
        items, total = recycle.entries(conn, jimu.catalog, principal, app_key=request.args.get("app") or None,
                                       form_key=request.args.get("form") or None, page=page, per_page=per_page)
    return jsonify({"entries": jsonable(items), "total": total, "page": page, "per_page": per_page})


@bp.get("/recycle-bin/<int:entry_id>")
def recycle_bin_entry(entry_id):
    """One deleted record."""
    principal = _principal()
    jimu = current_jimu()
    with jimu.read() as conn:
        return jsonify(jsonable(recycle.entry(conn, jimu.catalog, principal, entry_id)))


@bp.post("/recycle-bin/<int:entry_id>/restore")
def recycle_bin_restore(entry_id):
    """Restore a deleted record as it was (links, files, flows and tasks)."""
    principal = _principal()
    jimu = current_jimu()
    with jimu.begin() as conn:
        result = recycle.restore(Records(jimu, conn, principal, source="api"), entry_id)
    return jsonify(result)


@bp.delete("/recycle-bin/<int:entry_id>")
def recycle_bin_purge(entry_id):
    """Purge a deleted record for good (administrators only; audited)."""
    principal = _principal()
    jimu = current_jimu()
    with jimu.begin() as conn:
        result = recycle.purge(jimu, conn, principal, entry_id)
    return jsonify(result)
