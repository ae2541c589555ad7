"""Files over REST (issue #14, item 6), tried with an equipment-inspection app whose reports carry
photos: upload (multipart and raw) with the field's type and size limits, reference from a record,
download with the record's permission checks."""
from __future__ import annotations

import io

import pytest

from tests.conftest import api_token, install_package, make_user

INSPECTIONS = {
    "format": "jimu.app", "version": 2, "app": {"key": "inspect", "version": "1.0.0", "label": "Inspections"},
    "roles": [{"key": "inspector", "version": 1, "label": "Inspector",
               "permissions": {"report": ["create", "read", "update"]}}],
    "forms": [{"key": "report", "version": 1, "label": "Inspection report", "title_field": "site",
               "fields": [{"key": "site", "label": "Site", "widget": "text", "required": True},
                          {"key": "photos", "label": "Photos", "widget": "attachment",
                           "config": {"accept": ["image/*", ".txt"], "max_size": 1000}}]}]}
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 100


@pytest.fixture
def people(jimu):
    install_package(jimu, INSPECTIONS)
    ids = {"ann": make_user(jimu, "ann", roles=["inspector"]), "bob": make_user(jimu, "bob", roles=["inspector"]),
           "eve": make_user(jimu, "eve")}
    return {k: {"Authorization": f"Bearer {api_token(jimu, v)}"} for k, v in ids.items()}


def test_upload_reference_and_download(client, people):
    ann = people["ann"]
    r = client.post("/api/v1/forms/report/fields/photos/files", headers=ann,
                    data={"file": (io.BytesIO(PNG), "boiler.png", "image/png")}, content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    ref = r.get_json()
    assert (ref["name"], ref["size"], ref["type"]) == ("boiler.png", len(PNG), "image/png")
    raw = client.post("/api/v1/forms/report/fields/photos/files?name=note.txt", headers={**ann,
                      "Content-Type": "text/plain"}, data=b"gauge reads 3 bar")
    assert raw.status_code == 201 and raw.get_json()["name"] == "note.txt"
    rec = client.post("/api/v1/forms/report/records", headers=ann,
                      json={"site": "Plant 2", "photos": [ref, raw.get_json()]})
    assert rec.status_code == 201, rec.get_json()
    rid = rec.get_json()["id"]
    got = client.get(f"/api/v1/forms/report/records/{rid}/files/photos/{ref['id']}", headers=ann)
    assert got.status_code == 200 and got.data == PNG
    assert "attachment" in got.headers["Content-Disposition"]


def test_limits_of_the_field_apply(client, people):
    ann = people["ann"]
    big = client.post("/api/v1/forms/report/fields/photos/files?name=big.png", headers={**ann,
                      "Content-Type": "image/png"}, data=b"x" * 5000)
    assert big.status_code == 413 and big.get_json()["error"]["code"].endswith("too_large")
    exe = client.post("/api/v1/forms/report/fields/photos/files", headers=ann,
                      data={"file": (io.BytesIO(b"MZ"), "tool.exe", "application/octet-stream")},
                      content_type="multipart/form-data")
    assert exe.status_code == 422 and exe.get_json()["error"]["code"] == "form.file_type"
    assert client.post("/api/v1/forms/report/fields/site/files", headers=ann,
                       data={"file": (io.BytesIO(PNG), "a.png", "image/png")},
                       content_type="multipart/form-data").status_code == 404


def test_no_one_else_takes_or_reads_the_file(client, people):
    ann, bob, eve = people["ann"], people["bob"], people["eve"]
    assert client.post("/api/v1/forms/report/fields/photos/files?name=a.png",
                       headers={"Content-Type": "image/png"}, data=PNG).status_code == 401
    assert client.post("/api/v1/forms/report/fields/photos/files?name=a.png",
                       headers={**eve, "Content-Type": "image/png"}, data=PNG).status_code == 403
    up = client.post("/api/v1/forms/report/fields/photos/files?name=a.png",
                     headers={**ann, "Content-Type": "image/png"}, data=PNG)
    assert up.status_code == 201, up.get_json()
    ref = up.get_json()
    stolen = client.post("/api/v1/forms/report/records", headers=bob, json={"site": "X", "photos": [ref]})
    assert stolen.status_code == 422
    rid = client.post("/api/v1/forms/report/records", headers=ann,
                      json={"site": "Y", "photos": [ref]}).get_json()["id"]
    url = f"/api/v1/forms/report/records/{rid}/files/photos/{ref['id']}"
    assert client.get(url, headers=eve).status_code == 403
    other = client.post("/api/v1/forms/report/records", headers=ann, json={"site": "Z"}).get_json()["id"]
    assert client.get(f"/api/v1/forms/report/records/{other}/files/photos/{ref['id']}",
                      headers=ann).status_code == 404
