"""The OpenAPI document is a contract: real records, pages and bulk answers validate against the
schemas it declares (a client generated from it must accept what the server sends).

An inventory package (serial, formula, multi-value, sub-table, money, read-only status) is
installed; records are written over HTTP as an integrator would and every answer is checked
with jsonschema against the document the same caller reads.
"""
from __future__ import annotations

import re

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.conftest import api_token, install_package, make_user
from tests.runtime.inventory_package import inventory_package

BASE = "/api/v1/forms/入库单/records"


@pytest.fixture
def keeper(jimu):
    install_package(jimu, inventory_package())
    return {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, 'kim', roles=['keeper']))}"}


def _validator(doc, schema):
    """A validator of ``schema`` resolving ``#/components/...`` inside the document."""
    registry = Registry().with_resource("urn:doc", Resource.from_contents(doc, default_specification=DRAFT202012))

    def absolute(node):
        if isinstance(node, dict):
            return {k: "urn:doc" + v if k == "$ref" else absolute(v) for k, v in node.items()}
        return [absolute(v) for v in node] if isinstance(node, list) else node
    return jsonschema.Draft202012Validator(absolute(schema), registry=registry)


def _response_schema(doc, path, method, status):
    return doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]


def _check(doc, path, method, status, body):
    errors = list(_validator(doc, _response_schema(doc, path, method, status)).iter_errors(body))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def test_real_records_validate_against_their_own_schemas(client, keeper):
    doc = client.get("/api/v1/openapi.json", headers=keeper).get_json()
    full = client.post(BASE, headers=keeper, json={
        "物料": "螺栓 M8", "数量": 12, "单价": "3.50", "标签": ["易碎", "冷藏"], "到货日": "2026-03-01",
        "明细": [{"批号": "B-1", "件数": 5}, {"批号": "B-2", "件数": 7}]})
    assert full.status_code == 201, full.get_json()
    bare = client.post(BASE, headers=keeper, json={"物料": "垫片"})  # every optional field empty (null)
    assert bare.status_code == 201, bare.get_json()
    record = full.get_json()
    assert record["单号"].startswith("RK-") and record["金额"] is not None  # serial and formula are sent
    for created in (full.get_json(), bare.get_json()):
        _check(doc, "/forms/入库单/records", "post", "201", created)
        got = client.get(f"{BASE}/{created['id']}", headers=keeper)
        _check(doc, "/forms/入库单/records/{id}", "get", "200", got.get_json())
    page = client.get(f"{BASE}?per_page=1", headers=keeper).get_json()
    assert page["next"] and page["total"] == 2
    _check(doc, "/forms/入库单/records", "get", "200", page)
    patched = client.patch(f"{BASE}/{record['id']}", headers=keeper, json={"数量": 3})
    assert patched.status_code == 200, patched.get_json()
    _check(doc, "/forms/入库单/records/{id}", "patch", "200", patched.get_json())
    bulk = client.post(BASE, headers=keeper, json=[{"物料": "a"}, {"物料": "b"}])
    assert bulk.status_code == 201
    _check(doc, "/forms/入库单/records", "post", "201", bulk.get_json())


def test_models_are_named_after_app_and_form_and_patch_requires_nothing(client, keeper):
    doc = client.get("/api/v1/openapi.json", headers=keeper).get_json()
    schemas = doc["components"]["schemas"]
    assert {"inventory.入库单.Record", "inventory.入库单.Create", "inventory.入库单.Update"} <= set(schemas)
    assert not any(re.fullmatch(r"Form\d+", k) for k in schemas)  # no numbered stand-ins (Form0…Form6)
    assert schemas["inventory.入库单.Create"]["required"] == ["物料"]
    assert "required" not in schemas["inventory.入库单.Update"]
    patch = doc["paths"]["/forms/入库单/records/{id}"]["patch"]["requestBody"]["content"]["application/json"]
    assert patch["schema"] == {"$ref": "#/components/schemas/inventory.入库单.Update"}
    # a PATCH of one field is valid against the document, and the server takes it
    _validator(doc, patch["schema"]).validate({"数量": 1})
    record = schemas["inventory.入库单.Record"]["properties"]
    assert all(record[k].get("readOnly") for k in ("id", "row_version", "单号", "金额", "状态"))
    assert not record["物料"].get("readOnly")
    assert doc["components"]["securitySchemes"]["bearer"] == {
        **doc["components"]["securitySchemes"]["bearer"], "type": "http", "scheme": "bearer"}
    listing = _response_schema(doc, "/forms/入库单/records", "get", "200")
    assert set(listing["required"]) == {"records", "total", "total_capped", "page", "per_page", "next"}


