"""Every chart type's numbers over 10,000 seeded records, against an independent computation in Python.

Runs on SQLite and PostgreSQL (the ``sa_engine`` fixture), so the same
assertions also prove both databases give the same results.
"""
from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict

import pytest

from engines.report import periods
from engines.report import OTHERS, compile_chart

from .store import CHANNELS, NOW, build, run


@pytest.fixture
def data(sa_engine):
    return build(sa_engine)


def chart(data, **definition):
    base = {"key": "c", "version": 1, "form": "case", "type": "table", "measures": [{"key": "n", "agg": "count"}]}
    return compile_chart({**base, **definition}, data.source)


def within(days: int):
    start = NOW - dt.timedelta(days=days)
    return lambda r: start <= r["created_at"] <= NOW


def test_pie_top_n_with_others_and_share(sa_engine, data):
    c = chart(data, type="pie", dimensions=[{"field": "channel"}], top={"n": 3, "others": True},
              measures=[{"key": "n", "agg": "count"}, {"key": "share", "agg": "percent_of_total", "of": "n"}],
              options={"donut": True})
    rows = run(sa_engine, c)
    counts = Counter(r["channel"] for r in data.records)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    assert [(r["channel"], r["n"]) for r in rows[:3]] == ranked[:3]
    assert rows[3][OTHERS] == [k for k, _ in ranked[:3]] and rows[3]["n"] == sum(v for _, v in ranked[3:])
    for r in rows:
        assert r["share"] == pytest.approx(r["n"] / len(data.records))
    fig = c.figure(rows, lang="zh-CN")
    assert fig["data"][0]["labels"][-1] == "其他" and fig["data"][0]["hole"] > 0


def test_kpi_total_vs_resolved_with_previous_period(sa_engine, data):
    c = chart(data, type="kpi", measures=[
        {"key": "total", "agg": "count", "label": {"zh-CN": "总量", "en": "Total"}},
        {"key": "resolved", "agg": "count", "filter": [{"field": "status", "op": "eq", "value": "已解决"}]},
        {"key": "rate", "ratio": ["resolved", "total"]}],
        options={"date_field": "created_at", "period_days": 30, "previous_period": True})
    [row] = run(sa_engine, c)
    cur = [r for r in data.records if NOW - dt.timedelta(days=30) <= r["created_at"] < NOW]
    prev = [r for r in data.records if NOW - dt.timedelta(days=60) <= r["created_at"] < NOW - dt.timedelta(days=30)]
    resolved = lambda rs: sum(r["status"] == "已解决" for r in rs)  # noqa: E731
    assert (row["total"], row["resolved"]) == (len(cur), resolved(cur))
    assert (row["total__previous"], row["resolved__previous"]) == (len(prev), resolved(prev))
    assert row["total__change"] == pytest.approx((len(cur) - len(prev)) / len(prev))
    assert row["rate"] == pytest.approx(resolved(cur) / len(cur))
    assert row["rate__previous"] == pytest.approx(resolved(prev) / len(prev))
    fig = c.figure([row], lang="en")
    assert [t["title"]["text"] for t in fig["data"]] == ["Total", "resolved", "rate"]
    assert fig["data"][0]["delta"]["reference"] == len(prev)


def test_daily_line_within_30_days(sa_engine, data):
    c = chart(data, type="line", dimensions=[{"field": "created_at", "bucket": "day", "key": "day"}],
              filters=[{"field": "created_at", "op": "within_days", "value": 30}], options={"area": True})
    rows = run(sa_engine, c)
    expected = Counter(r["created_at"].date().isoformat() for r in data.records if within(30)(r))
    assert [(r["day"], r["n"]) for r in rows] == sorted(expected.items())
    fig = c.figure(rows)
    assert fig["data"][0]["x"] == sorted(expected) and fig["data"][0]["fill"] == "tozeroy"


