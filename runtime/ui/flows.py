"""Flow pages of the runtime UI: my tasks, the task page, the record's process.

The task page is the record with the step's field permissions: hidden fields
are not shown, visible ones are read-only, editable/required ones are inputs;
the outcome buttons submit to the same ``FlowRuntime.complete`` as the API,
so the server enforces the permissions on every path.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from markupsafe import Markup

from engines.errors import JimuError, ValidationErrors

from ..auth import current_principal, policy
from ..context import current_jimu
from ..flows.diagram import render_svg
from ..i18n import current_language, gettext as _
from . import bp
from .views import _login_required


def _title(jimu, conn, form_key, record) -> str:
    if not form_key or not record:
        return ""
    """The record's title: its form's title field, else the first of its list fields with a value (a
    serial number, a subject) — a row that says only "#1" tells the person nothing."""
    from .records import display_value
    ft = jimu.catalog.form(form_key)
    keys = [ft.spec.title_field] if ft.spec.title_field else \
        [k for k in ft.spec.definition.get("list_fields") or [] if ft.spec.has_field(k)]
    for key in keys:
        shown = display_value(ft.spec.field(key), record.get(key)) if ft.spec.has_field(key) else ""
        if shown:
            return shown
    return ""


@bp.get("/tasks")
def flow_inbox():
    _login_required()
    jimu = current_jimu()
    principal = current_principal()
    now = jimu.now()
    with jimu.read() as conn:
        rt = jimu.services.flows.runtime(conn)
        rows = rt.my_tasks(principal)
        states = _states(conn, {t["instance_id"] for t in rows})
        items = []
        for t in rows:
            record = rt._record(t["form_key"], t["record_id"]) if t["record_id"] is not None else {}
            ft = jimu.catalog.form(t["form_key"]) if t["form_key"] else None
            due = rt.deadline(t, states.get(t["instance_id"]))
            items.append({"task": t, "title": _title(jimu, conn, t["form_key"], record) or f"#{t['record_id']}",
                          "form_label": ft.spec.label if ft else "", "due": due,
                          "fields": _key_fields(principal, ft, t, record),
                          "paused": _paused(states.get(t["instance_id"])),
                          "overdue": due is not None and due < now})
    items.sort(key=lambda i: (i["due"] is None, i["due"] or now, -i["task"]["priority"], i["task"]["id"]))
    counts = {"open": len(items), "overdue": sum(1 for i in items if i["overdue"])}
    return render_template("flows_inbox.html", items=items, counts=counts, now=now)


#: how many of the form's list fields an inbox row shows beside the record's title
KEY_FIELDS = 4


def _states(conn, ids) -> dict:
    import sqlalchemy as sa
    from ..flows.tables import flow_instances as fi
    if not ids:
        return {}
    return dict(conn.execute(sa.select(fi.c.id, fi.c.state).where(fi.c.id.in_(sorted(ids)))).all())


def _paused(state) -> bool:
    clocks = ((state or {}).get("clocks") or {}).values()
    return any(c.get("status") == "paused" for c in clocks) and not any(c.get("status") == "running" for c in clocks)


def _key_fields(principal, ft, task, record) -> list[dict]:
    """The record's key fields for an inbox row: the form's list fields (its title aside) that this
    person may see at this step, with a value."""
    from .records import display_value
    if ft is None or not record:
        return []
    hidden = policy.task_hidden(principal, ft.key, task["fields"] or {}) | \
        {k for k, p in (task["fields"] or {}).items() if p == "hidden"}
    out = []
    title = ft.spec.title_field or next((k for k in ft.spec.definition.get("list_fields") or []
                                         if ft.spec.has_field(k) and record.get(k) not in (None, "", [])), None)
    for key in ft.spec.definition.get("list_fields") or []:
        if key == title or key in hidden or not ft.spec.has_field(key):
            continue
        f = ft.spec.field(key)
        shown = display_value(f, record.get(key))
        if shown:
            out.append({"key": key, "label": f.label, "value": shown})
        if len(out) == KEY_FIELDS:
            break
    return out


def _task_context(jimu, conn, task_id):
    rt = jimu.services.flows.runtime(conn)
    task = rt.task(task_id)
    principal = current_principal()
    if not rt.may_act(principal, task):
        policy.require_record(conn, principal, "read", jimu.catalog.form(task["form_key"]), task["record_id"])
    inst = rt.instance(task["instance_id"])
    spec = rt.spec(inst["flow_key"], inst["flow_version"])
    record = rt._record(task["form_key"], task["record_id"])
    ft = jimu.catalog.form(task["form_key"]) if task["form_key"] else None
    perms = task["fields"] or {}
    hidden = policy.task_hidden(principal, task["form_key"], perms) if ft else set()
    fields = []
    for f in (ft.spec.fields if ft else ()):
        perm = perms.get(f.key, "visible" if not perms else "hidden" if perms.get("*") == "hidden" else "visible")
        if perm == "hidden" or f.key in hidden:
            continue
        fields.append({"key": f.key, "label": f.label, "perm": perm, "value": record.get(f.key),
                       "widget": f.widget.type, "spec": f})
    from engines.flow import returnable
    return {"task": task, "instance": inst, "record": record, "ft": ft, "fields": fields,
            "may_act": rt.may_act(principal, task) and task["status"] == "open",
            "title": _title(jimu, conn, task["form_key"], record), "node": spec.nodes[task["node_id"]],
            "return_to": [spec.nodes[n] for n in returnable(spec, task["node_id"])],
            "history": rt.history(inst["id"]), "users": _user_names(conn),
            "due": rt.deadline(task, inst["state"]), "clocks": _clocks(spec, inst["state"])}


def _clocks(spec, state) -> list[dict]:
    """The flow's service-level clocks on this record: label, status and deadline (``engines.flow.sla``)."""
    out = []
    for clock in (spec.sla.clocks if spec.sla is not None else ()):
        s = ((state or {}).get("clocks") or {}).get(clock.key)
        if s is not None:
            from datetime import datetime
            out.append({"key": clock.key, "label": clock.label, "status": s["status"], "target": s.get("target"),
                        "due": datetime.fromisoformat(s["due"]) if s.get("due") else None})
    return out


