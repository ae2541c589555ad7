"""Issue 12 item 4, on a purchase-request package: an automatic step's field updates are applied in
the same transaction, before the gateway right after it decides — over HTTP, as a client creates a
request, with no job run in between."""
from __future__ import annotations

import sqlalchemy as sa

from runtime import jobs
from tests.conftest import api_token, install_package, make_user
from .flow_fixtures import e, instances, n, tasks
from .purchase_package import purchase_package
from .rules_helpers import get

URL = "/api/v1/forms/采购申请/records"

#: the step grades the request (a read-only field, written through the system path); the gateway reads it
GRADE = {"type": "set_fields", "values": {"状态": {"expr": "if(合计 > 50000, '待审批', '已批准')"}}}


def approval_flow(actions=(GRADE,)):
    return {"key": "approval", "version": 1, "form": "采购申请", "label": "Approval",
            "nodes": [n("s", "start"), n("grade", "automatic", actions=list(actions)),
                      n("g", "exclusive_gateway"),
                      n("manager", "user_task", assignee={"kind": "role", "value": "buyer"}),
                      n("buy", "user_task", assignee={"kind": "role", "value": "buyer"}), n("end", "end")],
            "edges": [e("s", "grade"), e("grade", "g"), e("g", "manager", condition="状态 == '待审批'"),
                      e("g", "buy", default=True), e("manager", "end"), e("buy", "end")]}


def install(jimu, flow) -> dict:
    """Install the package with ``flow``; the headers of a buyer."""
    install_package(jimu, purchase_package(flows=[flow]))
    return {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, 'bea', roles=['buyer']))}"}


def request(client, buyer, price, **extra):
    r = client.post(URL, json={"物品": "服务器", "单价": price, "数量": 1, "理由": "扩容", "审批人": "周总", **extra},
                    headers=buyer)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_the_gateway_after_an_automatic_step_branches_on_the_value_the_step_set(jimu, client):
    buyer = install(jimu, approval_flow())
    big = request(client, buyer, "60000")
    small = request(client, buyer, "20000")
    assert get(jimu, "采购申请", big["id"])["状态"] == "待审批"        # set in the write, no job run
    assert get(jimu, "采购申请", small["id"])["状态"] == "已批准"
    assert {t["record_id"]: t["node_id"] for t in tasks(jimu)} == {big["id"]: "manager", small["id"]: "buy"}
    with jimu.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(jobs.db.jobs)
                            .where(jobs.db.jobs.c.kind == "flow.actions")).scalar() == 0


def test_a_failing_automatic_step_waits_and_its_retry_moves_the_flow_on(jimu, client):
    bad = {"type": "set_fields", "values": {"数量": "很多"}}      # not a number: the write path refuses it
    buyer = install(jimu, approval_flow([GRADE, bad]))
    rec = request(client, buyer, "60000")
    assert tasks(jimu) == [] and get(jimu, "采购申请", rec["id"])["状态"] == "草稿"  # nothing half-applied
    (inst,) = instances(jimu)
    from runtime.flows.tables import flow_history
    with jimu.read() as conn:
        failed = conn.execute(sa.select(flow_history.c.kind, flow_history.c.comment)
                              .where(flow_history.c.kind == "actions_failed")).all()
    assert len(failed) == 1 and failed[0].comment
    # the job keeps failing, visibly, until the step is runnable; then it moves the instance on
    jobs.run_due(jimu)
    with jimu.read() as conn:
        job = conn.execute(sa.select(jobs.db.jobs).where(jobs.db.jobs.c.kind == "flow.actions")).mappings().one()
    assert job["status"] == "pending" and job["last_error"]
    assert job["payload"]["actions"] == [GRADE, bad]   # the compiled step's actions, kept as JSON for the retry
    with jimu.begin() as conn:
        conn.execute(sa.update(jobs.db.jobs).where(jobs.db.jobs.c.id == job["id"]).values(
            payload={**job["payload"], "actions": [GRADE]}, run_at=jimu.now()))
    jobs.run_due(jimu)
    assert [t["node_id"] for t in tasks(jimu)] == ["manager"]
    assert get(jimu, "采购申请", rec["id"])["状态"] == "待审批"
    assert instances(jimu)[0]["state"]["actions"] == {}


def test_a_loop_of_automatic_steps_is_stopped(jimu, client):
    loop = {"key": "loop", "version": 1, "form": "采购申请", "label": "Loop",
            "nodes": [n("s", "start"), n("a", "automatic", actions=[]), n("g", "exclusive_gateway"), n("end", "end")],
            "edges": [e("s", "a"), e("a", "g"), e("g", "a", condition="true"), e("g", "end", default=True)]}
    buyer = install(jimu, loop)
    r = client.post(URL, json={"物品": "纸"}, headers=buyer)
    assert r.status_code >= 400 and r.get_json()["error"]["code"] == "flow.runaway"
    with jimu.read() as conn:   # all or nothing: the record was not kept either
        assert conn.execute(sa.select(sa.func.count()).select_from(jimu.catalog.form("采购申请").table)).scalar() == 0


def test_an_automatic_step_builds_its_actions_once_and_runs_them_on_every_record(jimu, client, monkeypatch):
    from runtime.rules import runner
    built, real = [], runner.build_actions
    monkeypatch.setattr(runner, "build_actions", lambda *a, **k: built.append(a[0]) or real(*a, **k))
    buyer = install(jimu, approval_flow())
    big = request(client, buyer, "60000")
    small = request(client, buyer, "20000")
    assert len(built) == 1   # the configuration is checked once per catalogue revision, not per run
    assert get(jimu, "采购申请", big["id"])["状态"] == "待审批"
    assert get(jimu, "采购申请", small["id"])["状态"] == "已批准"
