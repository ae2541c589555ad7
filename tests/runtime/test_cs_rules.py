"""The customer-service package's rules and flow on the real package: dispatch, replies driving the
status, first response, SLA escalation on the business calendar (clock moved), verification, auto-close,
reopen, CSAT survey, customer health warning."""
from __future__ import annotations

import email
from email import policy

import pytest

from tests.runtime.cs_fixtures import (complete, group_id, install, open_tasks, records, reply, run_jobs,
                                       ticket)
from tests.runtime.rules_helpers import create, get
from tests.runtime.test_notify import allow_local, hook  # noqa: F401 (fixtures)


@pytest.fixture
def staff(jimu):
    return install(jimu)


def _resolve(jimu, rid):
    """The one open task of ticket ``rid`` is completed as solved by its assignee; what follows runs."""
    (task,) = open_tasks(jimu, rid)
    complete(jimu, task["id"], "resolved", task["assignee_user_id"])
    run_jobs(jimu)


def test_dispatch_by_keyword_category_urgency_vip_and_default(jimu, staff):
    vip = create(jimu, "客户", {"客户姓名": "王总", "VIP等级": "VIP"})
    plain = create(jimu, "客户", {"客户姓名": "李四", "VIP等级": "普通"})
    invoice = ticket(jimu, 标题="发票抬头开错", 问题类型="产品咨询", 问题详细描述="需要重开")
    refund = ticket(jimu, 标题="钱没到账", 问题详细描述="申请退款一周了")
    outage = ticket(jimu, 标题="网站打不开", 问题类型="服务器故障", 紧急程度="高", 问题详细描述="全部 502")
    outage_low = ticket(jimu, 标题="偶尔变慢", 问题类型="服务器故障", 紧急程度="低", 问题详细描述="晚上偶尔慢")
    from_vip = ticket(jimu, 标题="咨询功能", 客户=vip["id"], 问题类型="产品咨询")
    from_plain = ticket(jimu, 标题="咨询功能", 客户=plain["id"], 问题类型="产品咨询")

    def routed(t):
        row = get(jimu, "工单", t["id"])
        return row["处理组"], row["处理人"], row["优先级"]

    assert routed(invoice) == (group_id(jimu, "finance"), staff["fin"], "P3")
    assert routed(refund)[:2] == (group_id(jimu, "finance"), staff["fin"])
    assert routed(outage) == (group_id(jimu, "it_infra"), staff["ops"], "P1")
    assert routed(outage_low)[0] == group_id(jimu, "frontline")
    assert routed(from_vip)[:2] == (group_id(jimu, "senior"), staff["vera"])
    assert routed(from_plain)[0] == group_id(jimu, "frontline")
    # round robin inside the first line, and the flow's diagnosis task follows the assignee
    frontline = [routed(t)[1] for t in (outage_low, from_plain)]
    assert sorted(frontline) == sorted([staff["ann"], staff["bob"]])
    for t in (invoice, outage, from_vip, from_plain):
        (task,) = open_tasks(jimu, t["id"])
        assert task["node_id"] == "diagnose" and task["assignee_user_id"] == routed(t)[1]


def test_replies_drive_the_status_and_the_first_response_time(jimu, staff, clock):
    t = ticket(jimu)
    run_jobs(jimu)  # the automatic acceptance posts a system reply: not a response
    assert get(jimu, "工单", t["id"])["首次响应时间"] is None
    clock.advance(minutes=30)
    reply(jimu, t["id"], "内部：先查日志", kind="内部备注")
    row = get(jimu, "工单", t["id"])
    assert row["状态"] == "新建" and row["首次响应时间"] is None
    clock.advance(minutes=12)
    reply(jimu, t["id"], "您好，请提供截图")
    row = get(jimu, "工单", t["id"])
    assert row["状态"] == "等待客户回复"
    assert row["首次响应时间"] == clock.now and row["首次响应分钟"] == 42
    first = clock.now
    clock.advance(hours=1)
    reply(jimu, t["id"], "截图在附件", who="客户")
    assert get(jimu, "工单", t["id"])["状态"] == "处理中"
    reply(jimu, t["id"], "已修复，请再试")
    row = get(jimu, "工单", t["id"])
    assert row["状态"] == "等待客户回复" and row["首次响应时间"] == first


