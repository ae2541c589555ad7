"""Two small apps of other domains (purchasing, inventory) and helpers for the identity tests:
sessions, login throttling, API tokens, the proxy setting and the audit viewer."""
from __future__ import annotations

import re

from tests.conftest import install_package, make_user

PURCHASING = {
    "format": "jimu.app", "version": 2,
    "app": {"key": "purchasing", "version": "1.0.0", "label": {"zh-CN": "采购", "en": "Purchasing"}},
    "roles": [
        {"key": "buyer", "version": 1, "label": "Buyer",
         "permissions": {"purchase_order": ["create", "read", "update", "delete"]}},
        {"key": "requester", "version": 1, "label": "Requester",
         "permissions": {"purchase_order": ["create", "read"]},
         "rows": {"purchase_order": {"scope": "own"}}, "fields": {"purchase_order": {"amount": "hidden"}}},
        {"key": "purchasing_owner", "version": 1, "label": "Purchasing owner", "builder": True,
         "permissions": {"purchase_order": ["create", "read", "update", "delete"]}},
    ],
    "forms": [
        {"key": "purchase_order", "version": 1, "label": {"zh-CN": "采购单", "en": "Purchase order"},
         "title_field": "title",
         "fields": [{"key": "title", "label": "Title", "widget": "text", "required": True},
                    {"key": "amount", "label": "Amount", "widget": "number"}]},
        {"key": "supplier_request", "version": 1, "label": "Supplier request", "title_field": "company",
         "fields": [{"key": "company", "label": "Company", "widget": "text", "required": True}],
         "public": {"submit": {"fields": ["company"], "rate_limit": 2},
                    "status": {"fields": ["company"]}}},
    ],
}

INVENTORY = {
    "format": "jimu.app", "version": 2,
    "app": {"key": "inventory", "version": "1.0.0", "label": "Inventory"},
    "roles": [{"key": "storekeeper", "version": 1, "label": "Storekeeper",
               "permissions": {"stock_item": ["create", "read", "update", "delete"]}}],
    "forms": [{"key": "stock_item", "version": 1, "label": "Stock item", "title_field": "sku",
               "fields": [{"key": "sku", "label": "SKU", "widget": "text", "required": True},
                          {"key": "quantity", "label": "Quantity", "widget": "number"}]}],
}


def install_both(jimu) -> None:
    install_package(jimu, PURCHASING)
    install_package(jimu, INVENTORY)


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, username, password="pw-123456", **kw):
    """POST the login form as a browser does; returns the response."""
    token = csrf_from(client.get("/login", **kw).get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token}, **kw)


def page_csrf(client, path="/") -> str:
    return csrf_from(client.get(path).get_data(as_text=True))


__all__ = ["PURCHASING", "INVENTORY", "install_both", "login", "page_csrf", "csrf_from", "make_user"]
