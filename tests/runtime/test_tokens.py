"""API tokens from the outside: a page, an API and a CLI create them (the secret once, stored hashed),
name, scope (apps/forms, read or write), expire and revoke them; last use is recorded; every change is
audited; Bearer requests honour scope, expiry and revocation. (On the old main only tests could make a
token, and a token always had every right of its user forever.)"""
from __future__ import annotations

import re

import sqlalchemy as sa

from runtime import db
from tests.runtime.identity_fixtures import install_both, login, make_user, page_csrf

PO = "/api/v1/forms/purchase_order/records"
STOCK = "/api/v1/forms/stock_item/records"


def bearer(secret):
    return {"Authorization": f"Bearer {secret}"}


def signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    client.environ_base["HTTP_X_CSRF_TOKEN"] = page_csrf(client)
    return client


def make_token(client, **data):
    r = client.post("/api/v1/tokens", json=dict({"name": "integration"}, **data))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def kinds(jimu, prefix):
    with jimu.read() as conn:
        return conn.execute(sa.select(db.events.c.kind, db.events.c.actor_id, db.events.c.data)
                            .where(db.events.c.kind.like(prefix + "%")).order_by(db.events.c.id)).all()


def test_a_user_creates_a_token_sees_the_secret_once_and_it_is_stored_hashed(app, jimu):
    install_both(jimu)
    uid = make_user(jimu, "ann", roles=["buyer"])
    ann = signed_in(app, "ann")
    made = make_token(ann, name="ERP sync", access="write", apps=["purchasing"], expires_in_days=30)
    secret = made["secret"]
    assert secret.startswith("jimu_") and made["token"]["hint"] == secret[:9]
    assert made["token"]["scope"] == {"access": "write", "apps": ["purchasing"], "forms": []}
    listed = ann.get("/api/v1/tokens").get_json()["tokens"]
    assert [t["name"] for t in listed] == ["ERP sync"] and secret not in str(listed)
    with jimu.read() as conn:
        stored = [str(v) for row in conn.execute(sa.select(db.api_tokens)) for v in row]
    assert not any(secret in v or secret[9:] in v for v in stored)
    r = app.test_client().post(PO, json={"title": "Paper", "amount": 12}, headers=bearer(secret))
    assert r.status_code == 201
    created = kinds(jimu, "token.")
    assert [(k, a) for k, a, _ in created] == [("token.created", uid)]
    assert created[0].data["scope"]["apps"] == ["purchasing"] and "secret" not in str(created[0].data)


def test_read_only_token_reads_but_cannot_write(app, jimu, admin_headers):
    install_both(jimu)
    make_user(jimu, "ann", roles=["buyer"])
    app.test_client().post(PO, json={"title": "Chairs"}, headers=admin_headers)
    secret = make_token(signed_in(app, "ann"), access="read")["secret"]
    client = app.test_client()
    assert client.get(PO, headers=bearer(secret)).get_json()["total"] == 1
    r = client.post(PO, json={"title": "Desks"}, headers=bearer(secret))
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "permission.denied"
    rid = client.get(PO, headers=bearer(secret)).get_json()["records"][0]["id"]
    assert client.patch(f"{PO}/{rid}", json={"amount": 1}, headers=bearer(secret)).status_code == 403
    assert client.delete(f"{PO}/{rid}", headers=bearer(secret)).status_code == 403


def test_app_and_form_scopes_limit_the_token_and_never_exceed_the_user(app, jimu):
    install_both(jimu)
    make_user(jimu, "root", admin=True)
    make_user(jimu, "ann", roles=["buyer"])
    root = signed_in(app, "root")
    by_app = make_token(root, access="write", apps=["purchasing"])["secret"]
    by_form = make_token(root, access="read", forms=["stock_item"])["secret"]
    client = app.test_client()
    assert client.post(PO, json={"title": "Ink"}, headers=bearer(by_app)).status_code == 201
    assert client.get(STOCK, headers=bearer(by_app)).status_code == 403
    assert client.post(STOCK, json={"sku": "A-1"}, headers=bearer(by_app)).status_code == 403
    assert client.get(STOCK, headers=bearer(by_form)).status_code == 200
    assert client.get(PO, headers=bearer(by_form)).status_code == 403
    # an administrator's narrowed token is a plain data token: no user administration, no app import
    assert client.get("/api/v1/users", headers=bearer(by_app)).status_code == 403
    assert client.post("/api/v1/tokens", json={"name": "wider"}, headers=bearer(by_app)).get_json()["error"][
        "code"] == "token.scope"
    # ann holds no inventory role: a token scoped to inventory gives her nothing there
    inv = make_token(signed_in(app, "ann"), access="write", apps=["inventory"])["secret"]
    assert client.get(STOCK, headers=bearer(inv)).status_code == 403
    assert client.get(PO, headers=bearer(inv)).status_code == 403


