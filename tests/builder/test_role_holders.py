"""Roles before publishing: the people settings of a draft give (and take) the app's roles; the draft keeps
the change, shows it pending, and publishing applies it — so a user is edited once, before the first
publish. Only the app's builders may do it.

The app is a library's book loans (not the helpdesk), created in the builder and never published before.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from runtime import db
from tests.builder.test_api import login
from tests.builder.steps_people import directory
from tests.conftest import api_token, install_package, make_user

APP = "library"
LOAN = {"key": "loan", "version": 1, "label": {"zh-CN": "借阅", "en": "Loan"},
        "fields": [{"key": "book", "label": {"zh-CN": "书名", "en": "Book"}, "widget": "text", "required": True}]}
BORROWER = {"key": "borrower", "version": 1, "label": {"zh-CN": "读者", "en": "Borrower"},
            "permissions": {"loan": ["create", "read"]}}
LIBRARIAN = {"key": "librarian", "version": 1, "label": {"zh-CN": "馆员", "en": "Librarian"},
             "permissions": {"loan": ["create", "read", "update", "delete"]}}


@pytest.fixture
def bea(jimu, client):
    """A designer (a builder of the organisation) who creates the library app in the builder."""
    install_package(jimu, directory())
    make_user(jimu, "bea", roles=["designer"])
    for name in ("lin", "max", "ora"):
        make_user(jimu, name)
    login(client, "bea")
    assert client.post("/builder/api/apps", json={"key": APP, "label": "图书馆"}).status_code == 201
    return client


def _draft(client):
    resp = client.get(f"/builder/api/apps/{APP}/draft")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _save(client, draft, **extra):
    return client.put(f"/builder/api/apps/{APP}/draft",
                      json={"package": draft["package"], "revision": draft["revision"], **extra})


def _holds(jimu, username):
    with jimu.read() as conn:
        return sorted(conn.execute(sa.select(db.roles.c.key)
                                   .join(db.user_roles, db.user_roles.c.role_id == db.roles.c.id)
                                   .join(db.users, db.users.c.id == db.user_roles.c.user_id)
                                   .where(db.users.c.username == username)).scalars().all())


def _uid(jimu, username):
    with jimu.read() as conn:
        return conn.execute(sa.select(db.users.c.id).where(db.users.c.username == username)).scalar()


def test_roles_given_in_a_draft_are_pending_until_publish_then_held(bea, jimu, client):
    draft = _draft(bea)
    draft["package"]["forms"] = [LOAN]
    draft["package"]["roles"] = [BORROWER, LIBRARIAN]
    resp = _save(bea, draft, holders={"borrower": {"add": ["lin", "max", "lin"]}, "librarian": {"add": ["ora"]}})
    assert resp.status_code == 200, resp.get_json()
    draft = resp.get_json()
    # pending: kept with the draft (not in the package, whose export stays as built), nobody holds it yet
    assert draft["holders"] == {"borrower": {"add": ["lin", "max"]}, "librarian": {"add": ["ora"]}}
    assert _draft(bea)["holders"] == draft["holders"]
    assert _draft(bea)["current_holders"] == {"library_builders": ["bea"]}    # the creator's builder role
    assert "holders" not in str(bea.get(f"/builder/api/apps/{APP}/export?draft=1").get_json())
    assert _holds(jimu, "lin") == []
    # a save that does not name holders keeps them (other designers save the package only)
    draft = _save(bea, draft).get_json()
    assert draft["holders"]["borrower"] == {"add": ["lin", "max"]}

    resp = bea.post(f"/builder/api/apps/{APP}/publish", json={"revision": draft["revision"]})
    assert resp.status_code == 201, resp.get_json()
    assert sorted(resp.get_json()["holders"]["added"]) == [["borrower", "lin"], ["borrower", "max"],
                                                          ["librarian", "ora"]]
    assert (_holds(jimu, "lin"), _holds(jimu, "ora")) == (["borrower"], ["librarian"])
    # no second edit: lin creates a loan at once with the role the draft gave
    token = api_token(jimu, _uid(jimu, "lin"))
    r = client.post("/api/v1/forms/loan/records", json={"book": "围城"}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.get_json()
    # the change is audited like the users page's
    with jimu.read() as conn:
        events = conn.execute(sa.select(db.events.c.data).where(db.events.c.kind == "user.updated")).scalars().all()
    assert {"user_id": _uid(jimu, "lin"), "username": "lin", "changes": {"roles": [[], ["borrower"]]},
            "app": APP} in events

    # the next draft opens with who holds what, and takes a role away on publish
    draft = _draft(bea)
    assert draft["current_holders"] == {"borrower": ["lin", "max"], "librarian": ["ora"], "library_builders": ["bea"]}
    assert draft["holders"] == {}
    draft = _save(bea, draft, holders={"borrower": {"remove": ["max"]}}).get_json()
    assert _holds(jimu, "max") == ["borrower"]                # pending until published
    resp = bea.post(f"/builder/api/apps/{APP}/publish", json={"revision": draft["revision"]})
    assert resp.status_code == 201 and resp.get_json()["holders"]["removed"] == [["borrower", "max"]]
    assert (_holds(jimu, "max"), _holds(jimu, "lin")) == ([], ["borrower"])


def test_holders_name_the_drafts_own_roles_only(bea, jimu):
    draft = _draft(bea)
    draft["package"]["forms"] = [LOAN]
    draft["package"]["roles"] = [BORROWER]
    for holders, code in (({"designer": {"add": ["lin"]}}, "builder.bad_holders"),       # another app's role
                          ({"borrower": {"add": ["lin"], "remove": ["lin"]}}, "builder.bad_holders"),
                          ({"borrower": ["lin"]}, "builder.bad_holders")):
        resp = _save(bea, draft, holders=holders)
        assert resp.status_code == 400 and resp.get_json()["error"]["code"] == code, resp.get_json()
    assert _holds(jimu, "lin") == [] and _draft(bea)["revision"] == draft["revision"]
    # a user gone by publishing time is skipped and named; the rest applies
    draft = _save(bea, draft, holders={"borrower": {"add": ["lin", "ghost"]}}).get_json()
    resp = bea.post(f"/builder/api/apps/{APP}/publish", json={"revision": draft["revision"]}).get_json()
    assert resp["holders"]["added"] == [["borrower", "lin"]] and resp["holders"]["unknown"] == ["ghost"]


def test_a_refused_save_and_a_taken_app_name_are_said_in_the_ui_language(bea):
    """The save's and the create's refusals read in the designer's language (the code stays for scripts)."""
    draft = _draft(bea)
    draft["package"]["forms"] = [LOAN]
    draft["package"]["roles"] = [BORROWER]
    cases = (({"designer": {"add": ["lin"]}}, "草稿中没有角色 'designer'", "the draft has no role 'designer'"),
             ({"borrower": {"add": ["lin", "max"], "remove": ["max", "lin"]}}, "同时添加又移除了 lin, max",
              "both gives and takes lin, max"),
             ({"borrower": {"add": [""]}}, "角色 'borrower' 的 add 列表只能填用户名", "the add list of role 'borrower'"),
             ([], "角色成员的格式是", "holders is an object"))
    for holders, zh, en in cases:
        for lang, words in (("zh-CN", zh), ("en", en)):
            resp = bea.put(f"/builder/api/apps/{APP}/draft?lang={lang}",
                           json={"package": draft["package"], "revision": draft["revision"], "holders": holders})
            error = resp.get_json()["error"]
            assert resp.status_code == 400 and error["code"] == "builder.bad_holders", error
            assert words in error["message"], (lang, error)
    for lang, words in (("zh-CN", f"应用 '{APP}' 已存在"), ("en", f"an app '{APP}' already exists")):
        error = bea.post(f"/builder/api/apps?lang={lang}", json={"key": APP}).get_json()["error"]
        assert error["code"] == "builder.app_exists" and error["message"].startswith(words), error


