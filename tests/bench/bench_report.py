"""Report engine benchmark (issue 6).

1. A 6-chart dashboard over 1,000,000 records, in a SQLite file and in PostgreSQL: Jimu's
   dashboard data (``GET /api/v1/dashboards/<key>/data`` in process: auth, permissions,
   compiled charts, SQL, rows, plotly figures, JSON) vs hand-written SQL for the same six
   aggregates on the same database, with the indexes Jimu created on import (report dimensions,
   filters, the created_at of time buckets). Cold (the chart cache emptied before each request):
   goal ≤ 1.3× the hand-written SQL; warm (the cache kept, as when twenty agents open it): goal
   ≤ 0.1× cold. ``JIMU_BENCH_REPORT_ROWS`` sets the size (default 1,000,000; e.g. 50000 for a
   quick run), ``JIMU_BENCH_PG`` the PostgreSQL server (default the test server; "" skips it).
2. The dashboard page (``GET /dashboards/<key>``, which renders with all six
   figures in it) with 100,000 records: median response time.

The databases are built once (bulk ``executemany`` of generated rows straight
into the form's table) and cached under the temp dir, keyed by the data
version below, so later runs start measuring at once.
"""
from __future__ import annotations

import json
import os
import random
import sqlite3
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tests.bench.util import median_time, report

