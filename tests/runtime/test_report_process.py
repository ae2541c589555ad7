"""Process fields in reports: first completed task, handling time and reopen count from the flow history;
the first response as the flow defines it.

The flow runtime keeps ``jimu_flow_instances`` and ``jimu_flow_history``; where this checkout does not
create them yet, the test creates tables with the same columns, so the report side is tested against
that contract either way.
"""
from __future__ import annotations

import random
import statistics
from collections import defaultdict
from datetime import timedelta

import pytest
import sqlalchemy as sa

from engines.sqltypes import UTCDateTime
from tests.conftest import install_package

PACKAGE = {
    "format": "jimu.app", "version": 2,
    "app": {"key": "svc", "version": "1.0.0", "label": "Service"},
    "forms": [{"key": "ticket", "version": 1, "label": "Ticket", "fields": [
        {"key": "channel", "label": "Channel", "widget": "text"}]}],
    "reports": [{"key": "kpis", "version": 1, "label": "Helpdesk KPIs", "type": "table", "form": "ticket",
                 "dimensions": [{"field": "channel"}], "measures": [
                     {"key": "n", "agg": "count"},
                     {"key": "frt", "agg": "avg", "field": "process.first_completion_minutes"},
                     {"key": "handling", "agg": "median", "field": "process.handling_minutes"},
                     {"key": "reopens", "agg": "sum", "field": "process.reopen_count"},
                     {"key": "reopened", "agg": "count",
                      "filter": [{"field": "process.reopen_count", "op": "gt", "value": 0}]},
                     {"key": "fcr", "formula": "(n - reopened) / n"}]}],
}


def flow_tables(engine):
    meta = sa.MetaData()
    instances = sa.Table(
        "jimu_flow_instances", meta, sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("flow_key", sa.String(100), nullable=False), sa.Column("flow_version", sa.Integer, nullable=False),
        sa.Column("form_key", sa.String(100)), sa.Column("record_id", sa.BigInteger),
        sa.Column("status", sa.String(20), nullable=False), sa.Column("outcome", sa.String(100)),
        sa.Column("state", sa.JSON, nullable=False), sa.Column("started_by", sa.Integer),
        sa.Column("started_at", UTCDateTime(), nullable=False), sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime()))
    history = sa.Table(
        "jimu_flow_history", meta, sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("instance_id", sa.Integer, sa.ForeignKey("jimu_flow_instances.id"), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False), sa.Column("node_id", sa.String(100)),
        sa.Column("kind", sa.String(40), nullable=False), sa.Column("actor_id", sa.Integer),
        sa.Column("outcome", sa.String(100)), sa.Column("comment", sa.Text))
    meta.create_all(engine, checkfirst=True)
    return instances, history


@pytest.fixture
def svc(jimu, client, admin_headers, clock):
    install_package(jimu, PACKAGE)
    rnd = random.Random(7)
    channels = ["官网", "微信", "电话"]
    ids = client.post("/api/v1/forms/ticket/records", headers=admin_headers,
                      json=[{"channel": channels[i % 3]} for i in range(60)]).json["ids"]
    instances, history = flow_tables(jimu.engine)
    expected = {}
    inst_rows, hist_rows = [], []
    start = clock.now
    for n, rid in enumerate(ids):
        if n % 6 == 5:
            continue  # never ran a flow: counted, with no process data
        iid = len(inst_rows) + 1
        t0 = start + timedelta(minutes=rnd.randint(0, 600))
        first = t0 + timedelta(minutes=rnd.randint(1, 240))
        reopens = rnd.choice([0, 0, 0, 1, 2])
        end = first + timedelta(minutes=rnd.randint(10, 3000))
        running = n % 10 == 3
        inst_rows.append({"id": iid, "flow_key": "f", "flow_version": 1, "form_key": "ticket", "record_id": rid,
                          "status": "running" if running else "ended", "state": {}, "started_at": t0,
                          "updated_at": end, "ended_at": None if running else end})
        hist = [("started", t0), ("task_completed", first), ("task_completed", first + timedelta(minutes=5))]
        hist += [("reopened", first + timedelta(minutes=6 + k)) for k in range(reopens)]
        if not running:
            hist.append(("ended", end))
        hist_rows += [{"instance_id": iid, "at": at, "kind": kind} for kind, at in hist]
        expected[rid] = {"frt": (first - t0).total_seconds() / 60, "reopens": reopens,
                         "handling": None if running else (end - t0).total_seconds() / 60}
    # another form's instance with a clashing record id must not count
    inst_rows.append({"id": len(inst_rows) + 1, "flow_key": "g", "flow_version": 1, "form_key": "other",
                      "record_id": ids[0], "status": "ended", "state": {}, "started_at": start, "updated_at": start,
                      "ended_at": None})
    hist_rows.append({"instance_id": len(inst_rows), "at": start + timedelta(days=9), "kind": "reopened"})
    with jimu.engine.begin() as conn:
        conn.execute(instances.insert(), inst_rows)
        conn.execute(history.insert(), hist_rows)
    return {rid: channels[i % 3] for i, rid in enumerate(ids)}, expected


