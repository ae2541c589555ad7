"""What the routes of ``/api/v1`` other than the per-form record routes take and answer: named models
(components of the OpenAPI document) and, per endpoint, its request body and its success response.

``ROUTES`` maps an endpoint to a ``Route``; ``runtime.api.openapi`` reads it for every rule of the URL
map (path, path parameters and the query parameters a view declares with ``query_args`` come from the
view itself). A new route adds its models to ``MODELS`` and one ``Route`` line here; an endpoint
without one is documented with an untyped JSON answer (``test_openapi_contract`` lists none such).

``models(context)`` fills the values that depend on the installation (role, group, app and form
keys an administrator may name) so a generated client offers them and a fuzzer sends real ones.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .util import MAX_INT


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(props: dict, required: tuple[str, ...] = (), *, closed: bool = False, **extra) -> dict:
    out: dict[str, Any] = {"type": "object", "properties": props, **extra}
    if required:
        out["required"] = list(required)
    if closed:
        out["additionalProperties"] = False
    return out


def array(items: dict, **extra) -> dict:
    return {"type": "array", "items": items, **extra}


ID = {"type": "integer", "minimum": 1, "maximum": MAX_INT}
TEXT = {"type": "string"}
TIME = {"type": "string", "format": "date-time"}
MAYBE_TIME = {"type": ["string", "null"], "format": "date-time"}
MAYBE_TEXT = {"type": ["string", "null"]}
MAYBE_ID = {"type": ["integer", "null"]}
COMMENT = {"type": ["string", "null"], "maxLength": 2000, "description": "shown in the history"}
#: a label as definitions hold it: text, or text per language
LABEL = {"oneOf": [{"type": "string"}, {"type": "object", "additionalProperties": {"type": "string"}}]}
PAGE = {"type": "integer", "minimum": 1}
#: a whole number sent as a query argument (``int_arg``): its range is the view's
def whole(lo: int = 1, hi: int = MAX_INT) -> dict:
    return {"type": "integer", "minimum": lo, "maximum": hi}


#: text that is not blank once stripped (see ``openapi.NONBLANK``)
NONBLANK = r"[^\s\x1c-\x1f\x85]"
#: an e-mail address as the users API checks it (``users.check_email`` compiles this very pattern): no
#: spaces or control characters, which JSON Schema's ``\s`` and Python's would otherwise judge apart
_ADDR = r"[^@\s\x00-\x1f\x7f-\x9f\ufeff"
EMAIL_PATTERN = rf"^{_ADDR}]+@{_ADDR}]+\.{_ADDR}.]+$"
DRY_RUN_LIMIT = {"type": "integer", "minimum": 1, "maximum": 500, "description": "records shown"}
#: a yes/no query flag as the views read it
FLAG = {"type": "string", "enum": ["1", "true", "0", "false"]}

MODELS: dict[str, dict] = {
    "Ok": obj({"ok": {"const": True}}, ("ok",)),
    "Updated": obj({"updated": {"type": "integer", "minimum": 0}}, ("updated",)),
    "App": obj({"key": TEXT, "version": TEXT, "label": LABEL, "updated_at": MAYBE_TIME},
               ("key", "version")),
    "AppList": obj({"apps": array(ref("App"))}, ("apps",)),
    "InstallPlan": obj({"action": TEXT}, ("action",),
                       description="what an import did or (dry run) would do: its action and the diff"),
    "Package": obj({"format": {"const": "jimu.app"}, "version": {"type": "integer"},
                    "app": obj({"key": TEXT, "version": TEXT}, ("key", "version"))},
                   ("format", "app"), description="an app package (schemas/package.json has every part)"),
    "FormField": obj({"key": TEXT, "label": LABEL, "widget": TEXT}, ("key", "widget")),
    "Form": obj({"key": TEXT, "app": MAYBE_TEXT, "label": LABEL,
                 "verbs": array({"enum": ["read", "create", "update", "delete"]}),
                 "fields": array(ref("FormField"))}, ("key", "verbs", "fields")),
    "FormList": obj({"forms": array(ref("Form"))}, ("forms",)),
    "Task": obj({
        "id": ID, "instance_id": ID, "node_id": TEXT, "label": LABEL, "form_key": MAYBE_TEXT,
        "record_id": MAYBE_ID, "status": {"enum": ["open", "completed", "cancelled"]},
        "assignee_kind": MAYBE_TEXT, "assignee_user_id": MAYBE_ID, "assignee_role": MAYBE_TEXT,
        "assignee_group": MAYBE_TEXT, "delegated_from": MAYBE_ID,
        "fields": {"type": ["object", "null"], "description": "field key → edit, read or hidden at this step"},
        "outcomes": {"type": ["array", "null"], "items": {}, "description": "the outcomes a completion may choose"},
        "priority": {"type": ["integer", "null"]}, "due_at": MAYBE_TIME, "outcome": MAYBE_TEXT,
        "comment": MAYBE_TEXT, "created_at": TIME, "closed_at": MAYBE_TIME, "closed_by": MAYBE_ID,
        "overdue": {"type": "boolean"}}, ("id", "instance_id", "status", "overdue")),
    "TaskList": obj({"tasks": array(ref("Task")),
                     "counts": obj({"open": {"type": "integer"}, "overdue": {"type": "integer"}},
                                   ("open", "overdue"))}, ("tasks", "counts")),
    "TaskDetail": obj({"task": ref("Task"), "record": {"type": "object",
                                                        "description": "the record as this step shows it"},
                       "return_to": array(TEXT)}, ("task", "record")),
    "TaskCompletion": obj({
        "outcome": {"type": ["string", "null"], "description": "one of the task's outcomes (approve, reject…)"},
        "values": {"type": "object", "description": "field key → value, for the fields this step may edit"},
        "comment": COMMENT}, examples=[{"outcome": "resolved", "comment": "重启了邮件服务 / restarted the mail server"}]),
    "TaskCompleted": obj({"instance_status": TEXT, "outcome": MAYBE_TEXT}, ("instance_status",)),
    "TaskReassignment": obj({
        "assignee": obj({"user": {"type": ["integer", "string"]}, "role": TEXT, "group": TEXT},
                        description="one of user (id or name), role, group"),
        "comment": COMMENT}, ("assignee",)),
    "TaskDelegation": obj({"user": {"type": ["integer", "string"], "description": "the user's id or name"},
                           "comment": COMMENT}, ("user",)),
    "TaskReturn": obj({"to": {"type": "string", "description": "a node id from the task's return_to"},
                       "comment": COMMENT}, ("to",)),
    "FlowStart": obj({"record_id": {**ID, "description": "the record the flow runs on (flows of a form)"},
                      "comment": COMMENT}),
    "FlowNode": obj({"id": TEXT, "type": TEXT, "label": LABEL}, ("id", "type")),
    "FlowInstance": obj({
        "id": ID, "flow": TEXT, "version": {"type": "integer"}, "form": MAYBE_TEXT, "record_id": MAYBE_ID,
        "status": TEXT, "outcome": MAYBE_TEXT, "started_at": TIME, "ended_at": MAYBE_TIME,
        "current": array(TEXT), "nodes": array(ref("FlowNode")), "tasks": array(ref("Task")),
        "history": array({"type": "object"})},
        ("id", "flow", "version", "status", "current", "nodes", "tasks", "history")),
    "FlowInstanceList": obj({"instances": array(ref("FlowInstance"))}, ("instances",)),
    "FlowMigration": {"type": "object", "description": "which running instances move to which version, and "
                      "where their waiting tokens go (see the plan: GET on the same path)"},
    "FlowCancel": obj({"comment": COMMENT}),
    "FlowReopen": obj({"node": {"type": ["string", "null"], "description": "the node to reopen at"},
                       "comment": COMMENT}),
    "FileRef": obj({"id": {"type": "string", "pattern": "^[0-9a-f]{32}$"}, "name": TEXT,
                    "size": {"type": "integer", "minimum": 0}, "type": TEXT}, ("id", "name", "size", "type")),
    "Report": obj({"key": TEXT, "app": MAYBE_TEXT, "form": MAYBE_TEXT, "type": MAYBE_TEXT, "label": TEXT,
                   "error": {"type": ["object", "null"]}}, ("key", "label")),
    "ReportList": obj({"reports": array(ref("Report"))}, ("reports",)),
    "ReportCatalog": obj({"charts": array({"type": "object"}), "aggregates": array({"type": "object"}),
                          "operators": array({"type": "object"}), "buckets": array(TEXT),
                          "process_fields": array({"type": "object"})},
                         ("charts", "aggregates", "operators", "buckets")),
    "ReportData": obj({"report": TEXT, "app": MAYBE_TEXT, "type": TEXT, "form": MAYBE_TEXT, "title": TEXT,
                       "figure": {"type": "object", "description": "a plotly figure"},
                       "empty": {"type": "boolean"}, "rows": array({"type": "object"}),
                       "drilldown": {"type": "boolean"}}, ("report", "type", "figure", "rows")),
    "Filter": obj({"field": TEXT, "op": TEXT, "value": {}}, ("field",)),
    "Drilldown": obj({"point": {"type": "object", "description": "a row of the chart's data; {} for a KPI"},
                      "measure": {"type": ["string", "null"]},
                      "filter": array(ref("Filter")),
                      "dashboard": {"type": ["string", "null"]},
                      "values": {"type": "object", "description": "the dashboard's shared filter values"}},
                     ),
    "DrilldownResult": obj({"form": MAYBE_TEXT, "filter": array({"type": "object"}),
                            "complete": {"type": "boolean"}, "unlisted": array({"type": "object"}),
                            "url": TEXT}, ("filter", "complete", "url")),
    "Dashboard": obj({"key": TEXT, "app": MAYBE_TEXT, "label": TEXT}, ("key", "label")),
    "DashboardList": obj({"dashboards": array(ref("Dashboard"))}, ("dashboards",)),
    "DashboardData": {"type": "object", "description": "the dashboard's charts with their data"},
    "Rule": obj({"key": TEXT, "app": MAYBE_TEXT, "form": MAYBE_TEXT, "label": LABEL,
                 "enabled": {"type": "boolean"}, "priority": {"type": "integer"}, "trigger": {"type": "object"}},
                ("key", "enabled")),
    "RuleList": obj({"rules": array(ref("Rule")), "problems": array({"type": "object"})}, ("rules", "problems")),
    "RuleCatalog": obj({"triggers": array(TEXT), "operators": array({"type": "object"}),
                        "actions": array({"type": "object"})}, ("triggers", "operators", "actions")),
    "RuleDefinition": {"type": "object", "description": "a rule definition (schemas/rule.json)"},
    "RuleValidation": obj({"valid": {"type": "boolean"}, "errors": array({"type": "object"})},
                          ("valid", "errors")),
    "RuleDryRun": {"description": "send rule (a definition) or key (an installed rule)", "oneOf": [
        obj({"rule": ref("RuleDefinition"), "limit": DRY_RUN_LIMIT}, ("rule",)),
        obj({"key": TEXT, "limit": DRY_RUN_LIMIT}, ("key",))]},
    "RuleDryRunResult": {"type": "object", "description": "the records the rule would match and its effects"},
    "RuleFirings": obj({"firings": array({"type": "object"})}, ("firings",)),
    "Outbox": obj({"jobs": array({"type": "object"})}, ("jobs",)),
    "SchedulesSynced": obj({"queued": {"type": "integer"}}, ("queued",)),
    "Notification": obj({"id": ID, "user_id": ID, "kind": MAYBE_TEXT, "title": MAYBE_TEXT,
                         "created_at": TIME, "read_at": MAYBE_TIME}, ("id",)),
    "NotificationList": obj({"notifications": array(ref("Notification"))}, ("notifications",)),
    "UnreadCount": obj({"unread": {"type": "integer"}, "failed_deliveries": {"type": "integer"}}, ("unread",)),
    "ManualRuleResult": {"type": "object", "description": "the records the rule's actions wrote"},
    "SnippetList": obj({"snippets": array(obj({"form": TEXT, "id": ID, "title": TEXT, "text": TEXT},
                                               ("form", "id", "title", "text")))}, ("snippets",)),
    "SmsReceipts": {"type": "array", "items": {"type": "object"},
                    "description": "the SMS vendor's delivery receipts as it pushes them (Aliyun SmsReport, "
                                   "Tencent's status callback)"},
    "SmsReceiptAnswer": {"type": "object", "description": "the answer the vendor expects: Aliyun {code: 0}, "
                                                          "Tencent {result: 0}"},
    "SmsPulled": obj({"updated": {"type": "integer"}}, ("updated",)),
    "SmsMessages": obj({"messages": array({"type": "object"}), "receipt_urls": {"type": "object"}},
                       ("messages", "receipt_urls")),
    "WebhookEvent": {"type": "object", "description": "the event as the sending system posts it; the hook's "
                     "mapping (the form's webhook settings) picks the record's fields from it"},
    "HookRecord": {"type": "object", "description": "the record the event created"},
    "Token": obj({"id": ID, "name": MAYBE_TEXT, "hint": TEXT, "user_id": ID, "username": TEXT,
                  "scope": {"type": "object"}, "created_at": TIME, "expires_at": MAYBE_TIME,
                  "last_used_at": MAYBE_TIME, "revoked": {"type": "boolean"}, "revoked_at": MAYBE_TIME,
                  "status": TEXT}, ("id", "user_id", "status")),
    "TokenList": obj({"tokens": array(ref("Token"))}, ("tokens",)),
    "TokenOne": obj({"token": ref("Token")}, ("token",)),
    "TokenCreated": obj({"token": ref("Token"), "secret": TEXT, "note": TEXT}, ("token", "secret")),
    "TokenRequest": obj({
        "name": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": NONBLANK,
                 "description": "what will use the token"},
        "access": {"enum": ["read", "write"]},
        "apps": array(TEXT, uniqueItems=True), "forms": array(TEXT, uniqueItems=True),
        "expires_in_days": {"type": "integer", "minimum": 1, "maximum": 3650}}, ("name",),
        examples=[{"name": "ERP sync", "access": "read", "expires_in_days": 90}]),
    "User": obj({"id": ID, "username": TEXT, "display_name": MAYBE_TEXT, "email": MAYBE_TEXT,
                 "is_active": {"type": "boolean"}, "is_admin": {"type": "boolean"}, "roles": array(TEXT),
                 "groups": array(TEXT), "last_login": MAYBE_TIME, "created_at": TIME},
                ("id", "username", "is_active", "is_admin", "roles", "groups")),
    "UserList": obj({"users": array(ref("User")), "total": {"type": "integer"}, "page": PAGE,
                     "per_page": PAGE}, ("users", "total", "page", "per_page")),
    "UserOne": obj({"user": ref("User")}, ("user",)),
    "Choice": obj({"id": ID, "label": TEXT}, ("id",)),
    "ChoiceList": obj({"choices": array(ref("Choice"))}, ("choices",)),
    "ImportUpload": obj({
        "file": {"type": "string", "format": "binary", "description": "the spreadsheet (XLSX or CSV)"},
        "file_id": {"type": "string", "description": "or an earlier upload's id (from a preview)"},
        "mapping": {"type": "string", "description": "JSON: heading → field key"},
        "link_keys": {"type": "string", "description": "JSON: link field → the linked form's key field"},
        "mode": {"enum": ["valid", "all"], "description": "valid: keep the valid rows; all: all or nothing"},
        "skip_rules": {"type": "string", "description": "1 or true: do not run rules and flows"}},
        anyOf=[{"required": ["file"]}, {"required": ["file_id"]}]),
    "ImportPreview": obj({"file_id": TEXT, "file_name": TEXT}, ("file_id",),
                         description="headings, mapping, fields and the first rows with their errors"),
    "ImportState": obj({"id": ID, "status": TEXT, "links": {"type": "object"}}, ("id", "status")),
    "RecycleEntry": obj({"id": ID, "form": TEXT, "record_id": ID}, ("id",)),
    "RecyclePage": obj({"entries": array(ref("RecycleEntry")), "total": {"type": "integer"}, "page": PAGE,
                        "per_page": PAGE}, ("entries", "total", "page", "per_page")),
    "Restored": {"type": "object", "description": "the restored record's form and id"},
    "RelatedFigure": obj({"label": LABEL, "measure": {"enum": ["count", "sum", "avg", "min", "max", "share"]},
                          "field": MAYBE_TEXT, "value": {"type": ["number", "null"]}, "unit": MAYBE_TEXT},
                         ("label", "measure", "value")),
    "RelatedList": obj({"form": TEXT, "field": {**TEXT, "description": "the other form's link (or link path) to "
                                                                       "this record"},
                        "label": LABEL, "total": {"type": "integer", "minimum": 0},
                        "summary": array(ref("RelatedFigure")),
                        "filter": array(ref("Filter"), description="the list filter of all these records"),
                        "records": array({"type": "object"})},
                       ("form", "field", "total", "summary", "filter", "records")),
    "RelatedLists": obj({"related": array(ref("RelatedList"))}, ("related",)),
    "Macro": obj({"key": TEXT, "label": LABEL, "description": {"oneOf": [*LABEL["oneOf"], {"type": "null"}]}},
                 ("key", "label")),
    "MacroList": obj({"macros": array(ref("Macro"))}, ("macros",)),
    "WrittenRecord": obj({"form": TEXT, "id": ID}, ("form", "id")),
    "MacroResult": obj({"macro": TEXT, "records": array(ref("WrittenRecord"),
                                                        description="the records the macro wrote")},
                       ("macro", "records")),
    "BulkAction": obj({
        "ids": array(ID, minItems=1, maxItems=500, uniqueItems=True, description="the selected records"),
        "set": {"type": "object", "minProperties": 1, "description": "field → value (assign, change a status)"},
        "rule": {"type": "string", "minLength": 1, "description": "a manual rule's key"},
        "macro": {"type": "string", "minLength": 1, "description": "a macro's key"}}, ("ids",),
        oneOf=[{"required": ["set"]}, {"required": ["rule"]}, {"required": ["macro"]}],
        examples=[{"ids": [1, 2], "set": {"status": "closed"}}]),
    "BulkOutcome": obj({"id": ID, "ok": {"type": "boolean"},
                        "error": obj({"code": TEXT, "message": TEXT}, ("code", "message"),
                                     description="why this record was refused")}, ("id", "ok")),
    "BulkResult": obj({"done": {"type": "integer", "minimum": 0}, "refused": {"type": "integer", "minimum": 0},
                       "results": array(ref("BulkOutcome"))}, ("done", "refused", "results")),
    "MergeRequest": obj({"into": {**ID, "description": "the record kept"}}, ("into",), closed=True),
    "MergeMoved": obj({"form": TEXT, "field": TEXT, "ids": array(ID)}, ("form", "field", "ids")),
    "MergeResult": obj({"merged": ID, "into": ID, "moved": array(ref("MergeMoved"))}, ("merged", "into", "moved")),
    "AuditEvent": obj({"id": ID, "kind": TEXT, "at": TIME}, ("id", "kind", "at")),
    "ChatMessage": obj({"id": ID, "conversation": ID, "text": TEXT, "from": {"enum": ["visitor", "staff"]},
                        "author": {"type": ["string", "null"]}, "at": {"type": ["string", "null"], "format": "date-time"}},
                       ("id", "conversation", "text", "from")),
    "ChatConversation": obj({"id": ID, "title": {"type": ["string", "null"]}, "fields": {"type": "object"},
                             "open": {"type": "boolean"}, "status": {}, "assignee": {"type": ["integer", "null"]},
                             "handover": {"type": ["integer", "null"]}}, ("id", "open")),
    "ChatSettings": obj({"form": TEXT, "title": TEXT, "greeting": TEXT, "language": TEXT,
                         "fields": array(obj({"key": TEXT, "label": TEXT, "required": {"type": "boolean"},
                                              "type": TEXT})),
                         "socket": {"type": ["string", "null"], "description": "WebSocket address; null: poll"},
                         "text": {"type": "object"}}, ("form", "title", "fields")),
    "ChatStart": obj({"fields": {"type": "object", "description": "values of the chat's fields"},
                      "text": {**TEXT, "description": "the first message"}}),
    "ChatText": obj({"text": {**TEXT, "minLength": 1, "maxLength": 4000}}, ("text",), closed=True),
    "ChatReply": obj({"conversations": array(ID, minItems=1, maxItems=50),
                      "text": {**TEXT, "minLength": 1, "maxLength": 4000}}, ("conversations", "text"), closed=True),
    "ChatState": obj({"conversation": ref("ChatConversation"), "messages": array(ref("ChatMessage")),
                      "cursor": {"type": "integer"}, "token": TEXT}, ("conversation", "messages", "cursor")),
    "ChatQueue": obj({"conversations": array(ref("ChatConversation")), "messages": array(ref("ChatMessage")),
                      "cursor": {"type": "integer"}}, ("conversations", "messages", "cursor")),
    "ChatSent": obj({"message": ref("ChatMessage")}, ("message",)),
    "ChatSentMany": obj({"messages": array(ref("ChatMessage"))}, ("messages",)),
    "ChatHandover": obj({"form": TEXT, "id": ID, "created": {"type": "boolean"}}, ("form", "id", "created")),
    "ChatClosed": obj({"conversation": ref("ChatConversation")}, ("conversation",)),
    "ChatSnippets": obj({"snippets": array(obj({"kind": {"enum": ["template", "article"]}, "form": TEXT, "id": ID,
                                                "title": TEXT, "text": TEXT}))}, ("snippets",)),
    "AuditPage": obj({"events": array(ref("AuditEvent")), "total": {"type": "integer"}, "page": PAGE,
                      "per_page": PAGE}, ("events", "total", "page", "per_page")),
}


@dataclass(frozen=True)
class Route:
    """One endpoint's contract: the body model it takes (None: no body), the model of its success
    answer (None: no JSON body), that answer's status, and the media type when it is not JSON."""
    ok: str | None = None
    body: str | None = None
    status: int = 200
    media: str = "application/json"
    body_required: bool = True
    body_media: str = "application/json"
    extra: dict = field(default_factory=dict)


