"""Rules fire on every write path, in the writing transaction, chain with loop detection, and log."""
import pytest

from tests.conftest import install_package, make_user
from tests.runtime.rules_helpers import create, firings, get, jobs_of, package, run_jobs, update

SET = lambda **values: {"type": "set_fields", "values": values}  # noqa: E731


def test_created_rule_sets_fields_in_the_same_transaction_and_the_caller_sees_them(jimu):
    install_package(jimu, package([
        {"key": "dispatch_finance", "trigger": {"type": "record_created"},
         "condition": {"field": "描述", "op": "contains_any", "value": ["发票", "退款"]},
         "actions": [SET(组="finance", 状态="已受理")]}]))
    rec = create(jimu, "工单", {"标题": "a", "描述": "我要申请退款"})
    assert rec["组"] == "finance" and rec["状态"] == "已受理" and rec["row_version"] == 2
    other = create(jimu, "工单", {"标题": "b", "描述": "登录不了"})
    assert other["组"] is None
    log = firings(jimu, "dispatch_finance")
    # only matches (and errors) are logged: the non-match on the other record writes nothing
    assert [(f["record_id"], f["matched"]) for f in log] == [(rec["id"], True)]
    assert log[0]["actions"][0]["kind"] == "set_fields" and log[0]["errors"] is None
    assert log[0]["duration_ms"] >= 0 and log[0]["event"] == "record.created"


def test_updated_deleted_and_field_changed_triggers(jimu):
    install_package(jimu, package([
        {"key": "on_update", "trigger": {"type": "record_updated", "fields": ["描述"]},
         "actions": [SET(计数={"expr": "coalesce(计数, 0) + 1"})]},
        {"key": "closed", "trigger": {"type": "field_changed", "field": "状态", "from": "处理中", "to": "已解决"},
         "actions": [{"type": "create_record", "form": "知识库",
                      "mapping": {"标题": {"template": "FAQ: {标题}"}, "来源": {"expr": "id"}}}]},
        {"key": "gone", "trigger": {"type": "record_deleted"},
         "actions": [{"type": "update_related", "form": "客户", "filter": [{"field": "最近工单",
                                                                            "value": {"expr": "id"}}],
                      "values": {"最近工单": None, "预警": {"template": "工单 {标题} 已删除"}}}]},
    ]))
    t = create(jimu, "工单", {"标题": "打印机", "状态": "新建"})
    cust = create(jimu, "客户", {"名称": "ACME", "最近工单": t["id"]})
    assert update(jimu, "工单", t["id"], {"状态": "处理中"})["计数"] is None  # 描述 did not change
    assert update(jimu, "工单", t["id"], {"描述": "卡纸"})["计数"] == 1
    update(jimu, "工单", t["id"], {"状态": "已解决"})
    with jimu.read() as conn:
        from runtime.store import RecordStore
        kb, total = RecordStore(conn).select(jimu.catalog.form("知识库"))
    assert total == 1 and kb[0]["标题"] == "FAQ: 打印机" and kb[0]["来源"] == t["id"]
    from runtime.auth.principal import Principal
    from runtime.records import Records
    with jimu.begin() as conn:
        Records(jimu, conn, Principal(user_id=None, username="t", is_admin=True),
                check_permissions=False).delete("工单", t["id"])
    c = get(jimu, "客户", cust["id"])
    assert c["最近工单"] is None and c["预警"] == "工单 打印机 已删除"


