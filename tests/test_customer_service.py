"""The customer-service package (examples/customer_service.json) installs and works through the API."""
import json
import re
from pathlib import Path

from tests.conftest import install_package

PACKAGE = Path(__file__).resolve().parent.parent / "examples" / "customer_service.json"


def load():
    return json.loads(PACKAGE.read_text(encoding="utf-8"))


def test_ticket_gets_a_serial_defaults_and_a_hidden_other_field(jimu, client, admin_headers):
    install_package(jimu, load())
    resp = client.post("/api/v1/forms/工单/records", headers=admin_headers, json={
        "标题": "发票开错了", "客户姓名": "张三", "问题类型": "发票", "问题详细描述": "抬头写错，需要重开",
        "其他类型说明": "不该保存"})
    assert resp.status_code == 201, resp.get_json()
    ticket = resp.get_json()
    assert re.fullmatch(r"GD-\d{8}-0001", ticket["工单编号"])
    assert ticket["状态"] == "新建" and ticket["紧急程度"] == "中" and ticket["其他类型说明"] is None
    second = client.post("/api/v1/forms/工单/records", headers=admin_headers, json={
        "标题": "服务器宕机", "客户姓名": "李四", "问题类型": "其他", "问题详细描述": "全部 502"}).get_json()
    assert second["error"]["errors"][0]["field"] == "其他类型说明"


def test_list_fields_must_name_fields(runner, tmp_path):
    bad = load()
    bad["forms"][1]["list_fields"].append("不存在")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["validate", str(path)])
    assert result.exit_code == 1 and "form.unknown_list_field" in result.output


def test_the_package_validates_with_its_flow_rules_reports_and_dashboard(runner):
    result = runner.invoke(args=["validate", str(PACKAGE)])
    assert result.exit_code == 0, result.output
    assert "10 forms, 2 flows, 27 rules, 14 reports" in result.output
    data = load()
    assert [d["key"] for d in data["dashboards"]] == ["service_overview"]
    assert {d["report"] for d in data["dashboards"][0]["charts"]} == {r["key"] for r in data["reports"]}
    assert {t["key"] for t in data["templates"]} >= {"ack", "sla_first_response", "verify", "csat"}


def test_a_broken_rule_is_reported_by_validate_with_its_pointer(runner, tmp_path):
    bad = load()
    bad["rules"][0]["actions"][0]["type"] = "no_such_action"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["validate", str(path)])
    assert result.exit_code == 1 and "/rules/0/actions/0" in result.output


def test_the_installed_package_exports_and_reimports_unchanged(jimu):
    from runtime.installer import export
    install_package(jimu, load())
    with jimu.read() as conn:
        first = export(conn, "customer_service")
    assert [f["key"] for f in first["flows"]] == ["ticket_flow", "followup_flow"] and len(first["rules"]) == len(load()["rules"])
    assert install_package(jimu, first).action == "unchanged"
    with jimu.read() as conn:
        assert export(conn, "customer_service") == first


def test_a_broken_flow_is_reported_by_validate_with_its_pointer(runner, tmp_path):
    bad = load()
    edges = bad["flows"][0]["edges"]
    i = next(i for i, e in enumerate(edges) if e["id"] == "e_diag_ok")
    edges[i]["outcome"] = "nope"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["validate", str(path)])
    assert result.exit_code == 1 and f"/flows/0/edges/{i}/outcome: [flow.unknown_outcome]" in result.output


def test_live_chat_of_the_desk_becomes_a_ticket(jimu, client):
    """The package's live chat (在线会话): a visitor from the published site writes, a first-line agent
    answers with a reply template and hands the chat over; the ticket carries the visitor and the
    transcript and starts the ticket process; an expert has no chat console."""
    from tests.conftest import api_token, make_user
    install_package(jimu, load())
    agent = {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, 'li', roles=['agent']))}"}
    expert = {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, 'zhao', roles=['expert']))}"}
    site = {"Origin": "https://www.example.com"}
    base = "/api/v1/chat/在线会话"
    started = client.post(f"{base}/conversations", headers=site,
                          json={"fields": {"访客姓名": "王芳", "邮箱": "wang@example.com"}, "text": "发票开错了"})
    assert started.status_code == 201, started.get_json()
    rid = started.get_json()["conversation"]["id"]
    assert client.get(f"{base}/queue", headers=expert).status_code == 403
    assert [c["title"] for c in client.get(f"{base}/queue", headers=agent).get_json()["conversations"]] == ["王芳"]
    sent = client.post(f"{base}/messages", headers=agent, json={"conversations": [rid], "text": "请提供订单号"})
    assert sent.status_code == 201
    made = client.post(f"{base}/conversations/{rid}/handover", headers=agent)
    assert made.status_code == 201, made.get_json()
    ticket = client.get(f"/api/v1/forms/工单/records/{made.get_json()['id']}", headers=agent).get_json()
    assert ticket["客户姓名"] == "王芳" and ticket["问题渠道"] == "官网"
    assert "发票开错了" in ticket["问题详细描述"] and "请提供订单号" in ticket["问题详细描述"]
    assert client.get(f"/api/v1/forms/在线会话/records/{rid}", headers=agent).get_json()["转工单"] == ticket["id"]
    assert client.post(f"{base}/conversations", headers={"Origin": "https://evil.example"},
                       json={"fields": {"访客姓名": "x"}}).status_code == 403
    # the widget names the desk's people 客服 (the package's chat.staff_label; the platform says 工作人员)
    text = client.get(f"{base}/settings?lang=zh-CN", headers=site).get_json()["text"]
    assert text["staff"] == "客服" and text["open"] == "在线咨询"