def test_helpdesk_kpis_from_process_fields(client, admin_headers, svc):
    channel_of, expected = svc
    r = client.get("/api/v1/reports/kpis/data", headers=admin_headers)
    assert r.status_code == 200, r.json
    groups = defaultdict(list)
    for rid, ch in channel_of.items():
        groups[ch].append(rid)
    rows = {row["channel"]: row for row in r.json["rows"]}
    assert set(rows) == set(groups)
    for ch, rids in groups.items():
        procs = [expected[r] for r in rids if r in expected]
        row = rows[ch]
        assert row["n"] == len(rids)
        assert row["frt"] == pytest.approx(statistics.fmean(p["frt"] for p in procs), abs=1e-3)
        assert row["handling"] == pytest.approx(statistics.median(p["handling"] for p in procs
                                                                  if p["handling"] is not None), abs=1e-3)
        assert row["reopens"] == sum(p["reopens"] for p in procs)
        reopened = sum(p["reopens"] > 0 for p in procs)
        assert row["reopened"] == reopened and row["fcr"] == pytest.approx((len(rids) - reopened) / len(rids))


def test_unknown_process_field_is_a_coded_error(client, admin_headers, svc):
    import json
    f = json.dumps([{"field": "process.sleep(3)", "op": "gt", "value": 1}])
    r = client.get(f"/api/v1/reports/kpis/data?filter={f}", headers=admin_headers)
    assert r.status_code == 422 and r.json["error"]["errors"][0]["code"] == "report.unknown_field"


# -- the process fields from real flows: what counts as a first response, every reopen ---------------------
def _n(id, type, **config):
    return {"id": id, "type": type, "config": config}


REQUESTS = {
    "format": "jimu.app", "version": 2,
    "app": {"key": "facilities", "version": "1.0.0", "label": "Facilities"},
    "forms": [
        {"key": "request", "version": 1, "label": "Request", "title_field": "title", "fields": [
            {"key": "title", "label": "Title", "widget": "text"},
            {"key": "note", "label": "Note", "widget": "text"}]},
        {"key": "comment", "version": 1, "label": "Comment", "fields": [
            {"key": "request", "label": "Request", "widget": "link", "config": {"form": "request"}},
            {"key": "kind", "label": "Kind", "widget": "text"},
            {"key": "by", "label": "By", "widget": "text"}]}],
    "flows": [{"key": "handle", "version": 1, "form": "request", "label": "Handle", "reopen_to": "again",
               "first_response": {"form": "comment", "link": "request", "filter": [
                   {"field": "kind", "op": "eq", "value": "public"}, {"field": "by", "op": "eq", "value": "staff"}]},
               "nodes": [_n("s", "start"),
                         _n("work", "user_task", assignee={"kind": "user", "value": "ann"}, outcomes=["fixed"]),
                         _n("check", "user_task", assignee={"kind": "user", "value": "ann"}, outcomes=["ok", "reopen"]),
                         _n("again", "automatic", actions=[{"type": "set_fields", "values": {"note": "reopened"}}]),
                         _n("done", "end", outcome="fixed")],
               "edges": [{"id": "a", "from": "s", "to": "work"},
                         {"id": "b", "from": "work", "to": "check", "outcome": "fixed"},
                         {"id": "c", "from": "check", "to": "done", "outcome": "ok"},
                         {"id": "d", "from": "check", "to": "again", "outcome": "reopen"},
                         {"id": "f", "from": "again", "to": "work"}]}],
    "reports": [{"key": "process", "version": 1, "label": "Process", "type": "table", "form": "request",
                 "dimensions": [{"field": "title"}], "measures": [
                     {"key": "frt", "agg": "avg", "field": "process.first_response_minutes"},
                     {"key": "first_done", "agg": "avg", "field": "process.first_completion_minutes"},
                     {"key": "reopens", "agg": "sum", "field": "process.reopen_count"}]}],
}


