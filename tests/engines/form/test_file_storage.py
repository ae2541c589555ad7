"""runtime/files.py: uploads stored under generated names, recorded in jimu_files, checked by their
widget — in the folder store (the default) and the database store alike."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
import sqlalchemy as sa


@pytest.fixture(params=["folder", "database"])
def store(request, jimu):
    """The files service on each file store (what FILE_STORE chooses)."""
    from runtime.files import Files
    from runtime.filestore import store_for
    return Files(store_for(jimu.config, jimu.engine, request.param))


def test_save_stores_under_a_generated_name(app, jimu, store):
    from runtime import db
    with jimu.begin() as conn:
        ref = store.save(io.BytesIO(b"hello"), "../../etc/报告.pdf", "application/pdf", conn=conn, user_id=None,
                         now=jimu.now())
        row = conn.execute(sa.select(db.files).where(db.files.c.id == ref["id"])).one()
    assert ref == {"id": ref["id"], "name": "报告.pdf", "size": 5, "type": "application/pdf"}
    with store.store.open(ref["id"]) as f:
        assert f.read() == b"hello"
    if store.store.name == "folder":
        path = Path(app.config["UPLOAD_DIR"]) / ref["id"][:2] / ref["id"]
        assert path.read_bytes() == b"hello"
    assert row.sha256 == hashlib.sha256(b"hello").hexdigest() and row.size == 5
    with pytest.raises(Exception):
        store.store.open("../x")


def test_too_large_is_refused_and_leaves_nothing(app, jimu, store):
    from runtime import db, files
    with jimu.begin() as conn:
        with pytest.raises(files.FileTooLarge):
            store.save(io.BytesIO(b"x" * 1000), "big.bin", None, conn=conn, max_size=100)
    leftovers = [p for p in Path(app.config["UPLOAD_DIR"]).rglob("*") if p.is_file()]
    assert leftovers == [] and list(store.store.ids()) == []
    with jimu.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.file_chunks)).scalar() == 0


def test_a_rolled_back_save_leaves_no_bytes(jimu, store):
    with pytest.raises(RuntimeError):
        with jimu.begin() as conn:
            ref = store.save(io.BytesIO(b"kept?"), "a.txt", "text/plain", conn=conn)
            raise RuntimeError("the submission was refused")
    assert not store.store.has(ref["id"]) and list(store.store.ids()) == []


def test_save_uploads_then_clean_through_the_form(app, jimu, store):
    from werkzeug.datastructures import FileStorage, MultiDict
    from engines.form import compile_form
    from runtime import db
    spec = compile_form({"key": "t", "fields": [
        {"key": "docs", "label": "Docs", "widget": "attachment", "config": {"accept": [".pdf"], "max_size": 50}}]})
    f = spec.fields[0]
    posted = MultiDict([("docs", FileStorage(io.BytesIO(b"%PDF-1"), filename="a.pdf", content_type="application/pdf")),
                        ("docs", FileStorage(io.BytesIO(b"MZ"), filename="b.exe", content_type="application/x-msdownload")),
                        ("docs", FileStorage(io.BytesIO(b"x" * 60), filename="c.pdf", content_type="application/pdf"))])
    data = {"docs": f.widget.value_from_formdata(MultiDict(), posted, "docs")}
    with jimu.begin() as conn:
        errors = store.save_uploads(spec, data, conn=conn)
        assert sorted(e["code"] for e in errors) == ["form.file_too_large", "form.file_type"]
        stored = conn.execute(sa.select(db.files.c.id)).scalars().all()
        assert stored == [data["docs"][0]["id"]]
    assert list(store.store.ids()) == stored  # the refused one left no bytes behind
    result = spec.clean(data)
    assert result.ok and result.values["docs"][0]["name"] == "a.pdf"


def test_a_local_path_for_readers_that_seek_and_none_left_after_a_delete(jimu, store):
    with jimu.begin() as conn:
        ref = store.save(io.BytesIO(b"a,b\n1,2\n"), "t.csv", "text/csv", conn=conn)
    path = store.store.local_path(ref["id"])
    assert path.read_bytes() == b"a,b\n1,2\n"
    with jimu.begin() as conn:
        store.delete(conn, [ref["id"]])
    assert not path.exists() and not store.store.has(ref["id"])
