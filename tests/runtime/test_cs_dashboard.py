"""The customer-service dashboard over a small known data set: every tile's number computed by hand."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.runtime.cs_fixtures import install


def put(jimu, form: str, rows: list[dict]) -> list[int]:
    """Store records as they would be after their life (no rules, no flows), like demo data does."""
    from runtime.store import RecordStore
    with jimu.read() as conn:
        ft = jimu.catalog.refresh(conn).form(form)
    values = []
    for row in rows:
        result = ft.spec.clean(row, trusted=True)  # read-only stamps included, as rules and flows set them
        assert not result.errors, result.errors
        values.append(dict(result.values))
    with jimu.begin() as conn:
        return RecordStore(conn).bulk_create(ft, values, now=jimu.now(), actor=None)


@pytest.fixture
def known(jimu, clock):
    staff = install(jimu)
    ann, bob = staff["ann"], staff["bob"]
    t0 = clock.now
    m = lambda minutes: (t0 + timedelta(minutes=minutes)).isoformat()  # noqa: E731
    base = {"标题": "t", "客户姓名": "c", "问题详细描述": "d", "提交时间": t0.isoformat()}
    tickets = [
        dict(base, 问题渠道="官网", 问题类型="账号问题", 状态="已关闭", 首次响应时间=m(30), 解决时间=m(120), 重开次数=0, 处理人=ann),
        dict(base, 问题渠道="微信", 问题类型="发票", 状态="已解决", 首次响应时间=m(60), 解决时间=m(240), 重开次数=1, 处理人=ann),
        dict(base, 问题渠道="官网", 问题类型="服务器故障", 紧急程度="高", 状态="处理中", 首次响应时间=m(90), 处理人=bob),
        dict(base, 问题渠道="电话", 问题类型="账号问题", 状态="新建"),
        dict(base, 问题渠道="邮件", 问题类型="退款", 状态="等待客户回复", 首次响应时间=m(10), 处理人=bob),
        dict(base, 问题渠道="官网", 问题类型="产品咨询", 状态="已关闭", 首次响应时间=m(20), 解决时间=m(60), 重开次数=0, 处理人=bob),
    ]
    ids = put(jimu, "工单", tickets[:3])
    clock.advance(days=1)
    ids += put(jimu, "工单", tickets[3:])
    put(jimu, "满意度调查", [{"工单": ids[0], "评分": 5}, {"工单": ids[5], "评分": 4}, {"工单": ids[1], "评分": 2}])
    return staff, ids, t0


def tiles(client, headers, values=None):
    url = "/api/v1/dashboards/service_overview/data?lang=zh-CN"
    if values:
        url += "&values=" + json.dumps(values, ensure_ascii=False)
    r = client.get(url, headers=headers)
    assert r.status_code == 200, r.get_json()
    out = {t["report"]: t for t in r.get_json()["charts"]}
    assert not [t for t in out.values() if "error" in t], [t.get("error") for t in out.values()]
    return out


def test_every_tile_on_a_known_data_set(client, admin_headers, known):
    staff, ids, t0 = known
    t = tiles(client, admin_headers)
    assert {r["问题渠道"]: r["n"] for r in t["by_channel"]["rows"]} == {"官网": 3, "微信": 1, "电话": 1, "邮件": 1}
    assert t["total_resolved"]["rows"][0] == {"total": 6, "resolved": 3, "rate": 0.5}
    assert [(r["day"], r["n"], r["resolved"]) for r in t["daily_trend"]["rows"]] == [
        (t0.date().isoformat(), 3, 2), ((t0 + timedelta(days=1)).date().isoformat(), 3, 1)]
    assert t["first_response"]["rows"][0]["frt"] == pytest.approx((30 + 60 + 90 + 10 + 20) / 5)
    assert t["first_response"]["rows"][0]["frt_median"] == pytest.approx(30)
    assert t["handling_time"]["rows"][0]["aht"] == pytest.approx((120 + 240 + 60) / 3)
    fcr = t["first_contact_resolution"]["rows"][0]
    assert (fcr["resolved"], fcr["first_time"], fcr["reopened"]) == (3, 2, 1)
    assert fcr["fcr"] == pytest.approx(2 / 3) and fcr["reopen_rate"] == pytest.approx(1 / 3)
    assert t["csat_average"]["rows"][0]["csat"] == pytest.approx(11 / 3)
    assert {r["评分"]: r["n"] for r in t["csat_distribution"]["rows"]} == {2: 1, 4: 1, 5: 1}
    assert t["backlog"]["rows"][0] == {"open": 3, "unassigned": 1, "waiting": 1, "urgent": 1}
    assert {r["问题类型"]: (r["n"], r["resolved"]) for r in t["by_category"]["rows"]} == {
        "账号问题": (2, 1), "发票": (1, 1), "服务器故障": (1, 0), "退款": (1, 0), "产品咨询": (1, 1)}
    agents = {r["处理人"]: r for r in t["per_agent"]["rows"]}
    ann, bob = agents[staff["ann"]], agents[staff["bob"]]
    assert (ann["n"], ann["resolved"], ann["first_time"], ann["reopens"]) == (2, 2, 1, 1)
    assert ann["fcr"] == pytest.approx(0.5) and ann["frt"] == pytest.approx(45) and ann["aht"] == pytest.approx(180)
    assert (bob["n"], bob["resolved"], bob["first_time"], bob["reopens"]) == (3, 1, 1, 0)
    assert bob["frt"] == pytest.approx(40) and bob["aht"] == pytest.approx(60)


def test_shared_filters_reach_the_survey_tiles_through_the_ticket(client, admin_headers, known):
    t = tiles(client, admin_headers, {"问题渠道": "官网"})
    assert [r["n"] for r in t["by_channel"]["rows"]] == [3]
    assert t["csat_average"]["rows"][0]["csat"] == pytest.approx(4.5)
    assert t["backlog"]["rows"][0]["open"] == 1
    t = tiles(client, admin_headers, {"问题类型": "账号问题"})
    assert t["total_resolved"]["rows"][0] == {"total": 2, "resolved": 1, "rate": 0.5}
