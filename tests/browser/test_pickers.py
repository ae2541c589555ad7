"""People pick linked records, users and groups by name in the runtime form (no id typed), and see
names, not ids, when they edit the record again. Tried as an agency's staff member would."""
import pytest

from tests.conftest import browser_login
from tests.runtime.agency_package import agency  # noqa: F401  (fixture)

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def test_choose_client_partners_and_members_by_name(agency, live_server, page, artifacts):
    browser_login(page, live_server, "sam")
    page.goto(f"{live_server}/forms/project/new")
    page.wait_for_selector("form[data-pickers=ready]")
    page.get_by_label("Title").fill("Rebrand")
    client = page.get_by_role("combobox", name="Client", exact=True)
    client.fill("ac")
    options = page.locator('[data-picker-for="client"] [role=option]')
    options.first.wait_for()
    assert options.all_inner_texts() == ["Acme"]          # Globex is outside sam's clients
    client.press("Enter")
    partners = page.get_by_role("combobox", name="Partners")
    partners.fill("acme")
    page.locator('[data-picker-for="partners"] [role=option]', has_text="Acme").click()
    members = page.get_by_role("combobox", name="Members")
    members.fill("ca")
    page.locator('[data-picker-for="members"] [role=option]', has_text="cat").click()
    members.fill("sa")
    page.locator('[data-picker-for="members"] [role=option]', has_text="sam").click()
    assert page.locator('[data-picker-for="members"] .chip').count() == 2
    page.locator('[data-picker-for="members"] .chip', has_text="cat").get_by_role("button").click()
    page.screenshot(path=str(artifacts / "picker-new-project.png"), full_page=True)
    page.get_by_role("button", name="保存").click()
    page.wait_for_selector("dl.record")
    rid = int(page.url.rstrip("/").split("/")[-1])
    record = agency.get("root", f"/api/v1/forms/project/records/{rid}").get_json()
    assert record["client"] == agency.clients["Acme"] and record["partners"] == [agency.clients["Acme"]]
    assert record["members"] == [agency.ids["sam"]]
    page.goto(f"{live_server}/forms/project/{rid}/edit")
    page.wait_for_selector("form[data-pickers=ready]")
    assert page.get_by_role("combobox", name="Client", exact=True).input_value() == "Acme"
    assert page.locator('[data-picker-for="members"] .chip').all_inner_texts()[0].startswith("sam")
    page.get_by_role("combobox", name="Client", exact=True).fill("")   # emptied: the link is cleared
    page.get_by_role("button", name="保存").click()
    page.wait_for_selector("dl.record")
    assert agency.get("root", f"/api/v1/forms/project/records/{rid}").get_json()["client"] is None


def test_choosing_a_client_fills_its_name_on_the_page(jimu, client, live_server, page):
    from tests.conftest import api_token, install_package, make_user
    from tests.runtime.test_link_fill import filling_package
    install_package(jimu, filling_package())
    root = make_user(jimu, "root", admin=True)
    r = client.post("/api/v1/forms/client/records", json={"name": "Initech", "account_manager": root},
                    headers={"Authorization": f"Bearer {api_token(jimu, root)}"})
    assert r.status_code == 201
    browser_login(page, live_server, "root")
    page.goto(f"{live_server}/forms/project/new")
    page.wait_for_selector("form[data-pickers=ready]")
    page.get_by_role("combobox", name="Client", exact=True).fill("init")
    page.locator('[data-picker-for="client"] [role=option]', has_text="Initech").click()
    page.wait_for_function("document.querySelector('[name=client_name]').value === 'Initech'")
    assert page.get_by_role("combobox", name="Manager").input_value() == ""   # pickers are not filled by the page
    page.get_by_label("Title").fill("Migration")
    page.get_by_role("button", name="保存").click()
    page.wait_for_selector("dl.record")
    assert "Initech" in page.locator("dl.record").inner_text()   # the server filled the manager too

