"""Flow actions: start a flow on the record, escalate, reassign or complete its open task, reopen
its ended instance.

They are effects like any other; the runtime hands them to the flow runtime
(``runtime.flows``), looked up when executed, so rules work without flows
installed until a rule actually needs one.
"""
from __future__ import annotations

from ..effects import Effect
from .base import Action, schema

_ASSIGNEE = {"type": "object", "required": ["kind"], "additionalProperties": False,
             "description": "the flow runtime's assignee: {kind: user|role|group|field|round_robin|least_open, value}",
             "properties": {"kind": {"enum": ["user", "role", "group", "field", "round_robin", "least_open"]},
                            "value": {"type": "string"}}}


_IF_NONE = {"enum": ["error", "skip"], "default": "error",
            "description": "when the record has no matching open task (or ended instance): error (the rule "
                           "fails and is logged) or skip (nothing happens)"}


class StartFlow(Action):
    type = "start_flow"
    label = {"zh-CN": "发起流程", "en": "Start a flow"}
    config_schema = schema({"flow": {"type": "string"}}, ("flow",))

    def plan(self, ctx):
        return [Effect("start_flow", {"flow": self.config["flow"], "form": ctx.form, "id": ctx.record_id})]


class EscalateTask(Action):
    """Escalate the record's open task (optionally only task ``task`` of ``flow``) to ``to``.

    With ``"if_none": "skip"`` a record without such an open task is left alone — what a rule that
    keeps tasks with a changing assignee field needs, since the field may change after the flow ended."""

    type = "escalate_task"
    label = {"zh-CN": "升级任务", "en": "Escalate a task"}
    config_schema = schema({"flow": {"type": "string"}, "task": {"type": "string"}, "to": _ASSIGNEE,
                            "comment": {"type": "string", "maxLength": 2000}, "if_none": _IF_NONE})

    def plan(self, ctx):
        return [Effect("task", {"op": "escalate", "form": ctx.form, "id": ctx.record_id,
                                "flow": self.config.get("flow"), "task": self.config.get("task"),
                                "to": self.config.get("to"), "comment": self.config.get("comment"),
                                "task_id": ctx.extra.get("task_id"), "if_none": self.config.get("if_none", "error")})]


class ReassignTask(EscalateTask):
    type = "reassign_task"
    label = {"zh-CN": "转派任务", "en": "Reassign a task"}
    config_schema = schema({"flow": {"type": "string"}, "task": {"type": "string"}, "to": _ASSIGNEE,
                            "comment": {"type": "string", "maxLength": 2000}, "if_none": _IF_NONE}, ("to",))

    def plan(self, ctx):
        [effect] = super().plan(ctx)
        return [Effect("task", {**effect.data, "op": "reassign"})]


class CompleteTask(Action):
    """``{"type": "complete_task", "flow": "order_flow", "task": "confirm", "outcome": "approve"}`` — the
    record's open task (of node ``task``; from a task trigger, the task that fired) is completed with
    ``outcome``, as if its assignee had pressed that button; the flow moves on."""

    type = "complete_task"
    label = {"zh-CN": "完成任务", "en": "Complete a task"}
    config_schema = schema({"flow": {"type": "string"}, "task": {"type": "string"},
                            "outcome": {"type": "string", "minLength": 1},
                            "comment": {"type": "string", "maxLength": 2000}, "if_none": _IF_NONE}, ("outcome",))

    def plan(self, ctx):
        c = self.config
        return [Effect("task", {"op": "complete", "form": ctx.form, "id": ctx.record_id, "flow": c.get("flow"),
                                "task": c.get("task"), "outcome": c["outcome"], "comment": c.get("comment"),
                                "task_id": ctx.extra.get("task_id"), "if_none": c.get("if_none", "error")})]


class ReopenFlow(Action):
    """``{"type": "reopen_flow", "flow": "order_flow", "node": "review"}`` — the record's ended instance of
    ``flow`` runs again from ``node`` (default: the flow's ``reopen_to``)."""

    type = "reopen_flow"
    label = {"zh-CN": "重新打开流程", "en": "Reopen a flow"}
    config_schema = schema({"flow": {"type": "string"}, "node": {"type": "string"},
                            "comment": {"type": "string", "maxLength": 2000}, "if_none": _IF_NONE}, ("flow",))

    def plan(self, ctx):
        c = self.config
        return [Effect("reopen_flow", {"form": ctx.form, "id": ctx.record_id, "flow": c["flow"], "node": c.get("node"),
                                       "comment": c.get("comment"), "if_none": c.get("if_none", "error")})]