def test_a_token_keeps_the_users_row_and_field_limits_and_an_admin_token_reads_every_row(app, jimu):
    install_both(jimu)
    for name in ("ann", "bob"):
        make_user(jimu, name, roles=["requester"])
    make_user(jimu, "root", admin=True)
    client = app.test_client()
    root_full = make_token(signed_in(app, "root"), name="full")["secret"]
    for name in ("ann", "bob"):
        full = make_token(signed_in(app, name), name="full")["secret"]
        rid = client.post(PO, json={"title": f"{name}'s order"}, headers=bearer(full)).get_json()["id"]
        assert client.patch(f"{PO}/{rid}", json={"amount": 5}, headers=bearer(root_full)).status_code == 200
    ann_read = make_token(signed_in(app, "ann"), access="read", apps=["purchasing"])["secret"]
    rows = client.get(PO, headers=bearer(ann_read)).get_json()["records"]
    assert [r["title"] for r in rows] == ["ann's order"] and all("amount" not in r or r["amount"] is None
                                                                  for r in rows)
    root_read = make_token(signed_in(app, "root"), access="read", forms=["purchase_order"])["secret"]
    rows = client.get(PO, headers=bearer(root_read)).get_json()["records"]
    assert sorted(r["title"] for r in rows) == ["ann's order", "bob's order"] and {r["amount"] for r in rows} == {5}


def test_an_app_builders_narrowed_token_carries_no_builder_rights(app, jimu):
    install_both(jimu)
    make_user(jimu, "olga", roles=["purchasing_owner"])
    olga = signed_in(app, "olga")
    full, narrow = make_token(olga)["secret"], make_token(olga, access="write", apps=["purchasing"])["secret"]
    client = app.test_client()
    assert client.get("/api/v1/apps/purchasing/export", headers=bearer(full)).status_code == 200
    assert client.get("/api/v1/apps/purchasing/export", headers=bearer(narrow)).status_code == 403
    assert client.get(PO, headers=bearer(narrow)).status_code == 200


def test_a_full_token_keeps_the_users_rights(app, jimu):
    install_both(jimu)
    make_user(jimu, "root", admin=True)
    secret = make_token(signed_in(app, "root"), access="write")["secret"]
    client = app.test_client()
    assert client.get("/api/v1/users", headers=bearer(secret)).status_code == 200
    r = client.post("/api/v1/tokens", json={"name": "child", "access": "read"}, headers=bearer(secret))
    assert r.status_code == 201


def test_expired_token_is_refused(app, jimu, clock):
    install_both(jimu)
    make_user(jimu, "ann", roles=["buyer"])
    secret = make_token(signed_in(app, "ann"), access="read", expires_in_days=1)["secret"]
    client = app.test_client()
    assert client.get(PO, headers=bearer(secret)).status_code == 200
    clock.advance(days=1, seconds=1)
    r = client.get(PO, headers=bearer(secret))
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "auth.token_expired"
    listed = signed_in(app, "ann").get("/api/v1/tokens").get_json()["tokens"]
    assert listed[0]["status"] == "expired"


def test_revocation_by_owner_and_admin_but_not_by_another_user(app, jimu):
    install_both(jimu)
    make_user(jimu, "ann", roles=["buyer"])
    make_user(jimu, "bob", roles=["buyer"])
    admin_id = make_user(jimu, "root", admin=True)
    ann = signed_in(app, "ann")
    first, second = make_token(ann, name="one"), make_token(ann, name="two")
    bob = signed_in(app, "bob")
    assert bob.delete(f"/api/v1/tokens/{first['token']['id']}").status_code == 404
    assert bob.get("/api/v1/tokens", query_string={"user_id": first["token"]["user_id"]}).status_code == 403
    assert bob.post("/api/v1/tokens", json={"name": "x", "user_id": first["token"]["user_id"]}).status_code == 403
    client = app.test_client()
    assert client.get(PO, headers=bearer(first["secret"])).status_code == 200
    assert ann.delete(f"/api/v1/tokens/{first['token']['id']}").get_json()["token"]["status"] == "revoked"
    r = client.get(PO, headers=bearer(first["secret"]))
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "auth.token_revoked"
    root = signed_in(app, "root")
    everyone = root.get("/api/v1/tokens?all=1").get_json()["tokens"]
    assert {t["name"] for t in everyone} == {"one", "two"}
    assert root.delete(f"/api/v1/tokens/{second['token']['id']}").status_code == 200
    assert client.get(PO, headers=bearer(second["secret"])).status_code == 401
    revoked = [(a, d["name"]) for k, a, d in kinds(jimu, "token.revoked")]
    assert revoked == [(first["token"]["user_id"], "one"), (admin_id, "two")]


def test_last_use_is_recorded(app, jimu, clock):
    install_both(jimu)
    make_user(jimu, "ann", roles=["buyer"])
    ann = signed_in(app, "ann")
    made = make_token(ann, access="read")
    assert made["token"]["last_used_at"] is None
    clock.advance(minutes=5)
    app.test_client().get(PO, headers=bearer(made["secret"]))
    shown = ann.get(f"/api/v1/tokens/{made['token']['id']}").get_json()["token"]
    assert shown["last_used_at"] == clock.now.isoformat()