def test_every_refusal_of_the_builder_api_is_said_in_the_ui_language(bea, monkeypatch):
    """Each refusal of the builder API reads in the designer's language, its code unchanged: a bad or
    changed app key, a too large or malformed draft, a missing revision, a stale save or publish, an
    unknown version, kind or rule, a preview or rule check without its definition."""
    from builder import drafts
    monkeypatch.setattr(drafts, "MAX_DRAFT_BYTES", 2**20)
    draft = _draft(bea)
    renamed = {**draft["package"], "app": {**draft["package"]["app"], "key": "other"}}
    big = {**draft["package"], "forms": [{**LOAN, "help": "x" * 2**20}]}
    base = f"/builder/api/apps/{APP}"
    cases = (("post", "/builder/api/apps", {"key": "1 bad"}, "builder.bad_key",
              "应用标识以字母、下划线或汉字开头", "an app key is a letter"),
             ("put", f"{base}/draft", {"package": renamed, "revision": draft["revision"]}, "builder.key_changed",
              f"草稿的 app.key 必须保持为 '{APP}'", f"the draft's app.key must stay '{APP}'"),
             ("put", f"{base}/draft", {"package": big, "revision": draft["revision"]}, "builder.draft_too_large",
              "草稿超过 1 MiB", "the draft is larger than 1 MiB"),
             ("put", f"{base}/draft", {"package": [], "revision": draft["revision"]}, "builder.bad_draft",
              "草稿是一个 JSON 对象", "the draft is a JSON object"),
             ("put", f"{base}/draft", {"package": draft["package"]}, "builder.no_revision",
              "请提供你开始编辑时的草稿修订号", "give the draft revision"),
             ("put", f"{base}/draft", {"package": draft["package"], "revision": draft["revision"] + 5},
              "builder.draft_conflict", "你打开草稿后有人保存了它", "someone saved this draft after you opened it"),
             ("put", f"{base}/draft", "not an object", "request.not_json", "请发送一个 JSON 对象", "send a JSON object"),
             ("post", f"{base}/publish", {"revision": draft["revision"] + 5}, "builder.draft_conflict",
              "草稿在你上次查看后已变更", "the draft changed since you last saw it"),
             ("post", f"{base}/versions/999/rollback", {}, "builder.not_found",
              f"应用 '{APP}' 没有版本 #999", f"app '{APP}' has no version #999"),
             ("get", f"{base}/names/widgets", None, "request.bad_param", "类型必须是以下之一", "kind must be one of"),
             ("post", f"{base}/preview", {}, "builder.no_form", "请提供要预览的表单定义", "give the form definition"),
             ("post", f"{base}/reports/preview", {}, "builder.no_report", "请提供要预览的报表定义",
              "give the report definition"),
             ("post", f"{base}/rules/check", {"key": "ghost"}, "builder.not_found", "草稿中没有规则 'ghost'",
              "the draft has no rule 'ghost'"),
             ("post", f"{base}/rules/check", {}, "builder.no_rule", "请发送 {\"rule\"", "send {\"rule\""),
             ("post", f"{base}/rules/check", {"rule": {"form": "nope"}}, "builder.unknown_form",
              "规则监听的 'nope' 不是本应用的表单", "the rule watches 'nope'"))
    for method, url, body, code, zh, en in cases:
        for lang, words in (("zh-CN", zh), ("en", en)):
            resp = getattr(bea, method)(f"{url}?lang={lang}", json=body)
            error = resp.get_json()["error"]
            assert resp.status_code >= 400 and error["code"] == code, (url, error)
            assert error["message"].startswith(words), (lang, error)


