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
    assert "7 forms, 1 flows, 23 rules, 12 reports" in result.output
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
    assert [f["key"] for f in first["flows"]] == ["ticket_flow"] and len(first["rules"]) == len(load()["rules"])
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
