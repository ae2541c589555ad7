"""A building-management app (not a helpdesk) with a live chat: tenants ask the front desk on the
estate's web site; an enquiry that needs work becomes a repair order."""
from __future__ import annotations


def _f(key, en, widget, **extra):
    return {"key": key, "label": {"zh-CN": key, "en": en}, "widget": widget, **extra}


def chat_package(origins=("http://localhost:8765",)) -> dict:
    enquiry = {
        "key": "enquiry", "version": 1, "label": {"zh-CN": "住户咨询", "en": "Tenant enquiry"},
        "title_field": "name",
        "fields": [_f("name", "Name", "text", required=True), _f("email", "E-mail", "email"),
                   _f("state", "State", "select", config={"options": ["open", "ended"]}),
                   _f("handled_by", "Handled by", "user"),
                   _f("repair", "Repair order", "link", config={"form": "repair_order"})],
        "chat": {"origins": list(origins), "title": {"zh-CN": "物业前台", "en": "Front desk"},
                 "greeting": {"zh-CN": "您好，请问有什么可以帮您？", "en": "Hello, how can we help?"},
                 "fields": ["name", "email"],
                 "messages": {"form": "enquiry_message", "link_field": "enquiry", "text_field": "body"},
                 "status": {"field": "state", "open": "open", "closed": "ended"},
                 "assignee_field": "handled_by",
                 "templates": {"form": "canned_reply", "title_field": "title", "text_field": "text"},
                 "articles": {"form": "house_rule", "title_field": "title", "text_field": "body",
                              "filter": [{"field": "published", "op": "eq", "value": True}]},
                 "handover": {"form": "repair_order", "link_field": "repair",
                              "fields": {"reporter": "name", "details": "transcript"},
                              "defaults": {"summary": "From the front-desk chat"}}},
    }
    message = {"key": "enquiry_message", "version": 1, "label": {"zh-CN": "咨询消息", "en": "Enquiry message"},
               "fields": [_f("enquiry", "Enquiry", "link", config={"form": "enquiry"}, required=True),
                          _f("body", "Text", "textarea", required=True)]}
    repair = {"key": "repair_order", "version": 1, "label": {"zh-CN": "维修单", "en": "Repair order"},
              "title_field": "summary",
              "fields": [_f("summary", "Summary", "text", required=True), _f("reporter", "Reporter", "text"),
                         _f("details", "Details", "textarea")]}
    canned = {"key": "canned_reply", "version": 1, "label": {"zh-CN": "常用回复", "en": "Canned reply"},
              "title_field": "title",
              "fields": [_f("title", "Title", "text", required=True), _f("text", "Text", "textarea")]}
    rules = {"key": "house_rule", "version": 1, "label": {"zh-CN": "住户须知", "en": "House rule"},
             "title_field": "title",
             "fields": [_f("title", "Title", "text", required=True), _f("body", "Body", "richtext"),
                        _f("published", "Published", "switch")]}
    desk = {"key": "desk", "version": 1, "label": {"zh-CN": "前台", "en": "Front desk"},
            "permissions": {"enquiry": ["read", "update"], "enquiry_message": ["create", "read"],
                            "repair_order": ["create", "read"], "canned_reply": ["read"], "house_rule": ["read"]}}
    caretaker = {"key": "caretaker", "version": 1, "label": {"zh-CN": "维修工", "en": "Caretaker"},
                 "permissions": {"repair_order": ["read", "update"], "enquiry": ["read"]}}
    return {"format": "jimu.app", "version": 2,
            "app": {"key": "estate", "version": "1.0.0", "label": {"zh-CN": "物业", "en": "Estate"}},
            "roles": [desk, caretaker], "forms": [enquiry, message, repair, canned, rules], "rules": [], "flows": []}
