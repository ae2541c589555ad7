"""Checked migration of running instances onto a republished flow (``engines.flow.migrate``).

Published versions are immutable and instances normally finish on theirs; when a republished
version fixes a broken step, ``plan`` shows how many instances wait at each node of the older
versions, the proposed mapping (same id → same node; removed nodes must be mapped) and, for the
mapping given, what would happen to each instance or why it is refused — a dry run. ``apply`` does
it in one transaction (every instance or none), executing the engine's effects through the flow
runtime's own handlers (tasks closed or created, timers cancelled or scheduled, history), updating
carried task rows to their new node, and writing one ``flow.migrated`` audit event per instance.
``MigrationRefused`` (``flow.migration_refused``, 422) carries every problem. Served by
``POST /api/v1/flows/<key>/migration`` and ``jimu migrate-instances``; builders of the flow's app
and administrators may use it.
"""
from __future__ import annotations

from typing import Any, Mapping

import sqlalchemy as sa

from engines.flow.effects import plain
from engines.flow.migrate import migrate, propose, waiting

from .. import audit
from ..exceptions import NotFound, ValidationErrors
from .service import FlowRuntime
from .tables import flow_instances, flow_tasks, flow_versions


class MigrationRefused(ValidationErrors):
    code = "flow.migration_refused"
    status = 422


def app_of(conn: sa.Connection, flow_key: str) -> str | None:
    row = conn.execute(sa.select(flow_versions.c.app_key).where(flow_versions.c.key == flow_key).limit(1)).first()
    if row is None:
        raise NotFound(f"no flow {flow_key!r} is published", code="flow.not_found", flow=flow_key)
    return row.app_key


def _running(conn: sa.Connection, flow_key: str, to_version: int, *, lock: bool = False):
    q = (sa.select(flow_instances).where(flow_instances.c.flow_key == flow_key,
                                         flow_instances.c.status == "running",
                                         flow_instances.c.flow_version != to_version)
         .order_by(flow_instances.c.id))
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    return list(conn.execute(q).mappings())


def plan(rt: FlowRuntime, flow_key: str, mapping: Mapping[str, str] | None = None, *, sla: str = "keep",
         to_version: int | None = None, lock: bool = False) -> dict[str, Any]:
    """The dry run: waiting counts per old version and node, the proposed mapping, and per instance
    the moves or the problems."""
    new = rt.spec(flow_key, to_version)
    mapping = dict(mapping or {})
    rows = _running(rt.conn, flow_key, new.version, lock=lock)
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        per = counts.setdefault(str(row["flow_version"]), {})
        for node, n in waiting(row["state"]).items():
            per[node] = per.get(node, 0) + n
    nodes = sorted({n for per in counts.values() for n in per})
    proposed = propose(new, nodes)
    instances, problems = [], []
    for row in rows:
        old = rt.spec(flow_key, row["flow_version"])
        record = rt._record(row["form_key"], row["record_id"]) if row["record_id"] is not None else {}
        state, effects, found, moves = migrate(old, new, row["state"], mapping, now=rt.now, record=record,
                                               calendar=rt.calendars, sla=sla)
        instances.append({"instance": row["id"], "record_id": row["record_id"], "from_version": row["flow_version"],
                          "moves": moves, "problems": found,
                          "_row": row, "_state": state, "_effects": effects})
        problems += [dict(p, instance=row["id"]) for p in found]
    return {"flow": flow_key, "to_version": new.version, "waiting": counts, "proposed": proposed,
            "mapping": {**{k: v for k, v in proposed.items() if v}, **mapping}, "sla": sla,
            "instances": instances, "problems": problems, "ok": not problems}


def public(result: Mapping[str, Any]) -> dict[str, Any]:
    """The plan as the API and the CLI show it."""
    return {**{k: v for k, v in result.items() if k != "instances"},
            "instances": [{k: v for k, v in i.items() if not k.startswith("_")} for i in result["instances"]]}


def apply(rt: FlowRuntime, flow_key: str, mapping: Mapping[str, str] | None = None, *, sla: str = "keep",
          to_version: int | None = None, actor: int | None = None) -> dict[str, Any]:
    """Move every waiting instance, in ``rt``'s transaction, or refuse them all with the reasons."""
    result = plan(rt, flow_key, mapping, sla=sla, to_version=to_version, lock=True)
    if result["problems"]:
        raise MigrationRefused(result["problems"])
    new = rt.spec(flow_key, result["to_version"])
    for item in result["instances"]:
        row, state = item["_row"], item["_state"]
        for effect in item["_effects"]:
            getattr(rt, "_do_" + effect.type)(row, effect)
        for task_key, task in state["tasks"].items():  # carried tasks now sit on their new node
            node = new.nodes[task["node"]]
            outcomes = getattr(node.behaviour, "outcomes", None)
            values: dict[str, Any] = {"node_id": node.id, "label": plain(node.label),
                                      "fields": plain(node.config.get("fields", {}))}
            if outcomes is not None:
                values["outcomes"] = plain(outcomes)
            rt.conn.execute(sa.update(flow_tasks).where(flow_tasks.c.instance_id == row["id"],
                                                        flow_tasks.c.task_key == task_key,
                                                        flow_tasks.c.status == "open").values(**values))
        rt.conn.execute(sa.update(flow_instances).where(flow_instances.c.id == row["id"]).values(
            flow_version=new.version, state=state, updated_at=rt.now))
        audit.record_event(rt.conn, "flow.migrated", at=rt.now, actor_id=actor, form_key=row["form_key"],
                           record_id=row["record_id"],
                           data={"instance": row["id"], "flow": flow_key, "from_version": row["flow_version"],
                                 "to_version": new.version, "sla": sla, "moves": item["moves"]})
    return result