def test_no_first_response_in_two_working_hours_reminds_by_mail_and_wecom_then_escalates(
        jimu, clock, smtp, hook, allow_local):
    staff = install(jimu, wecom_url=hook.url + "/cgi-bin/webhook/send?key=k")
    # Monday 09:00 UTC is 17:00 in Shanghai: one working hour today, one tomorrow from 09:00
    late = ticket(jimu, 标题="无法登录", 问题详细描述="一直提示密码错误")
    answered = ticket(jimu, 标题="无法登录", 问题详细描述="收不到验证码")
    (task,) = open_tasks(jimu, late["id"])
    assert task["due_at"] == clock.now.replace(day=3, hour=2)
    run_jobs(jimu)
    reply(jimu, answered["id"], "您好，正在处理")
    clock.advance(hours=16, minutes=59)
    run_jobs(jimu)
    assert [t["node_id"] for t in open_tasks(jimu, late["id"])] == ["diagnose"]
    clock.advance(minutes=1)
    run_jobs(jimu)
    # reminded at the clock's deadline: the assignee and the group lead by e-mail, the group robot by WeCom
    mails = [(to, email.message_from_bytes(raw, policy=policy.default)) for to, raw in smtp.messages]
    assert len(mails) == 1
    to, msg = mails[0]
    assignee = get(jimu, "工单", late["id"])["处理人"]
    name = {v: k for k, v in staff.items()}[assignee]
    assert sorted(to) == sorted([f"{name}@desk.example", "lead@desk.example"])
    assert msg["Subject"] == f"【SLA 超时】工单 {late['工单编号']} 首次响应已超时"   # the flow's first-response clock
    (robot,) = [r for r in hook.requests if r["path"].startswith("/cgi-bin/webhook/send")]
    import json
    body = json.loads(robot["body"])
    assert body["msgtype"] == "markdown" and late["工单编号"] in body["markdown"]["content"]
    # then escalated: the diagnosis ended as 'escalate', the second line has the task, priority raised
    (task,) = open_tasks(jimu, late["id"])
    assert task["node_id"] == "expert" and task["assignee_group"] == "experts"
    assert get(jimu, "工单", late["id"])["优先级"] == "P2"
    # the ticket answered in time is left alone: its first-response SLA was met, the task has no deadline left
    (kept,) = open_tasks(jimu, answered["id"])
    assert kept["node_id"] == "diagnose" and kept["due_at"] is None
    assert get(jimu, "工单", answered["id"])["优先级"] == "P3"
    import sqlalchemy as sa
    from runtime.flows.tables import flow_history, flow_instances
    with jimu.read() as conn:
        kinds = {(r.record_id, r.kind) for r in conn.execute(
            sa.select(flow_instances.c.record_id, flow_history.c.kind)
            .join(flow_history, flow_history.c.instance_id == flow_instances.c.id))}
    assert (answered["id"], "sla_met") in kinds and (answered["id"], "escalated") not in kinds
    assert (late["id"], "escalated") in kinds


