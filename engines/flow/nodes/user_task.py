"""A task for one person (or a pool: role, group, round robin) with outcome buttons."""
from __future__ import annotations

from .task import ASSIGNEE_SCHEMA, FIELDS_SCHEMA, OUTCOME_SCHEMA, SLA_SCHEMA, TaskNode


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
        },
    }
