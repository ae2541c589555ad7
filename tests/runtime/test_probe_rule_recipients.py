"""Rules that speak the process (issue 18) probed for leaks: the current assignee, the assignee's
group lead and the submitter are told about a record only if they may read it, and never see a field
their roles hide. Equipment repair (not the helpdesk); the lead holds no role of the app, a submitter
lost theirs after reporting, the technicians may not see the reporter's private detail."""
from __future__ import annotations

import email
from email import policy

import pytest
import sqlalchemy as sa

from runtime import db, jobs
from tests.conftest import install_package, make_user
from tests.runtime.test_rules_process import PEOPLE, open_task, package, report, reminder, username

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

EVERYONE = reminder("everyone", 2, {"field": "process.node", "op": "eq", "value": "fix"},
                    {"assignee": True, "lead": True, "submitter": True}, "未处理: {equipment}")


@pytest.fixture
def plant(jimu):
    from runtime.auth.users import set_roles
    pkg = package([EVERYONE, {**EVERYONE, "key": "in_app", "actions": [
        {"type": "notify", "channel": "in_app", "to": {"assignee": True, "lead": True, "submitter": True},
         "subject": "未处理: {equipment}", "body": "{equipment}: {detail}"}]}])
    pkg["roles"][0]["fields"] = {"fault": {"detail": "hidden"}}     # technicians do not see the detail
    ids = {name: make_user(jimu, name) for name in PEOPLE}
    install_package(jimu, pkg)
    with jimu.begin() as conn:
        for name, role in PEOPLE.items():
            if name != "lena":                                        # the lead holds no role of the app
                set_roles(conn, ids[name], [role])
            conn.execute(sa.update(db.users).where(db.users.c.username == name).values(email=f"{name}@plant.test"))
    return ids


def _mails(smtp):
    out = {}
    for rcpt, raw in smtp.messages:
        msg = email.message_from_bytes(raw, policy=policy.default)
        body = msg.get_body(preferencelist=("plain",)).get_content()
        for r in rcpt:
            out[r] = body
    return out


def _inbox(jimu):
    from runtime.rules.tables import notifications as n
    with jimu.read() as conn:
        rows = conn.execute(sa.select(db.users.c.username, n.c.body).join(db.users, db.users.c.id == n.c.user_id)
                            .where(n.c.rule_key == "in_app")).all()
    return {u: b for u, b in rows}


def test_the_process_recipients_hear_only_what_they_may_read(jimu, plant, smtp, clock):
    pump = report(jimu, plant["sam"], "泵 3")
    fan = report(jimu, plant["sue"], "风机 7")
    with jimu.begin() as conn:                                        # sue leaves: no role any more
        conn.execute(sa.delete(db.user_roles).where(db.user_roles.c.user_id == plant["sue"]))
    holders = {pump["id"]: username(jimu, open_task(jimu, pump["id"])["assignee_user_id"]),
               fan["id"]: username(jimu, open_task(jimu, fan["id"])["assignee_user_id"])}
    clock.advance(hours=2, minutes=1)
    for _ in range(3):
        jobs.run_due(jimu)
    mails = _mails(smtp)
    assert set(mails) == {f"{holders[pump['id']]}@plant.test", f"{holders[fan['id']]}@plant.test", "sam@plant.test"}
    assert "lena@plant.test" not in mails and "sue@plant.test" not in mails
    assert "异响" in mails["sam@plant.test"]                          # the reporter sees their own detail
    for tech in set(holders.values()):
        assert "异响" not in mails[f"{tech}@plant.test"]              # the technician does not
    inbox = _inbox(jimu)
    assert "lena" not in inbox and "sue" not in inbox and "异响" in inbox["sam"]
    assert all("异响" not in inbox[t] for t in holders.values())



def test_the_dry_run_of_a_rule_reading_the_process_matches_as_the_rule_does(jimu, plant, client, clock):
    """The tutorial rule ("still at the handling step") dry-run in the builder: it matches the records
    whose flow waits at that step, as the rule itself does two hours later, and none once it has moved."""
    from tests.builder.test_api import login
    pump = report(jimu, plant["sam"], "泵 3")
    fan = report(jimu, plant["sam"], "风机 7")
    task = open_task(jimu, fan["id"])
    from runtime.auth.principal import load_principal
    from runtime.flows import FlowRuntime
    with jimu.begin() as conn:
        FlowRuntime(jimu, conn).complete(load_principal(conn, task["assignee_user_id"]), task["id"], outcome="fixed")
    make_user(jimu, "root", admin=True)
    login(client, "root")
    resp = client.post("/builder/api/apps/plant/rules/dry-run", json={"rule": EVERYONE})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert (body["scanned"], body["matched"], body["errors"]) == (2, 1, [])
    assert [r["id"] for r in body["records"]] == [pump["id"]]
    clock.advance(hours=2, minutes=1)
    for _ in range(3):
        jobs.run_due(jimu)
    from runtime.rules.tables import rule_firings as f
    with jimu.read() as conn:
        fired = {r.record_id for r in conn.execute(sa.select(f).where(f.c.rule_key == "everyone", f.c.matched))}
    assert fired == {pump["id"]}


def test_the_dry_run_names_only_who_the_message_would_reach(jimu, plant, client):
    """The builder's dry run says who a rule's message would reach: the same people the outbox sends
    to, not the lead without a role nor a submitter who lost theirs."""
    from tests.builder.test_api import login
    pump = report(jimu, plant["sam"], "泵 3")
    fan = report(jimu, plant["sue"], "风机 7")
    with jimu.begin() as conn:
        conn.execute(sa.delete(db.user_roles).where(db.user_roles.c.user_id == plant["sue"]))
    holder = {r: username(jimu, open_task(jimu, r)["assignee_user_id"]) for r in (pump["id"], fan["id"])}
    make_user(jimu, "root", admin=True)
    login(client, "root")
    in_app = {**EVERYONE, "key": "in_app_dry", "actions": [
        {"type": "notify", "channel": "in_app", "to": {"assignee": True, "lead": True, "submitter": True},
         "subject": "s", "body": "b"}]}
    reached = {}
    for rule in (EVERYONE, in_app):
        resp = client.post("/builder/api/apps/plant/rules/dry-run", json={"rule": rule})
        assert resp.status_code == 200, resp.get_json()
        for row in resp.get_json()["records"]:
            (effect,) = row["effects"]
            reached[(rule["key"], row["id"])] = sorted(effect["would_reach"])
    assert reached == {
        ("everyone", pump["id"]): sorted([f"{holder[pump['id']]}@plant.test", "sam@plant.test"]),
        ("everyone", fan["id"]): [f"{holder[fan['id']]}@plant.test"],
        ("in_app_dry", pump["id"]): sorted([holder[pump["id"]], "sam"]),
        ("in_app_dry", fan["id"]): [holder[fan["id"]]]}
