"""TRUSTED_PROXIES: X-Forwarded-For/-Proto/-Host are honoured only when the setting says a proxy is
in front. Without it the headers are ignored (anyone can send them); with it the public-form rate limit,
login throttling, the audit log and absolute links use the visitor's address and the public host.
(On the old main every visitor behind a proxy shared one rate-limit bucket.)"""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from runtime import db
from tests.runtime.identity_fixtures import PURCHASING, csrf_from, login, make_user
from tests.conftest import install_package


@pytest.fixture
def proxied_app(db_url, tmp_path, monkeypatch, clock):
    monkeypatch.setenv("JIMU_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("JIMU_TRUSTED_PROXIES", "1")
    from runtime.app import create_app
    application = create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": "test-secret",
                              "AUTO_MIGRATE": True,  # as the app fixture: each test's schema starts empty
                              "CLOCK": clock, "UPLOAD_DIR": str(tmp_path / "files")})
    yield application
    application.extensions["jimu"].dispose()


PROXY = "10.0.0.1"    # the reverse proxy's own address: every request arrives from it


def submit(client, visitor: str, company: str):
    env = {"REMOTE_ADDR": PROXY}
    headers = {"X-Forwarded-For": visitor, "X-Forwarded-Proto": "https", "X-Forwarded-Host": "forms.example.com"}
    token = csrf_from(client.get("/p/supplier_request", environ_base=env, headers=headers).get_data(as_text=True))
    return client.post("/p/supplier_request", data={"csrf_token": token, "company": company},
                       environ_base=env, headers=headers)


def test_behind_a_trusted_proxy_each_visitor_has_its_own_rate_limit_and_links_use_the_public_host(proxied_app):
    jimu = proxied_app.extensions["jimu"]
    install_package(jimu, PURCHASING)
    client = proxied_app.test_client()
    assert [submit(client, "203.0.113.5", f"A{i}").status_code for i in range(3)] == [201, 201, 429]
    second = submit(client, "198.51.100.7", "B")
    assert second.status_code == 201        # another visitor behind the same proxy is not blocked
    link = re.search(r'id="status-link" href="([^"]+)"', second.get_data(as_text=True)).group(1)
    assert link.startswith("https://forms.example.com/p/supplier_request/s/")


def test_without_the_setting_forwarded_headers_are_ignored(app, jimu):
    install_package(jimu, PURCHASING)
    client = app.test_client()
    # a client that rotates X-Forwarded-For cannot escape the limit when no proxy is trusted
    codes = [submit(client, f"203.0.113.{i}", f"A{i}").status_code for i in range(3)]
    assert codes == [201, 201, 429]
    make_user(jimu, "ann")
    login(client, "ann", "wrong-pw-1", headers={"X-Forwarded-For": "203.0.113.99"})
    with jimu.read() as conn:
        data = conn.execute(sa.select(db.events.c.data).where(db.events.c.kind == "auth.login_failed")).scalar_one()
    assert data["ip"] == "127.0.0.1"


def test_behind_a_trusted_proxy_the_audit_log_and_login_throttle_see_the_visitor(proxied_app):
    jimu = proxied_app.extensions["jimu"]
    make_user(jimu, "ann")
    client = proxied_app.test_client()
    env = {"REMOTE_ADDR": PROXY}
    proxied_app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    for i in range(3):
        login(client, f"nobody{i}", "wrong-pw-1", environ_base=env, headers={"X-Forwarded-For": "203.0.113.5"})
    blocked = login(client, "ann", environ_base=env, headers={"X-Forwarded-For": "203.0.113.5"})
    assert blocked.status_code == 429
    ok = login(client, "ann", environ_base=env, headers={"X-Forwarded-For": "198.51.100.7"})
    assert ok.status_code == 302
    with jimu.read() as conn:
        ips = conn.execute(sa.select(db.events.c.data).where(db.events.c.kind.in_(
            ["auth.login_failed", "auth.login"])).order_by(db.events.c.id)).scalars().all()
    assert [d["ip"] for d in ips] == ["203.0.113.5"] * 3 + ["198.51.100.7"]


def test_a_wrong_setting_is_refused_at_start(tmp_path, monkeypatch):
    monkeypatch.setenv("JIMU_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("JIMU_TRUSTED_PROXIES", "yes")
    from runtime.app import create_app
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}", "SECRET_KEY": "x"})
