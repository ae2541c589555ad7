"""The report and dashboard designers in Chromium, driven as a business user would: drags, clicks
and typing (no JSON). The dashboard is built by tests/builder/steps_dashboard.py, the same steps the
combined acceptance test reuses; the runtime dashboard page then counts a newly submitted record."""
import json

import pytest

from tests.builder import steps_dashboard as steps
from tests.conftest import browser_login, install_package, make_user

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

FORM = "工单"


def desk_package():
    return {
        "format": "jimu.app", "version": 2,
        "app": {"key": "desk", "version": "1.0.0", "label": {"zh-CN": "服务台", "en": "Service desk"}},
        "roles": [{"key": "designer", "version": 1, "label": {"zh-CN": "设计者", "en": "Designer"}, "builder": True,
                   "permissions": {FORM: ["create", "read", "update"]}}],
        "forms": [{"key": FORM, "version": 1, "label": {"zh-CN": "工单", "en": "Ticket"}, "title_field": "客户姓名",
                   "fields": [
                       {"key": "客户姓名", "label": {"zh-CN": "客户姓名", "en": "Customer"}, "widget": "text", "required": True},
                       {"key": "问题渠道", "label": {"zh-CN": "问题渠道", "en": "Channel"}, "widget": "select",
                        "config": {"options": ["官网", "微信", "电话"]}},
                       {"key": "状态", "label": {"zh-CN": "状态", "en": "Status"}, "widget": "select",
                        "config": {"options": ["新建", "处理中", "已解决"]}},
                       {"key": "金额", "label": {"zh-CN": "金额", "en": "Amount"}, "widget": "number"}]}],
    }


def add_records(jimu, rows):
    from runtime.auth.principal import Principal
    from runtime.records import Records
    with jimu.begin() as conn:
        records = Records(jimu, conn, Principal(user_id=None, username="seed", is_admin=True), check_permissions=False)
        for values in rows:
            records.create(FORM, values)


@pytest.fixture
def builder_page(jimu, live_server, page):
    install_package(jimu, desk_package())
    make_user(jimu, "bea", roles=["designer"])
    errors = []
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    browser_login(page, live_server, "bea")
    page.errors = errors
    return page



def kpi_rows(page, live_server, dashboard):
    page.goto(f"{live_server}/dashboards/{dashboard}")
    page.wait_for_selector('.dash-tile[data-report="total_vs_resolved"] .plot .main-svg')
    data = json.loads(page.locator("#dashboard-data").text_content())
    return {tile["report"]: tile for tile in data["charts"]}


def test_build_a_dashboard_through_the_designers_and_count_a_new_record(builder_page, live_server, jimu, artifacts):
    page = builder_page
    add_records(jimu, [{"客户姓名": "甲", "问题渠道": "官网", "状态": "新建"},
                       {"客户姓名": "乙", "问题渠道": "微信", "状态": "已解决"},
                       {"客户姓名": "丙", "问题渠道": "官网", "状态": "已解决"}])
    built = steps.build_channel_dashboard(page, live_server, "desk", FORM, "问题渠道", "状态", "已解决")

    # each live chart showed the installed records while it was being built
    assert {r["问题渠道"]: r["count"] for r in built["rows"]["by_channel"]} == {"官网": 2, "微信": 1}
    assert built["rows"]["total_vs_resolved"] == [{"count": 3, "count_2": 2}]
    assert [r["count"] for r in built["rows"]["daily_trend"]] == [3]

    # what was published is what the user arranged: the definitions in the installed package
    from runtime import installer
    with jimu.read() as conn:
        pkg = installer.installed_package(conn, "desk")
    reports = {r["key"]: r for r in pkg["reports"]}
    assert reports["by_channel"]["type"] == "pie"
    assert reports["by_channel"]["dimensions"][0]["field"] == "问题渠道"
    kpi = reports["total_vs_resolved"]
    assert kpi["type"] == "kpi" and "dimensions" not in kpi
    assert [m.get("filter") for m in kpi["measures"]] == [None, [{"field": "状态", "op": "eq", "value": "已解决"}]]
    assert [m["label"]["zh-CN"] for m in kpi["measures"]] == ["总量", "已解决"]
    assert reports["daily_trend"]["dimensions"] == [{"field": "created_at", "bucket": "day",
                                                     "label": {"zh-CN": "创建时间", "en": "Created at"}}]
    dash = pkg["dashboards"][0]
    assert dash["key"] == "service_overview" and dash["label"]["zh-CN"] == "服务概览"
    tiles = {c["report"]: (c["x"], c["y"], c["w"], c["h"]) for c in dash["charts"]}
    assert tiles == {"by_channel": (0, 0, 6, 4), "total_vs_resolved": (6, 0, 4, 3), "daily_trend": (0, 4, 12, 4)}

    # screenshots of both designers, reopened on the published definitions
    page.goto(f"{live_server}/builder/apps/desk/reports/total_vs_resolved")
    page.wait_for_selector("#report-designer[data-ready]")
    steps.wait_chart(page)
    page.wait_for_selector("#rd-chart .main-svg")
    page.screenshot(path=str(artifacts / "builder-report-designer.png"), full_page=True)
    page.goto(f"{live_server}/builder/apps/desk/dashboards/service_overview")
    page.wait_for_selector("#dashboard-designer[data-ready]")
    steps.wait_tiles(page)
    page.wait_for_function("document.querySelectorAll('#dd-grid .main-svg').length >= 3")
    page.screenshot(path=str(artifacts / "builder-dashboard-designer.png"), full_page=True)

    # the runtime dashboard counts a record submitted afterwards through the runtime form
    before = kpi_rows(page, live_server, "service_overview")
    assert before["total_vs_resolved"]["rows"] == [{"count": 3, "count_2": 2}]
    page.goto(f"{live_server}/forms/{FORM}/new")
    page.wait_for_selector("form[data-ready=true]")
    page.get_by_label("客户姓名").fill("丁")
    page.get_by_label("问题渠道").select_option("电话")
    page.get_by_label("状态").select_option("新建")
    page.get_by_role("button", name="保存").click()
    page.wait_for_selector("dl.record")
    after = kpi_rows(page, live_server, "service_overview")
    assert after["total_vs_resolved"]["rows"] == [{"count": 4, "count_2": 2}]
    assert {r["问题渠道"]: r["count"] for r in after["by_channel"]["rows"]} == {"官网": 2, "微信": 1, "电话": 1}
    assert sum(r["count"] for r in after["daily_trend"]["rows"]) == 4
    assert "4" in page.locator('.dash-tile[data-report="total_vs_resolved"] .plot').inner_text()
    page.screenshot(path=str(artifacts / "runtime-dashboard-built-in-designer.png"), full_page=True)
    assert page.errors == []
