"""The write path (issue #15), side by side in one run, on PostgreSQL.

1. SQL statements per create over HTTP, counted with an engine event listener (not noisy; also
   asserted in tests/runtime/test_write_path.py): the shipped package's ticket, goal ≤ 15.
2. HTTP single create, gunicorn 2 sync workers, 8 client connections: the shipped ticket form
   (validation, serial, rules, flow start, audit) against a bare Flask + SQLAlchemy Core insert into
   a table like the form's (its columns and indexes), goal ≥ 0.3×; a plain ten-field form against the same kind of bare
   insert, goal ≥ 0.5×.
3. Scaling: ticket creates with 2 gunicorn workers against 1, goal ≥ 1.6×.
4. Bulk create of 10,000 rows through the service (validation, audit, rules: one of them matching
   about one row in twenty) against Core executemany of the same rows, goal ≥ 0.5×; the two run in
   turn, as the HTTP parts' sides do, after a round of each that is not timed.

``BENCH_WRITE_ONLY`` (a comma-separated subset of ``statements,ticket,plain,scaling,bulk``) runs only
those parts, and ``BENCH_REPEAT`` / ``BENCH_SECONDS`` shorten the runs while iterating.
Skipped without a PostgreSQL server (JIMU_TEST_PG, or the local default of tests/conftest.py).
The machine's load (``os.getloadavg``) is printed before and after: compare ratios, never
absolute rates across runs. Before each HTTP run and before the bulk part the server writes out its
dirty pages (``CHECKPOINT``): otherwise a run pays for evicting the pages the runs before it left in
shared buffers, and the side writing more pages (Jimu's search vectors and audit events) pays more.
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

from tests.bench.bench_store import FORM, _free_port, _load, rows
from tests.bench.util import times_in_turn, report

REPEAT = int(os.environ.get("BENCH_REPEAT") or 3)
SECONDS = float(os.environ.get("BENCH_SECONDS") or 6.0)
PARTS = ("statements", "ticket", "plain", "scaling", "bulk")
ONLY = frozenset(p.strip() for p in (os.environ.get("BENCH_WRITE_ONLY") or ",".join(PARTS)).split(",") if p.strip())
N_BULK = 10_000
BODIES = 12_000
TICKET = {"标题": "无法登录账号", "客户姓名": "张三", "问题类型": "账号问题", "紧急程度": "中",
          "问题详细描述": "登录时提示密码错误"}

TICKETS_URL = quote("/api/v1/forms/工单/records")

BARE_APP = '''
import json, os
import sqlalchemy as sa
from flask import Flask, jsonify, request
from datetime import datetime, timezone
engine = sa.create_engine(os.environ["BENCH_DB"])
columns = json.loads(os.environ["BENCH_COLUMNS"])  # request key -> column
t = sa.Table(os.environ["BENCH_TABLE"], sa.MetaData(), autoload_with=engine)
app = Flask(__name__)
@app.post("/create")
def create():
    body = request.get_json()
    now = datetime.now(timezone.utc)
    values = {columns[k]: v for k, v in body.items() if k in columns}
    values.update(created_at=now, updated_at=now, row_version=1)
    with engine.begin() as conn:
        rid = conn.execute(sa.insert(t).values(values)).inserted_primary_key[0]
    return jsonify({"id": rid}), 201
'''


def _pg_base() -> str | None:
    from tests.conftest import PG_URL
    return PG_URL


def _load_avg() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


class Bench:
    """One PostgreSQL schema with the shipped package and a plain form installed, their staff and a
    token, plus bare copies of the two tables for the reference server."""

    def __init__(self, tmp: Path, base: str):
        from runtime.app import create_app
        from runtime.migrate import upgrade
        from tests.conftest import api_token, install_package
        from tests.runtime import cs_fixtures
        self.tmp = tmp
        self.schema = "bench_" + uuid.uuid4().hex[:10]
        self.admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as c:
            c.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
        sep = "&" if "?" in base else "?"
        self.url = f"{base}{sep}options=-csearch_path%3D{self.schema}"
        os.environ.setdefault("JIMU_INSTANCE_PATH", str(tmp / "instance"))
        self.app = create_app({"DATABASE_URL": self.url, "SECRET_KEY": "bench", "BASE_URL": "http://bench.local",
                               "UPLOAD_DIR": str(tmp / "files"), "AUTO_MIGRATE": True, "EMBEDDED_WORKER": False})
        self.jimu = self.app.extensions["jimu"]
        upgrade(self.jimu.engine)
        ids = cs_fixtures.install(self.jimu)
        install_package(self.jimu, {"format": "jimu.app", "version": 2,
                                    "app": {"key": "bench", "version": "1.0.0", "label": "Bench"},
                                    "roles": [], "groups": [], "forms": [FORM]})
        self.token = api_token(self.jimu, ids["admin"])
        self.bare = {form: self._bare_copy(form) for form in ("工单", "bench")}

    def _bare_copy(self, form: str) -> tuple[str, dict]:
        """A table like the form's — its columns, defaults (the id from the same sequence), generated
        search column and indexes, not its foreign keys — and request key → column. The indexes are
        the form's definition (its indexed fields), so the reference pays the same index upkeep per
        row; a copy with the columns alone (before 2026-12-06) left that cost out of the reference."""
        ft = self.jimu.catalog.form(form)
        name = f"bare_{ft.table.name}"
        with self.jimu.engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE TABLE "{name}" (LIKE "{ft.table.name}" INCLUDING DEFAULTS '
                                 "INCLUDING GENERATED INCLUDING INDEXES)")
        return name, {k: c.name for k, c in ft.columns.items()}

    def env(self) -> dict:
        return dict(os.environ, PYTHONPATH=str(Path.cwd()), JIMU_DATABASE_URL=self.url, JIMU_SECRET_KEY="bench",
                    JIMU_BASE_URL="http://bench.local", JIMU_EMBEDDED_WORKER="0",
                    JIMU_INSTANCE_PATH=str(self.tmp / "instance"), JIMU_UPLOAD_DIR=str(self.tmp / "files"))

    def bare_env(self, form: str) -> dict:
        bare_dir = self.tmp / "bare"
        bare_dir.mkdir(exist_ok=True)
        (bare_dir / "bare_write_app.py").write_text(BARE_APP)
        table, columns = self.bare[form]
        return dict(self.env(), BENCH_DB=self.url, BENCH_TABLE=table, BENCH_COLUMNS=json.dumps(columns),
                    PYTHONPATH=f"{bare_dir}:{Path.cwd()}")

    def close(self) -> None:
        self.jimu.dispose()
        with self.admin.connect() as c:
            c.execute(sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))
        self.admin.dispose()


def _checkpoint(b: "Bench") -> None:
    """Write out the pages earlier runs left dirty before the next measured run (see the module's
    docstring); a role without the right to checkpoint measures without it."""
    try:
        with b.admin.connect() as c:
            c.execute(sa.text("CHECKPOINT"))
    except sa.exc.DBAPIError as exc:
        print(f"  (no CHECKPOINT between runs: {exc.orig})")


def _serve(target: str, env: dict, port: int, workers: int):
    import socket
    import subprocess
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
                             "--log-level", "warning", target], env=env)
    for _ in range(400):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"{target} did not start (exit {proc.returncode})")
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{target} did not start")


def _warm(port: int, path: str, headers: dict, bodies: list[bytes]) -> None:
    """Load the server until its rate settles (two 1-second rates within 15 %, at most 8 s). Gunicorn
    listens before its workers have booted; Jimu's boot (imports, the catalogue, the search segmenter's
    dictionary in a background thread: about 1.5 s of CPU per worker, several seconds of wall time on
    a loaded machine) would otherwise fall into the measured window, which the bare app's does not."""
    last = 0.0
    for _ in range(8):
        rate = _load(port, path, headers, seconds=1.0, bodies=bodies)
        if last and abs(rate - last) <= 0.15 * max(rate, last):
            return
        last = rate