def test_bar_avg_by_category_and_stacked_status_by_channel(sa_engine, data):
    c = chart(data, type="bar", dimensions=[{"field": "category"}],
              measures=[{"key": "avg_frt", "agg": "avg", "field": "first_response_minutes"},
                        {"key": "max_frt", "agg": "max", "field": "first_response_minutes"},
                        {"key": "sum_amount", "agg": "sum", "field": "amount"}])
    rows = run(sa_engine, c)
    groups = defaultdict(list)
    for r in data.records:
        groups[r["category"]].append(r)
    keys = sorted(k for k in groups if k is not None) + [None]  # NULL group last on both databases
    assert [r["category"] for r in rows] == keys
    for row in rows:
        frt = [r["first_response_minutes"] for r in groups[row["category"]] if r["first_response_minutes"] is not None]
        amounts = [r["amount"] for r in groups[row["category"]] if r["amount"] is not None]
        assert row["avg_frt"] == pytest.approx(statistics.fmean(frt))
        assert row["max_frt"] == max(frt) and isinstance(row["max_frt"], int)
        assert row["sum_amount"] == pytest.approx(sum(amounts), abs=0.01)

    stacked = chart(data, type="bar", dimensions=[{"field": "channel"}, {"field": "status"}],
                    options={"stacked": True, "horizontal": True})
    rows = run(sa_engine, stacked)
    assert {(r["channel"], r["status"]): r["n"] for r in rows} == Counter(
        (r["channel"], r["status"]) for r in data.records)
    fig = stacked.figure(rows)
    assert fig["layout"]["barmode"] == "stack" and fig["data"][0]["orientation"] == "h"
    assert sorted(t["name"] for t in fig["data"]) == sorted(set(r["status"] for r in data.records))


def test_table_count_per_user_sorted_by_computed_rate(sa_engine, data):
    c = chart(data, dimensions=[{"field": "assignee"}], measures=[
        {"key": "n", "agg": "count"},
        {"key": "resolved", "agg": "count", "filter": [{"field": "status", "op": "in", "value": ["已解决", "已关闭"]}]},
        {"key": "rate", "ratio": ["resolved", "n"]}], sort=[{"by": "rate", "dir": "desc"}], limit=5)
    rows = run(sa_engine, c)
    per_user = defaultdict(lambda: [0, 0])
    for r in data.records:
        per_user[r["assignee"]][0] += 1
        per_user[r["assignee"]][1] += r["status"] in ("已解决", "已关闭")
    expected = sorted(((u, n, k, k / n) for u, (n, k) in per_user.items()), key=lambda t: -t[3])[:5]
    assert [(r["assignee"], r["n"], r["resolved"]) for r in rows] == [e[:3] for e in expected]
    header, cells = c.export_rows(rows, lang="en")
    assert header == ["assignee", "n", "resolved", "rate"] and cells[0][1] == expected[0][1]


def test_pivot_funnel_and_gauge(sa_engine, data):
    pivot = chart(data, type="pivot", dimensions=[{"field": "urgency"}, {"field": "status"}])
    rows = run(sa_engine, pivot)
    expected = Counter((r["urgency"], r["status"]) for r in data.records)
    assert {(r["urgency"], r["status"]): r["n"] for r in rows} == expected
    cells = pivot.figure(rows)["data"][0]["cells"]["values"]
    assert cells[-1][-1] == f"{len(data.records):,}"  # grand total, digits grouped

    funnel = chart(data, type="funnel", dimensions=[{"field": "status"}],
                   options={"stages": ["新建", "处理中", "已解决", "已关闭"]})
    fig = funnel.figure(run(sa_engine, funnel))
    status = Counter(r["status"] for r in data.records)
    assert fig["data"][0]["x"] == [status[s] for s in ["新建", "处理中", "已解决", "已关闭"]]

    gauge = chart(data, type="gauge", measures=[{"key": "csat", "agg": "avg", "field": "满意度"}],
                  options={"min": 1, "max": 5, "target": 4})
    [row] = run(sa_engine, gauge)
    assert row["csat"] == pytest.approx(statistics.fmean(r["满意度"] for r in data.records if r["满意度"]))
    assert gauge.figure([row])["data"][0]["gauge"]["threshold"]["value"] == 4


def test_count_distinct_min_median_on_both_databases(sa_engine, data):
    c = chart(data, dimensions=[{"field": "urgency"}], measures=[
        {"key": "customers", "agg": "count_distinct", "field": "customer"},
        {"key": "first", "agg": "min", "field": "created_at"},
        {"key": "median_frt", "agg": "median", "field": "first_response_minutes"}])
    rows = run(sa_engine, c)
    for row in rows:
        group = [r for r in data.records if r["urgency"] == row["urgency"]]
        assert row["customers"] == len({r["customer"] for r in group if r["customer"] is not None})
        assert row["first"] == min(r["created_at"] for r in group)
        frt = [r["first_response_minutes"] for r in group if r["first_response_minutes"] is not None]
        assert row["median_frt"] == pytest.approx(statistics.median(frt))


