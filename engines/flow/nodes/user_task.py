"""A task for one person (or a pool: role, group, round robin) with outcome buttons.

``public_outcomes`` lists outcomes that the person the record is about may choose
without an account, from the record's private status link (for instance a
customer confirming that a request was handled, or reopening it).
"""
from __future__ import annotations

from .base import problem
from .task import ASSIGNEE_SCHEMA, FIELDS_SCHEMA, OUTCOME_SCHEMA, NOTIFY_SCHEMA, SLA_SCHEMA, TaskNode


class UserTaskNode(TaskNode):
    type = "user_task"
    label = {"zh-CN": "人工任务", "en": "User task"}
    icon = "user-check"
    config_schema = {
        "type": "object",
        "properties": {
            "assignee": ASSIGNEE_SCHEMA,
            "outcomes": {"type": "array", "items": OUTCOME_SCHEMA,
                         "description": "Buttons; an outgoing edge with 'outcome' is taken for that button."},
            "fields": FIELDS_SCHEMA,
            "sla": SLA_SCHEMA,
            "notify": NOTIFY_SCHEMA,
            "public_outcomes": {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True,
                                "description": "Outcomes also offered on the record's private status page "
                                               "(the form's public 'status' block), to people without an account."},
        },
    }

    def prepare(self) -> list[dict]:
        problems = super().prepare()
        self.public_outcomes = tuple(self.config.get("public_outcomes", ()))
        for key in self.public_outcomes:
            if key not in self.outcome_keys:
                problems.append(problem("flow.unknown_public_outcome", f"public outcome {key!r} is not an outcome of "
                                        f"node {self.id!r} ({', '.join(sorted(self.outcome_keys))})", node=self.id))
        return problems
