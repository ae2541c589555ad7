"""The rule designer's API: the rule catalogue in the registries, checking a draft rule as publishing
would (with the draft's message templates), and dry-running it against the published records."""
import copy

import pytest

from engines.rule.triggers import TRIGGERS
from tests.builder.test_api import _draft, _save, _with_builder_role, login
from tests.conftest import install_package, make_user
from tests.runtime.rules_helpers import create, firings, jobs_of
from tests.sample_package import package


@pytest.fixture
def builder(jimu, client):
    data = _with_builder_role(package())
    data["groups"][0]["members"] = ["ann"]
    ann = make_user(jimu, "ann")
    install_package(jimu, data)
    from runtime.auth.users import set_roles
    with jimu.begin() as conn:   # a message about a customer reaches only who may read customers
        set_roles(conn, ann, ["viewer"])
    make_user(jimu, "bea", roles=["designer"])
    return login(client, "bea")


def _set_email(jimu, username, address):
    import sqlalchemy as sa
    from runtime import db
    with jimu.begin() as conn:
        conn.execute(sa.update(db.users).where(db.users.c.username == username).values(email=address))


BIG = {"key": "big_customer", "version": 1, "label": {"zh-CN": "大客户", "en": "Big customer"}, "form": "客户",
       "trigger": {"type": "record_created"},
       "condition": {"all": [{"field": "等级", "op": "gte", "value": 3}]},
       "actions": [{"type": "set_fields", "values": {"code": {"template": "VIP-{名称}"}}},
                   {"type": "notify", "channel": "email", "to": {"groups": ["east"]}, "subject": "大客户 {名称}"}]}


def test_registries_list_every_trigger_operator_and_action(builder):
    rules = builder.get("/builder/api/registries").get_json()["rules"]
    assert set(rules["triggers"]) == set(TRIGGERS) and "time_after" in rules["triggers"]
    ops = {o["type"]: o for o in rules["operators"]}
    assert ops["not_in"]["input"] == "list" and ops["between"]["input"] == "pair" and ops["is_empty"]["input"] == "none"
    notify = next(a for a in rules["actions"] if a["type"] == "notify")
    assert "user_fields" in notify["config_schema"]["properties"]["to"]["properties"]


def test_check_compiles_the_rule_as_publishing_would(builder):
    assert builder.post("/builder/api/apps/crm/rules/check", json={"rule": BIG}).get_json() == {"ok": True, "errors": []}
    bad = copy.deepcopy(BIG)
    bad["actions"] = [{"type": "nope"}, {"type": "notify", "channel": "webhook", "url": "http://127.0.0.1/x"},
                      {"type": "notify", "channel": "email", "template": "missing"}]
    bad["trigger"] = {"type": "time_after", "field": "created_at"}
    body = builder.post("/builder/api/apps/crm/rules/check", json={"rule": bad}).get_json()
    assert body["ok"] is False
    found = {(e["pointer"], e["code"]) for e in body["errors"]}
    assert ("/actions/0/type", "rule.unknown_action") in found
    assert ("/actions/2/template", "rule.unknown_template") in found
    assert any(p == "/trigger" and c == "rule.bad_trigger" for p, c in found)
    assert any(p.startswith("/actions/1") for p, _ in found)   # a private address is refused


def test_check_uses_the_drafts_message_templates(builder):
    rule = copy.deepcopy(BIG)
    rule["actions"] = [{"type": "notify", "channel": "email", "to": {"groups": ["east"]}, "template": "welcome"}]
    assert builder.post("/builder/api/apps/crm/rules/check", json={"rule": rule}).get_json()["ok"] is False
    draft = _draft(builder)
    draft["package"]["templates"] = [{"key": "welcome", "version": 1, "label": "Welcome",
                                      "subject": "欢迎 {名称}", "body": "您好 {名称}"}]
    assert _save(builder, draft).status_code == 200
    assert builder.post("/builder/api/apps/crm/rules/check", json={"rule": rule}).get_json() == {"ok": True, "errors": []}


