"""Apps are tenants: a builder of one app gets nothing of another.

Two teams share one server: purchasing (purchase orders, a big-order mail rule, a report) and
equipment loans (loan slips whose reminder mail names the borrower). Pat designs purchasing, Lena
designs loans. Pat tries every builder page and API on the loans app — pages, draft save, publish,
rollback, export, previews, rule check, dry runs, the firing log — and gets 403 with
``permission.app_builder``, while the same calls on her own app work. Dry runs and the firing log
show only records the builder's own read permission reaches.
"""
from __future__ import annotations

import copy
import io
import json

import pytest
import sqlalchemy as sa

from runtime import db
from tests.builder.test_api import login
from tests.conftest import install_package, make_user
from tests.runtime.rules_helpers import create

BORROWER = "欧阳借用人"      # a loan's borrower: must never reach a purchasing builder
LOAN_MAIL = "请按时归还设备"  # the loan reminder's mail body


def purchasing():
    return {"format": "jimu.app", "version": 2,
            "app": {"key": "purchasing", "version": "1.0.0", "label": {"zh-CN": "采购", "en": "Purchasing"}},
            "roles": [{"key": "purchasing_designer", "version": 1, "label": "Purchasing designer", "builder": True,
                       "permissions": {"采购单": ["create", "read"]}},
                      {"key": "purchasing_blind", "version": 1, "label": "Designer without record access",
                       "builder": True, "permissions": {}},
                      {"key": "purchasing_small", "version": 1, "label": "Designer of small orders",
                       "builder": True, "permissions": {"采购单": ["read"]},
                       "rows": {"采购单": {"scope": "condition", "condition": "金额 < 1000"}},
                       "fields": {"采购单": {"申请人邮箱": "hidden"}}}],
            "forms": [{"key": "采购单", "version": 1, "label": {"zh-CN": "采购单", "en": "Purchase order"}, "fields": [
                {"key": "供应商", "label": "Supplier", "widget": "text"},
                {"key": "金额", "label": "Amount", "widget": "number"},
                {"key": "申请人邮箱", "label": "Requester e-mail", "widget": "text"}]}],
            "rules": [{"key": "big_order", "version": 1, "label": "Big order", "form": "采购单",
                       "trigger": {"type": "record_created"},
                       "condition": {"field": "金额", "op": "gt", "value": 10000},
                       "actions": [{"type": "notify", "channel": "email", "to": {"email_fields": ["申请人邮箱"]},
                                    "subject": "大额采购 {供应商}", "body": "请审批 {供应商} 的采购单"}]}],
            "reports": [{"key": "orders_by_supplier", "version": 1, "label": "Orders by supplier", "type": "bar",
                         "form": "采购单", "dimensions": [{"field": "供应商"}],
                         "measures": [{"key": "n", "agg": "count"}]}]}


LOAN_FORM = {"key": "借用单", "version": 1, "label": {"zh-CN": "设备借用单", "en": "Equipment loan"}, "fields": [
    {"key": "设备", "label": "Device", "widget": "text"},
    {"key": "借用人", "label": "Borrower", "widget": "text"},
    {"key": "借用人邮箱", "label": "Borrower e-mail", "widget": "text"}]}
LOAN_RULE = {"key": "loan_reminder", "version": 1, "label": "Loan reminder", "form": "借用单",
             "trigger": {"type": "record_created"},
             "actions": [{"type": "notify", "channel": "email", "to": {"email_fields": ["借用人邮箱"]},
                          "subject": "{借用人} 借用了 {设备}", "body": LOAN_MAIL}]}
LOAN_REPORT = {"key": "loans_by_device", "version": 1, "label": "Loans by device", "type": "pie", "form": "借用单",
               "dimensions": [{"field": "借用人"}], "measures": [{"key": "n", "agg": "count"}]}
LOAN_DASHBOARD = {"key": "loans", "version": 1, "label": "Loans", "charts": [
    {"report": "loans_by_device", "x": 0, "y": 0, "w": 6, "h": 4}]}


