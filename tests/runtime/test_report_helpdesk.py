"""The helpdesk dashboard of DESIGN.md over the real widgets (select, date, money, rating, user, link),
every number checked against a computation over the records the test created."""
from __future__ import annotations

import random
import statistics
from collections import Counter, defaultdict
from datetime import timedelta

import pytest

from tests.conftest import install_package

CHANNELS = ["官网", "微信", "电话", "邮件", "API"]
STATUS = ["新建", "处理中", "等待客户回复", "已解决", "已关闭"]

PACKAGE = {
    "format": "jimu.app", "version": 2,
    "app": {"key": "helpdesk", "version": "1.0.0", "label": {"zh-CN": "客服", "en": "Helpdesk"}},
    "forms": [
        {"key": "客户", "version": 1, "label": "Customer", "fields": [
            {"key": "名称", "label": "Name", "widget": "text"},
            {"key": "VIP", "label": "VIP", "widget": "select", "config": {"options": ["普通", "VIP"]}}]},
        {"key": "工单", "version": 1, "label": {"zh-CN": "工单", "en": "Ticket"}, "fields": [
            {"key": "标题", "label": "Title", "widget": "text"},
            {"key": "渠道", "label": "Channel", "widget": "select", "config": {"options": CHANNELS}},
            {"key": "状态", "label": "Status", "widget": "select", "config": {"options": STATUS}},
            {"key": "类别", "label": "Category", "widget": "select", "config": {"options": [
                {"value": "bill", "label": {"zh-CN": "账单", "en": "Billing"}},
                {"value": "fault", "label": {"zh-CN": "故障", "en": "Fault"}},
                {"value": "ask", "label": {"zh-CN": "咨询", "en": "Question"}}]}},
            {"key": "截止日期", "label": "Due", "widget": "date"},
            {"key": "金额", "label": "Amount", "widget": "money"},
            {"key": "满意度", "label": "CSAT", "widget": "rating", "config": {"max": 5}},
            {"key": "处理人", "label": "Agent", "widget": "user"},
            {"key": "客户", "label": "Customer", "widget": "link", "config": {"form": "客户"}}]},
    ],
    "reports": [
        {"key": "by_channel", "version": 1, "label": "按渠道", "type": "pie", "form": "工单",
         "dimensions": [{"field": "渠道"}], "measures": [{"key": "n", "agg": "count"}], "options": {"donut": True}},
        {"key": "total_resolved", "version": 1, "label": "总量与已解决", "type": "kpi", "form": "工单",
         "measures": [{"key": "total", "agg": "count"},
                      {"key": "resolved", "agg": "count",
                       "filter": [{"field": "状态", "op": "in", "value": ["已解决", "已关闭"]}]},
                      {"key": "rate", "ratio": ["resolved", "total"]}],
         "options": {"date_field": "created_at", "period_days": 7, "previous_period": True}},
        {"key": "daily", "version": 1, "label": "每日趋势", "type": "line", "form": "工单",
         "dimensions": [{"field": "created_at", "bucket": "day", "key": "day"}], "measures": [{"key": "n", "agg": "count"}]},
        {"key": "backlog", "version": 1, "label": "积压", "type": "kpi", "form": "工单",
         "filters": [{"field": "状态", "op": "not_in", "value": ["已解决", "已关闭"]}],
         "measures": [{"key": "open", "agg": "count"},
                      {"key": "overdue", "agg": "count", "filter": [{"field": "截止日期", "op": "lt", "value": "2026-11-10"}]}]},
        {"key": "csat", "version": 1, "label": "满意度", "type": "gauge", "form": "工单",
         "measures": [{"key": "csat", "agg": "avg", "field": "满意度"}], "options": {"min": 1, "max": 5, "target": 4}},
        {"key": "per_agent", "version": 1, "label": "按处理人", "type": "table", "form": "工单",
         "dimensions": [{"field": "处理人"}],
         "measures": [{"key": "n", "agg": "count"}, {"key": "amount", "agg": "sum", "field": "金额"},
                      {"key": "median_amount", "agg": "median", "field": "金额"}],
         "sort": [{"by": "n", "dir": "desc"}], "limit": 3},
        {"key": "by_category_vip", "version": 1, "label": "类别×VIP", "type": "pivot", "form": "工单",
         "joins": [{"field": "客户", "as": "c"}], "dimensions": [{"field": "类别"}, {"field": "c.VIP", "key": "vip"}],
         "measures": [{"key": "n", "agg": "count"}]},
        {"key": "due_weeks", "version": 1, "label": "截止周", "type": "bar", "form": "工单",
         "dimensions": [{"field": "截止日期", "bucket": "week", "key": "week"}], "measures": [{"key": "n", "agg": "count"}]},
    ],
    "dashboards": [{"key": "service", "version": 1, "label": "服务概览",
                    "charts": [{"report": k, "x": 0, "y": i * 4, "w": 12, "h": 4} for i, k in enumerate(
                        ["by_channel", "total_resolved", "daily", "backlog", "csat", "per_agent", "by_category_vip",
                         "due_weeks"])],
                    "filters": [{"field": "渠道", "kind": "choice"}, {"field": "created_at", "kind": "date_range"}]}],
}


