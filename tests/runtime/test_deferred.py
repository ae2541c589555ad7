"""runtime.deferred: updates of rows the transaction wrote wait for the commit, yet every statement
of the transaction that names their table sees them, and savepoints keep their meaning."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from runtime import deferred
from runtime.flows.tables import flow_instances as fi

from .test_write_path import counted


def _instance(conn) -> int:
    return conn.execute(sa.insert(fi).values(flow_key="f", flow_version=1, status="new", state={},
                                             started_at=sa.func.now(), updated_at=sa.func.now())
                        .returning(fi.c.id)).scalar_one()


def _status(jimu, iid):
    with jimu.read() as conn:
        return conn.execute(sa.select(fi.c.status).where(fi.c.id == iid)).scalar_one()


def test_updates_wait_for_the_commit_and_merge_into_one_statement(jimu):
    with counted(jimu.engine) as statements:
        with jimu.begin() as conn:
            iid = _instance(conn)
            deferred.update(conn, fi, iid, {"status": "running", "state": {"at": "a"}})
            deferred.update(conn, fi, iid, {"state": {"at": "b"}})
            deferred.update(conn, fi, iid, {"outcome": "done"})
            assert not any(s.lstrip().startswith("UPDATE jimu_flow_instances") for s in statements)
    assert sum(s.lstrip().startswith("UPDATE jimu_flow_instances") for s in statements) == 1
    with jimu.read() as conn:
        row = conn.execute(sa.select(fi).where(fi.c.id == iid)).mappings().one()
    assert (row["status"], row["state"], row["outcome"]) == ("running", {"at": "b"}, "done")


def test_a_statement_naming_the_table_sees_the_pending_values(jimu):
    with jimu.begin() as conn:
        iid = _instance(conn)
        deferred.update(conn, fi, iid, {"status": "running"})
        # a read joining the table, and a write on top of the pending value
        found = conn.execute(sa.select(sa.func.count()).select_from(fi).where(fi.c.status == "running")).scalar()
        assert found == 1
        deferred.update(conn, fi, iid, {"status": "waiting"})
        conn.execute(sa.update(fi).where(fi.c.id == iid, fi.c.status == "waiting").values(outcome="seen"))
    with jimu.read() as conn:
        assert conn.execute(sa.select(fi.c.status, fi.c.outcome).where(fi.c.id == iid)).one() == ("waiting", "seen")


def test_a_rolled_back_savepoint_brings_back_the_updates_pending_when_it_began(jimu):
    with jimu.begin() as conn:
        iid = _instance(conn)
        deferred.update(conn, fi, iid, {"status": "before"})
        with conn.begin_nested() as sp:
            deferred.update(conn, fi, iid, {"status": "inside"})
            # read inside the savepoint: "inside" is written there, and undone by the rollback
            assert conn.execute(sa.select(fi.c.status).where(fi.c.id == iid)).scalar() == "inside"
            sp.rollback()
        assert conn.execute(sa.select(fi.c.status).where(fi.c.id == iid)).scalar() == "before"
        with conn.begin_nested():
            deferred.update(conn, fi, iid, {"status": "released"})
    assert _status(jimu, iid) == "released"


def test_a_rolled_back_transaction_writes_nothing_pending(jimu):
    with jimu.begin() as conn:
        iid = _instance(conn)
    conn = jimu.engine.connect()
    tx = conn.begin()
    deferred.update(conn, fi, iid, {"status": "lost"})
    tx.rollback()
    conn.close()
    assert _status(jimu, iid) == "new"


def test_large_batches_still_go_in_and_counters_move_once(jimu):
    """A bulk write: thousands of rows and dozens of updates go in, in the order added; a counter asked
    to move many times in one transaction moves once."""
    from runtime import db
    from runtime.flows.tables import flow_history
    with jimu.begin() as conn:
        ids = [_instance(conn) for _ in range(25)]
        for iid in ids:
            deferred.update(conn, fi, iid, {"status": "running"})
        for i in range(2000):
            deferred.add(conn, flow_history, dict(instance_id=ids[0], at=jimu.now(), node_id=f"n{i}", kind="k"))
        form_id = conn.execute(sa.insert(db.forms).values(
            key="bulk_form", app_key="a", version=1, status="active", table_name="fx", definition={},
            data_version=0).returning(db.forms.c.id)).scalar_one()
        for _ in range(3):
            deferred.tally(conn, db.form_versions, {"form_id": form_id, "slot": 3}, "version")
    with jimu.begin() as conn:
        deferred.tally(conn, db.form_versions, {"slot": 3, "form_id": form_id}, "version")
        deferred.tally(conn, db.form_versions, {"form_id": form_id, "slot": 4}, "version")
    with jimu.read() as conn:
        running = conn.execute(sa.select(sa.func.count()).select_from(fi).where(fi.c.status == "running")).scalar()
        assert running == len(ids)
        nodes = conn.execute(sa.select(flow_history.c.node_id).order_by(flow_history.c.id)).scalars().all()
        assert nodes == [f"n{i}" for i in range(2000)]
        v = db.form_versions
        assert conn.execute(sa.select(v.c.slot, v.c.version).where(v.c.form_id == form_id)
                            .order_by(v.c.slot)).all() == [(3, 2), (4, 1)]
        assert conn.execute(sa.select(db.data_version()).where(db.forms.c.id == form_id)).scalar() == 3


def test_nested_blocks_send_their_savepoints_outermost_first_and_only_when_writing(jimu):
    """runtime.store.records.savepoint: blocks that only read send nothing; a write deep inside nested
    blocks sends each block's SAVEPOINT in nesting order, and an inner failure undoes the inner write."""
    from runtime.store.records import savepoint
    with counted(jimu.engine) as statements:
        with jimu.begin() as conn:
            iid = _instance(conn)
            with savepoint(conn):
                conn.execute(sa.select(fi.c.id)).all()
            assert not any("SAVEPOINT" in s for s in statements)
            with savepoint(conn):
                with savepoint(conn):
                    with savepoint(conn):
                        conn.execute(sa.update(fi).where(fi.c.id == iid).values(outcome="deep"))
                try:
                    with savepoint(conn):
                        conn.execute(sa.update(fi).where(fi.c.id == iid).values(status="undone"))
                        raise RuntimeError("a failing action")
                except RuntimeError:
                    pass
    sent = [s.split()[-1] for s in statements if s.startswith("SAVEPOINT")]
    assert sent == sorted(sent, key=lambda n: int(n.rsplit("_", 1)[1])) and len(sent) == 4
    with jimu.read() as conn:
        assert conn.execute(sa.select(fi.c.status, fi.c.outcome).where(fi.c.id == iid)).one() == ("new", "deep")


