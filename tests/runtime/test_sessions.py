"""Sessions end server-side: logout, a password change or reset and deactivation sign the user out of
every browser; login throttling per account and per address. (Each failed on the old main: the signed
cookie stayed valid, and 30 wrong passwords were followed by a successful login.)"""
from __future__ import annotations

import sqlalchemy as sa

from runtime import db
from tests.conftest import api_token
from tests.runtime.identity_fixtures import install_both, login, make_user, page_csrf


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def two_browsers(app, jimu, username="ann", **kw):
    uid = make_user(jimu, username, **kw)
    a, b = app.test_client(), app.test_client()
    assert login(a, username).status_code == 302 and login(b, username).status_code == 302
    assert signed_in(a) and signed_in(b)
    return uid, a, b


def test_a_copied_session_cookie_is_dead_after_logout(app, jimu):
    _, a, _ = two_browsers(app, jimu)
    cookie = a.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    assert signed_in(thief)
    a.post("/logout", data={"csrf_token": page_csrf(a)})
    assert not signed_in(a)
    assert not signed_in(thief)          # the old main still let this cookie in


def test_logout_ends_every_session_of_the_user(app, jimu):
    _, a, b = two_browsers(app, jimu)
    other_uid = make_user(jimu, "bob")
    c = app.test_client()
    login(c, "bob")
    a.post("/logout", data={"csrf_token": page_csrf(a)})
    assert not signed_in(b)
    assert signed_in(c)                  # another user's session is untouched
    assert login(b, "ann").status_code == 302 and signed_in(b)   # logging in again works
    assert other_uid


def test_admin_password_reset_and_deactivation_force_a_new_login(app, jimu):
    install_both(jimu)
    uid, a, _ = two_browsers(app, jimu, roles=["buyer"])
    make_user(jimu, "root", admin=True)
    admin = app.test_client()
    login(admin, "root")
    r = admin.patch(f"/api/v1/users/{uid}", json={"password": "N3w-password!"},
                    headers={"X-CSRF-Token": page_csrf(admin)})
    assert r.status_code == 200
    assert not signed_in(a)
    assert login(a, "ann").status_code == 401
    assert login(a, "ann", "N3w-password!").status_code == 302 and signed_in(a)
    r = admin.patch(f"/api/v1/users/{uid}", json={"is_active": False}, headers={"X-CSRF-Token": page_csrf(admin)})
    assert r.status_code == 200
    assert not signed_in(a)              # at once, not after the principal cache expires
    assert signed_in(admin)


def test_deactivation_refuses_the_users_api_tokens_at_once(client, jimu):
    uid = make_user(jimu, "ann", admin=True)
    headers = {"Authorization": f"Bearer {api_token(jimu, uid)}"}
    assert client.get("/api/v1/forms", headers=headers).status_code == 200   # principal cached now
    root = make_user(jimu, "root", admin=True)
    root_headers = {"Authorization": f"Bearer {api_token(jimu, root)}"}
    assert client.patch(f"/api/v1/users/{uid}", json={"is_active": False}, headers=root_headers).status_code == 200
    assert client.get("/api/v1/forms", headers=headers).status_code == 401


def test_own_password_change_ends_other_sessions_and_keeps_this_one(app, jimu):
    _, a, b = two_browsers(app, jimu)
    page = a.get("/account/password")
    assert page.status_code == 200
    token = page_csrf(a, "/account/password")
    wrong = a.post("/account/password", data={"csrf_token": token, "current": "nope-1234",
                                              "password": "Brand-new-9", "confirm": "Brand-new-9"})
    assert wrong.status_code == 422 and 'data-code="user.wrong_password"' in wrong.get_data(as_text=True)
    r = a.post("/account/password", data={"csrf_token": token, "current": "pw-123456",
                                          "password": "Brand-new-9", "confirm": "Brand-new-9"})
    assert r.status_code == 302
    assert signed_in(a) and not signed_in(b)
    assert login(b, "ann", "Brand-new-9").status_code == 302
    with jimu.read() as conn:
        kinds = conn.execute(sa.select(db.events.c.kind).where(db.events.c.kind == "user.password_changed")).all()
    assert len(kinds) == 1


def test_thirty_wrong_passwords_then_the_right_one_is_refused_with_a_clear_message(app, jimu, clock):
    make_user(jimu, "ann")
    client = app.test_client()
    codes = [login(client, "ann", f"guess-{i}").status_code for i in range(30)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    r = login(client, "ann")
    assert r.status_code == 429 and r.headers["Retry-After"] == "900"
    html = r.get_data(as_text=True)
    assert 'data-code="auth.throttled_account"' in html and "15" in html
    assert not signed_in(client)
    clock.advance(minutes=16)            # the lock ends; the right password works again
    assert login(client, "ann").status_code == 302 and signed_in(client)


def test_throttling_per_address_covers_many_accounts(app, jimu):
    for i in range(3):
        make_user(jimu, f"user{i}")
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 6
    jimu.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 6
    client = app.test_client()
    codes = [login(client, f"user{i % 3}", "wrong-pw-1").status_code for i in range(7)]
    assert codes == [401] * 6 + [429]
    r = login(client, "user0")
    assert r.status_code == 429 and 'data-code="auth.throttled_address"' in r.get_data(as_text=True)
    other_address = app.test_client()
    assert login(other_address, "user0", environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 302


def test_admin_password_reset_lifts_an_account_lockout(app, jimu, admin_headers):
    uid = make_user(jimu, "ann")
    client = app.test_client()
    for i in range(5):
        login(client, "ann", f"guess-{i}")
    assert login(client, "ann").status_code == 429
    client.patch(f"/api/v1/users/{uid}", json={"password": "Reset-pass-1"}, headers=admin_headers)
    assert login(client, "ann", "Reset-pass-1").status_code == 302


def test_throttled_attempts_are_audited(app, jimu):
    make_user(jimu, "ann")
    client = app.test_client()
    for i in range(6):
        login(client, "ann", f"guess-{i}")
    with jimu.read() as conn:
        kinds = conn.execute(sa.select(db.events.c.kind).where(db.events.c.kind.like("auth.%"))
                             .order_by(db.events.c.id)).scalars().all()
    assert kinds == ["auth.login_failed"] * 5 + ["auth.login_throttled"]


def test_an_admin_resetting_their_own_password_on_the_page_stays_signed_in_here_only(app, jimu):
    uid, a, b = two_browsers(app, jimu, "root", admin=True)
    token = page_csrf(a, f"/admin/users/{uid}")
    r = a.post(f"/admin/users/{uid}", data={"csrf_token": token, "is_active": "on", "is_admin": "on",
                                            "password": "Fresh-pass-7"})
    assert r.status_code == 302
    assert signed_in(a) and not signed_in(b)
