"""Backup and restore of the demo installation (the helpdesk with `jimu demo-data`: 5,000 tickets,
9,000 replies ...) on SQLite and PostgreSQL, each restored into the same and the other kind.

Reference: what the database itself offers for a whole-database copy — SQLite's online backup API
(``sqlite3.Connection.backup``) and ``pg_dump -Fc`` / ``pg_restore`` — which copy one kind only and
know nothing of files or a manifest. Prints seconds (median of ``RUNS``) and archive sizes.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
PG = os.environ.get("JIMU_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
RUNS = int(os.environ.get("BENCH_BACKUP_RUNS", "3"))


def _app(url: str, files: Path):
    from runtime.app import create_app
    return create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "bench", "AUTO_MIGRATE": True,
                       "UPLOAD_DIR": str(files)})


class Schemas:
    """PostgreSQL schemas made for the run, dropped at the end."""

    def __init__(self):
        self.admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
        self.made: list[str] = []

    def new(self) -> tuple[str, str]:
        name = "bb_" + uuid.uuid4().hex[:10]
        with self.admin.connect() as c:
            c.execute(sa.text(f'CREATE SCHEMA "{name}"'))
        self.made.append(name)
        return f"{PG}{'&' if '?' in PG else '?'}options=-csearch_path%3D{name}", name

    def close(self):
        with self.admin.connect() as c:
            for name in self.made:
                c.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
        self.admin.dispose()


def _demo(url: str, files: Path) -> dict:
    from runtime.installer import install
    app = _app(url, files)
    jimu = app.extensions["jimu"]
    with jimu.begin() as conn:
        install(conn, ROOT / "examples" / "customer_service.json", now=jimu.now())
    result = app.test_cli_runner().invoke(args=["demo-data", "--seed", "1"])
    assert result.exit_code == 0, result.output
    with jimu.read():
        counts = {}
        with jimu.engine.connect() as conn:
            for ft in jimu.catalog:
                counts[ft.key] = conn.execute(sa.select(sa.func.count()).select_from(ft.table)).scalar()
    jimu.dispose()
    return counts


def _median(fn) -> float:
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    from runtime import backup as bk
    tmp = Path(tempfile.mkdtemp(prefix="jimu-bench-backup-"))
    schemas = Schemas()
    try:
        sources = {"sqlite": f"sqlite:///{tmp / 'demo.sqlite'}"}
        sources["postgresql"], pg_schema = schemas.new()
        print(f"load: {os.getloadavg()}, runs: {RUNS}")
        for kind, url in sources.items():
            t0 = time.perf_counter()
            counts = _demo(url, tmp / f"files-{kind}")
            print(f"{kind}: demo installation built in {time.perf_counter() - t0:.0f}s: "
                  + ", ".join(f"{k} {v}" for k, v in counts.items() if v))
            app = _app(url, tmp / f"files-{kind}")
            jimu = app.extensions["jimu"]
            archive = tmp / f"{kind}.zip"
            took = _median(lambda: bk.backup(jimu, archive))
            print(f"  jimu backup ({kind}): {took:.2f}s, archive {archive.stat().st_size / 1e6:.1f} MB")
            if kind == "sqlite":
                db_file = tmp / "demo.sqlite"
                copy = tmp / "ref.sqlite"

                def ref():
                    copy.unlink(missing_ok=True)
                    src, dst = sqlite3.connect(db_file), sqlite3.connect(copy)
                    src.backup(dst)
                    src.close()
                    dst.close()
                ref_took = _median(ref)
                print(f"  reference sqlite3 backup API: {ref_took:.2f}s, file {copy.stat().st_size / 1e6:.1f} MB "
                      f"(database {db_file.stat().st_size / 1e6:.1f} MB); ratio {took / ref_took:.1f}x")
            elif shutil.which("pg_dump"):
                dump = tmp / "ref.dump"
                plain = PG.replace("postgresql+psycopg://", "postgresql://").split("?")[0]
                ref_took = _median(lambda: subprocess.run(["pg_dump", "-Fc", "-n", pg_schema, "-f", str(dump), plain],
                                                          check=True))
                print(f"  reference pg_dump -Fc: {ref_took:.2f}s, {dump.stat().st_size / 1e6:.1f} MB; "
                      f"ratio {took / ref_took:.1f}x")
            jimu.dispose()
            for target in ("sqlite", "postgresql"):
                times = []
                for i in range(RUNS):
                    if target == "sqlite":
                        turl = f"sqlite:///{tmp / f'restored-{kind}-{i}.sqlite'}"
                    else:
                        turl, _ = schemas.new()
                    tapp = _app(turl, tmp / f"restored-files-{kind}-{target}-{i}")
                    tj = tapp.extensions["jimu"]
                    t0 = time.perf_counter()
                    result = bk.restore(tj, archive)
                    times.append(time.perf_counter() - t0)
                    tj.dispose()
                    assert result["manifest"]["records"] == counts
                print(f"  jimu restore {kind} → {target}: {statistics.median(times):.2f}s")
    finally:
        schemas.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
