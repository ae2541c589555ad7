"""Importing records from CSV and XLSX files into an HR app (not the helpdesk): mapping by label,
options by label, links by a key field, users by name, both modes, rules on and off, the worker's
steps and the CLI — as a user and as a restricted role would try it."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from runtime import db
from runtime.auth.principal import load_principal
from runtime.dataio import importer
from runtime.records import BULK_GC_THRESHOLD, Records
from tests.conftest import install_package, make_user
from tests.runtime.hr_package import hr_package

HEADER = ["姓名", "工号", "所属部门", "级别", "城市", "月薪", "入职日期", "经理"]
GOOD = [["张三", "E001", "研发部", "高级", "上海", "60000", "2024-01-02", "lead"],
        ["李四", "E002", "研发部", "Junior", "北京", "8000", "2024-03-01", "王经理"]]
BAD = ["王五", "E003", "市场部", "专家", "火星", "-5", "2024-13-40", "nobody"]


@pytest.fixture
def hr(jimu):
    install_package(jimu, hr_package())
    users = {"admin": make_user(jimu, "admin", admin=True),
             "lead": make_user(jimu, "lead", roles=["hr_admin"]),
             "rec": make_user(jimu, "rec", roles=["recruiter"])}
    with jimu.begin() as conn:
        conn.execute(sa.update(db.users).where(db.users.c.id == users["lead"]).values(display_name="王经理"))
        r = Records(jimu, conn, load_principal(conn, users["admin"]))
        r.create("部门", {"名称": "研发部", "编码": "RD"})
        r.create("部门", {"名称": "财务部", "编码": "FIN"})
    return users


def csv_bytes(rows, header=HEADER, encoding="utf-8-sig"):
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def upload(jimu, user_id, data: bytes, name: str) -> str:
    with jimu.begin() as conn:
        return jimu.services.files.save(io.BytesIO(data), name, None, conn=conn, user_id=user_id,
                                        now=jimu.now())["id"]


def run(jimu, user_id, data: bytes, name="staff.csv", **kw) -> dict:
    file_id = upload(jimu, user_id, data, name)
    with jimu.begin() as conn:
        iid = importer.start(jimu, conn, load_principal(conn, user_id), "员工", file_id, name, queue=False, **kw)
    more = True
    while more:
        with jimu.begin() as conn:
            more = importer.step(jimu, conn, iid)
    with jimu.read() as conn:
        return importer.status(conn, load_principal(conn, user_id), iid)


def employees(jimu):
    with jimu.read() as conn:
        ft = jimu.catalog.form("员工")
        rows, _ = Records(jimu, conn, None, check_permissions=False).store.select(ft, order_by=[ft.table.c.id])
    return rows


def rejects(jimu, iid):
    with jimu.read() as conn:
        return list(importer.rejected_rows(conn, iid))


def test_preview_matches_headings_by_label_in_either_language_and_shows_every_cell_error(jimu, hr):
    header = ["Name", "Staff no.", "Department", "Grade", "City", "Salary", "Start date", "Manager", "Unknown"]
    file_id = upload(jimu, hr["admin"], csv_bytes([GOOD[0], BAD], header=header), "s.csv")
    with jimu.read() as conn:
        out = importer.preview(jimu, conn, load_principal(conn, hr["admin"]), "员工", file_id, "s.csv")
    assert out["mapping"] == {"Name": "姓名", "Staff no.": "工号", "Department": "部门", "Grade": "级别",
                              "City": "城市", "Salary": "月薪", "Start date": "入职日期", "Manager": "经理"}
    first, second = out["rows"]
    assert first["errors"] == [] and first["line"] == 2
    codes = {e["field"]: e["code"] for e in second["errors"]}
    assert codes == {"部门": "import.link_not_found", "经理": "import.user_not_found",
                     "级别": "form.invalid_choice", "城市": "form.invalid_choice", "月薪": "form.too_small",
                     "入职日期": "form.invalid_date"}
    assert employees(jimu) == []  # a preview writes nothing


def test_valid_mode_imports_good_rows_through_the_service_and_keeps_the_rejected_ones(jimu, hr):
    state = run(jimu, hr["admin"], csv_bytes([GOOD[0], BAD, GOOD[1], ["赵六", "E001"]]))
    assert (state["status"], state["imported"], state["rejected"], state["done_rows"]) == ("done", 2, 2, 4)
    a, b = employees(jimu)
    assert (a["姓名"], a["级别"], a["入职日期"], a["经理"], a["月薪"]) == ("张三", "p3", date(2024, 1, 2), hr["lead"], 60000)
    assert b["级别"] == "p1" and b["经理"] == hr["lead"]           # option by its English label, user by display name
    with jimu.read() as conn:
        depts = dict(conn.execute(sa.select(jimu.catalog.form("部门").columns["名称"], jimu.catalog.form("部门").table.c.id)).all())
        events = conn.execute(sa.select(db.events.c.kind, db.events.c.data).where(
            db.events.c.form_key == "员工")).all()
    assert a["部门"] == b["部门"] == depts["研发部"]               # a link by the linked form's title
    assert a["标记"] == "高薪" and b["标记"] is None               # the rule ran on the imported records
    created = [d for k, d in events if k == "record.created"]
    assert len(created) == 2 and {d["source"] for d in created} == {"import"}
    assert {k for k, _ in events} >= {"records.import", "records.import_finished"}
    lines = rejects(jimu, state["id"])
    assert [line for line, _, _ in lines] == [3, 5]
    assert lines[1][2][0]["code"] == "form.unique" and lines[1][1][:2] == ["赵六", "E001"]


def test_link_by_a_chosen_key_field_and_an_unusable_key_is_refused(jimu, hr):
    state = run(jimu, hr["admin"], csv_bytes([["李四", "E002", "FIN"]], header=HEADER[:3]), link_keys={"部门": "编码"})
    assert state["imported"] == 1
    with pytest.raises(importer.BadMapping) as exc:
        run(jimu, hr["admin"], csv_bytes([["x", "E9", "FIN"]], header=HEADER[:3]), link_keys={"部门": "没有"})
    assert exc.value.code == "import.bad_mapping"


def test_all_mode_writes_nothing_when_one_row_is_invalid_and_everything_when_none_is(jimu, hr):
    state = run(jimu, hr["admin"], csv_bytes([GOOD[0], GOOD[1], BAD]), mode="all")
    assert state["status"] == "failed" and state["imported"] == 0 and state["rejected"] == 1
    assert "nothing was imported" in state["error"] and employees(jimu) == []
    state = run(jimu, hr["admin"], csv_bytes(GOOD), mode="all")
    assert (state["status"], state["imported"]) == ("done", 2) and len(employees(jimu)) == 2


def test_skip_rules_is_for_app_builders_and_audited(jimu, hr):
    with pytest.raises(importer.PermissionDenied) as exc:
        run(jimu, hr["rec"], csv_bytes([GOOD[0]]), skip_rules=True)
    assert exc.value.code == "permission.skip_rules"
    state = run(jimu, hr["lead"], csv_bytes([GOOD[0]]), skip_rules=True)
    assert state["imported"] == 1 and employees(jimu)[0]["标记"] is None   # the big-salary rule did not run
    with jimu.read() as conn:
        started = conn.execute(sa.select(db.events.c.data, db.events.c.actor_id).where(
            db.events.c.kind == "records.import")).one()
    assert started.data["skip_rules"] is True and started.actor_id == hr["lead"]


def test_a_restricted_role_cannot_fill_hidden_fields_nor_create_outside_its_rows(jimu, hr):
    with pytest.raises(importer.BadMapping):
        run(jimu, hr["rec"], csv_bytes([GOOD[0]]), mapping={"姓名": "姓名", "月薪": "月薪"})
    header = ["姓名", "工号", "城市"]
    state = run(jimu, hr["rec"], csv_bytes([["甲", "R1", "上海"], ["乙", "R2", "北京"]], header=header))
    assert (state["imported"], state["rejected"]) == (1, 1)
    assert [r["姓名"] for r in employees(jimu)] == ["甲"]
    assert rejects(jimu, state["id"])[0][2][0]["code"] == "permission.row_scope"


def test_xlsx_with_typed_cells_and_gb18030_csv(jimu, hr):
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.append(["姓名", "工号", "月薪", "入职日期", "城市"])
    ws.append(["陈七", 1001, 12000.0, datetime(2023, 5, 6), "深圳"])
    ws.append([None, None, None, None, None])
    ws.append(["周八", "E1002", "abc", "2023-05-07", "上海"])
    buf = io.BytesIO()
    wb.save(buf)
    state = run(jimu, hr["admin"], buf.getvalue(), name="staff.xlsx")
    assert (state["imported"], state["rejected"]) == (1, 1)
    row = employees(jimu)[0]
    assert (row["工号"], row["月薪"], row["入职日期"]) == ("1001", 12000, date(2023, 5, 6))
    assert rejects(jimu, state["id"])[0][0] == 4
    state = run(jimu, hr["admin"], csv_bytes([["吴九", "G1", "北京"]], header=["姓名", "工号", "城市"],
                                             encoding="gb18030"))
    assert state["imported"] == 1 and employees(jimu)[-1]["姓名"] == "吴九"


def test_the_worker_imports_in_steps_and_progress_is_committed_each_step(jimu, hr, monkeypatch):
    from runtime import jobs
    monkeypatch.setattr(importer, "STEP_ROWS", 2)
    monkeypatch.setattr(importer, "BATCH_ROWS", 2)
    rows = [[f"员工{i}", f"W{i:03d}", "研发部"] for i in range(5)]
    file_id = upload(jimu, hr["admin"], csv_bytes(rows, header=HEADER[:3]), "s.csv")
    with jimu.begin() as conn:
        iid = importer.start(jimu, conn, load_principal(conn, hr["admin"]), "员工", file_id, "s.csv")
    seen = []
    while jobs.run_due(jimu, "w1", limit=1):
        with jimu.read() as conn:
            st = importer.status(conn, load_principal(conn, hr["admin"]), iid)
        seen.append((st["status"], st["done_rows"], round(st["progress"], 2)))
    assert seen[-1][0] == "done" and [s[1] for s in seen] == [2, 4, 5]
    assert 0 < seen[0][2] < seen[1][2] < 1 and len(employees(jimu)) == 5


def test_import_status_is_private_to_its_starter(jimu, hr):
    state = run(jimu, hr["lead"], csv_bytes([GOOD[0]]))
    with jimu.read() as conn:
        with pytest.raises(importer.ImportNotFound):
            importer.status(conn, load_principal(conn, hr["rec"]), state["id"])
        assert importer.status(conn, load_principal(conn, hr["admin"]), state["id"])["imported"] == 1


def test_cli_import_records_with_mapping_and_rejected_file(jimu, hr, runner, tmp_path):
    path = tmp_path / "staff.csv"
    path.write_bytes(csv_bytes([["钱一", "C1", "研发部"], ["孙二", "C2", "不存在"]], header=["名字", "工号", "所属部门"]))
    out = tmp_path / "rejected.csv"
    result = runner.invoke(args=["import-records", "员工", str(path), "--user", "admin", "--map", "名字=姓名",
                                 "--map", "工号=工号", "--map", "所属部门=部门", "--rejected", str(out)])
    assert result.exit_code == 0, result.output
    assert "done: 1 imported, 1 rejected" in result.output
    text = out.read_bytes().decode("utf-8-sig").splitlines()
    assert text[0] == "名字,工号,所属部门,行号,错误" and text[1].startswith("孙二,C2,不存在,3,")
    bad = runner.invoke(args=["import-records", "员工", str(path), "--user", "admin", "--map", "名字"])
    assert bad.exit_code == 2 and "HEADING=FIELD" in bad.output
    failed = runner.invoke(args=["import-records", "员工", str(path), "--user", "admin", "--mode", "all",
                                 "--map", "名字=姓名", "--map", "所属部门=部门"])
    assert failed.exit_code == 1 and "failed: 0 imported, 1 rejected" in failed.output


def test_a_unique_value_already_stored_is_a_rejected_row_with_the_other_errors_of_that_row(jimu, hr):
    run(jimu, hr["admin"], csv_bytes([GOOD[0]]))
    state = run(jimu, hr["admin"], csv_bytes([["张三", "E001", "研发部", "高级", "火星"]], header=HEADER[:5]))
    assert (state["imported"], state["rejected"]) == (0, 1)
    errors = rejects(jimu, state["id"])[0][2]
    assert {(e["field"], e["code"]) for e in errors} == {("工号", "form.unique"), ("城市", "form.invalid_choice")}
    assert "already used" in next(e["message"] for e in errors if e["field"] == "工号")


def test_bulk_ids_are_right_after_the_newest_record_was_deleted(jimu, hr):
    """Form tables never reuse ids (AUTOINCREMENT): the bulk insert's ids follow the sequence, not the
    largest id left (the SQLite executemany path once assumed the latter and failed)."""
    with jimu.begin() as conn:
        r = Records(jimu, conn, load_principal(conn, hr["admin"]))
        ids = r.bulk_create("员工", [{"姓名": "甲"}, {"姓名": "乙"}, {"姓名": "丙"}])
        r.store.delete(jimu.catalog.form("员工"), ids[-1])
    with jimu.begin() as conn:
        r = Records(jimu, conn, load_principal(conn, hr["admin"]))
        new = r.bulk_create("员工", [{"姓名": "丁"}, {"姓名": "戊"}])
        assert new == [ids[-1] + 1, ids[-1] + 2]
        assert [r.get("员工", i)["姓名"] for i in new] == ["丁", "戊"]


def test_a_step_collects_garbage_less_often_and_puts_the_setting_back(jimu, hr, monkeypatch):
    import gc
    seen = []
    convert = importer.Converter.convert

    def watched(self, rows):
        seen.append(gc.get_threshold()[0])
        return convert(self, rows)
    monkeypatch.setattr(importer.Converter, "convert", watched)
    before = gc.get_threshold()
    state = run(jimu, hr["admin"], csv_bytes([GOOD[0]]))
    assert state["imported"] == 1 and seen and set(seen) == {max(before[0], BULK_GC_THRESHOLD)}
    assert gc.get_threshold() == before
    # a step that fails puts it back too
    monkeypatch.setattr(importer, "_step", lambda *a: 1 / 0)
    file_id = upload(jimu, hr["admin"], csv_bytes([GOOD[1]]), "s.csv")
    with jimu.begin() as conn:
        iid = importer.start(jimu, conn, load_principal(conn, hr["admin"]), "员工", file_id, "s.csv", queue=False)
    with pytest.raises(ZeroDivisionError), jimu.begin() as conn:
        importer.step(jimu, conn, iid)
    assert gc.get_threshold() == before
