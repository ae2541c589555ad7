"""Issue 7 end to end, in Chromium: one ticket of the customer-service package (examples/customer_service.json)
through its whole life, every step through the pages a person would use.

0. the supervisor reads the service dashboard (API and page) over 48 demo tickets of history (played through the engines);
1. an anonymous customer fills the public ticket form (其他类型说明 appears only for 其他) and keeps the private
   status link; the dashboard counts the new ticket and its backlog;
2. the flow accepts it (a 系统 reply, an acknowledgement mail) and keyword dispatch routes it to 财务组 / fay;
3. fay finds it in "my tasks" and "my tickets" (assignee by name), sees the knowledge-base suggestion, leaves an
   internal note — no first response;
   fay is told of her new task (in-app, the top bar's menu); her inbox row shows the ticket's key fields and deadline;
4. at 80 % of two business hours (the clock is moved, never slept) the first-response SLA warns fay; at the deadline
   it tells fay and the group lead in the app and by mail (local SMTP server) and posts to the WeCom robot
   (captured); the priority is raised and the ticket escalated: the process page shows it;
5. the second-line expert gets the task, replies with the reply template ({客户姓名} {工单编号} filled): the first
   response time and 等待客户回复 are set and the reply is mailed to the customer; he resolves it: 已解决 and a
   verification mail with the status link;
6. the customer confirms on that status link: 已关闭, and the CSAT mail's link is answered on the public page
   (a second answer is refused);
7. one click turns the solved ticket into a draft article; published, the portal finds it by a Chinese search;
8. the dashboard moved accordingly: every figure equals an independent computation over the records, and the
   deltas are the walk's (total +1, resolved +1, backlog back, CSAT 5 +1, fay's row +1 ...).

Due jobs (rule outbox, flow actions, timers) run through ``runtime.jobs.run_due``. On SQLite and PostgreSQL.
Screenshots: tests/artifacts/cs-e2e-*.png.
"""
from __future__ import annotations

import email
import re
from datetime import datetime, timedelta, timezone
from email import policy

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from runtime import db
from runtime.store.records import RecordStore
from tests.conftest import Clock, browser_login, install_package, make_user
from tests.runtime import cs_fixtures
from tests.test_customer_service import load

