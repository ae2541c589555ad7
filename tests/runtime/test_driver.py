"""runtime.driver: a one-row statement sent straight through the driver gives what
``Connection.execute(...).first()`` gives, is seen by the engine's statement listeners, and fails as
SQLAlchemy fails."""
import json
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


def _prepared(conn) -> list[str]:
    """The statements the driver prepared on ``conn``'s server connection that read driver_things."""
    return [r[0] for r in conn.exec_driver_sql(
        "select statement from pg_prepared_statements"
        " where strpos(statement, 'driver_things') > 0 and strpos(name, 'jimu_') = 1")]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.pg
def test_a_statement_is_prepared_on_its_second_run_on_a_server_connection_and_once(engine, db_url):
    """A statement a connection runs once is sent unprepared (no round trip of its own to prepare it);
    from the second run on it is prepared, once per server connection across checkouts; a connection that
    replaced an invalidated one prepares it again, and rows still come back right after an error."""
    with _autocommit(engine) as conn:
        assert driver.first(conn, BY_NAME, {"name": "甲"}).name == "甲"
        assert _prepared(conn) == []
    for name in ("乙", "甲", "乙"):
        with _autocommit(engine) as conn:
            row = driver.first(conn, BY_NAME, {"name": name})
            assert row.name == name and (row.data is None) == (name == "乙")
            assert len(_prepared(conn)) == 1, "prepared once, on the only server connection the pool holds"
    with _autocommit(engine) as conn:
        conn.invalidate()
        assert driver.first(conn, BY_NAME, {"name": "甲"}).data == {"k": [1, 2]}
        assert _prepared(conn) == []
        assert driver.first(conn, BY_NAME, {"name": "甲"}).name == "甲"
        assert len(_prepared(conn)) == 1


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.pg
def test_a_prepared_statement_the_server_dropped_is_prepared_again(engine, db_url):
    with _autocommit(engine) as conn:
        for _ in range(2):
            driver.first(conn, BY_NAME, {"name": "甲"})
        conn.exec_driver_sql("DEALLOCATE ALL")
        assert driver.first(conn, BY_NAME, {"name": "甲"}).at == AT.astimezone(timezone.utc)
        assert len(_prepared(conn)) == 1


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.pg
def test_values_of_other_types_take_the_cursor_and_give_the_same_rows(engine, db_url):
    """Text, integers, booleans and None go to libpq as text; a timestamp (or text psycopg refuses: a NUL
    character) goes through psycopg's cursor, with the same result or the same error."""
    by_at = sa.select(things.c.id, things.c.name).where(things.c.at == sa.bindparam("at", type_=UTCDateTime))
    flag = sa.select(sa.cast(sa.bindparam("on", type_=sa.Boolean), sa.Boolean).label("on"),
                     sa.cast(sa.bindparam("n", type_=sa.BigInteger), sa.BigInteger).label("n"))
    with _autocommit(engine) as conn:
        for _ in range(3):
            assert driver.first(conn, by_at, {"at": AT}).name == "甲"
            assert tuple(driver.first(conn, flag, {"on": False, "n": -2 ** 40})) == (False, -2 ** 40)
            assert tuple(driver.first(conn, flag, {"on": None, "n": None})) == (None, None)
        with pytest.raises(sa.exc.DBAPIError):
            driver.first(conn, BY_NAME, {"name": "a\x00b"})
        assert driver.first(conn, BY_NAME, {"name": "甲"}).name == "甲"


def test_a_connection_in_a_transaction_takes_sqlalchemys_path(engine):
    """Inside a transaction the statement goes through ``Connection.execute``: it sees the transaction's
    own uncommitted rows, as any read of it must."""
    with engine.connect() as conn, conn.begin():
        conn.execute(sa.insert(things).values(name="丁", at=AT))
        assert driver.first(conn, BY_NAME, {"name": "丁"}).name == "丁"


def test_parameters_are_what_sqlalchemy_would_send():
    """The driver's own reading of a statement's parameters (``_values``) gives what SQLAlchemy's
    ``construct_params`` and bind processors give: values passed by key, the statement's own values
    (a literal, a default), processed values (a timestamp in UTC); a required value not passed raises
    as SQLAlchemy raises."""
    from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg
    dialect = pg_psycopg.dialect()
    with_constant = sa.select(things.c.id, sa.func.set_config("a", sa.bindparam("v", type_=sa.String), True)).where(
        things.c.at == sa.bindparam("at", type_=UTCDateTime), things.c.id == sa.bindparam("id", 7))
    cases = [(BY_NAME, {"name": "甲"}), (with_constant, {"v": "x", "at": AT}),
             (with_constant, {"v": None, "at": None, "id": 9})]
    for stmt, params in cases:
        plan = driver._plan(stmt, dialect)
        expected = plan.compiled.construct_params(params)
        for key, process in plan.binds.items():
            expected[key] = process(expected[key])
        assert plan.slots is not None
        assert driver._values(plan, params) == {k: expected[k] for k in plan.order}
    with pytest.raises(sa.exc.InvalidRequestError):
        driver._values(driver._plan(with_constant, dialect), {"v": "x"})
    assert driver._text(["甲", sa.sql.quoted_name("f2", True), 3, True, None]) == ["甲".encode(), b"f2", b"3", b"t", None]
    assert driver._text([AT]) is None and driver._text(["a\x00"]) is None and driver._text([1.5]) is None


def test_json_reads_back_as_the_standard_reader_gives_it(engine):
    """JSON columns are read with orjson (``jsonread.read_json``), and what orjson refuses with the standard
    reader: an integer beyond 64 bits (which orjson reads as a float), a number beyond a float's range, a
    lone surrogate, a deep nesting come back as before, on either database."""
    texts = ['{"k": [1, 2], "b": true, "n": null, "f": 1.5e-7, "s": "甲\\u00e9"}',
             '{"big": 123456789012345678901234567890}', '[-9223372036854775809, 18446744073709551616]',
             '[1e400]', '["\\ud800x"]', '{"a": 1, "a": 2}', "[" * 300 + "]" * 300]
    with engine.begin() as conn:
        for text in texts:
            conn.execute(sa.text("UPDATE driver_things SET data = :d WHERE name = '乙'"
                                 if engine.dialect.name == "sqlite" else
                                 "UPDATE driver_things SET data = CAST(:d AS json) WHERE name = '乙'"), {"d": text})
            got = conn.execute(sa.select(things.c.data).where(things.c.name == "乙")).scalar()
            assert got == json.loads(text), text
