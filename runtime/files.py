"""Uploaded files: the container's ``files`` service (``Files``), over one file store.

``Files.save`` streams an upload into the file store (``runtime.filestore``: the local folder or the
database, by ``FILE_STORE``) under a generated id (never the user's file name), hashing and
measuring it on the way, records it in ``jimu_files`` and returns the reference that file widgets
keep as their value: ``{id, name, size, type}``. ``save_uploads`` replaces the pending uploads an
HTML form posted (see ``engines.form.widgets.files.PendingUpload``) with such references, checking
each against its widget's type and size limits. The bytes belong to the write transaction that
recorded them: if it rolls back (a refused submission) they go too. ``check_references`` lets a
record take only files it already holds or fresh, unclaimed uploads of the same submitter, and
``claim`` gives the new ones to the record, so no one can attach (and then download) another
record's file by its id. ``send_record_file`` serves a file of a record the caller has already read
(the record read is the permission check), for the page and the API download routes alike,
streamed from whichever store holds it.
"""
from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import datetime, timezone
from typing import Any, BinaryIO, Mapping

import sqlalchemy as sa

from engines.form.exceptions import FieldError

from . import db
from .memo import once
from .filestore import FileMissing, FileStore, FileTooLarge

__all__ = ["Files", "FileTooLarge", "MAX_UPLOAD", "safe_name", "check_references", "claim", "send_record_file"]

#: hard ceiling whatever a widget allows
MAX_UPLOAD = 512 * 1024 * 1024


def safe_name(filename: str | None) -> str:
    """The display name kept for a file: no directories, no control characters, at most 200 characters."""
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().lstrip(".")
    return name[:200] or "file"


def _refs(fields, values: Mapping[str, Any] | None) -> list[tuple[str, dict]]:
    """(field key, reference) of every file in ``values``, sub-table rows included."""
    out: list[tuple[str, dict]] = []
    values = values or {}
    for f in once(fields, _file_fields):
        value = values.get(f.key)
        if f.children is not None:
            for row in value if isinstance(value, list) else ():
                out += [(f"{f.key}.{k}", r) for k, r in _refs(f.children.fields, row if isinstance(row, Mapping) else {})]
        elif getattr(f.widget, "accepts_files", False) and isinstance(value, list):
            out += [(f.key, r) for r in value if isinstance(r, dict) and isinstance(r.get("id"), str)]
    return out


def _file_fields(fields) -> tuple:
    """The fields that can hold files (file widgets, sub-tables), worked out once per form: a write
    looks for files several times, most forms' fields hold none."""
    return tuple(f for f in fields if f.children is not None or getattr(f.widget, "accepts_files", False))


def check_references(conn: sa.Connection, spec, values: dict[str, Any], before: Mapping[str, Any] | None, *,
                     user_id: int | None) -> list[dict[str, Any]]:
    """Coded errors for files in ``values`` the record may not take; fixes the accepted references.

    A record keeps the files it already holds; any other reference must be a stored upload of the
    same submitter (``user_id``; None is the anonymous public form or e-mail intake, which save and
    write in one request) that no record has claimed yet. Name, size and type are taken from the
    stored file, never from what was sent."""
    held = {r["id"] for _, r in _refs(spec.fields, before)}
    new = [(key, ref) for key, ref in _refs(spec.fields, values) if ref["id"] not in held]
    if not new:
        return []
    f = db.files.c
    owner = f.uploaded_by.is_(None) if user_id is None else f.uploaded_by == user_id
    rows = {r.id: r for r in conn.execute(sa.select(db.files).where(
        f.id.in_({ref["id"] for _, ref in new}), owner, f.record_id.is_(None)))}
    errors = []
    for key, ref in new:
        row = rows.get(ref["id"])
        if row is None:
            errors.append({"code": "form.file_not_yours", "field": key.split(".")[0], "file": ref["id"],
                           "message": "this file is not one you uploaded for this record; upload it again / "
                                      "只能引用您为此记录上传的文件，请重新上传"})
        else:
            ref.update(name=row.name, size=row.size, type=row.content_type or "application/octet-stream")
    return errors


