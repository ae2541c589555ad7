"""A single create's row waits for the commit on PostgreSQL (``RecordStore._insert_later``): it is
written once, with the changes the rest of the transaction made to it, yet whatever reads or links
to it meanwhile finds it, the record returned is the one a read gives, and savepoints undo it. On
SQLite the row is inserted at once; the same outcomes hold."""
from __future__ import annotations

import sqlalchemy as sa

from runtime import deferred
from runtime.auth.principal import Principal
from runtime.records import Records
from tests.conftest import api_token, install_package, make_user

from . import cs_fixtures
from .test_write_path import MEMO, PURCHASING, RULES, _memos, _with_rules, _with_step, counted

URL = "/api/v1/forms/order/records"
ORDER = {"item": "Paper A4", "supplier": "Acme", "quantity": 150, "unit_price": 3.5, "needed_by": "2026-12-01",
         "contact": "buyer@example.com", "phone": "13800000000", "urgent": False, "cost_centre": "CC-7",
         "notes": "two boxes"}


def _buyer(jimu):
    return {"Authorization": f"Bearer {api_token(jimu, make_user(jimu, 'buyer1', roles=['buyer']))}"}


def test_a_create_changed_by_a_rule_writes_its_row_once_with_the_final_values(jimu, client):
    install_package(jimu, _with_rules(RULES))
    headers = _buyer(jimu)
    table = jimu.catalog.form("order").table.name
    with counted(jimu.engine) as statements:
        r = client.post(URL, headers=headers, json=ORDER)
    assert r.status_code == 201, r.get_data(as_text=True)
    assert r.get_json()["urgent"] is True and r.get_json()["row_version"] > 1
    writes = [s for s in statements if f"INSERT INTO {table} " in s or f"UPDATE {table} " in s]
    if jimu.engine.dialect.name == "postgresql":   # one INSERT, in the statement sent at commit
        assert len(writes) == 1 and writes[0].lstrip().startswith("WITH") and f"UPDATE {table} " not in writes[0]
    else:
        assert len(writes) == 2
    assert client.get(f"{URL}/{r.get_json()['id']}", headers=headers).get_json()["urgent"] is True


def test_the_record_a_create_returns_is_the_record_read_after_the_commit(jimu, client):
    install_package(jimu, _with_rules(RULES))
    headers = _buyer(jimu)
    for body in (ORDER, {"item": "Pens", "quantity": 2, "unit_price": 1}, {"item": "Ink", "notes": None}):
        r = client.post(URL, headers=headers, json=body)
        assert r.status_code == 201, r.get_data(as_text=True)
        assert client.get(f"{URL}/{r.get_json()['id']}", headers=headers).get_json() == r.get_json()


def test_a_shipped_package_create_returns_the_record_read_after_the_commit(jimu, client):
    ids = cs_fixtures.install(jimu)
    headers = {"Authorization": f"Bearer {api_token(jimu, ids['ann'])}"}
    r = client.post("/api/v1/forms/工单/records", headers=headers,
                    json={"标题": "无法登录账号", "客户姓名": "张三", "问题类型": "账号问题", "紧急程度": "中",
                          "问题详细描述": "登录时提示密码错误"})
    assert r.status_code == 201, r.get_data(as_text=True)
    read = client.get(f"/api/v1/forms/工单/records/{r.get_json()['id']}", headers=headers)
    assert read.get_json() == r.get_json()


def test_a_record_filed_by_a_flow_step_links_to_the_record_created_in_the_same_transaction(jimu, client):
    install_package(jimu, _with_step([MEMO]))
    r = client.post(URL, headers=_buyer(jimu), json={"item": "Desk"})
    assert r.status_code == 201, r.get_data(as_text=True)
    assert [tuple(m) for m in _memos(jimu)] == [("for Desk", r.get_json()["id"])]


def _with_memo():
    """PURCHASING with the memo form, whose link field names an order (no flow)."""
    data = _with_step([MEMO])
    del data["flows"]
    return data


def _created(jimu, conn, item="Desk"):
    records = Records(jimu, conn, Principal(user_id=None, username="t", is_admin=True), source="test",
                      check_permissions=False)
    return records, records.create("order", {"item": item})["id"]


def test_a_row_linking_to_a_pending_record_and_a_read_of_it_find_it(jimu):
    install_package(jimu, _with_memo())
    with jimu.begin() as conn:
        order, memo = jimu.catalog.form("order"), jimu.catalog.form("memo")
        _, rid = _created(jimu, conn)
        # a write into a table whose foreign key names the pending row's table: the row is there first
        conn.execute(sa.insert(memo.table).values({memo.column("text").name: "direct", memo.column("order").name: rid,
                                                   "created_at": sa.func.now(), "updated_at": sa.func.now(),
                                                   "row_version": 1}))
        _, second = _created(jimu, conn, "Lamp")
        count = sa.select(sa.func.count()).select_from(order.table).where(order.table.c.id == second)
        assert conn.execute(count).scalar() == 1
    assert sorted(tuple(m) for m in _memos(jimu)) == [("direct", rid)]


