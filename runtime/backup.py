"""Backup and restore of one installation: ``jimu backup FILE`` / ``jimu restore FILE``.

A backup is one zip archive:

- ``manifest.json``: format and its version, the Jimu version and schema revision (the Alembic head)
  that wrote it, the database kind it came from, when, the installed app versions, and for every
  member its size and SHA-256 — plus the id counters (PostgreSQL sequences, SQLite's
  ``sqlite_sequence``) so a restored installation never hands out an id the original already used;
- ``tables/<name>.jsonl``: every row of every platform table (users, roles, apps and their versions,
  forms, flows and their running instances, tasks, pending timers and jobs, rules, audit log, recycle
  bin ...) and of every form's tables (records, sub-table rows, multi-values), one ``typed_json``
  object per line, so dates, decimals and bytes come back exact on either database kind;
- ``files/<id>``: the bytes of every stored file (``jimu_files``), read through the file store.

It is taken online: every table is read in one snapshot transaction (REPEATABLE READ, read only, on
PostgreSQL; a read transaction on SQLite, which in WAL mode sees one snapshot while writers go on),
so it is consistent without stopping the writers. Files are immutable once stored, so reading their
bytes after the snapshot gives the snapshot's files.

``restore`` writes an archive into an *empty* database of either kind (SQLite ↔ PostgreSQL): it checks
every checksum first and refuses a corrupt archive (``backup.corrupt``), one written by a newer Jimu or
schema (``backup.newer_schema``) or an older schema (``backup.older_schema``: restore it with the
Jimu that wrote it, then upgrade), or a database that already holds an installation
(``backup.target_not_empty``). Then it migrates the schema, loads the platform tables, creates the
form tables from the restored catalogue (``store.build_form_table``, indexes as publishing made them),
loads the records, sets the id counters and writes the files. Rows of retired fields and forms (kept
in their columns by publishing, but no longer part of any form) are not carried; the manifest lists
them (``not_carried``).
"""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import datetime
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any, Iterator, Mapping

import sqlalchemy as sa

from engines.errors import JimuError

from . import db, typed_json
from .store import Catalog

FORMAT = "jimu.backup"
FORMAT_VERSION = 1
BATCH = 1000
#: platform tables never copied: the schema version is the manifest's, the restore migrates it; the
#: database file store's rows travel as ``files/<id>`` members, like the folder store's files
SKIP = frozenset({"alembic_version", "jimu_alembic_version", "jimu_file_chunks"})


class BackupError(JimuError):
    code = "backup.failed"
    status = 400


class CorruptArchive(BackupError):
    code = "backup.corrupt"


class NewerArchive(BackupError):
    code = "backup.newer_schema"


class OlderArchive(BackupError):
    code = "backup.older_schema"


class TargetNotEmpty(BackupError):
    code = "backup.target_not_empty"
    status = 409


def jimu_version() -> str:
    return dist_version("jimu")


def _platform_tables(conn: sa.Connection) -> list[sa.Table]:
    """The platform tables of ``runtime.db.metadata`` this database has, parents before children."""
    from . import services  # noqa: F401  (imports every module that declares a platform table)
    present = set(sa.inspect(conn).get_table_names())
    return [t for t in db.metadata.sorted_tables if t.name in present and t.name not in SKIP]


def _form_tables(conn: sa.Connection) -> tuple[Catalog, list[sa.Table]]:
    """The installed forms' tables as publishing built them: every main table first, then the
    sub-table and multi-value tables (which reference them). Links between main tables may form
    cycles (a client's latest order, an order's client): ``restore`` fills them in a second pass."""
    catalog = Catalog()
    catalog.refresh(conn, force=True)
    mains = [ft.table for ft in catalog]
    children = [t for ft in catalog for t in [*(m.table for m in ft.multi.values()),
                                               *(c.table for c in ft.children.values())]]
    return catalog, mains + children


def _not_carried(conn: sa.Connection) -> dict[str, Any]:
    f, ff = db.forms.c, db.form_fields.c
    return {"retired_forms": sorted(conn.execute(sa.select(f.key).where(f.status != "active")).scalars()),
            "retired_fields": [f"{form}.{field}" for form, field in conn.execute(
                sa.select(f.key, ff.key).join(db.forms, db.forms.c.id == ff.form_id)
                .where(ff.status != "active", f.status == "active").order_by(f.key, ff.key))]}


# -- id counters ---------------------------------------------------------------------------------
def _has_int_id(table: sa.Table) -> bool:
    return "id" in table.c and isinstance(table.c.id.type, sa.Integer)