def test_rules_fire_for_the_api_and_bulk_import_1000_rows(jimu, client, admin_headers):
    install_package(jimu, package([
        {"key": "high", "trigger": {"type": "record_created"},
         "condition": {"all": [{"field": "紧急程度", "op": "eq", "value": "高"},
                               {"field": "类别", "op": "in", "value": ["服务器故障", "网络"]}]},
         "actions": [SET(组="infra", 计数=1)]},
        {"key": "all_created", "trigger": {"type": "record_created"}, "actions": [SET(状态="新建")]},
    ]))
    r = client.post("/api/v1/forms/工单/records", json={"标题": "宕机", "紧急程度": "高", "类别": "服务器故障"},
                    headers=admin_headers)
    assert r.status_code == 201 and r.json["组"] == "infra" and r.json["状态"] == "新建"
    rows = [{"标题": f"t{i}", "紧急程度": "高" if i % 2 else "低", "类别": "网络"} for i in range(1000)]
    from runtime.auth.principal import Principal
    from runtime.records import Records
    with jimu.begin() as conn:
        ids = Records(jimu, conn, Principal(user_id=None, username="t", is_admin=True), source="import",
                      check_permissions=False).bulk_create("工单", rows)
    assert len(ids) == 1000
    created = [f for f in firings(jimu, "all_created") if f["record_id"] in set(ids)]
    assert len(created) == 1000 and all(f["matched"] for f in created)
    high = [f for f in firings(jimu, "high") if f["record_id"] in set(ids)]
    assert len(high) == 500 and all(f["matched"] for f in high)  # the non-matches are not logged
    assert get(jimu, "工单", ids[1])["组"] == "infra" and get(jimu, "工单", ids[0])["组"] is None


def test_subtable_row_triggers_fire_per_row(jimu):
    install_package(jimu, package([
        {"key": "big_line", "trigger": {"type": "row_added", "subtable": "明细"},
         "condition": {"expr": "row.数量 >= 10"},
         "actions": [SET(计数={"expr": "coalesce(计数, 0) + row.数量"})]}]))
    t = create(jimu, "工单", {"标题": "x", "明细": [{"品名": "a", "数量": 10}, {"品名": "b", "数量": 1}]})
    assert t["计数"] == 10
    rows = get(jimu, "工单", t["id"])["明细"]
    t = update(jimu, "工单", t["id"], {"明细": rows + [{"品名": "c", "数量": 20}]})
    assert t["计数"] == 30
    assert [f["matched"] for f in firings(jimu, "big_line")] == [True, True]


def test_rule_chain_a_b_a_stops_naming_both_and_writes_nothing(jimu, client, admin_headers):
    install_package(jimu, package([
        {"key": "rule_a", "label": "A", "trigger": {"type": "field_changed", "field": "状态"},
         "condition": {"field": "状态", "op": "eq", "value": "处理中"}, "actions": [SET(组="二线")]},
        {"key": "rule_b", "label": "B", "trigger": {"type": "field_changed", "field": "组"},
         "actions": [SET(状态={"expr": "if(状态 == '处理中', '待定', '处理中')"})]},
    ]))
    r = client.post("/api/v1/forms/工单/records", json={"标题": "loop", "状态": "新建"}, headers=admin_headers)
    assert r.status_code == 201  # 新建: A does not match, nothing loops
    rid = r.json["id"]
    before_log = len(firings(jimu))
    r = client.patch(f"/api/v1/forms/工单/records/{rid}", json={"状态": "处理中"}, headers=admin_headers)
    assert r.status_code == 409, r.json
    err = r.json["error"]
    assert err["code"] == "rule.loop" and "rule_a" in err["message"] and "rule_b" in err["message"]
    assert err["rules"] == ["rule_a", "rule_b", "rule_a"]
    rec = get(jimu, "工单", rid)
    assert rec["状态"] == "新建" and rec["组"] is None and rec["row_version"] == 1  # nothing half-written
    assert len(firings(jimu)) == before_log


def test_the_rules_a_rule_write_triggers_evaluate_in_the_context_of_the_starting_write(jimu, monkeypatch):
    from engines.rule.spec import RuleSpec
    install_package(jimu, package([
        {"key": "file", "trigger": {"type": "record_created"}, "condition": {"field": "标题", "op": "is_not_empty"},
         "actions": [{"type": "create_record", "form": "知识库", "mapping": {"标题": {"expr": "标题"}}}]},
        {"key": "faq", "form": "知识库", "trigger": {"type": "record_created"},
         "condition": {"field": "标题", "op": "eq", "value": "none"}, "actions": [SET(标题="x")]},
    ]))
    seen, real = {}, RuleSpec.matches
    monkeypatch.setattr(RuleSpec, "matches", lambda self, v, ctx: seen.setdefault(self.key, ctx) and real(self, v, ctx))
    create(jimu, "工单", {"标题": "打印机"})
    assert set(seen) == {"file", "faq"}
    assert seen["faq"] is seen["file"]   # same clock, actor and connection: built once
    assert seen["file"].now is not None and seen["file"].aggregate is not None


