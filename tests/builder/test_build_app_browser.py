"""Issue 8's acceptance test: a business user builds a ticket app in Chromium through the builder UI
alone — mouse drags, clicks and typing, no JSON — publishes it, and end users work it in the runtime.

What is built, step by step (each designer's own reusable steps):

- the app: builder home → 新建应用 (steps_form.new_app);
- the people settings on the app page (steps_people): the role 客服人员 (create, read and update 工单,
  ticked in the permission matrix) and the group ``general`` 普通队列 (members ann and ben, lead ben),
  published with the app;
- the form 工单 (steps_form.build_form) with the six business fields of the issue — 客户姓名 (text,
  required), 联系电话 (phone), 问题渠道 (radio 官网/微信/电话), 问题详细描述 (textarea), 附件 (attachment),
  紧急程度 (select 高/中/低) — and three the flow, rules and dashboard need: 问题类型 (select
  技术支持/账务/其他: the flow routes on it), 状态 (select 新建/处理中/已解决/已关闭, default "新建":
  the rule and the KPI read it) and 处理人 (user: the assignee the rule e-mails);
- the flow 分派流程 (steps_flow.build_routing_flow): start → exclusive gateway → condition
  ``问题类型 == "技术支持"`` → a task for the user ``lead`` (the technical lead); the default edge → a
  task for the group ``general`` (the general queue) → end;
- two record-created rules that fill 处理人 (steps_rule primitives, the "分配处理人" action):
  技术支持 → the user ``lead``; the others → round robin in the group ``general``;
- the rule "2 小时未解决提醒" (steps_rule.build_unresolved_mail_rule): 2 hours after creation, when
  状态 is neither 已解决 nor 已关闭, e-mail the user in 处理人;
- the dashboard 服务概览 (steps_dashboard.build_channel_dashboard): a pie by 问题渠道, a KPI of the
  total against 状态 = 已解决, a daily line of created tickets.

Who is there beforehand (the administrator's directory): the designer ``bea`` (a builder role of an
organisation package) and the users ``lead``, ``ann``, ``ben`` and ``carol``, with no role yet. The app
says what its role may do and who is in its group; who *holds* the role is the directory's business: once
the app is published, the administrator grants 客服人员 to the five of them (as ``jimu create-user
--role`` does).

The runtime (the test clock moves; nothing sleeps): on day 1 carol submits a ticket through the runtime
form; round robin makes ann its 处理人; 2 hours later the due jobs run and ann's e-mail arrives at a
local aiosmtpd server (not a minute before). On day 2 carol submits a 技术支持 ticket (with an
attachment) and a 账务 one: the lead has a task for the first, the queue (ann, ben) for the others, and
ben, 处理人 of the 账务 ticket, resolves it within the hour. The runtime dashboard counts 3 tickets, 1
resolved, one per channel, 1 then 2 a day; 2 hours after creation only the lead gets an e-mail.

Screenshots: tests/artifacts/build-*.png (each designer, then the runtime).
"""
from __future__ import annotations

import email
import json
from email import policy
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from runtime import db, jobs
from tests.builder import steps_dashboard, steps_flow, steps_form, steps_people, steps_rule
from tests.builder.steps_form import Field
from tests.conftest import browser_login, install_package, make_user

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

APP, FORM = "service", "工单"
CHANNELS = ["官网", "微信", "电话"]
STATUS = ["新建", "处理中", "已解决", "已关闭"]
FIELDS = [
    Field("text", "客户姓名", "客户姓名", "Customer name", required=True),
    Field("phone", "联系电话", "联系电话", "Phone"),
    Field("radio", "问题渠道", "问题渠道", "Channel", options=CHANNELS),
    Field("select", "问题类型", "问题类型", "Issue type", options=["技术支持", "账务", "其他"], how="keyboard"),
    Field("textarea", "问题详细描述", "问题详细描述", "Description"),
    Field("attachment", "附件", "附件", "Attachment", how="keyboard"),
    Field("select", "紧急程度", "紧急程度", "Urgency", options=["高", "中", "低"]),
    Field("select", "状态", "状态", "Status", options=STATUS, default='"新建"', how="keyboard"),
    Field("user", "处理人", "处理人", "Assignee"),
]


