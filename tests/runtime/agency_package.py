"""A small agency app for the integrator-convenience tests (fields/expand, multi-value filters, batch
writes, outgoing webhooks): clients with a hidden budget and an account manager, projects linking one
client and several partner clients, with members (several users), a team (group) and tags (checkboxes).

Roles: ``staff`` works on projects and reads the clients they manage (row scope ``own`` by
``account_manager``), without their ``budget``; ``contractor`` reads projects only, and may not read
clients at all; ``editor`` updates projects they are a member of."""
from __future__ import annotations

import copy

import pytest

from tests.conftest import api_token, install_package, make_user

PACKAGE = {
    "format": "jimu.app", "version": 2,
    "app": {"key": "agency", "version": "1.0.0", "label": "Agency"},
    "roles": [
        {"key": "staff", "version": 1, "label": "Staff",
         "permissions": {"project": ["create", "read", "update", "delete"], "client": ["read"]},
         "rows": {"client": {"scope": "own", "field": "account_manager"}},
         "fields": {"client": {"budget": "hidden"}}},
        {"key": "contractor", "version": 1, "label": "Contractor", "permissions": {"project": ["read"]}},
        {"key": "editor", "version": 1, "label": "Editor",
         "permissions": {"project": ["read", "update", "delete"]},
         "rows": {"project": {"scope": "own", "field": "members"}}},
    ],
    "groups": [{"key": "design", "version": 1, "label": {"zh-CN": "设计组", "en": "Design"}, "members": []},
               {"key": "build", "version": 1, "label": "Build", "members": []}],
    "forms": [
        {"key": "client", "version": 1, "label": "Client", "title_field": "name",
         "fields": [{"key": "name", "label": "Name", "widget": "text", "required": True},
                    {"key": "budget", "label": "Budget", "widget": "number"},
                    {"key": "account_manager", "label": "Account manager", "widget": "user"}]},
        {"key": "project", "version": 1, "label": "Project", "title_field": "title",
         "fields": [{"key": "title", "label": "Title", "widget": "text", "required": True},
                    {"key": "client", "label": "Client", "widget": "link", "config": {"form": "client"}},
                    {"key": "partners", "label": "Partners", "widget": "link",
                     "config": {"form": "client", "multiple": True}},
                    {"key": "members", "label": "Members", "widget": "user", "config": {"multiple": True}},
                    {"key": "team", "label": "Team", "widget": "group"},
                    {"key": "tags", "label": "Tags", "widget": "checkboxes",
                     "config": {"options": ["web", "mobile", "print", "video"]}},
                    {"key": "hours", "label": "Hours", "widget": "number"}]},
    ],
}


def package() -> dict:
    return copy.deepcopy(PACKAGE)


def url(form: str, rid: int | None = None) -> str:
    return f"/api/v1/forms/{form}/records" + (f"/{rid}" if rid else "")


class Agency:
    """The installed app, its people (each with a token) and a few records made by the admin."""

    def __init__(self, jimu, client):
        self.jimu, self.client = jimu, client
        install_package(jimu, package())
        self.ids, self.h = {}, {}
        for name, roles in (("root", None), ("sam", ["staff"]), ("cat", ["contractor"]), ("eve", ["editor"]),
                            ("max", [])):
            uid = make_user(jimu, name, admin=roles is None, roles=roles or ())
            self.ids[name] = uid
            self.h[name] = {"Authorization": f"Bearer {api_token(jimu, uid)}"}
        import sqlalchemy as sa
        from runtime import db
        with jimu.read() as conn:
            self.group = dict(conn.execute(sa.select(db.groups.c.key, db.groups.c.id)).all())
        self.clients = {}
        for name, manager, budget in (("Acme", "sam", 90000), ("Globex", "root", 50000)):
            self.clients[name] = self.create("client", name=name, budget=budget, account_manager=self.ids[manager])

    def create(self, form: str, **values) -> int:
        r = self.client.post(url(form), json=values, headers=self.h["root"])
        assert r.status_code == 201, r.get_json()
        return r.get_json()["id"]

    def get(self, user: str, path: str, **args):
        return self.client.get(path, query_string=args, headers=self.h[user])


@pytest.fixture
def agency(jimu, client):
    return Agency(jimu, client)