pytestmark = [pytest.mark.browser, pytest.mark.parametrize(
    "db_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)], indirect=True)]

#: tickets of the played history (the package's demo_records × the scale below)
HISTORY = 48


@pytest.fixture
def clock():
    """Tuesday 2026-11-03 09:30 in Shanghai (01:30 UTC): inside the package's business hours."""
    return Clock(datetime(2026, 11, 3, 1, 30, tzinfo=timezone.utc))


def set_email(jimu, username, address):
    with jimu.begin() as conn:
        conn.execute(sa.update(db.users).where(db.users.c.username == username).values(email=address))


@pytest.fixture
def desk(jimu):
    """The package installed, its people, a reply template and a published article."""
    install_package(jimu, load())
    from runtime import demo
    with jimu.begin() as conn:   # the demo staff who live the history; the walk's own people join after it
        demo.demo_users(conn, "customer_service", now=jimu.now(), password="demo-1234")
    # 60 days of history before today, played through the engines (runtime/replay.py): dispatched, answered,
    # resolved, rated; its mail withheld
    played = demo.generate(jimu.config, app_key="customer_service", now=jimu.now() - timedelta(days=1),
                           days=60, seed=7, scale=0.2)
    assert played.made["工单"] == HISTORY and played.made.get("满意度调查", 0) > 0, played
    with jimu.begin() as conn:   # the demo staff leave the desk, and the desk's round-robin turns start afresh;
        conn.execute(sa.delete(db.group_members))  # the history's pending timers are dropped: only the walk's
        conn.execute(sa.delete(db.jobs).where(db.jobs.c.status == "pending"))  # ticket speaks during the walk
        conn.execute(sa.delete(db.serial_counters).where(db.serial_counters.c.form_key == "round_robin"))
    people = {
        "lead": make_user(jimu, "lead", roles=["supervisor"], groups=["finance", "frontline"]),
        "fay": make_user(jimu, "fay", roles=["agent"], groups=["finance"]),
        "ann": make_user(jimu, "ann", roles=["agent"], groups=["frontline"]),
        "eric": make_user(jimu, "eric", roles=["expert"], groups=["experts"]),
        "boss": make_user(jimu, "boss", admin=True),
    }
    for name in people:
        set_email(jimu, name, f"{name}@desk.example.com")
    with jimu.begin() as conn:   # the finance group's lead receives SLA reminders
        conn.execute(sa.update(db.groups).where(db.groups.c.key == "finance").values(lead_id=people["lead"]))
    admin = SystemRecords(jimu)
    admin.create("回复模板", {"名称": "首次回复", "分类": "发票",
                            "正文": "{客户姓名}您好，您的工单 {工单编号} 已收到，我们会尽快处理。"})
    admin.create("知识库文章", {"标题": "发票重开流程说明", "分类": "发票", "关键词": "发票 重开 抬头",
                             "正文": "<p>发票开具错误时，请在工单中提供正确抬头与税号，财务将在 3 个工作日内重开。</p>",
                             "已发布": True})
    return people


class SystemRecords:
    """Records written as the system (set-up data, not part of the walk)."""

    def __init__(self, jimu):
        self.jimu = jimu

    def create(self, form, values):
        from runtime.flows.service import SYSTEM
        from runtime.records import Records
        with self.jimu.begin() as conn:
            return Records(self.jimu, conn, SYSTEM, source="test", check_permissions=False).create(form, values)


def ticket_row(jimu, rid):
    ft = jimu.catalog.form("工单")
    with jimu.read() as conn:
        rows, _ = RecordStore(conn).select(ft, where=ft.table.c.id == rid, limit=1)
    return rows[0]


def group_id(jimu, key):
    with jimu.read() as conn:
        return conn.execute(sa.select(db.groups.c.id).where(db.groups.c.key == key)).scalar_one()


def shot(page, artifacts, name):
    page.screenshot(path=str(artifacts / f"cs-e2e-{name}.png"), full_page=True)


def mails(smtp):
    out = []
    for rcpt, raw in smtp.messages:
        msg = email.message_from_bytes(raw, policy=policy.default)
        out.append({"to": rcpt, "subject": msg["Subject"], "body": msg.get_content()})
    return out


def notices(jimu, username):
    """The titles of a person's in-app notifications, oldest first."""
    from runtime.rules.tables import notifications
    with jimu.read() as conn:
        return list(conn.execute(sa.select(notifications.c.title).join(db.users, db.users.c.id == notifications.c.user_id)
                                 .where(db.users.c.username == username).order_by(notifications.c.id)).scalars())


def bell(page):
    """The titles in the top bar's notifications menu, newest first, as the person sees them."""
    page.reload()
    page.locator("#jimu-inbox summary").click()
    page.wait_for_selector("#jimu-inbox [data-list] li")
    return page.locator("#jimu-inbox [data-list] li").all_inner_texts()


def run_jobs(jimu):
    """Run every due job (rule outbox, flow actions, timers) until none is left; returns how many ran."""
    return cs_fixtures.run_jobs(jimu, rounds=10)


def flow_tasks_of(jimu, rid):
    from runtime.flows.tables import flow_tasks
    with jimu.read() as conn:
        return [dict(r) for r in conn.execute(sa.select(flow_tasks).where(flow_tasks.c.form_key == "工单",
                                                                           flow_tasks.c.record_id == rid)
                                              .order_by(flow_tasks.c.id)).mappings()]


def open_task(jimu, rid):
    [task] = [t for t in flow_tasks_of(jimu, rid) if t["status"] == "open"]
    return task


def replies_of(jimu, rid):
    ft = jimu.catalog.form("回复")
    with jimu.read() as conn:
        rows, _ = RecordStore(conn).select(ft, where=ft.columns["工单"] == rid, order_by=[ft.table.c.id])
    return rows


DASHBOARD = "service_overview"


def dashboard(page, base):
    """The service dashboard's tiles by report key, read through its API with the page's session."""
    resp = page.request.get(f"{base}/api/v1/dashboards/{DASHBOARD}/data")
    assert resp.ok, resp.text()
    tiles = {t["report"]: t for t in resp.json()["charts"]}
    assert not [k for k, t in tiles.items() if t.get("error")], tiles
    return tiles


def drawn(page):
    """Wait until every dashboard tile has drawn its figure (or its empty state); none may be empty."""
    page.wait_for_function("[...document.querySelectorAll('.dash-tile')].every("
                           "t => t.querySelector('.main-svg, .plot-table, .tile-empty, .tile-error'))", timeout=15000)
    empty = page.locator(".dash-tile:has(.tile-empty), .dash-tile:has(.tile-error)")
    assert empty.count() == 0, empty.all_inner_texts()


def kpi(tiles, report):
    [row] = tiles[report]["rows"]
    return row


def by(tiles, report, dim):
    return {r[dim]: r for r in tiles[report]["rows"]}


def mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def oracle(jimu):
    """The dashboard's figures computed independently from every record in Python."""
    done = ("已解决", "已关闭")
    with jimu.read() as conn:
        tickets, _ = RecordStore(conn).select(jimu.catalog.form("工单"), limit=10_000)
        answers, _ = RecordStore(conn).select(jimu.catalog.form("满意度调查"), limit=10_000)
    return {"total": len(tickets), "resolved": sum(t["状态"] in done for t in tickets),
            "open": sum(t["状态"] not in done for t in tickets),
            "官网": sum(t["问题渠道"] == "官网" for t in tickets),
            "frt": mean(t["首次响应分钟"] for t in tickets),
            "aht": mean(t["处理时长分钟"] for t in tickets if t["状态"] in done),
            "csat": mean(a["评分"] for a in answers), "csat5": sum(a["评分"] == 5 for a in answers),
            "agent_n": lambda uid: sum(t["处理人"] == uid for t in tickets)}


def check_against_oracle(tiles, want):
    total = kpi(tiles, "total_resolved")
    assert (total["total"], total["resolved"]) == (want["total"], want["resolved"])
    assert kpi(tiles, "backlog")["open"] == want["open"]
    assert by(tiles, "by_channel", "问题渠道")["官网"]["n"] == want["官网"]
    assert kpi(tiles, "first_response")["frt"] == pytest.approx(want["frt"], abs=0.05)
    assert kpi(tiles, "handling_time")["aht"] == pytest.approx(want["aht"], abs=0.05)
    assert kpi(tiles, "csat_average")["csat"] == pytest.approx(want["csat"], abs=1e-6)
    assert by(tiles, "csat_distribution", "评分").get(5, {}).get("n", 0) == want["csat5"]


@pytest.fixture
def robot(monkeypatch):
    """WeCom/DingTalk robot posts captured instead of leaving the machine."""
    from runtime.notify.http import Response
    from runtime.notify import notifier
    posts = []

    def fake_request(method, url, *, body=None, headers=None, timeout=10, allow=()):
        posts.append({"method": method, "url": url, "body": body})
        return Response(200, {"content-type": "application/json"}, b'{"errcode":0,"errmsg":"ok"}', url)

    monkeypatch.setattr(notifier, "request", fake_request)   # what the notifier service sends through
    return posts


def test_one_ticket_through_its_whole_life(jimu, live_server, browser, artifacts, clock, desk, smtp,  # noqa: F811
                                           robot, app):
    jimu.config["BASE_URL"] = live_server     # links in mails are built by workers, outside any request
    errors = []

    def context():
        ctx = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        pg = ctx.new_page()
        pg.on("pageerror", lambda e: errors.append(f"{pg.url}: {e}"))
        return ctx, pg

    # -- 0. the supervisor's dashboard before: the tickets and answers of history --------------
    boss, bpage = context()
    browser_login(bpage, live_server, "lead")
    before = dashboard(bpage, live_server)
    want = oracle(jimu)
    assert want["total"] == HISTORY
    check_against_oracle(before, want)
    bpage.goto(f"{live_server}/dashboards/{DASHBOARD}")
    drawn(bpage)
    shot(bpage, artifacts, "00-dashboard-before")

    # -- 1. the customer, anonymous, on the public ticket form -------------------------------------
    customer, cpage = context()
    cpage.goto(f"{live_server}/p/工单")
    assert cpage.locator("h1").inner_text() == "提交工单"
    assert cpage.locator("#f-处理人").count() == 0 and cpage.locator("#f-状态").count() == 0  # not public
    cpage.fill("#f-标题", "发票抬头开错需要重开")
    cpage.fill("#f-客户姓名", "王芳")
    cpage.fill("#f-联系电话", "13800138000")
    cpage.fill("#f-邮箱", "wangfang@customer.example.com")
    other = cpage.locator('[data-field="其他类型说明"]')
    cpage.wait_for_selector("form[data-ready=true]")           # form.js has loaded: changes now show live
    assert other.is_hidden()                                   # visible_if 问题类型 == "其他", live
    cpage.select_option("#f-问题类型", "其他")
    expect(other).to_be_visible()
    cpage.select_option("#f-问题类型", "发票")
    expect(other).to_be_hidden()
    assert cpage.locator('input[name="紧急程度"][value="中"]').is_checked()   # the field's default, shown
    cpage.fill("#f-问题详细描述", "上个月的发票抬头写错了，需要作废重开，公司名称以营业执照为准。")
    shot(cpage, artifacts, "01-public-form")
    cpage.click("button[type=submit]")
    cpage.wait_for_selector("#status-link")
    serial = cpage.locator("#record-serial").inner_text()
    assert serial == "GD-20261103-0001"
    status_url = cpage.locator("#status-link").get_attribute("href")
    card, link = cpage.locator(".card.done").bounding_box(), cpage.locator("#status-link").bounding_box()
    assert link["x"] + link["width"] <= card["x"] + card["width"]          # the long link wraps inside its card
    shot(cpage, artifacts, "02-public-done")

    ft = jimu.catalog.form("工单")
    with jimu.read() as conn:
        rid = conn.execute(sa.select(ft.table.c.id).where(ft.columns["工单编号"] == serial)).scalar_one()

    # -- 2. accepted and dispatched: keyword 发票 → 财务组, round robin → fay; acknowledgement mailed --
    run_jobs(jimu)
    ticket = ticket_row(jimu, rid)
    assert ticket["问题渠道"] == "官网"
    assert ticket["处理组"] == group_id(jimu, "finance") and ticket["处理人"] == desk["fay"]
    [diagnose] = flow_tasks_of(jimu, rid)
    assert diagnose["node_id"] == "diagnose" and diagnose["assignee_user_id"] == desk["fay"]
    assert diagnose["due_at"] == datetime(2026, 11, 3, 3, 30, tzinfo=timezone.utc)   # 2 business hours later
    [ack] = [m for m in mails(smtp) if m["to"] == ["wangfang@customer.example.com"]]
    assert ack["subject"] == f"【已受理】{serial} 发票抬头开错需要重开"
    assert [r["来自"] for r in replies_of(jimu, rid)] == ["系统"]   # the automatic acceptance reply
    assert notices(jimu, "fay") == [f"新任务：一线诊断 · 发票抬头开错需要重开"]   # told of her new task
    assert notices(jimu, "ann") == []               # the frontline pool's other agent: the task went to fay

    during = dashboard(bpage, live_server)
    assert kpi(during, "total_resolved")["total"] == kpi(before, "total_resolved")["total"] + 1
    assert kpi(during, "backlog")["open"] == kpi(before, "backlog")["open"] + 1
    assert by(during, "by_channel", "问题渠道")["官网"]["n"] == by(before, "by_channel", "问题渠道")["官网"]["n"] + 1
    check_against_oracle(during, oracle(jimu))

    # -- 3. the customer's private status link works without an account ----------------------------
    cpage.goto(status_url)
    assert cpage.locator('[data-field="工单编号"]').inner_text() == serial
    assert cpage.locator('[data-field="状态"]').inner_text() == "新建"
    shot(cpage, artifacts, "03-status-new")

    # -- 4. fay finds it in "my tickets" and "my tasks", reads it, leaves an internal note ---------
    agent, apage = context()
    browser_login(apage, live_server, "fay")
    apage.click('a[data-link="tasks"]')                                # "我的任务" in the header
    apage.wait_for_url(f"{live_server}/tasks")
    assert "发票抬头开错需要重开" in apage.locator("table.tasks").inner_text()
    assert "一线诊断" in apage.locator("table.tasks").inner_text()
    row = apage.locator("table.tasks tr", has_text="发票抬头开错需要重开")
    assert serial in row.inner_text() and "王芳" in row.inner_text()          # the record's key fields
    assert "2026-11-03 03:30" in row.locator(".due").inner_text()            # the deadline (TIMEZONE is UTC here)
    assert bell(apage) == ["新任务：一线诊断 · 发票抬头开错需要重开"]             # the top bar's notifications
    shot(apage, artifacts, "04-my-tasks")
    apage.goto(f"{live_server}/forms/工单?view=mine")
    row = apage.locator("table tr", has_text=serial)
    assert row.count() == 1, "the dispatched ticket is in fay's 我的工单"
    assert row.locator("td").last.inner_text() == "fay"                # 处理人 by name, not by id
    shot(apage, artifacts, "05-my-tickets")
    row.get_by_role("link").first.click()
    apage.wait_for_url(f"**/forms/**/{rid}")
    suggest = apage.locator('[data-suggest="知识库文章"]')
    assert "发票重开流程说明" in suggest.inner_text()            # knowledge-base suggestion, Chinese
    accepted = apage.locator('section[data-related="回复"] .timeline li').first
    assert accepted.locator(".meta strong").inner_text() == "系统"   # the flow's automatic reply, not "匿名"
    composer = apage.locator('section[data-related="回复"] form.compose')
    composer.locator('select[name="类型"]').select_option("内部备注")
    composer.locator('textarea[name="内容"]').fill("需要财务核对原发票号后才能重开。")
    composer.locator("button[type=submit]").click()
    apage.wait_for_url(f"**/forms/**/{rid}")
    assert "需要财务核对原发票号" in apage.locator('section[data-related="回复"] li.highlight').inner_text()
    shot(apage, artifacts, "06-internal-note")
    assert ticket_row(jimu, rid)["首次响应时间"] is None           # an internal note is no response

    # -- 5. no first response: a warning at 80 % of the 2 business hours to fay, then at the deadline the
    #       breach to fay and her group lead (in the app and by mail) and the WeCom robot, then escalation ----
    clock.advance(hours=1, minutes=35)
    run_jobs(jimu)
    assert notices(jimu, "fay")[1:] == [] and not [m for m in mails(smtp) if "SLA" in m["subject"]]
    clock.advance(minutes=1)                                     # 11:06 in Shanghai: 96 of 120 working minutes
    run_jobs(jimu)
    assert notices(jimu, "fay")[1:] == [f"【SLA 预警】工单 {serial} 首次响应将于 2026-11-03 03:30 到期"]
    assert notices(jimu, "lead") == [] and not [m for m in mails(smtp) if "SLA" in m["subject"]]
    clock.advance(minutes=23)
    run_jobs(jimu)
    assert not [m for m in mails(smtp) if "SLA" in m["subject"]]
    clock.advance(minutes=1)                                     # 11:30 in Shanghai: the deadline
    run_jobs(jimu)
    breach = f"【SLA 超时】工单 {serial} 首次响应已超时"
    assert notices(jimu, "fay")[2:] == [breach] and notices(jimu, "lead") == [breach]
    assert notices(jimu, "ann") == [] and breach not in notices(jimu, "eric")   # nobody else
    [remind] = [m for m in mails(smtp) if "SLA" in m["subject"]]
    assert sorted(remind["to"]) == ["fay@desk.example.com", "lead@desk.example.com"]
    assert remind["subject"] == breach
    assert "王芳" in remind["body"] and "发票抬头开错需要重开" in remind["body"] and "2026-11-03 03:30" in remind["body"]
    [post] = [p for p in robot if "qyapi.weixin.qq.com" in p["url"]]
    assert serial in post["body"].decode(), "WeCom robot told the group"
    assert breach in bell(apage)
    ticket = ticket_row(jimu, rid)
    assert ticket["优先级"] == "P2"                              # raised from P3
    tasks = flow_tasks_of(jimu, rid)
    assert [(t["node_id"], t["status"], t["outcome"]) for t in tasks][:1] == [("diagnose", "completed", "escalate")]
    expert_task = open_task(jimu, rid)
    assert expert_task["node_id"] == "expert" and expert_task["assignee_group"] == "experts"
    apage.goto(f"{live_server}/forms/工单/{rid}/process")
    apage.wait_for_selector("svg.flow-diagram")
    assert "首次响应超时，自动升级" in apage.locator(".timeline").inner_text()
    shot(apage, artifacts, "07-escalated-process")
    apage.goto(f"{live_server}/tasks")
    assert apage.locator("table.tasks", has_text="发票抬头开错需要重开").count() == 0

    # -- 6. the second-line expert gets the task and answers with a reply template ----------------
    expert, epage = context()
    browser_login(epage, live_server, "eric")
    epage.goto(f"{live_server}/tasks")
    task_row = epage.locator("table.tasks tr", has_text="发票抬头开错需要重开")
    assert "二线专家" in task_row.inner_text()
    shot(epage, artifacts, "08-expert-tasks")
    epage.goto(f"{live_server}/forms/工单/{rid}")
    epage.select_option('select[data-template-into]', label="首次回复")
    body = epage.locator('section[data-related="回复"] textarea[name="内容"]')
    assert body.input_value() == f"王芳您好，您的工单 {serial} 已收到，我们会尽快处理。"
    shot(epage, artifacts, "09-template-reply")
    epage.locator('section[data-related="回复"] button[type=submit]').click()
    epage.wait_for_url(f"**/forms/**/{rid}")
    assert f"王芳您好，您的工单 {serial} 已收到" in epage.locator('section[data-related="回复"] .timeline').inner_text()
    run_jobs(jimu)
    ticket = ticket_row(jimu, rid)
    assert ticket["首次响应时间"] is not None and ticket["状态"] == "等待客户回复"
    [relayed] = [m for m in mails(smtp) if m["subject"] == f"Re: [{serial}] 发票抬头开错需要重开"]
    assert relayed["to"] == ["wangfang@customer.example.com"]            # the public reply reaches the customer
    assert f"王芳您好，您的工单 {serial} 已收到" in relayed["body"] and status_url in relayed["body"]
    assert "需要财务核对原发票号" not in "".join(m["body"] for m in mails(smtp))   # internal notes stay inside
    shot(epage, artifacts, "10-replied")

    # -- 6b. the customer's mail server answers the relayed reply by itself: an out-of-office and a
    #        bounce reach the mail intake and produce no mail, no customer reply and no ticket ------
    from email.message import EmailMessage

    from runtime.intake import start_smtp
    from tests.runtime.test_intake import free_port
    from tests.runtime.test_mail_channel import deliver, dsn
    relayed_id = next(email.message_from_bytes(raw, policy=policy.default)["Message-ID"] for _, raw in smtp.messages
                      if f"Re: [{serial}]" in email.message_from_bytes(raw, policy=policy.default)["Subject"])
    sent, tickets = len(smtp.messages), len(cs_fixtures.records(jimu, "工单"))
    ooo = EmailMessage()
    ooo["From"], ooo["To"] = "王芳 <wangfang@customer.example.com>", "support@example.com"
    ooo["Subject"], ooo["Auto-Submitted"], ooo["In-Reply-To"] = f"自动回复: Re: [{serial}]", "auto-replied", relayed_id
    ooo.set_content("我在休假，11 月 10 日回来。")
    port = free_port()
    intake = start_smtp(app, "127.0.0.1", port)
    try:
        deliver(port, ooo)
        deliver(port, dsn(relayed_id, "wangfang@customer.example.com"), sender="")
    finally:
        intake.stop()
    run_jobs(jimu)
    assert len(smtp.messages) == sent and len(cs_fixtures.records(jimu, "工单")) == tickets
    assert ticket_row(jimu, rid)["状态"] == "等待客户回复"
    assert [r["来自"] for r in cs_fixtures.records(jimu, "回复", 工单=rid)].count("客户") == 0

    # -- 7. the expert resolves: 已解决, the customer is asked to verify ---------------------------
    clock.advance(minutes=30)
    epage.goto(f"{live_server}/tasks/{expert_task['id']}")
    epage.wait_for_selector("#task-form")
    epage.fill("#comment", "已作废原发票并按营业执照抬头重开")
    epage.locator('button[data-outcome="resolved"]').click()
    epage.wait_for_url(f"{live_server}/tasks")
    run_jobs(jimu)
    ticket = ticket_row(jimu, rid)
    assert ticket["状态"] == "已解决" and ticket["解决时间"] is not None
    [verify] = [m for m in mails(smtp) if m["subject"].startswith("【待确认】")]
    assert verify["to"] == ["wangfang@customer.example.com"] and serial in verify["subject"]
    confirm = open_task(jimu, rid)
    assert confirm["node_id"] == "confirm"
    cpage.goto(status_url)
    assert cpage.locator('[data-field="状态"]').inner_text() == "已解决"
    shot(cpage, artifacts, "11-status-resolved")

    # -- 8. the customer confirms from the private status link in the mail: 已关闭, CSAT mailed -------
    assert confirm["assignee_user_id"] == desk["fay"]
    status_in_mail = re.search(r"https?://\S+", verify["body"]).group(0)
    assert status_in_mail == status_url
    clock.advance(hours=5)
    cpage.goto(status_in_mail)
    answer = cpage.locator('form.public-task[data-task="confirm"]')
    assert answer.locator('button[data-outcome="reopen"]').is_visible()
    answer.locator('textarea[name="comment"]').fill("新发票已收到，谢谢")
    shot(cpage, artifacts, "12-status-confirm")
    answer.locator('button[data-outcome="confirmed"]').click()
    cpage.wait_for_url("**answered=confirmed**")
    assert cpage.locator("#answered").is_visible()
    assert cpage.locator("form.public-task").count() == 0             # answered once, the buttons are gone
    run_jobs(jimu)
    ticket = ticket_row(jimu, rid)
    assert ticket["状态"] == "已关闭" and ticket["关闭时间"] is not None
    cpage.goto(status_url)
    assert cpage.locator('[data-field="状态"]').inner_text() == "已关闭"
    shot(cpage, artifacts, "13-status-closed")
    [survey_mail] = [m for m in mails(smtp) if m["subject"] == f"请评价工单 {serial} 的服务"]
    survey_link = re.search(r"https?://\S+", survey_mail["body"]).group(0)
    assert survey_link.startswith(f"{live_server}/p/")

    # -- 9. the CSAT survey link, answered on the public page (once) -------------------------------
    cpage.goto(survey_link)
    assert cpage.locator("h1").inner_text() == "服务满意度调查"
    cpage.locator('#f-评分 label.star').nth(4).click()
    cpage.fill("#f-评价", "处理很及时，谢谢！")
    shot(cpage, artifacts, "14-csat")
    cpage.click("button[type=submit]")
    assert "感谢您的评价" in cpage.locator(".done").inner_text()
    csat = jimu.catalog.form("满意度调查")
    with jimu.read() as conn:
        answers = conn.execute(sa.select(csat.columns["评分"], csat.columns["评价"])
                               .where(csat.columns["工单"] == rid)).all()
    assert [tuple(a) for a in answers] == [(5, "处理很及时，谢谢！")]
    cpage.goto(survey_link)
    cpage.locator('#f-评分 label.star').nth(0).click()
    cpage.click("button[type=submit]")
    assert cpage.locator(".done h1").inner_text() == "已收到"           # once per ticket: the second is refused
    with jimu.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).where(csat.columns["工单"] == rid)).scalar() == 1

    # -- 10. the solved ticket becomes a knowledge-base article in one click; published, the portal finds it
    epage.goto(f"{live_server}/forms/工单/{rid}")
    epage.locator('form[data-rule="to_article"] button').click()
    epage.wait_for_url("**/forms/%E7%9F%A5%E8%AF%86%E5%BA%93%E6%96%87%E7%AB%A0/*")
    article_id = int(epage.url.rstrip("/").rsplit("/", 1)[1])
    kb = jimu.catalog.form("知识库文章")
    with jimu.read() as conn:
        article = RecordStore(conn).select(kb, where=kb.table.c.id == article_id, limit=1)[0][0]
    assert (article["来源工单"], article["标题"], article["已发布"]) == (rid, "发票抬头开错需要重开", False)
    cpage.goto(f"{live_server}/p/知识库文章/portal?q=抬头开错")
    assert "发票抬头开错需要重开" not in cpage.locator("main").inner_text()   # a draft is not public
    epage.goto(f"{live_server}/forms/知识库文章/{article_id}/edit")
    epage.check("#f-已发布")
    epage.click("form.record-form button[type=submit]")
    epage.wait_for_url(f"**/{article_id}")
    assert epage.locator("dd.richtext h3").first.inner_text() == "问题"      # rich text rendered, not escaped
    shot(epage, artifacts, "16-article")
    cpage.goto(f"{live_server}/p/知识库文章/portal?q=抬头开错")
    assert "发票抬头开错需要重开" in cpage.locator("main").inner_text()
    cpage.goto(f"{live_server}/p/知识库文章/portal?q=发票重开")
    assert "发票重开流程说明" in cpage.locator("main").inner_text()
    shot(cpage, artifacts, "17-portal")

    # -- 11. the dashboard moved accordingly ------------------------------------------------------
    after = dashboard(bpage, live_server)
    want = oracle(jimu)
    check_against_oracle(after, want)
    b, a = kpi(before, "total_resolved"), kpi(after, "total_resolved")
    assert (a["total"] - b["total"], a["resolved"] - b["resolved"]) == (1, 1)
    assert kpi(after, "backlog")["open"] == kpi(before, "backlog")["open"]         # opened and closed again
    assert kpi(after, "csat_average")["csat"] != kpi(before, "csat_average")["csat"]
    five = lambda tiles: by(tiles, "csat_distribution", "评分").get(5, {}).get("n", 0)  # noqa: E731
    assert five(after) == five(before) + 1
    fcr_b, fcr_a = kpi(before, "first_contact_resolution"), kpi(after, "first_contact_resolution")
    assert (fcr_a["resolved"] - fcr_b["resolved"], fcr_a["first_time"] - fcr_b["first_time"]) == (1, 1)
    agent_rows = lambda tiles: by(tiles, "per_agent", "处理人").get(desk["fay"], {"n": 0, "resolved": 0})  # noqa: E731
    assert agent_rows(after)["n"] == agent_rows(before)["n"] + 1
    assert agent_rows(after)["resolved"] == agent_rows(before)["resolved"] + 1
    people = after["per_agent"]["figure"]["data"][0]["cells"]["values"][0]      # the table names its agents
    assert "fay" in people and not [p for p in people if str(p).isdigit()], people
    bpage.goto(f"{live_server}/dashboards/{DASHBOARD}")
    drawn(bpage)
    assert str(a["total"]) in bpage.locator('.dash-tile[data-report="total_resolved"]').inner_text()
    shot(bpage, artifacts, "18-dashboard-after")

    assert errors == []
    for ctx in (boss, customer, agent, expert):
        ctx.close()