def test_depth_limit(jimu, monkeypatch):
    from runtime.rules import runner
    monkeypatch.setattr(runner, "MAX_DEPTH", 2)
    install_package(jimu, package([
        {"key": "k1", "trigger": {"type": "record_created"}, "actions": [
            {"type": "create_record", "form": "知识库", "mapping": {"标题": "1"}}]},
        {"key": "k2", "form": "知识库", "trigger": {"type": "record_created"}, "condition": {"field": "标题", "value": "1"},
         "actions": [{"type": "create_record", "form": "客户", "mapping": {"名称": "2"}}]},
        {"key": "k3", "form": "客户", "trigger": {"type": "record_created"},
         "actions": [{"type": "create_record", "form": "知识库", "mapping": {"标题": "3"}}]},
    ]))
    from engines.rule import RuleDepthError
    with pytest.raises(RuleDepthError) as exc:
        create(jimu, "工单", {"标题": "deep"})
    assert exc.value.context["rules"] == ["k1", "k2", "k3"]
    with jimu.read() as conn:
        import sqlalchemy as sa
        assert conn.execute(sa.select(sa.func.count()).select_from(jimu.catalog.form("工单").table)).scalar() == 0


def test_a_failing_rule_is_rolled_back_and_logged_while_the_write_and_other_rules_go_on(jimu):
    install_package(jimu, package([
        {"key": "broken", "priority": 1, "trigger": {"type": "record_created"},
         "actions": [SET(标题="changed"), SET(金额={"expr": "1 / 0"})]},
        {"key": "fine", "priority": 2, "trigger": {"type": "record_created"}, "actions": [SET(状态="ok")]},
    ]))
    rec = create(jimu, "工单", {"标题": "t"})
    assert rec["标题"] == "t" and rec["状态"] == "ok"  # broken's first action was rolled back too
    log = firings(jimu, "broken")[0]
    assert log["matched"] and log["errors"][0]["code"].startswith("expr.")


def test_priority_order_and_stop_flag(jimu):
    install_package(jimu, package([
        {"key": "second", "priority": 5, "trigger": {"type": "record_created"}, "actions": [SET(组="second")]},
        {"key": "first", "priority": 1, "stop": True, "trigger": {"type": "record_created"},
         "condition": {"field": "紧急程度", "value": "高"}, "actions": [SET(组="first")]},
    ]))
    assert create(jimu, "工单", {"标题": "a", "紧急程度": "高"})["组"] == "first"
    assert create(jimu, "工单", {"标题": "b", "紧急程度": "低"})["组"] == "second"


