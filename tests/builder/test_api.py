"""The builder API: who may use it, drafts, checks, publishing, versions, rollback, import."""
import copy
import json

import pytest

from tests.conftest import install_package, make_user
from tests.sample_package import package

BUILDER_PACKAGE_ROLE = {"key": "designer", "version": 1, "label": "Designer",
                        "permissions": {"客户": ["create", "read", "update"]}, "builder": True}


def _with_builder_role(data):
    data = copy.deepcopy(data)
    data["roles"].append(BUILDER_PACKAGE_ROLE)
    return data


def login(client, username):
    """Log in through the login form, then send the session's CSRF token with every request."""
    client.environ_base.pop("HTTP_X_CSRF_TOKEN", None)
    client.get("/login")
    with client.session_transaction() as s:
        token = s["csrf"]
    resp = client.post("/login", data={"username": username, "password": "pw-123456", "csrf_token": token})
    assert resp.status_code == 302
    with client.session_transaction() as s:
        token = s["csrf"]
    client.environ_base["HTTP_X_CSRF_TOKEN"] = token
    return client


@pytest.fixture
def crm(jimu):
    install_package(jimu, _with_builder_role(package()))


@pytest.fixture
def builder(jimu, client, crm):
    make_user(jimu, "bea", roles=["designer"])
    return login(client, "bea")


def test_only_builders_and_admins_get_in(jimu, client, crm):
    assert client.get("/builder/api/apps").status_code == 401
    assert client.get("/builder/").status_code == 302        # pages send a visitor to the login page
    make_user(jimu, "sam", roles=["sales"])
    login(client, "sam")
    resp = client.get("/builder/api/apps")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "permission.builder"
    assert client.get("/builder/").status_code == 403
    assert client.get("/builder/apps/crm/forms/客户").status_code == 403
    client.post("/logout")
    client.environ_base.pop("HTTP_X_CSRF_TOKEN", None)
    make_user(jimu, "root", admin=True)
    login(client, "root")
    assert [a["key"] for a in client.get("/builder/api/apps").get_json()["apps"]] == ["crm"]
    assert client.get("/builder/").status_code == 200


def test_posts_need_the_csrf_token(builder):
    builder.environ_base.pop("HTTP_X_CSRF_TOKEN")
    resp = builder.post("/builder/api/apps", json={"key": "hr", "label": "HR"})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "auth.csrf"


def test_registries_list_the_palette_from_the_widget_registry(builder, monkeypatch):
    from engines.form import WIDGETS
    from engines.form.widgets.text import TextWidget

    class StarsWidget(TextWidget):
        type = "test_stars"
        label = {"zh-CN": "星级", "en": "Stars"}
        group = "plugins"

    WIDGETS.register(StarsWidget)
    try:
        data = builder.get("/builder/api/registries").get_json()
    finally:
        WIDGETS.unregister("test_stars")
    groups = {g["key"]: g for g in data["widgets"]["groups"]}
    listed = {w["type"] for g in groups.values() for w in g["widgets"]}
    assert listed == set(WIDGETS.types()) | {"test_stars"}
    assert [w["type"] for w in groups["plugins"]["widgets"]] == ["test_stars"]
    text = next(w for w in groups["basic"]["widgets"] if w["type"] == "text")
    assert text["config_schema"]["type"] == "object" and text["label"]["en"]
    names = {f["name"] for f in data["expressions"]["functions"]}
    assert {"if", "len"} <= names
    assert all(set(f["doc"]) >= {"zh-CN", "en"} for f in data["expressions"]["functions"])


def test_expression_check_reports_code_message_and_position(builder):
    ok = builder.post("/builder/api/expr/check", json={"source": "等级 > 3", "names": ["等级"]}).get_json()
    assert ok == {"ok": True, "names": ["等级"], "source": "等级 > 3"}     # the text to store
    bad = builder.post("/builder/api/expr/check", json={"source": "等级 > ", "names": ["等级"]}).get_json()
    assert bad["ok"] is False and bad["error"]["code"] == "expr.syntax" and bad["error"]["position"] >= 1
    unknown = builder.post("/builder/api/expr/check", json={"source": "名称 == 'x'", "names": ["等级"]}).get_json()
    assert unknown["error"]["code"] == "expr.unknown_name" and unknown["error"]["position"] == 1


def _draft(client, app="crm"):
    resp = client.get(f"/builder/api/apps/{app}/draft")
    assert resp.status_code == 200
    return resp.get_json()


def _save(client, draft, app="crm"):
    return client.put(f"/builder/api/apps/{app}/draft", json={"package": draft["package"],
                                                              "revision": draft["revision"]})