def test_join_dimension_and_filter_expr(sa_engine, data):
    c = chart(data, type="bar", joins=[{"field": "customer", "as": "c"}],
              dimensions=[{"field": "c.vip_level", "key": "vip"}],
              filter_expr="c.vip_level >= 1 and urgency in ['高', '中'] and not (channel == 'API')")
    rows = run(sa_engine, c)
    vip = {c["id"]: c["vip_level"] for c in data.customers}
    expected = Counter(vip[r["customer"]] for r in data.records
                       if r["customer"] is not None and vip[r["customer"]] >= 1
                       and r["urgency"] in ("高", "中") and r["channel"] != "API")
    assert {r["vip"]: r["n"] for r in rows} == expected
    assert c.drilldown({"vip": 2})[-1] == {"field": "customer.vip_level", "op": "eq", "value": 2}


@pytest.mark.parametrize("bucket, label", [
    ("hour", lambda d: d.strftime("%Y-%m-%d %H:00")),
    ("week", lambda d: (d.date() - dt.timedelta(days=d.weekday())).isoformat()),
    ("month", lambda d: d.strftime("%Y-%m")),
    ("quarter", lambda d: f"{d.year}-Q{(d.month + 2) // 3}"),
    ("year", lambda d: str(d.year)),
])
def test_date_buckets_match_python(sa_engine, data, bucket, label):
    c = chart(data, type="line", dimensions=[{"field": "created_at", "bucket": bucket, "key": "b"}])
    rows = run(sa_engine, c)
    expected = sorted(Counter(label(r["created_at"]) for r in data.records).items())
    assert [(r["b"], r["n"]) for r in rows if r["n"]] == expected
    # a trend has every bucket from the first to the last: the ones without records count 0
    assert rows[0]["b"] == expected[0][0] and rows[-1]["b"] == expected[-1][0]
    assert [r["b"] for r in rows] == list(periods.between(bucket, expected[0][0], expected[-1][0]))


def test_date_field_bucket_and_shared_filters(sa_engine, data):
    c = chart(data, type="line", dimensions=[{"field": "due_on", "bucket": "week", "key": "w"}])
    shared = [{"field": "channel", "op": "in", "value": CHANNELS[:2]},
              {"field": "subject", "op": "contains", "value": "100%"}]
    rows = run(sa_engine, c, shared_filters=shared)
    expected = Counter((r["due_on"] - dt.timedelta(days=r["due_on"].weekday())).isoformat() for r in data.records
                       if r["channel"] in CHANNELS[:2] and "100%" in r["subject"])
    assert [(r["w"], r["n"]) for r in rows if r["n"]] == sorted(expected.items())


def test_process_fields_helpdesk_kpis(sa_engine, data):
    """First response, handling time and reopen count read from the per-record process data."""
    c = chart(data, type="table", dimensions=[{"field": "channel"}], measures=[
        {"key": "n", "agg": "count"},
        {"key": "frt", "agg": "avg", "field": "process.first_response_minutes"},
        {"key": "handling_median", "agg": "median", "field": "process.handling_minutes"},
        {"key": "reopens", "agg": "sum", "field": "process.reopen_count"},
        {"key": "reopened", "agg": "count", "filter": [{"field": "process.reopen_count", "op": "gt", "value": 0}]},
        {"key": "fcr", "formula": "(n - reopened) / n"}])
    rows = run(sa_engine, c)
    by_channel = defaultdict(list)
    for r in data.records:
        by_channel[r["channel"]].append(r["id"])
    assert [r["channel"] for r in rows] == sorted(by_channel)
    for row in rows:
        ids = by_channel[row["channel"]]
        procs = [data.process[i] for i in ids if i in data.process]
        assert row["n"] == len(ids)  # the LEFT JOIN neither drops nor multiplies records
        assert row["frt"] == pytest.approx(statistics.fmean(p["first_response_minutes"] for p in procs))
        assert row["handling_median"] == pytest.approx(statistics.median(p["handling_minutes"] for p in procs))
        assert row["reopens"] == sum(p["reopen_count"] for p in procs)
        reopened = sum(p["reopen_count"] > 0 for p in procs)
        assert row["reopened"] == reopened
        assert row["fcr"] == pytest.approx((len(ids) - reopened) / len(ids))


def test_process_fields_need_process_data(data):
    from engines.errors import ValidationErrors
    with pytest.raises(ValidationErrors) as err:
        compile_chart({"key": "c", "version": 1, "form": "customer", "type": "kpi",
                       "measures": [{"key": "x", "agg": "avg", "field": "process.first_response_minutes"}]},
                      data.source)
    assert [e["code"] for e in err.value.errors] == ["report.no_process_data"]