ROUTES: dict[str, Route] = {
    "api.list_apps": Route("AppList"),
    "api.import_app": Route("InstallPlan", body="Package", status=201),
    "api.export_app": Route("Package"),
    "api.list_forms": Route("FormList"),
    "api.openapi_document": Route(None, media="application/json"),
    "api.my_tasks": Route("TaskList"),
    "api.get_task": Route("TaskDetail"),
    "api.complete_task": Route("TaskCompleted", body="TaskCompletion"),
    "api.reassign_task": Route("Ok", body="TaskReassignment"),
    "api.delegate_task": Route("Ok", body="TaskDelegation"),
    "api.return_task": Route("Ok", body="TaskReturn"),
    "api.start_instance": Route("FlowInstance", body="FlowStart", status=201),
    "api.get_instance": Route("FlowInstance"),
    "api.cancel_instance": Route("FlowInstance", body="FlowCancel", body_required=False),
    "api.reopen_instance": Route("FlowInstance", body="FlowReopen", body_required=False),
    "api.record_flows": Route("FlowInstanceList"),
    "api.upload_file": Route("FileRef", status=201),
    "api.download_file": Route(None, media="application/octet-stream"),
    "api.report_catalog": Route("ReportCatalog"),
    "api.list_reports": Route("ReportList"),
    "api.report_data": Route("ReportData"),
    "api.report_drilldown": Route("DrilldownResult", body="Drilldown"),
    "api.report_export": Route(None, media="text/csv"),
    "api.list_dashboards": Route("DashboardList"),
    "api.dashboard_data_view": Route("DashboardData"),
    "api.list_rules": Route("RuleList"),
    "api.rule_catalog": Route("RuleCatalog"),
    "api.validate_rule": Route("RuleValidation", body="RuleDefinition"),
    "api.rule_dry_run": Route("RuleDryRunResult", body="RuleDryRun"),
    "api.rule_firings_log": Route("RuleFirings"),
    "api.rule_outbox": Route("Outbox"),
    "api.rule_sync_schedules": Route("SchedulesSynced"),
    "api.list_notifications": Route("NotificationList"),
    "api.unread_count": Route("UnreadCount"),
    "api.mark_read": Route("Updated"),
    "api.mark_all_read": Route("Updated"),
    "api.run_manual_rule": Route("ManualRuleResult"),
    "api.webhook": Route("HookRecord", body="WebhookEvent", status=201),
    "api.sms_receipts": Route("SmsReceiptAnswer", body="SmsReceipts"),
    "api.sms_messages": Route("SmsMessages"),
    "api.sms_pull_receipts": Route("SmsPulled"),
    "api.tokens_index": Route("TokenList"),
    "api.tokens_create": Route("TokenCreated", body="TokenRequest", status=201),
    "api.tokens_show": Route("TokenOne"),
    "api.tokens_revoke": Route("TokenOne"),
    "api.users_index": Route("UserList"),
    "api.users_create": Route("UserOne", body="UserCreate", status=201),
    "api.users_show": Route("UserOne"),
    "api.users_update": Route("UserOne", body="UserUpdate"),
    "api.audit_index": Route("AuditPage"),
    "api.audit_csv": Route(None, media="text/csv"),
    "api.field_choices": Route("ChoiceList"),
    "api.field_snippets": Route("SnippetList"),
    "api.import_preview": Route("ImportPreview", body="ImportUpload", body_media="multipart/form-data"),
    "api.import_start": Route("ImportState", body="ImportUpload", body_media="multipart/form-data", status=202),
    "api.import_status": Route("ImportState"),
    "api.import_rejected": Route(None, media="text/csv"),
    "api.records_export": Route(None, media="text/csv"),
    "api.import_template": Route(None, media="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "api.recycle_bin_list": Route("RecyclePage"),
    "api.recycle_bin_entry": Route("RecycleEntry"),
    "api.recycle_bin_restore": Route("Restored"),
    "api.recycle_bin_purge": Route("Restored"),
    # outgoing webhooks: their bodies are declared on the views (util.body_schema)
    "api.list_subscriptions": Route(None),
    "api.create_subscription": Route(None, status=201),
    "api.get_subscription": Route(None),
    "api.update_subscription": Route(None),
    "api.delete_subscription": Route(None, status=204),
    "api.list_deliveries": Route(None),
    "api.record_related": Route("RelatedLists"),
    "api.chat_settings": Route("ChatSettings"),
    "api.chat_start": Route("ChatState", body="ChatStart", status=201),
    "api.chat_mine": Route("ChatState"),
    "api.chat_visitor_message": Route("ChatSent", body="ChatText", status=201),
    "api.chat_queue": Route("ChatQueue"),
    "api.chat_conversation": Route("ChatState"),
    "api.chat_reply": Route("ChatSentMany", body="ChatReply", status=201),
    "api.chat_handover": Route("ChatHandover", status=201),
    "api.chat_close": Route("ChatClosed"),
    "api.chat_snippets": Route("ChatSnippets"),
    "api.record_macros": Route("MacroList"),
    "api.run_macro": Route("MacroResult"),
    "api.bulk_action": Route("BulkResult", body="BulkAction"),
    "api.merge_record": Route("MergeResult", body="MergeRequest"),
    "api.flow_migration_plan": Route(None),
    "api.flow_migration_apply": Route(None, body="FlowMigration"),
}


def _keys_of(keys: list[str] | None) -> dict:
    """A list of keys: one of ``keys`` each (none when there are none); any text when not known."""
    if keys is None:
        return array(TEXT, uniqueItems=True)
    return array({"enum": keys}, uniqueItems=True) if keys else array(TEXT, maxItems=0)


def models(roles: list[str] | None = None, groups: list[str] | None = None, apps: list[str] | None = None,
           forms: list[str] | None = None) -> dict[str, dict]:
    """``MODELS`` with the keys of this installation where a body names them (None: not told)."""
    out = dict(MODELS)
    password = {"type": "string", "minLength": 8, "maxLength": 200,
                # not only digits, not only letters (``check_password``)
                "allOf": [{"pattern": r"[^0-9]"}, {"pattern": r"[^A-Za-z\u00c0-\uffff]"}]}
    user_fields = {
        "display_name": {"type": ["string", "null"], "maxLength": 200},
        "email": {"type": ["string", "null"], "maxLength": 320, "pattern": EMAIL_PATTERN},
        "is_admin": {"type": "boolean"}, "roles": _keys_of(roles), "groups": _keys_of(groups)}
    out["UserCreate"] = obj({
        "username": {"type": "string", "minLength": 1, "maxLength": 150, "pattern": f"^{NONBLANK}(.*{NONBLANK})?$",
                     "description": "unique"},
        "password": {**password, "description": "at least 8 characters, mixing letters with digits or symbols, "
                                                "not the username"},
        **user_fields}, ("username", "password"))
    out["UserUpdate"] = obj({**user_fields, "is_active": {"type": "boolean"},
                             "password": {**password, "description": "a new password ends the user's sessions"}},
                            minProperties=1, closed=True)  # another key is refused (user.not_editable)
    request = dict(out["TokenRequest"])
    request["properties"] = {**request["properties"], "apps": _keys_of(apps), "forms": _keys_of(forms)}
    out["TokenRequest"] = request
    return out
