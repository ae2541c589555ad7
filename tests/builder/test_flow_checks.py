"""The flow engine's checks reach the builder with JSON pointers: validate lists them (and the
warnings) for the designer to mark on the diagram, publish refuses a flow with an unreachable
node, node positions survive publishing and export, and the engine ignores them."""
import copy

import pytest

from apps import compile_package
from tests.builder.test_api import _with_builder_role, login
from tests.conftest import install_package, make_user
from tests.sample_package import package


def _errors(pkg):
    result = compile_package(pkg)
    return result if isinstance(result, list) else []


def _flow(**extra):
    flow = {"key": "跟进", "version": 1, "form": "客户", "label": {"zh-CN": "跟进", "en": "Follow-up"},
            "nodes": [{"id": "start", "type": "start", "position": {"x": 40, "y": 100}},
                      {"id": "gw", "type": "exclusive_gateway", "position": {"x": 200, "y": 100}},
                      {"id": "vip", "type": "user_task", "config": {"assignee": {"kind": "role", "value": "sales"}},
                       "position": {"x": 360, "y": 40}},
                      {"id": "rest", "type": "user_task", "config": {"assignee": {"kind": "group", "value": "east"}},
                       "position": {"x": 360, "y": 180}},
                      {"id": "end", "type": "end", "position": {"x": 560, "y": 100}}],
            "edges": [{"id": "e1", "from": "start", "to": "gw"},
                      {"id": "e2", "from": "gw", "to": "vip", "condition": "等级 > 3"},
                      {"id": "e3", "from": "gw", "to": "rest", "default": True},
                      {"id": "e4", "from": "vip", "to": "end"}, {"id": "e5", "from": "rest", "to": "end"}]}
    flow.update(extra)
    return flow


@pytest.fixture
def builder(jimu, client):
    install_package(jimu, _with_builder_role(package()))
    make_user(jimu, "bea", roles=["designer"])
    return login(client, "bea")


def _draft_with(client, flow):
    draft = client.get("/builder/api/apps/crm/draft").get_json()
    pkg = draft["package"]
    pkg["flows"] = [flow]
    saved = client.put("/builder/api/apps/crm/draft", json={"package": pkg, "revision": draft["revision"]})
    assert saved.status_code == 200, saved.get_json()
    return saved.get_json()


def test_pointers_name_the_node_or_edge_and_its_property():
    flow = _flow()
    flow["nodes"].append({"id": "orphan", "type": "user_task", "position": {"x": 360, "y": 300}})
    flow["edges"].append({"id": "e6", "from": "orphan", "to": "end"})
    del flow["edges"][1]["condition"]                        # gw → vip: no condition, not default
    flow["nodes"][2]["config"]["assignee"]["kind"] = "nobody"
    pkg = package()
    pkg["flows"] = [flow]
    errors = {(e["code"], e["pointer"]) for e in _errors(pkg)}
    assert ("flow.bad_config", "/flows/0/nodes/2/config/assignee/kind") in errors
    flow["nodes"][2]["config"]["assignee"]["kind"] = "role"
    errors = {(e["code"], e["pointer"]) for e in _errors(pkg)}
    assert ("flow.unreachable", "/flows/0/nodes/5") in errors
    assert ("flow.missing_condition", "/flows/0/edges/1/condition") in errors
    # a dangling edge is listed once, where the package checks put it
    flow["edges"].append({"id": "e7", "from": "gw", "to": "nowhere"})
    dangling = [e["pointer"] for e in _errors(pkg) if e["code"] == "flow.dangling_edge"]
    assert dangling == ["/flows/0/edges/6/to"]
    flow["edges"].pop()
    # nodes keyed by id point by id
    keyed = copy.deepcopy(flow)
    keyed["nodes"] = {n["id"]: {k: v for k, v in n.items() if k != "id"} for n in flow["nodes"]}
    pkg["flows"] = [keyed]
    assert ("flow.unreachable", "/flows/0/nodes/orphan") in {(e["code"], e["pointer"])
                                                             for e in _errors(pkg)}