def _counters(conn: sa.Connection, tables: list[sa.Table]) -> dict[str, int]:
    """Table → the last id handed out (sequences and AUTOINCREMENT never go back)."""
    out: dict[str, int] = {}
    names = [t.name for t in tables if _has_int_id(t)]
    if conn.dialect.name == "postgresql":
        for name in names:
            seq = conn.execute(sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": name}).scalar()
            if seq:
                last, called = conn.execute(sa.text(f"SELECT last_value, is_called FROM {seq}")).one()
                out[name] = int(last) if called else int(last) - 1
    else:
        if conn.execute(sa.text("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")).first():
            out = {n: int(s) for n, s in conn.execute(sa.text("SELECT name, seq FROM sqlite_sequence"))
                   if n in names}
    return out


def _set_counters(conn: sa.Connection, tables: list[sa.Table], counters: Mapping[str, int]) -> None:
    for t in tables:
        if not _has_int_id(t):
            continue
        top = max(int(counters.get(t.name, 0)), conn.execute(sa.select(sa.func.max(t.c.id))).scalar() or 0)
        if conn.dialect.name == "postgresql":
            seq = conn.execute(sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": t.name}).scalar()
            if seq:
                conn.execute(sa.text("SELECT setval(:s, :v, :called)"),
                             {"s": seq, "v": max(top, 1), "called": top > 0})
        elif top and conn.execute(sa.text("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")).first():
            if conn.execute(sa.text("UPDATE sqlite_sequence SET seq=:v WHERE name=:n"),
                            {"v": top, "n": t.name}).rowcount == 0 and _autoincrement(conn, t.name):
                conn.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:n, :v)"),
                             {"n": t.name, "v": top})


def _autoincrement(conn: sa.Connection, name: str) -> bool:
    sql = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE type='table' AND name=:n"), {"n": name}).scalar()
    return bool(sql and "AUTOINCREMENT" in sql.upper())


# -- writing an archive --------------------------------------------------------------------------
def _snapshot(engine: sa.Engine):
    """One read-only transaction that sees one snapshot of the whole database."""
    conn = engine.connect()
    if conn.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    else:
        conn = conn.execution_options(readonly=True)  # BEGIN (deferred): WAL readers see one snapshot
    return conn


def backup(jimu, path: str | Path) -> dict[str, Any]:
    """Write the installation to ``path`` (a zip archive); returns the manifest."""
    from .migrate import current_revision
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    members: dict[str, dict[str, Any]] = {}
    conn = _snapshot(jimu.engine)
    try:
        with conn.begin(), zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
            platform = _platform_tables(conn)
            catalog, forms = _form_tables(conn)
            counts: dict[str, int] = {}
            for table in [*platform, *forms]:
                counts[table.name] = _write_table(conn, zf, table, members)
            counters = _counters(conn, [*platform, *forms])
            apps = [dict(key=r.key, version=r.version) for r in conn.execute(
                sa.select(db.apps.c.key, db.apps.c.version).order_by(db.apps.c.key))]
            file_rows = list(conn.execute(sa.select(db.files.c.id, db.files.c.sha256, db.files.c.size)))
            not_carried = _not_carried(conn)
            revision = _revision(conn)
            missing = []
            for row in file_rows:
                if not _write_file(jimu, zf, row, members):
                    missing.append(row.id)
            manifest = {
                "format": FORMAT, "format_version": FORMAT_VERSION, "jimu_version": jimu_version(),
                "schema_revision": revision or current_revision(jimu.engine), "dialect": conn.dialect.name,
                "created_at": jimu.now().isoformat(), "apps": apps,
                "platform_tables": [t.name for t in platform], "form_tables": [t.name for t in forms],
                "rows": counts, "records": {ft.key: counts.get(ft.table.name, 0) for ft in catalog},
                "files": len(file_rows) - len(missing), "missing_files": missing,
                "counters": counters, "not_carried": not_carried, "members": members}
            zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        conn.close()
    tmp.replace(path)
    return manifest


def _revision(conn: sa.Connection) -> str | None:
    from .migrate import VERSION_TABLE
    try:
        return conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    except sa.exc.DBAPIError:
        return None


