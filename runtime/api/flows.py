"""Flow API under ``/api/v1``: my tasks, task actions, instances with history.

Field permissions of the task's node are enforced here, on the server: a task
shows only the fields its step does not hide, completion keeps only the fields
the step may edit and refuses to complete while a field it requires is empty.
"""
from __future__ import annotations

from typing import Any, Mapping

from flask import jsonify, request

from ..audit import jsonable
from ..auth import current_principal, policy
from ..context import current_jimu
from ..exceptions import NotAuthenticated
from ..flows import FlowRuntime
from . import bp
from .util import BadRequest, json_body


def _principal():
    principal = current_principal()
    if not principal.is_authenticated:
        raise NotAuthenticated("log in first")
    return principal


def task_view(task: Mapping[str, Any], now) -> dict:
    out = jsonable({k: task[k] for k in ("id", "instance_id", "node_id", "label", "form_key", "record_id",
                                         "status", "assignee_kind", "assignee_user_id", "assignee_role",
                                         "assignee_group", "delegated_from", "fields", "outcomes", "priority",
                                         "due_at", "outcome", "comment", "created_at", "closed_at", "closed_by")})
    out["overdue"] = bool(task["status"] == "open" and task["due_at"] is not None and task["due_at"] < now)
    return out


def visible_record(principal, task: Mapping[str, Any], record: Mapping[str, Any]) -> dict:
    hidden = policy.task_hidden(principal, task["form_key"], task["fields"])
    return {k: v for k, v in record.items() if k not in hidden}


@bp.get("/tasks")
def my_tasks():
    principal = _principal()
    jimu = current_jimu()
    with jimu.read() as conn:
        rows = jimu.services.flows.runtime(conn).my_tasks(principal)
    now = jimu.now()
    tasks = [task_view(t, now) for t in rows]
    return jsonify({"tasks": tasks, "counts": {"open": len(tasks), "overdue": sum(t["overdue"] for t in tasks)}})


@bp.get("/tasks/<int:task_id>")
def get_task(task_id):
    principal = _principal()
    jimu = current_jimu()
    with jimu.read() as conn:
        rt = jimu.services.flows.runtime(conn)
        task = rt.task(task_id)
        if not rt.may_act(principal, task):
            policy.require_record(conn, principal, "read", jimu.catalog.form(task["form_key"]), task["record_id"])
        record = rt._record(task["form_key"], task["record_id"])
        inst = rt.instance(task["instance_id"])
        from engines.flow import returnable
        back = returnable(rt.spec(inst["flow_key"], inst["flow_version"]), task["node_id"])
    return jsonify({"task": task_view(task, jimu.now()), "record": jsonable(visible_record(principal, task, record)),
                    "return_to": back})


@bp.post("/tasks/<int:task_id>/complete")
def complete_task(task_id):
    body = json_body()
    values = body.get("values") or {}
    if not isinstance(values, dict):
        raise BadRequest("values must be an object of field key → value", code="request.bad_param")
    jimu = current_jimu()
    with jimu.begin() as conn:
        state = jimu.services.flows.runtime(conn).complete(_principal(), task_id, outcome=body.get("outcome"), values=values,
                                                 comment=body.get("comment"))
    return jsonify({"instance_status": state["status"], "outcome": state.get("outcome")})


@bp.post("/tasks/<int:task_id>/reassign")
def reassign_task(task_id):
    body = json_body()
    jimu = current_jimu()
    with jimu.begin() as conn:
        jimu.services.flows.runtime(conn).reassign(_principal(), task_id, body.get("assignee") or {}, body.get("comment"))
    return jsonify({"ok": True})


@bp.post("/tasks/<int:task_id>/delegate")
def delegate_task(task_id):
    body = json_body()
    jimu = current_jimu()
    with jimu.begin() as conn:
        jimu.services.flows.runtime(conn).delegate(_principal(), task_id, str(body.get("user") or ""), body.get("comment"))
    return jsonify({"ok": True})


@bp.post("/tasks/<int:task_id>/return")
def return_task(task_id):
    body = json_body()
    jimu = current_jimu()
    with jimu.begin() as conn:
        jimu.services.flows.runtime(conn).send_back(_principal(), task_id, str(body.get("to") or ""), body.get("comment"))
    return jsonify({"ok": True})


@bp.post("/flows/<key>/instances")
def start_instance(key):
    body = json_body()
    principal = _principal()
    jimu = current_jimu()
    with jimu.begin() as conn:
        rt = jimu.services.flows.runtime(conn)
        spec = rt.spec(key)
        if spec.form:
            policy.require(principal, "update", spec.form)
        elif not principal.is_admin:
            policy.require_admin(principal)
        iid = rt.start(key, record_id=body.get("record_id"), actor=principal.user_id, comment=body.get("comment"))
        detail = instance_detail(rt, iid)
    return jsonify(detail), 201


def instance_detail(rt: FlowRuntime, iid: int) -> dict:
    inst = rt.instance(iid)
    spec = rt.spec(inst["flow_key"], inst["flow_version"])
    now = rt.now
    return {"id": inst["id"], "flow": inst["flow_key"], "version": inst["flow_version"], "form": inst["form_key"],
            "record_id": inst["record_id"], "status": inst["status"], "outcome": inst["outcome"],
            "started_at": jsonable(inst["started_at"]), "ended_at": jsonable(inst["ended_at"]),
            "current": sorted(set((inst["state"] or {}).get("tokens", {}).values())),
            "nodes": [{"id": n.id, "type": n.type, "label": jsonable(n.label)} for n in spec.nodes.values()],
            "tasks": [task_view(t, now) for t in rt.tasks_of(iid)],
            "history": jsonable(rt.history(iid))}


def _instance_for(rt: FlowRuntime, iid: int, verb: str):
    inst = rt.instance(iid)
    principal = _principal()
    if inst["form_key"]:
        policy.require_record(rt.conn, principal, verb, rt.jimu.catalog.form(inst["form_key"]), inst["record_id"])
    elif not principal.is_admin:
        policy.require_admin(principal)
    return principal


@bp.get("/flow-instances/<int:iid>")
def get_instance(iid):
    jimu = current_jimu()
    with jimu.read() as conn:
        rt = jimu.services.flows.runtime(conn)
        _instance_for(rt, iid, "read")
        return jsonify(instance_detail(rt, iid))


@bp.post("/flow-instances/<int:iid>/cancel")
def cancel_instance(iid):
    body = request.get_json(silent=True) or {}
    jimu = current_jimu()
    with jimu.begin() as conn:
        rt = jimu.services.flows.runtime(conn)
        principal = _instance_for(rt, iid, "update")
        rt.cancel(principal, iid, body.get("comment"))
        return jsonify(instance_detail(rt, iid))


@bp.post("/flow-instances/<int:iid>/reopen")
def reopen_instance(iid):
    body = request.get_json(silent=True) or {}
    jimu = current_jimu()
    with jimu.begin() as conn:
        rt = jimu.services.flows.runtime(conn)
        principal = _instance_for(rt, iid, "update")
        rt.reopen(principal, iid, body.get("node"), body.get("comment"))
        return jsonify(instance_detail(rt, iid))


@bp.get("/forms/<form>/records/<int:rid>/flows")
def record_flows(form, rid):
    principal = _principal()
    policy.require(principal, "read", form)
    jimu = current_jimu()
    with jimu.read() as conn:
        policy.require_row(conn, principal, jimu.catalog.form(form), rid)
        rt = jimu.services.flows.runtime(conn)
        return jsonify({"instances": [instance_detail(rt, i["id"]) for i in rt.instances_of_record(form, rid)]})
