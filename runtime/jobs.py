"""The durable job queue behind timers, SLAs, scheduled rules and the outbox.

A job is a row: kind, JSON payload, when it is due, an idempotency key
(unique — scheduling the same thing twice is a no-op). Workers *claim* due
jobs by taking a lease (``locked_by``, ``locked_until``) in a short transaction
— on PostgreSQL with ``FOR UPDATE SKIP LOCKED`` so two workers never claim the
same row; on SQLite the write lock serialises claims.

Each claimed job then runs in its own transaction, which first takes the job's
row again *only if the lease is still this worker's*, renewing the lease in the
same statement (``UPDATE ... RETURNING``) — on PostgreSQL the update's row lock
is held until the transaction ends, so while the job runs no other worker can
take it over however long it takes (their claims skip locked rows); on SQLite
the transaction holds the database's write lock, which has the same effect. A
job that waited in a claimed batch starts with a fresh lease. The handler's database effects, and marking the
job done, commit together, and the completion is conditioned on the owner: a
job whose effects are database writes happens exactly once. ``locked_until``
only matters once a worker has died (its connection, and with it its row lock,
is gone): another worker takes the job over when the lease passes
(``JOB_LEASE_SECONDS``, default 60; the worker claims ``JOB_CLAIM_SIZE`` jobs
at a time, default 10).

A job that calls out (mail, webhook) happens at least once and hands its
idempotency key to the receiver (the same Message-ID, the same
``Idempotency-Key`` header on every attempt); a delivery record written as soon
as the receiver acknowledged (``delivered``/``mark_delivered``) stops a retry
after a lost completion from sending again. A failed job is retried with
exponential back-off until ``max_attempts``, then marked ``failed`` (visible in
the UI). Overdue jobs after downtime are simply due: they run on the next claim.

Handlers are registered per kind in the container's ``JobKinds`` (``jimu.services.jobs``),
which ``create_app`` fills explicitly from the flow and rule runtimes (code, not entry points:
job kinds belong to the runtime). Time comes from the injectable clock.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from engines.errors import JimuError

from . import db, deferred

log = logging.getLogger(__name__)

PENDING, RUNNING, DONE, FAILED, CANCELLED = "pending", "running", "done", "failed", "cancelled"
#: a timer of a flow instance whose record is in the recycle bin: never claimed, pending again on restore
HELD = "held"
LEASE = timedelta(seconds=60)


class UnknownJobKind(JimuError):
    code = "job.unknown_kind"


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    payload: Mapping[str, Any]
    run_at: datetime
    attempts: int
    max_attempts: int
    idempotency_key: str


Handler = Callable[["Any", sa.Connection, Job], None]  # (jimu, conn, job)


class JobKinds:
    """The handlers of the job kinds, by kind (the container's ``jobs``)."""

    def __init__(self, handlers: Mapping[str, Handler] = ()):
        self._handlers: dict[str, Handler] = {}
        for kind, fn in dict(handlers).items():
            self.register(kind, fn)

    def register(self, kind: str, fn: Handler) -> None:
        """Add the handler of ``kind``; a kind registered twice is a wiring mistake and raises."""
        if kind in self._handlers and self._handlers[kind] is not fn:
            raise JimuError(f"job kind {kind!r} is already registered", code="job.duplicate_kind")
        self._handlers[kind] = fn

    def get(self, kind: str) -> Handler:
        try:
            return self._handlers[kind]
        except KeyError:
            raise UnknownJobKind(f"no handler for job kind {kind!r}; it is registered in runtime.app.create_app",
                                 kind=kind) from None

    def __contains__(self, kind: object) -> bool:
        return kind in self._handlers

    def kinds(self) -> list[str]:
        return sorted(self._handlers)


def enqueue(conn: sa.Connection, kind: str, payload: Mapping[str, Any], *, run_at: datetime, key: str,
            now: datetime, max_attempts: int = 8, at_commit: bool = False) -> bool | tuple | None:
    """Schedule a job in the caller's transaction. Returns False if ``key`` was already scheduled.

    One ``INSERT … ON CONFLICT DO NOTHING``: two processes scheduling the same key at once (two
    workers starting together both queue tomorrow's purge) get one job and no error — a look-up
    before the insert let both through and the second died on the unique key. ``at_commit``: the
    row goes with the transaction's other deferred rows (``runtime.deferred``: one statement for
    the jobs of a write, before any statement reading or cancelling jobs), and what
    ``deferred.drop`` takes to unschedule it while it waits is returned (None if it was written)."""
    row = dict(kind=kind, payload=dict(payload), run_at=run_at, status=PENDING, attempts=0,
               max_attempts=max_attempts, idempotency_key=key, created_at=now)
    if at_commit:
        return deferred.add(conn, db.jobs, row, skip_conflicts=("idempotency_key",))
    insert = _insert_for(conn)(db.jobs).values(**row)
    insert = insert.on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(db.jobs.c.id)
    return conn.execute(insert).first() is not None


def _insert_for(conn: sa.Connection):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


# The queue's statements, built once with bound parameters: claiming, rechecking, renewing and
# completing run for every job, and a statement built per call cost more CPU (its construction and
# cache key) than running it on SQLite.
_t = db.jobs
_NOW = sa.bindparam("now")
_CANCEL = (sa.update(_t).where(_t.c.idempotency_key == sa.bindparam("key"), _t.c.status == PENDING)
           .values(status=CANCELLED))
_DUE = (sa.select(_t).where(sa.or_(sa.and_(_t.c.status == PENDING, _t.c.run_at <= _NOW),
                                   sa.and_(_t.c.status == RUNNING, _t.c.locked_until < _NOW)))
        .order_by(_t.c.run_at, _t.c.id).limit(sa.bindparam("limit", type_=sa.Integer)))
_DUE_UNLOCKED = _DUE.with_for_update(skip_locked=True)
_TAKE = (sa.update(_t).where(_t.c.id.in_(sa.bindparam("ids", expanding=True)))
         .values(status=RUNNING, locked_by=sa.bindparam("worker"), locked_until=sa.bindparam("until"),
                 attempts=_t.c.attempts + 1))
#: the job is still this worker's (parameters ``job``, ``worker``)
_MINE = sa.and_(_t.c.id == sa.bindparam("job"), _t.c.locked_by == sa.bindparam("worker"), _t.c.status == RUNNING)
#: the recheck that the job is still ours, its row lock (PostgreSQL) and a fresh lease, in one statement
_RENEW = sa.update(_t).where(_MINE).values(locked_until=sa.bindparam("until")).returning(_t.c.id)
_FINISH = sa.update(_t).where(_MINE).values(status=DONE, finished_at=sa.bindparam("at"), locked_by=None,
                                            locked_until=None)
_RETRY = sa.update(_t).where(_MINE).values(status=sa.bindparam("new_status"), run_at=sa.bindparam("due"),
                                           last_error=sa.bindparam("error"), locked_by=None, locked_until=None,
                                           finished_at=sa.bindparam("at"))
_DELIVERED = sa.select(db.deliveries.c.key).where(db.deliveries.c.key == sa.bindparam("key"))


def cancel(conn: sa.Connection, key: str) -> bool:
    return conn.execute(_CANCEL, {"key": key}).rowcount > 0


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min ... capped at 1 hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def lease_of(jimu) -> timedelta:
    seconds = jimu.config.get("JOB_LEASE_SECONDS")
    return timedelta(seconds=float(seconds)) if seconds else LEASE


def claim(engine: sa.Engine, worker: str, now: datetime, limit: int = 20, lease: timedelta | None = None) -> list[Job]:
    lease = lease or LEASE
    with engine.begin() as conn:
        q = _DUE_UNLOCKED if conn.dialect.name == "postgresql" else _DUE
        rows = conn.execute(q, {"now": now, "limit": limit}).mappings().all()
        if not rows:
            return []
        conn.execute(_TAKE, {"ids": [r["id"] for r in rows], "worker": worker, "until": now + lease})
    return [Job(r["id"], r["kind"], r["payload"], r["run_at"], r["attempts"] + 1, r["max_attempts"],
                r["idempotency_key"]) for r in rows]


class LeaseLost(JimuError):
    """The job was taken over by another worker while this one ran it; its effects are rolled back."""

    code = "job.lease_lost"


def run_job(jimu, job: Job, worker: str) -> bool:
    """Run one claimed job; True when it succeeded (see the module docstring for the lease)."""
    mine = {"job": job.id, "worker": worker}
    try:
        handler = jimu.services.jobs.get(job.kind)
        with jimu.begin() as conn:
            # the update's row lock (PostgreSQL) is held until commit: nobody takes the job over while it
            # runs. Waited for, not skipped (as a SELECT ... FOR UPDATE would wait, and the row is
            # checked again once the lock is ours): a claim running in another worker keeps the lock of
            # a row its recheck found taken (ours) until it commits, a moment; skipping then left the
            # job to wait out its whole lease and be run again. A worker that took the job over once
            # our lease passed holds it for its run; after it the row is not ``mine`` any more
            if conn.execute(_RENEW, {**mine, "until": jimu.now() + lease_of(jimu)}).first() is None:
                return False  # taken over after our lease passed: not ours any more
            handler(jimu, conn, job)
            done = conn.execute(_FINISH, {**mine, "at": jimu.now()}).rowcount
            if done != 1:
                raise LeaseLost(f"job {job.id} is no longer leased to {worker}")
        return True
    except LeaseLost:
        log.warning("job %s (%s): lease lost, its effects rolled back", job.id, job.kind)
        return False
    except Exception as exc:  # any failure is retried, then parked as failed
        log.warning("job %s (%s) failed: %s", job.id, job.kind, exc)
        now = jimu.now()
        # an error that says retrying cannot help (``permanent``, e.g. a template over its limit) fails now
        final = job.attempts >= job.max_attempts or bool(getattr(exc, "permanent", False))
        with jimu.engine.begin() as conn:
            # writes the failed run must keep although its transaction was rolled back (an SMS's delivery
            # records on SQLite, whose one writer was that transaction: ``runtime.rules.sms``)
            for write in getattr(exc, "kept_writes", None) or ():
                write(conn)
            conn.execute(_RETRY, {**mine, "new_status": FAILED if final else PENDING,
                                  "due": now if final else now + backoff(job.attempts),
                                  "error": f"{type(exc).__name__}: {exc}"[:2000], "at": now if final else None})
        return False


def run_due(jimu, worker: str | None = None, limit: int = 100) -> int:
    """Claim and run what is due now; returns how many jobs ran (succeeded or not)."""
    worker = worker or worker_name()
    jobs = claim(jimu.engine, worker, jimu.now(), limit, lease_of(jimu))
    for job in jobs:
        run_job(jimu, job, worker)
    return len(jobs)


def delivered(conn: sa.Connection, key: str) -> bool:
    """True when the message of job ``key`` was already acknowledged by its receiver."""
    return conn.execute(_DELIVERED, {"key": key}).first() is not None


def mark_delivered(jimu, conn: sa.Connection, key: str, channel: str) -> None:
    """Record that the receiver acknowledged ``key``. On PostgreSQL in a transaction of its own,
    committed at once, so that a retry after the job's own transaction failed does not send again;
    on SQLite (one writer at a time, and the job's transaction is it) in the job's transaction."""
    row = dict(key=key, channel=channel, at=jimu.now())
    if conn.dialect.name == "sqlite":
        conn.execute(_DELIVERY, row)
        return
    with jimu.engine.begin() as own:
        own.execute(_DELIVERY_ONCE, row)


_DELIVERY = sa.insert(db.deliveries)
#: PostgreSQL's: a second record of the same key does nothing
_DELIVERY_ONCE = postgresql.insert(db.deliveries).on_conflict_do_nothing()


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def work_forever(jimu, *, poll: float = 0.5, stop: threading.Event | None = None) -> None:
    """The loop of ``jimu worker`` and of the embedded scheduler thread."""
    name = worker_name()
    stop = stop or threading.Event()
    log.info("worker %s started", name)
    while not stop.is_set():
        try:
            ran = run_due(jimu, name, int(jimu.config.get("JOB_CLAIM_SIZE") or 10))
        except Exception:  # a database hiccup must not kill the worker
            log.exception("worker loop error")
            ran = 0
        if not ran:
            stop.wait(poll)


def start_embedded_worker(jimu) -> threading.Event:
    """Embedded mode: one daemon thread in the web process runs the jobs."""
    stop = threading.Event()
    threading.Thread(target=work_forever, args=(jimu,), kwargs={"stop": stop}, daemon=True,
                     name="jimu-worker").start()
    return stop
