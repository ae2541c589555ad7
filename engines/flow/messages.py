"""The messages a flow sends about its record (SLA warnings and breaches, escalations): the
configuration of the rule action ``notify`` (one notification path: the runtime plans them through
the effects executor into the outbox), whose recipients may also name the people of the open
tasks — ``assignee`` and ``lead`` — which only the flow runtime knows."""
from __future__ import annotations

RECIPIENTS = {
    "type": "object",
    "description": "Who hears: the assignees of the open tasks, their groups' leads, and named users, "
                   "groups (every member), group leads or roles — only those who may read the record.",
    "properties": {
        "assignee": {"type": "boolean", "description": "The people the open tasks are assigned to "
                                                      "(every member of a group or role pool)."},
        "lead": {"type": "boolean", "description": "The leads of the groups the open tasks belong to."},
        "users": {"type": "array", "items": {"type": "string"}},
        "groups": {"type": "array", "items": {"type": "string"}},
        "group_leads": {"type": "array", "items": {"type": "string"}},
        "roles": {"type": "array", "items": {"type": "string"}},
        "user_fields": {"type": "array", "items": {"type": "string"}},
        "group_lead_fields": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": False,
}
MESSAGE = {
    "type": "object",
    "description": "One message, as a rule's notify action: channel in_app, email, wecom, dingtalk or "
                   "webhook; subject/body templates may use the record's {字段} and {sla_label}, {sla_due}, "
                   "{task_label}.",
    "required": ["channel"],
    "properties": {
        "channel": {"enum": ["in_app", "email", "webhook", "wecom", "dingtalk"]},
        "to": RECIPIENTS,
        "subject": {"type": "string"}, "body": {"type": "string"}, "link": {"type": "string"},
        "url": {"type": "string"}, "secret": {"type": "string"},
        "mentions": {"type": "array", "items": {"type": "string"}},
    },
}
MESSAGES = {"type": "array", "items": MESSAGE}