def test_bad_scope_and_expiry_are_refused_with_the_fix(app, jimu):
    install_both(jimu)
    make_user(jimu, "ann", roles=["buyer"])
    ann = signed_in(app, "ann")
    cases = [({"name": ""}, "token.bad_name"), ({"name": "x", "access": "admin"}, "token.bad_access"),
             ({"name": "x", "apps": ["nope"]}, "token.unknown_app"),
             ({"name": "x", "forms": ["nope"]}, "token.unknown_form"),
             ({"name": "x", "expires_in_days": 0}, "token.bad_expiry"),
             ({"name": "x", "expires_at": "2000-01-01T00:00:00+00:00"}, "token.bad_expiry")]
    for data, code in cases:
        r = ann.post("/api/v1/tokens", json=data)
        assert r.status_code == 400 and r.get_json()["error"]["code"] == code, (data, r.get_json())
    assert app.test_client().post("/api/v1/tokens", json={"name": "x"}).status_code == 401


def test_the_token_page_creates_shows_the_secret_once_and_revokes(app, jimu):
    install_both(jimu)
    make_user(jimu, "ann", roles=["buyer"])
    ann = app.test_client()
    login(ann, "ann")
    token = page_csrf(ann, "/account/tokens")
    r = ann.post("/account/tokens", data={"csrf_token": token, "name": "Report export", "access": "read",
                                          "apps": ["purchasing"], "expires_in_days": "90"})
    assert r.status_code == 201 and r.headers["Cache-Control"] == "no-store"
    html = r.get_data(as_text=True)
    secret = re.search(r'id="token-secret">([^<]+)<', html).group(1)
    assert f"Authorization: Bearer {secret}" in html
    page = ann.get("/account/tokens").get_data(as_text=True)
    assert "Report export" in page and secret not in page and secret[:9] in page
    assert app.test_client().get(PO, headers=bearer(secret)).status_code == 200
    tid = re.search(r'data-token-id="(\d+)"', page).group(1)
    r = ann.post(f"/account/tokens/{tid}/revoke", data={"csrf_token": token})
    assert r.status_code == 302
    assert 'data-status="revoked"' in ann.get("/account/tokens").get_data(as_text=True)
    assert app.test_client().get(PO, headers=bearer(secret)).status_code == 401
    assert ann.get("/admin/tokens").status_code == 403


def test_the_admin_token_page_lists_everyones_tokens_and_makes_one_for_a_user(app, jimu):
    install_both(jimu)
    ann_id = make_user(jimu, "ann", roles=["buyer"])
    make_user(jimu, "root", admin=True)
    make_token(signed_in(app, "ann"), name="ann's sync")
    root = app.test_client()
    login(root, "root")
    page = root.get("/admin/tokens").get_data(as_text=True)
    assert "ann&#39;s sync" in page or "ann's sync" in page
    token = page_csrf(root, "/admin/tokens")
    r = root.post("/admin/tokens", data={"csrf_token": token, "name": "for ann", "access": "read",
                                         "user_id": str(ann_id), "expires_in_days": ""})
    assert r.status_code == 201
    with jimu.read() as conn:
        owner, expires = conn.execute(sa.select(db.api_tokens.c.user_id, db.api_tokens.c.expires_at)
                                      .where(db.api_tokens.c.name == "for ann")).one()
    assert owner == ann_id and expires is None


def test_cli_creates_lists_and_revokes_tokens(app, jimu, runner):
    install_both(jimu)
    make_user(jimu, "ann", roles=["buyer"])
    r = runner.invoke(args=["create-token", "ann", "--name", "nightly", "--read-only", "--app", "purchasing",
                            "--expires-in-days", "7"])
    assert r.exit_code == 0, r.output
    secret = r.output.strip().splitlines()[-1]
    client = app.test_client()
    assert client.get(PO, headers=bearer(secret)).status_code == 200
    assert client.post(PO, json={"title": "x"}, headers=bearer(secret)).status_code == 403
    listing = runner.invoke(args=["list-tokens", "ann"]).output
    tid = listing.split("\t")[0]
    assert "nightly" in listing and "read:purchasing" in listing and secret not in listing
    assert runner.invoke(args=["revoke-token", tid]).exit_code == 0
    assert client.get(PO, headers=bearer(secret)).status_code == 401
    bad = runner.invoke(args=["create-token", "nobody", "--name", "x"])
    assert bad.exit_code != 0 and "jimu create-user nobody" in bad.output
    bad = runner.invoke(args=["create-token", "ann", "--name", "x", "--app", "nope"])
    assert bad.exit_code != 0 and "token.unknown_app" in bad.output
    assert [(k, d["via"]) for k, _, d in kinds(jimu, "token.")] == [("token.created", "cli"), ("token.revoked", "cli")]
