"""Record pages over HTTP: list with filter/sort/paging, detail, create and edit through the
same server-side clean as the API (errors inline, hidden values dropped)."""
from __future__ import annotations

import json
import re

import pytest

from tests.conftest import install_package, make_user, sign_in
from tests.sample_package import package


def login(client, jimu, username="alice", **kw):
    return sign_in(client, jimu, make_user(jimu, username, **kw))


def with_form(data):
    pkg = package()
    pkg["forms"].append(data)
    return pkg


SURVEY = {"key": "survey", "version": 1, "label": {"zh-CN": "调查", "en": "Survey"}, "fields": [
    {"key": "类型", "label": {"zh-CN": "类型", "en": "Kind"}, "widget": "text", "required": True},
    {"key": "其他说明", "label": {"zh-CN": "其他说明", "en": "Other"}, "widget": "text",
     "visible_if": '类型 == "其他"', "required_if": '类型 == "其他"'},
    {"key": "数量", "label": "Qty", "widget": "number"},
    {"key": "两倍", "label": "Double", "widget": "number", "formula": "数量 * 2"},
]}


def test_list_filters_sorts_and_pages(client, jimu):
    install_package(jimu, package())
    login(client, jimu, admin=True)
    with jimu.begin() as conn:
        from runtime.records import Records
        from runtime.auth.principal import Principal
        r = Records(jimu, conn, Principal(user_id=None, username="system", is_admin=True), check_permissions=False)
        r.bulk_create("客户", [{"名称": f"客户{i:02d}", "等级": i % 3} for i in range(30)])
    html = client.get("/forms/客户").get_data(as_text=True)
    assert "30" in re.search(r'id="record-count">([^<]*)<', html).group(1)
    assert html.count('<tr>') == 25 + 1          # a page of 25 rows plus the header
    page2 = client.get("/forms/客户?page=2").get_data(as_text=True)
    assert page2.count('<tr>') == 5 + 1
    filtered = client.get("/forms/客户?field=等级&op=eq&value=2").get_data(as_text=True)
    assert "10" in re.search(r'id="record-count">([^<]*)<', filtered).group(1)
    drill = client.get("/forms/客户?filter=" + json.dumps([{"field": "等级", "op": "eq", "value": 0}]))
    assert "10" in re.search(r'id="record-count">([^<]*)<', drill.get_data(as_text=True)).group(1)
    asc = client.get("/forms/客户?sort=名称").get_data(as_text=True)
    assert asc.index("客户00") < asc.index("客户01")
    nxt = re.search(r'<a href="([^"]*)" rel="next">', asc).group(1)   # the pager keeps the sort
    assert "page=2" in nxt and "sort=" in nxt and 'rel="prev"' not in asc
    assert 'rel="prev"' in page2 and 'rel="next"' not in page2
    searched = client.get("/forms/客户?q=客户2").get_data(as_text=True)
    assert "10" in re.search(r'id="record-count">([^<]*)<', searched).group(1)   # 客户20..客户29


def test_create_shows_all_errors_inline_then_saves(client, jimu):
    install_package(jimu, with_form(SURVEY))
    token = login(client, jimu, admin=True)
    bad = client.post("/forms/survey/new", data={"csrf_token": token, "类型": "其他", "数量": "abc"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'data-code="form.required"' in html and 'data-code="form.invalid_number"' in html
    ok = client.post("/forms/survey/new", data={"csrf_token": token, "类型": "其他", "其他说明": "备注",
                                                 "数量": "4"})
    assert ok.status_code == 302
    detail = client.get(ok.headers["Location"]).get_data(as_text=True)
    assert "备注" in detail and ">8<" in detail          # the formula was computed on the server


def test_hidden_field_value_is_dropped(client, jimu, admin_headers):
    install_package(jimu, with_form(SURVEY))
    token = login(client, jimu, "bob", admin=True)
    ui = client.post("/forms/survey/new", data={"csrf_token": token, "类型": "投诉", "其他说明": "偷偷写入"})
    rid = int(ui.headers["Location"].rsplit("/", 1)[1])
    api = client.post("/api/v1/forms/survey/records", json={"类型": "投诉", "其他说明": "偷偷写入"},
                      headers=admin_headers).get_json()
    from_ui = client.get(f"/api/v1/forms/survey/records/{rid}", headers=admin_headers).get_json()
    assert from_ui["其他说明"] is None and api["其他说明"] is None


def test_edit_with_stale_version_is_refused(client, jimu, admin_headers):
    install_package(jimu, with_form(SURVEY))
    token = login(client, jimu, admin=True)
    rec = client.post("/api/v1/forms/survey/records", json={"类型": "建议"}, headers=admin_headers).get_json()
    client.patch(f"/api/v1/forms/survey/records/{rec['id']}", json={"类型": "表扬"}, headers=admin_headers)
    stale = client.post(f"/forms/survey/{rec['id']}/edit",
                        data={"csrf_token": token, "row_version": rec["row_version"], "类型": "投诉"})
    assert stale.status_code == 409
    assert client.get(f"/api/v1/forms/survey/records/{rec['id']}", headers=admin_headers).get_json()["类型"] == "表扬"


def test_pages_need_login_and_permission(client, jimu):
    install_package(jimu, package())
    assert client.get("/forms/客户").status_code == 302
    login(client, jimu, "nobody")
    assert client.get("/forms/客户").status_code == 403
    assert client.post("/forms/客户/new", data={"csrf_token": "tok", "名称": "x"}).status_code == 403


def test_post_without_csrf_token_is_refused(client, jimu):
    install_package(jimu, package())
    login(client, jimu, admin=True)
    assert client.post("/forms/客户/new", data={"名称": "x"}).status_code == 403
