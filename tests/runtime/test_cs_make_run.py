"""What `make run` promises (issue 7's acceptance): after its steps — init-db, import the customer-service
package, demo-data --if-empty, create-user admin --admin --print-login — a new user can log in as the printed
admin and as a demo agent (demo_<role>_<n> / demo-1234) and sees a populated dashboard, with tasks waiting.

The steps are read from the Makefile's ``run`` target (all but ``serve``) and run through click's runner on
``jimu`` itself, each building its app from ``JIMU_*`` variables exactly as the shell would, against a
temporary SQLite file and a snapshot of the package (so running the steps twice sees the same file). Demo data
is the package's full history (its tickets' ``demo_records``, played through the engines), so no --scale; its
time is bounded in CPU seconds of this process (the machine is shared: wall time varies with its load).
"""
from __future__ import annotations

import json
import re
import shlex
import shutil
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "demo-1234"
#: the tickets the package's demo history brings
TICKETS = next(f["demo_records"] for f in json.loads((ROOT / "examples" / "customer_service.json")
                                                     .read_text(encoding="utf-8"))["forms"] if f["key"] == "工单")


def make_run_steps() -> list[list[str]]:
    """The `$(JIMU) ...` lines of the Makefile's run target, without the final `serve`."""
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("run:"))
    steps = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        words = shlex.split(line.strip())
        if words and words[0] == "$(JIMU)" and words[1] != "serve":
            steps.append(words[1:])
    return steps


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A fresh instance after `make run`'s steps: (env, outputs, seconds per step)."""
    tmp = tmp_path_factory.mktemp("make-run")
    env = {"JIMU_INSTANCE_PATH": str(tmp / "instance"),
           "JIMU_DATABASE_URL": f"sqlite:///{tmp / 'instance' / 'jimu.sqlite'}",
           "JIMU_SECRET_KEY": "make-run-test-secret", "JIMU_UPLOAD_DIR": str(tmp / "files")}
    from runtime.cli import main
    runner = CliRunner()
    outputs, seconds, cpu = {}, {}, {}
    work = tmp / "checkout"   # the package as it is now, so a second `make run` sees the same file
    (work / "examples").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "customer_service.json", work / "examples" / "customer_service.json")
    env["CHECKOUT"] = str(work)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(work)   # the Makefile's relative path examples/customer_service.json
        for name, value in env.items():
            if name.startswith("JIMU_"):
                mp.setenv(name, value)
        steps = make_run_steps()
        assert [s[0] for s in steps] == ["init-db", "import", "demo-data", "create-user"], steps
        for step in steps:
            # the step's own CPU: this thread's, not the process's (under xdist the process also runs the
            # threads that earlier test files left serving: live servers, pollers)
            t0, c0 = time.perf_counter(), time.thread_time()
            result = runner.invoke(main, step, catch_exceptions=False)
            seconds[step[0]] = time.perf_counter() - t0
            cpu[step[0]] = time.thread_time() - c0
            assert result.exit_code == 0, (step, result.output)
            outputs[step[0]] = result.output
    return env, outputs, (seconds, cpu)


def _app(env, monkeypatch):
    for name, value in env.items():
        if name.startswith("JIMU_"):
            monkeypatch.setenv(name, value)
    from runtime.app import create_app
    return create_app()


def printed_login(output: str) -> tuple[str, str]:
    user = re.search(r"username: (\S+)", output).group(1)
    password = re.search(r"password: (\S+)", output).group(1)
    return user, password


def form_login(client, username, password):
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    data = {"username": username, "password": password}
    if token:
        data["csrf_token"] = token.group(1)
    return client.post("/login", data=data)


def populated(data: dict) -> list[str]:
    """Problems of a dashboard payload: tiles with an error, an empty figure or no rows."""
    problems = []
    for tile in data["charts"]:
        if tile.get("error"):
            problems.append(f"{tile['report']}: {tile['error']}")
        elif tile.get("empty") or not tile.get("rows"):
            problems.append(f"{tile['report']}: empty")
    return problems


