"""The builder moves stuck instances onto a republished flow from the flow designer (issue #19,
item 3: "the builder shows how many instances wait at each node of the old version and proposes a
mapping"): three purchase requests wait at a removed step; the designer shows them, refuses the
move until that step is mapped, then moves them, and their tasks reach the new step's assignee."""
import pytest

from tests.conftest import browser_login, install_package
from tests.runtime.purchase_package import purchase_package
from tests.runtime.test_flow_migration import V2, Purchasing

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def test_stuck_instances_are_mapped_checked_and_moved_in_the_designer(jimu, client, live_server, page, artifacts):
    shop = Purchasing(jimu, client)
    install_package(jimu, purchase_package(flows=[V2], version="1.1.0"))   # the fix, republished
    browser_login(page, live_server, "root")
    page.goto(f"{live_server}/builder/apps/purchasing/flows/approve")
    page.locator('.fd-node[data-id="check"]').wait_for()                     # the designer has loaded the flow
    page.get_by_role("button", name="运行中的实例").click()
    dialog = page.get_by_role("dialog")
    row = dialog.locator("tbody tr")
    row.first.wait_for()
    assert row.count() == 1 and row.locator("td").first.inner_text() == "3"   # three wait at "broken"
    dialog.locator("#mig-apply").click()                                      # not mapped yet: refused
    dialog.locator('[data-code="flow.migration_unmapped"]').first.wait_for()
    assert {i["flow_version"] for i in shop.instances()} == {1}
    dialog.locator('select[data-from="broken"]').select_option("check")
    dialog.locator("#mig-sla").select_option("recompute")                      # new step, its assignee and SLA
    dialog.locator("#mig-check").click()
    dialog.locator("#mig-result .ok").wait_for()
    page.screenshot(path=str(artifacts / "flow-migration-dialog.png"), full_page=True)
    dialog.locator("#mig-apply").click()
    page.get_by_role("dialog").wait_for(state="detached")
    assert {i["flow_version"] for i in shop.instances()} == {2}
    assert {t["node_id"] for t in shop.tasks("ben")} == {"check"} and len(shop.tasks("ben")) == 3