def test_resolve_verify_confirm_close_and_the_csat_survey(jimu, staff, clock, smtp):
    t = ticket(jimu, 邮箱="zhang@example.com")
    run_jobs(jimu)
    assert any("【已受理】" in str(email.message_from_bytes(raw, policy=policy.default)["Subject"])
               for _, raw in smtp.messages)
    reply(jimu, t["id"], "请清除缓存后再试")
    (task,) = open_tasks(jimu, t["id"])
    clock.advance(hours=3)
    complete(jimu, task["id"], "resolved", task["assignee_user_id"])
    run_jobs(jimu)
    row = get(jimu, "工单", t["id"])
    # submitted 17:00 in Shanghai, resolved 20:00: one working hour of the SLA calendar, three on the clock
    assert row["状态"] == "已解决" and row["解决时间"] == clock.now
    assert (row["处理时长分钟"], row["处理时长自然分钟"]) == (60, 180)
    (confirm,) = open_tasks(jimu, t["id"])
    assert confirm["node_id"] == "confirm" and confirm["assignee_user_id"] == row["处理人"]
    timeline = [r["内容"] for r in records(jimu, "回复", 工单=t["id"])]
    assert any("请确认是否已解决" in x for x in timeline)
    clock.advance(hours=5)
    complete(jimu, confirm["id"], "confirmed", confirm["assignee_user_id"])
    run_jobs(jimu)
    row = get(jimu, "工单", t["id"])
    assert row["状态"] == "已关闭" and row["关闭时间"] == clock.now and row["重开次数"] == 0
    assert open_tasks(jimu, t["id"]) == []
    subjects = {str(email.message_from_bytes(raw, policy=policy.default)["Subject"]): raw
                for _, raw in smtp.messages}
    assert any("【待确认】" in s for s in subjects)
    (survey,) = [raw for s, raw in subjects.items() if "请评价工单" in s]
    body = email.message_from_bytes(survey, policy=policy.default).get_content()
    assert "/p/%E6%BB%A1%E6%84%8F%E5%BA%A6%E8%B0%83%E6%9F%A5" in body or "/p/满意度调查" in body


def test_no_answer_for_three_days_closes_and_a_customer_reply_reopens(jimu, staff, clock):
    t = ticket(jimu)
    run_jobs(jimu)
    _resolve(jimu, t["id"])
    clock.advance(days=2, hours=23)
    run_jobs(jimu)
    assert get(jimu, "工单", t["id"])["状态"] == "已解决"
    clock.advance(hours=1)
    run_jobs(jimu)
    row = get(jimu, "工单", t["id"])
    assert row["状态"] == "已关闭" and row["关闭时间"] == clock.now and open_tasks(jimu, t["id"]) == []
    assert any("自动关闭" in r["内容"] for r in records(jimu, "回复", 工单=t["id"]))
    # the customer writes again: the ticket is worked again, counted as reopened
    clock.advance(hours=2)
    reply(jimu, t["id"], "问题又出现了", who="客户")
    run_jobs(jimu)
    row = get(jimu, "工单", t["id"])
    assert row["状态"] == "处理中" and row["重开次数"] == 1
    assert [x["node_id"] for x in open_tasks(jimu, t["id"])] == ["diagnose"]


def test_a_customer_reply_to_a_resolved_ticket_reopens_it(jimu, staff, clock):
    t = ticket(jimu)
    run_jobs(jimu)
    _resolve(jimu, t["id"])
    reply(jimu, t["id"], "还是不行", who="客户")
    run_jobs(jimu)
    row = get(jimu, "工单", t["id"])
    assert row["状态"] == "处理中" and row["重开次数"] == 1
    assert [x["node_id"] for x in open_tasks(jimu, t["id"])] == ["diagnose"]
    # solved again, and this time confirmed: closed with one reopen on record
    _resolve(jimu, t["id"])
    (confirm,) = open_tasks(jimu, t["id"])
    complete(jimu, confirm["id"], "confirmed", confirm["assignee_user_id"])
    run_jobs(jimu)
    row = get(jimu, "工单", t["id"])
    assert row["状态"] == "已关闭" and row["重开次数"] == 1


def test_second_line_resolves_an_escalated_ticket(jimu, staff):
    t = ticket(jimu)
    (task,) = open_tasks(jimu, t["id"])
    complete(jimu, task["id"], "escalate", task["assignee_user_id"])
    (expert,) = open_tasks(jimu, t["id"])
    assert expert["node_id"] == "expert" and expert["assignee_group"] == "experts"
    complete(jimu, expert["id"], "resolved", staff["exp"])
    run_jobs(jimu)
    assert get(jimu, "工单", t["id"])["状态"] == "已解决"


