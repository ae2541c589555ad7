"""runtime.driver: a one-row statement sent straight through the driver gives what
``Connection.execute(...).first()`` gives, is seen by the engine's statement listeners, and fails as
SQLAlchemy fails."""
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from engines.sqltypes import UTCDateTime
from runtime import driver
from runtime.db import make_engine

meta = sa.MetaData()
things = sa.Table("driver_things", meta, sa.Column("id", sa.Integer, primary_key=True),
                  sa.Column("name", sa.String(40)), sa.Column("at", UTCDateTime), sa.Column("data", sa.JSON))
BY_NAME = sa.select(things.c.id, things.c.name, things.c.at, things.c.data).where(
    things.c.name == sa.bindparam("name"))
AT = datetime(2026, 12, 6, 8, 30, tzinfo=timezone(timedelta(hours=8)))


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(things), [{"name": "甲", "at": AT, "data": {"k": [1, 2]}},
                                         {"name": "乙", "at": None, "data": None}])
    yield engine
    engine.dispose()


def _autocommit(engine):
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def test_a_row_comes_back_as_sqlalchemy_gives_it(engine):
    with _autocommit(engine) as conn:
        for name in ("甲", "乙", "丙"):
            expected = conn.execute(BY_NAME, {"name": name}).first()
            got = driver.first(conn, BY_NAME, {"name": name})
            assert (got is None) == (expected is None)
            if got is not None:
                assert tuple(got) == tuple(expected)
                assert got.name == name and got.at == expected.at
    assert driver.first(_autocommit(engine), BY_NAME, {"name": "甲"}).at == AT.astimezone(timezone.utc)


def test_the_engine_statement_listeners_see_it(engine):
    seen = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, list(parameters.values() if isinstance(parameters, dict) else parameters)))

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        with _autocommit(engine) as conn:
            driver.first(conn, BY_NAME, {"name": "甲"})
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
    reads = [(s, p) for s, p in seen if "driver_things" in s]
    assert len(reads) == 1 and "甲" in reads[0][1]


def test_a_database_error_is_sqlalchemys(engine):
    bad = sa.select(sa.literal_column("1")).select_from(sa.table("no_such_table")).where(
        sa.literal_column("1") == sa.bindparam("v", type_=sa.Integer))
    with _autocommit(engine) as conn:
        with pytest.raises(sa.exc.DBAPIError):
            driver.first(conn, bad, {"v": 1})
        assert driver.first(conn, BY_NAME, {"name": "乙"}).name == "乙"   # the connection still works


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.pg
def test_a_connection_the_error_broke_is_invalidated(engine, db_url):
    """As ``Connection.execute`` does: the error says the connection was invalidated, and the pool
    hands out a live one next (the broken one is left as SQLAlchemy leaves it: unusable)."""
    conn = _autocommit(engine)
    pid = conn.exec_driver_sql("select pg_backend_pid()").scalar()
    with _autocommit(engine) as other:
        other.exec_driver_sql(f"select pg_terminate_backend({pid})")
    with pytest.raises(sa.exc.DBAPIError) as caught:
        driver.first(conn, BY_NAME, {"name": "甲"})
    assert caught.value.connection_invalidated and conn.invalidated
    with _autocommit(engine) as conn:
        assert driver.first(conn, BY_NAME, {"name": "甲"}).name == "甲"


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.pg
def test_a_server_connection_keeps_one_cursor_for_the_driver_and_a_new_connection_gets_its_own(engine, db_url):
    """The driver's statements on one server connection go through one cursor, across checkouts (a new
    cursor per statement set up its value conversions again each time); a connection that replaced an
    invalidated one gets a cursor of its own, and rows still come back right after an error."""
    cursors = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if "driver_things" in statement:
            cursors.append(cursor)

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        for name in ("甲", "乙"):
            with _autocommit(engine) as conn:
                assert driver.first(conn, BY_NAME, {"name": name}).name == name
        assert cursors[0] is cursors[1] and len(cursors) == 2
        with _autocommit(engine) as conn:
            conn.invalidate()
            assert driver.first(conn, BY_NAME, {"name": "甲"}).name == "甲"
        assert cursors[2] is not cursors[0] and cursors[2].connection is not cursors[0].connection
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def test_a_connection_in_a_transaction_takes_sqlalchemys_path(engine):
    """Inside a transaction the statement goes through ``Connection.execute``: it sees the transaction's
    own uncommitted rows, as any read of it must."""
    with engine.connect() as conn, conn.begin():
        conn.execute(sa.insert(things).values(name="丁", at=AT))
        assert driver.first(conn, BY_NAME, {"name": "丁"}).name == "丁"