def test_the_declared_error_statuses_are_the_ones_sent(client, keeper):
    """Each status the record routes send for a client mistake is declared on that operation."""
    doc = client.get("/api/v1/openapi.json", headers=keeper).get_json()
    rid = client.post(BASE, headers=keeper, json={"物料": "x"}).get_json()["id"]
    item = f"{BASE}/{rid}"
    cases = [
        ("/forms/入库单/records", "get", client.get(f"{BASE}?per_page=501", headers=keeper)),
        ("/forms/入库单/records", "get", client.get(f"{BASE}?per_pgae=2", headers=keeper)),
        ("/forms/入库单/records", "get", client.get(BASE, headers={**keeper, "Accept": "text/csv"})),
        ("/forms/入库单/records", "post", client.post(BASE, headers=keeper, data="x", content_type="text/plain")),
        ("/forms/入库单/records/{id}", "patch",
         client.patch(item, headers={**keeper, "If-Match": '"99"'}, json={"数量": 1})),
        ("/forms/入库单/records/{id}", "patch", client.patch(item, headers=keeper, json={"row_version": 99})),
        ("/forms/入库单/records/{id}", "get", client.get(f"{BASE}/{rid + 1000}", headers=keeper)),
    ]
    for path, method, resp in cases:
        assert 400 <= resp.status_code < 500
        declared = doc["paths"][path][method]["responses"]
        assert str(resp.status_code) in declared, (method, path, resp.status_code)
        _check(doc, path, method, str(resp.status_code), resp.get_json()) if "content" in declared.get(
            str(resp.status_code), {}) else None


@pytest.mark.parametrize("method", ["patch", "put", "delete", "get"])
def test_an_id_beyond_64_bits_is_a_404_for_every_method(client, keeper, method):
    """Not a 405 naming the methods of the id's route: the id names nothing."""
    for rid in (2**63, 10**22):
        resp = getattr(client, method)(f"{BASE}/{rid}", headers=keeper, json={"数量": 1})
        assert resp.status_code == 404, (rid, resp.status_code, resp.get_json())
    assert client.patch(f"{BASE}/{2**63 - 1}", headers=keeper, json={"数量": 1}).status_code == 404


def test_every_route_of_the_api_is_in_the_document(app, client, keeper):
    """Apps, tasks, flows, reports, rules, users, hooks, files: each route with its path and query
    parameters and its coded errors, not only the record routes."""
    doc = client.get("/api/v1/openapi.json", headers=keeper).get_json()
    documented = {(path, method) for path, item in doc["paths"].items() for method in item if method != "parameters"}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len("/api/v1"):])
        if path.startswith("/forms/{form}/records") and path.count("{") <= 2 and path.endswith(("records", "{rid}", "batch-delete")):
            continue  # per form, under the form's key (the caller's own verbs)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, (path, method)
            op = doc["paths"][path][method.lower()]
            assert {"400", "401", "403", "404"} <= set(op["responses"])
    tasks = doc["paths"]["/tasks/{task_id}/complete"]["post"]
    assert tasks["parameters"][0] == {"name": "task_id", "in": "path", "required": True,
                                      "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}}


def test_every_page_the_document_allows_is_served(client, keeper):
    """The document's page bound holds for any per_page: its largest page with the largest per_page
    is an (empty) page, not a 400."""
    doc = client.get("/api/v1/openapi.json", headers=keeper).get_json()
    page = doc["components"]["parameters"]["page"]["schema"]["maximum"]
    per_page = doc["components"]["parameters"]["per_page"]["schema"]["maximum"]
    resp = client.get(f"{BASE}?page={page}&per_page={per_page}", headers=keeper)
    assert resp.status_code == 200 and resp.get_json()["records"] == []
