"""Login, sessions, CSRF and API tokens."""
import re

from tests.conftest import make_user


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, username, password="pw-123456"):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def test_password_login_and_logout(client, jimu):
    make_user(jimu, "alice", admin=True)
    assert client.get("/").status_code == 302
    r = login(client, "alice", "wrong")
    assert r.status_code == 401 and "alert" in r.get_data(as_text=True)
    r = login(client, "alice")
    assert r.status_code == 302
    assert client.get("/").status_code == 200
    token = csrf_from(client.get("/").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/").status_code == 302


def test_passwords_are_hashed(jimu):
    import sqlalchemy as sa
    from runtime import db
    make_user(jimu, "bob", password="s3cret-pass")
    with jimu.read() as conn:
        stored = conn.execute(sa.select(db.users.c.password_hash)).scalar()
    assert "s3cret-pass" not in stored and stored.startswith(("scrypt:", "pbkdf2:"))


def test_browser_post_without_csrf_token_is_refused(client, jimu):
    make_user(jimu, "carol", admin=True)
    login(client, "carol")
    r = client.post("/api/v1/forms/x/records", json={}, headers={"Accept": "application/json"})
    assert r.status_code == 403 and r.json["error"]["code"] == "auth.csrf"
    r = client.post("/login", data={"username": "carol", "password": "pw-123456"})
    assert r.status_code == 403


def test_login_attempts_are_audited(client, jimu):
    import sqlalchemy as sa
    from runtime import db
    make_user(jimu, "dave")
    login(client, "dave", "bad")
    login(client, "dave")
    with jimu.read() as conn:
        kinds = conn.execute(sa.select(db.events.c.kind).where(db.events.c.kind.like("auth.%"))
                             .order_by(db.events.c.id)).scalars().all()
    assert kinds == ["auth.login_failed", "auth.login"]


def test_open_redirect_after_login_is_blocked(client, jimu):
    make_user(jimu, "erin")
    token = csrf_from(client.get("/login").get_data(as_text=True))
    r = client.post("/login?next=//evil.example/x", data={"username": "erin", "password": "pw-123456",
                                                          "csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_revoked_token_is_refused_at_once_despite_the_principal_cache(client, jimu):
    import sqlalchemy as sa
    from runtime import db
    from tests.conftest import api_token
    uid = make_user(jimu, "carol", admin=True)
    headers = {"Authorization": f"Bearer {api_token(jimu, uid)}"}
    assert client.get("/api/v1/forms", headers=headers).status_code == 200   # principal now cached
    with jimu.begin() as conn:
        conn.execute(sa.update(db.api_tokens).where(db.api_tokens.c.user_id == uid).values(revoked=True))
    resp = client.get("/api/v1/forms", headers=headers)
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "auth.token_revoked"


def test_deactivated_user_is_refused_once_the_cache_expires(app, client, jimu):
    import sqlalchemy as sa
    from runtime import db
    from tests.conftest import api_token
    uid = make_user(jimu, "dave", admin=True)
    headers = {"Authorization": f"Bearer {api_token(jimu, uid)}"}
    assert client.get("/api/v1/forms", headers=headers).status_code == 200
    with jimu.begin() as conn:
        conn.execute(sa.update(db.users).where(db.users.c.id == uid).values(is_active=False))
    app.config["AUTH_CACHE_SECONDS"] = 0        # what the passing of AUTH_CACHE_SECONDS does
    jimu.config["AUTH_CACHE_SECONDS"] = 0
    assert client.get("/api/v1/forms", headers=headers).status_code == 401


def test_the_session_signer_is_built_once_and_follows_a_changed_key(app, client, jimu):
    """Sessions sign with one serializer per secret key (not a new one per request); a new key still
    ends the sessions signed with the old one at the next request."""
    make_user(jimu, "gina", admin=True)
    login(client, "gina")
    sessions = app.session_interface
    first = sessions.get_signing_serializer(app)
    assert client.get("/").status_code == 200
    assert sessions.get_signing_serializer(app) is first
    app.config["SECRET_KEY"] = app.secret_key + "-rotated"
    assert sessions.get_signing_serializer(app) is not first
    assert client.get("/").status_code == 302  # the old cookie's signature no longer holds
