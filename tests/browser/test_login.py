"""The runtime UI in Chromium: log in and land on the app home with the installed forms."""
import pytest

from tests.conftest import browser_login, install_package, make_user
from tests.sample_package import package

#: the browser drives the same pages on either database; SQLite keeps it quick
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def test_login_lands_on_home_with_forms(jimu, live_server, page, artifacts):
    install_package(jimu, package())
    make_user(jimu, "alice", admin=True)
    browser_login(page, live_server, "alice")
    assert page.locator("main").inner_text().count("客户") >= 1
    page.screenshot(path=str(artifacts / "home.png"), full_page=True)
