"""Rules that speak the process (issue 18 item 3) in the builder: a business user picks "流程节点 =
处理中" and "当前处理人" with labels only, no key typed; the expression check takes the step's label
and stores the node's id; the published rule mails the one technician holding the task.

The equipment-repair app of tests/runtime/test_rules_process.py, with a designer role."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from runtime import db, jobs
from tests.builder.steps_rule import build_still_at_step_mail_rule
from tests.builder.test_api import login
from tests.conftest import browser_login, install_package, make_user
from tests.runtime.test_rules_process import PEOPLE, mails, open_task, package, report, username

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

#: the fields the rule designer hands the expression check for a rule on ``fault`` (rule-fields.js)
STEP = {"key": "process.node", "label": {"zh-CN": "流程节点", "en": "Flow step"},
        "options": [{"value": "fix", "label": {"zh-CN": "处理中", "en": "Handling"}}]}
DONE = {"key": "process.done", "label": {"zh-CN": "流程已结束", "en": "Flow ended"}}
FIELDS = [{"key": "equipment", "label": {"zh-CN": "设备", "en": "Equipment"}}, STEP, DONE]


def _package():
    data = package([])
    data["roles"].append({"key": "designer", "version": 1, "label": "Designer", "builder": True,
                          "permissions": {"fault": ["create", "read", "update"]}})
    return data


@pytest.fixture
def plant(jimu):
    from runtime.auth.users import set_roles
    ids = {name: make_user(jimu, name) for name in PEOPLE}
    install_package(jimu, _package())
    ids["bea"] = make_user(jimu, "bea", roles=["designer"])
    with jimu.begin() as conn:
        for name, role in PEOPLE.items():
            set_roles(conn, ids[name], [role])
            conn.execute(sa.update(db.users).where(db.users.c.id == ids[name]).values(email=f"{name}@plant.test"))
    return ids


def test_a_condition_on_the_flow_step_is_typed_with_labels_and_stored_with_ids(plant, client):
    bea = login(client, "bea")
    for source in ('流程节点 == "处理中" and not 流程已结束', 'Flow step == "Handling" and not Flow ended'):
        body = bea.post("/builder/api/expr/check", json={"source": source, "fields": FIELDS}).get_json()
        assert body["ok"], body
        assert body["source"] == 'process.node == "fix" and not process.done'
    # a step's id typed as such stays; before, "process" was an unknown name
    body = bea.post("/builder/api/expr/check", json={"source": 'process.node in ["fix"]', "fields": FIELDS}).get_json()
    assert body["ok"] and body["source"] == 'process.node in ["fix"]'
    old = bea.post("/builder/api/expr/check", json={"source": '流程节点 == "处理中"',
                                                    "fields": FIELDS[:1]}).get_json()
    assert not old["ok"] and old["error"]["code"] == "expr.unknown_name"


def test_the_tutorial_rule_is_picked_by_labels_and_mails_only_the_holder(plant, page, live_server, jimu, clock, smtp,
                                                                         artifacts):
    browser_login(page, live_server, "bea")
    build_still_at_step_mail_rule(page, live_server, "plant", "fault", "处理中", title_field="equipment",
                                  screenshot=str(artifacts / "builder-rule-process-zh-CN.png"))
    from runtime.installer import installed_package
    with jimu.read() as conn:
        [rule] = installed_package(conn, "plant")["rules"]
    assert rule["condition"] == {"all": [{"field": "process.node", "op": "eq", "value": "fix"}]}
    assert rule["actions"][0]["to"] == {"assignee": True}

    pump = report(jimu, plant["sam"], "泵 3")
    holder = username(jimu, open_task(jimu, pump["id"])["assignee_user_id"])
    clock.advance(hours=2, minutes=1)
    jobs.run_due(jimu)
    jobs.run_due(jimu)
    assert mails(smtp) == [([f"{holder}@plant.test"], "2 小时未处理: 泵 3")]


def test_a_stored_process_condition_reads_with_names_in_the_designer(jimu, plant, page, live_server):
    data = _package()
    data["app"]["version"] = "1.0.1"
    data["rules"] = [{"key": "two_hours", "version": 1, "form": "fault", "label": "两小时未处理提醒",
                      "trigger": {"type": "time_after", "field": "created_at", "hours": 2},
                      "condition": {"expr": 'process.node == "fix" and not process.done'},
                      "actions": [{"type": "notify", "channel": "email", "to": {"assignee": True}, "subject": "x"}]}]
    install_package(jimu, data)
    browser_login(page, live_server, "bea")
    page.goto(f"{live_server}/builder/apps/plant/rules/two_hours")
    box = page.locator("#rule-cond-expr")
    box.wait_for()
    assert box.input_value() == '流程节点 == "处理中" and not 流程已结束'   # names, no key or node id
    page.wait_for_selector(".expr-ok")                                    # and the check takes it as it reads
