"""Rules over the API: dry run without side effects, catalogue, firing log, the in-app inbox;
template injection with real payloads arriving through the records API."""
import json

import sqlalchemy as sa

from runtime import db
from tests.conftest import api_token, install_package, make_user
from tests.runtime.rules_helpers import create, deliver_mails, firings, jobs_of, package, run_jobs

RULES = [
    {"key": "finance", "label": {"zh-CN": "财务分派", "en": "Finance"}, "form": "工单", "trigger": {"type": "record_created"},
     "condition": {"field": "描述", "op": "contains_any", "value": ["发票", "退款"]},
     "actions": [{"type": "assign", "field": "处理人", "strategy": "round_robin", "group": "finance"},
                 {"type": "notify", "channel": "email", "to": {"email_fields": ["邮箱"]}, "subject": "已受理 {标题}"},
                 {"type": "notify", "channel": "in_app", "to": {"groups": ["finance"]}, "subject": "新: {标题}"}]},
]


def counts(jimu):
    from runtime.rules.tables import notifications, rule_firings, rule_state
    with jimu.read() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                for t in (db.jobs, notifications, rule_firings, rule_state, jimu.catalog.form("工单").table)}


def test_dry_run_lists_matching_records_and_effects_without_side_effects(jimu, client, admin_headers):
    for n in ("ann", "bob"):
        make_user(jimu, n)
    install_package(jimu, package([], groups=[{"key": "finance", "label": "F", "members": ["ann", "bob"]}]))
    from runtime.auth.users import set_roles
    with jimu.begin() as conn:   # the in-app notice reaches the group's members who may read 工单
        for uid in conn.execute(sa.select(db.users.c.id).where(db.users.c.username.in_(["ann", "bob"]))).scalars():
            set_roles(conn, uid, ["desk_reader"])
    ids = [create(jimu, "工单", {"标题": f"t{i}", "描述": "退款" if i % 2 else "登录", "邮箱": f"c{i}@example.com"})["id"]
           for i in range(6)]
    before = counts(jimu)
    r = client.post("/api/v1/rules/dry-run", json={"rule": RULES[0]}, headers=admin_headers)
    assert r.status_code == 200, r.json
    out = r.json
    assert out["scanned"] == 6 and out["matched"] == 3
    assert [rec["id"] for rec in out["records"]] == [ids[5], ids[3], ids[1]]
    effects = out["records"][0]["effects"]
    assert [e["kind"] for e in effects] == ["assign", "send_email", "notify_in_app"]
    assert effects[0]["would_assign"] == "ann"  # preview: the round-robin position does not move
    assert out["records"][1]["effects"][0]["would_assign"] == "ann"
    assert effects[1]["would_reach"] == ["c5@example.com"] and effects[1]["subject"] == "已受理 t5"
    assert effects[2]["would_reach"] == ["ann", "bob"]
    assert counts(jimu) == before  # nothing written, queued or logged


def test_dry_run_of_an_installed_rule_and_bad_definitions(jimu, client, admin_headers):
    install_package(jimu, package([{**RULES[0], "actions": [{"type": "set_fields", "values": {"组": "finance"}}]}]))
    create(jimu, "工单", {"标题": "x", "描述": "发票"})
    r = client.post("/api/v1/rules/dry-run", json={"key": "finance"}, headers=admin_headers)
    assert r.json["matched"] == 1 and r.json["records"][0]["effects"][0]["values"] == {"组": "finance"}
    r = client.post("/api/v1/rules/dry-run", json={"rule": {"key": "b", "form": "工单", "trigger": {"type": "?"},
                                                            "actions": []}}, headers=admin_headers)
    assert r.status_code == 422 and r.json["error"]["code"] == "rule.invalid"
    assert {e["code"] for e in r.json["error"]["errors"]} == {"rule.unknown_trigger", "rule.no_actions"}


def test_rules_endpoints_need_the_builder_role(jimu, client):
    uid = make_user(jimu, "plain")
    h = {"Authorization": f"Bearer {api_token(jimu, uid)}"}
    assert client.post("/api/v1/rules/dry-run", json={"key": "x"}, headers=h).status_code == 403
    assert client.get("/api/v1/rules/catalog", headers=h).status_code == 403
    assert client.get("/api/v1/notifications/unread-count").status_code == 401