@pytest.fixture
def tickets(jimu, client, admin_headers, clock):
    from tests.conftest import make_user
    install_package(jimu, PACKAGE)
    agents = [make_user(jimu, f"agent{i}") for i in range(4)]
    customers = client.post("/api/v1/forms/客户/records", headers=admin_headers,
                            json=[{"名称": f"客户{i}", "VIP": "VIP" if i % 3 == 0 else "普通"} for i in range(9)]).json["ids"]
    vip = {cid: ("VIP" if i % 3 == 0 else "普通") for i, cid in enumerate(customers)}
    rnd = random.Random(11)
    out = []
    for day in range(14):
        batch = []
        for _ in range(rnd.randint(5, 15)):
            t = {"标题": "t", "渠道": rnd.choice(CHANNELS), "状态": rnd.choice(STATUS), "类别": rnd.choice(["bill", "fault", "ask"]),
                 "截止日期": (clock.now.date() + timedelta(days=rnd.randint(0, 9))).isoformat(),
                 "金额": rnd.randint(0, 50000) / 100, "满意度": rnd.choice([None, 1, 2, 3, 4, 5]),
                 "处理人": rnd.choice(agents), "客户": rnd.choice(customers + [None])}
            batch.append(t)
        assert client.post("/api/v1/forms/工单/records", headers=admin_headers, json=batch).status_code == 201
        out += [dict(t, created=clock.now) for t in batch]
        clock.advance(days=1)
    clock.advance(hours=-1)
    return out, vip, clock.now


def test_helpdesk_dashboard_numbers(client, admin_headers, tickets):
    from datetime import date
    records, vip, now = tickets
    r = client.get("/api/v1/dashboards/service/data?lang=zh-CN", headers=admin_headers)
    assert r.status_code == 200
    tiles = {t["report"]: t for t in r.json["charts"]}
    assert not [t for t in tiles.values() if "error" in t]

    assert {row["渠道"]: row["n"] for row in tiles["by_channel"]["rows"]} == Counter(t["渠道"] for t in records)

    done = lambda ts: sum(t["状态"] in ("已解决", "已关闭") for t in ts)  # noqa: E731
    cur = [t for t in records if now - timedelta(days=7) <= t["created"] < now]
    prev = [t for t in records if now - timedelta(days=14) <= t["created"] < now - timedelta(days=7)]
    kpi = tiles["total_resolved"]["rows"][0]
    assert (kpi["total"], kpi["resolved"]) == (len(cur), done(cur))
    assert (kpi["total__previous"], kpi["resolved__previous"]) == (len(prev), done(prev))
    rate, rate_before = done(cur) / len(cur), done(prev) / len(prev)
    assert kpi["rate__change"] == pytest.approx((rate - rate_before) / rate_before)
    assert tiles["total_resolved"]["figure"]["data"][0]["delta"]["reference"] == len(prev)

    assert [(row["day"], row["n"]) for row in tiles["daily"]["rows"]] == sorted(
        Counter(t["created"].date().isoformat() for t in records).items())

    open_ = [t for t in records if t["状态"] not in ("已解决", "已关闭")]
    backlog = tiles["backlog"]["rows"][0]
    assert backlog == {"open": len(open_), "overdue": sum(date.fromisoformat(t["截止日期"]) < date(2026, 11, 10)
                                                         for t in open_)}

    assert tiles["csat"]["rows"][0]["csat"] == pytest.approx(statistics.fmean(t["满意度"] for t in records if t["满意度"]))

    per = defaultdict(list)
    for t in records:
        per[t["处理人"]].append(t["金额"])
    top = sorted(per.items(), key=lambda kv: -len(kv[1]))[:3]
    assert [(row["处理人"], row["n"]) for row in tiles["per_agent"]["rows"]] == [(k, len(v)) for k, v in top]
    for row, (_, amounts) in zip(tiles["per_agent"]["rows"], top):
        assert row["amount"] == pytest.approx(sum(amounts)) and row["median_amount"] == pytest.approx(
            statistics.median(amounts))

    pivot = Counter((t["类别"], vip.get(t["客户"])) for t in records)
    assert {(row["类别"], row["vip"]): row["n"] for row in tiles["by_category_vip"]["rows"]} == pivot
    cells = tiles["by_category_vip"]["figure"]["data"][0]["cells"]["values"]
    assert cells[-1][-1] == f"{len(records):,}"

    weeks = Counter((date.fromisoformat(t["截止日期"]) - timedelta(days=date.fromisoformat(t["截止日期"]).weekday()))
                    .isoformat() for t in records)
    assert [(row["week"], row["n"]) for row in tiles["due_weeks"]["rows"]] == sorted(weeks.items())


def test_helpdesk_dashboard_with_channel_filter(client, admin_headers, tickets):
    import json
    records, _, _ = tickets
    r = client.get(f"/api/v1/dashboards/service/data?values={json.dumps({'渠道': '微信'})}", headers=admin_headers)
    tiles = {t["report"]: t for t in r.json["charts"]}
    wechat = [t for t in records if t["渠道"] == "微信"]
    assert [row["n"] for row in tiles["by_channel"]["rows"]] == [len(wechat)]
    assert tiles["backlog"]["rows"][0]["open"] == sum(t["状态"] not in ("已解决", "已关闭") for t in wechat)


def test_option_labels_show_in_figures_and_exports(client, admin_headers, tickets):
    import csv
    import io
    records, _, _ = tickets
    for lang, names in (("zh-CN", {"bill": "账单", "fault": "故障", "ask": "咨询"}),
                        ("en", {"bill": "Billing", "fault": "Fault", "ask": "Question"})):
        tile = client.get(f"/api/v1/reports/by_category_vip/data?lang={lang}", headers=admin_headers).json
        assert set(tile["figure"]["data"][0]["cells"]["values"][0][:-1]) == set(names.values())
        assert {row["类别"] for row in tile["rows"]} == set(names)  # rows keep the stored values (drill-down)
        r = client.get(f"/api/v1/reports/by_category_vip/export.csv?lang={lang}", headers=admin_headers)
        table = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
        assert {row[0] for row in table[1:]} == set(names.values())
        assert sum(int(row[2]) for row in table[1:]) == len(records)