def test_assign_strategies(jimu):
    for name in ("ann", "bob", "cat"):
        make_user(jimu, name)
    install_package(jimu, package([
        {"key": "rr", "trigger": {"type": "record_created"}, "condition": {"field": "类别", "value": "账单"},
         "actions": [{"type": "assign", "field": "处理人", "strategy": "round_robin", "group": "finance",
                      "group_field": "组"}]},
        {"key": "least", "trigger": {"type": "record_created"}, "condition": {"field": "类别", "value": "故障"},
         "actions": [{"type": "assign", "field": "处理人", "strategy": "least_loaded", "group": "finance",
                      "open_filter": [{"field": "状态", "op": "ne", "value": "已解决"}]}]},
        {"key": "byfield", "trigger": {"type": "record_created"}, "condition": {"field": "类别", "value": "指定"},
         "actions": [{"type": "assign", "field": "处理人ID", "strategy": "by_field", "source_field": "描述"}]},
        {"key": "fixed", "trigger": {"type": "record_created"}, "condition": {"field": "类别", "value": "VIP"},
         "actions": [{"type": "assign", "field": "处理人", "strategy": "user", "user": "cat"}]},
    ], groups=[{"key": "finance", "label": "Finance", "members": ["ann", "bob", "cat"]}]))
    got = [create(jimu, "工单", {"标题": str(i), "类别": "账单"}) for i in range(4)]
    assert [g["处理人"] for g in got] == ["ann", "bob", "cat", "ann"] and got[0]["组"] == "finance"
    # ann has 2 open tickets, bob 1, cat 1 → bob (ties broken by name); resolved tickets do not count
    update(jimu, "工单", got[1]["id"], {"状态": "已解决"})
    assert create(jimu, "工单", {"标题": "l", "类别": "故障"})["处理人"] == "bob"
    rec = create(jimu, "工单", {"标题": "f", "类别": "指定", "描述": "bob"})
    with jimu.read() as conn:
        from runtime import db
        import sqlalchemy as sa
        bob = conn.execute(sa.select(db.users.c.id).where(db.users.c.username == "bob")).scalar()
    assert rec["处理人ID"] == bob
    assert create(jimu, "工单", {"标题": "v", "类别": "VIP"})["处理人"] == "cat"


def test_add_participant_and_in_app_notifications(jimu):
    install_package(jimu, package([]))
    ann = make_user(jimu, "ann", roles=["desk_reader"])
    lead = make_user(jimu, "lead", roles=["desk_reader"])
    install_package(jimu, package([
        {"key": "vip", "trigger": {"type": "record_created"},
         "actions": [{"type": "add_participant", "users": ["lead"], "user_fields": ["处理人"]},
                     {"type": "notify", "channel": "in_app", "to": {"participants": True},
                      "subject": "新工单 {标题}", "body": "客户 {客户姓名}: {描述}"}]}]))
    rec = create(jimu, "工单", {"标题": "T1", "处理人": "ann", "客户姓名": "{{7*7}}", "描述": "<b>x</b>"})
    run_jobs(jimu)  # the outbox renders the message and fills the inboxes
    import sqlalchemy as sa
    from runtime.rules.tables import notifications, record_participants
    with jimu.read() as conn:
        parts = set(conn.execute(sa.select(record_participants.c.user_id)).scalars())
        notes = conn.execute(sa.select(notifications).order_by(notifications.c.user_id)).mappings().all()
    assert parts == {ann, lead}
    assert [n["user_id"] for n in notes] == sorted([ann, lead])
    assert notes[0]["title"] == "新工单 T1" and notes[0]["body"] == "客户 {{7*7}}: <b>x</b>"
    assert notes[0]["link"] == f"/forms/工单/records/{rec['id']}"


def test_aggregate_condition_counts_in_sql_within_the_window(jimu, clock):
    install_package(jimu, package([
        {"key": "health", "trigger": {"type": "record_created"},
         "condition": {"aggregate": {"fn": "count", "form": "工单", "within_days": 30, "filter": [
             {"field": "客户", "op": "eq", "value": {"expr": "客户"}},
             {"field": "类别", "op": "eq", "value": {"expr": "类别"}}]}, "op": "gt", "value": 3},
         "actions": [{"type": "update_related", "form": "客户",
                      "filter": [{"field": "id", "value": {"expr": "客户"}}], "values": {"预警": "客户健康预警"}}]},
        {"key": "big_spender", "trigger": {"type": "record_created"},
         "condition": {"expr": "sum_records('工单', '金额', [['客户', '==', 客户]], 30) >= 1000"},
         "actions": [SET(紧急程度="高")]},
    ]))
    cust = create(jimu, "客户", {"名称": "ACME"})["id"]
    create(jimu, "工单", {"标题": "old", "客户": cust, "类别": "账单", "金额": 900})
    clock.advance(days=31)  # the first one falls out of the window
    for i in range(3):
        create(jimu, "工单", {"标题": str(i), "客户": cust, "类别": "账单", "金额": 100})
        create(jimu, "工单", {"标题": "o", "客户": cust, "类别": "其他"})
    assert get(jimu, "客户", cust)["预警"] is None
    t = create(jimu, "工单", {"标题": "4th", "客户": cust, "类别": "账单", "金额": 600})
    assert get(jimu, "客户", cust)["预警"] == "客户健康预警"
    assert t["紧急程度"] is None  # 300 + 600 in the window
    assert create(jimu, "工单", {"标题": "5th", "客户": cust, "金额": 100})["紧急程度"] == "高"


