"""The bulk write path (issue #15: a bulk create through the service was a tenth of Core executemany):
the rows go to PostgreSQL with COPY (no statement carrying rows to parse and plan), and the search
words of typical names and codes are cut without jieba — with everything a write does still done:
ids in row order, audit events, search, unique values, rows deferred to commit written in order.
Tried by a warehouse app's stock-taking import (not the helpdesk), through the API, on both databases
where it applies."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import api_token, install_package, make_user

STOCK = {"format": "jimu.app", "version": 2, "app": {"key": "stock", "version": "1.0.0", "label": "Stock"},
         "roles": [],
         "forms": [{"key": "item", "version": 1, "label": "Stock item", "title_field": "name",
                    "fields": [{"key": "name", "label": "Name", "widget": "text", "required": True},
                               {"key": "code", "label": "Code", "widget": "text", "validation": {"unique": True}},
                               {"key": "count", "label": "Count", "widget": "number"},
                               {"key": "place", "label": "Place", "widget": "text"}]}]}


def _headers(jimu):
    install_package(jimu, STOCK)
    return {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, 'keeper', admin=True))}"}


def _sent(jimu, fn):
    """(statements, bound values) sent through SQLAlchemy while ``fn`` runs."""
    seen: list[tuple[str, int]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        rows = parameters if executemany else [parameters]
        seen.append((statement, sum(len(p or ()) for p in rows)))
    sa.event.listen(jimu.engine, "before_cursor_execute", before)
    try:
        out = fn()
    finally:
        sa.event.remove(jimu.engine, "before_cursor_execute", before)
    return out, seen


def test_a_bulk_create_copies_its_rows_and_does_all_a_write_does(jimu, client):
    headers = _headers(jimu)
    body = [{"name": f"螺丝{i}-M{i % 7}", "code": f"C-{i:04d}", "count": i, "place": "仓库A"} for i in range(400)]
    r, seen = _sent(jimu, lambda: client.post("/api/v1/forms/item/records", headers=headers, json=body))
    assert r.status_code == 201, r.get_data(as_text=True)
    ids = r.get_json()["ids"]
    assert len(ids) == 400 and ids == sorted(ids)
    if jimu.engine.dialect.name == "postgresql":
        # the 400 rows and their 400 audit events are copied, not bound into statements (the reads
        # bind values: the codes whose uniqueness is checked in one query)
        written = [(s, v) for s, v in seen if not s.lstrip().upper().startswith("SELECT")]
        assert sum(v for _, v in written) < 100, [(" ".join(s.split())[:150], v) for s, v in written]
    with jimu.read() as conn:
        t = jimu.catalog.form("item")
        got = conn.execute(sa.select(t.table.c.id, t.column("code"), t.column("count"))
                           .order_by(t.table.c.id)).all()
        events = conn.execute(sa.text("SELECT count(*) FROM jimu_events WHERE kind = 'record.created' "
                                      "AND form_key = 'item'")).scalar()
    assert [(rid, code, count) for rid, code, count in got] == [(rid, f"C-{i:04d}", i) for i, rid in enumerate(ids)]
    assert events == 400
    found = client.get("/api/v1/forms/item/records", headers=headers, query_string={"q": "螺丝 m3"}).get_json()
    assert found["total"] == len([i for i in range(400) if i % 7 == 3])
    assert client.get(f"/api/v1/forms/item/records/{ids[5]}", headers=headers).get_json()["name"] == "螺丝5-M5"


def test_a_unique_value_that_slips_past_the_bulk_check_is_a_409_and_writes_nothing(jimu, client, monkeypatch):
    headers = _headers(jimu)
    url = "/api/v1/forms/item/records"
    assert client.post(url, headers=headers, json={"name": "垫片", "code": "C-1"}).status_code == 201
    from runtime.records import Records
    monkeypatch.setattr(Records, "_unique_taken", lambda self, ft, rows: {"code": set()})  # the race
    r = client.post(url, headers=headers, json=[{"name": "螺母", "code": "C-2"}, {"name": "垫圈", "code": "C-1"}])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "form.unique"
    listed = client.get(url, headers=headers).get_json()
    assert [x["code"] for x in listed["records"]] == ["C-1"]
    assert client.post(url, headers=headers, json=[{"name": "螺母", "code": "C-2"}]).status_code == 201


def test_events_deferred_before_a_bulk_write_keep_their_order(jimu):
    """An event added for commit earlier in the transaction is written before the bulk write's copied
    events (ids follow the order of the writes)."""
    from runtime import audit
    from runtime.auth.principal import load_principal
    from runtime.records import Records
    install_package(jimu, STOCK)
    uid = make_user(jimu, "keeper", admin=True)
    with jimu.begin() as conn:
        audit.record_event(conn, "stock.counted", at=jimu.now(), actor_id=uid, data={"shelf": 1})
        Records(jimu, conn, load_principal(conn, uid)).bulk_create("item", [{"name": "扳手"}, {"name": "钳子"}])
    with jimu.read() as conn:
        kinds = conn.execute(sa.text("SELECT kind FROM jimu_events WHERE kind IN ('stock.counted', "
                                     "'record.created') ORDER BY id")).scalars().all()
    assert kinds == ["stock.counted", "record.created", "record.created"]


@pytest.mark.parametrize("text", ["客户3-1042", "张伟2#u7@example.com", "订单2024-01-05 A"])
def test_names_and_codes_after_chinese_words_are_cut_without_jieba_each_time(monkeypatch, text):
    """A Chinese head followed by ASCII from a digit on (客户3-1042): the head is cut once, the tail
    as ASCII, so a column of such values costs jieba one call, not one per row — and the words are
    jieba's own."""
    from runtime.store import search
    jieba = search._segmenter()
    expected = search._norm(jieba.cut_for_search(text))
    seen = set(expected)
    expected += [w for w in search._norm(jieba.cut(text, cut_all=True)) if w not in seen]
    search._cut.cache_clear()
    search._cuts.cache_clear()
    calls = []
    cut_for_search = jieba.cut_for_search
    monkeypatch.setattr(jieba, "cut_for_search", lambda t, *a, **k: calls.append(t) or cut_for_search(t, *a, **k))
    for k in range(3, 10):
        search.index_words(text.replace("3", str(k)).replace("2", str(k)))
    assert len(calls) <= 1
    assert search.index_words(text) == expected