def test_make_run_steps_fill_the_app_and_print_the_admin_login(made):
    env, out, (seconds, cpu) = made
    assert "install: customer_service" in out["import"]
    assert re.search(rf"工单 {TICKETS}\b", out["demo-data"]), out["demo-data"]
    assert "demo user demo_agent_1 (agent), password demo-1234" in out["demo-data"]
    user, password = printed_login(out["create-user"])
    assert user == "admin" and len(password) >= 10
    assert "http://127.0.0.1:5000/login" in out["create-user"]
    print("\nmake run steps (s wall / CPU): " + ", ".join(f"{k} {v:.2f}/{cpu[k]:.2f}" for k, v in seconds.items()))
    assert cpu["demo-data"] < 50, cpu   # under a minute on this machine when it is not shared


def test_make_run_again_changes_nothing(made, monkeypatch):
    """`make run` a second time: nothing re-imported, no second batch of demo data, the admin kept."""
    env, _, _ = made
    from runtime.cli import main
    monkeypatch.chdir(env["CHECKOUT"])
    for name, value in env.items():
        if name.startswith("JIMU_"):
            monkeypatch.setenv(name, value)
    outputs = [CliRunner().invoke(main, step, catch_exceptions=False) for step in make_run_steps()]
    assert all(r.exit_code == 0 for r in outputs), [r.output for r in outputs]
    assert "unchanged" in outputs[1].output
    assert "nothing to do" in outputs[2].output
    assert "exists" in outputs[3].output


@pytest.mark.parametrize("who", ["admin", "demo_agent_1", "demo_supervisor_1"])
def test_printed_admin_and_demo_users_log_in_and_see_a_populated_dashboard(made, monkeypatch, who):
    env, out, _ = made
    password = printed_login(out["create-user"])[1] if who == "admin" else DEMO_PASSWORD
    app = _app(env, monkeypatch)
    try:
        client = app.test_client()
        resp = form_login(client, who, password)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        assert client.get("/").status_code == 200
        listing = client.get("/api/v1/dashboards").get_json()["dashboards"]
        assert listing, f"{who} sees no dashboard"
        for d in listing:
            data = client.get(f"/api/v1/dashboards/{d['key']}/data").get_json()
            assert data["charts"], d
            assert populated(data) == [], (who, d["key"], populated(data))
        page = client.get(f"/dashboards/{listing[0]['key']}")
        assert page.status_code == 200
        tickets = client.get("/api/v1/forms/工单/records?per_page=1").get_json()
        assert tickets["total"] == TICKETS
        if who == "demo_agent_1":   # the first line's agent works the default queue: "my tickets" is not empty
            mine = client.get("/forms/工单?view=mine").get_data(as_text=True)
            count = int(re.search(r'id="record-count">\D*(\d+)', mine).group(1))
            assert count > 0, mine[:300]
            # the history left tickets open in the flow: this demo user's task list holds work
            assert client.get("/api/v1/tasks").get_json()["counts"]["open"] > 0
    finally:
        app.extensions["jimu"].dispose()


def test_a_wrong_password_is_refused(made, monkeypatch):
    env, _, _ = made
    app = _app(env, monkeypatch)
    try:
        assert form_login(app.test_client(), "demo_agent_1", "not-the-password").status_code == 401
    finally:
        app.extensions["jimu"].dispose()


@pytest.mark.browser
def test_populated_dashboard_in_chromium(made, monkeypatch, page, artifacts):
    """The printed admin logs in through the real form and the first dashboard draws every tile."""
    from werkzeug.serving import make_server
    env, out, _ = made
    app = _app(env, monkeypatch)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        user, password = printed_login(out["create-user"])
        page.goto(f"{base}/login")
        page.fill("#username", user)
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}/dashboards")
        page.locator("a.tile").first.click()
        page.wait_for_selector(".dash-tile .plot .main-svg")
        n = page.locator(".dash-tile").count()
        page.wait_for_function(f"document.querySelectorAll('.dash-tile .plot .main-svg').length >= {n}",
                               timeout=20000)
        assert page.locator(".dash-tile .tile-empty").count() == 0
        assert page.locator(".dash-tile .tile-error, .dash-tile .error").count() == 0
        page.screenshot(path=str(artifacts / "cs-make-run-dashboard.png"), full_page=True)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        app.extensions["jimu"].dispose()
