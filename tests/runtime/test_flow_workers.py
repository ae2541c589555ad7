"""Acceptance: `jimu worker` processes against PostgreSQL fire durable flow timers exactly once,
and a worker killed with -9 while holding jobs loses nothing: its jobs are taken over when the
lease passes. The workers' clock is moved through a file read by the instance's config.py
(no waiting for the 60 s lease)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from runtime import db
from runtime.flows.tables import flow_history

from .flow_fixtures import e, install, n, principal, setup_users

pytestmark = [pytest.mark.pg, pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]

JIMU = str(Path(sys.executable).with_name("jimu"))
CONFIG = '''
import os
from datetime import datetime, timedelta, timezone

_OFFSET_FILE = os.environ["FLOW_TEST_CLOCK_FILE"]


def CLOCK():
    try:
        offset = float(open(_OFFSET_FILE).read() or 0)
    except FileNotFoundError:
        offset = 0.0
    return datetime.now(timezone.utc) + timedelta(seconds=offset)


if os.environ.get("FLOW_TEST_SLOW"):  # a slow worker, so it is killed while holding claimed jobs
    import time
    from runtime.flows.service import FlowService
    _fire = FlowService.fire_timer_job

    def _slow(self, jimu, conn, job):
        time.sleep(float(os.environ["FLOW_TEST_SLOW"]))
        _fire(self, jimu, conn, job)

    FlowService.fire_timer_job = _slow  # before create_app builds the container's job registry
'''

WAIT_FLOW = {"key": "wait", "version": 1, "form": "ticket",
             "nodes": [n("s", "start"), n("w", "timer", after="PT1H"),
                       n("a", "user_task", assignee={"kind": "user", "value": "ann"}), n("end", "end")],
             "edges": [e("s", "w"), e("w", "a"), e("a", "end")]}


def make_timers(jimu, count):
    from runtime.records import Records
    users = setup_users(jimu)
    install(jimu, [WAIT_FLOW])
    with jimu.begin() as conn:
        Records(jimu, conn, principal(jimu, users["admin"])).bulk_create(
            "ticket", [{"title": f"t{i}"} for i in range(count)])


class Workers:
    def __init__(self, db_url, tmp_path):
        self.db_url = db_url
        self.tmp = tmp_path
        self.clock_file = tmp_path / "clock_offset"
        self.procs: list[subprocess.Popen] = []

    def start(self, name, slow=None):
        inst = self.tmp / name
        inst.mkdir()
        (inst / "config.py").write_text(CONFIG)
        env = dict(os.environ, JIMU_DATABASE_URL=self.db_url, JIMU_INSTANCE_PATH=str(inst),
                   JIMU_SECRET_KEY="test", JIMU_BASE_URL="http://127.0.0.1:5000",
                   FLOW_TEST_CLOCK_FILE=str(self.clock_file))
        if slow:
            env["FLOW_TEST_SLOW"] = str(slow)
        log = open(self.tmp / f"{name}.log", "w")
        proc = subprocess.Popen([JIMU, "worker", "--poll", "0.05"], env=env, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture
def workers(db_url, tmp_path):
    w = Workers(db_url, tmp_path)
    yield w
    w.stop()


def wait_for(predicate, timeout=180.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)  # polling other processes; the engine's own time is the injected clock
    raise AssertionError(f"timed out waiting for {what}")


def job_counts(jimu):
    with jimu.read() as conn:
        return dict(conn.execute(sa.select(db.jobs.c.status, sa.func.count()).where(db.jobs.c.kind == "flow.timer")
                                 .group_by(db.jobs.c.status)).all())


def fired_per_instance(jimu):
    with jimu.read() as conn:
        return conn.execute(sa.select(flow_history.c.instance_id, sa.func.count())
                            .where(flow_history.c.kind == "timer_fired")
                            .group_by(flow_history.c.instance_id)).all()


def open_tasks(jimu):
    from runtime.flows.tables import flow_tasks
    with jimu.read() as conn:
        return conn.execute(sa.select(sa.func.count()).where(flow_tasks.c.status == "open")).scalar()


@pytest.mark.timeout(400)
def test_two_workers_fire_500_due_timers_exactly_once(jimu, workers):
    make_timers(jimu, 500)
    assert job_counts(jimu) == {"pending": 500}
    workers.start("w1")
    workers.start("w2")
    wait_for(lambda: job_counts(jimu).get("done") == 500, what="500 timers done")
    workers.stop()
    fired = fired_per_instance(jimu)
    assert len(fired) == 500 and {c for _, c in fired} == {1}
    assert open_tasks(jimu) == 500
    with jimu.read() as conn:
        attempts = conn.execute(sa.select(db.jobs.c.attempts).where(db.jobs.c.kind == "flow.timer")).scalars().all()
    assert set(attempts) == {1}
    logs = [(workers.tmp / f"w{i}.log").read_text() for i in (1, 2)]
    assert not any("Traceback" in log for log in logs), logs


@pytest.mark.timeout(400)
def test_a_worker_killed_while_holding_jobs_loses_nothing(jimu, workers):
    make_timers(jimu, 120)
    victim = workers.start("victim", slow=0.3)

    def holding():
        with jimu.read() as conn:
            return conn.execute(sa.select(sa.func.count()).where(
                db.jobs.c.status == "running", db.jobs.c.locked_by.like(f"%:{victim.pid}:%"))).scalar() > 0
    wait_for(lambda: holding() and job_counts(jimu).get("done", 0) >= 1, what="the victim to hold jobs")
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    with jimu.read() as conn:
        held = conn.execute(sa.select(db.jobs.c.id).where(db.jobs.c.status == "running")).scalars().all()
    assert held, "the killed worker held no jobs"
    workers.start("rescuer")
    # everything not leased finishes; the dead worker's leased jobs wait for their lease
    wait_for(lambda: job_counts(jimu).get("done", 0) == 120 - len(held), what="unleased jobs done")
    assert job_counts(jimu).get("running") == len(held)
    workers.clock_file.write_text("120")  # the workers' clock passes the 60 s lease
    wait_for(lambda: job_counts(jimu).get("done") == 120, what="taken-over jobs done")
    fired = fired_per_instance(jimu)
    assert len(fired) == 120 and {c for _, c in fired} == {1}
    assert open_tasks(jimu) == 120
    with jimu.read() as conn:
        retried = conn.execute(sa.select(db.jobs.c.attempts).where(db.jobs.c.id.in_(held))).scalars().all()
    assert set(retried) == {2}
