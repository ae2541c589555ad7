"""Live chat probed for script injection (issue 20): a visitor's name and message written as HTML show
as text in the console (queue, header, conversation), and a desk answer written as HTML shows as text
in the widget on the host page; nothing of it runs. Building management, not the helpdesk."""
import pytest

from tests.browser.test_live_chat import _site
from tests.conftest import browser_login, install_package, make_user
from tests.runtime.chat_package import chat_package

pytestmark = [pytest.mark.parametrize("db_url", ["sqlite"], indirect=True), pytest.mark.timeout(120)]

NAME = '<img src=x onerror="window.__pwned=1">Mallory'
TEXT = '<script>window.__pwned=2</script><b onmouseover="window.__pwned=3">hi</b>'
ANSWER = '<img src=y onerror="window.__pwned=4">ok'


def test_html_from_either_side_is_shown_as_text(jimu, live_server, browser):
    site = _site(live_server)
    try:
        origin = f"http://localhost:{site.server_port}"
        install_package(jimu, chat_package((origin,)))
        make_user(jimu, "desk", roles=["desk"])
        visitor = browser.new_context().new_page()
        visitor.goto(f"{origin}/")
        visitor.click("[data-jimu-chat-open]")
        panel = "[data-jimu-chat-panel]"
        visitor.fill(f"{panel} input[name=name]", NAME)
        visitor.fill(f"{panel} form input", TEXT)
        visitor.press(f"{panel} form input", "Enter")
        visitor.locator(f"{panel} [data-from=visitor]").first.wait_for()

        desk = browser.new_context().new_page()
        browser_login(desk, live_server, "desk")
        desk.goto(f"{live_server}/chat/enquiry")
        desk.wait_for_function("document.getElementById('chat-console').dataset.ready === '1'")
        desk.click("[data-queue] li:has-text('Mallory')")
        shown = desk.locator("[data-messages] [data-from=visitor]").first
        shown.wait_for()
        assert TEXT in shown.inner_text()
        assert NAME in desk.locator("[data-queue]").inner_text() and NAME in desk.locator("[data-title]").inner_text()
        shown.hover()
        desk.fill("[data-text]", ANSWER)
        desk.click("[data-send]")
        visitor.locator(f"{panel} [data-from=staff]").first.wait_for(timeout=20000)
        assert ANSWER in visitor.locator(f"{panel} [data-from=staff]").first.inner_text()
        visitor.locator(f"{panel} [data-from=visitor]").first.hover()
        for page in (visitor, desk):
            assert page.evaluate("window.__pwned === undefined")
            assert page.locator("img[src=x], img[src=y]").count() == 0
    finally:
        site.shutdown()