def test_a_first_line_answer_in_time_stops_the_sla(jimu, live_server, page, artifacts, clock, desk, smtp,  # noqa: F811
                                                   robot):
    """The other branch: fay opens the ticket from "my tasks", answers with the template within the two hours,
    so no reminder, no robot and no escalation; she resolves it herself on her task page."""
    jimu.config["BASE_URL"] = live_server
    ticket = SystemRecords(jimu).create("工单", {
        "标题": "申请退款进度查询", "客户姓名": "李娜", "邮箱": "lina@customer.example.com", "问题渠道": "微信",
        "问题类型": "退款", "问题详细描述": "我申请的退款已经过去一周了，还没有到账，请帮忙查询进度。"})
    run_jobs(jimu)
    rid, serial = ticket["id"], ticket["工单编号"]
    assert ticket_row(jimu, rid)["处理人"] == desk["fay"]              # 退款 → 财务组

    browser_login(page, live_server, "fay")
    page.click('a[data-link="tasks"]')
    page.locator("table.tasks tr", has_text="申请退款进度查询").get_by_role("link").click()
    page.wait_for_selector("#task-form")
    task_url = page.url
    page.goto(f"{live_server}/forms/工单/{rid}")
    clock.advance(minutes=40)
    page.select_option('select[data-template-into]', label="首次回复")
    body = page.locator('section[data-related="回复"] textarea[name="内容"]')
    assert body.input_value() == f"李娜您好，您的工单 {serial} 已收到，我们会尽快处理。"
    page.locator('section[data-related="回复"] button[type=submit]').click()
    page.wait_for_url(f"**/forms/**/{rid}")
    run_jobs(jimu)
    row = ticket_row(jimu, rid)
    assert row["状态"] == "等待客户回复" and row["首次响应分钟"] == 40.0

    clock.advance(hours=3)                                               # past the SLA: it no longer applies
    run_jobs(jimu)
    assert not [m for m in mails(smtp) if "SLA" in m["subject"]] and not robot
    task = open_task(jimu, rid)
    assert task["node_id"] == "diagnose" and task["due_at"] is None and ticket_row(jimu, rid)["优先级"] == "P3"
    page.goto(f"{live_server}/tasks")
    assert page.locator('[data-count="overdue"] strong').inner_text() == "0"
    page.goto(f"{live_server}/forms/工单/{rid}/process")
    history = page.locator(".timeline").inner_text()
    assert "时限内达成" in history and "超时升级" not in history                # the SLA was met, not escalated

    page.goto(task_url)
    assert page.locator('select[name="f.问题类型"]').input_value() == "退款"   # editable options: a select
    assert "fay" in page.locator("dl.task-fields").inner_text()                # read-only people by name
    page.fill("#comment", "退款已原路退回，预计 1–3 个工作日到账")
    shot(page, artifacts, "20-first-line-task")
    page.locator('button[data-outcome="resolved"]').click()
    page.wait_for_url(f"{live_server}/tasks")
    run_jobs(jimu)
    row = ticket_row(jimu, rid)
    # 40 min + 3 h after submission at 09:30 on a Tuesday in Shanghai: 220 minutes on the clock, all of them
    # within the 09:00–18:00 working day
    assert row["状态"] == "已解决" and (row["处理时长自然分钟"], row["处理时长分钟"]) == (220.0, 220.0)
    assert open_task(jimu, rid)["node_id"] == "confirm"


def test_the_public_ticket_form_fits_a_phone(jimu, live_server, browser, artifacts, desk):
    """Customers open the form from a QR code on their phone: one column, nothing wider than the screen."""
    ctx = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = ctx.new_page()
    try:
        page.goto(f"{live_server}/p/工单")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        form = page.locator("form.record-form").bounding_box()
        for key in ("标题", "客户姓名", "问题类型", "问题详细描述", "附件"):
            box = page.locator(f"#f-{key}").bounding_box()
            assert box["x"] >= form["x"] and box["x"] + box["width"] <= form["x"] + form["width"], key
        shot(page, artifacts, "21-public-form-phone")
    finally:
        ctx.close()
