"""The page a task card's button opens (``/t/<token>``, ``runtime.task_links``): the task, the chosen
action and a comment box; confirming completes the task as the person the link was signed for,
through the same ``FlowRuntime.complete`` as the task page, so the same checks apply: only while the
task is open (a second use of the link changes nothing and says so), only by its assignee."""
from __future__ import annotations

from flask import render_template, request

from engines.errors import JimuError, PermissionDenied

from .. import task_links
from ..audit import record_event
from ..auth import policy, signed_form_token
from ..auth.principal import load_principal
from ..context import current_jimu
from ..i18n import gettext as _
from . import bp


def _context(jimu, conn, action):
    """What the page shows, for the person the link was signed for only while they may act on the task
    or read its record (the task page's rule): a link outlives a hand-over, a role taken away and a
    deactivated account, and must not show the record's title to whoever holds it then."""
    from .flows import _title
    rt = jimu.services.flows.runtime(conn)
    task = dict(rt.task(action.task_id))
    principal = _principal(conn, action)
    if not rt.may_act(principal, task):
        try:
            if not task["form_key"]:
                raise PermissionDenied("not the task's assignee")
            policy.require_record(conn, principal, "read", jimu.catalog.form(task["form_key"]), task["record_id"])
        except JimuError:
            raise PermissionDenied(_("This task is not assigned to you."), code="flow.not_assignee",
                                   id=action.task_id) from None
    outcome = next((o for o in task.get("outcomes") or [] if o.get("key") == action.action), None)
    record = rt._record(task["form_key"], task["record_id"]) if task["form_key"] else {}
    return {"task": task, "outcome": outcome, "action": action, "title": _title(jimu, conn, task["form_key"], record)}


def _principal(conn, action):
    principal = load_principal(conn, action.user_id)
    if principal is None:
        raise PermissionDenied("the person this link was sent to is no longer active", code="task_link.inactive")
    return principal


@bp.get("/t/<token>")
@signed_form_token
def task_link(token):
    jimu = current_jimu()
    action = task_links.read(jimu, token)
    with jimu.read() as conn:
        ctx = _context(jimu, conn, action)
    return render_template("task_link.html", token=token, done=None, error=None, **ctx)


@bp.post("/t/<token>")
@signed_form_token
def task_link_submit(token):
    jimu = current_jimu()
    action = task_links.read(jimu, token)
    comment = (request.form.get("comment") or "").strip()[:2000] or None
    status, done, error = 200, None, None
    try:
        with jimu.begin() as conn:
            principal = _principal(conn, action)
            rt = jimu.services.flows.runtime(conn)
            if rt.task(action.task_id)["status"] != "open":
                status, done = 409, "already"
            else:
                rt.complete(principal, action.task_id, outcome=action.outcome, comment=comment)
                record_event(conn, "task_link.used", at=jimu.now(), actor_id=principal.user_id,
                             data={"task": action.task_id, "action": action.action})
                done = "now"
    except JimuError as exc:
        status, error = exc.status, exc.to_dict()
        error["message"] = _("This task is not assigned to you.") if exc.code == "flow.not_assignee" else exc.message
    with jimu.read() as conn:
        ctx = _context(jimu, conn, action)
    return render_template("task_link.html", token=token, done=done, error=error, **ctx), status