def test_jobs_queued_at_commit_are_there_for_a_statement_that_reads_or_cancels_them(jimu):
    """Jobs queued with ``at_commit`` go out together (the first of one key wins, as one INSERT at a
    time would have it); a cancel in the same transaction finds them."""
    from runtime import db, jobs
    now = jimu.now()
    with counted(jimu.engine) as statements:
        with jimu.begin() as conn:
            jobs.enqueue(conn, "k", {"n": 1}, run_at=now, key="a", now=now, at_commit=True)
            jobs.enqueue(conn, "k", {"n": 2}, run_at=now, key="a", now=now, at_commit=True)
            jobs.enqueue(conn, "k", {"n": 3}, run_at=now, key="b", now=now, at_commit=True)
            assert not any("jimu_jobs" in s for s in statements)
    assert sum("INSERT INTO jimu_jobs" in s for s in statements) == 1
    with jimu.begin() as conn:
        jobs.enqueue(conn, "k", {"n": 4}, run_at=now, key="c", now=now, at_commit=True)
        assert jobs.cancel(conn, "c")
    with jimu.read() as conn:
        got = dict(conn.execute(sa.select(db.jobs.c.idempotency_key, db.jobs.c.payload)).all())
        status = conn.execute(sa.select(db.jobs.c.status).where(db.jobs.c.idempotency_key == "c")).scalar()
    assert got["a"] == {"n": 1} and got["b"] == {"n": 3} and status == jobs.CANCELLED