@pytest.fixture
def people(jimu):
    install_package(jimu, steps_people.directory())
    users = {}
    for name in ("lead", "ann", "ben", "carol"):
        users[name] = make_user(jimu, name)
        with jimu.begin() as conn:
            conn.execute(sa.update(db.users).where(db.users.c.id == users[name])
                         .values(email=f"{name}@example.com"))
    users["bea"] = make_user(jimu, "bea", roles=["designer"])
    return users


def _build_people(page, live_server, jimu, people, screenshot):
    """The app page: the role 客服人员 and the group 普通队列, published; then the administrator grants
    the role (the app's role says what it may do, the directory who holds it)."""
    steps_people.open_app(page, live_server, APP)
    steps_people.add_role(page, "service_staff", "客服人员", "Service staff", {FORM: ["create", "read", "update"]})
    steps_people.add_group(page, "general", "普通队列", "General queue", ["ann", "ben"], lead="ben")
    page.screenshot(path=str(screenshot), full_page=True)
    steps_people.publish(page)
    from runtime.auth.users import set_roles
    with jimu.begin() as conn:
        for name in ("lead", "ann", "ben", "carol", "bea"):   # bea reads the records her charts count
            set_roles(conn, people[name], ["service_staff"])
    jimu.config["AUTH_CACHE_SECONDS"] = 0                       # the grant applies at once


@pytest.fixture
def smtp_from():
    return "service@example.com"      # the sender of this deployment's mail (tests/conftest.py: smtp)


def _watch(page):
    errors = []
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    # the report designer's live preview answers 422 for a definition still being built (its errors are
    # shown); any other refusal of the builder's API, and any server error, is a failure
    page.on("response", lambda r: errors.append(f"{r.status} {r.request.method} {r.url}")
            if r.status >= 500 or (r.status >= 400 and "/builder/api/" in r.url and r.request.method != "GET"
                                   and not r.url.endswith("/reports/preview"))
            else None)
    return errors


def _assign_rule(page, live_server, key, label, op, strategy, *, user=None, group=None, screenshot=None):
    """A record-created rule: when 问题类型 ``op`` 技术支持, "分配处理人" fills 处理人 (a user, or round robin
    in a group); published."""
    steps_rule.new_rule(page, live_server, APP, label, key)
    assert page.locator("#rule-form").input_value() == FORM
    assert page.locator("#rule-trigger-type").input_value() == "record_created"
    steps_rule.add_field_condition(page, "问题类型", op, ["技术支持"])
    steps_rule.choose(page, "#rule-add-action", value="assign")
    page.wait_for_selector('#action-0[data-type="assign"]')
    steps_rule.choose(page, "#action-0-field", value="处理人")
    strategies = page.locator("#action-0-strategy option").evaluate_all(
        "os => os.map(o => [o.value, o.textContent])")
    wanted = {"user": ("指定用户", "A given user"), "round_robin": ("小组内轮流分配", "Round robin in a group")}[strategy]
    (value,) = [v for v, text in strategies if text in wanted]
    steps_rule.choose(page, "#action-0-strategy", value=value)
    for box, value in (("#action-0-user", user), ("#action-0-group", group)):
        if value:
            if page.locator(box).evaluate("e => e.tagName") == "SELECT":   # the app's groups, to pick from
                page.select_option(box, value)
            else:
                page.locator(box).fill(value)
                page.locator(box).press("Tab")                # the setting is taken when the box is left
    page.locator("#problems").wait_for(state="hidden")          # nothing left to fix before publishing
    if screenshot:
        page.screenshot(path=str(screenshot), full_page=True)
    steps_rule.publish(page)


def _submit_ticket(page, live_server, values, *, channel, attachment=None):
    """An end user fills the runtime form and saves; returns the new record's id."""
    page.goto(f"{live_server}/forms/{quote(FORM)}/new")
    page.wait_for_selector("form[data-ready=true]")
    page.fill("#f-客户姓名", values["客户姓名"])
    page.fill("#f-联系电话", values["联系电话"])
    page.locator('[data-field="问题渠道"]').get_by_label(channel, exact=True).check()
    page.select_option("#f-问题类型", values["问题类型"])
    page.fill("#f-问题详细描述", values["问题详细描述"])
    page.select_option("#f-紧急程度", values["紧急程度"])
    if attachment:
        page.set_input_files("#f-附件", files=[attachment])
    page.locator("form button[type=submit].primary").click()
    page.wait_for_selector("dl.record")
    return int(page.url.split("?")[0].rstrip("/").rsplit("/", 1)[1])


