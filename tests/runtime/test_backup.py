"""Backup and restore (issue #19, item 2), tried with the laboratory app of the recycle-bin tests:
a backup taken while a writer keeps creating records restores on the *other* database kind
(SQLite → PostgreSQL, PostgreSQL → SQLite) with equal exports, records, files, running flows,
pending timers and id counters; a damaged archive, one from a newer schema and a non-empty target
are refused with coded errors before anything is written."""
from __future__ import annotations

import json
import threading
import time
import uuid
import zipfile
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from runtime import backup as bk
from tests.conftest import PG_URL, api_token, install_package, make_user

from .test_recycle import LAB, PNG


@contextmanager
def empty_database(kind: str, tmp_path):
    """A fresh database of ``kind`` and an app on it (its schema is made by the restore)."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'restored.sqlite'}"
        admin = schema = None
    else:
        if PG_URL is None:
            pytest.skip("PostgreSQL not reachable (set JIMU_TEST_PG)")
        schema = "r_" + uuid.uuid4().hex[:12]
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    try:
        yield url
    finally:
        if admin is not None:
            with admin.connect() as c:
                c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def target_app(url, tmp_path, clock):
    from runtime.app import create_app
    return create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "test-secret", "AUTO_MIGRATE": True,
                       "CLOCK": clock, "UPLOAD_DIR": str(tmp_path / "restored-files"),
                       "FILE_STORE": "database"})  # the files come back into the other kind of store


def read(jimu, file_id: str) -> bytes:
    with jimu.services.files.store.open(file_id) as f:
        return f.read()


def seed(jimu, client, n=12):
    install_package(jimu, LAB)
    ann = make_user(jimu, "ann", roles=["tech"])
    root = {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, 'root', admin=True))}"}
    h = {"Authorization": f"Bearer {api_token(jimu, ann)}"}
    ids = []
    for i in range(n):
        up = client.post("/api/v1/forms/sample/fields/scans/files", headers=h,
                         data={"file": (__import__("io").BytesIO(PNG + bytes([i])), f"s{i}.png", "image/png")},
                         content_type="multipart/form-data").get_json()
        r = client.post("/api/v1/forms/sample/records", headers=h, json={
            "code": f"S-{i}", "owner": ann, "taken": "2026-11-30", "mass": f"{i}.25", "scans": [up],
            "readings": [{"what": "pH", "value": 7 + i / 10}]})
        assert r.status_code == 201, r.get_json()
        ids.append(r.get_json()["id"])
    first = client.post("/api/v1/forms/report/records", headers=h,
                        json={"title": "R", "sample": ids[0], "also": ids[1:3]}).get_json()["id"]
    # a link to a later record (restored in id order, it points at a row not yet written)
    later = client.post("/api/v1/forms/report/records", headers=h, json={"title": "R2"}).get_json()["id"]
    r = client.patch(f"/api/v1/forms/report/records/{first}", headers=root, json={"follows": later})
    assert r.status_code == 200, r.get_json()
    # and a link from an earlier form's record to a later form's (samples are restored before reports)
    r = client.patch(f"/api/v1/forms/sample/records/{ids[0]}", headers=root, json={"latest": later})
    assert r.status_code == 200, r.get_json()
    # one in the recycle bin, one task done (its flow ended), the rest waiting with SLA timers
    assert client.delete(f"/api/v1/forms/sample/records/{ids[-1]}", headers=h).status_code == 204
    task = client.get("/api/v1/tasks", headers=h).get_json()["tasks"][0]
    assert client.post(f"/api/v1/tasks/{task['id']}/complete", headers=h, json={"outcome": "ok"}).status_code == 200
    return ann, ids


def state_of(jimu):
    """What must be equal after a restore: records by form, the app export, flows, open tasks, pending
    timers, the recycle bin and the files' rows."""
    from runtime import db, installer
    from runtime.flows.tables import flow_instances, flow_tasks
    from runtime.recycle import recycle_bin
    from runtime.audit import jsonable
    out = {}
    with jimu.read() as conn:
        for ft in jimu.catalog:
            rows, total = jimu.services.store(conn).select(ft, order_by=[ft.table.c.id])
            out[ft.key] = jsonable(rows)
        out["export"] = installer.export(conn, "lab")
        out["instances"] = jsonable([dict(r) for r in conn.execute(
            sa.select(flow_instances).order_by(flow_instances.c.id)).mappings()])
        out["tasks"] = jsonable([dict(r) for r in conn.execute(
            sa.select(flow_tasks).order_by(flow_tasks.c.id)).mappings()])
        out["timers"] = jsonable([dict(r) for r in conn.execute(
            sa.select(db.jobs.c.idempotency_key, db.jobs.c.run_at, db.jobs.c.status, db.jobs.c.payload)
            .where(db.jobs.c.kind == "flow.timer").order_by(db.jobs.c.idempotency_key)).mappings()])
        out["bin"] = jsonable([dict(r) for r in conn.execute(sa.select(recycle_bin)).mappings()])
        out["files"] = jsonable([dict(r) for r in conn.execute(sa.select(db.files).order_by(db.files.c.id)).mappings()])
        out["users"] = sorted(conn.execute(sa.select(db.users.c.username)).scalars())
    return out


