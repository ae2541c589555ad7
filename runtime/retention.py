"""Retention: what the platform's own logs keep, and for how long (``jimu purge`` and a daily job).

Without it the job table, the rule-firing log and the event log only grow (the firing log grew 8×
faster than the records it describes). Ages are settings, in days:

- ``RETENTION_JOBS_DAYS`` (14): finished jobs (done, cancelled, failed) by when they finished;
- ``RETENTION_FIRINGS_DAYS`` (90): rule firings;
- ``RETENTION_EVENTS_DAYS`` (0 = keep forever): the audit log. Off by default because record
  timelines and process KPIs are read from it; set it only where an audit policy allows;
- stored ``Idempotency-Key`` answers past ``IDEMPOTENCY_SECONDS`` and delivery records older than
  the job retention (a retry never comes that late);
- ``RETENTION_IMPORTS_DAYS`` (30): finished spreadsheet imports (done or failed) by when they
  finished, with their rejected rows and their uploaded file (unless another import still uses it);
- recycle-bin entries past their ``expires_at`` (``RECYCLE_BIN_DAYS``, 30): purged one by one by
  ``runtime.recycle.purge_expired`` (flows cancelled, files removed, an audited ``record.purged``).

Rows go in batches of ``RETENTION_BATCH`` (1,000), each in a short transaction of its own, so a
purge never holds the write lock long enough to make writers wait.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

import sqlalchemy as sa

from . import db, jobs, recycle
from .rules.tables import rule_firings

JOB_KIND = "platform.purge"


@dataclass(frozen=True)
class Ages:
    jobs: timedelta | None
    firings: timedelta | None
    events: timedelta | None
    idempotency: timedelta
    imports: timedelta | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Ages":
        def days(name: str, default: float) -> timedelta | None:
            value = float(config.get(name, default) or 0)
            if value < 0:
                raise ValueError(f"{name} must be a number of days ≥ 0 (0 keeps rows forever)")
            return timedelta(days=value) if value else None
        return cls(jobs=days("RETENTION_JOBS_DAYS", 14), firings=days("RETENTION_FIRINGS_DAYS", 90),
                   events=days("RETENTION_EVENTS_DAYS", 0),
                   idempotency=timedelta(seconds=float(config.get("IDEMPOTENCY_SECONDS", 86400))),
                   imports=days("RETENTION_IMPORTS_DAYS", 30))


def targets(ages: Ages, now: datetime) -> list[tuple[str, sa.Table, sa.Column, Any]]:
    """(kind, table, key column, condition) of every row past its age."""
    j, e, i, d = db.jobs, db.events, db.idempotency, db.deliveries
    out: list[tuple[str, sa.Table, sa.Column, Any]] = []
    if ages.jobs:
        out.append(("jobs", j, j.c.id, sa.and_(j.c.status.in_((jobs.DONE, jobs.CANCELLED, jobs.FAILED)),
                                                 j.c.finished_at < now - ages.jobs)))
        out.append(("deliveries", d, d.c.key, d.c.at < now - ages.jobs))
    if ages.firings:
        out.append(("firings", rule_firings, rule_firings.c.id, rule_firings.c.at < now - ages.firings))
    if ages.events:
        out.append(("events", e, e.c.id, e.c.at < now - ages.events))
    out.append(("idempotency", i, i.c.id, i.c.created_at < now - ages.idempotency))
    return out


def _delete_batch(conn: sa.Connection, table: sa.Table, key: sa.Column, where, batch: int) -> int:
    ids = conn.execute(sa.select(key).where(where).limit(batch)).scalars().all()
    if ids:
        conn.execute(sa.delete(table).where(key.in_(ids)))
    return len(ids)


def purge(jimu, *, now: datetime | None = None, conn: sa.Connection | None = None) -> dict[str, int]:
    """Delete what is older than its retention age, a batch per transaction; returns how many rows
    went, per kind. With ``conn`` (the daily job on SQLite, whose transaction is the one writer)
    every batch runs in that transaction instead."""
    now = now or jimu.now()
    batch = int(jimu.config.get("RETENTION_BATCH", 1000))
    ages = Ages.from_config(jimu.config)
    out = {}
    for kind, table, key, where in targets(ages, now):
        total = 0
        while True:
            if conn is not None:
                n = _delete_batch(conn, table, key, where, batch)
            else:
                with jimu.engine.begin() as own:
                    n = _delete_batch(own, table, key, where, batch)
            total += n
            if n < batch:
                break
        out[kind] = total
    out["imports"] = purge_imports(jimu, ages.imports, now=now, batch=batch, conn=conn)
    out["recycle_bin"] = recycle.purge_expired(jimu, now=now, conn=conn)
    return out


@contextmanager
def _transaction(jimu, conn: sa.Connection | None):
    """``conn`` itself when given (the daily job on SQLite), else a short transaction of its own."""
    if conn is not None:
        yield conn
    else:
        with jimu.engine.begin() as own:
            yield own


def purge_imports(jimu, age: timedelta | None, *, now: datetime, batch: int,
                  conn: sa.Connection | None = None) -> int:
    """Finished imports older than ``age`` go, ``batch`` at a time: their rejected rows first (a batch of
    rows per transaction: a million-row file can leave a million), then, in one transaction, the
    imports' rows and their uploaded files that no remaining import uses; returns how many imports."""
    if age is None:
        return 0
    from .dataio.importer import FINISHED
    i, r, f = db.imports, db.import_rejects, db.files
    old = sa.and_(i.c.status.in_(FINISHED), i.c.finished_at < now - age)
    total = 0
    while True:
        with _transaction(jimu, conn) as c:
            ids = c.execute(sa.select(i.c.id).where(old).order_by(i.c.id).limit(batch)).scalars().all()
        if not ids:
            return total
        while True:
            with _transaction(jimu, conn) as c:
                if not _delete_batch(c, r, r.c.id, r.c.import_id.in_(ids), batch):
                    break
        with _transaction(jimu, conn) as c:
            files = set(c.execute(sa.select(i.c.file_id).where(i.c.id.in_(ids))).scalars())
            c.execute(sa.delete(i).where(i.c.id.in_(ids)))
            files -= set(c.execute(sa.select(i.c.file_id).where(i.c.file_id.in_(files))).scalars())
            unclaimed = c.execute(sa.select(f.c.id).where(f.c.id.in_(files), f.c.record_id.is_(None))).scalars()
            jimu.services.files.delete(c, list(unclaimed))
        total += len(ids)
        if len(ids) < batch:
            return total


def schedule(conn: sa.Connection, now: datetime) -> bool:
    """Enqueue tomorrow's purge (once per day: the job key is the date)."""
    day = (now + timedelta(days=1)).date()
    return jobs.enqueue(conn, JOB_KIND, {}, run_at=datetime.combine(day, datetime.min.time(), now.tzinfo),
                        key=f"{JOB_KIND}:{day.isoformat()}", now=now)


def purge_job(jimu, conn: sa.Connection, job) -> None:
    """The daily job: purge, then schedule the next one (in the job's transaction)."""
    schedule(conn, jimu.now())
    purge(jimu, conn=conn if conn.dialect.name == "sqlite" else None)


JOB_HANDLERS = {JOB_KIND: purge_job}
