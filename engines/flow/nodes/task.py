"""What every node that opens tasks for people shares: assignee, outcomes,
field permissions and SLA deadlines with escalation.

An SLA rule (``config.sla``, one object or a list of levels) schedules a
``sla`` timer when the task opens; the first level's deadline is the task's
``due_at``. A level with ``unless`` (an expression over the record) is met
when that holds at the deadline: history notes ``sla_met`` and nothing
escalates. Otherwise, when it fires: ``notify`` / ``reassign`` / ``raise_priority`` emit
an ``Escalate`` effect (the task stays open) carrying the level's ``notify`` messages (the
runtime sends them; by default in-app to the assignee and their group lead), ``edge`` closes the task as
expired and moves the token along the named outgoing edge (a BPMN
interrupting boundary timer).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Mapping

from ...calendar import CalendarError, Duration, parse_duration
from ...errors import JimuError
from .. import conditions
from ..effects import Escalate, SetDue
from ..messages import MESSAGE
from ..exceptions import FlowError
from ..states import TaskState
from ..spec import freeze
from .base import FlowNode, problem

if TYPE_CHECKING:
    from ..events import TaskCompleted
    from ..run import Run
    from ..spec import FlowSpec, NodeSpec

ASSIGNEE_SCHEMA = {
    "type": "object",
    "description": "Who gets the task; the runtime resolves it when it executes CreateTask.",
    "required": ["kind"],
    "properties": {
        "kind": {"enum": ["user", "role", "group", "field", "round_robin", "least_open", "initiator"],
                 "description": "user/role/group: value is its key; field: value is a user field of the record; "
                                "round_robin/least_open: value is a group key; initiator: who started the instance."},
        "value": {"type": "string", "description": "Key of the user, role, group or field."},
        "fallback": {"type": "object", "required": ["kind"],
                     "description": "Who gets the task when this assignee resolves to nobody (an empty field, "
                                    "an unknown user): another assignee, e.g. a group."},
    },
}
LABEL_SCHEMA = {"oneOf": [{"type": "string"},
                          {"type": "object", "additionalProperties": {"type": "string"}, "minProperties": 1}]}
OUTCOME_SCHEMA = {"oneOf": [{"type": "string", "minLength": 1},
                            {"type": "object", "required": ["key"],
                             "properties": {"key": {"type": "string", "minLength": 1}, "label": LABEL_SCHEMA}}]}
SLA_RULE_SCHEMA = {
    "type": "object",
    "required": ["after"],
    "properties": {
        "after": {"type": "string", "description": "ISO-8601 duration after the task opens, e.g. PT2H."},
        "calendar": {"type": "string", "description": "Business calendar key; the duration counts working time."},
        "action": {"enum": ["notify", "reassign", "raise_priority", "edge"], "default": "notify"},
        "edge": {"type": "string", "description": "For action edge: id of an outgoing edge of this node."},
        "assignee": ASSIGNEE_SCHEMA,
        "set": {"type": "object", "description": "For raise_priority: field → value to set on the record."},
        "unless": {"type": "string", "description": "Expression over the record checked when the deadline "
                                                    "passes: when it holds the level is met (e.g. the first "
                                                    "response was given) and nothing escalates."},
        "notify": {"type": "array", "items": MESSAGE,
                   "description": "Messages sent when the level escalates; default: in-app to the assignee "
                                  "and their group lead; [] sends none."},
    },
}
NOTIFY_SCHEMA = {"type": "object", "description": "How the assignee hears of a new task: always in the app; "
                                                   "by e-mail too with mail.",
                 "properties": {"mail": {"type": "boolean", "description": "Also e-mail the assignee (default: "
                                                                          "the TASK_MAIL setting)."},
                                "channels": {"type": "array", "items": {"type": "string", "minLength": 1},
                                             "description": "Also these notification channels, such as "
                                                            "wecom_app or dingtalk_app (a task card with "
                                                            "buttons); default: the TASK_CHANNELS setting."}}}
FIELDS_SCHEMA = {"type": "object", "description": "Field key → permission in this task.",
                 "additionalProperties": {"enum": ["visible", "editable", "required", "hidden"]}}
SLA_SCHEMA = {"oneOf": [SLA_RULE_SCHEMA, {"type": "array", "items": SLA_RULE_SCHEMA, "minItems": 1}]}


@dataclass(frozen=True, slots=True)
class SlaRule:
    after: Duration
    calendar: str | None
    action: str
    edge: str | None
    assignee: Mapping[str, Any] | None
    set: Mapping[str, Any] | None
    unless: Any = None
    unless_source: str | None = None
    notify: tuple | None = None


def normalise_outcomes(raw: Iterable[Any]) -> tuple[Mapping[str, Any], ...]:
    return tuple({"key": o, "label": o} if isinstance(o, str) else {"key": o["key"], "label": o.get("label", o["key"])}
                 for o in raw)


class TaskNode(FlowNode):
    """Base of user_task, approval and countersign."""

    group = "task"
    creates_tasks = True
    #: outcomes when the config gives none
    default_outcomes: ClassVar[tuple] = ({"key": "done", "label": {"zh-CN": "完成", "en": "Done"}},)
    #: whether the config may replace the outcomes
    custom_outcomes: ClassVar[bool] = True

    def prepare(self) -> list[dict]:
        problems = []
        raw = self.config.get("outcomes") if self.custom_outcomes else None
        self.outcomes = normalise_outcomes(raw) if raw else self.default_outcomes
        self.outcome_keys = frozenset(o["key"] for o in self.outcomes)
        rules = self.config.get("sla", ())
        rules = (rules,) if isinstance(rules, Mapping) else rules
        sla = []
        for level, rule in enumerate(rules):
            try:
                after = parse_duration(rule["after"])
            except CalendarError as exc:
                problems.append(problem(exc.code, f"sla level {level}: {exc.message}", node=self.id))
                continue
            action = rule.get("action", "notify")
            if action == "edge" and not rule.get("edge"):
                problems.append(problem("flow.sla_edge_missing", f"sla level {level}: action 'edge' needs "
                                        "'edge': the id of an outgoing edge to take", node=self.id))
            if action == "reassign" and not rule.get("assignee"):
                problems.append(problem("flow.sla_assignee_missing", f"sla level {level}: action 'reassign' "
                                        "needs 'assignee'", node=self.id))
            unless = None
            if rule.get("unless"):
                try:
                    unless = conditions.compile_condition(rule["unless"])
                except JimuError as exc:
                    problems.append(problem("flow.bad_condition", f"sla level {level}: unless "
                                            f"{rule['unless']!r} does not compile: {exc.message}", node=self.id))
            sla.append(SlaRule(after, rule.get("calendar"), action, rule.get("edge"), rule.get("assignee"),
                               rule.get("set"), unless, rule.get("unless"), freeze(rule.get("notify"))))
        self.sla = tuple(sla)
        return problems

    def check(self, spec: "FlowSpec") -> Iterable[dict]:
        node = spec.nodes[self.id]
        outgoing = {e.id for e in node.outgoing}
        for rule in self.sla:
            if rule.edge and rule.edge not in outgoing:
                yield problem("flow.sla_edge_unknown", f"sla edge {rule.edge!r} is not an outgoing edge of "
                              f"node {self.id!r}", node=self.id, edge=rule.edge)
        for edge in node.outgoing:
            if edge.outcome is not None and edge.outcome not in self.outcome_keys:
                yield problem("flow.unknown_outcome", f"edge {edge.id!r} is taken on outcome {edge.outcome!r}, "
                              f"which node {self.id!r} does not offer ({', '.join(sorted(self.outcome_keys))})",
                              node=self.id, edge=edge.id)

    # -- behaviour -------------------------------------------------------------
    def open(self, run: "Run", node: "NodeSpec", token: str, assignee: Mapping[str, Any]) -> str:
        return run.open_task(node, token, assignee=assignee, label=node.label, outcomes=self.outcomes,
                             fields=self.config.get("fields", {}), sla=self.sla)

    def enter(self, run: "Run", node: "NodeSpec", token: str) -> None:
        self.open(run, node, token, self.config.get("assignee", {"kind": "initiator"}))

    def outcome_of(self, node: "NodeSpec", event: "TaskCompleted") -> str:
        outcome = event.outcome
        if outcome is None and len(self.outcomes) == 1:
            return self.outcomes[0]["key"]
        if outcome not in self.outcome_keys:
            raise FlowError(f"outcome {outcome!r} is not offered by node {node.id!r}; choose one of "
                            f"{', '.join(sorted(self.outcome_keys))}", code="flow.unknown_outcome",
                            node=node.id, outcome=outcome)
        return outcome

    def on_task_completed(self, run: "Run", node: "NodeSpec", task_id: str, event: "TaskCompleted") -> None:
        outcome = self.outcome_of(node, event)
        task = run.close_task(task_id, TaskState.COMPLETED, outcome=outcome)
        run.history(node.id, "task_completed", outcome=outcome, comment=event.comment)
        self.decided(run, node, task["token"], outcome)

    def decided(self, run: "Run", node: "NodeSpec", token: str, outcome: str) -> None:
        """The node's work is done with ``outcome``; move the token on."""
        run.leave(node, token, outcome)

    def on_timer(self, run: "Run", node: "NodeSpec", timer_id: str, timer: dict) -> None:
        rule = self.sla[timer["level"]]
        task_id = timer["task"]
        if rule.unless is not None and run.holds(rule.unless, rule.unless_source):
            run.history(node.id, "sla_met", outcome=rule.action)
            if not any(t.get("task") == task_id for t in run.state["timers"].values()):
                run.effects.append(SetDue(task_id, None))  # no deadline left: the task is not overdue
            return
        run.history(node.id, "escalated", outcome=rule.action)
        if rule.action == "edge":
            token = run.close_task(task_id, TaskState.EXPIRED, reason="sla")["token"]
            for other in run.tasks_of(token):
                run.close_task(other, TaskState.EXPIRED, reason="sla")
            run.move(token, next(e for e in node.outgoing if e.id == rule.edge))
            return
        run.effects.append(Escalate(task_id, node.id, rule.action, timer["level"], rule.assignee, rule.set,
                                    rule.notify))
