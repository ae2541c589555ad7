"""Roles before publishing, in Chromium: in the people settings of a library app that was never
published, the designer makes a role, gives it to a user (shown pending), publishes once — and that user
then finds the app, its form with its views and its dashboard in the home page's navigation. Nobody is
edited a second time. Screenshots in zh-CN and en."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from runtime import db
from tests.builder import steps_people
from tests.conftest import browser_login, install_package, make_user

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

APP = "library"
LOAN = {"key": "loan", "version": 1, "label": {"zh-CN": "借阅", "en": "Loans"},
        "fields": [{"key": "title", "label": {"zh-CN": "书名", "en": "Title"}, "widget": "text"},
                   {"key": "returned", "label": {"zh-CN": "已归还", "en": "Returned"}, "widget": "switch"}],
        "views": [{"key": "open", "label": {"zh-CN": "未归还", "en": "Not returned"},
                   "filter": [{"field": "returned", "op": "eq", "value": False}]}]}
REPORT = {"key": "loans_by_title", "version": 1, "label": {"zh-CN": "按书名统计借阅", "en": "Loans by title"},
          "type": "bar", "form": "loan", "dimensions": [{"field": "title"}], "measures": [{"key": "n", "agg": "count"}]}
DASHBOARD = {"key": "loan_desk", "version": 1, "label": {"zh-CN": "借阅看板", "en": "Loan desk"},
             "charts": [{"report": "loans_by_title", "x": 0, "y": 0, "w": 6, "h": 4}]}


@pytest.fixture
def designer_page(jimu, live_server, page):
    """bea designs the library app, which holds a form, a report and a dashboard and was never published."""
    from builder import drafts
    install_package(jimu, steps_people.directory())
    bea = make_user(jimu, "bea", roles=["designer"])
    make_user(jimu, "lin")
    with jimu.begin() as conn:
        draft = drafts.create_app_draft(conn, APP, {"zh-CN": "图书馆", "en": "Library"}, now=jimu.now(),
                                        actor_id=bea, creator=bea)
        pkg = draft["package"]
        pkg.update(forms=[LOAN], reports=[REPORT], dashboards=[DASHBOARD])
        drafts.save_draft(conn, APP, pkg, draft["revision"], now=jimu.now(), actor_id=bea)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    browser_login(page, live_server, "bea")
    page.errors = errors
    return page


def _roles_of(jimu, username):
    with jimu.read() as conn:
        return conn.execute(sa.select(db.roles.c.key).join(db.user_roles, db.user_roles.c.role_id == db.roles.c.id)
                            .join(db.users, db.users.c.id == db.user_roles.c.user_id)
                            .where(db.users.c.username == username)).scalars().all()


def test_a_role_given_in_the_draft_shows_the_app_and_its_dashboard_after_one_publish(designer_page, live_server,
                                                                                      jimu, artifacts):
    page = designer_page
    steps_people.open_app(page, live_server, APP)
    # the role gets its name only: its key is generated and stays under "高级" (advanced), as the form's does
    i = steps_people.add_role(page, None, "读者", "Reader", {"loan": ["create", "read"]})
    role_key = page.eval_on_selector(f"#role-{i}-advanced code", "e => e.textContent")
    assert role_key == "role_1"
    people = page.locator("#app-people").inner_text()
    assert "role_1" not in people and "loan" not in people and "借阅" in people
    # the role is given to lin here, before the app was ever published: pending
    page.fill(f"#role-{i}-holder-input", "nobody")
    page.locator(f"#role-{i}-add-holder").click()
    page.wait_for_selector(f"#role-{i}-holder-error:not([hidden])")
    page.fill(f"#role-{i}-holder-input", "lin")
    page.locator(f"#role-{i}-holder-input").press("Enter")
    chip = page.locator(f'#role-{i}-holders [data-holder="lin"]')
    chip.wait_for()
    assert chip.get_attribute("data-pending") == "add" and "待发布" in chip.inner_text()
    # undo takes the gift back, redo gives it again
    page.locator("#btn-undo").click()
    page.wait_for_selector(f'#role-{i}-holders [data-holder="lin"]', state="detached")
    page.locator("#btn-redo").click()
    chip.wait_for()
    page.locator(f"#role-{i}-holders").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "role-holders-pending-zh-CN.png"), full_page=True)
    assert _roles_of(jimu, "lin") == []

    page.locator("#btn-save").click()
    page.wait_for_function("document.getElementById('btn-save').disabled")
    page.locator("#btn-publish").click()
    dialog = page.locator("dialog.builder-dialog")
    dialog.wait_for()
    lines = dialog.locator("ul.diff-lines").first.inner_text()
    assert "授予角色 读者: lin" in lines and "角色 新增: 读者" in lines and "仪表盘 新增: 借阅看板" in lines
    assert not any(k in lines for k in ("role_1", "loans_by_title", "loan_desk"))   # keys: under 高级 only
    dialog.locator("details.advanced > summary").click()
    assert "roles added: role_1" in dialog.locator("details.advanced").inner_text() or \
        "角色 新增: role_1" in dialog.locator("details.advanced").inner_text()
    page.locator("#confirm-publish").click()
    page.wait_for_function("document.querySelectorAll('#version-list > li').length > 0")
    assert _roles_of(jimu, "lin") == ["role_1"]
    # after publishing lin simply holds the role: nothing pending, nothing to edit again
    chip = page.locator(f'#role-{i}-holders [data-holder="lin"]')
    chip.wait_for()
    assert chip.get_attribute("data-pending") == ""
    page.goto(f"{live_server}/builder/apps/{APP}?lang=en")
    page.wait_for_selector(f'#role-{i}-holders [data-holder="lin"]')
    assert "Users with this role" in page.locator(f"#role-{i}-holders").inner_text()
    page.screenshot(path=str(artifacts / "role-holders-published-en.png"), full_page=True)
    assert not page.errors, page.errors

    # lin logs in: the app, its form, the form's view and its dashboard are in the home page's navigation
    page.goto("about:blank")
    page.context.clear_cookies()
    browser_login(page, live_server, "lin")
    page.goto(f"{live_server}/?lang=zh-CN")
    nav = page.locator(f'section.app-home[data-app="{APP}"] nav.app-nav')
    assert page.locator(f'section.app-home[data-app="{APP}"] h1').inner_text() == "图书馆"
    assert nav.locator('[data-form="loan"]').inner_text() == "借阅"
    assert nav.locator('[data-view="open"]').inner_text() == "未归还"
    assert nav.locator('[data-dashboard="loan_desk"]').inner_text() == "借阅看板"
    page.screenshot(path=str(artifacts / "home-nav-zh-CN.png"), full_page=True)
    page.goto(f"{live_server}/?lang=en")
    assert nav.locator('[data-dashboard="loan_desk"]').inner_text() == "Loan desk"
    assert nav.locator('[data-view="open"]').inner_text() == "Not returned"
    page.screenshot(path=str(artifacts / "home-nav-en.png"), full_page=True)
    nav.locator('[data-dashboard="loan_desk"]').click()
    page.wait_for_selector(".dash-tile")
    assert page.locator(".dash-tile .tile-error, .dash-tile .error").count() == 0


def test_a_row_condition_is_typed_and_read_with_field_names(jimu, live_server, page, artifacts):
    """A role's "records matching a condition" was a plain box for an expression in keys; it is the shared
    expression editor now: 书名 typed, title stored, the stored condition shown with names again."""
    from builder import drafts
    install_package(jimu, steps_people.directory())
    bea = make_user(jimu, "bea", roles=["designer"])
    reader = {"key": "reader", "version": 1, "label": {"zh-CN": "读者", "en": "Reader"},
              "permissions": {"loan": ["read"]},
              "rows": {"loan": {"scope": "condition", "condition": "returned == false"}}}
    with jimu.begin() as conn:
        draft = drafts.create_app_draft(conn, APP, {"zh-CN": "图书馆", "en": "Library"}, now=jimu.now(),
                                        actor_id=bea, creator=bea)
        pkg = draft["package"]
        pkg.update(forms=[LOAN], roles=[reader])
        drafts.save_draft(conn, APP, pkg, draft["revision"], now=jimu.now(), actor_id=bea)
    browser_login(page, live_server, "bea")
    steps_people.open_app(page, live_server, APP)
    box = page.locator("#role-0-access-0-condition")
    box.wait_for()
    page.wait_for_function("() => document.querySelector('#role-0-access-0-condition').value === '已归还 == false'")
    box.fill('书名 == "三体" and 已归还 == false')
    page.locator("#role-0-access-0-condition-msg .expr-ok").wait_for()
    page.locator("#btn-save").click()
    page.wait_for_function("document.getElementById('btn-save').disabled")
    with jimu.read() as conn:
        stored = drafts.get_draft(conn, APP)["package"]["roles"][0]["rows"]["loan"]
    assert stored == {"scope": "condition", "condition": 'title == "三体" and returned == false'}
    page.screenshot(path=str(artifacts / "role-row-condition-zh-CN.png"), full_page=True)
