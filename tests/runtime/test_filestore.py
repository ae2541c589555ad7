"""Files shared across hosts (issue #15, item 5), tried with a contracts app (not a helpdesk): the same
upload → record → download walk on the folder store and the database store, streaming with bounded
memory, ``jimu files move`` (verified, resumable, refusing a corrupt file), and two web processes
with folders of their own where one takes the upload and the other serves the download."""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import socket
import subprocess
import sys
import time
import json
import urllib.error
import urllib.request
from urllib.parse import quote
from pathlib import Path

import pytest
import sqlalchemy as sa

from runtime import db
from runtime.filestore import CHUNK, UnknownFileStore, store_for
from tests.conftest import api_token, install_package, make_user

CONTRACTS = {
    "format": "jimu.app", "version": 2, "app": {"key": "legal", "version": "1.0.0", "label": "Legal"},
    "roles": [{"key": "clerk", "version": 1, "label": "Clerk", "permissions": {"合同": ["create", "read", "update"]}}],
    "forms": [{"key": "合同", "version": 1, "label": {"zh-CN": "合同", "en": "Contract"}, "title_field": "对方",
               "fields": [{"key": "对方", "label": "Party", "widget": "text", "required": True},
                          {"key": "扫描件", "label": "Scans", "widget": "attachment",
                           "config": {"accept": [".pdf", ".bin"], "max_size": 4 * 1024 * 1024}}]}]}
#: three chunks and a bit: the database store writes and reads it in several rows
BIG = os.urandom(3 * CHUNK + 1234)
UPLOAD = "/api/v1/forms/合同/fields/扫描件/files"


def make_app(db_url, tmp_path, name, store, monkeypatch):
    monkeypatch.setenv("JIMU_INSTANCE_PATH", str(tmp_path / f"instance-{name}"))
    from runtime.app import create_app
    return create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": "test-secret", "AUTO_MIGRATE": True,
                       "UPLOAD_DIR": str(tmp_path / f"files-{name}"), "FILE_STORE": store})


@pytest.fixture(params=["folder", "database"])
def legal(request, db_url, tmp_path, monkeypatch):
    app = make_app(db_url, tmp_path, "a", request.param, monkeypatch)
    jimu = app.extensions["jimu"]
    install_package(jimu, CONTRACTS)
    clerk = {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, 'clerk', roles=['clerk']))}"}
    yield app, jimu, clerk
    jimu.dispose()


