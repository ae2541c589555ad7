"""Spreadsheet import and export over REST, and the import template, on the HR app: a stranger's
requests, a restricted role's export (row scope and a hidden field), the worker finishing an import."""
from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import load_workbook

from runtime import jobs
from runtime.auth.principal import load_principal
from runtime.records import Records
from tests.conftest import api_token, install_package, make_user
from tests.runtime.hr_package import hr_package


@pytest.fixture
def hr(jimu):
    install_package(jimu, hr_package())
    users = {"admin": make_user(jimu, "admin", admin=True), "rec": make_user(jimu, "rec", roles=["recruiter"])}
    with jimu.begin() as conn:
        r = Records(jimu, conn, load_principal(conn, users["admin"]))
        dept = r.create("部门", {"名称": "研发部", "编码": "RD"})["id"]
        for name, city, pay, grade in [("张三", "上海", 30000, "p3"), ("李四", "北京", 20000, "p1"),
                                       ("王五", "上海", 10000, "p2")]:
            r.create("员工", {"姓名": name, "城市": city, "月薪": pay, "级别": grade, "部门": dept,
                              "经理": users["admin"]})
    return {k: {"Authorization": f"Bearer {api_token(jimu, uid)}"} for k, uid in users.items()}


def _csv(text: bytes) -> list[list[str]]:
    assert text.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))


def test_import_over_the_api_runs_in_the_worker_and_reports_rejected_rows(client, jimu, hr):
    body = "姓名,城市,月薪\n赵六,深圳,9000\n钱七,火星,abc\n".encode("utf-8")
    r = client.post("/api/v1/forms/员工/imports/preview", headers=hr["admin"],
                    data={"file": (io.BytesIO(body), "new.csv")})
    assert r.status_code == 200, r.json
    assert r.json["mapping"] == {"姓名": "姓名", "城市": "城市", "月薪": "月薪"}
    assert [len(row["errors"]) for row in r.json["rows"]] == [0, 2]
    r = client.post("/api/v1/forms/员工/imports", headers=hr["admin"],
                    data={"file_id": r.json["file_id"], "mode": "valid", "mapping": json.dumps(r.json["mapping"])})
    assert r.status_code == 202 and r.json["status"] == "queued"
    url = r.headers["Location"]
    while jobs.run_due(jimu, "w", limit=5):
        pass
    state = client.get(url, headers=hr["admin"]).json
    assert (state["status"], state["imported"], state["rejected"], state["progress"]) == ("done", 1, 1, 1.0)
    rows = _csv(client.get(state["links"]["rejected_csv"], headers=hr["admin"]).data)
    assert rows[0][:3] == ["姓名", "城市", "月薪"] and rows[1][:4] == ["钱七", "火星", "abc", "3"]
    assert "月薪" in rows[1][4] and "城市" in rows[1][4]
    assert client.get(url, headers=hr["rec"]).status_code == 404            # not theirs
    wb = load_workbook(io.BytesIO(client.get(state["links"]["rejected_xlsx"], headers=hr["admin"]).data))
    assert wb.active["A2"].value == "钱七"


def test_import_refusals_say_the_fix(client, hr):
    r = client.post("/api/v1/forms/员工/imports", headers=hr["admin"], data={"file": (io.BytesIO(b"x"), "a.pdf")})
    assert r.status_code == 400 and r.json["error"]["code"] == "import.file_type"
    r = client.post("/api/v1/forms/员工/imports", headers=hr["admin"], data={})
    assert r.status_code == 400 and r.json["error"]["code"] == "import.no_file"
    r = client.post("/api/v1/forms/员工/imports", headers=hr["rec"],
                    data={"file": (io.BytesIO("姓名\n甲\n".encode()), "a.csv"), "skip_rules": "true"})
    assert r.status_code == 403 and r.json["error"]["code"] == "permission.skip_rules"
    r = client.post("/api/v1/forms/员工/imports", data={"file": (io.BytesIO("姓名\n甲\n".encode()), "a.csv")})
    assert r.status_code == 401