def _user_names(conn) -> dict:
    import sqlalchemy as sa
    from .. import db
    return {r.id: r.display_name or r.username for r in conn.execute(
        sa.select(db.users.c.id, db.users.c.username, db.users.c.display_name))}


@bp.get("/tasks/<int:task_id>")
def flow_task(task_id):
    _login_required()
    jimu = current_jimu()
    with jimu.read() as conn:
        ctx = _task_context(jimu, conn, task_id)
    return render_template("flows_task.html", errors=[], submitted={}, **ctx)


@bp.post("/tasks/<int:task_id>")
def flow_task_submit(task_id):
    _login_required()
    jimu = current_jimu()
    principal = current_principal()
    action = request.form.get("action", "complete")
    comment = request.form.get("comment") or None
    values = {k[2:]: v for k, v in request.form.items() if k.startswith("f.")}
    try:
        with jimu.begin() as conn:
            rt = jimu.services.flows.runtime(conn)
            if action == "return":
                rt.send_back(principal, task_id, request.form.get("to", ""), comment)
            elif action == "delegate":
                rt.delegate(principal, task_id, request.form.get("user", ""), comment)
            else:
                rt.complete(principal, task_id, outcome=request.form.get("outcome") or None, values=values,
                            comment=comment)
    except ValidationErrors as exc:
        with jimu.read() as conn:
            ctx = _task_context(jimu, conn, task_id)
        return render_template("flows_task.html", errors=exc.errors, submitted=values, **ctx), 422
    except JimuError as exc:
        if exc.status in (401, 403, 404):
            raise
        with jimu.read() as conn:
            ctx = _task_context(jimu, conn, task_id)
        return render_template("flows_task.html", errors=[exc.to_dict()], submitted=values, **ctx), exc.status
    flash(_("Task completed") if action == "complete" else _("Task updated"))
    return redirect(url_for("ui.flow_inbox"))


@bp.get("/forms/<form>/<int:rid>/process")
def flow_process(form, rid):
    _login_required()
    principal = current_principal()
    jimu = current_jimu()
    with jimu.read() as conn:
        rt = jimu.services.flows.runtime(conn)
        # people who work on the record's tasks see its process; others need to read the record
        mine = [t for i in rt.instances_of_record(form, rid) for t in rt.tasks_of(i["id"])
                if rt.may_act(principal, t) or t["closed_by"] == principal.user_id]
        if not mine:
            policy.require_record(conn, principal, "read", jimu.catalog.form(form), rid)
        record = rt._record(form, rid)
        views = []
        for inst in rt.instances_of_record(form, rid):
            spec = rt.spec(inst["flow_key"], inst["flow_version"])
            history = rt.history(inst["id"])
            current = set((inst["state"] or {}).get("tokens", {}).values())
            done = {h["node_id"] for h in history if h["node_id"]} | \
                {t["node_id"] for t in rt.tasks_of(inst["id"]) if t["status"] != "open"}
            svg = render_svg(spec, current=current, done=done - current, lang=current_language(),
                             fields=[(f.key, f.definition.get("label")) for f in jimu.catalog.form(form).spec.fields])
            views.append({"instance": inst, "spec": spec, "svg": Markup(svg), "history": history,
                          "tasks": rt.tasks_of(inst["id"])})
        ft = jimu.catalog.form(form)
        title = _title(jimu, conn, form, record) or f"#{rid}"
        users = _user_names(conn)
    return render_template("flows_process.html", ft=ft, rid=rid, title=title, views=views, users=users)
