"""The folder store: ``UPLOAD_DIR/<id[:2]>/<id>``, written through a ``.part`` file renamed into place."""
from __future__ import annotations

import hashlib
import os
import re
import weakref
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

import sqlalchemy as sa

from .base import CHUNK, FileMissing, check_id, too_large


class FolderStore:
    name = "folder"

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, file_id: str) -> Path:
        return self.root / check_id(file_id)[:2] / file_id

    def put(self, conn: sa.Connection, file_id: str, stream: BinaryIO, limit: int | None = None) -> tuple[int, str]:
        path = self._path(file_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        h, size = hashlib.sha256(), 0
        tmp = path.with_suffix(".part")
        try:
            with open(tmp, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if limit is not None and size > limit:
                        raise too_large(limit)
                    h.update(chunk)
                    out.write(chunk)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        on_end(conn, "rollback", path)
        return size, h.hexdigest()

    def open(self, file_id: str) -> BinaryIO:
        try:
            return open(self._path(file_id), "rb")
        except FileNotFoundError:
            raise FileMissing(f"file {file_id} is not in the folder {self.root}", file=file_id) from None

    def delete(self, conn: sa.Connection, file_ids: Iterable[str]) -> None:
        for file_id in file_ids:
            on_end(conn, "commit", self._path(file_id))

    def has(self, file_id: str) -> bool:
        return self._path(file_id).is_file()

    def local_path(self, file_id: str) -> Path:
        path = self._path(file_id)
        if not path.is_file():
            raise FileMissing(f"file {file_id} is not in the folder {self.root}", file=file_id)
        return path

    def ids(self) -> Iterator[str]:
        for d in sorted(p for p in self.root.glob("??") if p.is_dir()):
            for f in sorted(d.iterdir()):
                if re.fullmatch(r"[0-9a-f]{32}", f.name):
                    yield f.name


#: connection → (paths to remove if its transaction rolls back, paths to remove once it commits)
_PENDING: "weakref.WeakKeyDictionary[sa.Connection, dict[str, list[Path]]]" = weakref.WeakKeyDictionary()


def on_end(conn: sa.Connection, event: str, path: Path) -> None:
    """Bytes on disk follow the transaction that recorded them: a refused write (invalid values, a rate
    limit, any error) rolls the ``jimu_files`` row back and the new file goes with it; a deletion
    takes the file away only once the row's deletion is committed."""
    if conn not in _PENDING:
        _PENDING[conn] = {"rollback": [], "commit": []}

        def ended(c, which):
            pending = _PENDING.pop(c, None) or {}
            for p in pending.get(which, ()):
                p.unlink(missing_ok=True)

        sa.event.listen(conn, "rollback", lambda c: ended(c, "rollback"))
        sa.event.listen(conn, "commit", lambda c: ended(c, "commit"))
    _PENDING[conn][event].append(path)
