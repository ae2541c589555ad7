"""Generic platform pieces grown for the customer-service package, tested on small neutral packages:
manual rules (a button / API call on one record), complete_task and reopen_flow actions, leads of the
groups named in a field, assignment into user and group fields, rules and flows writing read-only
fields, status links in mails, and flow steps answered from a record's private status page."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import api_token, install_package, make_user
from .flow_fixtures import create_ticket, package as flow_package, principal, setup_users, simple_flow, tasks
from .rules_helpers import create, firings, get, package, update


def manual_rule(**extra):
    rule = {"key": "to_kb", "label": {"zh-CN": "转为知识", "en": "To KB"}, "trigger": {"type": "manual"},
            "condition": {"field": "状态", "op": "eq", "value": "已解决"},
            "actions": [{"type": "create_record", "form": "知识库",
                         "mapping": {"标题": {"expr": "标题"}, "来源": {"expr": "id"}}}]}
    rule.update(extra)
    return rule


def test_a_manual_rule_never_fires_on_writes_and_runs_on_request(jimu, client):
    data = package([manual_rule()])
    data["roles"] = [{"key": "staff", "version": 1, "label": "Staff",
                      "permissions": {"工单": ["read", "update"], "知识库": ["read"]}},
                     {"key": "viewer", "version": 1, "label": "Viewer", "permissions": {"工单": ["read"]}}]
    install_package(jimu, data)
    staff = {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, 'sam', roles=['staff']))}"}
    viewer = {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, 'val', roles=['viewer']))}"}
    rec = create(jimu, "工单", {"标题": "打印机卡纸", "状态": "处理中"})
    update(jimu, "工单", rec["id"], {"状态": "已解决"})
    assert firings(jimu, "to_kb") == []
    url = f"/api/v1/forms/工单/records/{rec['id']}/run/to_kb"
    assert client.post(url, headers=viewer).status_code == 403
    r = client.post(url, headers=staff)
    assert r.status_code == 200, r.get_json()
    (made,) = r.get_json()["records"]
    assert made["form"] == "知识库" and get(jimu, "知识库", made["id"])["来源"] == rec["id"]
    (log,) = firings(jimu, "to_kb")
    assert log["event"] == "record.manual" and log["matched"]
    update(jimu, "工单", rec["id"], {"状态": "处理中"})
    r = client.post(url, headers=staff)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "rule.not_applicable"
    assert client.post(f"/api/v1/forms/工单/records/{rec['id']}/run/nope", headers=staff).status_code == 404


def test_group_lead_fields_reach_the_lead_of_the_group_a_record_names(jimu):
    from runtime.recipients import resolve_users
    lead = make_user(jimu, "lily")
    install_package(jimu, package([], groups=[{"key": "desk", "label": "Desk", "members": [], "lead": "lily"}]))
    with jimu.read() as conn:
        gid = conn.execute(sa.text("select id from jimu_groups where key = 'desk'")).scalar()
        assert resolve_users(conn, {"group_lead_fields": ["组"]}, {"组": "desk"}) == [lead]
        assert resolve_users(conn, {"group_lead_fields": ["组"]}, {"组": gid}) == [lead]  # a group field: its id
        assert resolve_users(conn, {"group_lead_fields": ["组"]}, {"组": None}) == []


def test_assign_writes_ids_into_user_and_group_fields(jimu):
    members = [make_user(jimu, u) for u in ("amy", "abe")]
    data = package([{"key": "route", "trigger": {"type": "record_created"}, "actions": [
        {"type": "assign", "field": "who", "strategy": "round_robin", "group": "desk", "group_field": "team"}]}],
        groups=[{"key": "desk", "label": "Desk", "members": ["amy", "abe"]}])
    data["forms"][0]["fields"] += [{"key": "who", "label": "Who", "widget": "user"},
                                   {"key": "team", "label": "Team", "widget": "group"}]
    install_package(jimu, data)
    first, second = (create(jimu, "工单", {"标题": "x"}) for _ in range(2))
    with jimu.read() as conn:
        gid = conn.execute(sa.text("select id from jimu_groups where key = 'desk'")).scalar()
    assert (get(jimu, "工单", first["id"])["team"], get(jimu, "工单", second["id"])["team"]) == (gid, gid)
    assert sorted([get(jimu, "工单", first["id"])["who"], get(jimu, "工单", second["id"])["who"]]) == sorted(members)


def test_rules_write_read_only_fields_that_people_cannot(jimu, client, admin_headers):
    data = package([{"key": "stamp", "trigger": {"type": "field_changed", "field": "状态", "to": "已解决"},
                     "actions": [{"type": "set_fields", "values": {"盖章": "已盖章"}}]}])
    data["forms"][0]["fields"].append({"key": "盖章", "label": "Stamp", "widget": "text", "read_only": True})
    install_package(jimu, data)
    rec = create(jimu, "工单", {"标题": "x"})
    r = client.patch(f"/api/v1/forms/工单/records/{rec['id']}", headers=admin_headers, json={"盖章": "伪造"})
    assert r.status_code == 200 and get(jimu, "工单", rec["id"])["盖章"] is None
    update(jimu, "工单", rec["id"], {"状态": "已解决"})
    assert get(jimu, "工单", rec["id"])["盖章"] == "已盖章"


def test_complete_task_and_reopen_flow_actions(jimu):
    users = setup_users(jimu)
    data = flow_package([simple_flow()])
    data["flows"][0]["reopen_to"] = "work"
    data["rules"] = [
        {"key": "done_by_field", "version": 1, "label": "done", "form": "ticket",
         "trigger": {"type": "field_changed", "field": "note", "to": "done"},
         "actions": [{"type": "complete_task", "flow": "handle", "task": "work", "outcome": "solved",
                      "if_none": "skip"}]},
        {"key": "again", "version": 1, "label": "again", "form": "ticket",
         "trigger": {"type": "field_changed", "field": "note", "to": "again"},
         "actions": [{"type": "reopen_flow", "flow": "handle"}]}]
    install_package(jimu, data)
    rec = create_ticket(jimu, users["admin"])
    from runtime.records import Records

    def note(value):
        with jimu.begin() as conn:
            Records(jimu, conn, principal(jimu, users["admin"])).update("ticket", rec["id"], {"note": value})
    note("done")
    assert [(t["node_id"], t["status"], t["outcome"]) for t in tasks(jimu)] == [("work", "completed", "solved")]
    note("x")
    note("done")  # nothing open any more: skipped, not an error
    assert [f["errors"] for f in firings(jimu, "done_by_field")] == [None, None]
    note("again")
    assert [(t["node_id"], t["status"]) for t in tasks(jimu)][-1] == ("work", "open")
    note("x")
    note("again")  # the instance runs: reopen_flow without if_none is an error, logged, the write stays
    assert firings(jimu, "again")[-1]["errors"][0]["code"] == "rule.no_ended_flow"


def test_public_outcomes_must_be_outcomes_of_the_node():
    from engines.flow import FlowCheckError, compile_flow
    flow = simple_flow(public_outcomes=["solved", "nope"])
    with pytest.raises(FlowCheckError) as exc:
        compile_flow(flow)
    assert [p["code"] for p in exc.value.errors] == ["flow.unknown_public_outcome"]
    assert compile_flow(simple_flow(public_outcomes=["solved"])).nodes["work"].behaviour.public_outcomes == ("solved",)


def test_a_status_page_answers_only_public_outcomes_of_open_tasks(app, jimu, client):
    users = setup_users(jimu)
    data = flow_package([simple_flow(public_outcomes=["solved"])])
    data["forms"][0]["public"] = {"status": {"fields": ["title"]}}
    install_package(jimu, data)
    rec = create_ticket(jimu, users["admin"], title="灯不亮")
    plain = create_ticket(jimu, users["admin"], title="另一个")
    from runtime.public import record_token
    with app.test_request_context():
        url = f"/p/ticket/s/{record_token('ticket', rec['id'])}"
    import re
    html = client.get(url).get_data(as_text=True)
    assert 'data-outcome="solved"' in html and 'data-outcome="unsolved"' not in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    (task,) = tasks(jimu, record_id=rec["id"])
    (other,) = tasks(jimu, record_id=plain["id"])
    answer = lambda tid, outcome: client.post(f"{url}/tasks/{tid}",  # noqa: E731
                                              data={"csrf_token": token, "outcome": outcome}).status_code
    assert answer(task["id"], "unsolved") == 403
    assert answer(other["id"], "solved") == 409
    assert answer(task["id"], "solved") == 302
    (done,) = tasks(jimu, record_id=rec["id"])
    assert (done["status"], done["outcome"], done["closed_by"]) == ("completed", "solved", None)


def test_send_survey_can_link_the_status_page(jimu, monkeypatch):
    install_package(jimu, package([{"key": "tell", "trigger": {"type": "record_created"}, "actions": [
        {"type": "send_survey", "page": "status", "to": {"email_fields": ["邮箱"]}, "subject": "进度",
         "body": "查看：{{ status_link }} / {{ survey_link }}"}]}]))
    create(jimu, "工单", {"标题": "x", "邮箱": "a@example.com"})
    from tests.runtime.rules_helpers import deliver_mails
    (mail,) = deliver_mails(jimu, monkeypatch)
    from urllib.parse import quote
    link = f"/p/{quote('工单')}/s/"
    assert mail["body"].count(link) == 2 and mail["to"] == ["a@example.com"]
    from engines.rule import RuleInvalid, compile_rule
    with pytest.raises(RuleInvalid):
        compile_rule({"key": "k", "form": "f", "trigger": {"type": "record_created"},
                      "actions": [{"type": "send_survey", "to": {"emails": ["a@example.com"]}}]})


def test_a_task_assignee_falls_back_when_it_resolves_to_nobody(jimu):
    users = setup_users(jimu)
    flow = simple_flow(assignee={"kind": "field", "value": "owner", "fallback": {"kind": "group", "value": "l1"}})
    install_package(jimu, flow_package([flow]))
    create_ticket(jimu, users["admin"], owner="ben")
    create_ticket(jimu, users["admin"])  # no owner: the group's pool
    first, second = tasks(jimu)
    assert (first["assignee_user_id"], first["assignee_group"]) == (users["ben"], None)
    assert (second["assignee_user_id"], second["assignee_group"], second["assignee_kind"]) == (None, "l1", "group")
    no_fallback = simple_flow(key="strict", assignee={"kind": "field", "value": "owner"})
    install_package(jimu, flow_package([no_fallback], version="1.0.1"))
    from engines.flow import FlowError
    with pytest.raises(FlowError) as exc:
        create_ticket(jimu, users["admin"])
    assert exc.value.code == "flow.no_assignee"


def test_links_in_mails_use_the_base_url_from_the_environment_or_serve(tmp_path, monkeypatch):
    from runtime.app import create_app
    from runtime.rules.survey import status_link
    monkeypatch.setenv("JIMU_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("JIMU_BASE_URL", "https://desk.example.com")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite'}", "SECRET_KEY": "s"})
    try:
        assert status_link(app.extensions["jimu"], "表", 3).startswith("https://desk.example.com/p/")
    finally:
        app.extensions["jimu"].dispose()
    monkeypatch.delenv("JIMU_BASE_URL")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'b.sqlite'}", "SECRET_KEY": "s"})
    served = {}
    monkeypatch.setattr("werkzeug.serving.run_simple", lambda host, port, a, **kw: served.update(host=host, port=port))
    try:
        result = app.test_cli_runner().invoke(args=["serve", "--host", "0.0.0.0", "--port", "5055", "--no-worker"])
        assert result.exit_code == 0, result.output
        assert served == {"host": "0.0.0.0", "port": 5055}
        assert status_link(app.extensions["jimu"], "表", 3).startswith("http://127.0.0.1:5055/p/")
    finally:
        app.extensions["jimu"].dispose()


def test_an_sla_level_is_met_when_its_unless_holds_at_the_deadline(jimu, clock):
    from runtime import jobs
    users = setup_users(jimu)
    flow = simple_flow(sla=[{"after": "PT2H", "action": "notify", "unless": "not is_empty(note)"}])
    install_package(jimu, flow_package([flow]))
    answered = create_ticket(jimu, users["admin"], note="已回复")
    late = create_ticket(jimu, users["admin"])
    while jobs.run_due(jimu):  # the new tasks' notices
        pass
    clock.advance(hours=2)
    assert jobs.run_due(jimu) == 2
    by_record = {t["record_id"]: t for t in tasks(jimu)}
    assert by_record[answered["id"]]["due_at"] is None and by_record[answered["id"]]["status"] == "open"
    assert by_record[late["id"]]["due_at"] == clock.now
    with jimu.read() as conn:
        escalated = [r.record_id for r in conn.execute(sa.text(
            "select record_id from jimu_events where kind = 'flow.escalated'"))]
    assert escalated == [late["id"]]
    from engines.flow import FlowCheckError, compile_flow
    with pytest.raises(FlowCheckError):
        compile_flow(simple_flow(sla={"after": "PT2H", "unless": "note =="}))