def test_health_warning_on_the_fourth_ticket_of_one_type_in_thirty_days(jimu, staff, clock):
    csm = staff["csm"]
    c = create(jimu, "客户", {"客户姓名": "赵敏", "公司": "北京云帆科技", "客户成功经理": csm})
    other = create(jimu, "客户", {"客户姓名": "孙浩"})
    old = ticket(jimu, 客户=c["id"], 问题类型="账号问题")
    clock.advance(days=31)  # outside the 30-day window from here on
    for _ in range(3):
        ticket(jimu, 客户=c["id"], 问题类型="账号问题")
        clock.advance(days=3)
    ticket(jimu, 客户=c["id"], 问题类型="发票")
    for _ in range(4):
        ticket(jimu, 客户=other["id"], 问题类型="发票")
    warnings = records(jimu, "客户健康度预警")
    assert [w["客户"] for w in warnings] == [other["id"]]  # no owner: a warning without notification
    assert old["id"]
    fourth = ticket(jimu, 客户=c["id"], 问题类型="账号问题")
    mine = records(jimu, "客户健康度预警", 客户=c["id"])
    assert len(mine) == 1
    w = mine[0]
    assert (w["问题类型"], w["近30天工单数"], w["负责人"], w["状态"]) == ("账号问题", 4, csm, "待处理")
    assert "赵敏" in w["说明"]
    assert get(jimu, "客户", c["id"])["最近预警工单"] == fourth["id"]
    # the success manager is told in the app (the outbox renders the message)
    run_jobs(jimu)
    import sqlalchemy as sa
    from runtime.rules.tables import notifications
    with jimu.read() as conn:
        titles = [r.title for r in conn.execute(sa.select(notifications).where(notifications.c.user_id == csm))]
    assert titles == ["客户健康度预警：赵敏"]
    # a fifth of the same type while the warning is open does not warn again
    ticket(jimu, 客户=c["id"], 问题类型="账号问题")
    assert len(records(jimu, "客户健康度预警", 客户=c["id"])) == 1


def test_mail_intake_opens_a_dispatched_ticket_and_the_customer_mail_reply_moves_it(jimu, staff, smtp, app):
    from tests.runtime.test_intake import free_port, send
    from runtime.intake import start_smtp
    port = free_port()
    controller = start_smtp(app, "127.0.0.1", port)
    try:
        send(port, "申请退款进度查询", "您好，退款一周还没到账。")
        (t,) = records(jimu, "工单")
        assert (t["问题渠道"], t["邮箱"], t["处理组"]) == ("邮件", "zhang.san@example.com", group_id(jimu, "finance"))
        run_jobs(jimu)  # the acknowledgement mail tells the customer the number to keep in the subject
        (ack,) = [email.message_from_bytes(raw, policy=policy.default) for to, raw in smtp.messages
                  if to == ["zhang.san@example.com"]]
        assert t["工单编号"] in ack["Subject"]
        reply(jimu, t["id"], "请提供订单号")
        assert get(jimu, "工单", t["id"])["状态"] == "等待客户回复"
        run_jobs(jimu)  # the agent's public reply is mailed to the customer, with the number in the subject
        (answer,) = [email.message_from_bytes(raw, policy=policy.default) for to, raw in smtp.messages
                     if to == ["zhang.san@example.com"] and b"Re:" in raw]
        assert answer["Subject"] == f"Re: [{t['工单编号']}] 申请退款进度查询"
        body = answer.get_content()
        assert "请提供订单号" in body and "/s/" in body
        sent = len(smtp.messages)
        reply(jimu, t["id"], "内部：财务在查", kind="内部备注")  # internal notes never reach the customer
        run_jobs(jimu)
        assert len(smtp.messages) == sent
        send(port, f"Re: {answer['Subject']}", "订单号 20261102001")
        (t2,) = records(jimu, "工单")
        assert t2["id"] == t["id"] and t2["状态"] == "处理中"
        assert [r["来自"] for r in records(jimu, "回复", 工单=t["id"])][-1] == "客户"
    finally:
        controller.stop()


