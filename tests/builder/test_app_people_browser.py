"""The app page in Chromium: "+ 新建表单" sits under 表单, export offers the draft of an app never
published, and the people settings — a role with a permission matrix and a group with members and a
lead — are built with the mouse and the keyboard, undone and redone, published, and take effect in the
runtime: a user granted the role creates records of the form; one without it is refused."""
from __future__ import annotations

from urllib.parse import quote

import pytest
import sqlalchemy as sa

from runtime import db
from tests.builder import steps_form, steps_people
from tests.builder.steps_form import Field
from tests.conftest import browser_login, install_package, make_user

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

APP, FORM = "leave", "请假单"


@pytest.fixture
def builder_page(jimu, live_server, page):
    install_package(jimu, steps_people.directory())
    make_user(jimu, "bea", roles=["designer"])
    for name in ("ann", "ben", "carol", "dave"):
        make_user(jimu, name)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    browser_login(page, live_server, "bea")
    page.errors = errors
    return page


def _installed(jimu):
    from runtime.installer import installed_package
    with jimu.read() as conn:
        return installed_package(conn, APP)


def test_roles_and_groups_are_built_published_and_enforced(builder_page, live_server, jimu, artifacts):
    page = builder_page
    steps_form.new_app(page, live_server, "请假", APP)

    # "+ 新建表单" is part of the 表单 section, like the other kinds' "+ 新建…"
    forms_section = page.locator("#kinds section.kind").first
    assert forms_section.locator("h3").inner_text().startswith("表单")
    assert forms_section.locator("#new-forms").count() == 1
    # never published: export gives the draft (no 404)
    export = page.locator("#export-app")
    assert export.inner_text() == "导出草稿" and export.get_attribute("href").endswith("/export?draft=1")
    resp = page.request.get(live_server + export.get_attribute("href"))
    assert resp.status == 200 and resp.json()["app"]["key"] == APP
    # no roles yet: the page says who can use the app
    assert "只有管理员" in page.locator("#roles-editor").inner_text()

    steps_form.build_form(page, live_server, APP, FORM, "请假单", [Field("text", "事由", "事由", "Reason", required=True)])
    assert not page.errors, page.errors        # the form designer asked nothing that 404s
    steps_people.open_app(page, live_server, APP)
    assert page.locator("#export-app").inner_text() == "导出"
    assert page.locator("#export-app").get_attribute("href").endswith("/export")

    # a role: name, key, English name, then create + read on the form with the keyboard
    i = steps_people.add_role(page, "applicant", "申请人", "Applicant", {FORM: ["create", "read"]})
    assert page.locator("#save-state").inner_text() == "有未保存的修改"
    # undo takes back the last tick, redo gives it again
    page.locator("#btn-undo").click()
    assert not page.locator(f"#role-{i}-perm-0-read").is_checked()
    assert page.locator(f"#role-{i}-perm-0-create").is_checked()
    page.locator("#btn-redo").click()
    assert page.locator(f"#role-{i}-perm-0-read").is_checked()
    # a second role, removed again
    steps_people.add_role(page, "temp", "临时", "Temp", {FORM: ["delete"]})
    page.locator("#role-1-remove").click()
    assert page.locator('#app-people [data-role="temp"]').count() == 0
    # a bad key is refused with a message
    page.fill("#new-role-label", "x")
    page.locator("#new-role-advanced > summary").click()
    page.fill("#new-role-key", "1bad")
    page.locator("#new-role-key").press("Enter")
    assert "1bad" in page.locator("#new-role-error").inner_text()

    # a group: members typed (Enter adds), an unknown user refused, one removed, the lead picked
    g = steps_people.add_group(page, "approvers", "审批组", "Approvers", ["ann", "ben", "carol"], lead="ben")
    page.fill(f"#group-{g}-member-input", "nobody")
    page.locator(f"#group-{g}-add-member").click()
    page.wait_for_selector(f"#group-{g}-member-error:not([hidden])")
    assert "nobody" in page.locator(f"#group-{g}-member-error").inner_text()
    page.locator('[data-group="approvers"] [data-member="carol"] button').click()
    assert page.eval_on_selector_all('[data-group="approvers"] [data-member]',
                                     "els => els.map(e => e.dataset.member)") == ["ann", "ben"]
    page.screenshot(path=str(artifacts / "app-people.png"), full_page=True)

    # saved with Ctrl+S, then published
    page.locator("#app-title").click()
    page.keyboard.press("Control+s")
    page.wait_for_function("document.getElementById('btn-save').disabled")
    assert page.locator("#save-state").inner_text() == "有未发布的草稿"
    steps_people.publish(page)
    pkg = _installed(jimu)
    (role,) = pkg["roles"]
    assert (role["key"], role["label"], role["permissions"], role.get("builder", False)) == (
        "applicant", {"zh-CN": "申请人", "en": "Applicant"}, {FORM: ["create", "read"]}, False)
    (group,) = pkg["groups"]
    assert (group["label"], group["members"], group["lead"]) == (
        {"zh-CN": "审批组", "en": "Approvers"}, ["ann", "ben"], "ben")
    with jimu.read() as conn:
        members = conn.execute(sa.select(db.users.c.username)
                               .join(db.group_members, db.group_members.c.user_id == db.users.c.id)
                               .join(db.groups, db.groups.c.id == db.group_members.c.group_id)
                               .where(db.groups.c.key == "approvers")
                               .order_by(db.users.c.username)).scalars().all()
        lead = conn.execute(sa.select(db.users.c.username).join(db.groups, db.groups.c.lead_id == db.users.c.id)
                            .where(db.groups.c.key == "approvers")).scalar()
    assert (members, lead) == (["ann", "ben"], "ben")

    # the administrator grants the role to carol (not to dave): carol creates a record, dave may not
    from runtime.auth.users import set_roles
    with jimu.begin() as conn:
        carol = conn.execute(sa.select(db.users.c.id).where(db.users.c.username == "carol")).scalar()
        set_roles(conn, carol, ["applicant"])
    for name, allowed in (("carol", True), ("dave", False)):
        page.goto("about:blank")
        page.context.clear_cookies()
        browser_login(page, live_server, name)
        resp = page.goto(f"{live_server}/forms/{quote(FORM)}/new")
        if allowed:
            assert resp.status == 200
            page.wait_for_selector("form[data-ready=true]")
            page.fill("#f-事由", "年假")
            page.locator("form button[type=submit].primary").click()
            page.wait_for_selector("dl.record")
            assert "年假" in page.locator("dl.record").inner_text()
        else:
            assert resp.status == 403
    assert page.errors == [f"403 {live_server}/forms/{quote(FORM)}/new"], page.errors


