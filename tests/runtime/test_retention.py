"""Retention (issue #15, item 3): `jimu purge` and the daily job remove finished jobs, old rule
firings and stored idempotent answers past their ages, keep what is pending or young, and leave the
audit log alone unless an age is set for it."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from runtime import db, jobs
from runtime.rules.tables import rule_firings


def _seed(jimu):
    now = jimu.now()
    old, young = now - timedelta(days=200), now - timedelta(days=1)
    with jimu.begin() as conn:
        for i, (status, at) in enumerate([("done", old), ("failed", old), ("cancelled", old), ("done", young),
                                          ("pending", old)]):
            conn.execute(sa.insert(db.jobs).values(kind="x", payload={}, run_at=at, status=status, attempts=1,
                                                   max_attempts=8, idempotency_key=f"k{i}", created_at=at,
                                                   finished_at=None if status == "pending" else at))
        for at in (old, old, young):
            conn.execute(sa.insert(rule_firings).values(at=at, rule_key="r", event="record.created", matched=True,
                                                        duration_ms=1.0, depth=0))
        for at in (old, young):
            conn.execute(sa.insert(db.events).values(at=at, kind="record.created", data={}))
        conn.execute(sa.insert(db.idempotency).values(principal="u:1", key="a", fingerprint="f", status=201,
                                                      created_at=now - timedelta(days=3)))


def _counts(jimu):
    with jimu.read() as conn:
        return {name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                for name, t in (("jobs", db.jobs), ("firings", rule_firings), ("events", db.events),
                                ("idempotency", db.idempotency))}


def test_jimu_purge_removes_what_is_past_its_age(jimu, runner, monkeypatch):
    _seed(jimu)
    monkeypatch.setitem(jimu.config, "RETENTION_BATCH", 1)  # batches: one row per transaction
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "jobs: 3" in result.output and "firings: 2" in result.output
    assert _counts(jimu) == {"jobs": 2, "firings": 1, "events": 2, "idempotency": 0}
    with jimu.read() as conn:
        assert sorted(conn.execute(sa.select(db.jobs.c.status)).scalars()) == ["done", "pending"]


def test_the_audit_log_is_purged_only_when_an_age_is_set(jimu, runner, monkeypatch):
    _seed(jimu)
    monkeypatch.setitem(jimu.config, "RETENTION_EVENTS_DAYS", 30)
    assert runner.invoke(args=["purge"]).exit_code == 0
    assert _counts(jimu)["events"] == 1


def test_the_daily_job_purges_and_schedules_the_next_day(jimu, clock):
    from runtime.retention import schedule
    _seed(jimu)
    with jimu.begin() as conn:
        assert schedule(conn, jimu.now()) is True and schedule(conn, jimu.now()) is False
    clock.advance(days=1)
    assert jobs.run_due(jimu) >= 1
    with jimu.read() as conn:
        keys = set(conn.execute(sa.select(db.jobs.c.idempotency_key).where(
            db.jobs.c.kind == "platform.purge", db.jobs.c.status == "pending")).scalars())
        assert keys == {f"platform.purge:{(jimu.now() + timedelta(days=1)).date().isoformat()}"}
    assert _counts(jimu)["firings"] == 1


def test_old_finished_imports_go_with_their_rejected_rows_and_file(jimu, runner, monkeypatch):
    """``RETENTION_IMPORTS_DAYS`` (30): a finished import older than that is removed with its rejected
    rows and its uploaded file; a young one and one still running are kept whole."""
    import io

    from runtime.auth.principal import load_principal
    from runtime.dataio import importer
    from tests.conftest import install_package, make_user

    install_package(jimu, {"format": "jimu.app", "version": 2, "app": {"key": "stock", "version": "1.0.0",
                                                                        "label": "Stock"},
                           "forms": [{"key": "item", "version": 1, "label": "Item", "title_field": "name",
                                      "fields": [{"key": "name", "label": "Name", "widget": "text"},
                                                 {"key": "qty", "label": "Qty", "widget": "number"}]}]})
    uid = make_user(jimu, "clerk", admin=True)

    def run_import(finished_days_ago, *, finish=True):
        with jimu.begin() as conn:
            principal = load_principal(conn, uid)
            ref = importer.save_upload(jimu, conn, principal, io.BytesIO(b"name,qty\na,1\nb,x\nc,y\n"), "i.csv")
            iid = importer.start(jimu, conn, principal, "item", ref["id"], "i.csv", queue=False)
        if finish:
            with jimu.begin() as conn:
                assert importer.step(jimu, conn, iid) is False
                conn.execute(sa.update(db.imports).where(db.imports.c.id == iid).values(
                    finished_at=jimu.now() - timedelta(days=finished_days_ago)))
        return iid, ref["id"]

    old, old_file = run_import(45)
    young, young_file = run_import(2)
    running, running_file = run_import(0, finish=False)
    with jimu.begin() as conn:   # started long ago and still running: not finished, so kept
        conn.execute(sa.update(db.imports).where(db.imports.c.id == running).values(
            created_at=jimu.now() - timedelta(days=90)))
    monkeypatch.setitem(jimu.config, "RETENTION_BATCH", 1)
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0 and "imports: 1" in result.output, result.output
    store = jimu.services.files.store
    with jimu.read() as conn:
        assert sorted(conn.execute(sa.select(db.imports.c.id)).scalars()) == sorted([young, running])
        rejects = conn.execute(sa.select(db.import_rejects.c.import_id)).scalars().all()
        assert sorted(rejects) == [young, young]
        kept = set(conn.execute(sa.select(db.files.c.id)).scalars())
    assert old_file not in kept and not store.has(old_file)
    assert {young_file, running_file} <= kept and store.has(young_file)