@pytest.mark.pg
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_rows_are_made_while_the_copy_goes(jimu):
    """On PostgreSQL a bulk write's rows (their search documents, their events' JSON) are made as the
    COPY asks for them, so the server inserts the rows sent while the next ones are made."""
    from psycopg.pq import TransactionStatus
    from runtime import db
    states = []
    with jimu.begin() as conn:
        def made():
            for i in range(3):
                states.append(conn.connection.driver_connection.info.transaction_status)
                yield "stock.counted", jimu.now(), None, "item", i, '{"shelf": %d}' % i
        db.insert_rows(conn, db.events, made(), names=("kind", "at", "actor_id", "form_key", "record_id", "data"),
                       encoded=("data",))
        got = conn.execute(sa.select(db.events.c.record_id, db.events.c.data).order_by(db.events.c.id)).all()
    assert states[1:] == [TransactionStatus.ACTIVE] * 2  # a command (the COPY) in progress
    assert [(rid, data) for rid, data in got] == [(i, {"shelf": i}) for i in range(3)]


def test_a_bulk_writes_events_hold_the_values_as_single_writes_do(jimu):
    """The events' JSON is written in one pass (``audit.to_json``): the same text as ``jsonable`` then
    ``json.dumps``, read back as the values written (times and dates as ISO text)."""
    import json
    from datetime import date, datetime, timezone
    from decimal import Decimal
    from types import MappingProxyType
    from runtime import audit
    from runtime.auth.principal import load_principal
    from runtime.records import Records
    value = {"at": datetime(2026, 1, 1, 8, tzinfo=timezone.utc), "day": date(2026, 1, 2), "price": Decimal("1.50"),
             "label": MappingProxyType({"zh-CN": "扳手"}), "sizes": (1, 2.5), "none": None, "ok": True}
    assert audit.to_json(value) == json.dumps(audit.jsonable(value))
    install_package(jimu, STOCK)
    uid = make_user(jimu, "keeper", admin=True)
    with jimu.begin() as conn:
        ids = Records(jimu, conn, load_principal(conn, uid)).bulk_create(
            "item", [{"name": "扳手", "count": 3}, {"name": "钳子", "place": "A\\1 \"x\""}])
    with jimu.read() as conn:
        data = conn.execute(sa.text("SELECT data FROM jimu_events WHERE kind = 'record.created' ORDER BY id")
                            ).scalars().all()
    data = [json.loads(d) if isinstance(d, str) else d for d in data]
    assert [d["after"] for d in data] == [{"name": "扳手", "count": 3}, {"name": "钳子", "place": "A\\1 \"x\""}]
    assert [d["source"] for d in data] == ["api", "api"] and len(ids) == 2


