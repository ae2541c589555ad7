"""Checked migration of running instances onto a republished flow (issue #19, item 3), tried with the
purchase-request app: version 1 of its approval flow sends every request to a step that is assigned to
the wrong person; version 2 replaces that step. Three requests are stuck at the removed step: the
migration is refused until that step is mapped (and when mapped to a node that cannot hold them),
then moves them in one go, and they complete on version 2. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
import pytest

from tests.conftest import api_token, install_package, make_user

from .purchase_package import purchase_package


def n(id, type, **config):
    return {"id": id, "type": type, "config": config}


V1 = {"key": "approve", "version": 1, "form": "采购申请", "label": "Approve",
      "nodes": [n("s", "start"),
                n("broken", "user_task", assignee={"kind": "user", "value": "ann"}, outcomes=["ok"],
                  sla={"after": "PT4H"}),
                n("done", "end", outcome="ok")],
      "edges": [{"id": "a", "from": "s", "to": "broken"}, {"id": "b", "from": "broken", "to": "done",
                                                            "outcome": "ok"}]}
V2 = {"key": "approve", "version": 2, "form": "采购申请", "label": "Approve",
      "nodes": [n("s", "start"),
                n("check", "user_task", assignee={"kind": "user", "value": "ben"}, outcomes=["ok", "no"],
                  sla={"after": "PT8H"}),
                n("done", "end", outcome="ok"), n("refused", "end", outcome="no")],
      "edges": [{"id": "a", "from": "s", "to": "check"},
                {"id": "b", "from": "check", "to": "done", "outcome": "ok"},
                {"id": "c", "from": "check", "to": "refused", "outcome": "no"}]}


class Purchasing:
    def __init__(self, jimu, client):
        self.jimu, self.client = jimu, client
        self.ids = {"ann": make_user(jimu, "ann", roles=[]), "ben": make_user(jimu, "ben"),
                    "root": make_user(jimu, "root", admin=True)}
        install_package(jimu, purchase_package(flows=[V1]))
        from runtime.auth.users import set_roles
        with jimu.begin() as conn:
            for name in ("ann", "ben"):
                set_roles(conn, self.ids[name], ["buyer"])
        self.h = {k: {"Authorization": f"Bearer {api_token(jimu, v)}"} for k, v in self.ids.items()}
        self.requests = []
        for item in ("纸", "笔", "墨"):
            r = client.post("/api/v1/forms/采购申请/records", headers=self.h["ann"], json={"物品": item})
            assert r.status_code == 201, r.get_json()
            self.requests.append(r.get_json()["id"])

    def tasks(self, who):
        return self.client.get("/api/v1/tasks", headers=self.h[who]).get_json()["tasks"]

    def instances(self):
        from runtime.flows.tables import flow_instances
        with self.jimu.read() as conn:
            return [dict(r) for r in conn.execute(sa.select(flow_instances).order_by(flow_instances.c.id)).mappings()]

    def migrate(self, who="root", **body):
        return self.client.post("/api/v1/flows/approve/migration", headers=self.h[who], json=body)


@pytest.fixture
def shop(jimu, client):
    return Purchasing(jimu, client)


def test_stuck_instances_are_refused_until_mapped_then_moved_and_complete_on_the_new_version(shop, clock):
    assert len(shop.tasks("ann")) == 3
    install_package(shop.jimu, purchase_package(flows=[V2], version="1.1.0"))  # the fix, republished
    plan = shop.client.get("/api/v1/flows/approve/migration", headers=shop.h["root"]).get_json()
    assert plan["to_version"] == 2 and plan["waiting"] == {"1": {"broken": 3}}
    assert plan["proposed"] == {"broken": None}

    dry = shop.migrate(dry_run=True).get_json()
    assert dry["ok"] is False and {p["code"] for p in dry["problems"]} == {"flow.migration_unmapped"}
    assert len(dry["problems"]) == 3
    refused = shop.migrate()
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "flow.migration_refused"
    codes = {e["code"] for e in refused.get_json()["error"]["errors"]}
    assert codes == {"flow.migration_unmapped"}
    cannot = shop.migrate(mapping={"broken": "done"}).get_json()["error"]["errors"]
    assert {e["code"] for e in cannot} == {"flow.migration_cannot_hold"}
    assert shop.migrate(mapping={"broken": "nowhere"}).get_json()["error"]["errors"][0]["code"] \
        == "flow.migration_unknown_node"
    assert {i["flow_version"] for i in shop.instances()} == {1}  # nothing moved
    # only builders of the app (and administrators) may move instances
    assert shop.migrate("ann", mapping={"broken": "check"}).status_code == 403

    dry = shop.migrate(mapping={"broken": "check"}, sla="recompute", dry_run=True).get_json()
    assert dry["ok"] and all(i["moves"] == [{"token": i["moves"][0]["token"], "from": "broken", "to": "check",
                                             "how": "recreated"}] for i in dry["instances"])
    assert {i["flow_version"] for i in shop.instances()} == {1}  # a dry run changes nothing

    clock.advance(hours=1)
    done = shop.migrate(mapping={"broken": "check"}, sla="recompute")
    assert done.status_code == 200, done.get_json()
    assert {i["flow_version"] for i in shop.instances()} == {2}
    assert shop.tasks("ann") == []
    mine = shop.tasks("ben")
    assert len(mine) == 3 and {t["node_id"] for t in mine} == {"check"}
    due = clock() + timedelta(hours=8)  # the new step's SLA, counted from the migration (recompute)
    assert {datetime.fromisoformat(t["due_at"]) for t in mine} == {due}
    events = shop.client.get("/api/v1/audit?kind=flow.migrated", headers=shop.h["root"]).get_json()["events"]
    assert len(events) == 3 and {e["data"]["to_version"] for e in events} == {2}

    for task in mine:
        r = shop.client.post(f"/api/v1/tasks/{task['id']}/complete", headers=shop.h["ben"], json={"outcome": "ok"})
        assert r.status_code == 200, r.get_json()
    assert [(i["status"], i["outcome"], i["flow_version"]) for i in shop.instances()] == [("completed", "ok", 2)] * 3


def test_a_step_kept_by_id_carries_its_tasks_and_sla_deadlines(shop):
    before = {t["id"]: t for t in shop.tasks("ann")}
    v2 = dict(V1, nodes=[dict(node) for node in V1["nodes"]])
    v2["nodes"][1] = n("broken", "user_task", assignee={"kind": "user", "value": "ann"}, outcomes=["ok", "later"],
                       sla={"after": "PT4H"})
    install_package(shop.jimu, purchase_package(flows=[v2], version="1.1.0"))
    plan = shop.client.get("/api/v1/flows/approve/migration", headers=shop.h["root"]).get_json()
    assert plan["proposed"] == {"broken": "broken"}
    r = shop.migrate()
    assert r.status_code == 200, r.get_json()
    after = {t["id"]: t for t in shop.tasks("ann")}
    assert after.keys() == before.keys()  # the same tasks, not new ones
    assert all(after[k]["due_at"] == before[k]["due_at"] for k in after)
    assert all([o["key"] for o in t["outcomes"]] == ["ok", "later"] for t in after.values())
    assert {i["flow_version"] for i in shop.instances()} == {2}


def test_jimu_migrate_instances_dry_run_and_apply(shop, runner):
    install_package(shop.jimu, purchase_package(flows=[V2], version="1.1.0"))
    dry = runner.invoke(args=["migrate-instances", "approve", "--dry-run"])
    assert dry.exit_code == 1 and "broken 3" in dry.output and "flow.migration_unmapped" in dry.output
    bad = runner.invoke(args=["migrate-instances", "approve"])
    assert bad.exit_code != 0 and "flow.migration_refused" in bad.output
    ok = runner.invoke(args=["migrate-instances", "approve", "--map", "broken=check", "--sla", "recompute"])
    assert ok.exit_code == 0, ok.output
    assert "moved 3 instance(s) to v2" in ok.output
