"""Issue 3 acceptance: a field that appears only when the first is "其他" behaves the same in
Chromium (live, through expr.js) and in a direct API submission (server-side clean)."""
import pytest
from playwright.sync_api import expect

from tests.conftest import browser_login, install_package, make_user
from tests.sample_package import package

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

FEEDBACK = {"key": "反馈", "version": 1, "label": {"zh-CN": "反馈", "en": "Feedback"}, "fields": [
    {"key": "类别", "label": {"zh-CN": "类别", "en": "Category"}, "widget": "select", "required": True,
     "config": {"options": [{"value": "建议", "label": {"zh-CN": "建议", "en": "Idea"}},
                            {"value": "投诉", "label": {"zh-CN": "投诉", "en": "Complaint"}},
                            {"value": "其他", "label": {"zh-CN": "其他", "en": "Other"}}]}},
    {"key": "说明", "label": {"zh-CN": "请说明", "en": "Please explain"}, "widget": "text",
     "visible_if": '类别 == "其他"', "required_if": '类别 == "其他"'},
    {"key": "份数", "label": {"zh-CN": "份数", "en": "Copies"}, "widget": "number"},
    {"key": "合计", "label": {"zh-CN": "合计", "en": "Total"}, "widget": "number", "formula": "coalesce(份数, 0) * 10"},
]}


def test_other_reveals_a_required_field_in_browser_and_api_alike(jimu, live_server, page, artifacts,
                                                                  client, admin_headers):
    pkg = package()
    pkg["forms"].append(FEEDBACK)
    install_package(jimu, pkg)
    make_user(jimu, "alice", admin=True)
    browser_login(page, live_server, "alice")
    page.goto(f"{live_server}/forms/反馈/new")
    page.wait_for_selector("form[data-ready=true]")
    explain = page.locator('[data-field="说明"]')
    assert explain.is_hidden()
    page.get_by_label("类别").select_option("其他")
    assert explain.is_visible()
    assert explain.locator(".req").is_visible()                  # required_if shown live
    page.get_by_label("份数").fill("3")
    page.wait_for_function("document.querySelector('output[name=合计]').textContent === '30'")
    page.screenshot(path=str(artifacts / "live-form-other.png"), full_page=True)
    page.get_by_role("button", name="保存").click()                # 说明 left empty: the server refuses
    page.wait_for_selector("#form-errors")
    page.wait_for_selector("form[data-ready=true]")              # the refused page is a new page: wait for its script
    assert page.locator('[data-field="说明"] .field-error').get_attribute("data-code") == "form.required"
    api = client.post("/api/v1/forms/反馈/records", json={"类别": "其他", "份数": 3}, headers=admin_headers)
    assert api.status_code == 422
    assert [(e["field"], e["code"]) for e in api.get_json()["error"]["errors"]] == [("说明", "form.required")]

    page.get_by_label("类别").select_option("建议")                # hidden again: a typed value is not kept
    expect(explain).to_be_hidden()
    page.get_by_role("button", name="保存").click()
    page.wait_for_selector("dl.record")
    text = page.locator("dl.record").inner_text()
    assert "建议" in text and "30" in text
    api = client.post("/api/v1/forms/反馈/records", json={"类别": "建议", "说明": "不该保存", "份数": 3},
                      headers=admin_headers).get_json()
    assert api["说明"] is None and api["合计"] == 30