@pytest.mark.pg
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_typed_rows_are_copied_in_binary_and_read_back_as_a_single_create_writes_them(jimu, monkeypatch):
    """On PostgreSQL a bulk write whose values are all of their columns' types (what the form engine
    cleans them to) is copied in binary: the server parses no text for the times and numbers. The
    records read back as the same values written one at a time do; the events (JSON) and the rows of
    forms with a column psycopg has no binary form for here (a money field's decimals) go as text."""
    import psycopg
    from runtime.auth.principal import load_principal
    from runtime.records import Records
    form = {"key": "receipt", "version": 1, "label": "Receipt", "fields": [
        {"key": k, "label": k, "widget": w} for k, w in [
            ("name", "text"), ("note", "textarea"), ("qty", "number"), ("day", "date"),
            ("at", "datetime"), ("paid", "switch"), ("kind", "select")]]}
    form["fields"][-1]["config"] = {"options": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]}
    install_package(jimu, dict(STOCK, forms=[form]))
    uid = make_user(jimu, "keeper", admin=True)
    rows = [{"name": "扳手\\t\"1\"", "note": "a\nb", "qty": 3, "day": "2026-01-02",
             "at": "2026-01-02T10:30:00+08:00", "paid": True, "kind": "b"},
            {"name": "钳子", "qty": 2.5, "paid": False}, {"name": None}]
    copies = []
    copy = psycopg.Cursor.copy
    monkeypatch.setattr(psycopg.Cursor, "copy", lambda cursor, statement, *a, **kw: (
        copies.append(statement), copy(cursor, statement, *a, **kw))[1])
    with jimu.begin() as conn:
        records = Records(jimu, conn, load_principal(conn, uid))
        ids = records.bulk_create("receipt", rows)
        single_ids = [records.create("receipt", r)["id"] for r in rows]
    with jimu.read() as conn:
        from runtime.store import RecordStore
        ft = jimu.catalog.form("receipt")
        bulk = RecordStore(conn).by_ids(ft, ids)
        single = RecordStore(conn).by_ids(ft, single_ids)
    strip = lambda r: {k: v for k, v in r.items() if k != "id"}  # noqa: E731
    assert [strip(r) for r in bulk] == [strip(r) for r in single]
    assert bulk[0]["at"].isoformat() == "2026-01-02T02:30:00+00:00" and bulk[1]["qty"] == 2.5
    assert ["FORMAT BINARY" in c for c in copies] == [True, False]  # the records, then their events
    form["fields"].append({"key": "price", "label": "price", "widget": "money"})
    install_package(jimu, dict(STOCK, app=dict(STOCK["app"], version="1.0.1"), forms=[form]))
    copies.clear()
    with jimu.begin() as conn:
        Records(jimu, conn, load_principal(conn, uid)).bulk_create("receipt", [{"name": "锤", "price": "12.50"}])
    assert ["FORMAT BINARY" in c for c in copies] == [False, False]


def test_a_bulk_write_freezes_the_objects_it_found_and_gives_them_back():
    import gc
    import weakref
    from runtime.records import BULK_GC_THRESHOLD, fewer_collections

    class Cycle:
        pass

    thresholds = gc.get_threshold()
    made = Cycle()
    made.me = made
    ref = weakref.ref(made)
    with fewer_collections():
        del made
        frozen = gc.get_freeze_count()
        assert frozen > 0 and gc.get_threshold()[0] == max(thresholds[0], BULK_GC_THRESHOLD)
        with fewer_collections():   # a write at the same time shares the setting
            pass
        assert gc.get_freeze_count() == frozen
        gc.collect()
        assert ref() is not None    # made before the write: frozen, not walked by its collections
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == thresholds
    gc.collect()
    assert ref() is None            # given back to the collector