def test_first_response_is_the_configured_reply_and_every_reopen_counts(jimu, client, admin_headers, clock):
    """A first response is what the flow says it is (a public comment by staff), not the first completed
    task; a reopen along the flow's own "reopen" outcome counts like reopening the ended instance."""
    from tests.conftest import make_user
    from tests.runtime.cs_fixtures import run_jobs
    from tests.runtime.flow_fixtures import principal, runtime_call, tasks
    from tests.runtime.rules_helpers import create
    ann = make_user(jimu, "ann")
    install_package(jimu, REQUESTS)
    a = create(jimu, "request", {"title": "A"})["id"]
    create(jimu, "request", {"title": "B"})  # nobody answers B

    def step(outcome, minutes=10):
        clock.advance(minutes=minutes)
        (task,) = [t for t in tasks(jimu, record_id=a, status="open") if t["form_key"] == "request"]
        runtime_call(jimu, lambda rt: rt.complete(principal(jimu, ann), task["id"], outcome=outcome))
        run_jobs(jimu)

    def comment(kind, by, minutes=10):
        clock.advance(minutes=minutes)
        create(jimu, "comment", {"request": a, "kind": kind, "by": by})

    comment("internal", "staff")           # +10: an internal note is no response
    comment("public", "customer")          # +20: nor is the requester's own comment
    comment("public", "staff")             # +30: the first response
    step("fixed")                          # +40: the first completed task
    step("reopen")                         # +50: reopened along the flow's edge (1)
    step("fixed")
    step("reopen")                         # +70: and again (2)
    step("fixed")
    step("ok")                             # +90: ended
    clock.advance(minutes=10)
    runtime_call(jimu, lambda rt: rt.reopen(principal(jimu, ann),
                                            rt.last_ended_instance("request", a, "handle")))  # (3)
    run_jobs(jimu)
    rows = {r["title"]: r for r in client.get("/api/v1/reports/process/data", headers=admin_headers).json["rows"]}
    # (SQLite's julianday arithmetic is good to a few microseconds)
    assert (rows["A"]["frt"], rows["A"]["first_done"]) == (pytest.approx(30, abs=1e-3), pytest.approx(40, abs=1e-3))
    assert rows["A"]["reopens"] == 3
    assert (rows["B"]["frt"], rows["B"]["first_done"], rows["B"]["reopens"]) == (None, None, 0)


def test_a_first_response_naming_a_field_that_does_not_link_here_is_refused(jimu):
    import copy
    from engines.errors import JimuError
    data = copy.deepcopy(REQUESTS)
    data["flows"][0]["first_response"]["link"] = "kind"
    with pytest.raises(JimuError) as exc:
        install_package(jimu, data)
    assert "/flows/0/first_response/link" in str(exc.value.to_dict())


def test_each_service_level_clock_is_a_process_field_met_breached_or_running(jimu, client, admin_headers, clock):
    """process.sla_<clock>: 1 met, 0 breached (the clock's own verdict), empty while it runs."""
    import copy
    from tests.conftest import make_user
    from tests.runtime.cs_fixtures import run_jobs
    from tests.runtime.rules_helpers import create, update
    make_user(jimu, "ann")
    data = copy.deepcopy(REQUESTS)
    data["app"]["key"] = "facilities_sla"
    data["flows"][0]["sla"] = {"clocks": [{"key": "answer", "met_when": "not is_empty(note)",
                                           "targets": [{"after": "PT1H"}]}]}
    data["reports"] = [{"key": "sla", "version": 1, "label": "SLA", "type": "table", "form": "request",
                        "dimensions": [{"field": "title"}],
                        "measures": [{"key": "met", "agg": "avg", "field": "process.sla_answer"}]},
                       {"key": "rate", "version": 1, "label": "SLA rate", "type": "kpi", "form": "request",
                        "measures": [{"key": "met", "agg": "avg", "field": "process.sla_answer",
                                      "format": "percent"}]}]
    install_package(jimu, data)
    met = create(jimu, "request", {"title": "met"})["id"]
    create(jimu, "request", {"title": "breached"})
    clock.advance(minutes=30)
    update(jimu, "request", met, {"note": "on it"})          # answered within the hour
    clock.advance(minutes=45)
    run_jobs(jimu)                                           # the other one's hour is over
    create(jimu, "request", {"title": "running"})
    run_jobs(jimu)
    rows = {r["title"]: r["met"] for r in client.get("/api/v1/reports/sla/data", headers=admin_headers).json["rows"]}
    assert rows == {"met": 1, "breached": 0, "running": None}
    assert client.get("/api/v1/reports/rate/data", headers=admin_headers).json["rows"] == [{"met": 0.5}]
