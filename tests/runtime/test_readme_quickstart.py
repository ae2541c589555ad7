"""The README's integrator quick start, run as written: every `curl` of its block, by bash, against the
app served on a local port with the shipped customer-service package, as the IT agent `ops`. The test
sets the two variables the block exports (the server's URL and a token of `ops`) and plays the worker
between the commands (as `make run`'s embedded worker does); it adds only `-sS -w` to read each status."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import api_token
from tests.runtime import cs_fixtures

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'quickstart.sqlite'}"


def commands() -> tuple[list[str], list[str]]:
    """The block's exported variable names and its commands (continuation lines joined, comments dropped)."""
    section = README.read_text(encoding="utf-8").split("### Integrator quick start", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    lines = block.replace("\\\n", " ").splitlines()
    exports = [line for line in lines if line.startswith("export ")]
    names = re.findall(r"(\w+)=", exports[0]) if exports else []
    return names, [line.strip() for line in lines if line.strip() and not line.startswith(("#", "export "))]


def test_the_readme_block_is_token_list_create_complete():
    names, cmds = commands()
    assert names == ["JIMU", "JIMU_TOKEN"]
    assert [c.split()[0] for c in cmds] == ["curl"] * 5
    assert "/openapi.json" in cmds[0] and "/records?" in cmds[1] and "-X POST" in cmds[2]
    assert cmds[3].endswith('"$JIMU/tasks"') and "/complete" in cmds[4]


def test_the_readme_quick_start_runs_as_written(app, jimu, live_server, tmp_path):
    if shutil.which("curl") is None:
        pytest.fail("curl is missing (the README's quick start uses it)")
    ids = cs_fixtures.install(jimu)
    env = {**os.environ, "JIMU": f"{live_server}/api/v1", "JIMU_TOKEN": api_token(jimu, ids["ops"])}
    answers = []
    for cmd in commands()[1]:
        run = subprocess.run(["bash", "-c", cmd.replace("curl ", "curl -sS -w '\\n%{http_code}' ", 1)], env=env,
                             cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        body, _, status = run.stdout.rpartition("\n")
        answers.append((int(status), json.loads(body) if body.strip() else None))
        cs_fixtures.run_jobs(jimu)  # the worker: starts the ticket's flow, dispatches its first step
    (document, listed, created, tasks, completed) = answers
    assert document[0] == 200 and document[1] is None  # written to the file the block names
    doc = json.loads((tmp_path / "jimu-openapi.json").read_text(encoding="utf-8"))
    assert "customer_service.工单.Record" in doc["components"]["schemas"] and "/tasks" in doc["paths"]
    assert listed[0] == 200 and listed[1]["total"] == 0 and listed[1]["records"] == []
    assert created[0] == 201 and created[1]["标题"] == "邮件服务器无响应" and created[1]["处理人"] == ids["ops"]
    assert tasks[0] == 200
    [task] = tasks[1]["tasks"]
    assert task["id"] == 1 and task["record_id"] == created[1]["id"] and task["status"] == "open"
    assert {o["key"] for o in task["outcomes"]} == {"resolved", "escalate"}
    assert completed[0] == 200 and completed[1]["instance_status"] in ("running", "completed")
    flows = subprocess.run(["curl", "-sS", "-H", f"Authorization: Bearer {env['JIMU_TOKEN']}",
                            f"{live_server}/api/v1/forms/%E5%B7%A5%E5%8D%95/records/{created[1]['id']}/flows"],
                           capture_output=True, text=True, timeout=60)
    [instance] = json.loads(flows.stdout)["instances"]
    assert "diagnose" not in instance["current"]
    assert any(h["node_id"] == "diagnose" and h["outcome"] == "resolved" for h in instance["history"]), instance