@pytest.mark.pg
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("name", ["名称", "供应商联系人在合同签订之前最后一次确认的报价名称"])
def test_the_server_builds_a_large_bulk_writes_events_as_the_client_encodes_them(jimu, monkeypatch, name):
    """On PostgreSQL the creation events of a bulk write of ``SERVER_EVENTS_AT`` records or more are
    built by the server from the rows (``audit.record_created``), while the listeners are told: the
    stored JSON is the one the client writes for the same values (compared as JSONB's text, which
    shows a number's scale: 96.0 is not 96), texts of every kind, integers, booleans, empty values,
    floats whose own text is not Python's (96.0, -0.0) and random ones (written by the server), integers
    and floats in one column (sent as Python's text). The server names the values by their keys (a
    row made JSON), or, for a key longer than its names may be (24 Chinese characters are 72 bytes, a
    name at most 63), pairs them with their keys."""
    from runtime import audit, db
    from runtime.auth.principal import load_principal
    from runtime.records import Records
    form = {"key": "lot", "version": 1, "label": "Lot", "fields": [
        {"key": name, "label": "name", "widget": "text"}, {"key": "note", "label": "note", "widget": "textarea"},
        {"key": "qty", "label": "qty", "widget": "number"}, {"key": "price", "label": "price", "widget": "number"},
        {"key": "count", "label": "count", "widget": "number"},
        {"key": "rate", "label": "rate", "widget": "number"},
        {"key": "n", "label": "n", "widget": "number", "config": {"integer": True}},
        {"key": "ok", "label": "ok", "widget": "switch"}]}
    install_package(jimu, dict(STOCK, forms=[form]))
    uid = make_user(jimu, "keeper", admin=True)
    import random
    rng = random.Random(15)

    def draw():   # floats of every size the number widget takes, some of them whole
        x = rng.uniform(-1, 1) * 10 ** rng.randint(-12, 14)
        return float(round(x)) if rng.random() < 0.2 else x

    floats = [96.0, 999999999999999.0, 123456789012345.6, 1.5e-07, -0.0, 0.1 + 0.2, 1 / 3, 2.5, 5e-324, -7.0,
              1e-05, 123456.789]
    texts = ["扳手", 'a "quoted" \\ back\\slash', "", None, "é😀\u2028", "{}", "null", "<b>&amp;</b>"]
    rows = [{name: texts[i % len(texts)], "note": (texts[(i + 3) % len(texts)] or "") + "line\nbreak\ttab",
             "qty": i - 100, "count": i % 50, "rate": draw(), "price": floats[i % len(floats)], "n": (i * 7919) % 1000 - 500, "ok": i % 3 == 0}
            for i in range(audit.SERVER_EVENTS_AT + 40)]
    rows[5]["qty"] = 10 ** 15 - 1
    rows[6]["count"] = 2.5   # integers and floats in one column
    background = []
    in_background = db.in_background
    monkeypatch.setattr(db, "in_background", lambda *a: (background.append(a[1]), in_background(*a))[1])

    def written() -> list[str]:
        with jimu.begin() as conn:
            ids = Records(jimu, conn, load_principal(conn, uid), source="import").bulk_create("lot", rows)
        with jimu.read() as conn:
            return conn.execute(sa.text("SELECT kind, actor_id, form_key, record_id, data::text FROM jimu_events "
                                        "WHERE record_id = ANY(:ids) AND form_key = 'lot' ORDER BY id"),
                                {"ids": ids}).all(), ids

    by_server, server_ids = written()
    assert len(background) == 1 and "CASE WHEN" in background[0] and "unnest" in background[0]
    assert ("to_jsonb(event_)" in background[0]) == (len(name.encode()) <= 63)
    monkeypatch.setattr(audit, "SERVER_EVENTS_AT", 10 ** 9)   # the same rows, encoded by the client
    by_client, client_ids = written()
    assert len(background) == 1
    assert [r[3] for r in by_server] == server_ids and [r[3] for r in by_client] == client_ids
    assert [(r[0], r[1], r[2], r[4]) for r in by_server] == [(r[0], r[1], r[2], r[4]) for r in by_client]
    assert '"price": 96.0' in by_server[0][4] and '"price": 999999999999999.0' in by_server[1][4]


