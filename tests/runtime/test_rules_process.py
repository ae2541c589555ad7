"""Rules that speak the process (issue 18): a rule's condition reads the record's flow state
(``process.node``, ``process.done`` ...) and its recipients name the current assignee, the
assignee's group lead and the submitter — so "not handled in 2 hours → mail the assignee" needs no
status field and mails the one person who holds the task, not the whole group.

Another domain than the helpdesk: an equipment-repair app (faults reported by staff, dispatched by
a flow to the maintenance group, round robin)."""
from __future__ import annotations

import email
from email import policy

import pytest
import sqlalchemy as sa

from runtime import db, jobs
from tests.conftest import install_package, make_user

PEOPLE = {"mia": "tech", "max": "tech", "moe": "tech", "lena": "tech", "sam": "staff", "sue": "staff"}


def package(rules):
    return {
        "format": "jimu.app", "version": 2,
        "app": {"key": "plant", "version": "1.0.0", "label": {"zh-CN": "设备报修", "en": "Equipment repair"}},
        "roles": [{"key": "tech", "version": 1, "label": "Technician", "permissions": {"fault": ["read", "update"]}},
                  {"key": "staff", "version": 1, "label": "Staff", "permissions": {"fault": ["create", "read"]},
                   "rows": {"fault": {"scope": "own"}}}],
        "groups": [{"key": "maint", "version": 1, "label": {"zh-CN": "维修组", "en": "Maintenance"},
                    "members": ["mia", "max", "moe"], "lead": "lena"}],
        "forms": [{"key": "fault", "version": 1, "label": {"zh-CN": "设备故障", "en": "Fault"},
                   "title_field": "equipment",
                   "fields": [{"key": "equipment", "label": {"zh-CN": "设备", "en": "Equipment"}, "widget": "text",
                               "required": True},
                              {"key": "detail", "label": {"zh-CN": "描述", "en": "Detail"}, "widget": "text"}]}],
        "flows": [{"key": "dispatch", "version": 1, "form": "fault", "label": {"zh-CN": "派修", "en": "Dispatch"},
                   "nodes": [{"id": "s", "type": "start"},
                             {"id": "fix", "type": "user_task", "label": {"zh-CN": "处理中", "en": "Handling"},
                              "config": {"assignee": {"kind": "round_robin", "value": "maint"},
                                         "outcomes": ["fixed"]}},
                             {"id": "e", "type": "end", "config": {"outcome": "fixed"}}],
                   "edges": [{"id": "s-fix", "from": "s", "to": "fix"},
                             {"id": "fix-e", "from": "fix", "to": "e", "outcome": "fixed"}]}],
        "rules": rules,
    }


def reminder(key, hours, condition, to, subject):
    return {"key": key, "version": 1, "form": "fault", "label": key,
            "trigger": {"type": "time_after", "field": "created_at", "hours": hours}, "condition": condition,
            "actions": [{"type": "notify", "channel": "email", "to": to, "subject": subject,
                         "body": "{equipment}: {detail}"}]}


#: the tutorial rule: still at the handling step two hours after it was reported → mail the assignee
STILL_AT_FIX = reminder("two_hours", 2, {"field": "process.node", "op": "eq", "value": "fix"}, {"assignee": True},
                        "2 小时未处理: {equipment}")
#: four hours and the flow has not ended → the assignee's group lead and who reported it
NOT_DONE = reminder("four_hours", 4, {"expr": "not process.done"}, {"lead": True, "submitter": True},
                    "4 小时仍未完成: {equipment}")


@pytest.fixture
def plant(jimu):
    from runtime.auth.users import set_roles
    ids = {name: make_user(jimu, name) for name in PEOPLE}
    install_package(jimu, package([STILL_AT_FIX, NOT_DONE]))
    with jimu.begin() as conn:  # roles exist once the app is installed; make_user gives nobody an address
        for name, role in PEOPLE.items():
            set_roles(conn, ids[name], [role])
            conn.execute(sa.update(db.users).where(db.users.c.username == name).values(email=f"{name}@plant.test"))
    return ids


def principal(jimu, uid):
    from runtime.auth.principal import load_principal
    with jimu.read() as conn:
        return load_principal(conn, uid)


def report(jimu, uid, equipment):
    from runtime.records import Records
    with jimu.begin() as conn:
        return Records(jimu, conn, principal(jimu, uid)).create("fault", {"equipment": equipment, "detail": "异响"})


def open_task(jimu, record_id):
    from runtime.flows.tables import flow_tasks as t
    with jimu.read() as conn:
        return conn.execute(sa.select(t).where(t.c.record_id == record_id, t.c.status == "open")).mappings().one()


def username(jimu, uid):
    with jimu.read() as conn:
        return conn.execute(sa.select(db.users.c.username).where(db.users.c.id == uid)).scalar()


def flows(jimu, fn):
    from runtime.flows import FlowRuntime
    with jimu.begin() as conn:
        return fn(FlowRuntime(jimu, conn))


def mails(smtp):
    out = []
    for rcpt, raw in smtp.messages:
        msg = email.message_from_bytes(raw, policy=policy.default)
        out.append((sorted(rcpt), str(msg["Subject"])))
    return sorted(out)


