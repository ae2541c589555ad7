"""Deleting a record over the API takes what hangs on it out of people's way (held by the recycle bin,
ended when the entry is purged), and its id is never handed out again
(issue #14: a deleted record's flow kept running, its tasks stayed in inboxes, and on SQLite the
next record reused the id and inherited those flows)."""
from __future__ import annotations

import sqlalchemy as sa

from tests.conftest import api_token

from .flow_fixtures import install, instances, setup_users, simple_flow, tasks


def test_delete_holds_the_records_flows_and_takes_its_tasks_out_of_inboxes_until_purged(jimu, client, clock):
    users = setup_users(jimu)
    install(jimu, [simple_flow(sla={"after": "PT2H"})])
    admin = {"Authorization": f"Bearer {api_token(jimu, users['admin'])}"}
    ann = {"Authorization": f"Bearer {api_token(jimu, users['ann'])}"}
    first = client.post("/api/v1/forms/ticket/records", headers=admin, json={"title": "a"}).get_json()
    second = client.post("/api/v1/forms/ticket/records", headers=admin, json={"title": "b"}).get_json()
    assert client.get("/api/v1/tasks", headers=ann).get_json()["counts"]["open"] == 2
    assert client.delete(f"/api/v1/forms/ticket/records/{second['id']}", headers=admin).status_code == 204
    inbox = client.get("/api/v1/tasks", headers=ann).get_json()
    assert [t["record_id"] for t in inbox["tasks"]] == [first["id"]]
    by_record = {i["record_id"]: i["status"] for i in instances(jimu)}
    assert by_record == {first["id"]: "running", second["id"]: "in_bin"}  # held by the recycle bin
    assert {t["status"] for t in tasks(jimu, record_id=second["id"])} == {"in_bin"}
    entry = client.get("/api/v1/recycle-bin", headers=admin).get_json()["entries"][0]
    assert client.delete(f"/api/v1/recycle-bin/{entry['id']}", headers=admin).status_code == 200
    by_record = {i["record_id"]: i["status"] for i in instances(jimu)}
    assert by_record == {first["id"]: "running", second["id"]: "cancelled"}
    assert {t["status"] for t in tasks(jimu, record_id=second["id"])} == {"cancelled"}
    third = client.post("/api/v1/forms/ticket/records", headers=admin, json={"title": "c"}).get_json()
    assert third["id"] not in (first["id"], second["id"])
    flows = client.get(f"/api/v1/forms/ticket/records/{third['id']}/flows", headers=admin).get_json()["instances"]
    assert len(flows) == 1 and flows[0]["status"] == "running"


def test_the_highest_id_is_not_reused_after_a_delete(jimu, client):
    users = setup_users(jimu)
    install(jimu, [simple_flow()])
    admin = {"Authorization": f"Bearer {api_token(jimu, users['admin'])}"}
    last = client.post("/api/v1/forms/ticket/records", headers=admin, json={"title": "a"}).get_json()["id"]
    assert client.delete(f"/api/v1/forms/ticket/records/{last}", headers=admin).status_code == 204
    new = client.post("/api/v1/forms/ticket/records", headers=admin, json={"title": "b"}).get_json()["id"]
    assert new > last


def test_an_existing_sqlite_install_is_converted_on_start(app, jimu, tmp_path, monkeypatch, clock):
    """An install made before AUTOINCREMENT: its form table is rebuilt once, rows and indexes kept."""
    if jimu.engine.dialect.name != "sqlite":
        return
    users = setup_users(jimu)
    install(jimu, [simple_flow()])
    with jimu.read():
        ft = jimu.catalog.form("ticket")
    name = ft.table.name
    raw = jimu.engine.raw_connection()
    try:  # make the table look as old installs made it
        cur = raw.cursor()
        sql = cur.execute("SELECT sql FROM sqlite_master WHERE name=?", (name,)).fetchone()[0]
        old = sql.replace("PRIMARY KEY AUTOINCREMENT", "").replace(f'CREATE TABLE "{name}"', 'CREATE TABLE old_t')
        old = old.replace(f"CREATE TABLE {name}", "CREATE TABLE old_t").rstrip().rstrip(")") + ", PRIMARY KEY (id))"
        cur.execute("PRAGMA foreign_keys=OFF")
        cur.execute(old)
        cur.execute(f'DROP TABLE "{name}"')
        cur.execute(f'ALTER TABLE old_t RENAME TO "{name}"')
        raw.commit()
        assert "AUTOINCREMENT" not in cur.execute("SELECT sql FROM sqlite_master WHERE name=?", (name,)).fetchone()[0]
    finally:
        raw.close()
    from tests.runtime.flow_fixtures import create_ticket
    kept = create_ticket(jimu, users["admin"], title="kept")
    doomed = create_ticket(jimu, users["admin"], title="doomed")
    with jimu.begin() as conn:
        conn.execute(sa.delete(ft.table).where(ft.table.c.id == doomed["id"]))
    from runtime.app import create_app
    again = create_app({"DATABASE_URL": str(jimu.engine.url), "TESTING": True, "SECRET_KEY": "test-secret",
                        "CLOCK": clock, "UPLOAD_DIR": str(tmp_path / "files")})
    j2 = again.extensions["jimu"]
    try:
        with j2.read() as conn:
            sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name=?", (name,)).scalar()
            assert "AUTOINCREMENT" in sql
            assert [r.title for r in conn.execute(sa.select(ft.table.c[ft.columns["title"].key].label("title")))] \
                == ["kept"]
        fresh = create_ticket(j2, users["admin"], title="new")
        assert fresh["id"] > kept["id"]
    finally:
        j2.dispose()