def _tasks(jimu):
    from runtime.flows.tables import flow_instances, flow_tasks
    with jimu.read() as conn:
        rows = conn.execute(sa.select(flow_instances.c.record_id, flow_tasks.c.node_id, flow_tasks.c.assignee_kind,
                                      flow_tasks.c.assignee_user_id, flow_tasks.c.assignee_group)
                            .join(flow_instances, flow_instances.c.id == flow_tasks.c.instance_id)
                            .order_by(flow_tasks.c.id)).mappings().all()
    return {r["record_id"]: dict(r) for r in rows}


def _timer_mails(jimu, clock, smtp, **delta):
    """Move the clock by ``delta``, run the timers then due, then the e-mails they queued: returns the
    recipients of every mail received and the first mail (None if there is none)."""
    clock.advance(**delta)
    jobs.run_due(jimu)
    jobs.run_due(jimu)                            # the e-mails the timers queued
    msg = email.message_from_bytes(smtp.messages[0][1], policy=policy.default) if smtp.messages else None
    return [rcpt for rcpt, _ in smtp.messages], msg


def _record(jimu, rid):
    from runtime.auth.principal import Principal
    from runtime.records import Records
    with jimu.read() as conn:
        return Records(jimu, conn, Principal(user_id=None, username="t", is_admin=True),
                       check_permissions=False).get(FORM, rid)


def _dashboard(page, live_server):
    page.goto(f"{live_server}/dashboards/service_overview")
    page.wait_for_selector('.dash-tile[data-report="total_vs_resolved"] .plot .main-svg')
    page.wait_for_selector('.dash-tile[data-report="by_channel"] .plot .main-svg')
    page.wait_for_selector('.dash-tile[data-report="daily_trend"] .plot .main-svg')
    data = json.loads(page.locator("#dashboard-data").text_content())
    return {tile["report"]: tile["rows"] for tile in data["charts"]}


def _login(page, live_server, username):
    """Another person at the same browser: leave the page first (a designer's pending live preview
    would otherwise go out without a session), then log in afresh."""
    page.goto("about:blank")
    page.context.clear_cookies()
    browser_login(page, live_server, username)


