"""The import and export pages of a form's list, as a signed-in user clicks through them (HR app):
upload → mapping (matched by label) → preview with errors per cell → import → progress page; the
list's export links carry its view and filters; a restricted role's export leaves out what it may
not see."""
from __future__ import annotations

import csv
import io
import re

import pytest

from runtime import jobs
from runtime.auth.principal import load_principal
from runtime.records import Records
from tests.conftest import install_package, make_user, sign_in
from tests.runtime.hr_package import hr_package


@pytest.fixture
def hr(jimu):
    install_package(jimu, hr_package())
    users = {"admin": make_user(jimu, "admin", admin=True), "rec": make_user(jimu, "rec", roles=["recruiter"])}
    with jimu.begin() as conn:
        r = Records(jimu, conn, load_principal(conn, users["admin"]))
        r.create("部门", {"名称": "研发部", "编码": "RD"})
        r.create("员工", {"姓名": "张三", "城市": "上海", "月薪": 30000})
        r.create("员工", {"姓名": "李四", "城市": "北京", "月薪": 20000})
    return users


def test_upload_map_preview_import_and_progress(client, jimu, hr):
    csrf = sign_in(client, jimu, hr["admin"])
    page = client.get("/forms/员工")
    assert b'id="import-link"' in page.data and b'id="export-xlsx"' in page.data
    body = "员工姓名,城市,级别\n赵六,深圳,中级\n钱七,火星,专家\n".encode("utf-8-sig")
    r = client.post("/forms/员工/import", data={"csrf_token": csrf, "file": (io.BytesIO(body), "new.csv")})
    assert r.status_code == 302
    map_url = r.headers["Location"]
    page = client.get(map_url).get_data(as_text=True)
    # 城市 and 级别 matched by label; 员工姓名 is not a label: the user maps it
    assert re.search(r'name="col1".*?<option value="城市" selected', page, re.S)
    assert not re.search(r'name="col0".*?selected', page.split('name="col1"')[0], re.S)
    page = client.get(map_url + "?col0=姓名&col1=城市&col2=级别").get_data(as_text=True)
    assert 'data-line="3"' in page and page.count('class="cell-error"') == 2
    assert "form.invalid_choice" in page
    r = client.post(map_url, data={"csrf_token": csrf, "col0": "姓名", "col1": "城市", "col2": "级别",
                                   "mode": "valid"})
    assert r.status_code == 302 and "/imports/" in r.headers["Location"]
    progress = client.get(r.headers["Location"]).get_data(as_text=True)
    assert 'data-status="queued"' in progress and "data-status-url" in progress
    while jobs.run_due(jimu, "w", limit=5):
        pass
    progress = client.get(r.headers["Location"]).get_data(as_text=True)
    assert 'data-status="done"' in progress and 'id="rejected-xlsx"' in progress
    assert re.search(r'id="import-imported">1<', progress) and re.search(r'id="import-rejected">1<', progress)


def test_a_wrong_file_is_refused_on_the_upload_page(client, jimu, hr):
    csrf = sign_in(client, jimu, hr["admin"])
    r = client.post("/forms/员工/import", data={"csrf_token": csrf, "file": (io.BytesIO(b"%PDF"), "a.pdf")})
    assert r.status_code == 400 and 'id="import-error"' in r.get_data(as_text=True)


def test_page_export_follows_the_list_filters_and_the_readers_rights(client, jimu, hr):
    sign_in(client, jimu, hr["admin"])
    r = client.get("/forms/员工/export.csv?field=城市&op=eq&value=北京")
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert [row[rows[0].index("姓名")] for row in rows[1:]] == ["李四"] and "月薪" in rows[0]
    sign_in(client, jimu, hr["rec"])
    rows = list(csv.reader(io.StringIO(client.get("/forms/员工/export.csv").data.decode("utf-8-sig"))))
    assert "月薪" not in rows[0] and [row[rows[0].index("姓名")] for row in rows[1:]] == ["张三"]
    assert client.get("/forms/员工/export.csv?field=月薪&op=gt&value=1").status_code == 403
    assert b'id="import-link"' in client.get("/forms/员工").data     # recruiters may create
    assert client.get("/forms/部门/import").status_code == 403          # but not departments



def test_the_page_and_the_api_give_the_same_downloads(client, jimu, hr):
    """The list page's export and import template are the REST API's (one runtime.dataio.export)."""
    from tests.conftest import api_token
    sign_in(client, jimu, hr["rec"])
    api = {"Authorization": f"Bearer {api_token(jimu, hr['rec'])}"}
    def download(url, **kw):   # read whole: a streamed answer holds its request open until then
        resp = client.get(url, **kw)
        return resp.status_code, resp.headers.get("Content-Disposition"), resp.data
    page, rest = download("/forms/员工/import-template.xlsx"), download("/api/v1/forms/员工/import-template.xlsx",
                                                                      headers=api)
    assert page[:2] == rest[:2] and page[0] == 200
    assert download("/forms/部门/import-template.xlsx")[0] == 403
    assert download("/forms/员工/export.csv")[2] == download("/api/v1/forms/员工/records/export.csv", headers=api)[2]
    for url, headers in (("/forms/员工/export.pdf", {}), ("/api/v1/forms/员工/records/export.pdf", api)):
        refused = client.get(url, headers=headers)
        assert refused.status_code == 404 and b"export.bad_format" in refused.data, url