def test_time_after_fires_once_when_due_and_only_while_the_condition_holds(jimu, clock):
    from runtime import jobs
    make_user(jimu, "lead")  # before the package that names the user as a recipient
    install_package(jimu, package([
        {"key": "no_response", "trigger": {"type": "time_after", "field": "created_at", "hours": 2},
         "condition": {"field": "状态", "op": "ne", "value": "已解决"},
         "actions": [SET(紧急程度="高"), {"type": "notify", "channel": "in_app", "to": {"users": ["lead"]},
                                          "subject": "2 小时未响应: {标题}"}]}]))
    a = create(jimu, "工单", {"标题": "A", "状态": "新建"})
    b = create(jimu, "工单", {"标题": "B", "状态": "新建"})
    assert len(jobs_of(jimu, "rule.timer")) == 2
    clock.advance(hours=1)
    update(jimu, "工单", b["id"], {"状态": "已解决"})
    assert jobs.run_due(jimu) == 0
    clock.advance(hours=1, minutes=1)
    assert jobs.run_due(jimu) == 2
    assert get(jimu, "工单", a["id"])["紧急程度"] == "高" and get(jimu, "工单", b["id"])["紧急程度"] is None
    assert [f["matched"] for f in firings(jimu, "no_response")] == [True]
    assert all(j["status"] == "done" for j in jobs_of(jimu, "rule.timer"))


def test_schedule_rules_run_from_durable_jobs_and_reschedule(jimu, clock):
    from runtime import jobs
    install_package(jimu, package([
        {"key": "daily", "trigger": {"type": "schedule", "cron": "0 10 * * *"},
         "condition": {"field": "状态", "value": "等待客户回复"}, "actions": [SET(状态="已关闭")]}]))
    a = create(jimu, "工单", {"标题": "A", "状态": "等待客户回复"})  # the first write queues the schedule
    b = create(jimu, "工单", {"标题": "B", "状态": "处理中"})
    queued = jobs_of(jimu, "rule.cron")
    assert [j["payload"]["at"] for j in queued] == ["2026-11-02T10:00:00+00:00"]
    assert jobs.run_due(jimu) == 0
    clock.advance(hours=1)
    assert jobs.run_due(jimu) == 1
    assert get(jimu, "工单", a["id"])["状态"] == "已关闭" and get(jimu, "工单", b["id"])["状态"] == "处理中"
    assert [j["payload"]["at"] for j in jobs_of(jimu, "rule.cron")][-1] == "2026-11-03T10:00:00+00:00"