def loans(version="1.0.0"):
    return {"format": "jimu.app", "version": 2,
            "app": {"key": "loans", "version": version, "label": {"zh-CN": "设备借用", "en": "Equipment loans"}},
            "roles": [{"key": "loans_designer", "version": 1, "label": "Loans designer", "builder": True,
                       "permissions": {"借用单": ["create", "read", "update"]}}],
            "forms": [copy.deepcopy(LOAN_FORM)], "rules": [copy.deepcopy(LOAN_RULE)],
            "reports": [copy.deepcopy(LOAN_REPORT)], "dashboards": [copy.deepcopy(LOAN_DASHBOARD)]}


@pytest.fixture
def two_apps(jimu):
    install_package(jimu, purchasing())
    install_package(jimu, loans())
    make_user(jimu, "pat", roles=["purchasing_designer"])
    make_user(jimu, "lena", roles=["loans_designer"])
    make_user(jimu, "bo", roles=["purchasing_blind"])
    make_user(jimu, "sue", roles=["purchasing_small"])
    make_user(jimu, "root", admin=True)
    orders = [create(jimu, "采购单", {"供应商": "华东钢材", "金额": 50000, "申请人邮箱": "buyer@example.com"}),
              create(jimu, "采购单", {"供应商": "文具店", "金额": 80, "申请人邮箱": "buyer@example.com"})]
    loan = create(jimu, "借用单", {"设备": "投影仪", "借用人": BORROWER, "借用人邮箱": "borrower@example.com"})
    return {"orders": orders, "loan": loan}


@pytest.fixture
def as_user(app):
    """A logged-in test client per username."""
    def _as(username):
        return login(app.test_client(), username)
    return _as


def _multipart(package):
    return {"package": (io.BytesIO(json.dumps(package, ensure_ascii=False).encode()), "app.json")}


#: every builder page and API a builder of purchasing might try on the loans app
FOREIGN = [
    ("GET", "/builder/apps/loans", None),
    ("GET", "/builder/apps/loans/forms/借用单", None),
    ("GET", "/builder/apps/loans/rules/loan_reminder", None),
    ("GET", "/builder/api/apps/loans/draft", None),
    ("PUT", "/builder/api/apps/loans/draft", {"package": loans(), "revision": 0}),
    ("DELETE", "/builder/api/apps/loans/draft", None),
    ("POST", "/builder/api/apps/loans/draft/validate", {}),
    ("GET", "/builder/api/apps/loans/draft/diff", None),
    ("POST", "/builder/api/apps/loans/publish", {"revision": 1}),
    ("POST", "/builder/api/apps/loans/preview", {"form": LOAN_FORM}),
    ("POST", "/builder/api/apps/loans/reports/preview", {"report": LOAN_REPORT}),
    ("POST", "/builder/api/apps/loans/dashboards/preview", {"dashboard": LOAN_DASHBOARD, "reports": [LOAN_REPORT]}),
    ("GET", "/builder/api/apps/loans/versions", None),
    ("GET", "/builder/api/apps/loans/versions/diff?from=1", None),
    ("POST", "/builder/api/apps/loans/versions/1/rollback", None),
    ("GET", "/builder/api/apps/loans/export", None),
    ("GET", "/builder/api/apps/loans/export?draft=1", None),
    ("POST", "/builder/api/apps/loans/rules/check", {"key": "loan_reminder"}),
    ("POST", "/builder/api/apps/loans/rules/dry-run", {"rule": LOAN_RULE}),
    ("GET", "/api/v1/apps/loans/export", None),
    ("POST", "/api/v1/rules/dry-run", {"key": "loan_reminder"}),
    ("POST", "/api/v1/rules/dry-run", {"rule": LOAN_RULE}),
    ("POST", "/builder/api/import?dry_run=1", "multipart"),
]


