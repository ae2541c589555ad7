"""Platform-core benchmark (issue 2).

1. Bulk-create 100,000 records of a 10-field form through the store layer
   (``RecordStore.bulk_create``) vs SQLAlchemy Core ``executemany`` of the same
   rows into the same kind of table, on a SQLite file in WAL mode. Also the full
   service path (validation + serials + audit) for information. Goal ≥ 0.5×.
2. Single creates over HTTP: Jimu's API (validation, permissions, audit) vs a
   bare Flask + Core insert endpoint, both under gunicorn with 2 sync workers,
   8 concurrent client connections. Goal ≥ 0.5× (issue #15; PostgreSQL: bench_write).
"""
from __future__ import annotations

import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from tests.bench.util import median_time, report

N_BULK = 100_000
FIELDS = [("名称", "text"), ("编号", "text"), ("城市", "text"), ("备注", "text"), ("邮箱", "text"),
          ("数量", "number"), ("金额", "number"), ("评分", "number"), ("年龄", "number"), ("次数", "number")]
FORM = {"key": "bench", "version": 1, "label": "Bench",
        "fields": [{"key": k, "label": k, "widget": w} for k, w in FIELDS]}
PACKAGE = {"format": "jimu.app", "version": 2, "app": {"key": "bench", "version": "1.0.0", "label": "Bench"},
           "roles": [], "groups": [], "forms": [FORM]}


