"""A goods-receipt app package (inventory, not a helpdesk) with every kind of value a record sends:
a serial number, a formula, a multi-value field, a sub-table, money, a date, a read-only status.
The OpenAPI contract tests feed it to jsonschema and schemathesis."""
from __future__ import annotations

import copy

RECEIPT = {
    "key": "入库单", "version": 1, "label": {"zh-CN": "入库单", "en": "Goods receipt"},
    "title_field": "物料",
    "fields": [
        {"key": "单号", "label": {"zh-CN": "单号", "en": "Number"}, "widget": "serial",
         "config": {"pattern": "RK-{yyyy}-{0000}"}},
        {"key": "物料", "label": {"zh-CN": "物料", "en": "Material"}, "widget": "text", "required": True},
        {"key": "数量", "label": {"zh-CN": "数量", "en": "Quantity"}, "widget": "number",
         "config": {"integer": True, "min": 0, "max": 100000}},
        {"key": "单价", "label": {"zh-CN": "单价", "en": "Unit price"}, "widget": "money",
         "config": {"min": 0, "max": 1000000}},  # keeps the formula 金额 within its 15 digits
        {"key": "金额", "label": {"zh-CN": "金额", "en": "Amount"}, "widget": "formula",
         "config": {"result": "number", "decimals": 2}, "formula": "coalesce(单价, 0) * coalesce(数量, 0)"},
        {"key": "标签", "label": {"zh-CN": "标签", "en": "Tags"}, "widget": "checkboxes",
         "config": {"options": ["易碎", "冷藏", "危险品"]}},
        {"key": "到货日", "label": {"zh-CN": "到货日", "en": "Received on"}, "widget": "date"},
        {"key": "状态", "label": {"zh-CN": "状态", "en": "Status"}, "widget": "select", "read_only": True,
         "default": "待验收", "config": {"options": ["待验收", "已入库"]}},
        {"key": "明细", "label": {"zh-CN": "明细", "en": "Lines"}, "widget": "subtable", "config": {"fields": [
            {"key": "批号", "label": "Batch", "widget": "text"},
            {"key": "件数", "label": "Pieces", "widget": "number", "config": {"integer": True}}]}},
    ],
}

#: storekeepers create, read and update receipts; nothing more
KEEPER = {"key": "keeper", "version": 1, "label": {"zh-CN": "库管", "en": "Storekeeper"},
          "permissions": {"入库单": ["create", "read", "update"]}}


def inventory_package() -> dict:
    return {"format": "jimu.app", "version": 2,
            "app": {"key": "inventory", "version": "1.0.0", "label": {"zh-CN": "仓储", "en": "Inventory"}},
            "roles": [copy.deepcopy(KEEPER)], "forms": [copy.deepcopy(RECEIPT)], "rules": [], "flows": []}
