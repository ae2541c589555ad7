"""The runtime UI in Chromium: log in, open a form's list, a record, switch language."""
import pytest

from tests.conftest import browser_login, install_package, make_user
from tests.sample_package import package

#: the browser drives the same pages on either database; SQLite keeps it quick
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def test_login_opens_a_form_list_and_a_record(jimu, live_server, page, artifacts, client, admin_headers):
    install_package(jimu, package())
    for i, name in enumerate(["华为", "阿里巴巴", "腾讯"]):
        client.post("/api/v1/forms/客户/records", json={"名称": name, "等级": i}, headers=admin_headers)
    make_user(jimu, "alice", admin=True)
    browser_login(page, live_server, "alice")
    page.screenshot(path=str(artifacts / "home.png"), full_page=True)
    page.get_by_role("link", name="客户").first.click()
    page.wait_for_selector("table.records")
    assert page.locator("table.records tbody tr").count() == 3
    assert "共 3 条记录" in page.locator("#record-count").inner_text()
    page.screenshot(path=str(artifacts / "record-list.png"), full_page=True)
    page.get_by_role("link", name="名称").click()                 # sort by name
    page.wait_for_url("**sort=%E5%90%8D%E7%A7%B0**")
    page.get_by_role("link", name="1", exact=True).first.click()
    page.wait_for_selector("dl.record")
    assert page.locator("dl.record").inner_text().count("华为") + page.locator("dl.record").inner_text().count("阿里巴巴") \
        + page.locator("dl.record").inner_text().count("腾讯") == 1
    page.goto(page.url + "?lang=en")
    assert page.get_by_role("link", name="Edit").count() == 1