def rows(n: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    return [{"名称": f"客户{i}", "编号": f"N{i:06d}", "城市": rng.choice(["上海", "北京", "深圳"]),
             "备注": "备注" * rng.randint(1, 5), "邮箱": f"u{i}@example.com", "数量": rng.randint(0, 100),
             "金额": rng.random() * 1000, "评分": rng.randint(1, 5), "年龄": rng.randint(18, 80),
             "次数": rng.randint(0, 9)} for i in range(n)]


def bench_bulk(tmp: Path) -> None:
    from apps import load_package
    from runtime.db import make_engine
    from runtime.installer import install
    from runtime.migrate import upgrade
    from runtime.store import Catalog, RecordStore

    data = rows(N_BULK)
    now = datetime.now(timezone.utc)

    def fresh_jimu():
        path = tmp / f"store-{time.monotonic_ns()}.sqlite"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        with engine.begin() as conn:
            install(conn, load_package(json.dumps(PACKAGE).encode()), now=now)
        catalog = Catalog()
        with engine.begin() as conn:
            catalog.refresh(conn)
        return engine, catalog.form("bench")

    def jimu_store():
        engine, ft = fresh_jimu()
        with engine.begin() as conn:
            RecordStore(conn).bulk_create(ft, data, now=now, actor=1)
        engine.dispose()

    def core_executemany():
        engine, ft = fresh_jimu()  # the same kind of table, written directly
        names = {k: c.name for k, c in ft.columns.items()}
        params = [dict({names[k]: v for k, v in r.items()}, created_at=now, updated_at=now, created_by=1,
                       updated_by=1, row_version=1) for r in data]
        with engine.begin() as conn:
            conn.execute(sa.insert(ft.table), params)
        engine.dispose()

    t_core = median_time(core_executemany, 3)
    t_store = median_time(jimu_store, 3)
    report("bulk create 100k (store layer vs Core executemany)", N_BULK / t_store, N_BULK / t_core, "rows/s",
           goal=0.5)

    def jimu_service():
        from runtime.auth.principal import Principal
        from runtime.context import Jimu
        from runtime.records import Records
        path = tmp / f"svc-{time.monotonic_ns()}.sqlite"
        j = Jimu({"DATABASE_URL": f"sqlite:///{path}"})
        upgrade(j.engine)
        with j.begin() as conn:
            install(conn, load_package(json.dumps(PACKAGE).encode()), now=now)
        with j.begin() as conn:
            Records(j, conn, Principal(user_id=1, username="bench", is_admin=True)).bulk_create("bench", data[:10_000])
        j.dispose()

    t_svc = median_time(jimu_service, 3)
    report("bulk create 10k through the service (validation+audit) vs Core executemany rate",
           10_000 / t_svc, N_BULK / t_core, "rows/s")


BARE_APP = '''
import os
import sqlalchemy as sa
from flask import Flask, jsonify, request
from datetime import datetime, timezone
from runtime.db import make_engine
engine = make_engine(os.environ["BENCH_DB"])
meta = sa.MetaData()
cols = [sa.Column("id", sa.Integer, primary_key=True), sa.Column("created_at", sa.DateTime(timezone=True)),
        sa.Column("row_version", sa.Integer)] + [sa.Column(f"c{i}", sa.Text if i < 5 else sa.Float) for i in range(10)]
t = sa.Table("bare", meta, *cols)
meta.create_all(engine)
app = Flask(__name__)
@app.post("/create")
def create():
    body = request.get_json()
    with engine.begin() as conn:
        values = {f"c{i}": v for i, v in enumerate(body.values())}
        values.update(created_at=datetime.now(timezone.utc), row_version=1)
        rid = conn.execute(sa.insert(t).values(values)).inserted_primary_key[0]
    return jsonify({"id": rid}), 201
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(args: list[str], env: dict, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level",
                             "warning", *args], env=env)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("server did not start")


def _load(port: int, path: str, headers: dict, seconds: float = 6.0, conns: int = 8,
          bodies: list[bytes] | None = None) -> float:
    body = bodies or [json.dumps(r, ensure_ascii=False).encode() for r in rows(2000, seed=2)]
    done, errors = [0], [0]
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def client(k):
        i = k
        while time.monotonic() < stop:
            c = http.client.HTTPConnection("127.0.0.1", port)
            c.request("POST", path, body=body[i % len(body)], headers={"Content-Type": "application/json", **headers})
            r = c.getresponse()
            r.read()
            c.close()
            with lock:
                if r.status == 201:
                    done[0] += 1
                else:
                    errors[0] += 1
            i += conns

    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors[0]:
        print(f"  ({errors[0]} failed requests)")
    return done[0] / (time.monotonic() - t0)


def bench_http(tmp: Path) -> None:
    from runtime.auth.users import create_user
    from runtime.auth.tokens import create_token
    from runtime.context import Jimu
    from runtime.installer import install
    from runtime.migrate import upgrade
    from apps import load_package

    env = dict(os.environ, PYTHONPATH=str(Path.cwd()))
    bare_dir = tmp / "bare"
    bare_dir.mkdir()
    (bare_dir / "bare_app.py").write_text(BARE_APP)
    env_bare = dict(env, BENCH_DB=f"sqlite:///{tmp / 'bare.sqlite'}", PYTHONPATH=f"{bare_dir}:{Path.cwd()}")

    db = tmp / "jimu-http.sqlite"
    j = Jimu({"DATABASE_URL": f"sqlite:///{db}"})
    upgrade(j.engine)
    now = datetime.now(timezone.utc)
    with j.begin() as conn:
        install(conn, load_package(json.dumps(PACKAGE).encode()), now=now)
        uid = create_user(conn, "bench", "pw", now=now, is_admin=True)
        token = create_token(conn, uid, "bench", now=now)[1]
    j.dispose()
    env_jimu = dict(env, JIMU_DATABASE_URL=f"sqlite:///{db}", JIMU_SECRET_KEY="bench", JIMU_EMBEDDED_WORKER="0",
                    JIMU_INSTANCE_PATH=str(tmp / "inst"))

    results = {"jimu": [], "bare": []}
    for _ in range(3):
        port = _free_port()
        p = _serve(["bare_app:app"], env_bare, port)
        try:
            results["bare"].append(_load(port, "/create", {}))
        finally:
            p.terminate(); p.wait()
        port = _free_port()
        p = _serve(["runtime.wsgi:app"], env_jimu, port)
        try:
            results["jimu"].append(_load(port, "/api/v1/forms/bench/records", {"Authorization": f"Bearer {token}"}))
        finally:
            p.terminate(); p.wait()
    import statistics
    report("HTTP single create, plain ten-field form, SQLite (gunicorn -w 2, 8 connections)",
           statistics.median(results["jimu"]), statistics.median(results["bare"]), "req/s", goal=0.5)


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="jimu-bench-store-"))
    try:
        bench_bulk(tmp)
        bench_http(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