def test_a_business_user_builds_the_ticket_app_and_it_routes_counts_and_mails(
        jimu, live_server, page, artifacts, clock, smtp, people):
    errors = _watch(page)
    browser_login(page, live_server, "bea")

    # -- the build, through the UI alone ------------------------------------------------------------
    steps_form.new_app(page, live_server, "客服中心", APP)
    page.screenshot(path=str(artifacts / "build-app.png"), full_page=True)
    status = steps_form.build_form(page, live_server, APP, FORM, "工单", FIELDS, title_field="客户姓名",
                                   screenshot=artifacts / "build-form-designer.png")
    assert "1.0.0" in status
    _build_people(page, live_server, jimu, people, artifacts / "build-people.png")

    steps_flow.build_routing_flow(page, live_server, APP, FORM, field="问题类型", value="技术支持",
                                  lead="lead", queue="general", flow_label="分派流程",
                                  lead_label="技术主管处理", queue_label="普通队列",
                                  screenshot=artifacts / "build-flow-designer.png")
    _assign_rule(page, live_server, "assign_lead", "技术支持 → 技术主管", "eq", "user", user="lead",
                 screenshot=artifacts / "build-rule-assign.png")
    _assign_rule(page, live_server, "assign_queue", "其他 → 普通队列轮流", "ne", "round_robin", group="general")
    steps_rule.build_unresolved_mail_rule(page, live_server, APP, FORM, "状态", assignee_field="处理人",
                                          title_field="客户姓名",
                                          screenshot=str(artifacts / "build-rule-designer.png"))
    built = steps_dashboard.build_channel_dashboard(page, live_server, APP, FORM, "问题渠道", "状态", "已解决")
    # the form is published and still empty: the live charts were drawn, with nothing to count
    assert built["rows"] == {"by_channel": [], "total_vs_resolved": [{"count": 0, "count_2": 0}], "daily_trend": []}
    page.screenshot(path=str(artifacts / "build-dashboard-designer.png"), full_page=True)

    # what was published is what the user built
    from runtime.installer import installed_package
    with jimu.read() as conn:
        pkg = installed_package(conn, APP)
    (form,) = pkg["forms"]
    fields = {f["key"]: f for f in form["fields"]}
    assert [f["key"] for f in form["fields"]] == [f.key for f in FIELDS]
    assert {k: f["widget"] for k, f in fields.items()} == {f.key: f.widget for f in FIELDS}
    assert fields["问题渠道"]["config"]["options"] == CHANNELS
    assert fields["紧急程度"]["config"]["options"] == ["高", "中", "低"]
    assert fields["客户姓名"]["required"] is True
    assert fields["客户姓名"]["label"] == {"zh-CN": "客户姓名", "en": "Customer name"}
    assert form["title_field"] == "客户姓名"
    assert fields["状态"]["default_expr"] == '"新建"'
    (flow,) = pkg["flows"]
    assert [e["condition"] for e in flow["edges"] if e.get("condition")] == ['问题类型 == "技术支持"']
    assignees = sorted(n["config"]["assignee"]["kind"] + ":" + n["config"]["assignee"]["value"]
                       for n in flow["nodes"] if n["type"] == "user_task")
    assert assignees == ["group:general", "user:lead"]
    rules = {r["key"]: r for r in pkg["rules"]}
    assert rules["assign_lead"]["actions"] == [{"type": "assign", "field": "处理人", "strategy": "user", "user": "lead"}]
    assert rules["assign_queue"]["actions"] == [{"type": "assign", "field": "处理人", "strategy": "round_robin",
                                                 "group": "general"}]
    assert rules["unresolved_2h"]["trigger"] == {"type": "time_after", "field": "created_at", "hours": 2}
    assert rules["unresolved_2h"]["condition"] == {"all": [{"field": "状态", "op": "not_in", "value": ["已解决", "已关闭"]}]}
    (mail,) = rules["unresolved_2h"]["actions"]
    assert (mail["type"], mail["channel"], mail["to"]) == ("notify", "email", {"user_fields": ["处理人"]})
    assert {r["key"]: r["type"] for r in pkg["reports"]} == {"by_channel": "pie", "total_vs_resolved": "kpi",
                                                             "daily_trend": "line"}
    assert len(pkg["dashboards"][0]["charts"]) == 3
    (role,) = pkg["roles"]
    assert (role["key"], role["label"], role["permissions"]) == (
        "service_staff", {"zh-CN": "客服人员", "en": "Service staff"}, {FORM: ["create", "read", "update"]})
    (group,) = pkg["groups"]
    assert (group["key"], group["members"], group["lead"]) == ("general", ["ann", "ben"], "ben")

    # -- the runtime, day 1: an end user submits a ticket through the form; nobody answers it -------
    _login(page, live_server, "carol")
    other = _submit_ticket(page, live_server, {"客户姓名": "王五", "联系电话": "13700137000", "问题类型": "其他",
                                               "问题详细描述": "想咨询营业时间", "紧急程度": "低"}, channel="电话")
    assert _record(jimu, other)["处理人"] == people["ann"]           # round robin in the queue: ann first
    assert _record(jimu, other)["状态"] == "新建"                     # the default the builder typed
    clock.advance(hours=1, minutes=59)
    jobs.run_due(jimu)
    assert smtp.messages == []                    # not 2 hours yet
    rcpts, msg = _timer_mails(jimu, clock, smtp, minutes=2)
    assert rcpts == [["ann@example.com"]]
    assert msg["Subject"] == "2 小时仍未解决: 王五"
    assert "当前状态: 新建" in msg.get_content()
    smtp.messages.clear()

    # -- day 2: two more tickets, one of them 技术支持 with an attachment ------------------------------
    clock.advance(days=1)
    tech = _submit_ticket(page, live_server, {"客户姓名": "张三", "联系电话": "13800138000", "问题类型": "技术支持",
                                              "问题详细描述": "登录后页面空白，需要技术支持", "紧急程度": "高"},
                          channel="微信", attachment={"name": "截图.txt", "mimeType": "text/plain",
                                                      "buffer": "白屏".encode()})
    page.screenshot(path=str(artifacts / "build-runtime-ticket.png"), full_page=True)
    assert "截图.txt" in page.locator("dl.record").inner_text()
    bill = _submit_ticket(page, live_server, {"客户姓名": "李四", "联系电话": "13900139000", "问题类型": "账务",
                                              "问题详细描述": "发票抬头写错了", "紧急程度": "中"}, channel="官网")

    # routed: the lead has the 技术支持 ticket's task, the queue the others; each has its assignee
    tasks = _tasks(jimu)
    assert (tasks[tech]["assignee_kind"], tasks[tech]["assignee_user_id"]) == ("user", people["lead"])
    for rid in (bill, other):
        assert (tasks[rid]["assignee_kind"], tasks[rid]["assignee_group"]) == ("group", "general")
    assert {rid: _record(jimu, rid)["处理人"] for rid in (tech, bill)} == {tech: people["lead"], bill: people["ben"]}

    _login(page, live_server, "lead")
    page.goto(f"{live_server}/tasks")
    inbox = page.locator("main").inner_text()
    assert "张三" in inbox and "李四" not in inbox and "王五" not in inbox
    page.screenshot(path=str(artifacts / "build-runtime-lead-tasks.png"), full_page=True)

    # ben (the queue) resolves 李四's ticket within the hour, on its edit page
    clock.advance(hours=1)
    _login(page, live_server, "ben")
    page.goto(f"{live_server}/tasks")
    inbox = page.locator("main").inner_text()
    assert "李四" in inbox and "王五" in inbox and "张三" not in inbox
    page.screenshot(path=str(artifacts / "build-runtime-queue-tasks.png"), full_page=True)
    page.goto(f"{live_server}/forms/{quote(FORM)}/{bill}/edit")
    page.wait_for_selector("form[data-ready=true]")
    page.select_option("#f-状态", "已解决")
    page.locator("form button[type=submit].primary").click()
    page.wait_for_selector("dl.record")
    assert _record(jimu, bill)["状态"] == "已解决"
    jobs.run_due(jimu)
    assert smtp.messages == []                    # nothing of day 2 is 2 hours old yet

    # counted: the runtime dashboard
    rows = _dashboard(page, live_server)
    assert rows["total_vs_resolved"] == [{"count": 3, "count_2": 1}]
    assert {r["问题渠道"]: r["count"] for r in rows["by_channel"]} == dict.fromkeys(CHANNELS, 1)
    assert [r["count"] for r in rows["daily_trend"]] == [1, 2]
    tile = page.locator('.dash-tile[data-report="total_vs_resolved"] .plot').inner_text()
    assert "3" in tile and "1" in tile
    page.screenshot(path=str(artifacts / "build-runtime-dashboard.png"), full_page=True)

    # two hours after creation: the lead gets the e-mail for the unresolved 技术支持 ticket, ben none
    rcpts, msg = _timer_mails(jimu, clock, smtp, hours=1, minutes=1)
    assert rcpts == [["lead@example.com"]]
    assert msg["Subject"] == "2 小时仍未解决: 张三"
    assert "记录 张三 创建后仍未解决, 当前状态: 新建" in msg.get_content()

    # the builder sees the same numbers live in her dashboard designer
    _login(page, live_server, "bea")
    page.goto(f"{live_server}/builder/apps/{APP}/dashboards/service_overview")
    page.wait_for_selector("#dashboard-designer[data-ready], #dd-grid [role=alert]")
    assert page.locator("#dd-grid [role=alert]").count() == 0, page.locator("#dd-grid").inner_text()
    steps_dashboard.wait_tiles(page)
    page.wait_for_function("document.querySelectorAll('#dd-grid .main-svg').length >= 3")
    page.screenshot(path=str(artifacts / "build-dashboard-designer-live.png"), full_page=True)
    assert not errors, errors
