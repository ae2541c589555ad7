"""Rules on a bulk write decided for the whole batch (``runtime.rules.batch``: skipped, or their
set_fields planned at once) do exactly what firing them record by record does: the same record
values, audit events and firing log, rules on the records' updates chained after set_fields,
conditions that count records seeing the earlier records' changes, failing conditions logged. Tried
on a lot register (an inventory app's goods receipts), on both databases: each batch is written once
through the batch path and once, with the same rows, record by record, and the two outcomes are
compared."""
from __future__ import annotations

import sqlalchemy as sa

from tests.conftest import install_package

SET = lambda **values: {"type": "set_fields", "values": values}  # noqa: E731

LOTS = {"format": "jimu.app", "version": 2, "app": {"key": "lots", "version": "1.0.0", "label": "Lots"},
        "roles": [], "groups": [],
        "forms": [{"key": "lot", "version": 1, "label": "Lot", "fields": [
            {"key": "名称", "label": "Name", "widget": "text"},
            {"key": "数量", "label": "Quantity", "widget": "number"},
            {"key": "仓库", "label": "Store", "widget": "text"},
            {"key": "备注", "label": "Note", "widget": "text"},
            {"key": "次数", "label": "Count", "widget": "number"},
            {"key": "批次", "label": "Run", "widget": "text"}]}],
        "rules": [dict(r, version=1, label=r["key"], form="lot") for r in [
            {"key": "big", "trigger": {"type": "record_created"},
             "condition": {"field": "数量", "op": "gte", "value": 90},
             "actions": [SET(备注="大单")]},
            {"key": "small_south", "trigger": {"type": "record_created"},
             "condition": {"all": [{"field": "仓库", "op": "eq", "value": "广州"},
                                   {"field": "数量", "op": "lt", "value": 10}]},
             "actions": [SET(备注="重点", 次数={"expr": "数量 + 1"})]},
            # counts the big lots of this run that the rule above already marked: depends on the order
            {"key": "after_big", "trigger": {"type": "record_created"},
             "condition": {"all": [{"field": "数量", "op": "gte", "value": 50},
                                   {"aggregate": {"fn": "count", "form": "lot", "filter": [
                                       {"field": "备注", "op": "eq", "value": "大单"},
                                       {"field": "批次", "op": "eq", "value": {"expr": "批次"}}]},
                                    "op": "gte", "value": 2}]},
             "actions": [SET(仓库="复核")]},
            # fails (a text compared with a number) for the largest lots only: logged with its error
            {"key": "broken", "trigger": {"type": "record_created"},
             "condition": {"expr": "数量 > 97 and 名称 > 3"}, "actions": [SET(次数=0)]},
            {"key": "chained", "trigger": {"type": "record_updated", "fields": ["备注"]},
             "condition": {"field": "备注", "op": "eq", "value": "大单"},
             "actions": [SET(次数={"expr": "数量 * 2"})]},
            # chained after the planned set_fields of small_south (runtime.rules.batch.Planned)
            {"key": "south_chained", "trigger": {"type": "record_updated", "fields": ["备注"]},
             "condition": {"field": "备注", "op": "eq", "value": "重点"},
             "actions": [SET(仓库="南区")]},
        ]]}


def _rows(run: str, n: int = 300) -> list[dict]:
    cities = ["上海", "广州", "北京"]
    return [{"名称": f"批{i}", "数量": (i * 37) % 101, "仓库": cities[i % 3], "备注": None, "批次": run}
            for i in range(n)]


def _per_row(self, ft, written, told):
    """What a bulk write did before batches were decided: every listener told about every record."""
    for record in written:
        self.jimu.notify(self, "record.created", ft, record, None, listeners=told)


def _write(jimu, run: str) -> list[int]:
    from runtime.auth.principal import Principal
    from runtime.records import Records
    with jimu.begin() as conn:
        return Records(jimu, conn, Principal(user_id=1, username="t", is_admin=True), source="import",
                       check_permissions=False).bulk_create("lot", _rows(run))