@pytest.mark.parametrize("method,path,body", FOREIGN, ids=[f"{m} {p}" for m, p, _ in FOREIGN])
def test_a_builder_of_one_app_gets_nothing_of_another(jimu, two_apps, as_user, method, path, body):
    pat = as_user("pat")
    kwargs = {"data": _multipart(loans("1.1.0"))} if body == "multipart" else {"json": body}
    resp = pat.open(path, method=method, **({} if body is None else kwargs))
    assert resp.status_code == 403, resp.get_data(as_text=True)[:300]
    text = resp.get_data(as_text=True)
    assert BORROWER not in text and LOAN_MAIL not in text
    if path.startswith("/builder/api") or path.startswith("/api/"):
        error = resp.get_json()["error"]
        assert error["code"] == "permission.app_builder" and "loans" in error["message"]
    # the loans app is as it was: no draft, no new version
    with jimu.read() as conn:
        assert conn.execute(sa.select(db.apps.c.version).where(db.apps.c.key == "loans")).scalar() == "1.0.0"
        assert conn.execute(sa.select(sa.func.count()).select_from(db.app_versions)
                            .where(db.app_versions.c.app_key == "loans")).scalar() == 1
        from builder.drafts import drafts
        assert conn.execute(sa.select(sa.func.count()).select_from(drafts)).scalar() == 0


def test_the_same_builder_works_on_her_own_app(jimu, two_apps, as_user):
    pat = as_user("pat")
    assert pat.get("/builder/apps/purchasing").status_code == 200
    assert pat.get("/builder/api/apps/purchasing/draft").status_code == 200
    assert pat.get("/api/v1/apps/purchasing/export").get_json()["app"]["key"] == "purchasing"
    dry = pat.post("/api/v1/rules/dry-run", json={"key": "big_order"})
    assert dry.status_code == 200 and dry.get_json()["matched"] == 1
    assert dry.get_json()["records"][0]["record"]["供应商"] == "华东钢材"
    preview = pat.post("/builder/api/apps/purchasing/reports/preview", json={"report": purchasing()["reports"][0]})
    assert preview.status_code == 200 and {r["供应商"] for r in preview.get_json()["rows"]} == {"华东钢材", "文具店"}


def test_lists_and_the_firing_log_show_only_the_builders_apps(jimu, two_apps, as_user):
    pat, lena = as_user("pat"), as_user("lena")
    assert [a["key"] for a in pat.get("/builder/api/apps").get_json()["apps"]] == ["purchasing"]
    assert [a["key"] for a in pat.get("/api/v1/apps").get_json()["apps"]] == ["purchasing"]
    assert [r["key"] for r in pat.get("/api/v1/rules").get_json()["rules"]] == ["big_order"]

    log = pat.get("/api/v1/rules/firings")
    assert log.status_code == 200
    assert {(f["app_key"], f["rule_key"]) for f in log.get_json()["firings"]} == {("purchasing", "big_order")}
    assert BORROWER not in log.get_data(as_text=True) and LOAN_MAIL not in log.get_data(as_text=True)
    # asking for the other app's rule or record by name does not open it either
    assert pat.get("/api/v1/rules/firings?rule=loan_reminder").get_json()["firings"] == []
    assert pat.get(f"/api/v1/rules/firings?form=借用单&record={two_apps['loan']['id']}").get_json()["firings"] == []

    # the loans builder sees her own firing with the reminder's template; the message itself is rendered
    # by the outbox, so the log holds no record values (not the borrower's name) even for her
    mine = json.dumps(lena.get("/api/v1/rules/firings").get_json()["firings"], ensure_ascii=False)
    assert {f["rule_key"] for f in json.loads(mine)} == {"loan_reminder"}
    assert json.dumps(LOAN_MAIL, ensure_ascii=False)[1:-1] in mine and BORROWER not in mine


def test_dry_runs_and_firings_show_only_what_the_builders_read_permission_reaches(jimu, two_apps, as_user):
    """Bo designs purchasing but may not read its purchase orders: no dry run, no firings."""
    bo = as_user("bo")
    assert bo.get("/builder/api/apps/purchasing/draft").status_code == 200       # he does design the app
    dry = bo.post("/api/v1/rules/dry-run", json={"key": "big_order"})
    assert dry.status_code == 403 and dry.get_json()["error"]["code"] == "permission.denied"
    rule = purchasing()["rules"][0]
    dry = bo.post("/builder/api/apps/purchasing/rules/dry-run", json={"rule": rule})
    assert dry.status_code == 403 and "华东钢材" not in dry.get_data(as_text=True)
    assert bo.get("/api/v1/rules/firings").get_json()["firings"] == []
    preview = bo.post("/builder/api/apps/purchasing/reports/preview", json={"report": purchasing()["reports"][0]})
    assert preview.status_code == 403


