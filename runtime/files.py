"""Uploaded files: saved under generated names, recorded in ``jimu_files``.

``save`` streams an upload to ``UPLOAD_DIR/<id[:2]>/<id>`` (never the
user's file name), hashing and measuring it on the way, and returns the
reference that file widgets keep as their value: ``{id, name, size, type}``.
``save_uploads`` replaces the pending uploads an HTML form posted (see
``engines.form.widgets.files.PendingUpload``) with such references, checking
each against its widget's type and size limits. A file saved inside a write
transaction that then rolls back (a refused submission) is deleted from disk
with it. ``check_references`` lets a record take only files it already holds or
fresh, unclaimed uploads of the same submitter, and ``claim`` gives the new ones
to the record, so no one can attach (and then download) another record's file
by its id. ``send_record_file`` serves a file of a record the caller has already read (the record
read is the permission check), for the page and the API download routes alike.
"""
from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import uuid
import weakref
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO, Mapping

import sqlalchemy as sa

from engines.form.exceptions import FieldError

from . import db
from .exceptions import JimuError

CHUNK = 64 * 1024
#: hard ceiling whatever a widget allows
MAX_UPLOAD = 512 * 1024 * 1024


class FileTooLarge(JimuError):
    code = "form.file_too_large"
    status = 413


def safe_name(filename: str | None) -> str:
    """The display name kept for a file: no directories, no control characters, at most 200 characters."""
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().lstrip(".")
    return name[:200] or "file"


def file_path(upload_dir: str | os.PathLike, file_id: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{32}", file_id or ""):
        raise JimuError("not a file id", code="file.bad_id")
    return Path(upload_dir) / file_id[:2] / file_id


def save(stream: BinaryIO, filename: str | None, content_type: str | None, *, conn: sa.Connection | None = None,
         upload_dir: str | os.PathLike | None = None, max_size: int | None = None, user_id: int | None = None,
         now: datetime | None = None) -> dict[str, Any]:
    """Store ``stream`` under a generated name; returns ``{id, name, size, type}``.

    ``conn`` and ``upload_dir`` default to the current app's (``UPLOAD_DIR``).
    A file over ``max_size`` is removed and ``FileTooLarge`` raised. The row
    in ``jimu_files`` is written on ``conn``, inside the caller's transaction.
    """
    if upload_dir is None:
        from flask import current_app
        upload_dir = current_app.config["UPLOAD_DIR"]
    limit = min(max_size or MAX_UPLOAD, MAX_UPLOAD)
    file_id = uuid.uuid4().hex
    path = file_path(upload_dir, file_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    tmp = path.with_suffix(".part")
    try:
        with open(tmp, "xb") as out:
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise FileTooLarge(f"files may be at most {limit} bytes / 文件不能超过 {limit} 字节",
                                       max_size=limit, name=safe_name(filename))
                digest.update(chunk)
                out.write(chunk)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    ref = {"id": file_id, "name": safe_name(filename), "size": size,
           "type": (content_type or "application/octet-stream")[:200]}
    if conn is None:
        from .context import current_jimu
        try:
            with current_jimu().begin() as own:
                _record(own, ref, digest.hexdigest(), user_id, now)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    else:
        _record(conn, ref, digest.hexdigest(), user_id, now)
        _unlink_on_rollback(conn, path)
    return ref


#: connection → files written in its transaction, removed from disk if it rolls back
_PENDING: "weakref.WeakKeyDictionary[sa.Connection, list[Path]]" = weakref.WeakKeyDictionary()


def _unlink_on_rollback(conn: sa.Connection, path: Path) -> None:
    """A file belongs to the transaction that recorded it: if the write is refused (invalid values,
    rate limit, any error) the row disappears with the rollback, and so must the bytes on disk."""
    if conn not in _PENDING:
        _PENDING[conn] = []

        def rolled_back(c):
            for p in _PENDING.pop(c, []):
                p.unlink(missing_ok=True)

        sa.event.listen(conn, "rollback", rolled_back)
        sa.event.listen(conn, "commit", lambda c: _PENDING.pop(c, None))
    _PENDING[conn].append(path)


def _record(conn: sa.Connection, ref: Mapping[str, Any], sha256: str, user_id: int | None,
            now: datetime | None) -> None:
    conn.execute(sa.insert(db.files).values(id=ref["id"], name=ref["name"], content_type=ref["type"],
                                            size=ref["size"], sha256=sha256, uploaded_by=user_id,
                                            uploaded_at=now or datetime.now(timezone.utc)))


def save_uploads(spec, data: dict[str, Any], *, conn: sa.Connection, upload_dir: str | os.PathLike,
                 user_id: int | None = None, now: datetime | None = None) -> list[dict[str, Any]]:
    """Save the pending uploads in ``data`` (from ``value_from_formdata``) in place; returns coded errors.

    Each upload is checked against its widget (type before saving, size while
    saving); a refused upload is dropped from the value and reported.
    """
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
                kept.append(save(upload.stream, name, ctype, conn=conn, upload_dir=upload_dir,
                                 max_size=f.widget.max_size, user_id=user_id, now=now))
            except (FieldError, FileTooLarge) as exc:
                errors.append({**exc.to_dict(), "field": f.key, "label": f.label_text()})
        data[f.key] = kept
    return errors


def _refs(fields, values: Mapping[str, Any] | None) -> list[tuple[str, dict]]:
    """(field key, reference) of every file in ``values``, sub-table rows included."""
    out: list[tuple[str, dict]] = []
    for f in fields:
        value = (values or {}).get(f.key)
        if f.children is not None:
            for row in value if isinstance(value, list) else ():
                out += [(f"{f.key}.{k}", r) for k, r in _refs(f.children.fields, row if isinstance(row, Mapping) else {})]
        elif getattr(f.widget, "accepts_files", False) and isinstance(value, list):
            out += [(f.key, r) for r in value if isinstance(r, dict) and isinstance(r.get("id"), str)]
    return out


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


def send_record_file(conn: sa.Connection, store: "LocalFolder", value: Any, file_id: str):
    """A download of ``file_id``, only if ``value`` (a record's field, as the caller may read it)
    holds that file; served under its stored name, never inline. Anything else is a 404."""
    from flask import abort, send_file
    refs = value if isinstance(value, list) else [value]
    if not any(isinstance(r, dict) and r.get("id") == file_id for r in refs):
        abort(404)
    row = conn.execute(sa.select(db.files).where(db.files.c.id == file_id)).first()
    if row is None:
        abort(404)
    return send_file(store.path(file_id), as_attachment=True, download_name=row.name,
                     mimetype=row.content_type or "application/octet-stream")


class LocalFolder:
    """The file store of the embedded default (the container's ``files``): uploads under one folder
    (``UPLOAD_DIR``), their rows in ``jimu_files``. Callers never pass the folder themselves."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, file_id: str) -> Path:
        return file_path(self.root, file_id)

    def save(self, stream: BinaryIO, filename: str | None, content_type: str | None, **kw) -> dict[str, Any]:
        return save(stream, filename, content_type, upload_dir=self.root, **kw)

    def save_uploads(self, spec, data: dict[str, Any], **kw) -> list[dict[str, Any]]:
        return save_uploads(spec, data, upload_dir=self.root, **kw)
