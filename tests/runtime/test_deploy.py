"""Deployment as the README writes it (issue 15, deliverable 4): the `server` extra, `jimu migrate` under
a PostgreSQL advisory lock, server processes that refuse an old schema or a missing SECRET_KEY/BASE_URL,
gunicorn on SQLite running the jobs, and the README's PostgreSQL recipe run verbatim with two gunicorn
workers and two `jimu worker` processes. The app under test is a purchasing package (not the helpdesk)."""
from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
README = ROOT / "README.md"

PURCHASING = {
    "format": "jimu.app", "version": 2,
    "app": {"key": "purchasing", "version": "1.0.0", "label": "Purchasing"},
    "forms": [{"key": "purchase_request", "version": 1, "label": "Purchase request", "title_field": "item",
               "public": {"status": {"fields": ["item"]}},
               "fields": [{"key": "item", "label": "Item", "widget": "text"},
                          {"key": "requester_email", "label": "Requester e-mail", "widget": "text"}]}],
    # a timer rule: its firing (and so the signing of the status link) happens in whoever runs the jobs
    "rules": [{"key": "tell_requester", "version": 1, "label": "Tell the requester", "form": "purchase_request",
               "trigger": {"type": "time_after", "field": "created_at", "minutes": -1},
               "actions": [{"type": "send_survey", "page": "status", "to": {"email_fields": ["requester_email"]},
                            "subject": "Your request", "body": "Follow it here: {{ status_link }}"}]}],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_at_head(db_url):
    import sqlalchemy as sa

    from runtime.migrate import current_revision, head_revision
    engine = sa.create_engine(db_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


@pytest.fixture
def inbox():
    """A local SMTP server (aiosmtpd) for processes started by the test."""
    from aiosmtpd.controller import Controller

    class Inbox:
        messages: list

        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
            return "250 OK"

    box = Inbox()
    ctl = Controller(box, hostname="127.0.0.1", port=free_port())
    ctl.start()
    box.port = ctl.port
    yield box
    ctl.stop()


class Procs:
    """Subprocesses of one test: each in its own process group, always killed at the end."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.running: list[tuple[subprocess.Popen, Path]] = []

    def run(self, argv, env, timeout=60):
        argv = [str(BIN / argv[0]), *argv[1:]]
        return subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)

    def start(self, argv, env, name):
        log = self.tmp / f"{name}.log"
        argv = [str(BIN / argv[0]), *argv[1:]]
        with open(log, "w") as out:
            p = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        self.running.append((p, log))
        return p

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for _, log in self.running)

    def stop(self):
        for p, _ in self.running:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for p, _ in self.running:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


@pytest.fixture
def procs(tmp_path):
    p = Procs(tmp_path)
    yield p
    p.stop()


def base_env(tmp_path, **settings) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIMU_")}
    env["JIMU_INSTANCE_PATH"] = str(tmp_path / "instance")
    env.update({f"JIMU_{k}": str(v) for k, v in settings.items()})
    return env


def wait_for(predicate, timeout, what, logs=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}\n{logs()}")


def http_up(base):
    import requests
    try:
        return requests.get(f"{base}/login", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def login(base, username, password):
    """A browser-like session: the login form with its CSRF token, then the session's token for the API."""
    import requests
    s = requests.Session()
    html = s.get(f"{base}/login", timeout=10).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = s.post(f"{base}/login", data={"username": username, "password": password, "csrf_token": csrf}, timeout=10)
    assert r.status_code == 200 and "/login" not in r.url, r.text[:500]
    home = s.get(f"{base}/", timeout=10).text
    s.headers["X-CSRF-Token"] = re.search(r'name="csrf-token" content="([^"]+)"', home).group(1)
    return s


def mailed_link(inbox, base):
    for _, raw in inbox.messages:
        from email import message_from_string
        msg = message_from_string(raw)
        part = next(p for p in msg.walk() if p.get_content_type() == "text/plain")
        body = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
        found = re.search(re.escape(base) + r"/p/[^\s\"'<>]+", body)
        if found:
            return found.group(0)
    return None


# -- the extra ------------------------------------------------------------------------------------
def readme_recipe() -> list[list[str]]:
    """The commands of the README's PostgreSQL code block, as a shell would split them (comments dropped)."""
    section = README.read_text(encoding="utf-8").split("## PostgreSQL and more processes", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [argv for argv in (shlex.split(line, comments=True) for line in block.splitlines()) if argv]


def test_the_readmes_install_line_brings_gunicorn_and_the_postgresql_driver():
    (pip,) = [argv for argv in readme_recipe() if argv[0] == "pip"]
    extras = re.fullmatch(r"\.\[([\w,]+)\]", pip[-1]).group(1).split(",")
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    declared = cfg["options.extras_require"]
    required = " ".join(declared[e] for e in extras)  # a KeyError names an extra setup.cfg lacks
    assert "gunicorn" in declared["server"] and "gunicorn" in required and "psycopg" in required


# -- migrations ------------------------------------------------------------------------------------
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.pg
def test_migrations_started_together_on_postgresql_wait_for_each_other(db_url, tmp_path):
    """Four processes migrate a fresh schema at the same instant (as `gunicorn -w 4` did): all succeed."""
    start = time.time() + 4
    code = ("import sys, time, sqlalchemy as sa; from runtime.migrate import upgrade; "
            f"e = sa.create_engine(sys.argv[1]); time.sleep(max(0, {start} - time.time())); upgrade(e)")
    ps = [subprocess.Popen([sys.executable, "-c", code, db_url], cwd=ROOT, stderr=subprocess.PIPE, text=True)
          for _ in range(4)]
    try:
        results = [(p.wait(timeout=60), p.stderr.read()[-1500:]) for p in ps]
    finally:
        for p in ps:
            if p.poll() is None:
                p.kill()
    assert [rc for rc, _ in results] == [0, 0, 0, 0], results
    assert_at_head(db_url)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.pg
def test_server_processes_on_postgresql_refuse_an_old_schema_until_jimu_migrate(db_url, tmp_path, procs):
    env = base_env(tmp_path, DATABASE_URL=db_url, SECRET_KEY="k" * 40, BASE_URL="http://127.0.0.1:9")
    try:
        refused = procs.run(["jimu", "worker"], env, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("`jimu worker` started on a schema without Jimu's tables (it migrated it itself)")
    assert refused.returncode != 0
    assert "runtime.schema_outdated" in refused.stderr and "`jimu migrate`" in refused.stderr, refused.stderr
    port = free_port()
    web = procs.start(["gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "runtime.wsgi:app"], env, "web")
    assert web.wait(timeout=30) != 0
    assert "`jimu migrate`" in procs.logs()
    migrated = procs.run(["jimu", "migrate"], env)
    assert migrated.returncode == 0, migrated.stderr
    assert procs.run(["jimu", "migrate"], env).returncode == 0  # a second run finds nothing to do
    assert_at_head(db_url)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.pg
def test_server_processes_on_postgresql_need_secret_key_and_base_url(db_url, tmp_path, procs):
    """A worker with its own key would sign links the web processes refuse; without BASE_URL its links
    are relative. Both refuse to start and name the variable to set."""
    env = base_env(tmp_path, DATABASE_URL=db_url)
    assert procs.run(["jimu", "migrate"], env).returncode == 0
    for missing, settings in (("JIMU_SECRET_KEY", {"BASE_URL": "http://127.0.0.1:9"}),
                              ("JIMU_BASE_URL", {"SECRET_KEY": "k" * 40})):
        env = base_env(tmp_path, DATABASE_URL=db_url, **settings)
        try:
            refused = procs.run(["jimu", "worker"], env, timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"`jimu worker` started without {missing}")
        assert refused.returncode != 0 and "runtime.server_misconfigured" in refused.stderr
        assert missing in refused.stderr, refused.stderr
    web = procs.start(["gunicorn", "-w", "1", "-b", f"127.0.0.1:{free_port()}", "runtime.wsgi:app"],
                      base_env(tmp_path, DATABASE_URL=db_url, SECRET_KEY="k" * 40), "web")
    try:
        assert web.wait(timeout=30) != 0
    except subprocess.TimeoutExpired:
        pytest.fail("gunicorn started without JIMU_BASE_URL")
    assert "JIMU_BASE_URL" in procs.logs()
    assert not (tmp_path / "instance" / "secret_key").exists()  # no per-host key on a server database


def test_an_unknown_embedded_worker_value_is_refused(tmp_path, monkeypatch):
    from runtime.app import create_app
    monkeypatch.setenv("JIMU_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("JIMU_EMBEDDED_WORKER", "maybe")
    with pytest.raises(ValueError, match="JIMU_EMBEDDED_WORKER"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"})


def test_mail_settings_come_from_the_environment_like_the_others(tmp_path, monkeypatch):
    """Processes on several hosts are configured by JIMU_* variables; the sender and the SMTP login too."""
    from runtime.app import create_app
    monkeypatch.setenv("JIMU_INSTANCE_PATH", str(tmp_path / "instance"))
    wanted = {"SMTP_FROM": "purchasing@example.com", "SMTP_USER": "relay", "SMTP_PASSWORD": "relay-pass"}
    for name, value in wanted.items():
        monkeypatch.setenv(f"JIMU_{name}", value)
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"})
    try:
        assert {name: app.config.get(name) for name in wanted} == wanted
    finally:
        app.extensions["jimu"].dispose()


def test_every_setting_the_readme_names_is_read_from_the_environment(tmp_path, monkeypatch):
    """An operator configures processes by the JIMU_* variables the README names: each one must reach the
    app's settings (a documented variable nobody reads is a setting that silently does nothing)."""
    from runtime.app import ENV_SETTINGS, create_app
    named = set(re.findall(r"JIMU_([A-Z][A-Z0-9_]*)", README.read_text(encoding="utf-8")))
    not_settings = {"TEST_PG", "TOKEN"}   # the test suite's database; the quick start's shell variable
    json_settings = {"HOOK_SECRETS", "IMAP_PASSWORDS"}
    assert named - not_settings - json_settings <= set(ENV_SETTINGS), named - set(ENV_SETTINGS)
    monkeypatch.setenv("JIMU_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("JIMU_CHAT_MAX_HELD", "7")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"})
    try:
        assert app.config["CHAT_MAX_HELD"] == "7"
    finally:
        app.extensions["jimu"].dispose()


# -- gunicorn on SQLite ------------------------------------------------------------------------------
@pytest.mark.timeout(90)
def test_gunicorn_on_sqlite_runs_the_jobs_itself(tmp_path, procs, inbox):
    """No `jimu worker`: the web process runs the timer, signs the link and mails it; the link works."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = base_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'jimu.sqlite'}", BASE_URL=base,
                   SMTP_HOST="127.0.0.1", SMTP_PORT=inbox.port)
    package = tmp_path / "purchasing.json"
    package.write_text(json.dumps(PURCHASING), encoding="utf-8")
    for argv in (["jimu", "import", str(package)], ["jimu", "create-user", "buyer", "--admin", "--password",
                                                    "Buyer-pass-2026"]):
        done = procs.run(argv, env)
        assert done.returncode == 0, done.stderr
    procs.start(["gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "runtime.wsgi:app"], env, "web")
    wait_for(lambda: http_up(base), 30, "gunicorn", procs.logs)
    s = login(base, "buyer", "Buyer-pass-2026")
    r = s.post(f"{base}/api/v1/forms/purchase_request/records",
               json={"item": "Standing desk", "requester_email": "amy@example.com"}, timeout=10)
    assert r.status_code == 201, r.text
    link = wait_for(lambda: mailed_link(inbox, base), 30, "the mailed status link", procs.logs)
    page = s.get(link, timeout=10)
    assert page.status_code == 200 and "Standing desk" in page.text


def test_a_server_process_starts_with_its_heap_out_of_the_collectors_sight(tmp_path, procs):
    """What ``runtime.wsgi`` loaded before its first request (the segmenter's dictionary included) is
    frozen: full garbage collections, one per thousand or so creates, no longer walk it all."""
    env = base_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'jimu.sqlite'}", BASE_URL="http://127.0.0.1",
                   EMBEDDED_WORKER="0")
    probe = ("import gc, runtime.wsgi\n"
             "from runtime.store import search\n"
             "print(gc.get_freeze_count(), search._jieba is not None)\n")
    done = subprocess.run([sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    frozen, loaded = done.stdout.split()
    assert loaded == "True" and int(frozen) > 100_000, done.stdout


# -- the README's recipe, verbatim ------------------------------------------------------------------
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.pg
@pytest.mark.timeout(120)
def test_the_readme_postgresql_recipe_works_as_written(db_url, tmp_path, procs, inbox):
    """Every command of the README block, in order: the exports (the URL pointed at this test's schema, the
    public address at the port gunicorn gets), `jimu migrate`, import, create-user, gunicorn with its worker
    count, `jimu worker` twice. A purchase request created over HTTP is picked up by a worker, which signs
    and mails a status link; a web process accepts the link."""
    recipe = readme_recipe()
    port = free_port()
    env = base_env(tmp_path, SMTP_HOST="127.0.0.1", SMTP_PORT=inbox.port)
    exported = {}
    password = None
    started = None
    for argv in recipe:
        if argv[0] == "pip":  # the install itself is checked by the extras test; this venv has it
            continue
        if argv[0] == "export":
            name, value = argv[1].split("=", 1)
            exported[name] = value
            env[name] = {"JIMU_DATABASE_URL": db_url,
                         "JIMU_BASE_URL": f"http://127.0.0.1:{port}"}.get(name, value)
            continue
        if argv[0] == "gunicorn":
            bind = argv.index("-b") + 1
            argv = [*argv[:bind], f"127.0.0.1:{port}", *argv[bind + 1:]]
            assert argv[argv.index("-w") + 1] == "2", "the test runs the recipe with 2 web processes"
            started = time.monotonic()
            procs.start(argv, env, "web")
            continue
        if argv == ["jimu", "worker"]:
            for n in (1, 2):
                procs.start(argv, env, f"worker{n}")
            continue
        done = procs.run(argv, env, timeout=120)
        assert done.returncode == 0, f"{shlex.join(argv)} failed:\n{done.stderr}"
        if argv[:2] == ["jimu", "create-user"]:
            password = re.search(r"password: (\S+)", done.stdout).group(1)
            user = argv[2]
    assert set(exported) == {"JIMU_DATABASE_URL", "JIMU_SECRET_KEY", "JIMU_BASE_URL"}
    assert password and len([p for p, _ in procs.running]) == 3, "gunicorn and `jimu worker` ran"

    base = f"http://127.0.0.1:{port}"
    package = tmp_path / "purchasing.json"
    package.write_text(json.dumps(PURCHASING), encoding="utf-8")
    assert procs.run(["jimu", "import", str(package)], env).returncode == 0
    wait_for(lambda: http_up(base), 40, "gunicorn", procs.logs)
    s = login(base, user, password)
    r = s.post(f"{base}/api/v1/forms/purchase_request/records",
               json={"item": "Label printer", "requester_email": "lee@example.com"}, timeout=10)
    assert r.status_code == 201, r.text
    link = wait_for(lambda: mailed_link(inbox, base), 40, "the status link a worker mails", procs.logs)
    assert [to for to, _ in inbox.messages] == [["lee@example.com"]]
    import requests
    page = requests.get(link, timeout=10)  # no session: the signature alone opens it
    assert page.status_code == 200 and "Label printer" in page.text
    assert all(p.poll() is None for p, _ in procs.running), procs.logs()  # 2 gunicorn workers, 2 jimu workers
    assert time.monotonic() - started < 60  # from starting the processes to the walked link


# -- gunicorn --preload ------------------------------------------------------------------------------
@pytest.mark.parametrize("db_url", ["postgresql", "sqlite"], indirect=True)
@pytest.mark.timeout(180)
def test_preloaded_workers_each_talk_to_the_database_on_their_own_connections(db_url, tmp_path, procs):
    """`gunicorn --preload` builds the app in the master, which reads the database on the way (the schema
    check), and forks the workers from it: each worker must open its own connections, never the
    master's. Sharing one (before 2026-12-07) mixed two workers' statements on one server session:
    rows answering another worker's query, KeyErrors, 500s, a worker timing out. Here two workers take
    240 creates from eight clients at once; every create answers 201 with its own values, and the form
    holds exactly the 240 records sent."""
    import requests
    from concurrent.futures import ThreadPoolExecutor

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = base_env(tmp_path, DATABASE_URL=db_url, SECRET_KEY="preload-test", BASE_URL=base, EMBEDDED_WORKER="0")
    package = tmp_path / "purchasing.json"
    package.write_text(json.dumps(PURCHASING), encoding="utf-8")
    for argv in (["jimu", "migrate"], ["jimu", "import", str(package)],
                 ["jimu", "create-user", "buyer", "--admin", "--password", "Buyer-pass-2026"]):
        done = procs.run(argv, env, timeout=120)
        assert done.returncode == 0, done.stderr
    done = procs.run(["jimu", "create-token", "buyer", "--name", "load"], env)
    assert done.returncode == 0, done.stderr
    auth = {"Authorization": f"Bearer {done.stdout.strip().splitlines()[-1]}"}
    procs.start(["gunicorn", "--preload", "-w", "2", "-b", f"127.0.0.1:{port}", "--timeout", "30",
                 "runtime.wsgi:app"], env, "web")
    wait_for(lambda: http_up(base), 60, "gunicorn", procs.logs)

    def create(n):
        item = f"Desk lamp {n}"
        try:
            r = requests.post(f"{base}/api/v1/forms/purchase_request/records", headers=auth, timeout=20,
                              json={"item": item, "requester_email": f"buyer{n}@example.com"})
        except requests.RequestException as exc:   # a worker stuck on a connection the other one broke
            return n, type(exc).__name__, None
        return n, r.status_code, (r.json().get("item") if r.headers.get("Content-Type", "").startswith(
            "application/json") else r.text[:200])

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(create, range(240)))
    wrong = [a for a in answers if a[1] != 201 or a[2] != f"Desk lamp {a[0]}"]
    assert not wrong, (wrong[:5], procs.logs())
    r = requests.get(f"{base}/api/v1/forms/purchase_request/records", headers=auth, timeout=30,
                     params={"per_page": 500})
    assert r.status_code == 200, r.text
    assert sorted(x["item"] for x in r.json()["records"]) == sorted(f"Desk lamp {n}" for n in range(240))
    assert "Traceback" not in procs.logs(), procs.logs()
