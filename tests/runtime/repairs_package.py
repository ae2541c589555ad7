"""A small property-maintenance app (another domain than the helpdesk) for the record-page and
productivity tests: related lists, macros, bulk actions on a list selection and merging duplicates.

Forms: ``tenant``; ``repair`` (a tenant, a status, a fixer, a category, a duplicate-of link; two
macros, a merge setting and a manual rule ``flag_power``);
``note`` (a repair's conversation); ``rating`` (stars given to a repair).

Roles: ``fixer`` reads and updates the repairs assigned to them (row scope ``own`` by ``fixer``),
adds notes, reads tenants and ratings, and may not see a tenant's ``phone``; ``desk`` reads and
updates every repair but may not read ratings; ``viewer`` only reads repairs.
"""
from __future__ import annotations

import copy

import pytest

from tests.conftest import api_token, install_package, make_user

STATUS = ["open", "working", "waiting", "done", "closed"]

PACKAGE = {
    "format": "jimu.app", "version": 2,
    "app": {"key": "repairs", "version": "1.0.0", "label": "Repairs"},
    "roles": [
        {"key": "fixer", "version": 1, "label": "Fixer",
         "permissions": {"tenant": ["read"], "repair": ["read", "update"], "note": ["create", "read"],
                         "rating": ["read"]},
         "rows": {"repair": {"scope": "own", "field": "fixer"}},
         "fields": {"tenant": {"phone": "hidden"}}},
        {"key": "desk", "version": 1, "label": "Desk",
         "permissions": {"tenant": ["read"], "repair": ["create", "read", "update"], "note": ["create", "read"]}},
        {"key": "viewer", "version": 1, "label": "Viewer", "permissions": {"repair": ["read"], "tenant": ["read"]}},
    ],
    "forms": [
        {"key": "tenant", "version": 1, "label": "Tenant", "title_field": "name",
         "fields": [{"key": "name", "label": "Name", "widget": "text", "required": True},
                    {"key": "phone", "label": "Phone", "widget": "text"}],
         "related": [
             {"form": "repair", "field": "tenant", "label": "Repairs", "style": "table",
              "fields": ["title", "status", "fixer"], "limit": 3,
              "summary": [{"measure": "count", "label": "Open",
                           "filter": [{"field": "status", "op": "not_in", "value": ["done", "closed"]}]},
                          {"measure": "sum", "field": "cost", "label": "Cost"}]},
             {"form": "rating", "field": "repair.tenant", "label": "Ratings", "style": "table",
              "fields": ["repair", "stars"],
              "summary": [{"measure": "avg", "field": "stars", "label": "Mean stars"},
                          {"measure": "share", "label": "Happy",
                           "filter": [{"field": "stars", "op": "gte", "value": 4}]}]}]},
        {"key": "repair", "version": 1, "label": "Repair", "title_field": "title",
         "fields": [{"key": "title", "label": "Title", "widget": "text", "required": True},
                    {"key": "tenant", "label": "Tenant", "widget": "link", "config": {"form": "tenant"}},
                    {"key": "status", "label": "Status", "widget": "select",
                     "config": {"options": STATUS}, "default": "open"},
                    {"key": "fixer", "label": "Fixer", "widget": "user"},
                    {"key": "category", "label": "Category", "widget": "select",
                     "config": {"options": ["plumbing", "power", "other"]}},
                    {"key": "reason", "label": "Reason", "widget": "text",
                     "required_if": "status == \"waiting\""},
                    {"key": "cost", "label": "Cost", "widget": "number"},
                    {"key": "duplicate_of", "label": "Duplicate of", "widget": "link", "config": {"form": "repair"}}],
         "related": [{"form": "note", "field": "repair", "label": "Notes", "fields": ["text", "public"]}],
         "macros": [
             {"key": "ask_photo", "label": "Ask for a photo", "visible_if": "status != \"closed\"",
              "actions": [{"type": "create_record", "form": "note",
                           "mapping": {"repair": {"expr": "id"}, "public": True,
                                       "text": {"template": "Please send us a photo of the {title}."}}},
                          {"type": "set_fields", "values": {"status": "waiting", "reason": "photo asked"}}]},
             {"key": "hand_to_desk", "label": "Hand over", "actions": [
                 {"type": "set_fields", "values": {"fixer": None, "status": "open"}}]}],
         "merge": {"link": "duplicate_of", "set": {"status": "closed"}}},
        {"key": "note", "version": 1, "label": "Note",
         "fields": [{"key": "repair", "label": "Repair", "widget": "link", "config": {"form": "repair"},
                     "required": True},
                    {"key": "text", "label": "Text", "widget": "textarea", "required": True},
                    {"key": "public", "label": "Public", "widget": "switch"}]},
        {"key": "rating", "version": 1, "label": "Rating",
         "fields": [{"key": "repair", "label": "Repair", "widget": "link", "config": {"form": "repair"}},
                    {"key": "stars", "label": "Stars", "widget": "number"}]},
    ],
    "rules": [{"key": "flag_power", "version": 1, "label": "Flag as power", "form": "repair",
               "trigger": {"type": "manual"}, "condition": {"field": "status", "op": "ne", "value": "closed"},
               "actions": [{"type": "set_fields", "values": {"category": "power"}}]}],
}


def package() -> dict:
    return copy.deepcopy(PACKAGE)


def url(form: str, rid: int | None = None) -> str:
    return f"/api/v1/forms/{form}/records" + (f"/{rid}" if rid else "")


class Repairs:
    """The installed app, its people (each with a token) and helpers to make records as the admin."""

    def __init__(self, jimu, client, data: dict | None = None):
        self.jimu, self.client = jimu, client
        install_package(jimu, data or package())
        self.ids, self.h = {}, {}
        for name, roles in (("root", None), ("fay", ["fixer"]), ("finn", ["fixer"]), ("dora", ["desk"]),
                            ("vic", ["viewer"])):
            uid = make_user(jimu, name, admin=roles is None, roles=roles or ())
            self.ids[name] = uid
            self.h[name] = {"Authorization": f"Bearer {api_token(jimu, uid)}"}

    def create(self, form: str, **values) -> int:
        r = self.client.post(url(form), json=values, headers=self.h["root"])
        assert r.status_code == 201, r.get_json()
        return r.get_json()["id"]

    def get(self, form: str, rid: int) -> dict:
        r = self.client.get(url(form, rid), headers=self.h["root"])
        assert r.status_code == 200, r.get_json()
        return r.get_json()


@pytest.fixture
def repairs(jimu, client):
    return Repairs(jimu, client)
