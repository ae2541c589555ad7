"""Flow API: my tasks with counts, task detail with hidden fields removed, completion with
server-side field permissions, instance detail with history, start/cancel/reopen by hand."""
import pytest

from tests.conftest import api_token

from .flow_fixtures import create_ticket, install, setup_users, simple_flow


@pytest.fixture
def users(jimu):
    return setup_users(jimu)


def headers(jimu, uid):
    return {"Authorization": f"Bearer {api_token(jimu, uid)}"}


def test_inbox_detail_and_complete_with_field_permissions(jimu, client, users, clock):
    install(jimu, [simple_flow(fields={"title": "visible", "note": "hidden", "reply": "required"},
                               sla={"after": "PT2H"})])
    rec = create_ticket(jimu, users["admin"], title="vpn down", note="internal only")
    create_ticket(jimu, users["admin"], title="second")
    ann, ben = headers(jimu, users["ann"]), headers(jimu, users["ben"])
    inbox = client.get("/api/v1/tasks", headers=ann).get_json()
    assert inbox["counts"] == {"open": 2, "overdue": 0}
    assert client.get("/api/v1/tasks", headers=ben).get_json()["counts"]["open"] == 0
    clock.advance(hours=3)
    inbox = client.get("/api/v1/tasks", headers=ann).get_json()
    assert inbox["counts"] == {"open": 2, "overdue": 2}
    task = next(t for t in inbox["tasks"] if t["record_id"] == rec["id"])
    detail = client.get(f"/api/v1/tasks/{task['id']}", headers=ann).get_json()
    assert detail["record"]["title"] == "vpn down" and "note" not in detail["record"]
    r = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=ben, json={"outcome": "solved"})
    assert r.status_code == 403
    r = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=ann, json={"outcome": "solved"})
    assert r.status_code == 422 and r.get_json()["error"]["errors"][0]["field"] == "reply"
    r = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=ann,
                    json={"outcome": "solved", "values": {"reply": "reset token", "title": "changed", "note": "x"},
                          "comment": "done"})
    assert r.status_code == 200 and r.get_json() == {"instance_status": "completed", "outcome": "solved"}
    rec_after = client.get(f"/api/v1/forms/ticket/records/{rec['id']}", headers=headers(jimu, users["admin"])).get_json()
    assert (rec_after["title"], rec_after["reply"], rec_after["note"]) == ("vpn down", "reset token", "internal only")
    r = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=ann, json={"outcome": "solved"})
    assert r.status_code == 409
    flows = client.get(f"/api/v1/forms/ticket/records/{rec['id']}/flows",
                       headers=headers(jimu, users["admin"])).get_json()["instances"]
    (inst,) = flows
    assert inst["status"] == "completed" and inst["version"] == 1
    assert [h["kind"] for h in inst["history"]] == ["started", "task_completed", "ended"]
    assert inst["history"][1]["comment"] == "done"


def test_start_cancel_reopen_by_hand_and_permissions(jimu, client, users):
    install(jimu, [dict(simple_flow(), start="manual")])
    rec = create_ticket(jimu, users["admin"])
    admin = headers(jimu, users["admin"])
    r = client.post("/api/v1/flows/handle/instances", headers=headers(jimu, users["cat"]), json={"record_id": rec["id"]})
    assert r.status_code == 403
    r = client.post("/api/v1/flows/handle/instances", headers=admin, json={"record_id": rec["id"]})
    assert r.status_code == 201
    inst = r.get_json()
    assert inst["status"] == "running" and inst["current"] == ["work"]
    r = client.post(f"/api/v1/flow-instances/{inst['id']}/cancel", headers=admin, json={"comment": "dup"})
    assert r.get_json()["status"] == "cancelled"
    r = client.post(f"/api/v1/flow-instances/{inst['id']}/reopen", headers=admin, json={})
    assert r.get_json()["status"] == "running" and r.get_json()["current"] == ["work"]
    detail = client.get(f"/api/v1/flow-instances/{inst['id']}", headers=admin).get_json()
    assert [h["kind"] for h in detail["history"]] == ["started", "cancelled", "ended", "reopened"]
    assert client.get("/api/v1/tasks").status_code == 401


def test_delegate_and_return_through_the_api(jimu, client, users):
    from .flow_fixtures import e, n
    flow = {"key": "review", "version": 1, "form": "ticket",
            "nodes": [n("s", "start"), n("draft", "user_task", assignee={"kind": "user", "value": "ann"}),
                      n("check", "approval", assignee={"kind": "user", "value": "ann"}), n("end", "end")],
            "edges": [e("s", "draft"), e("draft", "check"), e("check", "end", outcome="approve")]}
    install(jimu, [flow])
    create_ticket(jimu, users["admin"])
    ann = headers(jimu, users["ann"])
    (draft,) = client.get("/api/v1/tasks", headers=ann).get_json()["tasks"]
    assert client.post(f"/api/v1/tasks/{draft['id']}/complete", headers=ann, json={}).status_code == 200
    (check,) = client.get("/api/v1/tasks", headers=ann).get_json()["tasks"]
    assert client.get(f"/api/v1/tasks/{check['id']}", headers=ann).get_json()["return_to"] == ["draft"]
    assert client.post(f"/api/v1/tasks/{check['id']}/return", headers=ann, json={"to": "draft"}).status_code == 200
    (again,) = client.get("/api/v1/tasks", headers=ann).get_json()["tasks"]
    assert again["node_id"] == "draft"
    r = client.post(f"/api/v1/tasks/{again['id']}/delegate", headers=ann, json={"user": "ben"})
    assert r.status_code == 200
    assert client.get("/api/v1/tasks", headers=ann).get_json()["tasks"] == []
    assert len(client.get("/api/v1/tasks", headers=headers(jimu, users["ben"])).get_json()["tasks"]) == 1