def test_a_backup_taken_during_writes_restores_on_the_other_database_kind(app, jimu, client, clock, tmp_path):
    ann, samples = seed(jimu, client)
    from runtime.auth.principal import load_principal
    from runtime.records import Records
    with jimu.read() as conn:
        writer_principal = load_principal(conn, ann)
    stop, written = threading.Event(), []

    def write_load():
        i = 0
        while not stop.is_set():
            with jimu.begin() as conn:
                written.append(Records(jimu, conn, writer_principal).create("report", {"title": f"load {i}"})["id"])
            i += 1

    writer = threading.Thread(target=write_load)
    writer.start()
    try:
        while len(written) < 5:
            time.sleep(0.01)
        path = tmp_path / "jimu-backup.zip"
        manifest = bk.backup(jimu, path)
        while len(written) < manifest["records"]["report"] + 5:  # the writer kept going meanwhile
            time.sleep(0.01)
    finally:
        stop.set()
        writer.join()
    source_kind = jimu.engine.dialect.name
    from runtime.migrate import head_revision
    assert manifest["dialect"] == source_kind and manifest["schema_revision"] == head_revision()
    source = state_of(jimu)
    in_archive = manifest["records"]["report"]
    assert 0 < in_archive - 2 < len(written) + 2  # a snapshot in the middle of the load (+2: the seeded reports)
    # what the snapshot saw: the reports up to its count, everything else as it is now
    source["report"] = source["report"][:in_archive]

    other = "postgresql" if source_kind == "sqlite" else "sqlite"
    with empty_database(other, tmp_path) as url:
        restored_app = target_app(url, tmp_path, clock)
        target = restored_app.extensions["jimu"]
        try:
            result = bk.restore(target, path)
            assert target.engine.dialect.name == other
            assert result["rows"] == manifest["rows"]
            got = state_of(target)
            for key in source:
                assert got[key] == source[key], key
            assert {ft.key: len(got[ft.key]) for ft in target.catalog} == manifest["records"]
            for f in got["files"]:
                assert read(target, f["id"]) == read(jimu, f["id"])
            # ids are never handed out again, and the restored installation works: a waiting task completes
            c2 = restored_app.test_client()
            h = {"Authorization": f"Bearer {api_token(target, ann)}"}
            new = c2.post("/api/v1/forms/report/records", headers=h, json={"title": "after"}).get_json()
            report_table = target.catalog.form("report").table.name
            assert new["id"] > max(r["id"] for r in source["report"])
            assert new["id"] > manifest["counters"][report_table]
            # the newest sample is in the recycle bin (no row): its id is not handed out again either
            up = c2.post("/api/v1/forms/sample/fields/scans/files", headers=h, data={
                "file": (__import__("io").BytesIO(PNG), "n.png", "image/png")}, content_type="multipart/form-data")
            fresh = c2.post("/api/v1/forms/sample/records", headers=h, json={"code": "NEW", "owner": ann,
                                                                             "scans": [up.get_json()]}).get_json()
            assert fresh["id"] > samples[-1]
            task = c2.get("/api/v1/tasks", headers=h).get_json()["tasks"][0]
            assert c2.post(f"/api/v1/tasks/{task['id']}/complete", headers=h, json={"outcome": "ok"}).status_code == 200
            entry = c2.get("/api/v1/recycle-bin", headers=h).get_json()["entries"][0]
            assert c2.post(f"/api/v1/recycle-bin/{entry['id']}/restore", headers=h).status_code == 200
        finally:
            target.dispose()


def test_a_damaged_archive_is_refused_before_anything_is_written(jimu, client, tmp_path, clock):
    seed(jimu, client, n=2)
    path = tmp_path / "b.zip"
    bk.backup(jimu, path)
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(damaged, "w") as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "tables/jimu_users.jsonl":
                data = data.replace(b'"ann"', b'"eve"')
            out.writestr(item, data)
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with empty_database("sqlite", tmp_path) as url:
        target = target_app(url, tmp_path, clock).extensions["jimu"]
        try:
            for bad in (damaged, truncated):
                with pytest.raises(bk.CorruptArchive) as err:
                    bk.restore(target, bad)
                assert err.value.code == "backup.corrupt"
            with target.engine.connect() as conn:
                assert not bk._installed(conn)
        finally:
            target.dispose()


