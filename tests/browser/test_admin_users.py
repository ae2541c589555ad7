"""The people page in Chromium: an admin creates a user and ticks a role; that user logs in and creates a record."""
import pytest
import sqlalchemy as sa

from runtime import db
from tests.conftest import browser_login, install_package, make_user
from tests.sample_package import package

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def test_admin_creates_a_user_with_a_role_through_the_page(jimu, live_server, page, browser, artifacts):
    install_package(jimu, package())
    make_user(jimu, "root", admin=True)
    browser_login(page, live_server, "root")
    page.get_by_role("link", name="用户管理").click()
    page.wait_for_url(f"{live_server}/admin/users")
    page.get_by_role("link", name="新建用户").click()
    page.get_by_label("用户名").fill("lily")
    page.get_by_label("姓名").fill("李丽")
    page.get_by_label("邮箱").fill("lily@example.com")
    page.get_by_label("初始密码").fill("short")
    page.get_by_role("button", name="创建用户").click()
    alert = page.locator("#form-errors")
    assert "密码太弱" in alert.inner_text() and "user.weak_password" in alert.inner_text()
    assert page.get_by_label("邮箱").input_value() == "lily@example.com"     # what was typed is kept
    page.get_by_label("初始密码").fill("Start-2026")
    page.get_by_label("销售").check()
    page.get_by_label("华东").check()
    page.get_by_role("button", name="创建用户").click()
    page.wait_for_selector(".flash")
    page.screenshot(path=str(artifacts / "admin-user-form.png"), full_page=True)
    assert "已创建用户 lily" in page.locator(".flash").inner_text()
    assert page.get_by_label("销售").is_checked() and not page.get_by_label("Viewer").is_checked()
    page.get_by_role("link", name="用户管理").first.click()
    row = page.locator('tr[data-username="lily"]')
    assert "李丽" in row.inner_text() and "销售" in row.inner_text() and "华东" in row.inner_text()
    page.screenshot(path=str(artifacts / "admin-users.png"), full_page=True)
    page.goto(f"{live_server}/admin/users?lang=en")
    assert page.get_by_role("heading", name="Users").is_visible()
    assert "Sales" in page.locator('tr[data-username="lily"]').inner_text()
    page.goto(f"{live_server}/admin/users?lang=zh-CN")

    # lily logs in (another browser context) and creates a customer, which her new role allows
    ctx = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    lily = ctx.new_page()
    browser_login(lily, live_server, "lily", "Start-2026")
    assert lily.get_by_role("link", name="用户管理").count() == 0
    lily.goto(f"{live_server}/forms/客户/new")
    lily.get_by_label("名称").fill("华为")
    lily.get_by_role("button", name="保存").click()
    lily.wait_for_selector("dl.record")
    assert lily.goto(f"{live_server}/admin/users").status == 403
    ctx.close()
    with jimu.read() as conn:
        kinds = conn.execute(sa.select(db.events.c.kind).where(db.events.c.kind.like("user.%"))).scalars().all()
    assert kinds == ["user.created"]
