"""What every file store shares: the id check, the size limit, the errors and the chunk size."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, Protocol

import sqlalchemy as sa

from ..exceptions import JimuError

#: bytes written or read at a time, and the most a database chunk row holds
CHUNK = 256 * 1024


class FileTooLarge(JimuError):
    code = "form.file_too_large"
    status = 413


class FileMissing(JimuError):
    """The store has no bytes for a file id (the files were moved without switching ``FILE_STORE``,
    or the folder was not copied to this host)."""

    code = "file.missing"
    status = 404


class UnknownFileStore(JimuError):
    code = "file.unknown_store"


def check_id(file_id: str) -> str:
    """File ids are 32 hex digits (generated, never a user's name): anything else is refused."""
    if not re.fullmatch(r"[0-9a-f]{32}", file_id or ""):
        raise JimuError("not a file id", code="file.bad_id")
    return file_id


def too_large(limit: int) -> FileTooLarge:
    return FileTooLarge(f"files may be at most {limit} bytes / 文件不能超过 {limit} 字节", max_size=limit)


def digest(store: "FileStore", file_id: str) -> tuple[int, str]:
    """(size, SHA-256 hex) of what ``store`` holds for ``file_id``, read a chunk at a time."""
    h, size = hashlib.sha256(), 0
    with store.open(file_id) as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


class FileStore(Protocol):
    """See ``runtime.filestore`` for what each method promises."""

    name: str

    def put(self, conn: sa.Connection, file_id: str, stream: BinaryIO, limit: int | None = None) -> tuple[int, str]:
        ...

    def open(self, file_id: str) -> BinaryIO:
        ...

    def delete(self, conn: sa.Connection, file_ids: Iterable[str]) -> None:
        ...

    def has(self, file_id: str) -> bool:
        ...

    def ids(self) -> Iterator[str]:
        ...

    def local_path(self, file_id: str) -> Path:
        ...
