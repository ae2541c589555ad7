"""The API reference page (/api/docs) in Chromium: behind a login, it renders the operations of the
caller's OpenAPI document from files served by Jimu itself: no request leaves the server's origin,
and the strict Content-Security-Policy raises no violation."""
import pytest

from tests.conftest import browser_login, install_package, make_user
from tests.runtime.inventory_package import inventory_package

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def test_api_docs_render_the_operations_offline(jimu, live_server, page, artifacts):
    install_package(jimu, inventory_package())
    make_user(jimu, "kim", roles=["keeper"])
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server}/api/docs")
    page.wait_for_url("**/login**")                              # a stranger is sent to log in first
    browser_login(page, live_server, "kim")
    page.goto(f"{live_server}/api/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any(p.startswith("/forms/") and p.endswith("/records") for p in paths)
    assert "/tasks" in paths and "/openapi.json" in paths
    assert page.locator(".opblock-summary-method", has_text="POST").count() >= 1
    page.locator(".opblock-summary-path", has_text="/tasks").first.click()  # an operation opens with its model
    page.wait_for_selector(".opblock-body .responses-wrapper")
    page.screenshot(path=str(artifacts / "api-docs.png"), full_page=False)
    outside = [u for u in requests if not u.startswith(live_server) and not u.startswith("data:")]
    assert not outside, outside
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
