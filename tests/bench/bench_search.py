"""Search benchmark (issue 16): 1,000,000 records of a 10-field form with Chinese text.

Jimu's search (``GET /api/v1/forms/<form>/records?q=…`` in process: auth, permissions, the
segmented query, the ranked page and its total in one statement, JSON) vs a hand-written query on
the same database using the best index for it and doing the same job: the newest 10,001 matches
(``COUNT_CAP`` + 1, the index's own order) ranked, a page of 20 and their count, so the total is
exact up to the cap and "10,000+" beyond (PostgreSQL: the GIN-indexed tsvector Jimu created,
``ts_rank`` and ``count(*) OVER ()``; SQLite: its FTS5 table with ``bm25``). Most queries are
broad (a common word matches 5-60 % of the records), '"王秀英"' is narrow (an exact total). Medians of
both, the ratio (goal ≤ 1.5×) and Jimu's absolute median. The old search (an OR of
``LIKE '%…%'`` over every text column, run for the count and the page) is timed once for
comparison.

``JIMU_BENCH_SEARCH_ROWS`` (default 1,000,000) sets the size, e.g. 50000 for a quick run;
``JIMU_BENCH_PG`` (default the test server) the PostgreSQL URL; ``JIMU_BENCH_DIALECTS``
(default "postgresql,sqlite") which databases. Records are loaded with COPY (PostgreSQL) or
``executemany`` (SQLite) straight into the form's table, their search documents computed by
``runtime.store.search.document`` (memoised: the texts come from small pools); the databases are
kept (a schema / a temp file keyed by size and ``DATA_VERSION``) so later runs measure at once.
"""
from __future__ import annotations

import functools
import json
import os
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from tests.bench.util import median_time, report

