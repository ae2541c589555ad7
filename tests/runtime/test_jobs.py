"""The durable job queue: due claims, idempotency keys, retries with back-off, leases, catch-up."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from runtime import db, jobs


@pytest.fixture
def calls(jimu):
    seen = []

    def ok(jimu, conn, job):
        seen.append(job.payload["n"])

    def boom(jimu, conn, job):
        raise RuntimeError("receiver down")

    jimu.services.jobs.register("test.ok", ok)  # each test has its own app, so its own job registry
    jimu.services.jobs.register("test.boom", boom)
    return seen


def status(jimu, key):
    with jimu.read() as conn:
        return conn.execute(sa.select(db.jobs).where(db.jobs.c.idempotency_key == key)).mappings().first()


def test_due_jobs_run_once_and_future_jobs_wait(jimu, clock, calls):
    with jimu.begin() as conn:
        assert jobs.enqueue(conn, "test.ok", {"n": 1}, run_at=clock.now, key="a", now=clock.now)
        assert not jobs.enqueue(conn, "test.ok", {"n": 1}, run_at=clock.now, key="a", now=clock.now)
        jobs.enqueue(conn, "test.ok", {"n": 2}, run_at=clock.now + timedelta(hours=2), key="b", now=clock.now)
    assert jobs.run_due(jimu) == 1 and calls == [1]
    assert jobs.run_due(jimu) == 0
    clock.advance(hours=2)
    assert jobs.run_due(jimu) == 1 and calls == [1, 2]
    assert status(jimu, "a")["status"] == "done" and status(jimu, "b")["status"] == "done"


def test_failures_retry_with_backoff_then_fail(jimu, clock, calls):
    with jimu.begin() as conn:
        jobs.enqueue(conn, "test.boom", {"n": 0}, run_at=clock.now, key="x", now=clock.now, max_attempts=3)
    jobs.run_due(jimu)
    row = status(jimu, "x")
    assert row["status"] == "pending" and row["attempts"] == 1 and "receiver down" in row["last_error"]
    assert row["run_at"] == clock.now + timedelta(seconds=30)
    assert jobs.run_due(jimu) == 0  # not yet due
    clock.advance(seconds=30)
    jobs.run_due(jimu)
    assert status(jimu, "x")["run_at"] == clock.now + timedelta(seconds=60)
    clock.advance(seconds=60)
    jobs.run_due(jimu)
    row = status(jimu, "x")
    assert row["status"] == "failed" and row["attempts"] == 3


def test_expired_lease_is_taken_over(jimu, clock, calls):
    with jimu.begin() as conn:
        jobs.enqueue(conn, "test.ok", {"n": 7}, run_at=clock.now, key="l", now=clock.now)
    claimed = jobs.claim(jimu.engine, "dead-worker", clock.now)
    assert [j.idempotency_key for j in claimed] == ["l"]
    assert jobs.claim(jimu.engine, "other", clock.now) == []  # leased
    clock.advance(seconds=61)
    taken = jobs.claim(jimu.engine, "other", clock.now)
    assert [j.idempotency_key for j in taken] == ["l"]
    assert not jobs.run_job(jimu, claimed[0], "dead-worker")  # the old lease is void
    assert jobs.run_job(jimu, taken[0], "other") and calls == [7]


def test_overdue_jobs_catch_up_after_downtime(jimu, clock, calls):
    with jimu.begin() as conn:
        for n in range(5):
            jobs.enqueue(conn, "test.ok", {"n": n}, run_at=clock.now + timedelta(minutes=n), key=f"c{n}",
                         now=clock.now)
    clock.advance(days=2)
    assert jobs.run_due(jimu) == 5 and calls == [0, 1, 2, 3, 4]


def test_cancel_and_unknown_kind(jimu, clock, calls):
    with jimu.begin() as conn:
        jobs.enqueue(conn, "test.ok", {"n": 1}, run_at=clock.now, key="k1", now=clock.now)
        jobs.enqueue(conn, "nope", {}, run_at=clock.now, key="k2", now=clock.now, max_attempts=1)
        assert jobs.cancel(conn, "k1")
    jobs.run_due(jimu)
    assert calls == [] and status(jimu, "k1")["status"] == "cancelled"
    assert status(jimu, "k2")["status"] == "failed"
    assert "no handler" in status(jimu, "k2")["last_error"]
