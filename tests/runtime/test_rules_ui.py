"""The in-app inbox badge in the page header (Chromium): unread count, list, no script from data."""
import pytest

from tests.conftest import browser_login, install_package, make_user
from tests.runtime.rules_helpers import create, package

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


def test_unread_badge_and_inbox_list(jimu, live_server, page, artifacts):
    make_user(jimu, "ann", admin=True)
    install_package(jimu, package([
        {"key": "tell", "trigger": {"type": "record_created"},
         "actions": [{"type": "notify", "channel": "in_app", "to": {"users": ["ann"]},
                      "subject": "新工单: {标题}"}]}]))
    create(jimu, "工单", {"标题": "<img src=x onerror=alert(1)>"})
    create(jimu, "工单", {"标题": "打印机"})
    from tests.runtime.rules_helpers import run_jobs
    run_jobs(jimu)  # the outbox renders the messages into ann's inbox
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    browser_login(page, live_server, "ann")
    badge = page.locator("#jimu-inbox [data-unread]")
    badge.wait_for(state="visible")
    assert badge.text_content() == "2"
    page.locator("#jimu-inbox summary").click()
    items = page.locator("#jimu-inbox li a")
    items.first.wait_for()
    assert items.all_text_contents() == ["新工单: 打印机", "新工单: <img src=x onerror=alert(1)>"]
    page.screenshot(path=str(artifacts / "rules-inbox.png"))
    assert dialogs == []
