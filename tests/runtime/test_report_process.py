"""Process fields in reports: first response, handling time and reopen count from the flow history.

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
                     {"key": "frt", "agg": "avg", "field": "process.first_response_minutes"},
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
