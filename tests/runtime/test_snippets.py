"""Texts inserted into a text field (``insert_from``): a clinic's visit notes insert its published patient
leaflets. Only what the caller may read is offered (form verb, the source's filter, hidden fields);
the package check names a source field that does not exist; the record page offers the picker; the
customer-service package's replies insert knowledge articles and reply templates."""
from __future__ import annotations

import copy

import pytest

from tests.conftest import api_token, install_package, make_user
from tests.runtime.rules_helpers import create

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

CLINIC = {
    "format": "jimu.app", "version": 2,
    "app": {"key": "clinic", "version": "1.0.0", "label": "Clinic"},
    "roles": [
        {"key": "nurse", "version": 1, "label": "Nurse",
         "permissions": {"visit_note": ["create", "read"], "leaflet": ["read"]}},
        {"key": "clerk", "version": 1, "label": "Clerk", "permissions": {"visit_note": ["create", "read"]}},
        {"key": "trainee", "version": 1, "label": "Trainee",
         "permissions": {"visit_note": ["create", "read"], "leaflet": ["read"]},
         "fields": {"leaflet": {"body": "hidden"}}},
    ],
    "forms": [
        {"key": "leaflet", "version": 1, "label": "Leaflet", "title_field": "title",
         "fields": [{"key": "title", "label": "Title", "widget": "text"},
                    {"key": "body", "label": "Body", "widget": "richtext"},
                    {"key": "published", "label": "Published", "widget": "switch"}]},
        {"key": "visit_note", "version": 1, "label": "Visit note",
         "fields": [{"key": "patient", "label": "Patient", "widget": "text"},
                    {"key": "advice", "label": "Advice", "widget": "textarea", "config": {"insert_from": [
                        {"form": "leaflet", "title_field": "title", "text_field": "body",
                         "filter": [{"field": "published", "op": "eq", "value": True}],
                         "label": {"zh-CN": "宣教资料", "en": "Leaflets"}}]}}]},
    ],
}


def _as(jimu, name, role):
    uid = make_user(jimu, name, roles=[role])
    return {"Authorization": f"Bearer {api_token(jimu, uid)}"}


@pytest.fixture
def clinic(jimu):
    install_package(jimu, CLINIC)
    create(jimu, "leaflet", {"title": "术后护理", "body": "<p>伤口保持干燥</p><p>三天后换药</p>", "published": True})
    create(jimu, "leaflet", {"title": "饮食建议", "body": "<p>清淡饮食</p>", "published": True})
    create(jimu, "leaflet", {"title": "草稿", "body": "<p>未审核</p>", "published": False})


URL = "/api/v1/forms/visit_note/fields/advice/snippets"


def test_published_leaflets_are_offered_as_plain_text_and_found_by_what_is_typed(jimu, client, clinic):
    nurse = _as(jimu, "nina", "nurse")
    r = client.get(URL, headers=nurse)
    assert r.status_code == 200, r.get_json()
    assert {(s["title"], s["text"]) for s in r.json["snippets"]} == {
        ("术后护理", "伤口保持干燥\n三天后换药"), ("饮食建议", "清淡饮食")}
    r = client.get(URL + "?q=饮食", headers=nurse)
    assert [s["title"] for s in r.json["snippets"]] == ["饮食建议"]


def test_a_person_who_may_not_read_the_source_is_offered_nothing(jimu, client, clinic):
    assert client.get(URL, headers=_as(jimu, "carl", "clerk")).json["snippets"] == []
    assert client.get(URL, headers=_as(jimu, "tina", "trainee")).json["snippets"] == []  # body hidden
    assert client.get(URL).status_code == 401


def test_a_field_without_insert_from_offers_nothing_to_insert(jimu, client, clinic):
    r = client.get("/api/v1/forms/visit_note/fields/patient/snippets", headers=_as(jimu, "nina", "nurse"))
    assert r.status_code == 404 and r.json["error"]["code"] == "field.no_snippets"


def test_the_package_check_names_a_source_field_that_does_not_exist(runner, tmp_path):
    import json
    bad = copy.deepcopy(CLINIC)
    bad["forms"][1]["fields"][1]["config"]["insert_from"][0]["text_field"] = "content"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["validate", str(path)])
    assert result.exit_code == 1 and "/forms/1/fields/1/config/insert_from/0/text_field" in result.output


def test_the_new_record_page_offers_the_picker(jimu, client, clinic):
    from tests.conftest import sign_in
    uid = make_user(jimu, "nora", roles=["nurse"])
    sign_in(client, jimu, uid)
    page = client.get("/forms/visit_note/new").get_data(as_text=True)
    assert 'name="advice"' in page and "data-snippets" in page and "js/snippets.js" in page


def test_a_customer_service_reply_inserts_published_articles_and_templates(jimu, client):
    from tests.runtime.cs_fixtures import install
    staff = install(jimu)
    create(jimu, "知识库文章", {"标题": "如何重置密码", "正文": "<p>点击“忘记密码”</p>", "已发布": True})
    create(jimu, "知识库文章", {"标题": "内部草稿", "正文": "<p>未发布</p>", "已发布": False})
    create(jimu, "回复模板", {"名称": "致歉", "正文": "非常抱歉给您带来不便。"})
    headers = {"Authorization": f"Bearer {api_token(jimu, staff['ann'])}"}
    r = client.get("/api/v1/forms/回复/fields/内容/snippets", headers=headers)
    assert r.status_code == 200, r.get_json()
    assert {(s["form"], s["title"], s["text"]) for s in r.json["snippets"]} == {
        ("知识库文章", "如何重置密码", "点击“忘记密码”"), ("回复模板", "致歉", "非常抱歉给您带来不便。")}