def _write_table(conn: sa.Connection, zf: zipfile.ZipFile, table: sa.Table, members: dict) -> int:
    name = f"tables/{table.name}.jsonl"
    digest, size, n = hashlib.sha256(), 0, 0
    order = [table.c.id] if "id" in table.c else list(table.primary_key.columns) or list(table.c)
    with zf.open(name, "w", force_zip64=True) as out:
        for row in conn.execution_options(yield_per=BATCH).execute(sa.select(table).order_by(*order)).mappings():
            line = (json.dumps(typed_json.encode(dict(row)), ensure_ascii=False, separators=(",", ":")) + "\n"
                    ).encode()
            digest.update(line)
            size += len(line)
            out.write(line)
            n += 1
    members[name] = {"sha256": digest.hexdigest(), "size": size, "rows": n}
    return n


def _write_file(jimu, zf: zipfile.ZipFile, row, members: dict) -> bool:
    store = jimu.services.files.store
    if not store.has(row.id):
        return False
    name = f"files/{row.id}"
    digest, size = hashlib.sha256(), 0
    with store.open(row.id) as fh, zf.open(name, "w", force_zip64=True) as out:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    members[name] = {"sha256": digest.hexdigest(), "size": size}
    return True


# -- reading an archive --------------------------------------------------------------------------
def read_manifest(path: str | Path, *, expect: str = FORMAT) -> dict[str, Any]:
    """The manifest of a checked archive (a backup, or ``expect``: an app's data): every member
    present with its size and checksum; ``CorruptArchive`` otherwise."""
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(zf.read("manifest.json"))
            if manifest.get("format") != expect:
                raise CorruptArchive(f"{path} is not a Jimu {expect} archive", file=str(path))
            for name, meta in manifest.get("members", {}).items():
                digest, size = hashlib.sha256(), 0
                with zf.open(name) as fh:
                    while chunk := fh.read(1 << 20):
                        digest.update(chunk)
                        size += len(chunk)
                if digest.hexdigest() != meta["sha256"] or size != meta["size"]:
                    raise CorruptArchive(f"{name} in {path} does not match its checksum; the archive is damaged — "
                                         "use another backup", file=str(path), member=name)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError, zlib_error()) as exc:
        raise CorruptArchive(f"{path} is damaged or not a Jimu backup ({type(exc).__name__}: {exc}); use another "
                             "backup", file=str(path)) from None
    return manifest


def zlib_error():
    import zlib
    return zlib.error


def check_compatible(manifest: Mapping[str, Any]) -> None:
    """Refuse an archive this Jimu cannot restore as it is, saying what to do instead."""
    from .migrate import head_revision, known_revisions
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise NewerArchive(f"the archive's format {manifest['format_version']} is newer than this Jimu reads "
                           f"({FORMAT_VERSION}); restore it with Jimu {manifest.get('jimu_version')} or later",
                           archive=manifest.get("format_version"), supported=FORMAT_VERSION)
    rev, head = manifest.get("schema_revision"), head_revision()
    if rev == head:
        return
    if rev not in known_revisions():
        raise NewerArchive(f"the archive was written by Jimu {manifest.get('jimu_version')} at schema {rev!r}, "
                           f"newer than this Jimu ({jimu_version()}, schema {head}); upgrade Jimu first",
                           archive=rev, head=head)
    raise OlderArchive(f"the archive is at schema {rev!r}, this Jimu is at {head}; restore it with the Jimu "
                       f"version that wrote it ({manifest.get('jimu_version')}), then upgrade that installation",
                       archive=rev, head=head)


def _rows(zf: zipfile.ZipFile, name: str) -> Iterator[dict]:
    with zf.open(f"tables/{name}.jsonl") as fh:
        for line in io.TextIOWrapper(fh, encoding="utf-8"):
            if line.strip():
                yield typed_json.decode(json.loads(line))


def _insert_all(conn: sa.Connection, zf: zipfile.ZipFile, table: sa.Table, *, later: tuple = ()):
    """Insert the archived rows of ``table``; returns (rows written, the link values held back)."""
    return _insert_rows(conn, table, _rows(zf, table.name), later=later)


def _insert_rows(conn: sa.Connection, table: sa.Table, rows, *, later: tuple = ()) -> tuple[int, list]:
    """Insert ``rows`` in batches with the columns ``later`` (links to other records) left empty;
    returns (how many, the held-back values) for ``_link`` once every record they may point at exists."""
    n, batch, links = 0, [], []
    for row in rows:
        values = db.known_values(table, row)
        held = {c: values[c] for c in later if values.get(c) is not None}
        for c in held:
            values[c] = None
        if held:
            links.append((values["id"], held))
        batch.append(values)
        if len(batch) >= BATCH:
            conn.execute(sa.insert(table), batch)
            n += len(batch)
            batch = []
    if batch:
        conn.execute(sa.insert(table), batch)
        n += len(batch)
    return n, links