@pytest.mark.pg
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_json_values_are_written_as_the_standard_encoder_writes_them(jimu):
    """PostgreSQL, where the rows travel as JSON text: what a deferred row's JSON column holds reads
    back as ``json.dumps`` (with the store's ``default``) would have written it: times, dates and
    decimals inside it as text, integer keys as their text, Chinese as it is, doubles to the last
    digit, and values the faster encoder refuses (an integer beyond 64 bits, a time with a zone) all
    the same."""
    import json
    from datetime import date, datetime, time, timedelta, timezone
    from decimal import Decimal

    from runtime import db
    cst = timezone(timedelta(hours=8))
    values = [
        {"at": datetime(2026, 3, 1, 8, 30, 5, 120, tzinfo=cst), "day": date(2026, 3, 1), "naive": datetime(2026, 3, 1),
         "amount": Decimal("12.50"), "by_id": {1: "一", 2: ["二", None]}, "doubles": [0.1, 1e16, -2.5e-8, 3.0],
         "text": "工单「紧急」\n", "flag": True},
        {"big": 2 ** 70, "list": [1, None]},
        {"clock": time(9, 30, tzinfo=timezone.utc)},
    ]
    for k, value in enumerate(values):   # a commit each: each row's JSON text made on its own
        with jimu.begin() as conn:
            deferred.add(conn, db.events, dict(kind="t.json", at=datetime(2026, 3, 1, tzinfo=timezone.utc),
                                               data=value, form_key="f", record_id=k))
    with jimu.read() as conn:
        e = db.events
        read = conn.execute(sa.select(e.c.data).where(e.c.kind == "t.json").order_by(e.c.record_id)).scalars().all()
    assert read == [json.loads(json.dumps(v, default=deferred._as_json)) for v in values]


@pytest.mark.pg
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_commit_statement_is_one_text_whatever_the_number_of_rows(jimu):
    """PostgreSQL: the rows travel in one JSON parameter, so commits writing one row or three, with
    any values, send the same statement text (compiled once, prepared by the driver), not a new
    statement per number of rows and values."""
    from runtime.flows.tables import flow_history
    with jimu.begin() as conn:
        iid = _instance(conn)
    sent = []
    for n in (1, 3, 2):
        with counted(jimu.engine) as statements:
            with jimu.begin() as conn:
                deferred.update(conn, fi, iid, {"status": f"s{n}"})
                for i in range(n):
                    deferred.add(conn, flow_history, dict(instance_id=iid, at=jimu.now(), node_id=f"{n}.{i}",
                                                          kind="k", comment="引号 ' \" \\ 和换行\n"))
        sent.append([s for s in statements if "jimu_flow_history" in s])
    assert all(len(s) == 1 for s in sent) and len({s[0] for s in sent}) == 1
    with jimu.read() as conn:
        rows = conn.execute(sa.select(flow_history.c.node_id, flow_history.c.comment)
                            .where(flow_history.c.instance_id == iid).order_by(flow_history.c.id)).all()
    assert [r[0] for r in rows] == ["1.0", "3.0", "3.1", "3.2", "2.0", "2.1"]
    assert {r[1] for r in rows} == {"引号 ' \" \\ 和换行\n"}
    assert _status(jimu, iid) == "s2"


def test_values_read_back_as_a_statement_of_their_own_writes_them(jimu):
    """Deferred rows keep each column type's meaning: a naive time is UTC, a decimal stays exact, and
    None in a JSON column is JSON null (as SQLAlchemy writes it), not SQL NULL."""
    from datetime import datetime, timezone
    from decimal import Decimal

    from runtime import db
    with jimu.begin() as conn:
        deferred.add(conn, db.events, dict(kind="t.deferred", at=datetime(2026, 3, 1, 8, 30), data=None,
                                           form_key="f", record_id=1))
        deferred.add(conn, db.events, dict(kind="t.deferred", at=datetime(2026, 3, 1, 9, tzinfo=timezone.utc),
                                           data={"amount": str(Decimal("12.50")), "list": [1, None]},
                                           form_key="f", record_id=2))
    with jimu.read() as conn:
        e = db.events
        rows = conn.execute(sa.select(e.c.at, e.c.data, e.c.data.is_(None)).where(e.c.kind == "t.deferred")
                            .order_by(e.c.record_id)).all()
    assert rows[0][0] == datetime(2026, 3, 1, 8, 30, tzinfo=timezone.utc)
    assert rows[0][1] is None and rows[0][2] is False   # JSON null, not SQL NULL
    assert rows[1][0] == datetime(2026, 3, 1, 9, tzinfo=timezone.utc)
    assert rows[1][1] == {"amount": "12.50", "list": [1, None]}