@pytest.mark.pg
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_background_statement_finishes_before_the_connection_is_used_again(jimu):
    """``db.in_background``: the statement runs in a thread while the caller goes on; the next statement
    sees what it wrote, its error is raised there (as SQLAlchemy's), and a rollback drops it."""
    from runtime import db
    insert = "INSERT INTO jimu_events (kind, at, record_id) VALUES (%(kind)s, now(), %(rid)s)"
    slow = insert + ", (%(kind)s, now(), (SELECT 2 FROM pg_sleep(0.2)))"
    count = sa.text("SELECT count(*) FROM jimu_events WHERE kind = 'bg.test'")
    with jimu.begin() as conn:
        db.in_background(conn, slow, {"kind": "bg.test", "rid": 1})
        assert conn.execute(count).scalar() == 2
    with pytest.raises(sa.exc.DataError):
        with jimu.begin() as conn:
            db.in_background(conn, insert, {"kind": "bg.test", "rid": "not a number"})
            conn.execute(sa.text("SELECT 1"))
    with pytest.raises(sa.exc.IntegrityError):   # at the commit when no statement comes before it
        with jimu.begin() as conn:
            db.in_background(conn, insert, {"kind": None, "rid": 4})
    with jimu.begin() as conn:
        nested = conn.begin_nested()
        db.in_background(conn, insert, {"kind": None, "rid": 5})
        nested.rollback()    # undoes what failed: nothing to raise
        db.in_background(conn, slow, {"kind": "bg.test", "rid": 6})
    with jimu.read() as conn:
        assert conn.execute(count).scalar() == 4


@pytest.mark.pg
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_commit_encodes_its_waiting_writes_while_a_background_statement_runs(jimu, monkeypatch):
    """The commit's deferred writes (a bulk write's rule changes, their events and firings) are encoded
    while the background statement (the bulk write's events) still runs, not after waiting for it;
    both are written."""
    from datetime import datetime, timezone
    from runtime import audit, db, deferred
    seen = []
    params = deferred._Shape.params
    monkeypatch.setattr(deferred._Shape, "params",
                        lambda self, name, dialect, items: (seen.append(db._BACKGROUND in conn.info),
                                                            params(self, name, dialect, items))[1])
    insert = "INSERT INTO jimu_events (kind, at, record_id) VALUES (%(kind)s, now(), (SELECT 1 FROM pg_sleep(0.2)))"
    with jimu.begin() as conn:
        conn.execute(sa.text("SELECT 1"))
        audit.record_event(conn, "bg.waiting", at=datetime.now(timezone.utc))
        db.in_background(conn, insert, {"kind": "bg.running"})
    assert seen == [True]
    assert _test_event_kinds(jimu) == ["bg.running", "bg.waiting"]


def _test_event_kinds(jimu) -> list[str]:
    with jimu.read() as conn:
        return sorted(conn.execute(sa.text("SELECT kind FROM jimu_events WHERE kind LIKE 'bg.%'")).scalars())


@pytest.mark.pg
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_background_statement_first_in_its_transaction_commits_with_the_waiting_writes(jimu):
    """A background statement that is the first its transaction sends (nothing begun on the server yet)
    runs at once: the commit finds the transaction begun, and writes what waited for it in it."""
    from datetime import datetime, timezone
    from runtime import audit, db
    insert = "INSERT INTO jimu_events (kind, at, record_id) VALUES (%(kind)s, now(), 1)"
    with jimu.begin() as conn:
        audit.record_event(conn, "bg.waiting", at=datetime.now(timezone.utc))
        db.in_background(conn, insert, {"kind": "bg.first"})
    with pytest.raises(sa.exc.IntegrityError):   # its error is still raised where a background one's is
        with jimu.begin() as conn:
            db.in_background(conn, insert, {"kind": None})
            audit.record_event(conn, "bg.never", at=datetime.now(timezone.utc))
    assert _test_event_kinds(jimu) == ["bg.first", "bg.waiting"]


@pytest.mark.pg
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_server_builds_events_only_from_columns_it_writes_as_python_does(jimu):
    """``audit._server_after`` checks whole columns: integers a double keeps exactly (not beyond 2**53),
    finite floats below 1e16 written by the server, others as Python's text; empty values anywhere."""
    from runtime import audit
    form = {"key": "lot", "version": 1, "label": "Lot", "fields": [
        {"key": "name", "label": "name", "widget": "text"}, {"key": "qty", "label": "qty", "widget": "number"}]}
    install_package(jimu, dict(STOCK, forms=[form]))
    with jimu.read():
        ft = jimu.catalog.form("lot")

    def plan(*qty):
        with jimu.begin() as conn:
            out = audit._server_after(conn, ft.columns, [{"name": "a", "qty": q} for q in qty])
            return out and (out[1]["qty"], out[2].get("qty"))

    assert plan(1, None, -(2 ** 53), 2 ** 53) == ("int", None)
    assert plan(1, 2 ** 53 + 1) is None and plan(-(2 ** 53) - 1, None) is None
    assert plan(None, None) == ("int", None)
    assert plan(0.5, None, -9.9e15) == ("float", None)
    assert plan(0.5, 1e16) == ("text", [repr(0.5), repr(1e16)])
    assert plan(0.5, None, 2) == ("text", [repr(0.5), None, "2"])
    assert plan(0.5, float("inf")) is None and plan(float("nan"), 1.0) is None
    assert plan(True, 1) is None


