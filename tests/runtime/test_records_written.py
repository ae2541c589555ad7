"""``runtime.store.records.written`` and ``runtime.deferred._pending``: the last answer each remembers
(``runtime.txmemo``) is always the one ``conn.info`` holds — across connections taking turns,
transactions, savepoints rolled back and an invalidated connection."""
from __future__ import annotations

import contextlib

import pytest
import sqlalchemy as sa

from runtime import deferred
from runtime.store import records as store_records
from runtime.store.records import _WRITTEN, written


def _from_info(conn: sa.Connection) -> dict | None:
    """What ``written`` answered before it remembered its last answer."""
    entry = conn.info.get(_WRITTEN)
    return entry[1] if entry is not None and entry[0] is conn.get_transaction() else None


def test_the_remembered_answer_is_the_one_the_connection_holds(jimu):
    with jimu.engine.connect() as a, jimu.engine.connect() as b:
        b = b.execution_options(readonly=True)   # SQLite: one writer at a time (b only keeps records here)
        assert written(a) is None and written(a, create=True) is None   # outside a transaction
        with a.begin():
            kept_a = written(a, create=True)
            kept_a["x"] = 1
            with b.begin():
                assert written(b) is None
                kept_b = written(b, create=True)
                for _ in range(2):   # the two connections take turns
                    assert written(a) is kept_a is _from_info(a)
                    assert written(b) is kept_b is _from_info(b)
                with b.begin_nested() as sp:
                    written(b)["y"] = 2
                    sp.rollback()   # forgets what the savepoint wrote
                assert written(b) is None is _from_info(b)
                assert written(a) is kept_a
            assert written(b) is None   # b's transaction ended
        with a.begin():
            assert written(a) is None is _from_info(a)   # a new transaction on the same connection
            assert written(a, create=True) is _from_info(a) is not kept_a


def test_an_invalidated_connection_raises_as_it_did(jimu):
    conn = jimu.engine.connect()
    tx = conn.begin()
    written(conn, create=True)
    assert written(conn) is not None and deferred._pending(conn, create=True) is not None
    conn.invalidate()
    assert store_records._LAST.get(conn, tx) is None and deferred._LAST.get(conn, tx) is None
    with pytest.raises(sa.exc.PendingRollbackError):
        conn.info  # noqa: B018 (what ``written`` reads)
    with pytest.raises(sa.exc.PendingRollbackError):
        written(conn)
    with contextlib.suppress(sa.exc.PendingRollbackError):   # the runtime's rollback listeners read conn.info too
        conn.close()


def test_the_rows_waiting_for_a_commit_are_the_ones_the_connection_holds(jimu):
    """``deferred._pending`` remembers its last answer too: the rows of the transaction under way on that
    connection, never another connection's, a rolled-back transaction's or an earlier one's."""
    def from_info(conn):
        pending = conn.info.get(deferred._KEY)
        return pending if pending is not None and pending.tx is conn.get_transaction() else None

    with jimu.engine.connect() as a, jimu.engine.connect() as b:
        b = b.execution_options(readonly=True)
        with a.begin():
            rows_a = deferred._pending(a, create=True)
            with b.begin():
                rows_b = deferred._pending(b, create=True)
                for _ in range(2):
                    assert deferred._pending(a) is rows_a is from_info(a)
                    assert deferred._pending(b) is rows_b is from_info(b)
                b.get_transaction().rollback()
                assert deferred._pending(b) is None is from_info(b)
            assert deferred._pending(a) is rows_a
        with a.begin():
            assert deferred._pending(a) is None is from_info(a)
            assert deferred._pending(a, create=True) is from_info(a) is not rows_a