@pytest.mark.pg
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_writers_of_one_form_commit_side_by_side(jimu):
    """PostgreSQL: two transactions writing one form's records do not wait for each other's commit on
    the form's data version (it is spread over slots, one per server process), yet the version a
    reader sees moves only with what is committed."""
    from runtime import db

    def slot(c):
        return c.connection.dbapi_connection.info.backend_pid % db.FORM_VERSION_SLOTS

    def version():
        with jimu.read() as c:
            return c.execute(sa.select(db.data_version()).where(db.forms.c.id == form_id)).scalar()

    with jimu.begin() as conn:
        form_id = conn.execute(sa.insert(db.forms).values(
            key="side_by_side", app_key="a", version=1, status="active", table_name="fx", definition={},
            data_version=0).returning(db.forms.c.id)).scalar_one()
    first = jimu.engine.connect()
    held = [jimu.engine.connect()]
    while slot(held[-1]) == slot(first) and len(held) < 10:
        held.append(jimu.engine.connect())
    second = held[-1]
    try:
        tx = first.begin()
        db.data_written(first, form_id)
        deferred.flush(first)            # the commit statement has run; the commit has not
        with second.begin():
            second.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            db.data_written(second, form_id)
        assert version() == 1            # the second writer's commit, not the first's pending one
        tx.commit()
        assert version() == 2
    finally:
        first.close()
        for c in held:
            c.close()


@pytest.mark.pg
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_commit_time_update_finds_its_rows_by_primary_key(jimu):
    """PostgreSQL: the UPDATE of rows written earlier in the transaction finds them through the primary
    key, not by reading the whole table for a join with the JSON rows (a cost growing with the table)."""
    import json
    with jimu.begin() as conn:
        ids = [_instance(conn) for _ in range(3000)]
        conn.exec_driver_sql("ANALYZE jimu_flow_instances")
    statement = deferred._shape("updates", fi, ("status",), None).statement("w0")
    compiled = statement.compile(dialect=jimu.engine.dialect)
    params = dict(compiled.params, w0=json.dumps([{"id": ids[7], "status": "moved"}]))
    with jimu.begin() as conn:
        plan = "\n".join(conn.exec_driver_sql(f"EXPLAIN {compiled}", params).scalars())
    assert "Seq Scan on jimu_flow_instances" not in plan and "jimu_flow_instances_pkey" in plan, plan


def test_a_row_taken_back_inside_a_savepoint_rolled_back_is_written_after_all(jimu):
    """``drop`` takes a waiting row back; a savepoint rolled back afterwards brings it back, and a row
    already written cannot be taken back (``drop`` says so)."""
    from runtime.db import jobs as jobs_table

    def job(key):
        return {"kind": "test.none", "payload": {}, "run_at": jimu.now(), "status": "pending", "attempts": 0,
                "max_attempts": 1, "idempotency_key": key, "created_at": jimu.now()}

    with jimu.begin() as conn:
        kept = deferred.add(conn, jobs_table, job("kept"))
        gone = deferred.add(conn, jobs_table, job("gone"))
        with conn.begin_nested() as sp:
            assert deferred.drop(conn, kept)
            sp.rollback()
        assert deferred.drop(conn, gone) and not deferred.drop(conn, gone)
        conn.execute(sa.select(jobs_table.c.id))   # writes what waits for the jobs table
        assert not deferred.drop(conn, kept)
    with jimu.read() as conn:
        assert conn.execute(sa.select(jobs_table.c.idempotency_key)).scalars().all() == ["kept"]