DATA_VERSION = 2
N = int(os.environ.get("JIMU_BENCH_REPORT_ROWS", "1000000"))
PG = os.environ.get("JIMU_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
CHANNELS = (["官网"] * 30 + ["微信"] * 25 + ["电话"] * 20 + ["邮件"] * 15 + ["API"] * 10)
STATUSES = ["新建", "处理中", "等待客户回复", "已解决", "已关闭"]
CATEGORIES = ["账单", "故障", "咨询", "投诉", "建议", "账号", "退款", "物流"]

FORM = {"key": "工单", "version": 1, "label": {"zh-CN": "工单", "en": "Ticket"}, "fields": [
    {"key": "标题", "label": "Title", "widget": "text"},
    {"key": "渠道", "label": "Channel", "widget": "text"},
    {"key": "状态", "label": "Status", "widget": "text"},
    {"key": "类别", "label": "Category", "widget": "text"},
    {"key": "金额", "label": "Amount", "widget": "number"},
    {"key": "首响分钟", "label": "First response (min)", "widget": "number"}]}
REPORTS = [
    {"key": "by_channel", "version": 1, "label": "按渠道", "type": "pie", "form": "工单",
     "dimensions": [{"field": "渠道"}], "measures": [{"key": "n", "agg": "count"}]},
    {"key": "totals", "version": 1, "label": "总量与已解决", "type": "kpi", "form": "工单", "measures": [
        {"key": "total", "agg": "count"},
        {"key": "resolved", "agg": "count", "filter": [{"field": "状态", "op": "in", "value": ["已解决", "已关闭"]}]},
        {"key": "rate", "ratio": ["resolved", "total"]}]},
    {"key": "daily", "version": 1, "label": "每日趋势", "type": "line", "form": "工单",
     "filters": [{"field": "created_at", "op": "within_days", "value": 30}],
     "dimensions": [{"field": "created_at", "bucket": "day", "key": "day"}], "measures": [{"key": "n", "agg": "count"}]},
    {"key": "frt", "version": 1, "label": "首次响应", "type": "bar", "form": "工单",
     "dimensions": [{"field": "类别"}], "measures": [{"key": "avg", "agg": "avg", "field": "首响分钟"}]},
    {"key": "status_by_channel", "version": 1, "label": "渠道×状态", "type": "bar", "form": "工单",
     "dimensions": [{"field": "渠道"}, {"field": "状态"}], "measures": [{"key": "n", "agg": "count"}],
     "options": {"stacked": True}},
    {"key": "amount_top", "version": 1, "label": "金额前五", "type": "table", "form": "工单",
     "dimensions": [{"field": "类别"}], "top": {"n": 5, "by": "amount", "others": True},
     "measures": [{"key": "amount", "agg": "sum", "field": "金额"}, {"key": "max", "agg": "max", "field": "金额"}]},
]
DASHBOARD = {"key": "overview", "version": 1, "label": "服务概览",
             "charts": [{"report": r["key"], "x": (i % 2) * 6, "y": (i // 2) * 4, "w": 6, "h": 4}
                        for i, r in enumerate(REPORTS)]}
PACKAGE = {"format": "jimu.app", "version": 2, "app": {"key": "deskbench", "version": "1.0.0", "label": "Desk"},
           "roles": [], "groups": [], "forms": [FORM], "reports": REPORTS, "dashboards": [DASHBOARD]}


def build(path: Path, n: int) -> None:
    """Install the package into a fresh SQLite file and bulk-insert ``n`` tickets into its table."""
    from apps import load_package
    from runtime.auth.users import create_user
    from runtime.db import make_engine
    from runtime.installer import install
    from runtime.migrate import upgrade
    from runtime.store import Catalog

    tmp = path.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{tmp}")
    upgrade(engine)
    with engine.begin() as conn:
        install(conn, load_package(json.dumps(PACKAGE, ensure_ascii=False).encode()), now=NOW)
        create_user(conn, "bench", "pw-123456", now=NOW, is_admin=True)
    catalog = Catalog()
    with engine.begin() as conn:
        catalog.refresh(conn)
    ft = catalog.form("工单")
    table = ft.table.name
    cols = [ft.columns[k].name for k in ("标题", "渠道", "状态", "类别", "金额", "首响分钟")]
    engine.dispose()

    db = sqlite3.connect(tmp)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    sql = (f'INSERT INTO "{table}" (created_at, updated_at, created_by, updated_by, row_version, '
           + ", ".join(f'"{c}"' for c in cols) + ") VALUES (?, ?, 1, 1, 1, ?, ?, ?, ?, ?, ?)")
    batch = []
    for row in tickets(n):
        at = row[0].strftime("%Y-%m-%d %H:%M:%S.000000")
        batch.append((at, at, *row[1:]))
        if len(batch) == 50_000:
            db.executemany(sql, batch)
            batch.clear()
    if batch:
        db.executemany(sql, batch)
    db.commit()
    db.execute("ANALYZE")
    db.close()
    tmp.rename(path)
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)


def tickets(n: int):
    """(created_at, title, channel, status, category, amount, first response) of ``n`` tickets."""
    rng = random.Random(20261122)
    start = NOW - timedelta(days=180)
    for i in range(n):
        at = start + timedelta(seconds=rng.randrange(180 * 86400))
        yield (at, f"工单{i}", rng.choice(CHANNELS), rng.choice(STATUSES), rng.choice(CATEGORIES),
               round(rng.random() * 5000, 2), rng.choice([None, rng.randint(1, 600)]))


def pg_url(n: int) -> str:
    return f"{PG}?options=-csearch_path%3Djimu_bench_report_v{DATA_VERSION}_{n}"


def cached_pg(n: int) -> str:
    """The package and ``n`` tickets in a PostgreSQL schema of their own (loaded with COPY, kept)."""
    import sqlalchemy as sa
    from apps import load_package
    from runtime.auth.users import create_user
    from runtime.db import make_engine
    from runtime.installer import install
    from runtime.migrate import upgrade
    from runtime.store import Catalog

    schema = f"jimu_bench_report_v{DATA_VERSION}_{n}"
    admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        done = c.exec_driver_sql(f"SELECT count(*) FROM information_schema.tables WHERE table_schema = '{schema}' "
                                 "AND table_name = 'jimu_bench_done'").scalar()
        if done:
            print(f"using the stored {schema}", flush=True)
            return pg_url(n)
        c.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        c.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    admin.dispose()
    t0 = time.perf_counter()
    engine = make_engine(pg_url(n))
    upgrade(engine)
    with engine.begin() as conn:
        install(conn, load_package(json.dumps(PACKAGE, ensure_ascii=False).encode()), now=NOW)
        create_user(conn, "bench", "pw-123456", now=NOW, is_admin=True)
    catalog = Catalog()
    with engine.begin() as conn:
        ft = catalog.refresh(conn).form("工单")
    cols = [ft.columns[k].name for k in ("标题", "渠道", "状态", "类别", "金额", "首响分钟")]
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        names = ", ".join(["created_at", "updated_at", "created_by", "updated_by", "row_version", *cols])
        with cur.copy(f'COPY "{ft.table.name}" ({names}) FROM STDIN') as copy:
            for row in tickets(n):
                copy.write_row((row[0], row[0], 1, 1, 1, *row[1:]))
        cur.execute(f'ANALYZE "{ft.table.name}"')
        cur.execute("CREATE TABLE jimu_bench_done (id int)")
        raw.commit()
    finally:
        raw.close()
    engine.dispose()
    print(f"built {n:,} records in PostgreSQL in {time.perf_counter() - t0:.1f}s", flush=True)
    return pg_url(n)


def cached_db(n: int) -> Path:
    path = Path(tempfile.gettempdir()) / f"jimu-bench-report-v{DATA_VERSION}-{n}.sqlite"
    if not path.exists():
        t0 = time.perf_counter()
        build(path, n)
        print(f"built {n:,} records in {time.perf_counter() - t0:.1f}s → {path}", flush=True)
    else:
        print(f"using cached {path}", flush=True)
    return path


def make_app(where):
    from runtime.app import create_app
    instance = Path(tempfile.mkdtemp(prefix="jimu-bench-report-instance-"))
    url = where if isinstance(where, str) else f"sqlite:///{where}"
    return create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": False,
                       "CLOCK": lambda: NOW, "UPLOAD_DIR": str(instance / "files")})


