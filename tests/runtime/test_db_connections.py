"""Connection handling of an API request (runtime.db): the identity lookup reads outside a transaction,
a pooled connection is pinged only after it sat idle, and neither leaves a later write without its
transaction or on a dead connection. Through HTTP, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from runtime import db
from runtime.auth import tokens
from tests.conftest import api_token, install_package, make_user

from .test_api_http import LOANS as PACKAGE


@pytest.fixture
def headers(jimu):
    install_package(jimu, PACKAGE)
    return {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, 'writer', admin=True))}"}


def test_the_identity_lookup_runs_outside_a_transaction_and_the_write_after_it_inside_one(
        jimu, client, headers, monkeypatch):
    seen = []
    lookup = tokens.authenticate_token

    def spy(conn, secret, *, now):
        driver = conn.connection.driver_connection
        seen.append(driver.autocommit if jimu.engine.dialect.name != "sqlite" else driver.in_transaction)
        return lookup(conn, secret, now=now)

    monkeypatch.setattr(tokens, "authenticate_token", spy)
    for _ in range(2):
        assert client.post("/api/v1/forms/loan/records", headers=headers, json={"item": "a"}).status_code == 201
    # PostgreSQL: autocommit (no BEGIN / ROLLBACK round trips); SQLite: no BEGIN, no read lock held
    assert seen == [jimu.engine.dialect.name != "sqlite"] * 2
    # the pooled connection the lookup used is transactional again: a failed write leaves nothing
    with pytest.raises(ZeroDivisionError), jimu.begin() as conn:
        ft = jimu.catalog.form("loan")
        conn.execute(sa.update(ft.table).values({ft.columns["item"].name: "changed"}))
        1 / 0  # noqa: B018  (the failure that must roll the write back)
    r = client.get("/api/v1/forms/loan/records", headers=headers)
    assert [x["item"] for x in r.get_json()["records"]] == ["a", "a"]


@pytest.mark.pg
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_connection_used_a_moment_ago_is_not_pinged(jimu, client, headers, monkeypatch):
    pings = []
    ping = jimu.engine.dialect.do_ping
    monkeypatch.setattr(jimu.engine.dialect, "do_ping", lambda c: pings.append(1) or ping(c))
    for _ in range(3):
        assert client.post("/api/v1/forms/loan/records", headers=headers, json={"item": "b"}).status_code == 201
    assert pings == []


@pytest.mark.pg
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_an_idle_connection_the_server_closed_is_replaced_before_a_request_uses_it(
        jimu, client, headers, monkeypatch):
    assert client.post("/api/v1/forms/loan/records", headers=headers, json={"item": "c"}).status_code == 201
    pooled = [jimu.engine.connect() for _ in range(jimu.engine.pool.checkedin())]   # the request's, back
    pids = {conn.execute(sa.text("SELECT pg_backend_pid()")).scalar() for conn in pooled}
    for conn in pooled:
        conn.close()
    assert pids
    other = sa.create_engine(jimu.engine.url, poolclass=sa.pool.NullPool)
    with other.connect() as conn:  # as a server restart or a proxy's idle timeout would
        for pid in pids:
            assert conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
    other.dispose()
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", -1.0)  # the pooled connections count as idle
    r = client.post("/api/v1/forms/loan/records", headers=headers, json={"item": "d"})
    assert r.status_code == 201, r.get_data(as_text=True)
    pooled = [jimu.engine.connect() for _ in range(jimu.engine.pool.checkedin())]
    try:
        assert not pids & {conn.execute(sa.text("SELECT pg_backend_pid()")).scalar() for conn in pooled}
    finally:
        for conn in pooled:
            conn.close()


# -- the catalogue revision, read with the API token ------------------------------------------------------
def _other_process(app, tmp_path):
    """A second app on the same database, as another gunicorn worker or host would be."""
    from runtime.app import create_app
    return create_app({k: app.config[k] for k in ("DATABASE_URL", "SECRET_KEY", "CLOCK")}
                      | {"TESTING": True, "UPLOAD_DIR": str(tmp_path / "files2")})


def _upgraded(field):
    import copy
    data = copy.deepcopy(PACKAGE)
    data["app"]["version"] = "1.1.0"
    data["forms"][0]["version"] = 2
    data["forms"][0]["fields"].append({"key": field, "label": field, "widget": "text"})
    return data


def test_an_api_create_reads_the_catalogue_revision_once_with_its_token(jimu, client, headers):
    from tests.runtime.test_write_path import counted
    client.post("/api/v1/forms/loan/records", headers=headers, json={"item": "warm"})
    with counted(jimu.engine) as statements:
        r = client.post("/api/v1/forms/loan/records", headers=headers, json={"item": "e"})
    assert r.status_code == 201
    reads = [s for s in statements if "jimu_catalog_revision" in s]
    assert len(reads) == 1 and "jimu_api_tokens" in reads[0]


def test_a_form_published_by_another_process_is_used_by_the_next_api_request(app, jimu, client, headers,
                                                                            tmp_path):
    assert client.post("/api/v1/forms/loan/records", headers=headers, json={"item": "f"}).status_code == 201
    other = _other_process(app, tmp_path)
    try:
        install_package(other.extensions["jimu"], _upgraded("colour"))
    finally:
        other.extensions["jimu"].dispose()
    r = client.post("/api/v1/forms/loan/records", headers=headers, json={"item": "g", "colour": "red"})
    assert r.status_code == 201, r.get_data(as_text=True)
    assert r.get_json()["colour"] == "red"


def test_the_revision_a_request_read_is_not_trusted_after_it(app, jimu, client, headers, tmp_path):
    # refused after its identity lookup and before any transaction: the revision it read goes unused
    r = client.post("/api/v1/forms/loan/records", headers=dict(headers, Accept="text/html"), json={"item": "h"})
    assert r.status_code == 406
    import threading
    other = _other_process(app, tmp_path)
    try:  # in a thread of its own, as another process would: nothing of this thread's context reaches it
        worker = threading.Thread(target=install_package, args=(other.extensions["jimu"], _upgraded("shape")))
        worker.start()
        worker.join()
    finally:
        other.extensions["jimu"].dispose()
    with jimu.begin():  # same thread, outside any request: reads the revision itself
        assert "shape" in jimu.catalog.form("loan").columns


@pytest.mark.pg
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_request_checks_out_one_connection_for_its_identity_and_its_ids_and_returns_both(jimu, client, headers):
    """PostgreSQL: the identity lookup's autocommit connection stays with the request and draws the
    new record's id for its transaction (the connection aside, ``runtime.aside.lend``): two checkouts
    (identity and ids, the write), not three; at the request's end, failed or not, both are back."""
    assert client.post("/api/v1/forms/loan/records", headers=headers, json={"item": "a"}).status_code == 201
    checkouts = []   # after the token's first use is recorded (on a connection of its own)

    def count(*_args):
        checkouts.append(1)

    sa.event.listen(jimu.engine, "checkout", count)
    base = jimu.engine.pool.checkedout()
    try:
        r = client.post("/api/v1/forms/loan/records", headers=headers, json={"item": "a"})
        assert r.status_code == 201, r.get_data(as_text=True)
        assert (len(checkouts), jimu.engine.pool.checkedout()) == (2, base)
        assert client.get(f"/api/v1/forms/loan/records/{r.get_json()['id']}", headers=headers).status_code == 200
        for bad in ({"item": "x", "nope": 1}, ["not", "records"]):
            checkouts.clear()
            assert client.post("/api/v1/forms/loan/records", headers=headers, json=bad).status_code >= 400
            assert jimu.engine.pool.checkedout() == base
    finally:
        sa.event.remove(jimu.engine, "checkout", count)
