"""The flow inbox in Chromium: see my tasks (an overdue one highlighted), open a task, fill the field
the step requires, press an outcome button, and find the process diagram with the history."""
import pytest

from tests.conftest import browser_login
from tests.runtime.flow_fixtures import create_ticket, install, instances, setup_users, simple_flow

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def test_complete_a_task_from_the_inbox(jimu, live_server, page, artifacts, clock):
    users = setup_users(jimu)
    install(jimu, [simple_flow(fields={"title": "visible", "urgency": "visible", "reply": "required",
                                       "note": "hidden"}, sla={"after": "PT2H"})])
    create_ticket(jimu, users["admin"], title="VPN 无法连接", urgency="高", note="内部备注")
    clock.advance(hours=3)
    create_ticket(jimu, users["admin"], title="打印机卡纸", urgency="低")
    browser_login(page, live_server, "ann")
    page.goto(f"{live_server}/tasks")
    assert page.locator('[data-count="open"] strong').inner_text() == "2"
    assert page.locator('[data-count="overdue"] strong').inner_text() == "1"
    overdue = page.locator("table.tasks tr.overdue")
    assert overdue.count() == 1 and "VPN 无法连接" in overdue.inner_text()
    page.screenshot(path=str(artifacts / "flow-inbox.png"), full_page=True)

    overdue.get_by_role("link").click()
    page.wait_for_selector("#task-form")
    assert "内部备注" not in page.content()
    page.fill("#f-reply", "已重置 VPN 令牌")
    page.fill("#comment", "用户确认可以连接")
    page.screenshot(path=str(artifacts / "flow-task.png"), full_page=True)
    page.locator('button[data-outcome="solved"]').click()
    page.wait_for_url(f"{live_server}/tasks")
    assert page.locator('[data-count="open"] strong').inner_text() == "1"
    assert page.locator(".flash").inner_text().strip() == "任务已完成"
    done = instances(jimu)[0]
    assert done["status"] == "completed" and done["outcome"] == "solved"

    page.goto(f"{live_server}/forms/ticket/{done['record_id']}/process")
    page.wait_for_selector("svg.flow-diagram")
    assert page.locator('svg .node.done[data-node="work"]').count() == 1
    assert "用户确认可以连接" in page.locator(".timeline").inner_text()
    page.screenshot(path=str(artifacts / "flow-process.png"), full_page=True)
