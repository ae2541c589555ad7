"""An expense-claims app package for the permission tests (row scopes and field rules).

Employees see and change only their own claims (the ``claimant`` user field)
and never the ``internal_note``; managers see their team's claims (the
``team`` group field); auditors see large claims only (a condition); the
``approved_amount`` and ``status`` are read-only for employees.
"""
import copy

PACKAGE = {
    "format": "jimu.app",
    "version": 2,
    "app": {"key": "expenses", "version": "1.0.0", "label": {"zh-CN": "报销", "en": "Expenses"}},
    "roles": [
        {"key": "employee", "version": 1, "label": "Employee",
         "permissions": {"claim": ["create", "read", "update", "delete"], "claim_comment": ["create", "read"]},
         "rows": {"claim": {"scope": "own", "field": "claimant"},
                  "claim_comment": {"scope": "condition", "condition": "visibility == 'public'"}},
         "fields": {"claim": {"internal_note": "hidden", "approved_amount": "read_only", "status": "read_only"}}},
        {"key": "manager", "version": 1, "label": "Manager",
         "permissions": {"claim": ["read", "update"], "claim_comment": ["create", "read"]},
         "rows": {"claim": {"scope": "groups", "field": "team"}}},
        {"key": "auditor", "version": 1, "label": "Auditor",
         "permissions": {"claim": ["read"]},
         "rows": {"claim": {"scope": "condition", "condition": "amount >= 1000 or claimant == current_user()"}},
         "fields": {"claim": {"internal_note": "hidden"}}},
    ],
    "groups": [
        {"key": "team_a", "version": 1, "label": "Team A", "members": []},
        {"key": "team_b", "version": 1, "label": "Team B", "members": []},
    ],
    "forms": [
        {"key": "claim", "version": 1, "label": {"zh-CN": "报销单", "en": "Expense claim"}, "title_field": "title",
         "fields": [
             {"key": "title", "label": "Title", "widget": "text", "required": True},
             {"key": "amount", "label": "Amount", "widget": "number"},
             {"key": "claimant", "label": "Claimant", "widget": "user"},
             {"key": "team", "label": "Team", "widget": "group"},
             {"key": "status", "label": "Status", "widget": "select",
              "config": {"options": [{"value": "draft", "label": "Draft"}, {"value": "approved", "label": "Approved"}]}},
             {"key": "approved_amount", "label": "Approved amount", "widget": "number"},
             {"key": "internal_note", "label": "Internal note", "widget": "text"},
         ],
         "related": [{"form": "claim_comment", "field": "claim", "label": "Comments", "fields": ["body", "visibility"]}],
         "suggest": [{"form": "claim", "label": "Similar claims", "from": ["title"], "match": ["title", "internal_note"]}]},
        {"key": "claim_comment", "version": 1, "label": "Comment",
         "fields": [
             {"key": "claim", "label": "Claim", "widget": "link", "config": {"form": "claim"}},
             {"key": "body", "label": "Body", "widget": "text"},
             {"key": "visibility", "label": "Visibility", "widget": "select",
              "config": {"options": [{"value": "public", "label": "Public"}, {"value": "internal", "label": "Internal"}]}},
         ]},
    ],
    "rules": [
        {"key": "tell", "version": 1, "label": "Tell about a new claim", "form": "claim",
         "trigger": {"type": "record_created"},
         "actions": [{"type": "notify", "channel": "in_app",
                      "to": {"user_fields": ["claimant"], "users": ["mia", "aud", "nobody"]},
                      "subject": "New claim {title}", "body": "Note: {internal_note}"},
                     # the same message by e-mail (users by their own view, a partner's address as an
                     # outsider), to a signed webhook and to a group robot (outsiders)
                     {"type": "notify", "channel": "email",
                      "to": {"user_fields": ["claimant"], "users": ["mia", "aud", "nobody"],
                             "emails": ["cfo@partner.example"]},
                      "subject": "New claim {title}", "body": "Note: {internal_note}"},
                     {"type": "notify", "channel": "webhook", "url": "https://hooks.partner.example/claims",
                      "subject": "New claim {title}", "body": "Note: {internal_note}"},
                     {"type": "notify", "channel": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send",
                      "subject": "New claim {title}", "body": "Note: {internal_note}"}]},
        {"key": "approve", "version": 1, "label": "Approve", "form": "claim", "trigger": {"type": "manual"},
         "condition": {"field": "internal_note", "op": "is_not_empty"},
         "actions": [{"type": "set_fields", "values": {"status": "approved"}}]},
    ],
    "reports": [
        {"key": "by_team", "version": 1, "label": "Claims by team", "type": "bar", "form": "claim",
         "dimensions": [{"field": "team"}],
         "measures": [{"key": "n", "agg": "count"}, {"key": "total", "agg": "sum", "field": "amount"}]},
        {"key": "notes", "version": 1, "label": "Internal notes", "type": "table", "form": "claim",
         "dimensions": [{"field": "internal_note"}], "measures": [{"key": "n", "agg": "count"}]},
        {"key": "comments_by_claim", "version": 1, "label": "Comments by claim", "type": "bar",
         "form": "claim_comment", "joins": [{"field": "claim", "as": "c"}],
         "dimensions": [{"field": "c.title", "key": "claim"}], "measures": [{"key": "n", "agg": "count"}]},
    ],
    "dashboards": [
        {"key": "claims", "version": 1, "label": "Claims",
         "charts": [{"report": "by_team", "x": 0, "y": 0, "w": 6, "h": 4},
                    {"report": "notes", "x": 6, "y": 0, "w": 6, "h": 4}],
         "filters": [{"field": "title", "kind": "choice", "label": "Title"}]},
    ],
}


def package():
    return copy.deepcopy(PACKAGE)
