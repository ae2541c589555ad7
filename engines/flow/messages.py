"""The messages a flow sends about its record (SLA warnings and breaches, escalations): the
configuration of the rule action ``notify`` (one notification path: the runtime plans them through
the effects executor into the outbox) with the one recipients schema (``engines.recipients``): its
``assignee`` and ``lead`` mean the people of the tasks the message is about."""
from __future__ import annotations

from engines.recipients import RECIPIENTS_SCHEMA

#: what a flow's messages may say beside the record's fields: the deadline's clock or task and when it
#: is due, the task's name and number, the record's title. A package's message template may use them too
#: (they stay empty where a rule, not a flow, sends it).
VARIABLES = ("sla_label", "sla_due", "task_label", "task_due", "task_id", "record_title")

MESSAGE = {
    "type": "object",
    "description": "One message, as a rule's notify action: channel in_app, email, wecom, dingtalk or "
                   "webhook; subject/body (or the package's message template named by template) may use the "
                   "record's {字段} and {sla_label}, {sla_due}, {task_label}, {task_due}, {record_title}.",
    "required": ["channel"],
    "properties": {
        "channel": {"type": "string", "minLength": 1},
        "to": RECIPIENTS_SCHEMA,
        "subject": {"type": "string"}, "body": {"type": "string"}, "link": {"type": "string"},
        "url": {"type": "string"}, "secret": {"type": "string"},
        "mentions": {"type": "array", "items": {"type": "string"}},
        "template": {"type": "string", "description": "A message template of the package (its subject and "
                                                      "body) instead of subject/body."},
    },
}
MESSAGES = {"type": "array", "items": MESSAGE}
