"""会签: one task per assignee; the node decides by vote.

Rules: ``all`` (every assignee approves), ``any`` (one approval suffices),
``count`` (``count`` approvals, e.g. 2 of 3) or ``percent`` (at least
``percent`` % of the assignees, rounded up). The node decides as soon as the
result is certain: enough approvals → ``approve``; so many rejections that the
rule can no longer be met → ``reject``. Tasks still open are then cancelled.
Votes are kept in the instance state under the node's token.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..states import TaskState
from .approval import reject
from .base import problem
from .task import ASSIGNEE_SCHEMA, FIELDS_SCHEMA, NOTIFY_SCHEMA, SLA_SCHEMA, TaskNode

if TYPE_CHECKING:
    from ..events import TaskCompleted
    from ..run import Run
    from ..spec import NodeSpec


class CountersignNode(TaskNode):
    type = "countersign"
    label = {"zh-CN": "会签", "en": "Countersign"}
    icon = "users"
    custom_outcomes = False
    default_outcomes = (
        {"key": "approve", "label": {"zh-CN": "同意", "en": "Approve"}},
        {"key": "reject", "label": {"zh-CN": "反对", "en": "Reject"}},
    )
    config_schema = {
        "type": "object",
        "required": ["assignees"],
        "properties": {
            "assignees": {"type": "array", "items": ASSIGNEE_SCHEMA, "minItems": 1,
                          "description": "One task per entry."},
            "rule": {"enum": ["all", "any", "count", "percent"], "default": "all"},
            "count": {"type": "integer", "minimum": 1, "description": "Approvals needed for rule 'count'."},
            "percent": {"type": "number", "exclusiveMinimum": 0, "maximum": 100,
                        "description": "Share of assignees needed for rule 'percent'."},
            "fields": FIELDS_SCHEMA,
            "sla": SLA_SCHEMA,
            "notify": NOTIFY_SCHEMA,
        },
    }

    def prepare(self) -> list[dict]:
        problems = super().prepare()
        total = len(self.config["assignees"])
        rule = self.config.get("rule", "all")
        if rule == "count" and not 1 <= self.config.get("count", 0) <= total:
            problems.append(problem("flow.bad_countersign", f"rule 'count' needs 'count' between 1 and the "
                                    f"number of assignees ({total})", node=self.id))
            self.needed = total
        elif rule == "percent" and "percent" not in self.config:
            problems.append(problem("flow.bad_countersign", "rule 'percent' needs 'percent', e.g. 60",
                                    node=self.id))
            self.needed = total
        else:
            self.needed = {"all": total, "any": 1, "count": self.config.get("count", total),
                           "percent": math.ceil(total * self.config.get("percent", 100) / 100 - 1e-9)}[rule]
        self.total = total
        return problems

    def enter(self, run: "Run", node: "NodeSpec", token: str) -> None:
        run.state["votes"][token] = {"approve": 0, "reject": 0}
        for assignee in self.config["assignees"]:
            self.open(run, node, token, assignee)

    def on_task_completed(self, run: "Run", node: "NodeSpec", task_id: str, event: "TaskCompleted") -> None:
        outcome = self.outcome_of(node, event)
        token = run.close_task(task_id, TaskState.COMPLETED, outcome=outcome)["token"]
        run.history(node.id, "task_completed", outcome=outcome, comment=event.comment)
        votes = run.state["votes"][token]
        votes[outcome] += 1
        if votes["approve"] >= self.needed:
            result = "approve"
        elif votes["reject"] > self.total - self.needed:
            result = "reject"
        else:
            return
        for other in run.tasks_of(token):
            run.close_task(other, TaskState.CANCELLED, reason="decided")
        run.history(node.id, "decided", outcome=result)
        if result == "reject":
            reject(run, node, token)
        else:
            run.leave(node, token, "approve")
