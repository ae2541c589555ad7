"""Attachments through the runtime form: saved under generated names, downloadable only by
readers of the record holding them, as an attachment with the original name."""
import io

from tests.conftest import install_package, make_user
from tests.runtime.test_ui_records import login

PKG = {"format": "jimu.app", "version": 2, "app": {"key": "docs", "version": "1.0.0", "label": "Docs"},
       "roles": [{"key": "reader", "version": 1, "label": "Reader", "permissions": {"单据": ["read"]}}],
       "forms": [{"key": "单据", "version": 1, "label": "单据", "fields": [
           {"key": "名称", "label": "名称", "widget": "text", "required": True},
           {"key": "附件", "label": "附件", "widget": "attachment",
            "config": {"max_files": 2, "max_size": 1000, "accept": [".txt", "application/pdf"]}}]}]}


def test_upload_download_and_refusals(app, client, jimu):
    install_package(jimu, PKG)
    token = login(client, jimu, "owner", admin=True)
    resp = client.post("/forms/单据/new", content_type="multipart/form-data", data={
        "csrf_token": token, "名称": "合同", "附件": (io.BytesIO("甲乙双方".encode()), "合同 v1.txt", "text/plain")})
    assert resp.status_code == 302
    detail = client.get(resp.headers["Location"]).get_data(as_text=True)
    import re
    href = re.search(r'class="file" href="([^"]+)"', detail).group(1)
    got = client.get(href)
    assert got.status_code == 200 and got.data == "甲乙双方".encode()
    assert "attachment" in got.headers["Content-Disposition"]
    stored = list((__import__("pathlib").Path(app.config["UPLOAD_DIR"])).rglob("*"))
    assert not any("合同" in p.name for p in stored)                    # generated names on disk
    assert client.get(href.rsplit("/", 1)[0] + "/not-a-file").status_code == 404

    too_big = client.post("/forms/单据/new", content_type="multipart/form-data", data={
        "csrf_token": token, "名称": "大", "附件": (io.BytesIO(b"x" * 5000), "big.txt", "text/plain")})
    wrong = client.post("/forms/单据/new", content_type="multipart/form-data", data={
        "csrf_token": token, "名称": "坏", "附件": (io.BytesIO(b"MZ"), "run.exe", "application/x-msdownload")})
    assert too_big.status_code == 422 and wrong.status_code == 422

    client.post("/logout", data={"csrf_token": token})
    login(client, jimu, "stranger")
    assert client.get(href).status_code == 403
