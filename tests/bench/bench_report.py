"""Report engine benchmark (issue 6).

1. A 6-chart dashboard over 1,000,000 records in a SQLite file: Jimu's dashboard
   data (``GET /api/v1/dashboards/<key>/data`` in process: auth, permissions,
   compiled charts, SQL, rows, plotly figures, JSON) vs hand-written SQL for the
   same six aggregates, run with ``sqlite3`` on the same database file. Medians
   of both, and the ratio. Goal ≤ 1.3×.
2. The dashboard page (``GET /dashboards/<key>``, which renders with all six
   figures in it) with 100,000 records: median response time.

The databases are built once (bulk ``executemany`` of generated rows straight
into the form's table) and cached under the temp dir, keyed by the data
version below, so later runs start measuring at once.
"""
from __future__ import annotations

import json
import random
import sqlite3
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tests.bench.util import median_time, report

DATA_VERSION = 1
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

    rng = random.Random(20261122)
    db = sqlite3.connect(tmp)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    sql = (f'INSERT INTO "{table}" (created_at, updated_at, created_by, updated_by, row_version, '
           + ", ".join(f'"{c}"' for c in cols) + ") VALUES (?, ?, 1, 1, 1, ?, ?, ?, ?, ?, ?)")
    start = NOW - timedelta(days=180)
    batch = []
    for i in range(n):
        at = (start + timedelta(seconds=rng.randrange(180 * 86400))).strftime("%Y-%m-%d %H:%M:%S.000000")
        batch.append((at, at, f"工单{i}", rng.choice(CHANNELS), rng.choice(STATUSES), rng.choice(CATEGORIES),
                      round(rng.random() * 5000, 2), rng.choice([None, rng.randint(1, 600)])))
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


def cached_db(n: int) -> Path:
    path = Path(tempfile.gettempdir()) / f"jimu-bench-report-v{DATA_VERSION}-{n}.sqlite"
    if not path.exists():
        t0 = time.perf_counter()
        build(path, n)
        print(f"built {n:,} records in {time.perf_counter() - t0:.1f}s → {path}", flush=True)
    else:
        print(f"using cached {path}", flush=True)
    return path


def make_app(path: Path):
    from runtime.app import create_app
    instance = Path(tempfile.mkdtemp(prefix="jimu-bench-report-instance-"))
    return create_app({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "bench", "TESTING": False,
                       "CLOCK": lambda: NOW, "UPLOAD_DIR": str(instance / "files")})


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


def bench_dashboard_data(path: Path) -> None:
    app = make_app(path)
    jimu = app.extensions["jimu"]
    from runtime.auth.tokens import create_token
    with jimu.begin() as conn:
        uid = conn.exec_driver_sql("SELECT id FROM jimu_users WHERE username = 'bench'").scalar()
        token = create_token(conn, uid, "bench", now=NOW)[1]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def jimu_dashboard():
        r = client.get("/api/v1/dashboards/overview/data", headers=headers)
        assert r.status_code == 200, r.data[:300]
        return r.json

    data = jimu_dashboard()  # warm: compile definitions, page cache
    db, hand = hand_written(path)
    ref = hand()
    # the same numbers on both sides
    tiles = {t["report"]: t for t in data["charts"]}
    assert [(r["渠道"], r["n"]) for r in tiles["by_channel"]["rows"]] == [tuple(r) for r in ref[0]]
    assert (tiles["totals"]["rows"][0]["total"], tiles["totals"]["rows"][0]["resolved"]) == tuple(ref[1][0])
    assert [(r["day"], r["n"]) for r in tiles["daily"]["rows"]] == [tuple(r) for r in ref[2]]
    top = tiles["amount_top"]["rows"]
    assert [r["类别"] for r in top[:5]] == [r[0] for r in ref[5][:5]]
    assert abs(top[5]["amount"] - sum(r[1] for r in ref[5][5:])) < 1e-6 * sum(r[1] for r in ref[5])
    assert [(r["渠道"], r["状态"], r["n"]) for r in tiles["status_by_channel"]["rows"]] == [tuple(r) for r in ref[4]]
    assert [(r["类别"], round(r["avg"], 6)) for r in tiles["frt"]["rows"]] == [(k, round(v, 6)) for k, v in ref[3]]

    repeat = 7
    # interleave so both sides see the same cache state
    jimu_times, ref_times = [], []
    for _ in range(repeat):
        jimu_times.append(median_time(jimu_dashboard, repeat=1))
        ref_times.append(median_time(hand, repeat=1))
    import statistics
    j, h = statistics.median(jimu_times), statistics.median(ref_times)
    report("6-chart dashboard data over 1,000,000 records (median of 7)", j * 1000, h * 1000, "ms",
           higher_is_better=False, goal=1.3)
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
    bench_dashboard_data(cached_db(1_000_000))
    bench_dashboard_page(cached_db(100_000))


if __name__ == "__main__":
    main()
