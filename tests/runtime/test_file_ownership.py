"""Files and public submissions (issue 13 item 6) in an expense-claim app: a record takes only files
it holds or its submitter's fresh uploads (another claim's file id cannot be attached, then
downloaded); a refused public submission leaves no upload behind; refused attempts count against
the public form's rate limit."""
import io
import json
import re
from pathlib import Path

import sqlalchemy as sa

from runtime import db
from tests.conftest import api_token, install_package, make_user, sign_in

PKG = {"format": "jimu.app", "version": 2, "app": {"key": "expenses", "version": "1.0.0", "label": "Expenses"},
       "roles": [{"key": "employee", "version": 1, "label": "Employee",
                  "permissions": {"报销单": ["create", "read", "update"]}}],
       "forms": [{"key": "报销单", "version": 1, "label": "报销单", "title_field": "事由",
                  "fields": [{"key": "事由", "label": "事由", "widget": "text", "required": True},
                             {"key": "金额", "label": "金额", "widget": "number", "required": True},
                             {"key": "发票", "label": "发票", "widget": "attachment",
                              "config": {"accept": [".pdf", ".txt"]}}],
                  "public": {"submit": {"fields": ["事由", "金额", "发票"], "rate_limit": 3}}}]}


def login(client, uid):
    sign_in(client, client.application.extensions["jimu"], uid)


def upload_claim(client, reason, content):
    resp = client.post("/forms/报销单/new", content_type="multipart/form-data", data={
        "csrf_token": "tok", "事由": reason, "金额": "120", "发票": (io.BytesIO(content), "invoice.pdf", "application/pdf")})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:400]
    return int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def stored_files(app):
    return sorted(p for p in Path(app.config["UPLOAD_DIR"]).rglob("*") if p.is_file())


def test_a_record_cannot_take_another_records_file(app, jimu):
    install_package(jimu, PKG)
    alice, bob = (make_user(jimu, u, roles=["employee"]) for u in ("alice", "bob"))
    a, b = app.test_client(), app.test_client()
    login(a, alice)
    login(b, bob)
    rid = upload_claim(a, "客户招待", b"alice's secret invoice")
    ref = a.get(f"/api/v1/forms/报销单/records/{rid}").get_json()["发票"][0]

    # through the API, with the id copied from a notification, a log or a guess
    headers = {"Authorization": f"Bearer {api_token(jimu, bob)}"}
    resp = b.post("/api/v1/forms/报销单/records", json={"事由": "x", "金额": 1, "发票": [ref]}, headers=headers)
    assert resp.status_code == 422
    assert [e["code"] for e in resp.get_json()["error"]["errors"]] == ["form.file_not_yours"]
    own = b.post("/api/v1/forms/报销单/records", json={"事由": "mine", "金额": 1}, headers=headers).get_json()
    resp = b.patch(f"/api/v1/forms/报销单/records/{own['id']}", json={"发票": [ref]}, headers=headers)
    assert resp.status_code == 422

    # through the edit form's hidden "kept file" input
    resp = b.post(f"/forms/报销单/{own['id']}/edit", data={
        "csrf_token": "tok", "事由": "mine", "金额": "1", "发票": json.dumps(ref)})
    assert resp.status_code == 422
    assert b.get(f"/forms/报销单/{own['id']}/files/发票/{ref['id']}").status_code == 404
    assert b.get(f"/api/v1/forms/报销单/records/{own['id']}").get_json()["发票"] in ([], None)

    # the owner keeps her file when she edits her claim, and another record of hers cannot take it either
    resp = a.post(f"/forms/报销单/{rid}/edit", data={"csrf_token": "tok", "事由": "客户招待(改)", "金额": "130",
                                                  "发票": json.dumps(ref)})
    assert resp.status_code == 302
    assert a.get(f"/forms/报销单/{rid}/files/发票/{ref['id']}").data == b"alice's secret invoice"
    other = a.post("/forms/报销单/new", data={"csrf_token": "tok", "事由": "again", "金额": "1",
                                             "发票": json.dumps(ref)})
    assert other.status_code == 422


def test_refused_public_submission_leaves_no_upload_and_counts_against_the_limit(app, jimu):
    install_package(jimu, PKG)
    client = app.test_client()
    html = client.get("/p/报销单").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    def submit(**values):
        return client.post("/p/报销单", content_type="multipart/form-data", data={
            "csrf_token": token, "发票": (io.BytesIO(b"%PDF-1 scan"), "scan.pdf", "application/pdf"), **values})

    refused = submit(事由="打车")                       # 金额 missing: refused after the upload was saved
    assert refused.status_code == 422
    assert stored_files(app) == []
    with jimu.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.files)).scalar() == 0
    assert submit(事由="打车").status_code == 422
    assert submit(事由="打车", 金额="35").status_code == 201   # the third attempt of three this hour
    assert len(stored_files(app)) == 1
    assert submit(事由="打车", 金额="35").status_code == 429   # refused attempts counted
