"""Moving running instances onto a republished flow: ``/api/v1/flows/<key>/migration``
(``runtime.flows.migrate_instances`` does the work).

- ``GET ?to=<version>``: how many instances wait at each node of the older versions and the proposed
  mapping (same id → same node; removed nodes are ``null`` and must be mapped);
- ``POST {"mapping": {"old node": "new node"}, "sla": "keep" | "recompute", "dry_run": true, "to": n}``:
  the dry run lists what would happen to each instance (or why it is refused); without ``dry_run``
  it is applied in one transaction, or refused as a whole (``flow.migration_refused``, 422, every
  reason listed). Builders of the flow's app and administrators only.
"""
from __future__ import annotations

from flask import jsonify

from ..audit import jsonable
from ..auth import current_principal
from ..auth.policy import require_app_builder
from ..context import current_jimu
from ..flows import FlowRuntime
from ..flows import migrate_instances as mi
from . import bp
from .util import BadRequest, int_arg, json_body, query_args


def _check(conn, key: str) -> None:
    require_app_builder(current_principal(), mi.app_of(conn, key))


@bp.get("/flows/<key>/migration")
@query_args("to")
def flow_migration_plan(key):
    """Instances waiting per node of older versions of a flow and the proposed node mapping."""
    jimu = current_jimu()
    with jimu.read() as conn:
        _check(conn, key)
        result = mi.plan(FlowRuntime(jimu, conn), key, to_version=int_arg("to", 0) or None)
    return jsonify(jsonable(mi.public(result)))


@bp.post("/flows/<key>/migration")
def flow_migration_apply(key):
    """Move a flow's waiting instances to its newest version (or dry-run it)."""
    body = json_body()
    mapping = body.get("mapping") or {}
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                for k, v in mapping.items()):
        raise BadRequest('mapping is an object of old node id → new node id, e.g. {"review": "check"}',
                         code="flow.migration_bad_mapping")
    sla = body.get("sla", "keep")
    to = body.get("to")
    if to is not None and (not isinstance(to, int) or isinstance(to, bool) or to < 1):
        raise BadRequest("to is a published version number", code="flow.migration_bad_version")
    jimu = current_jimu()
    principal = current_principal()
    if body.get("dry_run"):
        with jimu.read() as conn:
            _check(conn, key)
            return jsonify(jsonable(mi.public(mi.plan(FlowRuntime(jimu, conn), key, mapping, sla=sla,
                                                      to_version=to))))
    with jimu.begin() as conn:
        _check(conn, key)
        result = mi.apply(FlowRuntime(jimu, conn), key, mapping, sla=sla, to_version=to,
                          actor=principal.user_id)
    return jsonify(jsonable(mi.public(result)))