def test_an_archive_from_a_newer_schema_or_into_a_used_database_is_refused(jimu, client, tmp_path, clock):
    seed(jimu, client, n=2)
    path = tmp_path / "b.zip"
    bk.backup(jimu, path)
    newer = tmp_path / "newer.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(newer, "w") as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "manifest.json":
                manifest = json.loads(data)
                manifest.update(schema_revision="0099_from_the_future", jimu_version="9.0.0")
                data = json.dumps(manifest).encode()
            out.writestr(item, data)
    with pytest.raises(bk.NewerArchive) as err:
        bk.check_compatible(bk.read_manifest(newer))
    assert err.value.code == "backup.newer_schema" and "upgrade Jimu" in err.value.message
    with pytest.raises(bk.TargetNotEmpty):  # the source itself holds an installation
        bk.restore(jimu, path)


def test_jimu_backup_writes_an_archive_with_a_manifest(jimu, client, runner, tmp_path):
    seed(jimu, client, n=2)
    path = tmp_path / "cli.zip"
    result = runner.invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output
    manifest = bk.read_manifest(path)
    assert manifest["records"] == {"sample": 1, "report": 2} and manifest["files"] == 2
    assert manifest["apps"] == [{"key": "lab", "version": "1.0.0"}]
    assert manifest["jimu_version"] == bk.jimu_version()


def test_jimu_restore_from_the_shell_and_its_refusal(jimu, client, runner, tmp_path, monkeypatch):
    from click.testing import CliRunner
    from runtime.cli import main
    seed(jimu, client, n=2)
    path = tmp_path / "cli.zip"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    env = {"JIMU_DATABASE_URL": f"sqlite:///{tmp_path / 'cli-restored.sqlite'}",
           "JIMU_UPLOAD_DIR": str(tmp_path / "cli-files"), "JIMU_INSTANCE_PATH": str(tmp_path / "cli-instance")}
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 not really")
    refused = CliRunner().invoke(main, ["restore", str(bad)], env=env)
    assert refused.exit_code != 0 and "backup.corrupt" in refused.output
    done = CliRunner().invoke(main, ["restore", str(path)], env=env)
    assert done.exit_code == 0, done.output
    assert "3 records" in done.output and "2 files" in done.output  # sample 1 + report 2
    again = CliRunner().invoke(main, ["restore", str(path)], env=env)
    assert again.exit_code != 0 and "backup.target_not_empty" in again.output


def test_one_apps_data_moves_to_another_installation(jimu, client, runner, tmp_path, clock):
    """jimu export-data / import-data: the lab app with its records (ids, links inside the app, sub-table
    rows, user fields mapped by username) and files lands in an installation that has other users."""
    ann, samples = seed(jimu, client, n=3)
    path = tmp_path / "lab-data.zip"
    result = runner.invoke(args=["export-data", "lab", str(path)])
    assert result.exit_code == 0, result.output
    source = state_of(jimu)
    with empty_database("sqlite", tmp_path) as url:
        other_app = target_app(url, tmp_path, clock)
        other = other_app.extensions["jimu"]
        try:
            make_user(other, "zoe")  # another installation: its users have other ids
            ann2 = make_user(other, "ann")
            imported = other_app.test_cli_runner().invoke(args=["import-data", str(path)])
            assert imported.exit_code == 0, imported.output
            got = state_of(other)
            assert got["export"] == source["export"]
            for key in ("sample", "report"):
                assert [r["id"] for r in got[key]] == [r["id"] for r in source[key]]
                for mine, theirs in zip(got[key], source[key]):
                    for k, v in theirs.items():
                        if k in ("owner", "created_by", "updated_by"):
                            assert mine[k] == (ann2 if v == ann else None), k
                        else:
                            assert mine[k] == v, k
            ref = got["sample"][0]["scans"][0]["id"]
            assert read(other, ref) == read(jimu, ref)
            h = {"Authorization": f"Bearer {api_token(other, make_user(other, 'root', admin=True))}"}
            c2 = other_app.test_client()
            new = c2.post("/api/v1/forms/report/records", headers=h, json={"title": "n"}).get_json()
            assert new["id"] > max(r["id"] for r in got["report"])  # the counters moved past the imported ids
            again = other_app.test_cli_runner().invoke(args=["import-data", str(path)])
            assert again.exit_code != 0 and "appdata.app_installed" in again.output
        finally:
            other.dispose()
