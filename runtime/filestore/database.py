"""The database store: a file's bytes as rows of at most ``CHUNK`` bytes in ``jimu_file_chunks``
(file id, sequence number, data). Written in the caller's transaction (a savepoint, so a file over
its limit leaves no rows), read back one row per query, so neither side holds a whole file."""
from __future__ import annotations

import hashlib
import io
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

import sqlalchemy as sa

from .. import db
from .base import CHUNK, FileMissing, check_id, too_large
from .folder import on_end

chunks = db.file_chunks


class DatabaseStore:
    name = "database"

    def __init__(self, engine: sa.Engine, cache: str | os.PathLike):
        self.engine, self.cache = engine, Path(cache)

    def put(self, conn: sa.Connection, file_id: str, stream: BinaryIO, limit: int | None = None) -> tuple[int, str]:
        check_id(file_id)
        h, size, seq = hashlib.sha256(), 0, 0
        with conn.begin_nested():
            conn.execute(sa.delete(chunks).where(chunks.c.file_id == file_id))  # put replaces
            while True:
                data = _read_full(stream, CHUNK)
                size += len(data)
                if limit is not None and size > limit:
                    raise too_large(limit)
                if data or seq == 0:  # an empty file still has its (empty) first row: has() finds it
                    h.update(data)
                    conn.execute(sa.insert(chunks).values(file_id=file_id, seq=seq, data=data))
                    seq += 1
                if len(data) < CHUNK:
                    break
        return size, h.hexdigest()

    def open(self, file_id: str) -> BinaryIO:
        if not self.has(file_id):
            raise FileMissing(f"file {file_id} is not in the database store", file=file_id)
        return io.BufferedReader(_ChunkReader(self.engine, file_id), buffer_size=CHUNK)

    def delete(self, conn: sa.Connection, file_ids: Iterable[str]) -> None:
        ids = [check_id(i) for i in file_ids]
        if ids:
            conn.execute(sa.delete(chunks).where(chunks.c.file_id.in_(ids)))
        for file_id in ids:  # a purged file leaves no copy behind in this host's cache
            on_end(conn, "commit", self.cache / file_id)

    def has(self, file_id: str) -> bool:
        with _reading(self.engine) as conn:
            return conn.execute(sa.select(chunks.c.seq).where(chunks.c.file_id == check_id(file_id),
                                                              chunks.c.seq == 0)).first() is not None

    def local_path(self, file_id: str) -> Path:
        path = self.cache / check_id(file_id)
        if path.is_file():
            return path
        self.cache.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{file_id}.{os.getpid()}.part")
        try:
            with self.open(file_id) as src, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out, CHUNK)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def ids(self) -> Iterator[str]:
        after = ""
        while True:
            with _reading(self.engine) as conn:
                page = list(conn.execute(sa.select(chunks.c.file_id).where(chunks.c.seq == 0, chunks.c.file_id > after)
                                         .order_by(chunks.c.file_id).limit(500)).scalars())
            yield from page
            if len(page) < 500:
                return
            after = page[-1]


@contextmanager
def _reading(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A short read-only connection: on SQLite it does not take the write lock (``runtime.db``), so a
    file can be read while a write transaction is open, as ``jimu files move`` does."""
    with engine.connect() as conn:
        yield conn.execution_options(readonly=True)


def _read_full(stream: BinaryIO, n: int) -> bytes:
    """Up to ``n`` bytes (fewer only at the end): a request stream may hand out less per read."""
    parts, got = [], 0
    while got < n:
        part = stream.read(n - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


class _ChunkReader(io.RawIOBase):
    """Reads a stored file one chunk row at a time, each in a short query of its own (the rows of a
    stored file never change, so the reads need no common transaction)."""

    def __init__(self, engine: sa.Engine, file_id: str):
        self.engine, self.file_id = engine, file_id
        self.seq, self.buffer, self.done = 0, b"", False

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if not self.buffer and not self.done:
            with _reading(self.engine) as conn:
                data = conn.execute(sa.select(chunks.c.data).where(chunks.c.file_id == self.file_id,
                                                                   chunks.c.seq == self.seq)).scalar()
            self.seq += 1
            if data is None:
                self.done = True
            else:
                self.buffer = bytes(data)
        n = min(len(b), len(self.buffer))
        b[:n] = self.buffer[:n]
        self.buffer = self.buffer[n:]
        return n
