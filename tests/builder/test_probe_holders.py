"""Roles before publishing (issue 18) probed as a builder of one app who wants more: another app's
roles, an administrator's rights, another app's draft, and as a user who designs nothing."""
from __future__ import annotations

import pytest

from tests.builder.test_api import login
from tests.builder.test_role_holders import APP, BORROWER, LOAN, _draft, _holds, _save, _uid
from tests.builder.steps_people import directory
from tests.conftest import install_package, make_user

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

#: another app, installed by an administrator, whose role grants its forms
PAYROLL = {"format": "jimu.app", "version": 2, "app": {"key": "payroll", "version": "1.0.0", "label": "Payroll"},
           "forms": [{"key": "salary", "version": 1, "label": "Salary",
                      "fields": [{"key": "amount", "label": "Amount", "widget": "number"}]}],
           "roles": [{"key": "paymaster", "version": 1, "label": "Paymaster",
                      "permissions": {"salary": ["create", "read", "update", "delete"]}},
                     {"key": "payroll_builders", "version": 1, "label": "Payroll builders", "builder": True,
                      "permissions": {}}]}


@pytest.fixture
def bea(jimu, client):
    install_package(jimu, directory())
    install_package(jimu, PAYROLL)
    make_user(jimu, "bea", roles=["designer"])
    make_user(jimu, "pat", roles=["paymaster"])
    make_user(jimu, "root", admin=True)
    make_user(jimu, "lin")
    login(client, "bea")
    assert client.post("/builder/api/apps", json={"key": APP, "label": "图书馆"}).status_code == 201
    return client


@pytest.mark.parametrize("grab", ["paymaster", "payroll_builders", "designer"])
def test_a_draft_cannot_take_over_another_apps_role_by_its_key(bea, jimu, grab):
    """A role of the draft named like another app's role, given to oneself: publishing refuses, and the
    other app's role keeps its holders and its permissions."""
    draft = _draft(bea)
    draft["package"]["forms"] = [LOAN]
    draft["package"]["roles"] = [BORROWER, {**BORROWER, "key": grab, "builder": True}]
    saved = _save(bea, draft, holders={grab: {"add": ["bea", "lin"]}})
    if saved.status_code == 200:
        resp = bea.post(f"/builder/api/apps/{APP}/publish", json={"revision": saved.get_json()["revision"]})
        assert resp.status_code >= 400, resp.get_json()
    assert grab not in _holds(jimu, "lin")
    assert _holds(jimu, "pat") == ["paymaster"]
    import sqlalchemy as sa
    from runtime import db
    with jimu.read() as conn:
        owner = conn.execute(sa.select(db.roles.c.app_key, db.roles.c.permissions).where(db.roles.c.key == grab)).one()
    assert owner.app_key == {"paymaster": "payroll", "payroll_builders": "payroll", "designer": "org"}[grab]
    # the library's builder still designs the library only
    assert bea.get("/builder/api/apps/payroll/draft").status_code == 403


def test_holders_of_another_apps_draft_and_of_a_non_builder_are_refused(bea, jimu, client):
    draft = _draft(bea)
    draft["package"]["forms"] = [LOAN]
    draft["package"]["roles"] = [BORROWER]
    assert _save(bea, draft).status_code == 200
    # the library's builder on the payroll app: no draft read, no holders saved, no publish
    resp = bea.put("/builder/api/apps/payroll/draft", json={"package": PAYROLL, "revision": 0,
                                                             "holders": {"paymaster": {"add": ["bea"]}}})
    assert resp.status_code == 403
    assert bea.post("/builder/api/apps/payroll/publish", json={"revision": 0}).status_code == 403
    assert _holds(jimu, "bea") == ["designer", "library_builders"]
    # a user who designs nothing (pat, a paymaster) may not touch the library's holders
    login(client, "pat")
    resp = client.put(f"/builder/api/apps/{APP}/draft", json={"package": draft["package"], "revision": 99,
                                                             "holders": {"borrower": {"add": ["pat"]}}})
    assert resp.status_code == 403
    assert client.post(f"/builder/api/apps/{APP}/publish", json={"revision": 99}).status_code == 403
    assert _holds(jimu, "pat") == ["paymaster"]


def test_holders_give_roles_not_administrator_rights(bea, jimu):
    """A holder entry is a username and a role of the draft; nothing in it makes an administrator."""
    draft = _draft(bea)
    draft["package"]["forms"] = [LOAN]
    draft["package"]["roles"] = [BORROWER]
    for holders in ({"admin": {"add": ["lin"]}}, {"borrower": {"add": ["lin"], "is_admin": True}},
                    {"borrower": {"add": [{"username": "lin", "is_admin": True}]}}, {"*": {"add": ["lin"]}}):
        assert _save(bea, draft, holders=holders).status_code == 400
    saved = _save(bea, draft, holders={"borrower": {"add": ["lin", "root"], "remove": ["bea"]}}).get_json()
    resp = bea.post(f"/builder/api/apps/{APP}/publish", json={"revision": saved["revision"]})
    assert resp.status_code == 201, resp.get_json()
    import sqlalchemy as sa
    from runtime import db
    with jimu.read() as conn:
        admins = conn.execute(sa.select(db.users.c.username).where(db.users.c.is_admin.is_(True))).scalars().all()
    assert admins == ["root"] and _holds(jimu, "lin") == ["borrower"] and _uid(jimu, "lin")