def hand_written_pg(url: str):
    """The same six aggregates as plain SQL on PostgreSQL (psycopg, physical names looked up once)."""
    import psycopg
    schema = url.rsplit("%3D", 1)[1]
    db = psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", options=f"-csearch_path={schema}")
    table, form_id = db.execute("SELECT table_name, id FROM jimu_forms WHERE key = '工单'").fetchone()
    c = dict(db.execute("SELECT key, physical_name FROM jimu_form_fields WHERE form_id = %s AND status = 'active'",
                        (form_id,)).fetchall())
    ch, st, cat, amt, frt = (f'"{c[k]}"' for k in ("渠道", "状态", "类别", "金额", "首响分钟"))
    since, until = NOW - timedelta(days=30), NOW
    queries = [
        (f"SELECT {ch}, count(*) FROM {table} GROUP BY {ch} ORDER BY {ch}", ()),
        (f"SELECT count(*), count(CASE WHEN {st} IN ('已解决', '已关闭') THEN 1 END) FROM {table}", ()),
        (f"SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS d, count(*) FROM {table} "
         f"WHERE created_at >= %s AND created_at < %s GROUP BY d ORDER BY d", (since, until)),
        (f"SELECT {cat}, avg({frt}) FROM {table} GROUP BY {cat} ORDER BY {cat}", ()),
        (f"SELECT {ch}, {st}, count(*) FROM {table} GROUP BY {ch}, {st} ORDER BY {ch}, {st}", ()),
        (f"SELECT {cat}, sum({amt}), max({amt}), count({amt}) FROM {table} GROUP BY {cat} ORDER BY 2 DESC", ()),
    ]

    def run():
        return [db.execute(sql, params).fetchall() for sql, params in queries]
    return db, run