def test_an_edge_condition_may_only_name_fields_of_the_flows_form():
    flow = _flow()
    flow["edges"][1]["condition"] = "级别 > 3"             # 客户 has 等级, not 级别
    pkg = package()
    pkg["flows"] = [flow]
    (error,) = [e for e in _errors(pkg) if e["pointer"].startswith("/flows/")]
    assert (error["code"], error["pointer"], error["name"], error["edge"]) == \
        ("expr.unknown_name", "/flows/0/edges/1/condition", "级别", "e2")
    flow["edges"][1]["condition"] = "等级 > 3 and created_at != null"
    assert _errors(pkg) == []


def test_validate_returns_errors_and_warnings_with_pointers(builder):
    flow = _flow()
    flow["edges"][2]["default"] = False
    flow["edges"][2]["condition"] = "等级 <= 3"
    _draft_with(builder, flow)
    body = builder.post("/builder/api/apps/crm/draft/validate", json={}).get_json()
    assert body["ok"] is True and body["errors"] == []
    assert [(w["code"], w["pointer"]) for w in body["warnings"]] == [("flow.no_default_edge", "/flows/0/nodes/1")]
    flow["nodes"].append({"id": "orphan", "type": "end"})
    body = builder.post("/builder/api/apps/crm/draft/validate",
                        json={"package": {**builder.get("/builder/api/apps/crm/draft").get_json()["package"],
                                          "flows": [flow]}}).get_json()
    assert body["ok"] is False
    assert {(e["code"], e["pointer"]) for e in body["errors"]} == \
        {("flow.unreachable", "/flows/0/nodes/5"), ("flow.incoming_edges", "/flows/0/nodes/5")}


def test_publish_refuses_an_unreachable_node_and_names_it(builder, jimu):
    flow = _flow()
    flow["nodes"].append({"id": "orphan", "type": "user_task", "position": {"x": 360, "y": 300}})
    flow["edges"].append({"id": "e6", "from": "orphan", "to": "end"})
    draft = _draft_with(builder, flow)
    resp = builder.post("/builder/api/apps/crm/publish", json={"revision": draft["revision"]})
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["code"] == "builder.draft_invalid"
    assert ("flow.unreachable", "orphan", "/flows/0/nodes/5") in \
        [(e["code"], e.get("node"), e["pointer"]) for e in error["errors"]]
    from runtime.installer import installed_package
    with jimu.read() as conn:
        assert installed_package(conn, "crm")["app"]["version"] == "1.0.0"   # nothing installed


def test_positions_survive_publish_and_export_and_the_engine_ignores_them(builder, jimu):
    from engines.flow import compile_flow
    flow = _flow()
    without = copy.deepcopy(flow)
    for node in without["nodes"]:
        node.pop("position")
    assert compile_flow(flow).nodes.keys() == compile_flow(without).nodes.keys()
    assert [e.target for e in compile_flow(flow).nodes["gw"].outgoing] == \
        [e.target for e in compile_flow(without).nodes["gw"].outgoing]
    draft = _draft_with(builder, flow)
    assert builder.post("/builder/api/apps/crm/publish", json={"revision": draft["revision"]}).status_code == 201
    exported = builder.get("/builder/api/apps/crm/export").get_json()
    assert exported["flows"][0]["nodes"][2]["position"] == {"x": 360, "y": 40}
    assert exported["flows"][0] == flow


def test_users_are_suggested_by_prefix_to_builders_only(builder, jimu, client):
    make_user(jimu, "lead_1")
    make_user(jimu, "lead%x")
    make_user(jimu, "ann")
    names = lambda q: [u["username"] for u in builder.get(f"/builder/api/users?q={q}").get_json()["users"]]
    assert names("lead") == ["lead%x", "lead_1"]
    assert names("lead%25") == ["lead%x"]                 # % and _ are literal, not wildcards
    assert names("lead_") == ["lead_1"]
    assert "ann" in names("") and "bea" in names("")
    client.post("/logout")
    make_user(jimu, "sam", roles=["sales"])
    login(client, "sam")
    assert client.get("/builder/api/users?q=a").status_code == 403