@pytest.fixture
def log_non_matches(jimu, monkeypatch):
    """The firing log keeps only matches unless RULES_LOG_NON_MATCHES is set (before the records exist)."""
    monkeypatch.setitem(jimu.config, "RULES_LOG_NON_MATCHES", True)


def test_dry_runs_and_firings_keep_the_builders_row_scope_and_hidden_fields(jimu, log_non_matches, two_apps,
                                                                             as_user):
    """Sue designs purchasing but reads only orders under 1000, without the requester's e-mail."""
    sue = as_user("sue")
    small, big = two_apps["orders"][1], two_apps["orders"][0]
    dry = sue.post("/api/v1/rules/dry-run", json={"key": "big_order"}).get_json()
    assert (dry["scanned"], dry["total"], dry["matched"]) == (1, 1, 0)        # the 50000 order is out of reach
    every = dict(purchasing()["rules"][0], condition=None)
    for url in ("/api/v1/rules/dry-run", "/builder/api/apps/purchasing/rules/dry-run"):
        resp = sue.post(url, json={"rule": every})
        assert resp.status_code == 200, resp.get_json()
        [row] = resp.get_json()["records"]
        assert row["id"] == small["id"] and "申请人邮箱" not in row["record"]
        [mail] = row["effects"]
        assert mail["would_reach"] == [] and "buyer@example.com" not in resp.get_data(as_text=True)
        assert "华东钢材" not in resp.get_data(as_text=True)
    log = sue.get("/api/v1/rules/firings").get_json()["firings"]
    assert [(f["rule_key"], f["record_id"], f["matched"]) for f in log] == [("big_order", small["id"], False)]
    assert all(f["record_id"] != big["id"] for f in log)


def _counting(form, filters):
    """The big-order rule, firing when ``form`` has any record matching ``filters`` (an aggregate)."""
    return dict(purchasing()["rules"][0], condition={
        "aggregate": {"fn": "count", "form": form, "filter": filters}, "op": "gt", "value": 0})


def test_dry_run_aggregates_count_only_what_the_builder_may_read(jimu, two_apps, as_user):
    """An aggregate condition is no window onto records outside the grant (nor another app's)."""
    pat, sue = as_user("pat"), as_user("sue")
    big = _counting("采购单", [{"field": "金额", "op": "gt", "value": 10000}])
    assert pat.post("/api/v1/rules/dry-run", json={"rule": big}).get_json()["matched"] == 2   # she reads both
    assert sue.post("/api/v1/rules/dry-run", json={"rule": big}).get_json()["matched"] == 0   # not the big one
    lent = _counting("借用单", [{"field": "借用人", "op": "eq", "value": BORROWER}])
    assert pat.post("/api/v1/rules/dry-run", json={"rule": lent}).get_json()["matched"] == 0
    hidden = _counting("采购单", [{"field": "申请人邮箱", "op": "eq", "value": "buyer@example.com"}])
    body = sue.post("/api/v1/rules/dry-run", json={"rule": hidden}).get_json()
    assert body["matched"] == 0 and {e["code"] for e in body["errors"]} == {"permission.field_hidden"}


def test_a_draft_cannot_reach_another_apps_records_by_reusing_its_form_key(jimu, two_apps, as_user):
    pat = as_user("pat")
    draft = pat.get("/builder/api/apps/purchasing/draft").get_json()
    draft["package"]["forms"].append(copy.deepcopy(LOAN_FORM))           # the loans app's form key
    draft["package"]["rules"].append(copy.deepcopy(LOAN_RULE))
    saved = pat.put("/builder/api/apps/purchasing/draft", json={"package": draft["package"], "revision": 0})
    assert saved.status_code == 200
    dry_run = pat.post("/builder/api/apps/purchasing/rules/dry-run", json={"key": "loan_reminder"})
    assert dry_run.status_code == 403 and dry_run.get_json()["error"]["code"] == "permission.other_app"
    assert BORROWER not in dry_run.get_data(as_text=True) and LOAN_MAIL not in dry_run.get_data(as_text=True)
    # previews of the draft's own form of that key are drawn on sample records, never on the loans (issue 18 item 4)
    for resp in (pat.post("/builder/api/apps/purchasing/reports/preview", json={"report": LOAN_REPORT}),
                 pat.post("/builder/api/apps/purchasing/dashboards/preview",
                          json={"dashboard": LOAN_DASHBOARD, "reports": [LOAN_REPORT]})):
        text = resp.get_data(as_text=True)
        assert resp.status_code == 200 and BORROWER not in text and LOAN_MAIL not in text
        body = resp.get_json()
        assert (body["charts"][0] if "charts" in body else body)["sample"] is True