def test_a_pending_record_linking_to_a_record_deleted_meanwhile_gets_the_links_delete_rule(jimu):
    """A pending row naming another by a foreign key is written before that one is deleted: the
    link's ON DELETE SET NULL applies to it, where writing it at commit would fail the commit."""
    install_package(jimu, _with_memo())
    with jimu.begin() as conn:
        order = jimu.catalog.form("order")
        records, rid = _created(jimu, conn)
        memo = records.create("memo", {"text": "on it", "order": rid})["id"]
        conn.execute(sa.delete(order.table).where(order.table.c.id == rid))
    with jimu.read() as conn:
        memos = jimu.catalog.form("memo")
        assert conn.execute(sa.select(memos.column("order")).where(memos.table.c.id == memo)).one() == (None,)


def test_a_create_inside_a_savepoint_rolled_back_is_not_written(jimu):
    install_package(jimu, _with_memo())
    with jimu.begin() as conn:
        _, kept = _created(jimu, conn, "Kept")
        with conn.begin_nested() as sp:
            _created(jimu, conn, "Gone")
            deferred.update(conn, jimu.catalog.form("order").table, kept, {"row_version": 7})
            sp.rollback()
        _, after = _created(jimu, conn, "After")
    order = jimu.catalog.form("order")
    with jimu.read() as conn:
        rows = conn.execute(sa.select(order.table.c.id, order.column("item"), order.table.c.row_version)
                            .order_by(order.table.c.id)).all()
    assert [tuple(r) for r in rows] == [(kept, "Kept", 1), (after, "After", 1)]


