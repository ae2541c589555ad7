"""Service-level clocks and the messages of flows, from the outside, on an insurance-claims package
(not the helpdesk): targets chosen by a linked record's tier and the amount, the clock paused while
the claim waits for documents, a warning before the deadline and a breach, all in working time;
SLA and escalation messages delivered in the app, by e-mail and to a group robot, only to people
who may read the claim; new tasks announced to their assignee; inbox rows that say what the task
is about. Time moves with the injectable clock."""
import json
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from runtime import db, jobs
from runtime.rules.tables import notifications
from tests.conftest import install_package, make_user, sign_in
from tests.runtime.test_notify import hook  # noqa: F401 — the local HTTP receiver fixture

OFFICE = {"key": "office", "version": 1, "label": "Office", "timezone": "Asia/Shanghai",
          "hours": {d: [["09:00", "12:00"], ["13:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}}
HOLDER = {"key": "holder", "version": 1, "label": {"zh-CN": "投保人", "en": "Policyholder"}, "title_field": "name",
          "fields": [{"key": "name", "label": "Name", "widget": "text"},
                     {"key": "tier", "label": "Tier", "widget": "select",
                      "config": {"options": ["gold", "standard"]}}]}
CLAIM = {"key": "claim", "version": 1, "label": {"zh-CN": "理赔申请", "en": "Claim"}, "title_field": "subject",
         "list_fields": ["claim_no", "subject", "amount", "status"],
         "fields": [{"key": "claim_no", "label": "Claim no.", "widget": "text"},
                    {"key": "subject", "label": "Subject", "widget": "text"},
                    {"key": "holder", "label": "Holder", "widget": "link", "config": {"form": "holder"}},
                    {"key": "amount", "label": "Amount", "widget": "number"},
                    {"key": "status", "label": "Status", "widget": "text"},
                    {"key": "decided_at", "label": "Decided at", "widget": "datetime"},
                    {"key": "adjuster_note", "label": "Note", "widget": "text"}]}


def sla_section(robot_url=None):
    breach = [{"channel": "in_app", "to": {"assignee": True, "lead": True},
               "subject": "超时 {sla_label}: {subject}", "body": "期限 {sla_due}"},
              {"channel": "email", "to": {"roles": ["manager"]}, "subject": "Breach {claim_no}",
               "body": "{sla_label} due {sla_due}"}]
    if robot_url:
        breach.append({"channel": "wecom", "url": robot_url, "subject": "理赔超时 {claim_no}", "body": "{sla_due}"})
    return {"calendar": "office", "pause_when": "status == 'waiting_docs'",
            "clocks": [{"key": "decision", "label": {"zh-CN": "理赔决定", "en": "Decision"},
                        "met_when": "not is_empty(decided_at)",
                        "targets": [{"when": "holder.tier == 'gold'", "after": "PT2H"},
                                    {"when": "amount > 10000", "after": "PT4H"},
                                    {"after": "PT8H"}],
                        "warn": {"at": 0.75},
                        "notify": {"warning": [{"channel": "in_app", "to": {"assignee": True},
                                                "subject": "即将超时 {sla_label}: {subject}", "body": "期限 {sla_due}"}],
                                   "breach": breach}}]}


def claims_package(sla=None, review=None):
    review = {"assignee": {"kind": "group", "value": "adjusters"}, "outcomes": ["approve", "reject"], **(review or {})}
    flow = {"key": "claim_flow", "version": 1, "form": "claim", "label": {"zh-CN": "理赔", "en": "Claims"},
            "nodes": [{"id": "s", "type": "start"},
                      {"id": "review", "type": "user_task", "label": {"zh-CN": "理赔审核", "en": "Review"},
                       "config": review},
                      {"id": "end", "type": "end"}],
            "edges": [{"from": "s", "to": "review"}, {"from": "review", "to": "end"}]}
    if sla is not None:
        flow["sla"] = sla
    return {"format": "jimu.app", "version": 2, "app": {"key": "claims", "version": "1.0.0", "label": "Claims"},
            "calendars": [OFFICE],
            "roles": [{"key": "adjuster", "version": 1, "label": "Adjuster",
                       "permissions": {"claim": ["read", "update"], "holder": ["read"]}},
                      {"key": "manager", "version": 1, "label": "Manager",
                       "permissions": {"claim": ["read"], "holder": ["read"]}},
                      {"key": "clerk", "version": 1, "label": "Clerk", "permissions": {"holder": ["read"]}}],
            "groups": [{"key": "adjusters", "version": 1, "label": "Adjusters", "members": ["amy"], "lead": "lee"}],
            "forms": [HOLDER, CLAIM], "flows": [flow]}


@pytest.fixture
def people(jimu, monkeypatch):
    monkeypatch.setitem(jimu.config, "TIMEZONE", "Asia/Shanghai")  # the office's: messages show local time
    ids = {name: make_user(jimu, name) for name in ("amy", "lee", "max", "cid")}
    ids["root"] = make_user(jimu, "root", admin=True)
    with jimu.begin() as conn:
        for name in ids:
            conn.execute(sa.update(db.users).where(db.users.c.username == name).values(email=f"{name}@ins.example"))
    return ids


def install(jimu, people, **kw):
    install_package(jimu, claims_package(**kw))
    with jimu.begin() as conn:  # the roles exist once the package is installed
        from runtime.auth.users import set_roles
        for name, role in (("amy", "adjuster"), ("lee", "adjuster"), ("max", "manager"), ("cid", "clerk")):
            set_roles(conn, people[name], [role])


def write(jimu, form, values, rid=None):
    from runtime.auth.principal import load_principal
    from runtime.records import Records
    with jimu.begin() as conn:
        root = conn.execute(sa.select(db.users.c.id).where(db.users.c.username == "root")).scalar()
        r = Records(jimu, conn, load_principal(conn, root))
        return r.update(form, rid, values) if rid else r.create(form, values)


def drain(jimu):
    """Run what is due now, including the messages the jobs queue."""
    while jobs.run_due(jimu):
        pass


def inbox(jimu, user_id):
    with jimu.read() as conn:
        return [dict(r) for r in conn.execute(sa.select(notifications).where(notifications.c.user_id == user_id)
                                              .order_by(notifications.c.id)).mappings()]


def clocks(jimu):
    from runtime.flows.tables import flow_instances
    with jimu.read() as conn:
        return conn.execute(sa.select(flow_instances.c.state)).scalar()["clocks"]


def _ids(jimu):
    from runtime.flows.tables import flow_instances
    with jimu.read() as conn:
        return list(conn.execute(sa.select(flow_instances.c.record_id).order_by(flow_instances.c.id)).scalars())


def clocks_of(jimu):
    from runtime.flows.tables import flow_instances
    with jimu.read() as conn:
        return [r.state["clocks"]["decision"] for r in conn.execute(sa.select(flow_instances.c.state)
                                                                    .order_by(flow_instances.c.id))]


def history(jimu):
    from runtime.flows.tables import flow_history
    with jimu.read() as conn:
        return [(r.kind, r.outcome) for r in conn.execute(sa.select(flow_history).order_by(flow_history.c.id))
                if r.kind.startswith("sla_")]


# Monday 2026-11-02 09:00 in Shanghai = 01:00 UTC
MONDAY_9 = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)


def test_target_by_linked_tier_pause_while_waiting_warning_then_breach_in_working_time(jimu, people, clock, smtp,
                                                                                     hook, monkeypatch):
    monkeypatch.setitem(jimu.config, "OUTBOUND_ALLOWLIST", "127.0.0.1")
    monkeypatch.setenv("JIMU_OUTBOUND_ALLOWLIST", "127.0.0.1")
    clock.now = MONDAY_9
    install(jimu, people, sla=sla_section(hook.url + "/robot"))
    gold = write(jimu, "holder", {"name": "Gao", "tier": "gold"})
    claim = write(jimu, "claim", {"claim_no": "C-1", "subject": "Water damage", "holder": gold["id"], "amount": 500,
                                  "status": "new"})
    drain(jimu)
    state = clocks(jimu)["decision"]
    assert state["target"] == "PT2H" and state["due"] == "2026-11-02T11:00:00+08:00"  # the gold tier's target
    amy_new = inbox(jimu, people["amy"])
    assert [n["title"] for n in amy_new] == ["新任务：理赔审核 · Water damage"]  # the new task, announced
    # 10:00 local: one working hour left; the claim waits for documents until 14:00 (lunch is not working time)
    clock.advance(hours=1)
    write(jimu, "claim", {"status": "waiting_docs"}, claim["id"])
    assert clocks(jimu)["decision"]["status"] == "paused" and clocks(jimu)["decision"]["left"] == 3600
    clock.advance(hours=4)
    assert jobs.run_due(jimu) == 0  # neither the warning (10:30) nor the deadline (11:00) fire while paused
    write(jimu, "claim", {"status": "docs_in"}, claim["id"])
    state = clocks(jimu)["decision"]
    assert state["status"] == "running" and state["due"] == "2026-11-02T15:00:00+08:00"
    # warning at 75 % of the target: 30 working minutes before the deadline, to the assignee only
    clock.advance(minutes=29)
    drain(jimu)
    assert len(inbox(jimu, people["amy"])) == 1
    clock.advance(minutes=1)
    drain(jimu)
    warning = inbox(jimu, people["amy"])[-1]
    assert warning["title"] == "即将超时 理赔决定: Water damage" and warning["body"] == "期限 2026-11-02 15:00"
    assert inbox(jimu, people["lee"]) == []
    clock.advance(minutes=30)
    drain(jimu)
    assert [n["title"] for n in inbox(jimu, people["amy"])][-1] == "超时 理赔决定: Water damage"
    assert [n["title"] for n in inbox(jimu, people["lee"])] == ["超时 理赔决定: Water damage"]  # the group lead
    assert inbox(jimu, people["max"]) == [] and inbox(jimu, people["cid"]) == []
    mails = [(rcpt, raw) for rcpt, raw in smtp.messages if b"Breach" in raw]
    assert [rcpt for rcpt, _ in mails] == [["max@ins.example"]]  # the manager role, by e-mail
    [robot] = [r for r in hook.requests if r["path"] == "/robot"]
    assert json.loads(robot["body"])["markdown"]["content"] == "**理赔超时 C-1**\n2026-11-02 15:00"
    assert history(jimu) == [("sla_started", "decision"), ("sla_paused", "decision"), ("sla_resumed", "decision"),
                             ("sla_warning", "decision"), ("sla_breached", "decision")]


def test_met_clock_stops_and_targets_follow_the_amount_and_the_default(jimu, people, clock):
    clock.now = MONDAY_9
    install(jimu, people, sla=sla_section())
    standard = write(jimu, "holder", {"name": "Shi", "tier": "standard"})
    big = write(jimu, "claim", {"subject": "Fire", "holder": standard["id"], "amount": 20000, "status": "new"})
    from runtime.flows.tables import flow_instances
    with jimu.read() as conn:
        states = [r.state["clocks"]["decision"] for r in conn.execute(sa.select(flow_instances))]
    assert [s["target"] for s in states] == ["PT4H"]
    write(jimu, "claim", {"subject": "Glass", "holder": standard["id"], "amount": 100, "status": "new"})
    with jimu.read() as conn:
        states = [r.state["clocks"]["decision"] for r in conn.execute(sa.select(flow_instances)
                                                                       .order_by(flow_instances.c.id))]
    assert [(s["target"], s["due"]) for s in states] == [("PT4H", "2026-11-02T14:00:00+08:00"),
                                                         ("PT8H", "2026-11-02T18:00:00+08:00")]
    glass = write(jimu, "claim", {"subject": "Glass and frame", "amount": 15000}, _ids(jimu)[1])  # raised
    assert clocks_of(jimu)[1]["target"] == "PT4H" and clocks_of(jimu)[1]["due"] == "2026-11-02T14:00:00+08:00"
    write(jimu, "claim", {"subject": "Glass", "amount": 100}, glass["id"])   # the amount corrected: back to 8 h
    assert (clocks_of(jimu)[1]["target"], clocks_of(jimu)[1]["due"]) == ("PT8H", "2026-11-02T18:00:00+08:00")
    clock.advance(hours=1)
    write(jimu, "claim", {"decided_at": clock.now}, big["id"])
    with jimu.read() as conn:
        first = conn.execute(sa.select(flow_instances.c.state).order_by(flow_instances.c.id)).scalar()
    assert first["clocks"]["decision"]["status"] == "met"
    clock.advance(hours=1)                                              # 11:00: the decision is withdrawn
    write(jimu, "claim", {"decided_at": None}, big["id"])
    restarted = clocks_of(jimu)[0]
    assert (restarted["status"], restarted["target"], restarted["due"]) == ("running", "PT4H",
                                                                           "2026-11-02T16:00:00+08:00")
    write(jimu, "claim", {"decided_at": clock.now}, big["id"])
    assert clocks_of(jimu)[0]["status"] == "met"
    clock.advance(days=2)
    drain(jimu)
    # only the claim not decided breached (the lead is told of breaches only)
    assert [n["title"] for n in inbox(jimu, people["lee"])] == ["超时 理赔决定: Glass"]


def test_task_level_escalation_notifies_the_assignee_and_lead_for_real(jimu, people, clock):
    install(jimu, people, review={"assignee": {"kind": "user", "value": "amy"},
                                  "sla": {"after": "PT1H", "action": "notify"}})
    write(jimu, "claim", {"subject": "Theft", "amount": 1, "status": "new"})
    clock.advance(hours=1)
    drain(jimu)
    titles = {name: [n["title"] for n in inbox(jimu, people[name])] for name in ("amy", "lee", "max")}
    assert titles["amy"][-1] == "已超时：理赔审核" and titles["lee"] == ["已超时：理赔审核"]  # lead of amy's group
    assert titles["max"] == []


def test_new_task_notice_goes_to_whom_the_task_ends_with_by_mail_when_the_node_says_so(jimu, people, smtp):
    install(jimu, people, review={"assignee": {"kind": "group", "value": "adjusters"}, "notify": {"mail": True}})
    claim = write(jimu, "claim", {"subject": "Hail", "amount": 3, "status": "new"})
    from runtime.flows import FlowRuntime
    from runtime.auth.principal import load_principal
    with jimu.begin() as conn:  # reassigned before the write's notices go out: told once, to the new assignee
        rt = FlowRuntime(jimu, conn)
        (tid,) = rt.open_task_ids("claim", claim["id"])
        rt.reassign(load_principal(conn, people["root"]), tid, {"kind": "user", "value": "lee"})
    drain(jimu)
    assert inbox(jimu, people["amy"]) == []
    [lee] = inbox(jimu, people["lee"])
    assert lee["title"] == "新任务：理赔审核 · Hail" and lee["link"] == f"/tasks/{tid}"
    assert [rcpt for rcpt, _ in smtp.messages] == [["lee@ins.example"]]


def test_inbox_rows_show_the_record_title_key_fields_and_deadline(jimu, people, clock, client):
    clock.now = MONDAY_9
    install(jimu, people, sla=sla_section())
    write(jimu, "claim", {"claim_no": "C-77", "subject": "Burst pipe", "amount": 12000, "status": "new"})
    sign_in(client, jimu, people["amy"])
    html = client.get("/tasks").get_data(as_text=True)
    assert "Burst pipe" in html and "C-77" in html and "12000" in html
    assert "2026-11-02 14:00" in html  # the clock's deadline (PT4H for a large amount), in local time
    from runtime.flows.tables import flow_tasks
    with jimu.read() as conn:
        tid = conn.execute(sa.select(flow_tasks.c.id)).scalar()
    page = client.get(f"/tasks/{tid}").get_data(as_text=True)  # the task page: the clock, its state and deadline
    assert 'data-clock="decision" data-status="running"' in page and "2026-11-02 14:00" in page
    write(jimu, "claim", {"status": "waiting_docs"}, _ids(jimu)[0])
    page = client.get(f"/tasks/{tid}").get_data(as_text=True)
    assert 'data-status="paused"' in page and "已暂停" in page
    assert "已暂停" in client.get("/tasks").get_data(as_text=True)  # the inbox row: no deadline while paused


def test_an_inbox_row_of_a_form_without_a_title_field_names_the_record_by_its_list_fields(jimu, people, client):
    """'技术主管处理 #1 报修单 — 0' was all a row said: the record's first list field stands in for a title."""
    data = claims_package()
    data["forms"][1] = {k: v for k, v in data["forms"][1].items() if k != "title_field"}
    install_package(jimu, data)
    with jimu.begin() as conn:
        from runtime.auth.users import set_roles
        set_roles(conn, people["amy"], ["adjuster"])
    write(jimu, "claim", {"claim_no": "C-9", "subject": "Roof leak", "amount": 7, "status": "new"})
    sign_in(client, jimu, people["amy"])
    html = client.get("/tasks").get_data(as_text=True)
    row = html[html.index("<tbody>"):html.index("</tbody>")]
    assert "<strong>C-9</strong>" in row and "Roof leak" in row and "#1" not in row


def test_a_deadline_message_may_be_a_template_of_the_package(jimu, people, clock, smtp):
    """An SLA message names one of the package's message templates instead of repeating its text, as a
    rule's notify does: the template's subject and body, in the reader's language, with {sla_due}."""
    clock.now = MONDAY_9
    sla = sla_section()
    sla["clocks"][0]["notify"]["breach"] = [{"channel": "email", "to": {"roles": ["manager"]},
                                             "template": "late_claim"}]
    package = claims_package(sla=sla)
    package["templates"] = [{"key": "late_claim", "version": 1, "label": "Late claim", "form": "claim",
                             "subject": {"zh-CN": "理赔 {claim_no} 已超时", "en": "Claim {claim_no} is late"},
                             "body": {"zh-CN": "{subject}：期限 {sla_due} 已过", "en": "{subject}: due {sla_due}"}}]
    install_package(jimu, package)
    with jimu.begin() as conn:
        from runtime.auth.users import set_roles
        set_roles(conn, people["max"], ["manager"])
    standard = write(jimu, "holder", {"name": "Shi", "tier": "standard"})
    write(jimu, "claim", {"claim_no": "C-7", "subject": "Hail", "holder": standard["id"], "amount": 100,
                          "status": "new"})
    drain(jimu)
    clock.advance(hours=10)   # 8 working hours: due 18:00 local, the same day
    drain(jimu)
    import email
    mails = [email.message_from_bytes(raw) for rcpt, raw in smtp.messages if rcpt == ["max@ins.example"]]
    assert len(mails) == 1, [m["Subject"] for m in mails]
    from email.header import decode_header, make_header
    assert str(make_header(decode_header(mails[0]["Subject"]))) == "理赔 C-7 已超时"
    body = mails[0].get_payload(decode=True) if not mails[0].is_multipart() else \
        mails[0].get_payload(0).get_payload(decode=True)
    assert "Hail：期限 2026-11-02 18:00 已过" in body.decode()


def test_a_deadline_message_naming_no_template_of_the_package_is_refused_at_import(jimu):
    from apps.compile import compile_package
    sla = sla_section()
    sla["clocks"][0]["notify"]["breach"] = [{"channel": "email", "to": {"roles": ["manager"]}, "template": "nope"}]
    errors = compile_package(claims_package(sla=sla))
    assert [(e["code"], e["pointer"]) for e in errors] == [
        ("package.unknown_template", "/flows/0/sla/clocks/0/notify/breach/0/template")]