def test_flow_actions_and_triggers_use_the_flow_runtime_interface(jimu):
    pkg = package([
        {"key": "start", "trigger": {"type": "record_created"}, "actions": [{"type": "start_flow", "flow": "nope"}]},
        {"key": "overdue", "trigger": {"type": "task_overdue", "flow": "f1"}, "actions": [SET(紧急程度="高")]},
    ], groups=[{"key": "desk", "label": "Desk", "members": []}])
    # the flows a rule names are flows of its package: the compile pipeline refuses an unknown one
    pkg["flows"] = [{"key": "f1", "version": 1, "form": "工单", "start": "manual",
                     "nodes": [{"id": "s", "type": "start"}, {"id": "t", "type": "user_task",
                                                          "config": {"assignee": {"kind": "group", "value": "desk"}}},
                               {"id": "end", "type": "end"}],
                     "edges": [{"from": "s", "to": "t"}, {"from": "t", "to": "end"}]}]
    from apps import PackageError
    with pytest.raises(PackageError) as refused:
        install_package(jimu, pkg)
    assert [(e["code"], e["pointer"]) for e in refused.value.errors] == \
        [("package.unknown_flow", "/rules/0/actions/0/flow")]
    pkg["rules"][0]["actions"][0]["flow"] = "f1"
    install_package(jimu, pkg)
    rec = create(jimu, "工单", {"标题": "x"})
    assert firings(jimu, "start")[0]["errors"] in (None, [])  # the flow runtime started f1 on the record
    from runtime.flows.tables import flow_instances
    import sqlalchemy as sa
    with jimu.read() as conn:
        assert conn.execute(sa.select(flow_instances.c.flow_key).where(
            flow_instances.c.record_id == rec["id"])).scalars().all() == ["f1"]
    rules = jimu.services.rules
    with jimu.begin() as conn:
        fired = rules.fire_flow_event(conn, "task.overdue", flow="f1", task="t", form="工单", record_id=rec["id"])
        assert [f.matched for f in fired] == [True]
        assert rules.fire_flow_event(conn, "task.overdue", flow="other", form="工单", record_id=rec["id"]) == []
    assert get(jimu, "工单", rec["id"])["紧急程度"] == "高"


def test_escalate_and_reassign_task_actions_drive_the_flow_runtime(jimu):
    pytest.importorskip("runtime.flows.service")
    from tests.runtime.flow_fixtures import create_ticket, package as flow_package, setup_users, simple_flow, tasks
    users = setup_users(jimu)
    pkg = flow_package([simple_flow(assignee={"kind": "group", "value": "l1"})])
    pkg["rules"] = [
        {"key": "vip_reassign", "version": 1, "label": "VIP", "form": "ticket",
         "trigger": {"type": "field_changed", "field": "urgency", "to": "VIP"},
         "actions": [{"type": "reassign_task", "to": {"kind": "user", "value": "cat"}}]},
        {"key": "escalate", "version": 1, "label": "Escalate", "form": "ticket",
         "trigger": {"type": "field_changed", "field": "urgency", "to": "紧急"},
         "actions": [{"type": "escalate_task", "task": "work"}]},
    ]
    install_package(jimu, pkg)
    rec = create_ticket(jimu, users["admin"])
    (task,) = tasks(jimu)
    assert task["assignee_group"] == "l1" and task["assignee_user_id"] is None
    update(jimu, "ticket", rec["id"], {"urgency": "紧急"})  # a group task escalates to the group's lead
    assert tasks(jimu, status="open")[0]["assignee_user_id"] == users["lead"]
    update(jimu, "ticket", rec["id"], {"urgency": "VIP"})
    assert tasks(jimu, status="open")[0]["assignee_user_id"] == users["cat"]
    assert all(not f["errors"] for f in firings(jimu))


def test_flow_automatic_steps_run_rule_actions_through_the_rule_executor(jimu):
    pytest.importorskip("runtime.flows.service")
    from runtime import jobs
    from tests.runtime.flow_fixtures import create_ticket, e, n, package as flow_package, setup_users
    users = setup_users(jimu)
    flow = {"key": "auto", "version": 1, "form": "ticket", "label": "Auto",
            "nodes": [n("s", "start"),
                      n("a", "automatic", actions=[{"type": "set_fields", "values": {"note": {"template": "已受理 {title}"}}},
                                                   {"type": "notify", "channel": "in_app", "to": {"users": ["ann"]},
                                                    "subject": "自动: {title}"}]),
                      n("end", "end")],
            "edges": [e("s", "a"), e("a", "end")]}
    install_package(jimu, flow_package([flow]))
    from runtime.auth.users import set_roles
    with jimu.begin() as conn:
        set_roles(conn, users["ann"], ["agent"])  # a notification about a record goes to people who may read it
    rec = create_ticket(jimu, users["admin"], title="打印机")
    jobs.run_due(jimu)
    assert get(jimu, "ticket", rec["id"])["note"] == "已受理 打印机"
    import sqlalchemy as sa
    from runtime.rules.tables import notifications
    with jimu.read() as conn:
        assert conn.execute(sa.select(notifications.c.title, notifications.c.user_id)).all() == [
            ("自动: 打印机", users["ann"])]


