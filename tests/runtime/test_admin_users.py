"""People administration: /admin/users and /api/v1/users (administrators only), on SQLite and PostgreSQL."""
from __future__ import annotations

import re

import sqlalchemy as sa

from runtime import db
from tests.conftest import api_token, install_package, make_user
from tests.sample_package import package


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, username, password="pw-123456"):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)
    return csrf_from(client.get("/").get_data(as_text=True))


def events(jimu, kind):
    with jimu.read() as conn:
        return [dict(r) for r in conn.execute(sa.select(db.events).where(db.events.c.kind == kind)
                                              .order_by(db.events.c.id)).mappings()]


def user_id(jimu, username):
    with jimu.read() as conn:
        return conn.execute(sa.select(db.users.c.id).where(db.users.c.username == username)).scalar_one()


def test_admin_creates_a_user_gives_a_role_and_the_user_can_work(app, jimu):
    install_package(jimu, package())
    admin_id = make_user(jimu, "root", admin=True)
    admin = app.test_client()
    token = login(admin, "root")
    page = admin.get("/admin/users")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-username="root"' in html and 'data-link="admin-users"' in html
    form = admin.get("/admin/users/new").get_data(as_text=True)
    assert 'value="sales"' in form and "销售" in form and 'value="east"' in form and "华东" in form
    r = admin.post("/admin/users/new", data={"csrf_token": token, "username": "lily", "display_name": "李丽",
                                             "email": "lily@example.com", "password": "Start-2026"})
    assert r.status_code == 302
    lily = user_id(jimu, "lily")
    assert r.headers["Location"].endswith(f"/admin/users/{lily}")
    # the user exists but has no role yet: she may not create a customer
    other = app.test_client()
    tok2 = login(other, "lily", "Start-2026")
    denied = other.post("/api/v1/forms/客户/records", json={"名称": "华为"}, headers={"X-CSRF-Token": tok2})
    assert denied.status_code == 403
    # the admin ticks the sales role and the east group
    r = admin.post(f"/admin/users/{lily}", data={"csrf_token": token, "display_name": "李丽", "email":
                                                 "lily@example.com", "is_active": "on", "roles": ["sales"],
                                                 "groups": ["east"]})
    assert r.status_code == 302
    edit = admin.get(f"/admin/users/{lily}").get_data(as_text=True)
    assert re.search(r'value="sales" checked', edit) and re.search(r'value="east" checked', edit)
    assert not re.search(r'value="viewer" checked', edit)
    other = app.test_client()
    tok2 = login(other, "lily", "Start-2026")
    ok = other.post("/api/v1/forms/客户/records", json={"名称": "华为"}, headers={"X-CSRF-Token": tok2})
    assert ok.status_code == 201, ok.get_data(as_text=True)
    listing = admin.get("/admin/users?q=lil").get_data(as_text=True)
    assert 'data-username="lily"' in listing and 'data-username="root"' not in listing
    assert "销售" in listing and "华东" in listing and "lily@example.com" in listing
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", listing)       # her last login is shown
    created, updated = events(jimu, "user.created"), events(jimu, "user.updated")
    assert created[0]["actor_id"] == admin_id and created[0]["data"]["username"] == "lily"
    assert "Start-2026" not in str(created)
    assert updated[-1]["actor_id"] == admin_id
    assert updated[-1]["data"]["changes"]["roles"] == [[], ["sales"]]
    assert updated[-1]["data"]["changes"]["groups"] == [[], ["east"]]


def test_non_admin_gets_403_on_page_and_api(app, jimu):
    uid = make_user(jimu, "bob")
    client = app.test_client()
    token = login(client, "bob")
    assert 'data-link="admin-users"' not in client.get("/").get_data(as_text=True)
    for path in ("/admin/users", "/admin/users/new", f"/admin/users/{uid}"):
        assert client.get(path).status_code == 403
    r = client.post("/admin/users/new", data={"csrf_token": token, "username": "x", "password": "Passw0rd!"})
    assert r.status_code == 403
    headers = {"Authorization": f"Bearer {api_token(jimu, uid)}"}
    r = client.get("/api/v1/users", headers=headers)
    assert r.status_code == 403 and r.json["error"]["code"] == "admin.required"
    r = client.post("/api/v1/users", json={"username": "x", "password": "Passw0rd!"}, headers=headers)
    assert r.status_code == 403
    r = client.patch(f"/api/v1/users/{uid}", json={"is_admin": True}, headers=headers)
    assert r.status_code == 403
    assert app.test_client().get("/api/v1/users").status_code == 401
    with jimu.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.users)).scalar_one() == 1
        assert conn.execute(sa.select(db.users.c.is_admin)).scalar_one() is False