def test_the_rule_mails_only_the_person_who_holds_the_task_while_the_flow_waits_at_the_handling_step(
        jimu, plant, smtp, clock):
    pump = report(jimu, plant["sam"], "泵 3")
    task = open_task(jimu, pump["id"])
    holder = username(jimu, task["assignee_user_id"])
    assert task["assignee_group"] == "maint" and holder in ("mia", "max", "moe")
    # handed on to a colleague before the deadline: the colleague holds it now
    other = next(n for n in ("mia", "max", "moe") if n != holder)
    admin = principal(jimu, make_user(jimu, "root", admin=True))
    flows(jimu, lambda rt: rt.reassign(admin, task["id"], {"kind": "user", "value": other}))
    fan = report(jimu, plant["sue"], "风机 7")  # this one gets fixed in time
    flows(jimu, lambda rt: rt.complete(principal(jimu, open_task(jimu, fan["id"])["assignee_user_id"]),
                                       open_task(jimu, fan["id"])["id"], outcome="fixed"))

    clock.advance(hours=1, minutes=59)
    jobs.run_due(jimu)
    assert smtp.messages == []
    clock.advance(minutes=2)
    jobs.run_due(jimu)
    jobs.run_due(jimu)  # the rule's message goes out through the outbox
    assert mails(smtp) == [([f"{other}@plant.test"], "2 小时未处理: 泵 3")]  # not the group, not the fixed fan

    from runtime.rules.tables import rule_firings as f
    with jimu.read() as conn:
        firings = {r.record_id: r.matched for r in conn.execute(sa.select(f).where(f.c.rule_key == "two_hours"))}
    assert firings == {pump["id"]: True}  # the fixed fan's firing did not match (non-matches are not logged)


def test_lead_and_submitter_hear_while_the_flow_has_not_ended_and_nobody_once_it_has(jimu, plant, smtp, clock):
    pump = report(jimu, plant["sam"], "泵 3")
    fan = report(jimu, plant["sue"], "风机 7")
    clock.advance(hours=3)
    jobs.run_due(jimu)
    jobs.run_due(jimu)  # the two-hour reminders went out
    task = open_task(jimu, fan["id"])
    flows(jimu, lambda rt: rt.complete(principal(jimu, task["assignee_user_id"]), task["id"], outcome="fixed"))
    smtp.messages.clear()
    clock.advance(hours=1, minutes=1)
    jobs.run_due(jimu)
    jobs.run_due(jimu)
    got = mails(smtp)
    assert {s for _, s in got} == {"4 小时仍未完成: 泵 3"}  # the fixed fan's flow has ended: nothing for it
    assert sorted(a for rcpt, _ in got for a in rcpt) == ["lena@plant.test", "sam@plant.test"]  # no technician
    assert pump["id"] != fan["id"]


def test_the_process_a_condition_reads(jimu, plant):
    pump = report(jimu, plant["sam"], "泵 3")
    task = open_task(jimu, pump["id"])
    seen = flows(jimu, lambda rt: rt.process("fault", pump["id"]))
    assert seen == {"flow": "dispatch", "state": "running", "done": False, "node": "fix", "nodes": ["fix"],
                    "assignees": [username(jimu, task["assignee_user_id"])]}
    flows(jimu, lambda rt: rt.complete(principal(jimu, task["assignee_user_id"]), task["id"], outcome="fixed"))
    assert flows(jimu, lambda rt: rt.process("fault", pump["id"])) == {
        "flow": "dispatch", "state": "completed", "done": True, "node": None, "nodes": [], "assignees": []}


def test_the_same_resolver_answers_the_dry_run(jimu, plant, client, admin_headers):
    pump = report(jimu, plant["sam"], "泵 3")
    holder = username(jimu, open_task(jimu, pump["id"])["assignee_user_id"])
    from runtime.recipients import resolve_users
    with jimu.read() as conn:
        record = {"id": pump["id"], "created_by": plant["sam"]}
        assert resolve_users(conn, {"assignee": True}, record, "fault") == [plant[holder]]
        assert resolve_users(conn, {"lead": True, "submitter": True}, record, "fault") == [plant["sam"], plant["lena"]]
        assert resolve_users(conn, {"groups": ["maint"]}, record, "fault") == [plant[n] for n in ("max", "mia", "moe")]


@pytest.mark.parametrize("condition, code", [
    ({"expr": "process.stage == 'fix'"}, "rule.unknown_process_key"),
    ({"field": "process.stage", "op": "eq", "value": "fix"}, "rule.unknown_process_key"),
])
def test_a_process_key_that_does_not_exist_is_refused_when_the_rule_is_saved(condition, code):
    from engines.rule import RuleInvalid, compile_rule
    with pytest.raises(RuleInvalid) as err:
        compile_rule({**STILL_AT_FIX, "condition": condition})
    assert [e["code"] for e in err.value.errors] == [code]


def test_a_step_no_flow_of_the_form_has_is_refused_when_the_package_is_checked():
    from apps.validation import semantic_errors as validate_package
    bad = package([reminder("gone", 2, {"field": "process.node", "op": "in", "value": ["fix", "inspect"]},
                            {"assignee": True}, "x")])
    errors = validate_package(bad)
    assert [(e["code"], e["pointer"], e.get("node")) for e in errors] == [
        ("package.unknown_node", "/rules/0/condition/value/1", "inspect")]
    assert validate_package(package([STILL_AT_FIX, NOT_DONE])) == []