def _rate(target: str, env: dict, path: str, headers: dict, bodies: list[bytes], workers: int = 2) -> float:
    port = _free_port()
    proc = _serve(target, env, port, workers)
    try:
        _warm(port, path, headers, bodies)
        return _load(port, path, headers, seconds=SECONDS, bodies=bodies)
    finally:
        proc.terminate()
        proc.wait()


def ticket_bodies(n: int) -> list[bytes]:
    """``n`` different ticket bodies: as many as a server can take in its warm-up and measured run (at
    most about 14 s). Every block of their texts is new (the block, not only the text: a number
    inside each run of Chinese, ``第12次无法登录账号``): a process remembers the words of a text and
    of a block of text it has segmented for search (``runtime.store.search._cuts``, ``_block``),
    which would flatter Jimu on bodies whose texts repeat, where real tickets' seldom do. The
    automatic reply's template blocks repeat, as they do for real (its name and number do not)."""
    return [json.dumps(dict(TICKET, 标题=f"第{i}次无法登录账号", 客户姓名=f"客户{i}",
                            问题详细描述=f"登录{i}号系统时提示密码错误"), ensure_ascii=False).encode()
            for i in range(n)]


def statements_per_ticket(b: Bench) -> int:
    client = b.app.test_client()
    headers = {"Authorization": f"Bearer {b.token}"}
    client.post("/api/v1/forms/工单/records", headers=headers, json=TICKET)
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    sa.event.listen(b.jimu.engine, "before_cursor_execute", count)
    try:
        r = client.post("/api/v1/forms/工单/records", headers=headers, json=TICKET)
    finally:
        sa.event.remove(b.jimu.engine, "before_cursor_execute", count)
    assert r.status_code == 201, r.get_data(as_text=True)
    return len(seen)