def test_api_create_list_patch_and_audit(client, jimu, admin_headers):
    install_package(jimu, package())
    r = client.post("/api/v1/users", json={"username": "wang", "display_name": "王五", "email": "wang@example.com",
                                           "password": "Secret-123", "roles": ["viewer"]}, headers=admin_headers)
    assert r.status_code == 201, r.json
    user = r.json["user"]
    assert user["username"] == "wang" and user["roles"] == ["viewer"] and user["is_active"] is True
    assert "password" not in str(r.json)
    r = client.patch(f"/api/v1/users/{user['id']}", json={"roles": ["sales"], "groups": ["east"],
                                                         "email": "w5@example.com", "is_active": False},
                     headers=admin_headers)
    assert r.status_code == 200 and r.json["user"]["roles"] == ["sales"] and r.json["user"]["groups"] == ["east"]
    assert r.json["user"]["is_active"] is False and r.json["user"]["email"] == "w5@example.com"
    one = client.get(f"/api/v1/users/{user['id']}", headers=admin_headers).json["user"]
    assert one["roles"] == ["sales"] and one["last_login"] is None
    listed = client.get("/api/v1/users?q=wang", headers=admin_headers).json
    assert listed["total"] == 1 and listed["users"][0]["username"] == "wang"
    for wild in ("w_ng", "w%g"):      # LIKE's wildcards are searched for as they are written
        assert client.get("/api/v1/users", query_string={"q": wild}, headers=admin_headers).json["total"] == 0
    page = client.get("/api/v1/users?per_page=1&page=2", headers=admin_headers).json
    assert page["total"] == 2 and len(page["users"]) == 1
    # the deactivated user cannot log in; a password reset is audited without the password
    token = csrf_from(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"username": "wang", "password": "Secret-123",
                                       "csrf_token": token}).status_code == 401
    r = client.patch(f"/api/v1/users/{user['id']}", json={"is_active": True, "password": "Other-456"},
                     headers=admin_headers)
    assert r.status_code == 200
    fresh = client.application.test_client()
    login(fresh, "wang", "Other-456")
    resets = events(jimu, "user.password_reset")
    assert len(resets) == 1 and "Other-456" not in str(resets)
    changes = [e["data"]["changes"] for e in events(jimu, "user.updated")]
    assert changes[0]["is_active"] == [True, False] and changes[0]["email"] == ["wang@example.com", "w5@example.com"]
    assert changes[1] == {"is_active": [False, True]}
    assert events(jimu, "user.created")[0]["data"]["roles"] == ["viewer"]