def test_a_new_app_belongs_to_its_creator(jimu, two_apps, as_user):
    pat, lena = as_user("pat"), as_user("lena")
    created = pat.post("/builder/api/apps", json={"key": "suppliers", "label": {"zh-CN": "供应商", "en": "Suppliers"}})
    assert created.status_code == 201
    assert created.get_json()["package"]["roles"] == []          # the package stays as the user builds it
    assert pat.get("/builder/apps/suppliers").status_code == 200              # at once, despite the principal cache
    assert [a["key"] for a in pat.get("/builder/api/apps").get_json()["apps"]] == ["purchasing", "suppliers"]
    assert lena.get("/builder/api/apps/suppliers/draft").status_code == 403
    assert [a["key"] for a in lena.get("/builder/api/apps").get_json()["apps"]] == ["loans"]

    draft = pat.get("/builder/api/apps/suppliers/draft").get_json()
    draft["package"]["forms"].append({"key": "供应商档案", "version": 1, "label": "Supplier",
                                      "fields": [{"key": "名称", "label": "Name", "widget": "text"}]})
    revision = pat.put("/builder/api/apps/suppliers/draft",
                       json={"package": draft["package"], "revision": draft["revision"]}).get_json()["revision"]
    assert pat.post("/builder/api/apps/suppliers/publish", json={"revision": revision}).status_code == 201
    assert pat.get("/builder/api/apps/suppliers/export").get_json().get("roles", []) == []
    assert pat.get("/builder/apps/suppliers").status_code == 200              # still hers after publishing
    assert lena.get("/api/v1/apps/suppliers/export").status_code == 403
    # the administrator sees the app's builder role on the people page and may give it to others
    root = as_user("root")
    users = {u["username"]: u for u in root.get("/api/v1/users?per_page=100").get_json()["users"]}
    assert "suppliers_builders" in users["pat"]["roles"] and "suppliers_builders" not in users["lena"]["roles"]
    assert 'value="suppliers_builders"' in root.get(f"/admin/users/{users['lena']['id']}").get_data(as_text=True)

    # an app that is created and discarded before publishing leaves no rights behind: whoever creates
    # the next app of that key designs it alone
    assert pat.post("/builder/api/apps", json={"key": "tools"}).status_code == 201
    assert pat.delete("/builder/api/apps/tools/draft").status_code == 204
    assert lena.post("/builder/api/apps", json={"key": "tools"}).status_code == 201
    assert lena.get("/builder/api/apps/tools/draft").status_code == 200
    assert pat.get("/builder/api/apps/tools/draft").status_code == 403


def test_importing_a_new_app_makes_the_importer_its_builder_and_nobody_else(jimu, two_apps, as_user):
    pat, lena = as_user("pat"), as_user("lena")
    package = {"format": "jimu.app", "version": 2, "app": {"key": "vendors", "version": "1.0.0", "label": "Vendors"},
               "forms": [{"key": "供应商评级", "version": 1, "label": "Vendor rating",
                          "fields": [{"key": "评分", "label": "Score", "widget": "number"}]}]}
    dry = pat.post("/builder/api/import?dry_run=1", data=_multipart(package)).get_json()
    assert dry["plan"]["action"] == "install"
    applied = pat.post(f"/builder/api/import?confirm={dry['confirm']}", data=_multipart(package))
    assert applied.status_code == 201
    assert pat.get("/builder/api/apps/vendors/versions").status_code == 200
    assert lena.get("/builder/api/apps/vendors/versions").status_code == 403
    # the loans builder may not overwrite purchasing by importing a package of that key
    other = lena.post("/builder/api/import?dry_run=1", data=_multipart(purchasing()))
    assert other.status_code == 403 and other.get_json()["error"]["code"] == "permission.app_builder"