def test_draft_opens_from_the_installed_version_and_saves_with_revisions(builder):
    draft = _draft(builder)
    assert draft["saved"] is False and draft["revision"] == 0 and draft["base_version"] == "1.0.0"
    assert [f["key"] for f in draft["package"]["forms"]] == ["客户", "订单"]
    draft["package"]["forms"][0]["fields"].append({"key": "备注", "label": "备注", "widget": "textarea"})
    saved = _save(builder, draft).get_json()
    assert saved["saved"] is True and saved["revision"] == 1
    assert _draft(builder)["package"]["forms"][0]["fields"][-1]["key"] == "备注"
    stale = _save(builder, draft)                           # still revision 0: someone saved meanwhile
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "builder.draft_conflict"
    moved = copy.deepcopy(saved)
    moved["package"]["app"]["key"] = "other"
    assert _save(builder, moved).get_json()["error"]["code"] == "builder.key_changed"


def test_validate_lists_every_error_with_a_pointer(builder):
    draft = _draft(builder)
    fields = draft["package"]["forms"][0]["fields"]
    fields.append({"key": "vip", "label": "VIP", "widget": "nope"})
    fields.append({"key": "备注", "label": "备注", "widget": "text", "visible_if": "不存在 > 1"})
    fields.append({"key": "x", "label": "X", "widget": "text", "required_if": "等级 >"})
    resp = builder.post("/builder/api/apps/crm/draft/validate", json={"package": draft["package"]}).get_json()
    assert resp["ok"] is False
    by_pointer = {e["pointer"]: e for e in resp["errors"]}
    assert by_pointer["/forms/0/fields/3/widget"]["code"] == "field.unknown_widget"
    assert by_pointer["/forms/0/fields/4/visible_if"]["code"] == "expr.unknown_name"
    assert by_pointer["/forms/0/fields/5/required_if"]["code"] == "expr.syntax"
    assert "position" in by_pointer["/forms/0/fields/5/required_if"]


def test_publish_creates_a_version_and_changes_the_runtime_form(builder, jimu):
    draft = _draft(builder)
    draft["package"]["forms"][0]["fields"].append({"key": "备注", "label": {"zh-CN": "备注", "en": "Notes"},
                                                   "widget": "textarea", "visible_if": "等级 > 1"})
    draft = _save(builder, draft).get_json()
    diff = builder.get("/builder/api/apps/crm/draft/diff").get_json()
    assert diff["from_version"] == "1.0.0" and diff["to_version"] == "1.0.1"
    assert diff["diff"]["forms"]["客户"]["added"] == ["备注"]
    assert any("备注" in line for line in diff["lines"])
    assert builder.get("/builder/").status_code == 200
    resp = builder.post("/builder/api/apps/crm/publish", json={"revision": draft["revision"]})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["to_version"] == "1.0.1"
    versions = builder.get("/builder/api/apps/crm/versions").get_json()["versions"]
    assert [v["version"] for v in versions] == ["1.0.1", "1.0.0"] and versions[0]["current"]
    assert versions[0]["installed_by"] == "bea"
    page = builder.get("/forms/客户/new").get_data(as_text=True)
    assert 'data-field="备注"' in page
    # the draft is gone; a new one opens from 1.0.1
    assert _draft(builder)["base_version"] == "1.0.1"


def test_publish_refuses_an_invalid_draft_with_all_errors(builder, jimu):
    draft = _draft(builder)
    draft["package"]["forms"][0]["fields"][1]["visible_if"] = "名称 =="
    draft["package"]["forms"][0]["fields"].append({"key": "id", "label": "ID", "widget": "text"})
    draft = _save(builder, draft).get_json()
    resp = builder.post("/builder/api/apps/crm/publish", json={"revision": draft["revision"]})
    assert resp.status_code == 422
    errors = resp.get_json()["error"]["errors"]
    assert {e["pointer"] for e in errors} >= {"/forms/0/fields/1/visible_if", "/forms/0/fields/3/key"}
    assert len(builder.get("/builder/api/apps/crm/versions").get_json()["versions"]) == 1


def test_publish_refuses_a_draft_opened_before_another_publish(builder, client, jimu):
    draft = _draft(builder)
    draft["package"]["forms"][0]["label"] = "客户们"
    draft = _save(builder, draft).get_json()
    install_package(jimu, _with_builder_role(package(version="1.1.0")))
    resp = builder.post("/builder/api/apps/crm/publish", json={"revision": draft["revision"]})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "builder.stale_draft"