def _outcome(jimu, ids: list[int]) -> dict:
    """The batch's records, events and firings, with the record ids replaced by their row index and
    the run's own tag left out: what two runs of the same rows must have in common."""
    from runtime import db
    from runtime.rules.tables import rule_firings as f
    from runtime.store import RecordStore
    at = {rid: i for i, rid in enumerate(ids)}
    ft = jimu.catalog.form("lot")
    untagged = lambda d: {k: v for k, v in d.items() if k not in ("批次", "id")}  # noqa: E731
    with jimu.read() as conn:
        records = [untagged(r) for r in RecordStore(conn).by_ids(ft, ids)]
        events = [(at[e.record_id], e.kind, e.actor_id,
                   {k: untagged(v) if k == "after" else v for k, v in e.data.items()})
                  for e in conn.execute(sa.select(db.events).where(db.events.c.record_id.in_(ids),
                                                                     db.events.c.form_key == "lot")
                                        .order_by(db.events.c.id))]
        firings = [(at[r.record_id], r.rule_key, r.event, r.depth, r.source, r.matched,
                    [dict(a, id=at[a["id"]]) for a in r.actions or []], r.errors)
                   for r in conn.execute(sa.select(f).where(f.c.record_id.in_(ids)).order_by(f.c.id))]
    return {"records": records, "events": events, "firings": firings}


def test_a_batch_decided_at_once_does_what_firing_record_by_record_does(jimu, monkeypatch):
    install_package(jimu, LOTS)
    from runtime.records import Records
    from runtime.rules.batch import Planned
    from runtime.rules.runner import RuleRunner
    told, planned = [], []
    call, apply = RuleRunner.__call__, Planned.__call__
    monkeypatch.setattr(RuleRunner, "__call__", lambda self, records, event, ft, after, before: (
        told.append((event, after["名称"])), call(self, records, event, ft, after, before)))
    monkeypatch.setattr(Planned, "__call__", lambda self, records, event, ft, after, before: (
        planned.append(after["名称"]), apply(self, records, event, ft, after, before)))
    batched = _outcome(jimu, _write(jimu, "a"))
    told_batched = [int(name[1:]) for event, name in told if event == "record.created"]
    monkeypatch.setattr(Records, "_tell_created", _per_row)
    assert batched == _outcome(jimu, _write(jimu, "b"))
    # the runner was told about the records a condition fails on or counts records for only; those
    # only rules setting their own fields match had their effects planned for the whole batch
    rows = _rows("x")
    assert told_batched == [i for i, r in enumerate(rows) if r["数量"] >= 50]
    south = [i for i, r in enumerate(rows) if r["仓库"] == "广州" and r["数量"] < 10]
    assert south and [int(name[1:]) for name in planned] == south
    # the outcome is the one the rules describe
    recs, firings = batched["records"], batched["firings"]
    big = [i for i, r in enumerate(rows) if r["数量"] >= 90]
    assert all(recs[i]["备注"] == "大单" and recs[i]["次数"] == rows[i]["数量"] * 2 for i in big)
    assert {(i, "chained") for i in big} <= {(f[0], f[1]) for f in firings}
    second_big = big[1]
    assert [i for i, r in enumerate(recs) if r["仓库"] == "复核"] == [
        i for i, r in enumerate(rows) if r["数量"] >= 50 and i >= second_big]
    assert all(f[7] and f[7][0]["code"] for f in firings if f[1] == "broken")
    assert {f[0] for f in firings if f[1] == "broken"} == {i for i, r in enumerate(rows) if r["数量"] > 97}
    assert [e[1] for e in batched["events"]].count("record.updated") > len(big)
    # the planned set_fields wrote through the write path: formula values, audit, chained rules
    assert all((recs[i]["备注"], recs[i]["次数"], recs[i]["仓库"]) == ("重点", rows[i]["数量"] + 1, "南区")
               for i in south)
    assert {(i, "small_south") for i in south} | {(i, "south_chained") for i in south} <= {
        (f[0], f[1]) for f in firings}
    assert [f[3] for f in firings if f[1] == "south_chained"] == [1] * len(south)
    assert {e[0] for e in batched["events"] if e[1] == "record.updated" and "仓库" in e[3]["changes"]} >= set(south)
