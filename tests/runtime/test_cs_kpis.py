"""The customer-service dashboard's KPIs as the profession defines them, over a history driven through
the real engines with a moving clock (tickets submitted, dispatched, answered, escalated, resolved,
reopened, confirmed, auto-closed, rated), every tile's answer worked out by hand below.

The SLA calendar ("workday") is Monday to Friday 09:00–18:00 Asia/Shanghai; all times below are
Shanghai times, Monday 2026-11-02 is day 0. Working minutes (w) and calendar minutes (c):

  T1 官网 账号问题   Mon 09:00  answered 09:30 (w30 c30)        resolved 11:00 (w120 c120), confirmed: closed
  T2 微信 发票       Mon 17:00  answered Tue 10:00 (w60+60=120 c1020), a 2nd agent reply Tue 11:00,
                                resolved Tue 12:00 (w60+180=240 c1140), confirmed: closed
  T3 电话 账号问题   Mon 10:00  answered 10:15 (w15 c15), resolved 11:00, the customer writes 14:00: reopened,
                                2nd agent reply 14:30, resolved 15:00 (w300 c300), confirmed: closed
  T6 微信 账号问题   Mon 13:00  no answer in 2 working hours: escalated at 15:00 (P3 → P2), answered 16:00
                                (w180 c180, SLA missed), the expert resolves 17:00 (w240 c240); no answer in
                                3 days: auto-closed Thu 17:00
  T4 邮件 退款       Tue 09:00  answered 09:20 (w20 c20), resolved 10:00, reopened 11:00, agent reply 11:30,
                                resolved 12:00, reopened 13:00 (2 reopens), agent reply 13:30: waiting for the
                                customer; not resolved now
  T7 官网 账号问题 高 Tue 14:00  never answered (escalated at 16:00), open
  T8 API 服务器故障 高 Wed 09:00  → P1; answered 09:05 (w5 c5), resolved 14:00 (w300 c300; its SLA clock paused while it waited for the customer):
                                auto-closed Sat 14:00
  T5 官网 产品咨询   Fri 17:30  answered Mon 10:00 (w30+60=90 c3870), resolved Mon 11:30 (w30+150=180 c3960)
  T9 官网 产品咨询   Mon 11-09 11:50, new; the dashboard is read at 12:00 (today is a partial day)

Surveys (stored on Monday 11-09, days after their tickets, so a filter by survey date would count none
of Monday 11-02's):
T1 5, T2 4, T3 2, T6 5, T8 3.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.runtime.cs_fixtures import complete, install, open_tasks, reply, run_jobs, ticket
from tests.runtime.rules_helpers import create, get

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: floats from SQL (a PostgreSQL numeric average, a SQLite double) equal the hand-computed fraction
#: to the last few bits, not necessarily in the last one
EXACT = 1e-12


def exact(value):
    return pytest.approx(value, rel=EXACT, abs=EXACT)


@pytest.fixture
def history(jimu, clock, monkeypatch):
    monkeypatch.setitem(jimu.config, "TIMEZONE", "Asia/Shanghai")

    def at(day: int, hh: int, mm: int = 0, jobs: bool = True) -> None:
        """Move the clock to Shanghai time ``hh:mm`` of 2026-11-02 + ``day`` days (never backwards)."""
        moment = datetime(2026, 11, 2, hh, mm, tzinfo=SHANGHAI) + timedelta(days=day)
        assert moment.astimezone(timezone.utc) >= clock.now
        clock.now = moment.astimezone(timezone.utc)
        if jobs:
            run_jobs(jimu)  # what is due by now (timers: SLA escalation, auto-close) runs first

    clock.now = datetime(2026, 11, 1, 0, 0, tzinfo=timezone.utc)
    staff = install(jimu)

    def new(day, hh, mm=0, **values):
        at(day, hh, mm)
        t = ticket(jimu, **values)
        run_jobs(jimu)  # the automatic acceptance (a system reply: not a response)
        return t["id"]

    def resolve(rid):
        (task,) = open_tasks(jimu, rid)
        complete(jimu, task["id"], "resolved", task["assignee_user_id"] or staff["exp"])
        run_jobs(jimu)

    def confirm(rid):
        (task,) = open_tasks(jimu, rid)
        assert task["node_id"] == "confirm"
        complete(jimu, task["id"], "confirmed", task["assignee_user_id"])
        run_jobs(jimu)

    def customer(rid, text="还是不行"):
        reply(jimu, rid, text, who="客户")
        run_jobs(jimu)

    T = {}
    T[1] = new(0, 9, 问题渠道="官网", 问题类型="账号问题")
    at(0, 9, 30); reply(jimu, T[1], "请重置密码后再试")  # noqa: E702
    T[3] = new(0, 10, 问题渠道="电话", 问题类型="账号问题")
    at(0, 10, 15); reply(jimu, T[3], "已为您解锁账号")  # noqa: E702
    at(0, 11); resolve(T[1]); confirm(T[1]); resolve(T[3])  # noqa: E702
    T[6] = new(0, 13, 问题渠道="微信", 问题类型="账号问题")
    at(0, 14); customer(T[3])  # noqa: E702  (reopens T3)
    at(0, 14, 30); reply(jimu, T[3], "再次处理，请重新登录")  # noqa: E702
    at(0, 15); resolve(T[3]); confirm(T[3])  # noqa: E702  (the SLA timer of T6 fired at 15:00 as well)
    assert open_tasks(jimu, T[6])[0]["node_id"] == "expert"
    at(0, 16); reply(jimu, T[6], "专家已接手")  # noqa: E702
    T[2] = new(0, 17, 问题渠道="微信", 问题类型="发票")
    resolve(T[6])
    at(1, 9); T[4] = new(1, 9, 问题渠道="邮件", 问题类型="退款")  # noqa: E702
    at(1, 9, 20); reply(jimu, T[4], "退款已提交")  # noqa: E702
    # T2's first response lands at 10:00 sharp, the minute its SLA timer is due: answered in time
    at(1, 10, jobs=False); reply(jimu, T[2], "发票已重开"); run_jobs(jimu); resolve(T[4])  # noqa: E702
    at(1, 11); reply(jimu, T[2], "补充：请查收邮件"); customer(T[4])  # noqa: E702
    at(1, 11, 30); reply(jimu, T[4], "已加急")  # noqa: E702
    at(1, 12); resolve(T[2]); confirm(T[2]); resolve(T[4])  # noqa: E702
    at(1, 13); customer(T[4], "还没到账")  # noqa: E702
    at(1, 13, 30); reply(jimu, T[4], "正在核实")  # noqa: E702
    T[7] = new(1, 14, 问题渠道="官网", 问题类型="账号问题", 紧急程度="高")
    T[8] = new(2, 9, 问题渠道="API", 问题类型="服务器故障", 紧急程度="高")
    at(2, 9, 5); reply(jimu, T[8], "正在排查")  # noqa: E702
    at(2, 14); resolve(T[8])  # noqa: E702
    T[5] = new(4, 17, 30, 问题渠道="官网", 问题类型="产品咨询")
    at(7, 10); reply(jimu, T[5], "导出在报表页")  # noqa: E702
    at(7, 11, 30); resolve(T[5])  # noqa: E702
    for n, score in ((1, 5), (2, 4), (3, 2), (6, 5), (8, 3)):  # rated on Monday 11-09
        create(jimu, "满意度调查", {"工单": T[n], "评分": score})
    T[9] = new(7, 11, 50, 问题渠道="官网", 问题类型="产品咨询")
    at(7, 12)
    return staff, T


def tiles(client, headers, lang="zh-CN", values=None):
    url = f"/api/v1/dashboards/service_overview/data?lang={lang}"
    if values:
        url += "&values=" + json.dumps(values, ensure_ascii=False)
    r = client.get(url, headers=headers)
    assert r.status_code == 200, r.get_json()
    out = {t["report"]: t for t in r.get_json()["charts"]}
    assert not [t for t in out.values() if "error" in t], [t.get("error") for t in out.values()]
    return out


def check_the_history_is_what_the_docstring_says(jimu, staff, T):
    row = {n: get(jimu, "工单", rid) for n, rid in T.items()}
    assert {n: r["状态"] for n, r in row.items()} == {
        1: "已关闭", 2: "已关闭", 3: "已关闭", 4: "等待客户回复", 5: "已解决", 6: "已关闭", 7: "新建", 8: "已关闭",
        9: "新建"}
    assert {n: (r["重开次数"], r["解决次数"], r["客服公开回复数"]) for n, r in row.items()} == {
        1: (0, 1, 1), 2: (0, 1, 2), 3: (1, 2, 2), 4: (2, 2, 3), 5: (0, 1, 1), 6: (0, 1, 1), 7: (0, 0, 0),
        8: (0, 1, 1), 9: (0, 0, 0)}
    assert row[4]["解决时间"] is None  # a reopen clears the resolution time
    assert (row[6]["优先级"], row[8]["优先级"]) == ("P2", "P1")


def check_every_tile_of_the_dashboard(client, admin_headers):
    t = tiles(client, admin_headers)
    assert t["total_resolved"]["rows"] == [{"total": 9, "resolved": 6, "rate": exact(6 / 9)}]
    # open now: T4 (waiting for the customer), T7 (high urgency), T9; every ticket was dispatched
    assert t["backlog"]["rows"] == [{"open": 3, "unassigned": 0, "waiting": 1, "urgent": 1}]
    # first responses of T1 T2 T3 T4 T5 T6 T8 in working minutes: 30 120 15 20 90 180 5 (sum 460);
    # calendar minutes: 30 1020 15 20 3870 180 5 (sum 5140); median of 5 15 20 30 90 120 180 is 30
    assert t["first_response"]["rows"] == [{"frt": exact(460 / 7), "frt_median": 30, "frt_calendar": exact(5140 / 7)}]
    # resolved now: T1 T2 T3 T5 T6 T8 (T4 reopened: its resolution time is cleared, it does not count)
    # working 120 240 300 180 240 300 (sum 1380, median (240 + 240) / 2), calendar 120 1140 300 3960 240 300 (6060)
    assert t["handling_time"]["rows"] == [{"aht": 230, "aht_median": 240, "aht_calendar": 1010}]
    # the flow's SLA clocks (working time, paused while waiting for the customer). First response (P1 30 min,
    # else 2 h): T1 T3 T2 (at 10:00 sharp) T4 T8 (P1, 5 min) T5 met; T6 breached Mon 15:00, T7 breached (seen
    # Wed 09:00); T9's clock still runs → 6 of 8. Resolution (P1 4 h, P2 1 working day, else 3): T8's clock
    # paused from its reply at 09:05 until it was resolved → met; T7 (P2 after its escalation: due Wed 14:00)
    # breached; T9 runs → 7 of 8
    assert t["sla_compliance"]["rows"] == [{"fr_met": exact(6 / 8), "res_met": exact(7 / 8)}]
    # solved first time (resolved, ≤ 1 public agent reply, never reopened): T1 T5 T6 T8 of the 6 resolved;
    # reopened at least once: T3 T4 of the 7 resolved at least once (T4 twice: still one ticket)
    assert t["first_contact_resolution"]["rows"] == [{
        "resolved": 6, "first_time": 4, "fcr": exact(4 / 6), "ever_resolved": 7, "reopened": 2,
        "reopen_rate": exact(2 / 7)}]
    # surveys 5 4 2 5 3: mean 19 / 5, rated 4–5: 3 of 5
    assert t["csat_average"]["rows"] == [{"csat": exact(19 / 5), "responses": 5, "satisfied": 3,
                                          "satisfied_rate": exact(3 / 5)}]
    assert {r["评分"]: r["n"] for r in t["csat_distribution"]["rows"]} == {2: 1, 3: 1, 4: 1, 5: 2}
    assert {r["问题渠道"]: r["n"] for r in t["by_channel"]["rows"]} == {"官网": 4, "微信": 2, "电话": 1, "邮件": 1,
                                                                   "API": 1}
    assert {r["问题类型"]: (r["n"], r["resolved"]) for r in t["by_category"]["rows"]} == {
        "账号问题": (4, 3), "发票": (1, 1), "退款": (1, 0), "产品咨询": (2, 1), "服务器故障": (1, 1)}
    # by creation day: Thursday and the weekend had no tickets (0), Monday 11-09 is not over
    assert [(r["day"], r["n"], r["resolved"], r.get("__partial__", False)) for r in t["daily_trend"]["rows"]] == [
        ("2026-11-02", 4, 4, False), ("2026-11-03", 2, 0, False), ("2026-11-04", 1, 1, False),
        ("2026-11-05", 0, 0, False), ("2026-11-06", 1, 1, False), ("2026-11-07", 0, 0, False),
        ("2026-11-08", 0, 0, False), ("2026-11-09", 1, 0, True)]


def check_per_agent_rows(jimu, client, admin_headers, staff, T):
    assignee = {n: get(jimu, "工单", rid)["处理人"] for n, rid in T.items()}
    # dispatch: finance takes the invoice and the refund, IT infrastructure the high server fault, the first
    # line the rest in turn
    assert {n: u for n, u in assignee.items()} == {
        1: staff["ann"], 3: staff["bob"], 6: staff["ann"], 2: staff["fin"], 4: staff["fin"], 7: staff["bob"],
        8: staff["ops"], 5: staff["ann"], 9: staff["bob"]}
    rows = {r["处理人"]: r for r in tiles(client, admin_headers)["per_agent"]["rows"]}
    # ann: T1 T6 T5, all resolved, all first time; FRT 30 180 90, resolution 120 240 180; first response met
    # 2 of 3 (T6 breached)
    assert rows[staff["ann"]] == {"处理人": staff["ann"], "n": 3, "resolved": 3, "first_time": 3, "fcr": 1.0,
                                  "frt": 100, "aht": 180, "fr_met": exact(2 / 3), "reopens": 0}
    # bob: T3 (resolved after a reopen) T7 T9 (open, unanswered); FRT 15; resolution 300; first response met by
    # T3, breached by T7, T9's clock runs → 1 of 2
    assert rows[staff["bob"]] == {"处理人": staff["bob"], "n": 3, "resolved": 1, "first_time": 0, "fcr": 0.0,
                                  "frt": 15, "aht": 300, "fr_met": 0.5, "reopens": 1}
    # fin: T2 (two replies) T4 (reopened twice, open); FRT 120 20; resolution of T2 only: 240
    assert rows[staff["fin"]] == {"处理人": staff["fin"], "n": 2, "resolved": 1, "first_time": 0, "fcr": 0.0,
                                  "frt": 70, "aht": 240, "fr_met": 1.0, "reopens": 2}
    # ops: T8; FRT 5, resolution 300
    assert rows[staff["ops"]] == {"处理人": staff["ops"], "n": 1, "resolved": 1, "first_time": 1, "fcr": 1.0,
                                  "frt": 5, "aht": 300, "fr_met": 1.0, "reopens": 0}


def check_the_date_filter_counts_surveys_by_their_ticket_s_creation_day(client, admin_headers):
    monday = {"created_at": {"from": "2026-11-02", "to": "2026-11-02"}}
    t = tiles(client, admin_headers, values=monday)
    # Monday's tickets T1 T2 T3 T6 were rated 5 4 2 5 on later days: by ticket creation, all four count
    assert t["csat_average"]["rows"] == [{"csat": 4, "responses": 4, "satisfied": 3, "satisfied_rate": 0.75}]
    assert {r["评分"]: r["n"] for r in t["csat_distribution"]["rows"]} == {2: 1, 4: 1, 5: 2}
    assert t["total_resolved"]["rows"] == [{"total": 4, "resolved": 4, "rate": 1.0}]
    # the channel filter reaches the surveys through their ticket too: WeChat's T2 T6 were rated 4 and 5
    t = tiles(client, admin_headers, values={"问题渠道": "微信"})
    assert t["csat_average"]["rows"] == [{"csat": 4.5, "responses": 2, "satisfied": 2, "satisfied_rate": 1.0}]
    # each tile says which date its filter applies to, in the viewer's language
    for lang, expected in (("zh-CN", "工单 · 创建时间"), ("en", "Ticket · Created")):
        t = tiles(client, admin_headers, lang=lang)
        for key in ("csat_average", "csat_distribution", "first_response", "per_agent"):
            (dated,) = [f for f in t[key]["filters"] if f["field"] == "created_at"]
            assert dated["applies_to"] == expected, (key, dated)
        assert all(tile["help"] for tile in t.values()), [k for k, tile in t.items() if not tile["help"]]


def check_english_tiles_read_english_and_numbers_read_exactly(client, admin_headers):
    t = tiles(client, admin_headers, lang="en")
    axis = t["by_category"]["figure"]["layout"]["xaxis"]["title"]["text"]
    assert axis == "Category"
    table = t["per_agent"]["figure"]["data"][0]
    assert table["header"]["values"][:5] == ["Assignee", "Tickets", "Resolved", "Solved first time", "FCR"]
    fcr = table["cells"]["values"][4]
    assert sorted(fcr) == ["0.0%", "0.0%", "100.0%", "100.0%"]
    frt = dict(zip(table["cells"]["values"][0], table["cells"]["values"][5]))
    assert sorted(frt.values()) == ["1 h 10 min", "1 h 40 min", "15 min", "5 min"]
    kpi = t["handling_time"]["figure"]["data"][0]
    # 230 working minutes: 3 h 50 min
    assert (kpi["value"], kpi["number"]["suffix"]) == (3, " h 50 min")
    trend = t["daily_trend"]["figure"]
    assert trend["layout"]["annotations"][0]["text"] == "period not over"
    assert any(tr.get("line", {}).get("dash") == "dot" for tr in trend["data"])


def test_kpis_of_a_ticket_history_computed_by_hand(jimu, client, admin_headers, history):
    """One history (built once: it takes the engines a few seconds), every tile checked against it."""
    staff, T = history
    check_the_history_is_what_the_docstring_says(jimu, staff, T)
    check_every_tile_of_the_dashboard(client, admin_headers)
    check_per_agent_rows(jimu, client, admin_headers, staff, T)
    check_the_date_filter_counts_surveys_by_their_ticket_s_creation_day(client, admin_headers)
    check_english_tiles_read_english_and_numbers_read_exactly(client, admin_headers)
