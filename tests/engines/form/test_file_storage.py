"""runtime/files.py: uploads stored under generated names, recorded in jimu_files, checked by their widget."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
import sqlalchemy as sa


def test_save_stores_under_a_generated_name(app, jimu):
    from runtime import db, files
    with app.app_context(), jimu.begin() as conn:
        ref = files.save(io.BytesIO(b"hello"), "../../etc/报告.pdf", "application/pdf", conn=conn, user_id=None,
                         now=jimu.now())
        row = conn.execute(sa.select(db.files).where(db.files.c.id == ref["id"])).one()
    assert ref == {"id": ref["id"], "name": "报告.pdf", "size": 5, "type": "application/pdf"}
    path = files.file_path(app.config["UPLOAD_DIR"], ref["id"])
    assert path.read_bytes() == b"hello" and path.name == ref["id"]
    assert Path(app.config["UPLOAD_DIR"]) in path.parents
    assert row.sha256 == hashlib.sha256(b"hello").hexdigest() and row.size == 5
    with pytest.raises(Exception):
        files.file_path(app.config["UPLOAD_DIR"], "../x")


def test_too_large_is_refused_and_leaves_nothing(app, jimu):
    from runtime import files
    with app.app_context(), jimu.begin() as conn:
        with pytest.raises(files.FileTooLarge):
            files.save(io.BytesIO(b"x" * 1000), "big.bin", None, conn=conn, max_size=100)
    leftovers = [p for p in Path(app.config["UPLOAD_DIR"]).rglob("*") if p.is_file()]
    assert leftovers == []


def test_save_uploads_then_clean_through_the_form(app, jimu):
    from werkzeug.datastructures import FileStorage, MultiDict
    from engines.form import compile_form
    from runtime import db, files
    spec = compile_form({"key": "t", "fields": [
        {"key": "docs", "label": "Docs", "widget": "attachment", "config": {"accept": [".pdf"], "max_size": 50}}]})
    f = spec.fields[0]
    posted = MultiDict([("docs", FileStorage(io.BytesIO(b"%PDF-1"), filename="a.pdf", content_type="application/pdf")),
                        ("docs", FileStorage(io.BytesIO(b"MZ"), filename="b.exe", content_type="application/x-msdownload")),
                        ("docs", FileStorage(io.BytesIO(b"x" * 60), filename="c.pdf", content_type="application/pdf"))])
    data = {"docs": f.widget.value_from_formdata(MultiDict(), posted, "docs")}
    with app.app_context(), jimu.begin() as conn:
        errors = files.save_uploads(spec, data, conn=conn, upload_dir=app.config["UPLOAD_DIR"])
        assert sorted(e["code"] for e in errors) == ["form.file_too_large", "form.file_type"]
        stored = conn.execute(sa.select(db.files.c.id)).scalars().all()
        assert stored == [data["docs"][0]["id"]]
    result = spec.clean(data)
    assert result.ok and result.values["docs"][0]["name"] == "a.pdf"
