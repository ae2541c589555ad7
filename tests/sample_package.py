"""A small, generic app package used by the platform tests (a tiny CRM)."""
import copy

PACKAGE = {
    "format": "jimu.app",
    "version": 2,
    "app": {"key": "crm", "version": "1.0.0", "label": {"zh-CN": "客户管理", "en": "CRM"}},
    "roles": [
        {"key": "sales", "version": 1, "label": {"zh-CN": "销售", "en": "Sales"},
         "permissions": {"客户": ["create", "read", "update"], "订单": ["create", "read"]}},
        {"key": "viewer", "version": 1, "label": "Viewer", "permissions": {"客户": ["read"]}},
    ],
    "groups": [{"key": "east", "version": 1, "label": {"zh-CN": "华东", "en": "East"}, "members": []}],
    "forms": [
        {"key": "客户", "version": 1, "label": {"zh-CN": "客户", "en": "Customer"}, "title_field": "名称",
         "fields": [
             {"key": "名称", "label": {"zh-CN": "名称", "en": "Name"}, "widget": "text", "required": True,
              "filterable": True},
             {"key": "等级", "label": {"zh-CN": "等级", "en": "Level"}, "widget": "number"},
             {"key": "code", "label": "Code", "widget": "text", "validation": {"unique": True}},
         ]},
        {"key": "订单", "version": 1, "label": {"zh-CN": "订单", "en": "Order"},
         "fields": [
             {"key": "客户", "label": {"zh-CN": "客户", "en": "Customer"}, "widget": "link",
              "config": {"form": "客户"}},
             {"key": "金额", "label": {"zh-CN": "金额", "en": "Amount"}, "widget": "number"},
             {"key": "明细", "label": {"zh-CN": "明细", "en": "Lines"}, "widget": "subtable",
              "config": {"fields": [{"key": "品名", "label": "Item", "widget": "text"},
                                    {"key": "数量", "label": "Qty", "widget": "number"}]}},
         ]},
    ],
}


def package(**changes):
    data = copy.deepcopy(PACKAGE)
    data["app"].update(changes)
    return data