def test_a_unique_value_is_inserted_at_once_so_a_conflict_stays_a_field_error(jimu, client, monkeypatch):
    """A create whose values a constraint checks is not deferred: a unique value that slipped past
    the check fails in the create's own savepoint, as a 409, not at commit as a 500."""
    import copy
    data = copy.deepcopy(PURCHASING)
    data["forms"][0]["fields"][8]["validation"] = {"unique": True}  # cost_centre
    install_package(jimu, data)
    headers = _buyer(jimu)
    assert client.post(URL, headers=headers, json={"item": "Ink", "cost_centre": "CC-1"}).status_code == 201
    monkeypatch.setattr(Records, "_unique_errors", lambda self, ft, values, existing: [])
    with counted(jimu.engine) as statements:
        r = client.post(URL, headers=headers, json={"item": "Toner", "cost_centre": "CC-1"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "form.unique"
    assert any(s.startswith("ROLLBACK TO SAVEPOINT") for s in statements)
    assert client.post(URL, headers=headers, json={"item": "Tape", "cost_centre": "CC-2"}).status_code == 201


def test_a_store_on_an_engine_nothing_flushes_writes_its_record_at_once(jimu):
    """A RecordStore on a plain engine (not ``runtime.db.make_engine``'s: no commit hook flushes what
    waits) inserts at once: a row left waiting there would be lost at the commit."""
    from runtime.store import RecordStore
    install_package(jimu, _with_rules(RULES))
    with jimu.read():
        ft = jimu.catalog.form("order")
    plain = sa.create_engine(jimu.engine.url.render_as_string(hide_password=False))
    try:
        with plain.begin() as conn:
            rid = RecordStore(conn).create(ft, {"item": "Paper A4", "quantity": 3}, now=jimu.now(), actor=None)
        with plain.connect() as conn:
            assert conn.execute(sa.select(ft.table.c.id).where(ft.table.c.id == rid)).scalar() == rid
    finally:
        plain.dispose()


def _with_tags(rules):
    """PURCHASING with a many-valued field (``tags``: checkboxes, kept in a child table) and ``rules``."""
    data = _with_rules(rules)
    data["forms"][0]["fields"].append({"key": "tags", "label": "Tags", "widget": "checkboxes",
                                       "config": {"options": ["paper", "rush", "office"]}})
    return data


def test_a_create_without_many_values_on_a_form_that_has_them_writes_its_row_once(jimu, client):
    """A form with a many-valued field (the shipped ticket's participants): a create that gives it no
    values has no child rows to write, so its row waits for the commit like any other form's and is
    written once with the rule's change, not inserted and then updated (a second version of the row
    in every index)."""
    install_package(jimu, _with_tags(RULES))
    headers = _buyer(jimu)
    table = jimu.catalog.form("order").table.name
    with counted(jimu.engine) as statements:
        r = client.post(URL, headers=headers, json=dict(ORDER, tags=[]))
    assert r.status_code == 201, r.get_data(as_text=True)
    assert r.get_json()["urgent"] is True and r.get_json()["tags"] == []
    writes = [s for s in statements if f"INSERT INTO {table} " in s or f"UPDATE {table} " in s]
    if jimu.engine.dialect.name == "postgresql":
        assert len(writes) == 1 and writes[0].lstrip().startswith("WITH") and f"UPDATE {table} " not in writes[0]
    else:
        assert len(writes) == 2
    assert client.get(f"{URL}/{r.get_json()['id']}", headers=headers).get_json() == r.get_json()


def test_many_values_a_rule_gives_a_waiting_record_land_in_its_child_table(jimu, client):
    """The rule's values for the many-valued field need the record's row (their foreign key names it):
    it is written first, and the record read after the commit has them."""
    rules = RULES + [{"key": "tag_rush", "trigger": {"type": "record_created"},
                      "condition": {"field": "quantity", "op": "gte", "value": 100},
                      "actions": [{"type": "set_fields", "values": {"tags": ["rush", "paper"]}}]}]
    install_package(jimu, _with_tags(rules))
    headers = _buyer(jimu)
    r = client.post(URL, headers=headers, json=ORDER)
    assert r.status_code == 201, r.get_data(as_text=True)
    assert r.get_json()["tags"] == ["rush", "paper"] and r.get_json()["urgent"] is True
    read = client.get(f"{URL}/{r.get_json()['id']}", headers=headers).get_json()
    assert read == r.get_json()
    given = client.post(URL, headers=headers, json=dict(ORDER, quantity=1, tags=["office"]))
    assert given.status_code == 201 and given.get_json()["tags"] == ["office"]
    assert client.get(f"{URL}/{given.get_json()['id']}", headers=headers).get_json()["tags"] == ["office"]


def test_a_read_of_a_waiting_record_with_a_waiting_record_linking_to_it_writes_both_in_order(jimu):
    """A read that names the order's table writes the waiting order; the waiting memo that links to it
    stays waiting (nothing reads it yet) or is written after it — never before it, which broke the
    memo's foreign key (the order's own INSERT was taken for a write that needed the memo first)."""
    install_package(jimu, _with_memo())
    with jimu.begin() as conn:
        order, memo = jimu.catalog.form("order"), jimu.catalog.form("memo")
        records, rid = _created(jimu, conn)
        note = records.create("memo", {"text": "on it", "order": rid})["id"]
        assert conn.execute(sa.select(order.table.c.id).where(order.table.c.id == rid)).scalar() == rid
        assert conn.execute(sa.select(memo.column("order")).where(memo.table.c.id == note)).scalar() == rid
    assert [tuple(m) for m in _memos(jimu)] == [("on it", rid)]


def test_the_rows_a_create_leaves_for_the_commit_are_keyed_by_plain_text(jimu, client, monkeypatch):
    """The rows written at commit are encoded as JSON by orjson, which takes only plain ``str`` keys: a
    record's row keyed by SQLAlchemy's column names (``quoted_name``, a str subclass) took a failed
    encoding and then the slower one for other keys, at every create."""
    install_package(jimu, _with_rules(RULES))
    encoded = []
    real = deferred._dumps

    def dumps(rows):
        encoded.append(rows)
        return real(rows)

    monkeypatch.setattr(deferred, "_dumps", dumps)
    r = client.post(URL, headers=_buyer(jimu), json=ORDER)
    assert r.status_code == 201, r.get_data(as_text=True)
    keys = [k for rows in encoded for row in rows for k in row]
    if jimu.engine.dialect.name == "postgresql":
        assert any(k.startswith("c") for k in keys)   # the record's own columns are among them
    assert all(type(k) is str for k in keys), {type(k).__name__ for k in keys}


def test_a_kept_row_reads_each_value_as_the_column_gives_it_back(jimu):
    """``_row_as_read`` takes each value as ``_as_column_read`` reads it back from its column: an integer
    in a float column as a float, a time in UTC, a NaN or a value of another type as uncertain (None:
    the row is inserted at once and read instead)."""
    from datetime import date, datetime, timedelta, timezone

    from runtime.store.records import _as_column_read, _row_as_read
    install_package(jimu, PURCHASING)
    with jimu.read():
        ft = jimu.catalog.form("order")
    columns = {key: ft.columns[key] for key in ("item", "quantity", "unit_price", "needed_by", "urgent")}
    columns["created_at"] = ft.table.c.created_at   # a UTC time column
    east = timezone(timedelta(hours=8))
    samples = ["纸", "", 150, 3.5, -0.0, float("nan"), float("inf"), True, False, 7,
               date(2026, 12, 1), datetime(2026, 12, 1, 9, 30, tzinfo=east), "150", None]
    base = {str(c.name): None for c in ft.row_columns if c.name != "id"}
    base.update(created_at=datetime(2026, 12, 7, tzinfo=timezone.utc), row_version=1)
    for key, col in columns.items():
        for value in samples:
            row = _row_as_read(ft, {**base, str(col.name): value})
            expected = [None] if value is None else _as_column_read(col, [value])
            if expected is None:
                assert row is None, (key, value)
            else:
                assert row is not None and row[str(col.name)] == expected[0], (key, value)
                assert type(row[str(col.name)]) is type(expected[0]), (key, value)