def claim(conn: sa.Connection, spec, form_key: str, record_id: int, values: Mapping[str, Any]) -> None:
    """Mark the files of ``values`` not yet held by a record as belonging to this one."""
    ids = {r["id"] for _, r in _refs(spec.fields, values)}
    if ids:
        conn.execute(sa.update(db.files).where(db.files.c.id.in_(ids), db.files.c.record_id.is_(None))
                     .values(form_key=form_key, record_id=record_id))


def send_record_file(conn: sa.Connection, files: "Files", value: Any, file_id: str):
    """A download of ``file_id``, only if ``value`` (a record's field, as the caller may read it)
    holds that file; streamed from the file store under its stored name, never inline. Anything
    else is a 404."""
    from flask import abort, send_file
    refs = value if isinstance(value, list) else [value]
    if not any(isinstance(r, dict) and r.get("id") == file_id for r in refs):
        abort(404)
    row = conn.execute(sa.select(db.files).where(db.files.c.id == file_id)).first()
    if row is None:
        abort(404)
    try:
        stream = files.store.open(file_id)
    except FileMissing:
        abort(404)
    resp = send_file(stream, as_attachment=True, download_name=row.name,
                     mimetype=row.content_type or "application/octet-stream", etag=row.sha256)
    if resp.content_length is None:
        resp.content_length = row.size
    return resp


class Files:
    """The container's ``files``: saves uploads into the deployment's file store (``store``, built
    from ``FILE_STORE``) and records them in ``jimu_files``. Callers never name the store."""

    def __init__(self, store: FileStore):
        self.store = store

    def save(self, stream: BinaryIO, filename: str | None, content_type: str | None, *, conn: sa.Connection,
             max_size: int | None = None, user_id: int | None = None, now: datetime | None = None) -> dict[str, Any]:
        """Store ``stream`` under a generated id; returns ``{id, name, size, type}``.

        The bytes and the ``jimu_files`` row are written in ``conn``'s transaction: both are gone if
        it rolls back. A file over ``max_size`` (or ``MAX_UPLOAD``) raises ``FileTooLarge`` and
        leaves nothing."""
        limit = min(max_size or MAX_UPLOAD, MAX_UPLOAD)
        file_id = uuid.uuid4().hex
        try:
            size, sha256 = self.store.put(conn, file_id, stream, limit)
        except FileTooLarge as exc:
            exc.context["name"] = safe_name(filename)
            raise
        ref = {"id": file_id, "name": safe_name(filename), "size": size,
               "type": (content_type or "application/octet-stream")[:200]}
        conn.execute(sa.insert(db.files).values(id=file_id, name=ref["name"], content_type=ref["type"], size=size,
                                                sha256=sha256, uploaded_by=user_id,
                                                uploaded_at=now or datetime.now(timezone.utc)))
        return ref

    def save_uploads(self, spec, data: dict[str, Any], *, conn: sa.Connection, user_id: int | None = None,
                     now: datetime | None = None) -> list[dict[str, Any]]:
        """Save the pending uploads in ``data`` (from ``value_from_formdata``) in place; returns coded
        errors. Each upload is checked against its widget (type before saving, size while saving); a
        refused upload is dropped from the value and reported."""
        errors: list[dict[str, Any]] = []
        for f in spec.input_fields:
            if not getattr(f.widget, "accepts_files", False) or not isinstance(data.get(f.key), list):
                continue
            kept = []
            for item in data[f.key]:
                upload = item.get("upload") if isinstance(item, dict) else None
                if upload is None:
                    kept.append(item)
                    continue
                name = safe_name(getattr(upload, "filename", None))
                ctype = getattr(upload, "mimetype", None) or getattr(upload, "content_type", None)
                try:
                    f.widget.check_upload(name, ctype, None)
                    kept.append(self.save(upload.stream, name, ctype, conn=conn, max_size=f.widget.max_size,
                                          user_id=user_id, now=now))
                except (FieldError, FileTooLarge) as exc:
                    errors.append({**exc.to_dict(), "field": f.key, "label": f.label_text()})
            data[f.key] = kept
        return errors

    def delete(self, conn: sa.Connection, file_ids) -> None:
        """Forget files: their rows now, their bytes once ``conn``'s transaction commits."""
        ids = sorted(set(file_ids))
        if ids:
            conn.execute(sa.delete(db.files).where(db.files.c.id.in_(ids)))
            self.store.delete(conn, ids)