def bench_http(b: Bench) -> None:
    auth = {"Authorization": f"Bearer {b.token}"}
    tickets = ticket_bodies(BODIES)
    plain = [json.dumps(r, ensure_ascii=False).encode() for r in rows(BODIES, seed=2)]
    # name -> (server, form, path, headers, bodies, workers); both sides of a ratio run alternately,
    # with the same gunicorn settings, bodies and client connections
    runs = {"bare_ticket": ("bare_write_app:app", "工单", "/create", {}, tickets, 2),
            "ticket": ("runtime.wsgi:app", "工单", TICKETS_URL, auth, tickets, 2),
            "ticket1": ("runtime.wsgi:app", "工单", TICKETS_URL, auth, tickets, 1),
            "bare_plain": ("bare_write_app:app", "bench", "/create", {}, plain, 2),
            "plain": ("runtime.wsgi:app", "bench", "/api/v1/forms/bench/records", auth, plain, 2)}
    wanted = {"ticket": ("bare_ticket", "ticket"), "scaling": ("ticket", "ticket1"),
              "plain": ("bare_plain", "plain")}
    names = [n for n in runs if any(n in wanted[p] for p in wanted if p in ONLY)]
    results: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(REPEAT):
        for n in names:
            target, form, path, headers, bodies, workers = runs[n]
            env = b.bare_env(form) if target.startswith("bare") else b.env()
            _checkpoint(b)
            results[n].append(_rate(target, env, path, headers, bodies, workers=workers))
    med = {k: statistics.median(v) for k, v in results.items()}
    for k, v in results.items():
        print(f"  {k}: " + ", ".join(f"{x:,.1f}" for x in v) + " req/s")
    if "ticket" in ONLY:
        report("HTTP create, shipped ticket form, PostgreSQL, gunicorn -w 2 (vs bare Flask + Core insert)",
               med["ticket"], med["bare_ticket"], "req/s", goal=0.3)
    if "plain" in ONLY:
        report("HTTP create, plain ten-field form, PostgreSQL, gunicorn -w 2 (vs bare Flask + Core insert)",
               med["plain"], med["bare_plain"], "req/s", goal=0.5)
    if "scaling" in ONLY:
        report("scaling: ticket creates with gunicorn -w 2 vs -w 1 (PostgreSQL)", med["ticket"], med["ticket1"],
               "req/s", goal=1.6)


