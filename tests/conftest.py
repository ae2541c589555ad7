"""Shared fixtures: one parametrized database fixture (SQLite and PostgreSQL),
and a Chromium browser driven by Playwright.

PostgreSQL tests run when JIMU_TEST_PG is set (CI always sets it) or when the
local server answers; each test gets a schema of its own, dropped afterwards.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]


def _pg_url() -> str | None:
    url = os.environ.get("JIMU_TEST_PG")
    if url:
        return url
    try:
        import psycopg
        psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=1).close()
        return DEFAULT_PG
    except Exception:
        return None


PG_URL = _pg_url()


def _db_params():
    return ["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)]


@pytest.fixture(params=_db_params())
def db_url(request, tmp_path):
    """A database URL for a fresh, empty database: a SQLite file or a PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'jimu.sqlite'}"
        return
    if PG_URL is None:
        if os.environ.get("JIMU_TEST_PG") or os.environ.get("CI"):
            pytest.fail("PostgreSQL is required in CI but not reachable")
        pytest.skip("PostgreSQL not reachable (set JIMU_TEST_PG)")
    import sqlalchemy as sa
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.connect() as c:
        c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def sa_engine(db_url):
    """A plain SQLAlchemy engine on the fresh database (for engine-level tests)."""
    import sqlalchemy as sa
    eng = sa.create_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium through Playwright. Never downloads a browser."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing: .ci/run must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright
    _csp_safe_wait_for_function()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _csp_safe_wait_for_function() -> None:
    """Jimu's pages forbid ``eval`` (Content-Security-Policy ``script-src 'self'``), and Playwright polls a
    bare expression string through ``new Function``; handed over as an arrow function it is called
    without eval, so browser tests keep running under the real policy."""
    from playwright.sync_api import Frame, Page
    for cls in (Page, Frame):
        original = cls.wait_for_function
        if getattr(original, "csp_safe", False):
            continue

        def wait_for_function(self, expression, *args, _original=original, **kwargs):
            body = expression.strip()
            if not (body.startswith("function") or body.startswith("async ") or "=>" in body):
                expression = f"() => ({body})"
            return _original(self, expression, *args, **kwargs)

        wait_for_function.csp_safe = True
        cls.wait_for_function = wait_for_function


@pytest.fixture
def page(browser):
    ctx = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    yield pg
    ctx.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


# -- the app -------------------------------------------------------------------
class Clock:
    """An injectable clock: tests move time instead of sleeping."""

    def __init__(self, start=None):
        from datetime import datetime, timezone
        self.now = start or datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)

    def __call__(self):
        return self.now

    def advance(self, **delta):
        from datetime import timedelta
        self.now = self.now + timedelta(**delta)
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def app(db_url, tmp_path, monkeypatch, clock):
    """A fresh Jimu app on a fresh database (SQLite and PostgreSQL)."""
    monkeypatch.setenv("JIMU_INSTANCE_PATH", str(tmp_path / "instance"))
    from runtime.app import create_app
    application = create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": "test-secret",
                              "AUTO_MIGRATE": True,  # on PostgreSQL too: each test's schema starts empty
                              "CLOCK": clock, "UPLOAD_DIR": str(tmp_path / "files")})
    yield application
    application.extensions["jimu"].dispose()


@pytest.fixture
def jimu(app):
    return app.extensions["jimu"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def install_package(jimu, data):
    """Install a package dict through the one compile pipeline (as jimu import does); returns the plan."""
    from runtime.installer import install
    with jimu.begin() as conn:
        plan, _ = install(conn, data, now=jimu.now())
    return plan


def make_user(jimu, username, *, password="pw-123456", admin=False, roles=(), groups=()):
    from runtime.auth.users import create_user
    with jimu.begin() as conn:
        return create_user(conn, username, password, now=jimu.now(), is_admin=admin, roles=list(roles),
                           groups=list(groups))


def sign_in(client, jimu, user_id, csrf="tok"):
    """Put a signed-in session for ``user_id`` into a test client's cookie (what the login view
    stores: the user id, the user's current session generation and a CSRF token); returns the token."""
    from runtime.auth.sessions import current_generation
    with jimu.read() as conn:
        generation = current_generation(conn, user_id)
    with client.session_transaction() as sess:
        sess.update(uid=user_id, gen=generation, csrf=csrf)
    return csrf


def api_token(jimu, user_id):
    from runtime.auth.tokens import create_token
    with jimu.begin() as conn:
        return create_token(conn, user_id, "test", now=jimu.now())[1]


@pytest.fixture
def admin_headers(jimu):
    uid = make_user(jimu, "admin", admin=True)
    return {"Authorization": f"Bearer {api_token(jimu, uid)}"}


# -- a local SMTP server ---------------------------------------------------------
@pytest.fixture
def smtp_from():
    """The sender the app is configured with; a test module may override this fixture."""
    return "desk@example.com"


@pytest.fixture
def smtp(jimu, monkeypatch, smtp_from):
    """A local SMTP server (aiosmtpd) on a free 127.0.0.1 port, collecting what the platform sends:
    yields an inbox whose .messages are (recipients, raw bytes) pairs."""
    import socket
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append((envelope.rcpt_tos, envelope.content))
            return "250 OK"

    inbox = Inbox()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    monkeypatch.setitem(jimu.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(jimu.config, "SMTP_PORT", port)
    monkeypatch.setitem(jimu.config, "SMTP_FROM", smtp_from)
    yield inbox
    ctl.stop()


# -- a live server for the browser -----------------------------------------------
@pytest.fixture
def live_server(app):
    """The test app served on a free 127.0.0.1 port in a thread; yields its base URL."""
    import threading
    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def browser_login(page, base_url, username, password="pw-123456"):
    """Log in through the real login form; leaves the page on the home page."""
    page.goto(f"{base_url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")
