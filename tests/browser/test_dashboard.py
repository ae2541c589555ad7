"""The dashboard in Chromium: pie, KPI and line render; a pie slice opens the filtered record list."""
import json
from urllib.parse import parse_qs, unquote, urlparse

import pytest

from tests.conftest import browser_login, make_user
from tests.runtime.test_report_api import desk  # noqa: F401  (fixture: the desk app with 6 days of tickets)

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def test_dashboard_renders_and_a_pie_slice_drills_down(jimu, live_server, page, artifacts, desk):  # noqa: F811
    make_user(jimu, "alice", admin=True)
    browser_login(page, live_server, "alice")
    page.goto(f"{live_server}/dashboards/overview")
    for report in ("by_channel", "totals", "daily"):
        page.wait_for_selector(f'.dash-tile[data-report="{report}"] .plot .main-svg')
    assert page.locator(".dash-tile h2").all_inner_texts()[:3] == ["按渠道", "总量与已解决", "Daily"]
    kpi = page.locator('.dash-tile[data-report="totals"] .indicatorlayer').text_content()
    assert str(len(desk)) in kpi.replace(",", "")
    assert page.locator('.dash-tile[data-report="daily"] .scatterlayer .trace').count() == 1
    slices = page.locator('.dash-tile[data-report="by_channel"] .pielayer path.surface')
    n_slices = len({t["渠道"] for t in desk})
    assert slices.count() == n_slices
    page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)

    # a shared filter refetches every tile
    page.select_option('select[name="渠道"]', "微信")
    page.click("#dash-filters button[type=submit]")
    page.wait_for_function("document.querySelectorAll('.dash-tile[data-report=by_channel] path.surface').length === 1")
    assert "微信" in unquote(page.url)
    page.click("#dash-filters button[type=reset]")
    page.wait_for_function(
        f"document.querySelectorAll('.dash-tile[data-report=by_channel] path.surface').length === {n_slices}")

    # nothing in range: a friendly empty state instead of empty axes
    page.fill('input[name="created_at__from"]', "2030-01-01")
    page.click("#dash-filters button[type=submit]")
    page.wait_for_selector('.dash-tile[data-report="by_channel"] .tile-empty')
    assert page.locator(".tile-empty").count() == 3  # pie, line, bar; the KPI shows its zeros
    assert page.locator('.dash-tile[data-report="daily"] .tile-empty').inner_text() == "当前筛选条件下暂无数据"
    page.screenshot(path=str(artifacts / "dashboard-empty.png"), full_page=True)
    page.click("#dash-filters button[type=reset]")
    page.wait_for_selector('.dash-tile[data-report="by_channel"] .pielayer path.surface')

    # drill down: the first slice is the largest channel
    label = page.locator('.dash-tile[data-report="by_channel"] .pielayer .slicetext').first.text_content()
    slices.first.click()
    page.wait_for_url("**/forms/**")
    url = urlparse(page.url)
    assert unquote(url.path) == "/forms/工单"
    [flt] = json.loads(parse_qs(url.query)["filter"][0])
    assert flt["field"] == "渠道" and flt["op"] == "eq" and flt["value"] in label

    # a KPI has no slice: its records open from the tile's link (no extra filter: all tickets)
    page.goto(f"{live_server}/dashboards/overview")
    page.click('.dash-tile[data-report="totals"] .records-link')
    page.wait_for_url("**/forms/**")
    assert json.loads(parse_qs(urlparse(page.url).query)["filter"][0]) == []


def test_dashboard_at_phone_width(jimu, live_server, browser, artifacts, desk):  # noqa: F811
    make_user(jimu, "bob", admin=True)
    ctx = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = ctx.new_page()
    try:
        browser_login(page, live_server, "bob")
        page.goto(f"{live_server}/dashboards/overview?lang=en")
        page.wait_for_selector('.dash-tile[data-report="daily"] .plot .main-svg')
        boxes = [page.locator(f'.dash-tile[data-report="{r}"]').bounding_box() for r in ("by_channel", "totals", "daily")]
        assert all(b["width"] <= 390 for b in boxes)
        assert boxes[0]["y"] < boxes[1]["y"] < boxes[2]["y"]  # stacked in one column
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.locator("h1").inner_text() == "Overview"
        page.screenshot(path=str(artifacts / "dashboard-phone.png"), full_page=True)
    finally:
        ctx.close()