def test_coded_errors(client, jimu, admin_headers):
    install_package(jimu, package())
    make_user(jimu, "taken")

    def post(**body):
        return client.post("/api/v1/users", json=body, headers=admin_headers)

    cases = [({"username": "taken", "password": "Passw0rd!"}, "user.exists"),
             ({"username": "", "password": "Passw0rd!"}, "user.invalid_username"),
             ({"username": "n1", "password": "Passw0rd!", "email": "not-an-email"}, "user.bad_email"),
             ({"username": "n2", "password": "short1"}, "user.weak_password"),
             ({"username": "n3", "password": "12345678901"}, "user.weak_password"),
             ({"username": "longname1", "password": "longname1"}, "user.weak_password"),
             ({"username": "n4", "password": "Passw0rd!", "roles": ["nope"]}, "user.unknown_role"),
             ({"username": "n5", "password": "Passw0rd!", "groups": ["nope"]}, "user.unknown_group")]
    for body, code in cases:
        r = post(**body)
        status = 409 if code == "user.exists" else 400  # a taken name conflicts with what is stored
        assert r.status_code == status and r.json["error"]["code"] == code, (body, r.json)
    r = client.post("/api/v1/users", data="x", headers=admin_headers, content_type="application/json")
    assert r.status_code == 400 and r.json["error"]["code"] == "request.not_json"
    r = client.post("/api/v1/users", data="x", headers=admin_headers)
    assert r.status_code == 415 and r.json["error"]["code"] == "request.unsupported_media_type"
    with jimu.read() as conn:   # nothing half-created
        assert sorted(conn.execute(sa.select(db.users.c.username)).scalars()) == ["admin", "taken"]
    uid = user_id(jimu, "taken")
    r = client.patch(f"/api/v1/users/{uid}", json={"username": "renamed"}, headers=admin_headers)
    assert r.status_code == 400 and r.json["error"]["code"] == "user.not_editable"
    r = client.patch("/api/v1/users/99999", json={"is_active": False}, headers=admin_headers)
    assert r.status_code == 404 and r.json["error"]["code"] == "user.not_found"
    r = client.patch(f"/api/v1/users/{uid}", json={"is_active": "no"}, headers=admin_headers)
    assert r.status_code == 400 and r.json["error"]["code"] == "user.invalid"
    assert not events(jimu, "user.created") and not events(jimu, "user.updated")


def test_admin_cannot_lock_themselves_out(app, jimu, admin_headers):
    admin_id = user_id(jimu, "admin")
    client = app.test_client()
    for change in ({"is_active": False}, {"is_admin": False}):
        r = client.patch(f"/api/v1/users/{admin_id}", json=change, headers=admin_headers)
        assert r.status_code == 403 and r.json["error"]["code"] == "user.self_lockout"
    make_user(jimu, "root", admin=True)
    token = login(client, "root")
    root = user_id(jimu, "root")
    r = client.post(f"/admin/users/{root}", data={"csrf_token": token, "display_name": "Root"})  # boxes unticked
    assert r.status_code == 422 and 'data-code="user.self_lockout"' in r.get_data(as_text=True)
    with jimu.read() as conn:
        row = conn.execute(sa.select(db.users).where(db.users.c.id == root)).mappings().one()
    assert row["is_active"] and row["is_admin"] and row["display_name"] == "root"
    # another admin may demote them
    r = client.patch(f"/api/v1/users/{root}", json={"is_admin": False}, headers=admin_headers)
    assert r.status_code == 200 and r.json["user"]["is_admin"] is False


def test_page_shows_coded_errors_and_keeps_input(app, jimu):
    install_package(jimu, package())
    make_user(jimu, "root", admin=True)
    client = app.test_client()
    token = login(client, "root")
    r = client.post("/admin/users/new", data={"csrf_token": token, "username": "root", "password": "Passw0rd!",
                                              "email": "r@example.com", "roles": ["sales"]})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'data-code="user.exists"' in html and "该用户名已被使用" in html
    assert 'value="r@example.com"' in html and 'value="sales" checked' in html and "Passw0rd!" not in html
    r = client.post("/admin/users/new?lang=en", data={"csrf_token": token, "username": "amy", "password": "abc"})
    assert r.status_code == 422 and "Weak password" in r.get_data(as_text=True)
    r = client.post("/admin/users/new", data={"csrf_token": token, "username": "amy", "password": "Passw0rd!",
                                              "email": "bad@"})
    assert r.status_code == 422 and 'data-code="user.bad_email"' in r.get_data(as_text=True)
    r = client.post("/admin/users/new", data={"username": "amy", "password": "Passw0rd!"})   # no CSRF token
    assert r.status_code == 403
    with jimu.read() as conn:
        assert conn.execute(sa.select(db.users.c.id).where(db.users.c.username == "amy")).first() is None


def test_list_pages(app, jimu):
    make_user(jimu, "root", admin=True)
    for i in range(30):
        make_user(jimu, f"user{i:02d}")
    client = app.test_client()
    login(client, "root")
    first = client.get("/admin/users").get_data(as_text=True)
    assert first.count("data-username=") == 25 and "1 / 2" in first and 'rel="next"' in first
    second = client.get("/admin/users?page=2").get_data(as_text=True)
    assert second.count("data-username=") == 6
