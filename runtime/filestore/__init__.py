"""Where the bytes of uploaded files live: one interface, two stores, chosen by ``FILE_STORE``.

- ``folder`` (the default; the embedded SQLite deployment's): each file under ``UPLOAD_DIR`` as
  ``<id[:2]>/<id>``. Several web hosts would need that folder shared.
- ``database``: the bytes in the database itself, in rows of at most ``CHUNK`` bytes
  (``jimu_file_chunks``), so every web process on every host serves every file with no shared disk
  (meant for PostgreSQL; it works on SQLite too).

Both stream both ways: a file is written and read ``CHUNK`` bytes at a time, never held whole in
memory. A file's name, type, size, owner and SHA-256 stay in ``jimu_files`` (``runtime.files``)
whichever store holds its bytes. ``jimu files move --to database`` (or ``--to folder``) copies
existing files from one store to the other (``runtime.filestore.move``).

The interface every store keeps (and all a caller, a backup or the move command may use):

``put(conn, file_id, stream, limit=None) -> (size, sha256)``
    write (or replace) the bytes; they belong to ``conn``'s transaction: gone if it rolls back.
    Over ``limit`` bytes: ``FileTooLarge``, and nothing is kept.
``open(file_id) -> BinaryIO``
    a readable, streaming file object; ``FileMissing`` when the store has no such file.
``delete(conn, file_ids)``
    removed once ``conn``'s transaction commits (kept if it rolls back).
``has(file_id) -> bool`` and ``ids() -> Iterator[str]``
    what the store holds, for a backup or the move command to iterate.
``local_path(file_id) -> Path``
    a file on this host's disk with the bytes, for readers that must seek (spreadsheet imports):
    the folder store's own file; the database store's copy in a local cache folder (a stored file
    never changes, so the copy stays valid).
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import sqlalchemy as sa

from .base import CHUNK, FileMissing, FileStore, FileTooLarge, UnknownFileStore, check_id, digest
from .database import DatabaseStore
from .folder import FolderStore

__all__ = ["CHUNK", "FileMissing", "FileStore", "FileTooLarge", "UnknownFileStore", "check_id", "digest",
           "DatabaseStore", "FolderStore", "STORES", "store_for"]

#: the value of ``FILE_STORE`` → how to build that store from the settings and the engine
STORES = {
    "folder": lambda config, engine: FolderStore(config["UPLOAD_DIR"]),
    "database": lambda config, engine: DatabaseStore(engine, cache=Path(config["UPLOAD_DIR"]) / ".cache"),
}


def store_for(config: Mapping, engine: sa.Engine, name: str | None = None) -> FileStore:
    """The store named ``name`` (default: the ``FILE_STORE`` setting, ``folder`` when unset)."""
    name = (name or config.get("FILE_STORE") or "folder").strip().lower()
    try:
        make = STORES[name]
    except KeyError:
        raise UnknownFileStore(f"FILE_STORE={name!r} is not a file store; set JIMU_FILE_STORE to "
                               f"{' or '.join(sorted(STORES))}", store=name) from None
    return make(config, engine)
