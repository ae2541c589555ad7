"""The queue does each thing once (issue #15, item 2): a worker that claimed a batch keeps a job it
runs however long it takes, a job taken over is not completed by its old owner, and an outgoing
message acknowledged once is not sent again by a retry."""
from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from runtime import jobs

EFFECTS = sa.Table("t_job_effects", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                   sa.Column("job", sa.String(50), nullable=False))


def _slow_kind(jimu, clock, sent):
    """A job that writes a row (a database effect) and 'sends' (an outgoing effect), while 40 s of the
    60 s lease pass on the clock: two of them in one claimed batch outlive the batch's lease."""
    def handler(jimu_, conn, job):
        clock.advance(seconds=40)
        time.sleep(0.05)  # let the other worker claim meanwhile
        conn.execute(sa.insert(EFFECTS).values(job=job.idempotency_key))
        sent.append(job.idempotency_key)
    jimu.services.jobs.register("test.slow", handler)


def test_two_workers_run_each_job_once_even_past_the_lease(jimu, clock):
    sent: list[str] = []
    _slow_kind(jimu, clock, sent)
    with jimu.begin() as conn:
        EFFECTS.create(conn)
        for i in range(12):
            jobs.enqueue(conn, "test.slow", {}, run_at=jimu.now(), key=f"slow:{i}", now=jimu.now())

    def work(name):
        for _ in range(30):
            if not jobs.run_due(jimu, worker=name, limit=10):
                with jimu.read() as conn:
                    left = conn.execute(sa.select(sa.func.count()).select_from(jimu_jobs()).where(
                        jimu_jobs().c.status != jobs.DONE)).scalar()
                if not left:
                    return
                time.sleep(0.05)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    with jimu.read() as conn:
        written = sorted(conn.execute(sa.select(EFFECTS.c.job)).scalars())
        status = set(conn.execute(sa.select(jimu_jobs().c.status)).scalars())
    assert sorted(sent) == sorted(set(sent)) and len(sent) == 12, sorted(sent)
    assert written == sorted(f"slow:{i}" for i in range(12))
    assert status == {jobs.DONE}


def jimu_jobs():
    from runtime import db
    return db.jobs


def test_a_job_taken_over_is_not_completed_by_its_old_owner(jimu, clock):
    sent: list[str] = []
    _slow_kind(jimu, clock, sent)
    with jimu.begin() as conn:
        EFFECTS.create(conn)
        jobs.enqueue(conn, "test.slow", {}, run_at=jimu.now(), key="slow:x", now=jimu.now())
    (job,) = jobs.claim(jimu.engine, "old", jimu.now(), 10)
    clock.advance(minutes=5)  # the old owner stalled past its lease; another worker takes the job
    assert [j.id for j in jobs.claim(jimu.engine, "new", jimu.now(), 10)] == [job.id]
    assert jobs.run_job(jimu, job, "old") is False
    with jimu.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(EFFECTS)).scalar() == 0
    assert jobs.run_due(jimu, worker="new") == 0  # still leased to "new" until it runs it
    (again,) = [jobs.Job(job.id, job.kind, job.payload, job.run_at, 2, job.max_attempts, job.idempotency_key)]
    assert jobs.run_job(jimu, again, "new") is True
    assert sent == ["slow:x"]


def test_a_message_acknowledged_once_is_not_sent_again(jimu, smtp):
    """The completion of a mail job is lost after the server took the message (a crash, a lost
    connection): the retry finds the delivery record and sends nothing; both attempts would have
    carried one Message-ID."""
    from runtime.rules.outbox import send_email_job
    job = jobs.Job(1, "rule.email", {"to": ["a@example.com"], "subject": "s", "body": "b"}, jimu.now(), 1, 8,
                   "email:order-7:approved")
    try:
        with jimu.begin() as conn:
            send_email_job(jimu, conn, job)
            raise RuntimeError("the worker died before its completion committed")
    except RuntimeError:
        pass
    with jimu.begin() as conn:
        send_email_job(jimu, conn, job)
    # SQLite has one writer, the job's own transaction, so the record rolls back with it there:
    # the message goes out again, but as the same message (one Message-ID)
    assert len(smtp.messages) == (1 if jimu.engine.dialect.name == "postgresql" else 2)
    ids = {raw.split(b"Message-ID:")[1].split(b"\r\n")[0].strip() for _, raw in smtp.messages}
    assert len(ids) == 1


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)   # SQLite has one writer: no such race
def test_two_processes_scheduling_one_key_at_once_get_one_job_and_no_error(jimu):
    """Two workers starting together both queue tomorrow's purge: the second insert waits for the
    first's transaction and then finds the key taken; it must say so, not die on the unique key
    (a look-up before the insert saw nothing and let both through)."""
    answer = {}

    def second():
        with jimu.engine.begin() as conn:
            answer["queued"] = jobs.enqueue(conn, "platform.purge", {}, run_at=jimu.now(), key="purge:tomorrow",
                                            now=jimu.now())

    with jimu.engine.connect() as first:
        with first.begin():
            answer["first"] = jobs.enqueue(first, "platform.purge", {}, run_at=jimu.now(), key="purge:tomorrow",
                                           now=jimu.now())
            t = threading.Thread(target=second)
            t.start()
            time.sleep(0.3)  # the second insert is now waiting on the first's uncommitted row
    t.join(timeout=10)
    assert answer == {"first": True, "queued": False}
    with jimu.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(jimu_jobs())
                            .where(jimu_jobs().c.idempotency_key == "purge:tomorrow")).scalar() == 1