def upload(client, headers, data, name="c.bin"):
    r = client.post(UPLOAD, headers=headers, data={"file": (io.BytesIO(data), name, "application/octet-stream")},
                    content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_upload_reference_and_download_on_each_store(legal):
    app, jimu, clerk = legal
    client = app.test_client()
    ref = upload(client, clerk, BIG)
    empty = upload(client, clerk, b"", "empty.pdf")
    rec = client.post("/api/v1/forms/合同/records", headers=clerk, json={"对方": "ACME", "扫描件": [ref, empty]})
    assert rec.status_code == 201, rec.get_json()
    base = f"/api/v1/forms/合同/records/{rec.get_json()['id']}/files/扫描件"
    got = client.get(f"{base}/{ref['id']}", headers=clerk)
    assert got.status_code == 200 and got.data == BIG and int(got.headers["Content-Length"]) == len(BIG)
    assert client.get(f"{base}/{empty['id']}", headers=clerk).data == b""
    store = jimu.services.files.store
    assert store.name == jimu.config["FILE_STORE"] and sorted(store.ids()) == sorted([ref["id"], empty["id"]])
    with jimu.read() as conn:
        chunks = conn.execute(sa.select(sa.func.count()).select_from(db.file_chunks)).scalar()
    assert chunks == (5 if store.name == "database" else 0)  # four rows for BIG, one (empty) for the empty file
    too_big = client.post(f"{UPLOAD}?name=x.bin", headers={**clerk, "Content-Type": "application/octet-stream"},
                          data=b"x" * (4 * 1024 * 1024 + 1))
    assert too_big.status_code == 413 and sorted(store.ids()) == sorted([ref["id"], empty["id"]])


#: run in a process of its own: tracemalloc counts every thread's allocations, and a test process also runs
#: what earlier tests left going (live servers' threads, the segmenter's background load); two CI runs saw
#: peaks of 10 MB from them
STREAM_16_MIB = """
import hashlib, io, json, sys, tracemalloc
from runtime import db
from runtime.filestore import CHUNK, digest, store_for
size = 16 * 1024 * 1024

class Source(io.RawIOBase):
    sent = 0
    def readable(self):
        return True
    def readinto(self, b):
        n = min(len(b), size - self.sent)
        b[:n] = b"z" * n
        self.sent += n
        return n

engine = db.make_engine(sys.argv[1])
store = store_for({"UPLOAD_DIR": sys.argv[2]}, engine, "database")
tracemalloc.start()
with engine.begin() as conn:
    written = store.put(conn, "ab" * 16, io.BufferedReader(Source(), CHUNK))
_, peak_in = tracemalloc.get_traced_memory()
tracemalloc.reset_peak()
read = digest(store, "ab" * 16)
_, peak_out = tracemalloc.get_traced_memory()
tracemalloc.stop()
print(json.dumps({"written": written, "read": read, "peaks": [peak_in, peak_out]}))
"""


def test_the_database_store_streams_with_bounded_memory(jimu, tmp_path):
    """16 MiB in and out of the database store while Python never holds more than a few chunks."""
    run = subprocess.run([sys.executable, "-c", STREAM_16_MIB, jimu.config["DATABASE_URL"], str(tmp_path)],
                         capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parents[2])
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    size = 16 * 1024 * 1024
    assert out["written"] == out["read"] == [size, hashlib.sha256(b"z" * size).hexdigest()]
    peak_in, peak_out = out["peaks"]
    assert peak_in < 8 * CHUNK and peak_out < 8 * CHUNK, (peak_in, peak_out)


def test_an_unknown_store_is_refused_with_the_fix(db_url, tmp_path, monkeypatch):
    with pytest.raises(UnknownFileStore, match="JIMU_FILE_STORE to database or folder"):
        make_app(db_url, tmp_path, "x", "s3", monkeypatch)


def test_files_move_verifies_resumes_and_refuses_a_corrupt_file(db_url, tmp_path, monkeypatch):
    app = make_app(db_url, tmp_path, "a", "folder", monkeypatch)
    jimu = app.extensions["jimu"]
    install_package(jimu, CONTRACTS)
    clerk = {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, 'clerk', roles=['clerk']))}"}
    client = app.test_client()
    refs = [upload(client, clerk, BIG[:n], f"{n}.bin") for n in (0, 10, CHUNK, len(BIG))]
    rid = client.post("/api/v1/forms/合同/records", headers=clerk,
                      json={"对方": "ACME", "扫描件": refs}).get_json()["id"]
    runner = app.test_cli_runner()
    first = runner.invoke(args=["files", "move", "--to", "database"])
    assert first.exit_code == 0, first.output
    assert "4 copied, 0 already" in first.output and "JIMU_FILE_STORE=database" in first.output
    database = store_for(jimu.config, jimu.engine, "database")
    assert sorted(database.ids()) == sorted(r["id"] for r in refs)
    # stopped half-way: one copy is gone; a second run copies that one only
    with jimu.begin() as conn:
        database.delete(conn, [refs[3]["id"]])
    again = runner.invoke(args=["files", "move", "--to", "database"])
    assert again.exit_code == 0 and "1 copied, 3 already" in again.output, again.output
    # a file whose bytes no longer match its recorded checksum is not copied, and the run fails
    folder = Path(jimu.config["UPLOAD_DIR"])
    (folder / refs[2]["id"][:2] / refs[2]["id"]).write_bytes(b"tampered")
    with jimu.begin() as conn:
        database.delete(conn, [refs[2]["id"]])
    bad = runner.invoke(args=["files", "move", "--to", "database"])
    assert bad.exit_code != 0 and "checksum mismatch" in bad.output and refs[2]["id"] in bad.output
    assert not database.has(refs[2]["id"])
    jimu.dispose()
    # switched over, with the folder gone: the database store serves the files
    shutil.rmtree(folder)
    app_db = make_app(db_url, tmp_path, "b", "database", monkeypatch)
    got = app_db.test_client().get(f"/api/v1/forms/合同/records/{rid}/files/扫描件/{refs[3]['id']}", headers=clerk)
    assert got.status_code == 200 and got.data == BIG
    # and back, removing them from the database
    back = app_db.test_cli_runner().invoke(args=["files", "move", "--to", "folder", "--delete-source"])
    assert "3 copied" in back.output and refs[2]["id"] in back.output, back.output
    assert list(store_for(app_db.config, app_db.extensions["jimu"].engine, "database").ids()) == []
    app_db.extensions["jimu"].dispose()