def test_a_bulk_write_cleans_its_rows_as_one_write_cleans_each(jimu):
    """``Records._cleaned_all`` (what a bulk write cleans its rows with, the same for every row looked at
    once) gives each row the values and errors ``Records._cleaned`` gives it alone: formulas, defaults,
    required fields, coerced and refused values, a row that is no object."""
    from runtime.auth.principal import load_principal
    from runtime.records import Records
    form = {"key": "lot", "version": 1, "label": "Lot", "fields": [
        {"key": "name", "label": "name", "widget": "text", "required": True},
        {"key": "qty", "label": "qty", "widget": "number", "default": 1},
        {"key": "price", "label": "price", "widget": "number"},
        {"key": "total", "label": "total", "widget": "formula", "config": {"result": "number"},
         "formula": "coalesce(qty, 0) * coalesce(price, 0)"}]}
    install_package(jimu, dict(STOCK, forms=[form]))
    uid = make_user(jimu, "keeper", admin=True)
    rows = [{"name": "扳手", "qty": 3, "price": 2.5}, {"name": "锤", "price": "4"}, {"qty": "x"},
            {"price": 1, "name": "钳"}, "not a record", {"name": "", "qty": None}]
    for source in ("import", "rule"):
        with jimu.begin() as conn:
            records = Records(jimu, conn, load_principal(conn, uid), source=source)
            ft = records.form("lot")
            alone = [records._cleaned(ft, row) for row in rows]
            assert records._cleaned_all(ft, rows) == alone
            assert alone[0][0]["total"] == 7.5 and alone[1][0]["qty"] == 1 and alone[2][1] and alone[4][1]


@pytest.mark.pg
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_bulk_write_plans_its_events_while_the_server_takes_in_its_last_rows(jimu, monkeypatch):
    """On PostgreSQL how the server builds a bulk write's creation events (``audit.created_plan``) is
    worked out while the COPY is still going (it sends no statement), not after it, while the server
    would wait; the events are the server's, as before. A plan that cannot be used (a server writing
    doubles otherwise) falls back to Python's text."""
    from psycopg.pq import TransactionStatus
    from runtime import audit, db
    install_package(jimu, STOCK)
    uid = make_user(jimu, "keeper", admin=True)
    states, background = [], []
    plan = audit.created_plan
    monkeypatch.setattr(audit, "created_plan", lambda conn, *a: (
        states.append(conn.connection.driver_connection.info.transaction_status), plan(conn, *a))[1])
    in_background = db.in_background
    monkeypatch.setattr(db, "in_background", lambda *a: (background.append(a[1]), in_background(*a))[1])
    from runtime.auth.principal import load_principal
    from runtime.records import Records
    rows = [{"name": f"扳手{i}", "count": i + 0.5} for i in range(audit.SERVER_EVENTS_AT)]
    with jimu.begin() as conn:
        ids = Records(jimu, conn, load_principal(conn, uid), source="import").bulk_create("item", rows)
    assert states == [TransactionStatus.ACTIVE] and len(background) == 1 and "CASE WHEN" in background[0]
    monkeypatch.setattr(audit, "_shortest_floats", lambda conn: False)
    with jimu.begin() as conn:
        more = Records(jimu, conn, load_principal(conn, uid), source="import").bulk_create("item", rows)
    assert len(background) == 2 and "unnest" in background[1] and "CASE WHEN" not in background[1]
    with jimu.read() as conn:
        data = dict(conn.execute(sa.select(db.events.c.record_id, db.events.c.data).where(
            db.events.c.form_key == "item", db.events.c.kind == "record.created")).all())
    assert [data[i]["after"] for i in ids] == [data[i]["after"] for i in more] == rows