def test_rollback_reinstalls_an_old_version_and_keeps_record_data(builder, jimu, admin_headers):
    first = builder.get("/builder/api/apps/crm/versions").get_json()["versions"][0]
    draft = _draft(builder)
    draft["package"]["forms"][0]["fields"].append({"key": "备注", "label": "备注", "widget": "text"})
    draft = _save(builder, draft).get_json()
    assert builder.post("/builder/api/apps/crm/publish", json={"revision": draft["revision"]}).status_code == 201
    rec = builder.post("/api/v1/forms/客户/records", json={"名称": "华为", "等级": 3, "备注": "大客户"},
                       headers=admin_headers).get_json()
    rid = rec["id"]

    resp = builder.post(f"/builder/api/apps/crm/versions/{first['id']}/rollback")
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["restored"] == "1.0.0" and resp.get_json()["to_version"] == "1.0.2"
    versions = builder.get("/builder/api/apps/crm/versions").get_json()["versions"]
    assert [v["version"] for v in versions] == ["1.0.2", "1.0.1", "1.0.0"]
    record = builder.get(f"/api/v1/forms/客户/records/{rid}", headers=admin_headers).get_json()
    assert record["名称"] == "华为" and record["等级"] == 3 and "备注" not in record
    assert 'data-field="备注"' not in builder.get("/forms/客户/new").get_data(as_text=True)

    # rolling forward again brings the retired column's value back
    resp = builder.post(f"/builder/api/apps/crm/versions/{versions[1]['id']}/rollback")
    assert resp.status_code == 201
    record = builder.get(f"/api/v1/forms/客户/records/{rid}", headers=admin_headers).get_json()
    assert record["备注"] == "大客户"
    diff = builder.get(f"/builder/api/apps/crm/versions/diff?from={versions[2]['id']}&to={versions[1]['id']}").get_json()
    assert diff["diff"]["forms"]["客户"]["added"] == ["备注"]


def test_import_shows_the_diff_before_applying(builder, jimu):
    new = _with_builder_role(package(version="1.2.0"))
    new["forms"][0]["fields"].append({"key": "网站", "label": "网站", "widget": "url"})
    raw = json.dumps(new, ensure_ascii=False).encode()
    unconfirmed = builder.post("/builder/api/import", data={"package": (__import__("io").BytesIO(raw), "crm.json")})
    assert unconfirmed.status_code == 428
    dry = builder.post("/builder/api/import?dry_run=1",
                       data={"package": (__import__("io").BytesIO(raw), "crm.json")}).get_json()
    assert dry["plan"]["action"] == "upgrade" and dry["plan"]["diff"]["forms"]["客户"]["added"] == ["网站"]
    assert any("网站" in line for line in dry["lines"])
    assert [v["version"] for v in builder.get("/builder/api/apps/crm/versions").get_json()["versions"]] == ["1.0.0"]
    applied = builder.post(f"/builder/api/import?confirm={dry['confirm']}",
                           data={"package": (__import__("io").BytesIO(raw), "crm.json")})
    assert applied.status_code == 201
    assert [v["version"] for v in builder.get("/builder/api/apps/crm/versions").get_json()["versions"]] == \
        ["1.2.0", "1.0.0"]
    bad = builder.post("/builder/api/import?dry_run=1", data={"package": (__import__("io").BytesIO(b"{}"), "x.json")})
    assert bad.status_code == 422 and bad.get_json()["error"]["errors"]


def test_create_app_publish_and_export(builder):
    resp = builder.post("/builder/api/apps", json={"key": "helpdesk", "label": {"zh-CN": "客服", "en": "Helpdesk"}})
    assert resp.status_code == 201
    draft = resp.get_json()
    assert draft["base_version"] is None and draft["revision"] == 1
    assert builder.post("/builder/api/apps", json={"key": "helpdesk"}).get_json()["error"]["code"] == \
        "builder.app_exists"
    assert builder.post("/builder/api/apps", json={"key": "1bad"}).get_json()["error"]["code"] == "builder.bad_key"
    draft["package"]["forms"].append({"key": "ticket", "version": 1, "label": "工单", "fields": [
        {"key": "客户姓名", "label": "客户姓名", "widget": "text", "required": True}]})
    draft = _save(builder, draft, "helpdesk").get_json()
    apps = {a["key"]: a for a in builder.get("/builder/api/apps").get_json()["apps"]}
    assert apps["helpdesk"]["installed"] is False and apps["helpdesk"]["counts"]["forms"] == 1
    resp = builder.post("/builder/api/apps/helpdesk/publish", json={"revision": draft["revision"]})
    assert resp.status_code == 201 and resp.get_json()["action"] == "install"
    exported = builder.get("/builder/api/apps/helpdesk/export")
    assert "attachment" in exported.headers["Content-Disposition"]
    assert exported.get_json()["forms"][0]["fields"][0]["key"] == "客户姓名"


def test_preview_renders_the_draft_form_with_the_runtime_templates(builder):
    form = {"key": "t", "version": 1, "label": "T", "fields": [
        {"key": "渠道", "label": "渠道", "widget": "select", "config": {"options": ["官网", "微信"]}},
        {"key": "说明", "label": "说明", "widget": "text", "visible_if": "渠道 == '微信'"}],
        "layout": [{"type": "section", "label": "基本", "columns": 2, "items": ["渠道", "说明"]}]}
    resp = builder.post("/builder/api/apps/crm/preview", json={"form": form})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'data-field="说明"' in html and "details class=\"section" in html
    assert "js/form.js" in html and '"visible_if"' in html
    form["fields"][1]["visible_if"] = "渠道 =="
    bad = builder.post("/builder/api/apps/crm/preview", json={"form": form})
    assert bad.status_code == 422 and bad.get_json()["error"]["errors"][0]["field"] == "说明"
