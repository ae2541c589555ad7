"""``jimu files move``: copy every recorded file from one store to the other, checking each copy.

Every file of ``jimu_files`` is taken in id order, each in a transaction of its own: a file the
target already holds with the recorded SHA-256 is skipped, any other is streamed from the source
into the target and its checksum compared with the recorded one before the copy commits (a
mismatch rolls that copy back and is reported). So the command can be stopped at any point and run
again: it resumes where it stopped and never copies a file twice. With ``delete_source`` a file is
removed from the source once its verified copy is committed. Switch ``FILE_STORE`` to the target
once every file is there (the command says so).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import sqlalchemy as sa

from .. import db
from .base import FileMissing, FileStore, digest


@dataclass
class MoveReport:
    copied: int = 0
    already: int = 0
    #: (file id, why): missing from both stores, or a checksum that does not match the record
    failed: list[tuple[str, str]] = field(default_factory=list)


def move_files(jimu, source: FileStore, target: FileStore, *, delete_source: bool = False,
               progress: Callable[[str, str], None] = lambda file_id, what: None, batch: int = 200) -> MoveReport:
    report = MoveReport()
    after = ""
    while True:
        with jimu.read() as conn:
            rows = conn.execute(sa.select(db.files.c.id, db.files.c.size, db.files.c.sha256)
                                .where(db.files.c.id > after).order_by(db.files.c.id).limit(batch)).all()
        for row in rows:
            what = _move_one(jimu, source, target, row, delete_source)
            progress(row.id, what)
            if what == "copied":
                report.copied += 1
            elif what == "already":
                report.already += 1
            else:
                report.failed.append((row.id, what))
        if len(rows) < batch:
            return report
        after = rows[-1].id


def _move_one(jimu, source: FileStore, target: FileStore, row, delete_source: bool) -> str:
    if target.has(row.id) and digest(target, row.id) == (row.size, row.sha256):
        if delete_source and source.has(row.id):
            with jimu.begin() as conn:
                source.delete(conn, [row.id])
        return "already"
    try:
        stream = source.open(row.id)
    except FileMissing:
        return "missing from both stores"
    try:
        with jimu.begin() as conn, stream:
            size, sha256 = target.put(conn, row.id, stream)
            if (size, sha256) != (row.size, row.sha256):
                raise _Mismatch(f"checksum mismatch: the source holds {size} bytes with SHA-256 {sha256}, "
                                f"jimu_files records {row.size} bytes with {row.sha256}")
            if delete_source:
                source.delete(conn, [row.id])
    except _Mismatch as exc:
        return str(exc)
    return "copied"


class _Mismatch(Exception):
    pass