BULK_RULES = [
    {"key": "big_amount", "version": 1, "label": "big", "form": "bulk", "trigger": {"type": "record_created"},
     "condition": {"field": "数量", "op": "gte", "value": 96},
     "actions": [{"type": "set_fields", "values": {"备注": "大单"}}]},
    {"key": "shanghai_vip", "version": 1, "label": "vip", "form": "bulk", "trigger": {"type": "record_created"},
     "condition": {"all": [{"field": "城市", "op": "eq", "value": "广州"}, {"field": "评分", "op": "gte", "value": 5}]},
     "actions": [{"type": "set_fields", "values": {"备注": "重点"}}]},
    {"key": "on_update", "version": 1, "label": "update", "form": "bulk", "trigger": {"type": "record_updated"},
     "condition": {"field": "城市", "op": "eq", "value": "广州"},
     "actions": [{"type": "set_fields", "values": {"备注": "改城市"}}]},
]


def bench_bulk(b: Bench) -> None:
    from runtime.auth.principal import Principal
    from tests.conftest import install_package
    form = dict(FORM, key="bulk", label="Bulk")
    install_package(b.jimu, {"format": "jimu.app", "version": 2,
                             "app": {"key": "bulk", "version": "1.0.0", "label": "Bulk"},
                             "roles": [], "groups": [], "forms": [form], "rules": BULK_RULES})
    data = rows(N_BULK, seed=3)
    with b.jimu.read():
        ft = b.jimu.catalog.form("bulk")
    now = datetime.now(timezone.utc)
    names = {k: c.name for k, c in ft.columns.items()}
    params = [dict({names[k]: v for k, v in r.items()}, created_at=now, updated_at=now, created_by=1,
                   updated_by=1, row_version=1) for r in data]

    def core():
        with b.jimu.engine.begin() as conn:
            conn.execute(sa.insert(ft.table), params)

    # each service run writes rows it has not seen (other names, numbers, addresses): nothing a process
    # remembers of earlier values (segmented search words) helps more than on real data
    fresh = iter([[dict(r, 名称=f"客户{run}-{k}", 编号=f"R{run}N{k:06d}", 邮箱=f"r{run}u{k}@example.com")
                   for k, r in enumerate(rows(N_BULK, seed=100 + run))] for run in range(REPEAT + 1)])

    def service():
        batch = next(fresh)
        with b.jimu.begin() as conn:
            b.jimu.services.records(b.jimu, conn, Principal(user_id=1, username="bench", is_admin=True),
                                    source="import").bulk_create("bulk", batch)

    _checkpoint(b)
    core_times, service_times = times_in_turn([core, service], REPEAT, warmup=1)
    for name, times in (("core", core_times), ("service", service_times)):
        print(f"  bulk {name}: " + ", ".join(f"{1000 * t:.0f}" for t in times) + " ms")
    t_core, t_service = statistics.median(core_times), statistics.median(service_times)
    report(f"bulk create {N_BULK:,} rows through the service (validation, audit, rules) vs Core executemany",
           N_BULK / t_service, N_BULK / t_core, "rows/s", goal=0.5)


def main() -> None:
    base = _pg_base()
    if base is None:
        print("skipped: no PostgreSQL (set JIMU_TEST_PG)")
        return
    tmp = Path(tempfile.mkdtemp(prefix="jimu-bench-write-"))
    b = Bench(tmp, base)
    try:
        print(_load_avg(), flush=True)
        if "statements" in ONLY:
            n = statements_per_ticket(b)
            print(f"SQL statements per ticket create (PostgreSQL, over HTTP): {n}  goal ≤ 15: "
                  f"{'MET' if n <= 15 else 'NOT MET'}", flush=True)
        if ONLY & {"ticket", "plain", "scaling"}:
            bench_http(b)
        if "bulk" in ONLY:
            bench_bulk(b)
        print(_load_avg(), flush=True)
    finally:
        b.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
