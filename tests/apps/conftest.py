"""A small but complete valid package (Chinese keys, sub-table, link, rules, reports)."""
from __future__ import annotations

import copy

import pytest

PACKAGE = {
    "format": "jimu.app",
    "version": 2,
    "app": {"key": "crm", "version": "1.2.0", "label": {"zh-CN": "客户管理", "en": "CRM"}, "default_language": "zh-CN"},
    "roles": [{"key": "agent", "version": 1, "label": {"zh-CN": "坐席", "en": "Agent"},
               "permissions": {"customer": ["read", "create"], "订单": ["create", "read", "update", "delete"]}}],
    "groups": [{"key": "finance", "version": 1, "label": "财务", "lead": "alice", "members": ["alice", "王芳"]}],
    "forms": [
        {"key": "customer", "version": 1, "label": {"zh-CN": "客户", "en": "Customer"}, "title_field": "name",
         "fields": [
             {"key": "name", "label": {"zh-CN": "名称", "en": "Name"}, "widget": "text", "required": True},
             {"key": "vip", "label": "VIP", "widget": "number", "config": {"decimals": 0}},
         ],
         "layout": [{"type": "section", "label": "基本", "columns": 2, "items": ["name", "vip"]}]},
        {"key": "订单", "version": 1, "label": {"zh-CN": "订单", "en": "Order"}, "title_field": "编号",
         "fields": [
             {"key": "编号", "label": "编号", "widget": "text", "required": True, "validation": {"unique": True}},
             {"key": "客户", "label": "客户", "widget": "link", "config": {"form": "customer"}},
             {"key": "金额", "label": "金额", "widget": "number", "filterable": True},
             {"key": "明细", "label": "明细", "widget": "subtable",
              "config": {"fields": [{"key": "品名", "label": "品名", "widget": "text"},
                                    {"key": "数量", "label": "数量", "widget": "number"}]}},
         ],
         "layout": [{"type": "tabs", "tabs": [{"label": "订单", "items": ["编号", "客户", "金额"]},
                                              {"label": "明细", "items": ["明细"]}]}],
         "sample": {"金额": {"weights": {"100": 3, "1000": 1}}}},
    ],
    "flows": [],
    "rules": [{"key": "vip_order", "version": 1, "label": "VIP 订单", "form": "订单",
               "trigger": {"type": "record_created"},
               "condition": {"all": [{"field": "客户.vip", "op": "gte", "value": 2}, {"field": "金额", "op": "gt", "value": 0}]},
               "actions": [{"type": "set_fields", "values": {"金额": 1}}]}],
    "reports": [{"key": "by_customer", "version": 1, "type": "bar", "form": "订单",
                 "dimensions": [{"field": "客户"}], "filters": [{"field": "created_at", "op": "within_days", "value": 30}],
                 "measures": [{"key": "total", "agg": "sum", "field": "金额"}]}],
    "dashboards": [{"key": "overview", "version": 1, "label": "概览", "charts": [{"report": "by_customer", "x": 0, "y": 0, "w": 6, "h": 4}]}],
    "templates": [{"key": "welcome", "version": 1, "label": "欢迎", "form": "customer",
                   "subject": "欢迎 {name}", "body": {"zh-CN": "{name}，您好", "en": "Hello {name}"}}],
    "calendars": [],
}


@pytest.fixture
def package() -> dict:
    """A fresh deep copy of the valid package, safe to break."""
    return copy.deepcopy(PACKAGE)