def test_catalog_lists_triggers_operators_and_actions(client, admin_headers):
    r = client.get("/api/v1/rules/catalog", headers=admin_headers).json
    assert "time_after" in r["triggers"] and "task_overdue" in r["triggers"]
    assert any(o["type"] == "contains_any" for o in r["operators"])
    notify = next(a for a in r["actions"] if a["type"] == "notify")
    assert notify["config_schema"]["properties"]["channel"]["enum"] == ["in_app", "email", "webhook", "wecom",
                                                                        "dingtalk", "sms", "wecom_app",
                                                                        "dingtalk_app"]


def test_inbox_unread_count_and_mark_read(jimu, client):
    install_package(jimu, package([]))
    ann = make_user(jimu, "ann", roles=["desk_reader"])
    h = {"Authorization": f"Bearer {api_token(jimu, ann)}"}
    install_package(jimu, package([
        {"key": "tell", "trigger": {"type": "record_created"},
         "actions": [{"type": "notify", "channel": "in_app", "to": {"user_fields": ["处理人"]},
                      "subject": "分配给你: {标题}", "link": "javascript:alert(1)"}]}]))
    for i in range(3):
        create(jimu, "工单", {"标题": f"T{i}", "处理人": "ann"})
    create(jimu, "工单", {"标题": "other", "处理人": "nobody"})
    run_jobs(jimu)
    assert client.get("/api/v1/notifications/unread-count", headers=h).json == {"unread": 3}
    notes = client.get("/api/v1/notifications", headers=h).json["notifications"]
    assert [n["title"] for n in notes] == ["分配给你: T2", "分配给你: T1", "分配给你: T0"]
    assert all(n["link"] is None for n in notes)  # a javascript: link is dropped
    client.post(f"/api/v1/notifications/{notes[0]['id']}/read", headers=h)
    assert client.get("/api/v1/notifications/unread-count", headers=h).json["unread"] == 2
    client.post("/api/v1/notifications/read-all", headers=h)
    assert client.get("/api/v1/notifications/unread-count", headers=h).json["unread"] == 0
    assert not any(f["errors"] for f in firings(jimu, "tell"))  # the write is not the place to find out
    failed = [j for j in jobs_of(jimu, "rule.in_app") if j["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["attempts"] == 1  # "nobody" is no user: failed at once, coded
    assert failed[0]["last_error"].startswith("Undeliverable: rule.no_recipients")


def test_submitted_template_code_arrives_literally(jimu, client, admin_headers, monkeypatch):
    """Real payloads through the records API: a customer's name is data, never template code."""
    install_package(jimu, package([
        {"key": "ack", "trigger": {"type": "record_created"},
         "actions": [{"type": "set_fields", "values": {"描述": {"template": "您好 {客户姓名}, 工单 {标题} 已受理"}}},
                     {"type": "notify", "channel": "email", "to": {"email_fields": ["邮箱"]},
                      "subject": "回复: {客户姓名}", "body": "{{ record['客户姓名'] }} / {客户姓名}"}]}]))
    payloads = ["{{7*7}}", "{{ config.items() }}", "{% for x in range(9) %}x{% endfor %}",
                "{{ ''.__class__.__mro__[1].__subclasses__() }}", "{客户姓名}{标题}"]
    for p in payloads:
        r = client.post("/api/v1/forms/工单/records", json={"标题": "T", "客户姓名": p, "邮箱": "a@example.com"},
                        headers=admin_headers)
        assert r.status_code == 201 and r.json["描述"] == f"您好 {p}, 工单 T 已受理"
    mails = deliver_mails(jimu, monkeypatch)
    assert [m["subject"] for m in mails] == [f"回复: {p}" for p in payloads]
    assert [m["body"] for m in mails] == [f"{p} / {p}" for p in payloads]


def test_closed_ticket_sends_a_signed_survey_link(jimu, app, monkeypatch):
    from runtime.public import BadLink, read_token
    install_package(jimu, package([
        {"key": "csat", "trigger": {"type": "field_changed", "field": "状态", "to": "已关闭"},
         "actions": [{"type": "send_survey", "survey_form": "客户", "to": {"email_fields": ["邮箱"]},
                      "subject": "请评价工单 {标题}", "body": "{客户姓名} 您好, 请评价: {{ survey_link }}"}]}]))
    rec = create(jimu, "工单", {"标题": "T-9", "客户姓名": "{{7*7}}", "邮箱": "c@example.com", "状态": "处理中"})
    assert jobs_of(jimu, "rule.email") == []
    from tests.runtime.rules_helpers import update
    update(jimu, "工单", rec["id"], {"状态": "已关闭"})
    [p] = deliver_mails(jimu, monkeypatch)
    assert p["to"] == ["c@example.com"] and p["subject"] == "请评价工单 T-9"
    assert p["body"].startswith("{{7*7}} 您好, 请评价: /p/")
    from urllib.parse import parse_qs, unquote, urlsplit
    link = urlsplit(p["body"].split(": ", 1)[1])
    assert unquote(link.path) == "/p/客户"
    token = parse_qs(link.query)["ref"][0]
    with app.app_context():  # the public pages read the same signed token
        assert read_token(token, "工单") == ("工单", rec["id"])
        import pytest
        with pytest.raises(BadLink):
            read_token(token[:-2] + "xx", "工单")


def test_notify_can_use_the_package_message_templates(jimu, monkeypatch):
    pkg = package([{"key": "ack", "trigger": {"type": "record_created"},
                    "actions": [{"type": "notify", "channel": "email", "to": {"email_fields": ["邮箱"]},
                                 "template": "ack"},
                                {"type": "notify", "channel": "email", "to": {"email_fields": ["邮箱"]},
                                 "template": "ack", "language": "en", "subject": "Re: {标题}"}]}])
    pkg["templates"] = [{"key": "ack", "version": 1, "label": "Ack", "form": "工单",
                         "subject": {"zh-CN": "工单 {标题} 已受理", "en": "Ticket {标题} received"},
                         "body": {"zh-CN": "{客户姓名} 您好", "en": "Dear {客户姓名}"}}]
    install_package(jimu, pkg)
    create(jimu, "工单", {"标题": "T-1", "客户姓名": "张三", "邮箱": "z@example.com"})
    mails = deliver_mails(jimu, monkeypatch)
    assert [(m["subject"], m["body"]) for m in mails] == [("工单 T-1 已受理", "张三 您好"), ("Re: T-1", "Dear 张三")]
    bad = package([{"key": "x", "trigger": {"type": "record_created"},
                    "actions": [{"type": "notify", "channel": "email", "to": {"emails": ["a@b.c"]}, "template": "nope"}]}],
                  version="1.0.1")
    import pytest
    from apps import PackageError
    with pytest.raises(PackageError) as exc:
        install_package(jimu, bad)
    assert exc.value.errors[0]["code"] == "rule.unknown_template" and exc.value.errors[0]["pointer"] == \
        "/rules/0/actions/0/template"


def test_firing_log_api_filters_by_rule_record_and_match(jimu, client, admin_headers, monkeypatch):
    monkeypatch.setitem(jimu.config, "RULES_LOG_NON_MATCHES", True)  # the non-match is logged too
    install_package(jimu, package([{"key": "hi", "trigger": {"type": "record_created"},
                                    "condition": {"field": "紧急程度", "value": "高"},
                                    "actions": [{"type": "set_fields", "values": {"组": "infra"}}]}]))
    a = create(jimu, "工单", {"标题": "a", "紧急程度": "高"})
    create(jimu, "工单", {"标题": "b", "紧急程度": "低"})
    r = client.get("/api/v1/rules/firings?rule=hi&matched=true", headers=admin_headers).json["firings"]
    assert [(f["record_id"], f["matched"]) for f in r] == [(a["id"], True)]
    assert r[0]["actions"] == [{"kind": "set_fields", "external": False, "form": "工单", "id": a["id"],
                                "values": {"组": "infra"}}]
    assert len(client.get("/api/v1/rules/firings?rule=hi", headers=admin_headers).json["firings"]) == 2
    assert client.get(f"/api/v1/rules/firings?record={a['id']}&form=工单", headers=admin_headers).json["firings"][0][
        "rule_key"] == "hi"


def test_the_firing_log_keeps_message_templates_not_the_records_values(jimu, client, admin_headers):
    """The firing log used to hold every rendered mail (customer names, descriptions) of every app; now
    a message is rendered only by the outbox, and the log shows the template it will use."""
    install_package(jimu, package([
        {"key": "ack", "trigger": {"type": "record_created"},
         "actions": [{"type": "notify", "channel": "email", "to": {"email_fields": ["邮箱"]},
                      "subject": "已受理 {标题}", "body": "您好 {客户姓名}, 描述: {描述}"}]}]))
    create(jimu, "工单", {"标题": "T-7", "客户姓名": "王小明", "描述": "账号 13800000000", "邮箱": "w@example.com"})
    r = client.get("/api/v1/rules/firings?rule=ack", headers=admin_headers)
    text = json.dumps(r.json, ensure_ascii=False)
    assert r.status_code == 200 and "您好 {客户姓名}, 描述: {描述}" in text
    assert "王小明" not in text and "13800000000" not in text