DATA_VERSION = 1
N = int(os.environ.get("JIMU_BENCH_SEARCH_ROWS", "1000000"))
PG = os.environ.get("JIMU_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DIALECTS = os.environ.get("JIMU_BENCH_DIALECTS", "postgresql,sqlite").split(",")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)

PRODUCTS = ["打印机", "笔记本电脑", "路由器", "显示器", "投影仪", "空调", "门禁", "服务器", "交换机", "扫描仪",
            "电话机", "摄像头", "会议系统", "考勤机", "保险柜", "冰箱", "饮水机", "电梯", "发电机", "硬盘"]
PROBLEMS = ["无法开机", "频繁死机", "屏幕闪烁", "网络中断", "噪音很大", "漏水", "密码忘记", "账号被锁定", "无法打印",
            "速度很慢", "需要更换配件", "发票需要重开", "申请退款", "保修期查询", "安装预约", "升级固件", "数据恢复",
            "配送延迟", "合同续签", "报价咨询"]
SENTENCES = ["客户反映设备在使用过程中{p}，希望尽快安排工程师上门处理。", "{x}在上周出现{p}的情况，已经重启过但没有改善。",
             "请协助核实{x}的保修状态，并说明{p}的处理流程。", "财务要求提供增值税专用发票，原发票抬头有误需要作废。",
             "用户所在楼层的{x}{p}，影响正常办公，优先级较高。", "已电话联系客户确认{p}，等待备件到货后更换。",
             "该问题与此前工单类似，建议参考知识库中关于{x}的文章。", "物流显示包裹滞留在中转站，客户催促尽快送达。"]
CITIES = ["上海市浦东新区", "北京市朝阳区", "深圳市南山区", "杭州市西湖区", "成都市高新区", "武汉市洪山区", "南京市鼓楼区"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "建华", "志强"]

FORM = {"key": "服务单", "version": 1, "label": "服务单", "fields": [
    {"key": "标题", "label": "标题", "widget": "text"},
    {"key": "描述", "label": "描述", "widget": "textarea"},
    {"key": "客户", "label": "客户", "widget": "text"},
    {"key": "地址", "label": "地址", "widget": "text"},
    {"key": "处理意见", "label": "处理意见", "widget": "textarea"},
    {"key": "状态", "label": "状态", "widget": "select", "config": {"options": ["新建", "处理中", "已解决", "已关闭"]}},
    {"key": "类别", "label": "类别", "widget": "select", "config": {"options": ["硬件", "软件", "财务", "物流"]}},
    {"key": "金额", "label": "金额", "widget": "number"},
    {"key": "数量", "label": "数量", "widget": "number"},
    {"key": "日期", "label": "日期", "widget": "date"}]}
PACKAGE = {"format": "jimu.app", "version": 2, "app": {"key": "searchbench", "version": "1.0.0", "label": "Search"},
           "roles": [], "groups": [], "forms": [FORM]}
#: broad queries (matching 5-60 % of the records: the text comes from small pools; 客户 is in most
#: descriptions) and a narrow one (a full name: about 0.3 %)
QUERIES = ["如何重开发票", "打印机 无法打印", "交换机", "\"网络中断\"", "王秀英", "客户", "\"王秀英\""]


def values(rng: random.Random, i: int) -> dict:
    x, p = rng.choice(PRODUCTS), rng.choice(PROBLEMS)
    return {"标题": f"{x}{p}", "描述": rng.choice(SENTENCES).format(x=x, p=p),
            "客户": rng.choice(SURNAMES) + rng.choice(GIVEN), "地址": rng.choice(CITIES),
            "处理意见": rng.choice(SENTENCES).format(x=rng.choice(PRODUCTS), p=rng.choice(PROBLEMS)),
            "状态": rng.choice(["新建", "处理中", "已解决", "已关闭"]), "类别": rng.choice(["硬件", "软件", "财务", "物流"]),
            "金额": round(rng.random() * 5000, 2), "数量": rng.randint(1, 20),
            "日期": (NOW - timedelta(days=rng.randrange(365))).date()}


def url_for(dialect: str) -> str:
    if dialect == "sqlite":
        return f"sqlite:///{Path(tempfile.gettempdir()) / f'jimu-bench-search-v{DATA_VERSION}-{N}.sqlite'}"
    return f"{PG}?options=-csearch_path%3Djimu_bench_search_v{DATA_VERSION}_{N}"


def built(engine: sa.Engine) -> bool:
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT count(*) FROM jimu_forms").scalar() == 1
    except Exception:
        return False


def build(dialect: str) -> sa.Engine:
    from apps import load_package
    from runtime.auth.users import create_user
    from runtime.db import make_engine
    from runtime.installer import install
    from runtime.migrate import upgrade
    from runtime.store import Catalog, search

    url = url_for(dialect)
    if dialect == "postgresql":
        schema = url.rsplit("%3D", 1)[1]
        admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        admin.dispose()
    engine = make_engine(url)
    if built(engine):
        print(f"{dialect}: using the stored {N:,} records", flush=True)
        return engine
    if dialect == "sqlite":
        engine.dispose()
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        engine = make_engine(url)
    t0 = time.perf_counter()
    upgrade(engine)
    with engine.begin() as conn:
        install(conn, load_package(json.dumps(PACKAGE, ensure_ascii=False).encode()), now=NOW)
        create_user(conn, "bench", "pw-123456", now=NOW, is_admin=True)
    catalog = Catalog()
    with engine.begin() as conn:
        ft = catalog.refresh(conn).form("服务单")
    keys = [f["key"] for f in FORM["fields"]]
    cols = [ft.columns[k].name for k in keys]
    words = functools.lru_cache(maxsize=None)(search.index_words)
    original, search.index_words = search.index_words, words
    rng = random.Random(20261201)
    names = ["created_at", "updated_at", "created_by", "updated_by", "row_version", *cols, search.DOC]
    try:
        def row(i: int):
            v = values(rng, i)
            at = NOW - timedelta(seconds=rng.randrange(365 * 86400))
            return (at, at, 1, 1, 1, *[v[k] for k in keys], search.document(ft, v))
        if dialect == "postgresql":
            raw = engine.raw_connection()
            try:
                cur = raw.cursor()
                cur.execute(f'DROP INDEX IF EXISTS "ix_{ft.table.name}_search"')
                with cur.copy(f'COPY "{ft.table.name}" ({", ".join(names)}) FROM STDIN') as copy:
                    for i in range(N):
                        copy.write_row(row(i))
                cur.execute(f'CREATE INDEX "ix_{ft.table.name}_search" ON "{ft.table.name}" USING gin (search_vector)')
                cur.execute(f'ANALYZE "{ft.table.name}"')
                raw.commit()
            finally:
                raw.close()
        else:
            stmt = sa.insert(ft.table)
            with engine.begin() as conn:
                batch = []
                for i in range(N):
                    batch.append(dict(zip(names, row(i))))
                    if len(batch) == 20_000:
                        conn.execute(stmt, batch)
                        batch.clear()
                if batch:
                    conn.execute(stmt, batch)
                conn.exec_driver_sql("ANALYZE")
    finally:
        search.index_words = original
    print(f"{dialect}: built {N:,} records in {time.perf_counter() - t0:.0f}s", flush=True)
    return engine


def hand_written(engine: sa.Engine, ft, q: str):
    """The best index, written by hand: the terms Jimu's parser picks (the same words a person who
    knows the segmenter would write); the newest ``COUNT_CAP`` + 1 matches read in the index's order,
    ranked, a page of 20 and the count of those matches in one statement."""
    from runtime.store import search
    query = search.parse(q)
    cap = search.COUNT_CAP + 1
    names = [c.name for c in ft.row_columns]
    table = f'"{ft.table.name}"'
    cols = ", ".join(f'{table}."{n}"' for n in names)
    like = " AND ".join(f"{table}.\"{ft.columns['标题'].name}\" || ' ' || {table}.\"{ft.columns['描述'].name}\" "
                        f"|| ' ' || {table}.\"{ft.columns['处理意见'].name}\" || ' ' || {table}.\"{ft.columns['客户'].name}\" "
                        f"LIKE '%{p}%'" for p in query.phrases)
    outer = ", ".join(f'c."{n}"' for n in names)
    if engine.dialect.name == "postgresql":
        must = " & ".join("(" + " | ".join(f"'{w}'" for w in g) + ")" for g in query.required)
        rank = " | ".join(f"'{w}'" for w in query.words())
        sql = (f"SELECT {outer}, count(*) OVER () FROM (SELECT {cols}, ts_rank(search_vector, to_tsquery('simple', %s)) "
               f"AS r FROM {table} WHERE search_vector @@ to_tsquery('simple', %s) "
               + (f"AND {like.replace('%', '%%')} " if like else "")
               + f"ORDER BY id DESC LIMIT {cap}) c ORDER BY c.r DESC, c.id DESC LIMIT 20")
        params = (rank, must)
    else:
        must = " AND ".join("(" + " OR ".join(f'"{w}"' for w in g) + ")" for g in query.required)
        if query.boosts:
            must = f"({must}) OR (({must}) AND ({' OR '.join(chr(34) + w + chr(34) for w in query.boosts)}))"
        fts = f'"{ft.table.name}_fts"'
        sql = (f"SELECT {outer}, count(*) OVER () FROM (SELECT {cols}, h.r FROM (SELECT rowid AS rid, "
               f"bm25({fts}) AS r FROM {fts} WHERE {fts} MATCH ?) h "
               f"JOIN {table} ON {table}.id = h.rid " + (f"WHERE {like} " if like else "")
               + f"ORDER BY h.rid DESC LIMIT {cap}) c ORDER BY c.r, c.id DESC LIMIT 20")
        params = (must,)
    raw = engine.raw_connection()

    def run():
        cur = raw.cursor()
        cur.execute(sql, params)
        rows = cur.fetchall()
        cur.close()
        return rows
    return raw, run


def old_like(engine: sa.Engine, ft, q: str) -> float:
    """The search Jimu had: an OR of LIKE '%q%' over the text columns, a count and a page."""
    cols = [ft.columns[k] for k in ("标题", "描述", "客户", "地址", "处理意见", "状态", "类别")]
    cond = sa.or_(*[sa.func.lower(c).like(f"%{q}%") for c in cols])
    with engine.connect() as conn:
        t0 = time.perf_counter()
        conn.execute(sa.select(sa.func.count()).select_from(ft.table).where(cond)).scalar()
        conn.execute(sa.select(*ft.row_columns).where(cond).order_by(ft.table.c.id.desc()).limit(20)).all()
        return time.perf_counter() - t0


def bench(dialect: str) -> None:
    from runtime.app import create_app
    from runtime.auth.tokens import create_token
    from runtime.store import Catalog, search
    engine = build(dialect)
    catalog = Catalog()
    with engine.begin() as conn:
        ft = catalog.refresh(conn).form("服务单")
    instance = Path(tempfile.mkdtemp(prefix="jimu-bench-search-"))
    app = create_app({"DATABASE_URL": url_for(dialect), "SECRET_KEY": "bench", "TESTING": False,
                      "CLOCK": lambda: NOW, "UPLOAD_DIR": str(instance / "files")})
    jimu = app.extensions["jimu"]
    with jimu.begin() as conn:
        uid = conn.exec_driver_sql("SELECT id FROM jimu_users WHERE username = 'bench'").scalar()
        token = create_token(conn, uid, "bench", now=NOW)[1]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for q in QUERIES:
        def jimu_search():
            r = client.get("/api/v1/forms/服务单/records", query_string={"q": q, "per_page": 20}, headers=headers)
            assert r.status_code == 200, r.data[:300]
            return r.json
        body = jimu_search()
        raw, hand = hand_written(engine, ft, q)
        ref = hand()
        counted = ref[0][-1] if ref else 0
        assert (body["total"], body["total_capped"]) == (min(counted, search.COUNT_CAP), counted > search.COUNT_CAP), \
            (q, body["total"], counted)
        assert [r["id"] for r in body["records"]][:5] == [r[0] for r in ref][:5] or body["total"] > 20
        j_times, h_times = [], []
        for _ in range(7):
            j_times.append(median_time(jimu_search, repeat=1))
            h_times.append(median_time(hand, repeat=1))
        j, h = statistics.median(j_times), statistics.median(h_times)
        total = f"{body['total']:,}{'+' if body['total_capped'] else ''}"
        report(f"{dialect} search {q!r} over {N:,} records ({total} matches, median of 7)",
               j * 1000, h * 1000, "ms", higher_is_better=False, goal=1.5)
        raw.close()
    print(f"{dialect}: the old LIKE search for '发票' (count + page): {old_like(engine, ft, '发票') * 1000:,.0f} ms",
          flush=True)
    jimu.dispose()
    engine.dispose()


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    for dialect in DIALECTS:
        bench(dialect.strip())


if __name__ == "__main__":
    main()