def test_every_builder_refusal_has_a_chinese_message():
    """Every message a builder refusal is said with (``BuilderError.said``, and the permission checks'
    ``PermissionDenied.said``) is in the zh-CN catalog."""
    import ast
    from pathlib import Path

    from runtime.i18n import load_catalogs
    said = []
    root = Path(__file__).parents[2]
    for path in [*root.joinpath("builder").glob("*.py"), root / "runtime" / "auth" / "policy.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "said"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                said.append(node.args[0].value)
    zh = load_catalogs()["zh-CN"]
    assert len(said) > 20
    assert [m for m in said if m not in zh] == []


def test_only_the_apps_builders_give_its_roles(bea, jimu, client):
    draft = _draft(bea)
    draft["package"]["forms"] = [LOAN]
    draft["package"]["roles"] = [BORROWER]
    draft = _save(bea, draft).get_json()
    # a designer of another app, and a plain user, try to give themselves the library's role
    install_package(jimu, {"format": "jimu.app", "version": 2,
                           "app": {"key": "garden", "version": "1.0.0", "label": "Garden"},
                           "roles": [{"key": "gardener", "version": 1, "label": "Gardener", "builder": True,
                                      "permissions": {}}]})
    make_user(jimu, "gus", roles=["gardener"])
    client.post("/logout")
    for name, code in (("gus", "permission.app_builder"), ("lin", "permission.builder")):
        login(client, name)
        resp = _save(client, draft, holders={"borrower": {"add": [name]}})
        assert resp.status_code == 403 and resp.get_json()["error"]["code"] == code, resp.get_json()
        resp = client.post(f"/builder/api/apps/{APP}/publish", json={"revision": draft["revision"]})
        assert resp.status_code == 403
        # the refusal in the person's language, as every other builder refusal
        zh = client.put(f"/builder/api/apps/{APP}/draft?lang=zh-CN", json={
            "package": draft["package"], "revision": draft["revision"],
            "holders": {"borrower": {"add": [name]}}}).get_json()["error"]
        assert zh["code"] == code and zh["message"] == {
            "permission.app_builder": f"你不是应用 '{APP}' 的设计者; 请让管理员给你该应用的设计者角色",
            "permission.builder": "只有拥有设计者角色的用户才能设计应用"}[code], zh
        client.post("/logout")
    login(client, "bea")
    assert _draft(client)["holders"] == {}
    assert client.post(f"/builder/api/apps/{APP}/publish", json={"revision": draft["revision"]}).status_code == 201
    assert _holds(jimu, "gus") == ["gardener"] and _holds(jimu, "lin") == []
