"""A purchase-request app package (not a helpdesk): a formula total, conditions on it, read-only
fields that only rules and flows write. Shared by the form-order, flow and field-type tests."""
from __future__ import annotations

import copy

REQUEST = {
    "key": "采购申请", "version": 1, "label": {"zh-CN": "采购申请", "en": "Purchase request"},
    "title_field": "物品",
    "fields": [
        {"key": "物品", "label": {"zh-CN": "物品", "en": "Item"}, "widget": "text", "required": True},
        {"key": "单价", "label": {"zh-CN": "单价", "en": "Unit price"}, "widget": "money"},
        {"key": "数量", "label": {"zh-CN": "数量", "en": "Quantity"}, "widget": "number",
         "config": {"integer": True}},
        {"key": "合计", "label": {"zh-CN": "合计", "en": "Total"}, "widget": "formula",
         "config": {"result": "number", "decimals": 2}, "formula": "coalesce(单价, 0) * coalesce(数量, 0)"},
        # a manager must sign a big purchase: required only when the formula total is over 50,000
        {"key": "审批人", "label": {"zh-CN": "审批人", "en": "Approver"}, "widget": "text",
         "required_if": "合计 > 50000"},
        # a justification appears (and is required) from 10,000 up
        {"key": "理由", "label": {"zh-CN": "理由", "en": "Justification"}, "widget": "textarea",
         "visible_if": "合计 > 10000", "required": True},
        {"key": "状态", "label": {"zh-CN": "状态", "en": "Status"}, "widget": "select", "read_only": True,
         "default": "草稿", "config": {"options": ["草稿", "待审批", "已批准", "已采购"]}},
        {"key": "预算占用", "label": {"zh-CN": "预算占用", "en": "Budget used"}, "widget": "number",
         "read_only": True},
        {"key": "明细", "label": {"zh-CN": "明细", "en": "Lines"}, "widget": "subtable", "config": {"fields": [
            {"key": "品名", "label": "Item", "widget": "text"},
            {"key": "核定", "label": "Checked", "widget": "text", "read_only": True}]}},
    ],
}

#: a budget rule: a purchased request books its total against the budget
BUDGET_RULE = {"key": "budget", "version": 1, "label": "Budget", "form": "采购申请",
               "trigger": {"type": "record_created"},
               "condition": {"field": "状态", "op": "eq", "value": "已采购"},
               "actions": [{"type": "set_fields", "values": {"预算占用": {"expr": "合计"}}}]}

#: buyers may create, read and update requests; nothing more
BUYER = {"key": "buyer", "version": 1, "label": {"zh-CN": "采购员", "en": "Buyer"},
         "permissions": {"采购申请": ["create", "read", "update"]}}


def purchase_package(*, rules=(), flows=(), version="1.0.0", request=None) -> dict:
    return {"format": "jimu.app", "version": 2,
            "app": {"key": "purchasing", "version": version, "label": {"zh-CN": "采购", "en": "Purchasing"}},
            "roles": [copy.deepcopy(BUYER)],
            "forms": [copy.deepcopy(request or REQUEST)],
            "rules": copy.deepcopy(list(rules)), "flows": copy.deepcopy(list(flows))}