def test_people_settings_speak_english(jimu, live_server, page):
    install_package(jimu, steps_people.directory())
    make_user(jimu, "bea", roles=["designer"])
    with jimu.begin() as conn:
        conn.execute(sa.update(db.users).where(db.users.c.username == "bea").values(language="en"))
    browser_login(page, live_server, "bea")
    steps_form.new_app(page, live_server, "Leave", APP)
    text = page.locator("#app-people").inner_text()
    assert "People and permissions" in text and "New role" in text and "New group" in text
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in text), text


def test_grants_on_a_form_no_longer_in_the_app_are_shown_and_removable(builder_page, live_server, jimu):
    from builder import drafts
    with jimu.begin() as conn:
        bea = conn.execute(sa.select(db.users.c.id).where(db.users.c.username == "bea")).scalar()
        draft = drafts.create_app_draft(conn, APP, "请假", now=jimu.now(), actor_id=bea, creator=bea)
        pkg = draft["package"]
        pkg["roles"] = [{"key": "applicant", "version": 1, "label": "申请人", "permissions": {"gone": ["read"]}}]
        drafts.save_draft(conn, APP, pkg, draft["revision"], now=jimu.now(), actor_id=None)
    page = builder_page
    steps_people.open_app(page, live_server, APP)
    stale = page.locator('#role-0-perms tr.stale[data-form="gone"]')
    assert "表单已不存在" in stale.inner_text()
    stale.locator("button").click()
    page.wait_for_selector("#role-0-perms", state="detached")        # no forms, no grants: no matrix
    page.locator("#btn-undo").click()
    page.wait_for_selector('#role-0-perms tr.stale[data-form="gone"]')