def test_tickets_by_e_mail_link_the_known_customer_route_vip_and_count_for_health(jimu, staff, clock):
    vip = create(jimu, "客户", {"客户姓名": "王总", "邮箱": "boss@bigco.example", "VIP等级": "VIP",
                               "客户成功经理": staff["csm"]})
    t = ticket(jimu, 标题="咨询报价", 问题类型="产品咨询", 邮箱="boss@bigco.example")
    row = get(jimu, "工单", t["id"])
    assert row["客户"] == vip["id"]
    assert (row["处理组"], row["处理人"]) == (group_id(jimu, "senior"), staff["vera"])
    stranger = ticket(jimu, 邮箱="nobody@example.com")
    assert get(jimu, "工单", stranger["id"])["客户"] is None
    for _ in range(3):
        clock.advance(days=1)
        ticket(jimu, 标题="又来咨询", 问题类型="产品咨询", 邮箱="boss@bigco.example")
    (w,) = records(jimu, "客户健康度预警")
    assert (w["客户"], w["问题类型"], w["近30天工单数"], w["负责人"]) == (vip["id"], "产品咨询", 4, staff["csm"])


def test_inviting_a_second_line_expert_makes_them_a_participant_and_tells_them(jimu, staff):
    import sqlalchemy as sa
    from runtime.rules.tables import notifications, record_participants as p
    from tests.runtime.rules_helpers import update
    t = ticket(jimu, 标题="接口偶发超时")
    update(jimu, "工单", t["id"], {"参与人": [staff["exp"]]})
    run_jobs(jimu)
    with jimu.read() as conn:
        joined = [r.user_id for r in conn.execute(sa.select(p).where(p.c.form_key == "工单", p.c.record_id == t["id"]))]
        told = [r.title for r in conn.execute(sa.select(notifications).where(notifications.c.user_id == staff["exp"]))]
    assert joined == [staff["exp"]]
    assert told == [f"请协助处理工单 {t['工单编号']}"]


def test_sla_targets_follow_the_priority_and_the_resolution_clock_waits_with_the_customer(jimu, clock):
    """The package's ticket_flow SLA: a server outage marked 高 is dispatched as P1 (first response in 30 working
    minutes, resolution in 4 working hours), an ordinary ticket gets the defaults (2 h, 3 working days); the
    resolution clock stands still while the ticket waits for the customer and runs again on the customer's reply."""
    from datetime import datetime, timezone

    import sqlalchemy as sa
    from runtime.flows.tables import flow_instances
    install(jimu)
    clock.now = datetime(2026, 11, 3, 1, 0, tzinfo=timezone.utc)        # Tuesday 09:00 in Shanghai
    outage = ticket(jimu, 标题="网站打不开", 问题类型="服务器故障", 紧急程度="高", 问题详细描述="502")
    plain = ticket(jimu, 标题="如何导出报表", 问题类型="产品咨询", 问题详细描述="在哪里导出")

    def clocks(rid):
        with jimu.read() as conn:
            return conn.execute(sa.select(flow_instances.c.state).where(flow_instances.c.record_id == rid,
                                                                        flow_instances.c.form_key == "工单")
                                ).scalar()["clocks"]
    assert get(jimu, "工单", outage["id"])["优先级"] == "P1"
    assert {k: (c["target"], c["due"]) for k, c in clocks(outage["id"]).items()} == {
        "first_response": ("PT30M", "2026-11-03T09:30:00+08:00"),
        "resolution": ("PT4H", "2026-11-03T13:00:00+08:00")}            # chosen again once dispatch set P1
    assert {k: c["target"] for k, c in clocks(plain["id"]).items()} == {"first_response": "PT2H",
                                                                       "resolution": "P3D"}
    clock.advance(hours=1)                                               # 10:00: the agent answers
    reply(jimu, outage["id"], "正在排查")
    assert get(jimu, "工单", outage["id"])["状态"] == "等待客户回复"
    state = clocks(outage["id"])
    assert state["first_response"]["status"] == "met"
    assert state["resolution"]["status"] == "paused" and state["resolution"]["left"] == 3 * 3600
    clock.advance(days=1)                                                # the customer answers a day later
    reply(jimu, outage["id"], "还是打不开", who="客户")
    state = clocks(outage["id"])["resolution"]
    assert state["status"] == "running" and state["due"] == "2026-11-04T13:00:00+08:00"