def test_dry_run_of_a_draft_rule_lists_matches_and_effects_and_writes_nothing(builder, jimu):
    _set_email(jimu, "ann", "ann@example.com")
    small = create(jimu, "客户", {"名称": "小店", "等级": 1})
    big = create(jimu, "客户", {"名称": "大厂", "等级": 5})
    resp = builder.post("/builder/api/apps/crm/rules/dry-run", json={"rule": BIG})
    assert resp.status_code == 200
    body = resp.get_json()
    assert (body["scanned"], body["total"], body["matched"]) == (2, 2, 1)
    [row] = body["records"]
    assert row["id"] == big["id"] and row["record"]["名称"] == "大厂"
    set_fields, mail = row["effects"]
    assert set_fields["kind"] == "set_fields" and set_fields["values"] == {"code": "VIP-大厂"}
    assert mail["kind"] == "send_email" and mail["would_reach"] == ["ann@example.com"] and mail["subject"] == "大客户 大厂"
    # nothing happened: no write, no queued mail, no firing logged; the rule is not installed either
    from tests.runtime.rules_helpers import get
    assert get(jimu, "客户", big["id"])["code"] is None and get(jimu, "客户", small["id"])["code"] is None
    assert jobs_of(jimu, "rule.email") == [] and firings(jimu) == []


def test_dry_run_of_the_saved_draft_rule_by_key_and_the_limit(builder, jimu):
    for i in range(5):
        create(jimu, "客户", {"名称": f"c{i}", "等级": 4})
    draft = _draft(builder)
    draft["package"]["rules"] = [BIG]
    assert _save(builder, draft).status_code == 200
    body = builder.post("/builder/api/apps/crm/rules/dry-run", json={"key": "big_customer", "limit": 2}).get_json()
    assert body["matched"] == 5 and len(body["records"]) == 2
    missing = builder.post("/builder/api/apps/crm/rules/dry-run", json={"key": "nope"})
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "builder.not_found"


def test_dry_run_refuses_bad_input_with_coded_errors(builder, jimu):
    bad = copy.deepcopy(BIG)
    bad["actions"] = []
    resp = builder.post("/builder/api/apps/crm/rules/dry-run", json={"rule": bad})
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "rule.invalid"
    assert any(e["pointer"] == "/actions" for e in resp.get_json()["error"]["errors"])
    resp = builder.post("/builder/api/apps/crm/rules/dry-run", json={"rule": {**BIG, "form": "jimu_users"}})
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "builder.unknown_form"
    resp = builder.post("/builder/api/apps/crm/rules/dry-run", json={})
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "builder.no_rule"
    resp = builder.post("/builder/api/apps/crm/rules/dry-run", data="x", content_type="text/plain")
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "request.not_json"
    # a form only in the draft has no records to run against yet
    draft = _draft(builder)
    draft["package"]["forms"].append({"key": "线索", "version": 1, "label": "Lead",
                                      "fields": [{"key": "名称", "label": "Name", "widget": "text"}]})
    assert _save(builder, draft).status_code == 200
    resp = builder.post("/builder/api/apps/crm/rules/dry-run", json={"rule": {**BIG, "form": "线索",
                                                                              "condition": None}})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "builder.form_not_published"


def test_the_designer_page_loads_its_modules_for_builders(builder):
    page = builder.get("/builder/apps/crm/rules/big_customer?new=1&label=x")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-rule="big_customer"' in html and "rule-designer.js" in html and "rule-designer.css" in html
    for name in ("rule-designer", "rule-trigger", "rule-conditions", "rule-actions", "rule-fields", "rule-dryrun",
                 "rule-strings"):
        assert builder.get(f"/builder/static/{name}.js").status_code == 200


def test_only_builders_may_check_or_dry_run(jimu, client, builder):
    client.post("/logout")
    make_user(jimu, "sam", roles=["sales"])
    login(client, "sam")
    for path in ("check", "dry-run"):
        resp = client.post(f"/builder/api/apps/crm/rules/{path}", json={"rule": BIG})
        assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "permission.builder"
    assert client.get("/builder/apps/crm/rules/big_customer").status_code == 403   # nor open the designer