def test_formula_over_measures_and_percent_of_total_by_bucket(sa_engine, data):
    c = chart(data, type="bar", dimensions=[{"field": "created_at", "bucket": "month", "key": "m"}], measures=[
        {"key": "n", "agg": "count"},
        {"key": "amount", "agg": "sum", "field": "amount"},
        {"key": "avg_ticket", "formula": "round(amount / n, 2)"},
        {"key": "share", "agg": "percent_of_total", "of": "amount"}])
    rows = run(sa_engine, c)
    groups = defaultdict(list)
    for r in data.records:
        groups[r["created_at"].strftime("%Y-%m")].append(r)
    total = sum(r["amount"] for r in data.records if r["amount"] is not None)
    assert [r["m"] for r in rows] == sorted(groups)
    for row in rows:
        amount = sum(r["amount"] for r in groups[row["m"]] if r["amount"] is not None)
        assert row["n"] == len(groups[row["m"]])
        assert row["amount"] == pytest.approx(amount, abs=0.01)
        assert row["avg_ticket"] == pytest.approx(round(amount / len(groups[row["m"]]), 2), abs=0.011)
        assert row["share"] == pytest.approx(amount / total)


def test_top_n_by_sum_with_others_and_drilldown(sa_engine, data):
    c = chart(data, type="bar", dimensions=[{"field": "assignee"}], top={"n": 4, "by": "amount", "others": True},
              measures=[{"key": "n", "agg": "count"}, {"key": "amount", "agg": "sum", "field": "amount"}])
    rows = run(sa_engine, c)
    sums, counts = defaultdict(float), Counter()
    for r in data.records:
        counts[r["assignee"]] += 1
        sums[r["assignee"]] += r["amount"] or 0
    ranked = sorted(sums, key=lambda k: -sums[k])
    assert [r["assignee"] for r in rows[:4]] == ranked[:4]
    assert rows[4]["n"] == sum(counts[k] for k in ranked[4:])
    assert rows[4]["amount"] == pytest.approx(sum(sums[k] for k in ranked[4:]), abs=0.05)
    drill = c.drilldown(rows[4])
    shown = [k for k in ranked[:4] if k is not None]
    assert {"field": "assignee", "op": "not_in", "value": shown} in drill


def test_clicked_points_map_back_to_rows(sa_engine, data):
    """customdata on every clickable trace is the index of the row behind the point (drill-down)."""
    stacked = chart(data, type="bar", dimensions=[{"field": "channel"}, {"field": "urgency"}])
    rows = run(sa_engine, stacked)
    for trace in stacked.figure(rows)["data"]:
        for x, y, idx in zip(trace["x"], trace["y"], trace["customdata"]):
            if idx is not None:
                assert (rows[idx]["channel"], rows[idx]["urgency"], rows[idx]["n"]) == (x, trace["name"], y)
    assert trace["meta"] == "n"
    funnel = chart(data, type="funnel", dimensions=[{"field": "status"}], options={"stages": ["已关闭", "新建", "没有"]})
    rows = run(sa_engine, funnel)
    trace = funnel.figure(rows)["data"][0]
    assert [rows[i]["status"] if i is not None else None for i in trace["customdata"]] == ["已关闭", "新建", None]


