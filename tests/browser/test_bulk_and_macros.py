"""A desk clerk ticks records in a list and changes their status in one go (one of them refused by the
form's rule, with its reason), then answers a repair with a macro from its page. Bounded: one list,
one record."""
import pytest

from tests.conftest import browser_login
from tests.runtime.repairs_package import repairs  # noqa: F401  (fixture)

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def test_bulk_selection_and_a_macro(repairs, live_server, page, artifacts):
    r = repairs
    ids = [r.create("repair", title=f"job {i}", fixer=r.ids["fay"], status="open") for i in range(3)]
    page.set_default_timeout(10_000)
    browser_login(page, live_server, "dora")
    page.goto(f"{live_server}/forms/repair")
    for rid in ids[:2]:
        page.locator(f'input[name=ids][value="{rid}"]').check()
    page.locator('.bulk-set[data-field="status"] select').select_option("done")
    page.locator('.bulk-set[data-field="status"] button').click()
    page.wait_for_selector("text=已完成 2 条，拒绝 0 条")
    assert [r.get("repair", i)["status"] for i in ids] == ["done", "done", "open"]
    # waiting needs a reason: every ticked record is refused with the form's message
    page.locator("#select-all").check()
    assert page.locator("input[name=ids]:checked").count() == 3
    page.locator('.bulk-set[data-field="status"] select').select_option("waiting")
    page.locator('.bulk-set[data-field="status"] button').click()
    page.wait_for_selector("text=已完成 0 条，拒绝 3 条")
    assert page.locator(".flash").inner_text().count("Reason is required") == 3   # each refusal says why
    page.screenshot(path=str(artifacts / "bulk-refused.png"), full_page=True)
    page.goto(f"{live_server}/forms/repair/{ids[2]}")
    page.locator('form[data-macro="ask_photo"] button').click()
    page.wait_for_selector('[data-related="note"] >> text=Please send us a photo of the job 2.')
    assert r.get("repair", ids[2])["status"] == "waiting"