# -- two web processes, no shared folder ---------------------------------------------------------------
JIMU = str(Path(sys.executable).with_name("jimu"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.pg
@pytest.mark.timeout(120)
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_one_web_process_takes_the_upload_and_another_serves_it(db_url, tmp_path, monkeypatch):
    app = make_app(db_url, tmp_path, "setup", "database", monkeypatch)
    jimu = app.extensions["jimu"]
    install_package(jimu, CONTRACTS)
    clerk = {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, 'clerk', roles=['clerk']))}"}
    jimu.dispose()
    procs, urls = [], []
    try:
        for host in ("a", "b"):
            port = free_port()
            inst = tmp_path / f"host-{host}"
            inst.mkdir()
            env = dict(os.environ, JIMU_DATABASE_URL=db_url, JIMU_INSTANCE_PATH=str(inst), JIMU_SECRET_KEY="k",
                       JIMU_BASE_URL=f"http://127.0.0.1:{port}", JIMU_FILE_STORE="database",
                       JIMU_UPLOAD_DIR=str(inst / "files"))
            log = open(tmp_path / f"{host}.log", "w")
            procs.append(subprocess.Popen([JIMU, "serve", "--no-worker", "--port", str(port)], env=env,
                                          stdout=log, stderr=subprocess.STDOUT))
            urls.append(f"http://127.0.0.1:{port}")
        for url in urls:
            _wait_up(url)
        a, b = urls
        status, ref = call("POST", f"{a}{UPLOAD}?name=scan.pdf", clerk, BIG, "application/pdf")
        assert status == 201, ref
        ref = json.loads(ref)
        status, rec = call("POST", f"{a}/api/v1/forms/合同/records", clerk,
                           json.dumps({"对方": "ACME", "扫描件": [ref]}).encode(), "application/json")
        assert status == 201, rec
        status, got = call("GET", f"{b}/api/v1/forms/合同/records/{json.loads(rec)['id']}/files/扫描件/{ref['id']}",
                           clerk)
        assert status == 200 and got == BIG
        assert not any(p.is_file() for p in tmp_path.rglob("host-*/files/**/*"))  # no folder holds it
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=15)


def call(method: str, url: str, headers: dict, body: bytes | None = None, ctype: str | None = None):
    """(status, body bytes) of one HTTP request to a web process."""
    url = quote(url, safe=":/?=&")
    req = urllib.request.Request(url, data=body, method=method,
                                 headers={**headers, **({"Content-Type": ctype} if ctype else {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _wait_up(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            call("GET", f"{url}/api/v1/forms", {})
            return
        except OSError:
            time.sleep(0.2)  # polling another process
    raise AssertionError(f"{url} did not start")


def test_a_spreadsheet_import_reads_its_upload_from_the_database_store(db_url, tmp_path, monkeypatch):
    """The importer seeks in its file: the database store hands it a local cached copy."""
    from runtime.auth.principal import load_principal
    from runtime.dataio import importer
    from runtime.records import Records
    from tests.runtime.hr_package import hr_package
    from tests.runtime.test_dataio_import import GOOD, csv_bytes
    app = make_app(db_url, tmp_path, "a", "database", monkeypatch)
    jimu = app.extensions["jimu"]
    install_package(jimu, hr_package())
    admin = make_user(jimu, "admin", admin=True)
    lead = make_user(jimu, "lead", roles=["hr_admin"])
    with jimu.begin() as conn:
        conn.execute(sa.update(db.users).where(db.users.c.id == lead).values(display_name="王经理"))
        Records(jimu, conn, load_principal(conn, admin)).create("部门", {"名称": "研发部", "编码": "RD"})
        file_id = jimu.services.files.save(io.BytesIO(csv_bytes(GOOD)), "staff.csv", None, conn=conn,
                                           user_id=admin)["id"]
    assert not any(Path(jimu.config["UPLOAD_DIR"]).glob("??/*"))  # not in a folder store
    with jimu.read() as conn:
        out = importer.preview(jimu, conn, load_principal(conn, admin), "员工", file_id, "staff.csv")
    assert [r["errors"] for r in out["rows"]] == [[], []]
    jimu.dispose()
