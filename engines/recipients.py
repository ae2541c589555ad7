"""Who hears a message: the one recipients schema of the rule actions (``notify``, ``send_survey``,
``add_participants``, an e-mail's ``cc``) and of a flow's own messages (SLA warnings and breaches,
escalations). The runtime resolves it in one place (``runtime.recipients``).

Besides named users, groups, roles and leads, the people of the record's process: ``assignee``
(who holds the record's open flow tasks now: the user, or every member of the group or role of a
task nobody took yet), ``lead`` (the leads of those tasks' groups) and ``submitter`` (who created
the record).
"""
from __future__ import annotations

RECIPIENTS_SCHEMA = {
    "type": "object",
    "description": "who: users by name, groups (all members), group leads, roles (every active user who "
                   "holds one), leads of the groups named in a field, users named in a field, the record's "
                   "participants, the current assignees of its open flow tasks and their group leads, its "
                   "submitter, literal e-mail addresses or addresses held in a field; an SMS goes to mobile numbers "
                   "typed (phones) or held in fields (phone_fields)",
    "properties": {
        "users": {"type": "array", "items": {"type": "string"}},
        "groups": {"type": "array", "items": {"type": "string"}},
        "roles": {"type": "array", "items": {"type": "string"}},
        "group_leads": {"type": "array", "items": {"type": "string"}},
        "group_lead_fields": {"type": "array", "items": {"type": "string"}},
        "user_fields": {"type": "array", "items": {"type": "string"}},
        "participants": {"type": "boolean"},
        "assignee": {"type": "boolean"},
        "lead": {"type": "boolean"},
        "submitter": {"type": "boolean"},
        "emails": {"type": "array", "items": {"type": "string", "maxLength": 320}},
        "email_fields": {"type": "array", "items": {"type": "string"}},
        "phones": {"type": "array", "items": {"type": "string", "maxLength": 40}, "maxItems": 200,
                   "description": "literal mobile numbers (an SMS)"},
        "phone_fields": {"type": "array", "items": {"type": "string"},
                         "description": "fields holding the mobile numbers an SMS goes to"},
    },
    "additionalProperties": False,
}