def _link(conn: sa.Connection, table: sa.Table, links: list) -> None:
    """Write the link values ``_insert_rows`` held back (one executemany per set of columns)."""
    by_cols: dict[tuple, list[dict]] = {}
    for rid, held in links:
        by_cols.setdefault(tuple(sorted(held)), []).append({"_id": rid, **{f"v_{c}": v for c, v in held.items()}})
    for cols, params in by_cols.items():
        stmt = sa.update(table).where(table.c.id == sa.bindparam("_id")).values(
            {c: sa.bindparam(f"v_{c}") for c in cols})
        for i in range(0, len(params), BATCH):
            conn.execute(stmt, params[i:i + BATCH])


def _installed(conn: sa.Connection) -> bool:
    names = set(sa.inspect(conn).get_table_names())
    for table in (db.users, db.forms, db.apps):
        if table.name in names and conn.execute(sa.select(sa.func.count()).select_from(table)).scalar():
            return True
    return False


def restore(jimu, path: str | Path) -> dict[str, Any]:
    """Restore the archive at ``path`` into ``jimu``'s empty database and file store (see the module)."""
    from .migrate import upgrade
    from .store.evolve import ensure_indexes
    manifest = read_manifest(path)
    check_compatible(manifest)
    with jimu.engine.connect() as conn:
        if _installed(conn):
            raise TargetNotEmpty(f"the database {jimu.engine.url.render_as_string(hide_password=True)} already "
                                 "holds an installation; restore into an empty database", )
    upgrade(jimu.engine)
    counts: dict[str, int] = {}
    with zipfile.ZipFile(path) as zf, jimu.engine.begin() as conn:
        platform = _platform_tables(conn)
        known = {t.name for t in platform}
        for table in reversed(platform):  # what the migrations seeded makes way for the archive's rows
            conn.execute(sa.delete(table))
        for table in platform:
            if table.name in manifest["platform_tables"]:
                counts[table.name] = _insert_all(conn, zf, table)[0]
        missing = [n for n in manifest["platform_tables"] if n not in known]
        if missing:
            raise BackupError(f"this database has no table {missing[0]!r} the archive holds rows of",
                              tables=missing)
        catalog, forms = _form_tables(conn)
        meta = forms[0].metadata if forms else sa.MetaData()
        meta.create_all(conn, tables=forms)
        indexed = _indexed(conn)
        for ft in catalog:
            ensure_indexes(conn, ft, {f.key for f in ft.spec.fields if f.filterable} | indexed.get(ft.key, set()))
        mains = {ft.table.name for ft in catalog}
        held = []
        for table in forms:  # main tables first (links held back), then sub-table and multi-value tables
            if table.name in manifest["form_tables"]:
                if table.name in mains:
                    counts[table.name], links = _insert_all(conn, zf, table, later=tuple(
                        c.name for c in table.c if c.foreign_keys))
                    held.append((table, links))
                    continue
                if held:
                    for main, links in held:
                        _link(conn, main, links)
                    held = []
                counts[table.name] = _insert_all(conn, zf, table)[0]
        for main, links in held:
            _link(conn, main, links)
        _set_counters(conn, [*platform, *forms], manifest.get("counters", {}))
        _restore_files(jimu, conn, zf, manifest)
    expected = manifest["rows"]
    wrong = {k: (counts.get(k), v) for k, v in expected.items() if counts.get(k) != v}
    if wrong:  # cannot happen with a checked archive; a restore that lost rows must not pass silently
        raise BackupError(f"restored row counts differ from the archive: {wrong}", tables=sorted(wrong))
    return {"manifest": manifest, "rows": counts}


def _indexed(conn: sa.Connection) -> dict[str, set[str]]:
    """The extra indexes the installed packages ask for (what ``installer.install`` passes to publishing)."""
    from .installer import indexed_fields
    out: dict[str, set[str]] = {}
    for data in conn.execute(sa.select(db.apps.c.package)).scalars():
        for k, v in indexed_fields(data or {}).items():
            out.setdefault(k, set()).update(v)
    return out


def _restore_files(jimu, conn: sa.Connection, zf: zipfile.ZipFile, manifest: Mapping[str, Any]) -> None:
    """Into whichever file store this configuration uses, in the restore's transaction."""
    for name in manifest.get("members", {}):
        if not name.startswith("files/"):
            continue
        with zf.open(name) as src:
            jimu.services.files.store.put(conn, name.split("/", 1)[1], src)
