"""Output safety over HTTP (issue 13 item 5): every response carries a strict Content-Security-Policy,
nosniff and a Referrer-Policy; app pages refuse to be framed; a purchasing app's public request form
may be framed by the origin it declares and is submitted there without any cookie (a cross-site
iframe gets none); no page carries inline script."""
import re

import pytest

from tests.conftest import install_package, make_user, sign_in

SITE = "https://intranet.example.com"

PKG = {"format": "jimu.app", "version": 2, "app": {"key": "purchasing", "version": "1.0.0", "label": "Purchasing"},
       "forms": [
    {"key": "采购申请", "version": 1, "label": {"zh-CN": "采购申请", "en": "Purchase request"}, "title_field": "物品",
     "fields": [{"key": "物品", "label": "物品", "widget": "text", "required": True},
                {"key": "数量", "label": "数量", "widget": "number"}],
     "public": {"submit": {"fields": ["物品", "数量"]}, "status": {"fields": ["物品"]},
                "embed_origins": [SITE]}},
    {"key": "供应商", "version": 1, "label": "供应商",
     "fields": [{"key": "名称", "label": "名称", "widget": "text"}],
     "public": {"submit": {"fields": ["名称"]}}},
]}


def login(client, uid):
    sign_in(client, client.application.extensions["jimu"], uid)


def policy(resp) -> dict[str, str]:
    out = {}
    for part in resp.headers["Content-Security-Policy"].split(";"):
        name, _, value = part.strip().partition(" ")
        out[name] = value
    return out


def test_app_pages_carry_a_strict_policy_and_refuse_framing(client, jimu):
    install_package(jimu, PKG)
    login(client, make_user(jimu, "buyer", admin=True))
    for url in ("/login", "/", "/forms/采购申请", "/forms/采购申请/new", "/builder/", "/api/v1/forms"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        csp = policy(resp)
        assert csp["script-src"] == "'self'", url                 # no inline script, no eval, no other host
        assert csp["object-src"] == "'none'" and csp["base-uri"] == "'self'"
        assert csp["frame-ancestors"] == "'none'" and resp.headers["X-Frame-Options"] == "DENY", url
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "same-origin"


def test_public_form_is_framable_only_by_the_declared_origins(client, jimu):
    install_package(jimu, PKG)
    resp = client.get("/p/采购申请")
    assert policy(resp)["frame-ancestors"] == SITE and "X-Frame-Options" not in resp.headers
    assert policy(resp)["script-src"] == "'self'"
    undeclared = client.get("/p/供应商")
    assert policy(undeclared)["frame-ancestors"] == "'none'" and undeclared.headers["X-Frame-Options"] == "DENY"


def test_embedded_public_form_submits_without_a_session_cookie(app, jimu, admin_headers):
    """Inside another site's iframe the browser sends no SameSite cookie: the form must not need one."""
    install_package(jimu, PKG)
    page = app.test_client().get("/p/采购申请").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    cookieless = app.test_client(use_cookies=False)
    resp = cookieless.post("/p/采购申请", data={"csrf_token": token, "物品": "显示器", "数量": "2"})
    assert resp.status_code == 201, resp.get_data(as_text=True)[:500]
    assert policy(resp)["frame-ancestors"] == SITE                 # the thank-you page shows in the frame too
    rows = app.test_client().get("/api/v1/forms/采购申请/records", headers=admin_headers).get_json()["records"]
    assert [(r["物品"], r["数量"]) for r in rows] == [("显示器", 2)]
    # the token is bound to its form and must be genuine
    assert cookieless.post("/p/供应商", data={"csrf_token": token, "名称": "x"}).status_code == 403
    assert cookieless.post("/p/采购申请", data={"csrf_token": token[:-2] + "xx", "物品": "y"}).status_code == 403
    assert cookieless.post("/p/采购申请", data={"物品": "y"}).status_code == 403


def test_embed_origins_must_be_origins():
    from apps import PackageError, load_package
    import json
    bad = json.loads(json.dumps(PKG))
    bad["forms"][0]["public"]["embed_origins"] = ["https://x.example.com/path", "javascript:alert(1)"]
    with pytest.raises(PackageError) as err:
        load_package(json.dumps(bad).encode())
    pointers = {e["pointer"] for e in err.value.errors}
    assert {"/forms/0/public/embed_origins/0", "/forms/0/public/embed_origins/1"} <= pointers


SCRIPT = re.compile(r"<script\b([^>]*)>", re.I)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_no_page_carries_inline_script(client, jimu):
    install_package(jimu, PKG)
    login(client, make_user(jimu, "buyer", admin=True))
    rid = client.post("/api/v1/forms/采购申请/records", json={"物品": "键盘"},
                      headers={"X-CSRF-Token": "tok"}).get_json()["id"]
    pages = ["/", "/login", "/forms/采购申请", "/forms/采购申请/new", f"/forms/采购申请/{rid}",
             f"/forms/采购申请/{rid}/edit", f"/forms/采购申请/{rid}/process", "/tasks", "/dashboards",
             "/admin/users", "/builder/", "/builder/apps/purchasing", "/builder/apps/purchasing/forms/采购申请",
             "/p/采购申请"]
    for url in pages:
        resp = client.get(url)
        assert resp.status_code == 200, url
        for attrs in SCRIPT.findall(resp.get_data(as_text=True)):
            assert "src=" in attrs or 'type="application/json"' in attrs, (url, attrs)
        assert not re.search(r"\son[a-z]+=", resp.get_data(as_text=True)), url