def test_rules_fire_for_the_runtime_ui_form(jimu, client):
    from tests.runtime.test_ui_records import login
    install_package(jimu, package([
        {"key": "ui_rule", "trigger": {"type": "record_created"},
         "condition": {"field": "描述", "op": "contains", "value": "发票"}, "actions": [SET(组="finance")]}]))
    token = login(client, jimu, admin=True)
    r = client.post("/forms/工单/new", data={"csrf_token": token, "标题": "UI", "描述": "开发票"})
    assert r.status_code in (302, 303), r.get_data(as_text=True)[:500]
    [f] = firings(jimu, "ui_rule")
    assert f["matched"] and f["source"] == "ui"
    assert get(jimu, "工单", f["record_id"])["组"] == "finance"


def test_an_upgrade_replaces_the_rules_at_once(jimu):
    install_package(jimu, package([{"key": "r", "trigger": {"type": "record_created"}, "actions": [SET(组="v1")]}]))
    assert create(jimu, "工单", {"标题": "a"})["组"] == "v1"
    install_package(jimu, package([{"key": "r", "trigger": {"type": "record_created"}, "actions": [SET(组="v2")]}],
                                  version="1.0.1"))  # same clock time: the version row tells the cache
    assert create(jimu, "工单", {"标题": "b"})["组"] == "v2"


def test_time_after_counts_working_time_on_a_business_calendar(jimu, clock):
    from datetime import datetime, timezone
    pkg = package([{"key": "sla", "trigger": {"type": "time_after", "field": "created_at", "hours": 2,
                                              "calendar": "office"},
                    "condition": {"field": "状态", "op": "ne", "value": "已解决"}, "actions": [SET(紧急程度="高")]}])
    week = {d: [["09:00", "12:00"], ["13:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    pkg["calendars"] = [{"key": "office", "version": 1, "label": "Office", "timezone": "UTC", "hours": week}]
    install_package(jimu, pkg)
    clock.advance(hours=8)  # Monday 17:00: one working hour today, one tomorrow morning
    rec = create(jimu, "工单", {"标题": "late"})
    [job] = jobs_of(jimu, "rule.timer")
    assert job["run_at"] == datetime(2026, 11, 3, 10, 0, tzinfo=timezone.utc)
    from runtime import jobs
    clock.advance(hours=16, minutes=59)
    assert jobs.run_due(jimu) == 0
    clock.advance(minutes=1)
    assert jobs.run_due(jimu) == 1 and get(jimu, "工单", rec["id"])["紧急程度"] == "高"


def test_the_jobs_of_a_firing_share_its_random_key_and_each_firing_draws_its_own(jimu):
    import re
    install_package(jimu, package([]))
    make_user(jimu, "ann", roles=["desk_reader"])
    install_package(jimu, package([
        {"key": "tell", "trigger": {"type": "record_created"},
         "actions": [SET(状态="已受理"),
                     {"type": "notify", "channel": "in_app", "to": {"users": ["ann"]}, "subject": "a {标题}"},
                     {"type": "notify", "channel": "in_app", "to": {"users": ["ann"]}, "subject": "b {标题}"}]}]))
    create(jimu, "工单", {"标题": "T1"})
    create(jimu, "工单", {"标题": "T2"})
    keys = [j["idempotency_key"] for j in jobs_of(jimu, "rule.in_app")]
    parsed = [re.fullmatch(r"rule:([0-9a-f]{32}):(\d+)", k).groups() for k in keys]
    assert [n for _, n in parsed] == ["1", "2", "1", "2"]  # <n>: the effect's place in its firing
    assert parsed[0][0] == parsed[1][0] != parsed[2][0] == parsed[3][0]
