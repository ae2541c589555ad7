"""Every route of /api/v1 in the OpenAPI document with its models, and its query parameters enforced:
a parameter a route does not declare is a 400 ``request.unknown_param`` on every route (a typo such as
``per_pgae`` never silently gives the default), and the document lists exactly the declared ones.
The app under test carries the inventory package (not the helpdesk)."""
from __future__ import annotations

import re

import pytest

from tests.conftest import install_package
from tests.runtime.inventory_package import inventory_package

CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


@pytest.fixture
def doc(client, jimu, admin_headers):
    install_package(jimu, inventory_package())
    return client.get("/api/v1/openapi.json", headers=admin_headers).get_json()


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def test_every_route_refuses_an_unknown_query_parameter(app, client, admin_headers, doc):
    seen = 0
    for rule, method in _routes(app):
        url = CONVERTER.sub(lambda m: "1" if m[1] == "int" else "x", rule.rule)
        resp = client.open(f"{url}?per_pgae=10", method=method, headers=admin_headers, json={})
        assert resp.status_code == 400, (method, rule.rule, resp.status_code, resp.get_data()[:200])
        error = resp.get_json()["error"]
        assert error["code"] == "request.unknown_param" and error["param"] == "per_pgae", (method, rule.rule)
        seen += 1
    assert seen >= 50


def test_the_document_lists_every_route_with_its_parameters_and_models(app, doc):
    from runtime.api.models import ROUTES
    from runtime.api.util import declared_args
    ops = {(p, m): op for p, item in doc["paths"].items() for m, op in item.items() if m != "parameters"}
    schemas = doc["components"]["schemas"]
    for rule, method in _routes(app):
        path = CONVERTER.sub(lambda m: "{" + m[2] + "}", rule.rule[len("/api/v1"):])
        if "/forms/{form}/records" in path and path.count("/") <= 4:
            continue  # the per-form record routes: documented per form (test_openapi_contract)
        op = ops[(path, method.lower())]
        query = {p["name"] for p in op["parameters"] if p["in"] == "query"}
        assert query == set(declared_args(rule.endpoint)), (method, path)
        [(status, answer)] = [(s, a) for s, a in op["responses"].items() if s.startswith("2")]
        if status == "204":
            assert "content" not in answer, (method, path)
            continue
        [media] = answer["content"].values()
        ref = media["schema"].get("$ref")
        if ref is not None:  # a named model, present in the components
            assert ref.rsplit("/", 1)[1] in schemas, (method, path)
        assert rule.endpoint in ROUTES, f"{rule.endpoint}: add its Route to runtime/api/models.py"
        if ROUTES[rule.endpoint].body is not None:
            [content] = op["requestBody"]["content"].values()  # JSON, or multipart for spreadsheets
            body = content["schema"]["$ref"].rsplit("/", 1)[1]
            assert body in schemas, (method, path)
        elif getattr(app.view_functions[rule.endpoint], "openapi_body", None) is None:
            # a write that reads no body (mark read, run a rule, sync schedules, upload raw bytes)
            assert "requestBody" not in op and (method != "PATCH"), (method, path)


def test_record_models_carry_examples_and_links(doc):
    schemas = doc["components"]["schemas"]
    creates = [k for k in schemas if k.startswith("inventory.") and k.endswith(".Create")]
    assert creates
    for name in creates:
        from jsonschema import Draft202012Validator
        [example] = schemas[name]["examples"]
        assert Draft202012Validator(schemas[name]).is_valid(example), name
    [records] = [p for p in doc["paths"] if p.endswith("/records") and "{" not in p][:1]
    links = doc["paths"][records]["post"]["responses"]["201"]["links"]
    assert {"GetRecord", "UpdateRecord", "DeleteRecord"} <= set(links)
    assert links["UpdateRecord"]["parameters"] == {"id": "$response.body#/id", "header.If-Match": "$response.header.ETag"}