@pytest.mark.parametrize("bucket, label", [
    ("hour", lambda d: d.strftime("%Y-%m-%d %H:00")),
    ("day", lambda d: d.date().isoformat()),
    ("week", lambda d: (d.date() - dt.timedelta(days=d.weekday())).isoformat()),
    ("quarter", lambda d: f"{d.year}-Q{(d.month + 2) // 3}"),
])
def test_buckets_follow_the_deployment_time_zone(sa_engine, data, bucket, label):
    """Stored UTC, bucketed by Asia/Shanghai's calendar; a bucket's drill-down selects exactly its records."""
    shanghai = dt.timezone(dt.timedelta(hours=8))
    local = lambda r: r["created_at"].replace(tzinfo=dt.timezone.utc).astimezone(shanghai)  # noqa: E731
    c = compile_chart({"key": "c", "version": 1, "form": "case", "type": "line",
                       "dimensions": [{"field": "created_at", "bucket": bucket, "key": "b"}],
                       "measures": [{"key": "n", "agg": "count"}]}, data.source, tz="Asia/Shanghai")
    rows = run(sa_engine, c)
    expected = Counter(label(local(r)) for r in data.records)
    assert [(r["b"], r["n"]) for r in rows if r["n"]] == sorted(expected.items())
    for row in (rows[0], rows[len(rows) // 2], rows[-1]):
        drill = c.drilldown({"b": row["b"]})
        assert drill[0]["value"].endswith("+08:00")
        plain = compile_chart({"key": "p", "version": 1, "form": "case", "type": "kpi",
                               "measures": [{"key": "n", "agg": "count"}]}, data.source)
        assert run(sa_engine, plain, shared_filters=drill)[0]["n"] == row["n"]


@pytest.mark.parametrize("bucket, label, shown", [
    ("hour_of_day", lambda d: f"{d.hour:02d}", lambda v, lang: f"{v}:00"),
    ("weekday", lambda d: str(d.isoweekday()),
     lambda v, lang: ("周" + "一二三四五六日"[int(v) - 1]) if lang == "zh-CN"
     else ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[int(v) - 1]),
])
def test_peak_hours_and_busy_weekdays(sa_engine, data, bucket, label, shown):
    """hour_of_day and weekday count every record of that local hour or weekday, whatever its date; the
    axis reads 09:00 and 周一 / Mon; a point names no date range, so drilling down says so."""
    from engines.report import ReportError
    shanghai = dt.timezone(dt.timedelta(hours=8))
    local = lambda r: r["created_at"].replace(tzinfo=dt.timezone.utc).astimezone(shanghai)  # noqa: E731
    c = compile_chart({"key": "c", "version": 1, "form": "case", "type": "bar",
                       "dimensions": [{"field": "created_at", "bucket": bucket, "key": "b"}],
                       "measures": [{"key": "n", "agg": "count"}]}, data.source, tz="Asia/Shanghai")
    rows = run(sa_engine, c)
    assert [(r["b"], r["n"]) for r in rows] == sorted(Counter(label(local(r)) for r in data.records).items())
    assert len(rows) == (24 if bucket == "hour_of_day" else 7)
    for lang in ("zh-CN", "en"):
        xs = c.figure(rows, lang=lang)["data"][0]["x"]
        assert xs == [shown(r["b"], lang) for r in rows]
    with pytest.raises(ReportError) as err:
        c.drilldown({"b": rows[0]["b"]})
    assert err.value.code == "report.no_drilldown"


def test_weekday_of_a_date_field_and_no_hour_of_a_date(sa_engine, data):
    from engines.errors import ValidationErrors
    c = chart(data, type="bar", dimensions=[{"field": "due_on", "bucket": "weekday", "key": "w"}])
    rows = run(sa_engine, c)
    assert [(r["w"], r["n"]) for r in rows] == sorted(Counter(str(r["due_on"].isoweekday())
                                                              for r in data.records).items())
    with pytest.raises(ValidationErrors) as err:
        chart(data, type="bar", dimensions=[{"field": "due_on", "bucket": "hour_of_day"}])
    assert [e["code"] for e in err.value.errors] == ["report.bad_bucket"]


def test_dashboard_date_range_is_in_local_days(sa_engine, data):
    from engines.report import apply_shared_filters
    c = compile_chart({"key": "c", "version": 1, "form": "case", "type": "kpi",
                       "measures": [{"key": "n", "agg": "count"}]}, data.source, tz="Asia/Shanghai")
    dashboard = {"key": "d", "version": 1, "charts": [{"report": "c", "x": 0, "y": 0, "w": 6, "h": 4}],
                 "filters": [{"field": "created_at", "kind": "date_range"}]}
    shared = apply_shared_filters(dashboard, {"created_at": {"from": "2026-11-01", "to": "2026-11-07"}}, {"c": c},
                                  tz="Asia/Shanghai")
    shanghai = dt.timezone(dt.timedelta(hours=8))
    expected = sum(dt.date(2026, 11, 1) <= r["created_at"].replace(tzinfo=dt.timezone.utc).astimezone(shanghai).date()
                   <= dt.date(2026, 11, 7) for r in data.records)
    assert run(sa_engine, c, shared_filters=shared["c"])[0]["n"] == expected


def test_a_tile_names_the_field_a_shared_filter_applies_to(sa_engine, data):
    from engines.report import ValidationErrors, apply_shared_filters, check_dashboard
    from engines.report.dashboard import shared_target
    c = compile_chart({"key": "c", "version": 1, "form": "case", "type": "kpi",
                       "measures": [{"key": "n", "agg": "count"}]}, data.source)
    tile = {"report": "c", "x": 0, "y": 0, "w": 6, "h": 4, "help": {"zh-CN": "口径", "en": "definition"}}
    dashboard = {"key": "d", "version": 1, "charts": [tile], "filters": [{"field": "created_at", "kind": "date_range"}]}
    week = {"created_at": {"from": "2026-11-01", "to": "2026-11-07"}}
    # by default the same key; filter_fields moves it to another date field of the tile, or takes it off
    assert shared_target(tile, c, "created_at") == "created_at"
    for target, counted in (("due_on", lambda r: dt.date(2026, 11, 1) <= r["due_on"] <= dt.date(2026, 11, 7)),
                            (None, lambda r: True)):
        dashboard["charts"][0] = dict(tile, filter_fields={"created_at": target})
        check_dashboard(dashboard, {"c": c})
        shared = apply_shared_filters(dashboard, week, {"c": c})
        assert run(sa_engine, c, shared_filters=shared["c"])[0]["n"] == sum(map(counted, data.records))
    for fields, code in (({"updated": "due_on"}, "dashboard.unknown_shared_filter"),
                         ({"created_at": "nope"}, "dashboard.unknown_field")):
        dashboard["charts"][0] = dict(tile, filter_fields=fields)
        with pytest.raises(ValidationErrors) as err:
            check_dashboard(dashboard, {"c": c})
        assert [e["code"] for e in err.value.to_dict()["errors"]] == [code]


def test_a_trend_marks_the_period_that_is_not_over(sa_engine, data):
    c = compile_chart({"key": "c", "version": 1, "form": "case", "type": "line",
                       "dimensions": [{"field": "created_at", "bucket": "month", "key": "m"}],
                       "measures": [{"key": "n", "agg": "count"}, {"key": "avg", "agg": "avg", "field": "amount"}]},
                      data.source)
    with sa_engine.connect() as conn:
        rows = c.rows(conn.execute(c.query(now=NOW)).all(), now=NOW.replace(tzinfo=dt.timezone.utc))
    assert [r["m"] for r in rows if r.get("__partial__")] == [NOW.strftime("%Y-%m")]
    fig = c.figure(rows, lang="en")
    assert fig["layout"]["annotations"][0]["text"] == "period not over"
    # the segment into the partial month is dotted and leaves no legend entry of its own
    dotted = [t for t in fig["data"] if t.get("line", {}).get("dash") == "dot"]
    assert len(dotted) == 2 and not any(t["showlegend"] for t in dotted)
    assert periods.current("day", dt.datetime(2026, 11, 22, 16, 30, tzinfo=dt.timezone.utc), "Asia/Shanghai") == \
        "2026-11-23"  # 00:30 the next day in Shanghai


def test_time_zone_names_are_checked(data):
    from engines.report import ReportError
    for bad in ["Asia/Shanghai'); DROP TABLE f_1; --", "Mars/Olympus", ""]:
        with pytest.raises(ReportError) as err:
            compile_chart({"key": "c", "version": 1, "form": "case", "type": "kpi",
                           "measures": [{"key": "n", "agg": "count"}]}, data.source, tz=bad)
        assert err.value.code == "report.bad_timezone"


@pytest.mark.parametrize("value, fmt, lang, number, text", [
    (3866, None, "zh-CN", {"valueformat": ",d"}, "3866"),                  # was drawn as 3870
    (2875.3, "duration", "zh-CN", {"valueformat": ",d", "suffix": " 小时 55 分钟"}, "47"),
    (42.64, "duration", "en", {"valueformat": ",.1~f", "suffix": " min"}, "42.6"),
    (0.884, "percent", "en", {"valueformat": ".1%"}, "0.884"),
    (12.345, "number", "en", {"valueformat": ",.2~f"}, "12.345"),
])
def test_kpi_numbers_keep_their_format(value, fmt, lang, number, text):
    """KPI tiles rounded (已解决 3870 where the API said 3866) and ignored ``format: duration``."""
    from engines.report.charts.kpi import shown
    drawn = shown(value, fmt, lang)
    assert drawn["number"] == number and str(drawn["value"]) == text


def test_a_duration_delta_is_the_measures_own_change():
    from engines.report.charts.kpi import reference, shown
    drawn = shown(150, "duration", "en")["value"]                           # 2 h 30 min drawn as 2
    assert drawn / reference(150, 100, drawn, "duration") - 1 == pytest.approx(0.5)