def test_row_scope_and_field_levels_are_set_in_people_settings_and_enforced(builder_page, live_server, jimu, client,
                                                                            artifacts):
    """A role limited to its holder's own records (a user field) with one field hidden and one read-only,
    set with the role's row and field controls, published, and enforced over the REST API."""
    from builder import drafts
    from tests.conftest import api_token
    form = {"key": "purchase", "version": 1, "label": "Purchase request", "fields": [
        {"key": "item", "label": "Item", "widget": "text"},
        {"key": "requester", "label": "Requester", "widget": "user"},
        {"key": "supplier_note", "label": "Supplier note", "widget": "text"},
        {"key": "budget_code", "label": "Budget code", "widget": "text"}]}
    with jimu.begin() as conn:
        bea = conn.execute(sa.select(db.users.c.id).where(db.users.c.username == "bea")).scalar()
        draft = drafts.create_app_draft(conn, APP, "采购", now=jimu.now(), actor_id=bea, creator=bea)
        pkg = draft["package"]
        pkg["forms"] = [form]
        drafts.save_draft(conn, APP, pkg, draft["revision"], now=jimu.now(), actor_id=None)
    page = builder_page
    steps_people.open_app(page, live_server, APP)
    i = steps_people.add_role(page, "buyer", "采购员", "Buyer", {"purchase": ["create", "read", "update"]})
    base = f"#role-{i}-access-0"
    page.select_option(f"{base}-scope", "own")
    page.wait_for_selector(f"{base}-field")
    page.select_option(f"{base}-field", "requester")
    field = {k: page.locator(f'{base}-f-{n}') for n, k in enumerate(["item", "requester", "supplier_note", "budget_code"])}
    field["supplier_note"].select_option("hidden")
    page.wait_for_function(f"() => document.querySelector('{base}-f-2').value === 'hidden'")
    page.locator(f"{base}-f-3").select_option("read_only")
    page.wait_for_function(f"() => document.querySelector('{base}-f-3').value === 'read_only'")
    # undo takes back the last choice
    page.locator("#btn-undo").click()
    page.wait_for_function(f"() => document.querySelector('{base}-f-3').value === ''")
    page.locator("#btn-redo").click()
    page.wait_for_function(f"() => document.querySelector('{base}-f-3').value === 'read_only'")
    page.locator(f"#role-{i}-access").screenshot(path=str(artifacts / "app-people-access.png"))
    page.locator("#btn-save").click()
    page.wait_for_function("document.getElementById('btn-save').disabled")
    steps_people.publish(page)
    (role,) = _installed(jimu)["roles"]
    assert role["rows"] == {"purchase": {"scope": "own", "field": "requester"}}
    assert role["fields"] == {"purchase": {"supplier_note": "hidden", "budget_code": "read_only"}}
    assert not page.errors, page.errors

    ids = {}
    for name in ("ann", "ben"):
        with jimu.begin() as conn:
            ids[name] = conn.execute(sa.select(db.users.c.id).where(db.users.c.username == name)).scalar()
            from runtime.auth.users import set_roles
            set_roles(conn, ids[name], ["buyer"])
    h = {n: {"Authorization": f"Bearer {api_token(jimu, uid)}"} for n, uid in ids.items()}
    for name in ("ann", "ben"):
        r = client.post("/api/v1/forms/purchase/records", json={"item": f"{name}'s laptop", "requester": ids[name]},
                        headers=h[name])
        assert r.status_code == 201, r.json
    rows = client.get("/api/v1/forms/purchase/records", headers=h["ann"]).json["records"]
    assert [r["item"] for r in rows] == ["ann's laptop"] and "supplier_note" not in rows[0]
    r = client.patch(f"/api/v1/forms/purchase/records/{rows[0]['id']}", json={"budget_code": "X"}, headers=h["ann"])
    assert r.status_code == 403 and r.json["error"]["code"] == "permission.field_read_only"
