"""The anonymous surface: the form list and the OpenAPI document need a login or a token and
describe only the forms the caller may use.

Two apps of different teams (purchasing, equipment loans) on one server; a requester who may only
create purchase orders sees that one form, with only the create operation, and nothing of the
loans app; an anonymous client gets 401 and no schema at all.
"""
from __future__ import annotations

import json

import pytest

from tests.builder.test_tenancy import loans, purchasing
from tests.conftest import api_token, install_package, make_user


@pytest.fixture
def two_apps(jimu):
    install_package(jimu, purchasing())
    install_package(jimu, loans())
    data = purchasing()
    data["app"]["version"] = "1.1.0"
    data["roles"].append({"key": "requester", "version": 1, "label": "Requester",
                          "permissions": {"采购单": ["create"]}})
    install_package(jimu, data)
    return jimu


def _form_paths(doc):
    """The per-form record paths of a document (the other routes are the same for every caller)."""
    return {k: v for k, v in doc["paths"].items() if k.startswith("/forms/") and not k.startswith("/forms/{")}


def _bearer(jimu, username, **kwargs):
    return {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, username, **kwargs))}"}


@pytest.mark.parametrize("path", ["/api/v1/forms", "/api/v1/openapi.json", "/api/v1/openapi.json?app=loans"])
def test_anonymous_callers_get_401_and_no_schema(client, two_apps, path):
    resp = client.get(path)
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "auth.required"
    text = resp.get_data(as_text=True)
    assert "采购单" not in text and "借用单" not in text and "供应商" not in text


def test_a_restricted_user_sees_only_the_forms_and_verbs_granted(client, two_apps):
    headers = _bearer(two_apps, "rita", roles=["requester"])
    forms = client.get("/api/v1/forms", headers=headers).get_json()["forms"]
    assert [(f["key"], f["app"], f["verbs"]) for f in forms] == [("采购单", "purchasing", ["create"])]
    assert [f["key"] for f in forms[0]["fields"]] == ["供应商", "金额", "申请人邮箱"]

    doc = client.get("/api/v1/openapi.json", headers=headers)
    assert doc.status_code == 200
    text = doc.get_data(as_text=True)
    assert "借用单" not in json.loads(text).get("paths", {}) and "借用人" not in text
    paths = _form_paths(doc.get_json())
    assert list(paths) == ["/forms/采购单/records"] and list(paths["/forms/采购单/records"]) == ["post"]
    # the one app's document is the same as the whole one
    assert client.get("/api/v1/openapi.json?app=purchasing", headers=headers).get_json() == doc.get_json()
    assert _form_paths(client.get("/api/v1/openapi.json?app=loans", headers=headers).get_json()) == {}


def test_a_user_without_any_role_sees_no_form(client, two_apps):
    headers = _bearer(two_apps, "nobody")
    assert client.get("/api/v1/forms", headers=headers).get_json()["forms"] == []
    assert _form_paths(client.get("/api/v1/openapi.json", headers=headers).get_json()) == {}


def test_the_document_stays_the_callers_size_as_other_apps_grow(client, two_apps):
    headers = _bearer(two_apps, "rita", roles=["requester"])
    before = client.get("/api/v1/openapi.json", headers=headers).get_data()
    big = loans("1.1.0")
    for i in range(20):
        big["forms"].append({"key": f"设备{i}", "version": 1, "label": f"Device {i}",
                             "fields": [{"key": f"字段{j}", "label": f"F{j}", "widget": "text"} for j in range(30)]})
    install_package(two_apps, big)
    after = client.get("/api/v1/openapi.json", headers=headers).get_data()
    # the routes every caller shares, plus this caller's one form
    shared = client.get("/api/v1/openapi.json", headers=_bearer(two_apps, "nobody")).get_data()
    assert after == before and len(after) < len(shared) + 8_000


def test_a_caller_who_sees_too_many_forms_is_asked_for_one_app(client, two_apps, monkeypatch):
    from runtime.api import openapi
    monkeypatch.setattr(openapi, "MAX_FORMS", 1)
    headers = _bearer(two_apps, "root", admin=True)
    resp = client.get("/api/v1/openapi.json", headers=headers)
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["code"] == "openapi.too_many_forms" and "?app=" in error["message"]
    assert error["apps"] == ["loans", "purchasing"]
    doc = client.get("/api/v1/openapi.json?app=loans", headers=headers).get_json()
    assert set(_form_paths(doc)) == {"/forms/借用单/records", "/forms/借用单/records/{id}",
                                     "/forms/借用单/records/batch-delete"}
    assert set(doc["paths"]["/forms/借用单/records/{id}"]) == {"parameters", "get", "patch", "delete"}