def test_export_honours_the_row_scope_and_hidden_fields_and_uses_labels(client, hr):
    admin = _csv(client.get("/api/v1/forms/员工/records/export.csv?sort=姓名", headers=hr["admin"]).data)
    assert "月薪" in admin[0] and len(admin) == 4
    head = admin[0]
    zhang = next(r for r in admin if "张三" in r)
    assert zhang[head.index("级别")] == "高级" and zhang[head.index("所属部门")] == "研发部"
    assert zhang[head.index("经理")] == "admin" and zhang[head.index("月薪")] == "30000"
    rec = _csv(client.get("/api/v1/forms/员工/records/export.csv", headers=hr["rec"]).data)
    assert "月薪" not in rec[0] and sorted(r[rec[0].index("姓名")] for r in rec[1:]) == ["张三", "王五"]
    r = client.get('/api/v1/forms/员工/records/export.csv?filter={"field":"月薪","op":"gt","value":1}',
                   headers=hr["rec"])
    assert r.status_code == 403 and r.json["error"]["code"] == "permission.field_hidden"
    filtered = _csv(client.get('/api/v1/forms/员工/records/export.csv?filter={"field":"城市","op":"eq","value":"北京"}',
                               headers=hr["admin"]).data)
    assert [r[filtered[0].index("姓名")] for r in filtered[1:]] == ["李四"]
    wb = load_workbook(io.BytesIO(client.get("/api/v1/forms/员工/records/export.xlsx", headers=hr["rec"]).data))
    values = list(wb.active.values)
    assert "月薪" not in values[0] and len(values) == 3


def test_template_has_the_importable_columns_and_option_lists(client, hr):
    r = client.get("/api/v1/forms/员工/import-template.xlsx", headers=hr["rec"])
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.data))
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    assert header[0] == "姓名*" and "月薪" not in header and "标记" not in header   # hidden, read-only
    lists = {str(dv.sqref).split(":")[0][:-1]: dv.formula1 for dv in ws.data_validations.dataValidation}
    col = "ABCDEFGHIJ"[header.index("级别")]
    options = wb["_options"]
    ref = lists[col].split("!")[1].replace("$", "")
    assert [c.value for row in options[ref] for c in row] == ["初级", "中级", "高级"]
    assert client.get("/api/v1/forms/部门/import-template.xlsx", headers=hr["rec"]).status_code == 403


def test_an_import_through_a_narrowed_token_runs_with_the_token_rights_only(client, jimu, hr):
    """A read-only token or one for another form cannot import (nor preview); an import started with
    a token scoped to the form runs in the worker with that token's rights: revoked before the worker
    gets to it, the import fails and writes nothing (the worker used the user's full rights before)."""
    import sqlalchemy as sa

    from runtime import db
    from runtime.auth.tokens import TokenScope, create_token, revoke_token

    with jimu.begin() as conn:
        uid = conn.execute(sa.select(db.users.c.id).where(db.users.c.username == "admin")).scalar_one()

    def token(**scope):
        with jimu.begin() as conn:
            tid, secret = create_token(conn, uid, "import", now=jimu.now(), scope=TokenScope(**scope))
        return tid, {"Authorization": f"Bearer {secret}"}

    def post(headers, path="/api/v1/forms/员工/imports"):
        return client.post(path, headers=headers,
                           data={"file": (io.BytesIO("姓名,城市,月薪\n赵六,深圳,9000\n".encode()), "new.csv")})

    def employees():
        with jimu.read() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(jimu.catalog.form("员工").table)).scalar()

    _, read_only = token(access="read")
    _, other_form = token(forms=("部门",))
    for headers in (read_only, other_form):
        for path in ("/api/v1/forms/员工/imports", "/api/v1/forms/员工/imports/preview"):
            r = post(headers, path)
            assert r.status_code == 403 and r.json["error"]["code"].startswith("permission"), r.json
    tid, scoped = token(forms=("员工",))
    r = post(scoped)
    assert r.status_code == 202, r.json
    url = r.headers["Location"]
    with jimu.begin() as conn:
        revoke_token(conn, tid, now=jimu.now(), actor_id=uid)
    while jobs.run_due(jimu, "w", limit=5):
        pass
    state = client.get(url, headers=hr["admin"]).json
    assert (state["status"], state["imported"]) == ("failed", 0) and "auth.token_revoked" in state["error"]
    assert employees() == 3
    _, live = token(forms=("员工",))   # the same scope, live until the end: imported
    url = post(live).headers["Location"]
    while jobs.run_due(jimu, "w", limit=5):
        pass
    assert client.get(url, headers=hr["admin"]).json["status"] == "done" and employees() == 4