def hand_written(path: Path):
    """The same six aggregates as plain SQL on the same file (physical names looked up once)."""
    db = sqlite3.connect(path)
    table, = db.execute("SELECT table_name FROM jimu_forms WHERE key = '工单'").fetchone()
    form_id, = db.execute("SELECT id FROM jimu_forms WHERE key = '工单'").fetchone()
    c = dict(db.execute("SELECT key, physical_name FROM jimu_form_fields WHERE form_id = ? AND status = 'active'",
                        (form_id,)).fetchall())
    ch, st, cat, amt, frt = (f'"{c[k]}"' for k in ("渠道", "状态", "类别", "金额", "首响分钟"))
    since = (NOW - timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S.000000")
    until = NOW.strftime("%Y-%m-%d %H:%M:%S.000000")
    queries = [
        (f"SELECT {ch}, count(*) FROM {table} GROUP BY {ch} ORDER BY {ch}", ()),
        (f"SELECT count(*), count(CASE WHEN {st} IN ('已解决', '已关闭') THEN 1 END) FROM {table}", ()),
        (f"SELECT strftime('%Y-%m-%d', created_at) AS d, count(*) FROM {table} "
         f"WHERE created_at BETWEEN ? AND ? GROUP BY d ORDER BY d", (since, until)),
        (f"SELECT {cat}, avg({frt}) FROM {table} GROUP BY {cat} ORDER BY {cat}", ()),
        (f"SELECT {ch}, {st}, count(*) FROM {table} GROUP BY {ch}, {st} ORDER BY {ch}, {st}", ()),
        (f"SELECT {cat}, sum({amt}), max({amt}), count({amt}) FROM {table} GROUP BY {cat} ORDER BY 2 DESC", ()),
    ]

    def run():
        return [db.execute(sql, params).fetchall() for sql, params in queries]
    return db, run


def bench_dashboard_data(where, label: str) -> None:
    app = make_app(where)
    jimu = app.extensions["jimu"]
    from runtime.auth.tokens import create_token
    with jimu.begin() as conn:
        uid = conn.exec_driver_sql("SELECT id FROM jimu_users WHERE username = 'bench'").scalar()
        token = create_token(conn, uid, "bench", now=NOW)[1]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    cache = jimu.services.reports.cache

    def jimu_dashboard():
        r = client.get("/api/v1/dashboards/overview/data", headers=headers)
        assert r.status_code == 200, r.data[:300]
        return r.json

    def cold():
        cache.clear()
        return jimu_dashboard()

    data = cold()  # compile definitions, page cache
    db, hand = hand_written(where) if isinstance(where, Path) else hand_written_pg(where)
    ref = hand()
    # the same numbers on both sides
    tiles = {t["report"]: t for t in data["charts"]}
    assert [(r["渠道"], r["n"]) for r in tiles["by_channel"]["rows"]] == [tuple(r) for r in ref[0]]
    assert (tiles["totals"]["rows"][0]["total"], tiles["totals"]["rows"][0]["resolved"]) == tuple(ref[1][0])
    assert [(r["day"], r["n"]) for r in tiles["daily"]["rows"]] == [tuple(r) for r in ref[2]]
    top = tiles["amount_top"]["rows"]
    assert [r["类别"] for r in top[:5]] == [r[0] for r in ref[5][:5]]
    assert abs(float(top[5]["amount"]) - float(sum(r[1] for r in ref[5][5:]))) < 1e-6 * float(sum(r[1] for r in ref[5]))
    assert [(r["渠道"], r["状态"], r["n"]) for r in tiles["status_by_channel"]["rows"]] == [tuple(r) for r in ref[4]]
    assert [(r["类别"], round(float(r["avg"]), 6)) for r in tiles["frt"]["rows"]] == \
        [(k, round(float(v), 6)) for k, v in ref[3]]

    repeat = 7
    # interleave so both sides see the same database cache state
    cold_times, ref_times, warm_times = [], [], []
    for _ in range(repeat):
        cold_times.append(median_time(cold, repeat=1))
        ref_times.append(median_time(hand, repeat=1))
    jimu_dashboard()
    for _ in range(repeat):
        warm_times.append(median_time(jimu_dashboard, repeat=1))
    import statistics
    c, h, w = statistics.median(cold_times), statistics.median(ref_times), statistics.median(warm_times)
    report(f"{label}: 6-chart dashboard data over {N:,} records, cold (median of {repeat})", c * 1000, h * 1000,
           "ms", higher_is_better=False, goal=1.3)
    report(f"{label}: the same, warm (cached) vs cold", w * 1000, c * 1000, "ms", higher_is_better=False, goal=0.1)
    db.close()
    jimu.dispose()


def bench_dashboard_page(path: Path) -> None:
    app = make_app(path)
    jimu = app.extensions["jimu"]
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as s:
        csrf = s.get("csrf", "")
    r = client.post("/login", data={"username": "bench", "password": "pw-123456", "csrf_token": csrf})
    assert r.status_code in (302, 303), r.status_code

    def page():
        r = client.get("/dashboards/overview")
        assert r.status_code == 200 and b"dashboard-data" in r.data
    page()
    t = median_time(page, repeat=9)
    print(f"dashboard page (6 charts rendered in) over 100,000 records: median {t * 1000:,.1f} ms", flush=True)
    jimu.dispose()


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    bench_dashboard_data(cached_db(N), "SQLite")
    if PG:
        bench_dashboard_data(cached_pg(N), "PostgreSQL")
    bench_dashboard_page(cached_db(min(N, 100_000)))


if __name__ == "__main__":
    main()
