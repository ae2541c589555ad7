"""A nurse writing a visit note inserts a published leaflet's text into the advice field from the
search beside it (the field's insert_from), then saves: the note holds the leaflet's text."""
import pytest

from tests.conftest import browser_login, install_package, make_user
from tests.runtime.rules_helpers import create
from tests.runtime.test_snippets import CLINIC

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def test_a_leaflet_is_inserted_at_the_caret_and_saved(jimu, live_server, page, artifacts):
    install_package(jimu, CLINIC)
    create(jimu, "leaflet", {"title": "术后护理", "body": "<p>伤口保持干燥</p>", "published": True})
    create(jimu, "leaflet", {"title": "草稿", "body": "<p>未审核</p>", "published": False})
    make_user(jimu, "nina", roles=["nurse"])
    browser_login(page, live_server, "nina")
    page.goto(f"{live_server}/forms/visit_note/new")
    page.get_by_label("Patient").fill("王小明")
    advice = page.locator("textarea[name=advice]")
    advice.fill("医嘱：")
    box = page.locator('[data-snippets-for="advice"]')
    box.locator("summary").click()
    box.locator("input[type=search]").fill("护理")
    choice = box.locator("button[data-snippet-id]")
    choice.first.wait_for()
    assert choice.all_inner_texts() == ["术后护理"]   # the unpublished draft is not offered
    choice.first.click()
    assert advice.input_value() == "医嘱：伤口保持干燥"
    page.screenshot(path=str(artifacts / "insert-snippet.png"), full_page=True)
    page.get_by_role("button", name="保存").click()
    page.wait_for_selector("dl.record")
    rid = int(page.url.rstrip("/").split("/")[-1])
    from tests.runtime.rules_helpers import get
    assert get(jimu, "visit_note", rid)["advice"] == "医嘱：伤口保持干燥"
