"""One app's data between installations: ``jimu export-data APP FILE`` / ``jimu import-data FILE``.

The archive (a zip, checked like a backup: ``backup.read_manifest``) holds the app's package
(``package.json``, as ``jimu export`` writes it), every record of its forms by field key
(``records/<form>.jsonl``, ``typed_json``: ids, creation stamps, sub-table rows and multi-values
included), the files those records hold (``files/<id>`` and their rows), and the names behind the
ids that do not travel: users (by username) and groups (by key). ``import_data`` installs the package
into an installation that does not have the app yet, then writes the records with their ids (links
inside the app stay as they were; a link to another app's form is kept only if that record exists
there), maps user and group fields by name (a user the target does not know becomes empty), stores
the files, and moves the id counters past the imported ids. Flows, tasks and the audit log stay
behind: the data moves, not its history (a whole installation moves with ``jimu backup``).
"""
from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any, Mapping

import sqlalchemy as sa

from . import db, files as filestore, typed_json
from .backup import BATCH, BackupError, _insert_rows, _link, _set_counters, _write_file, jimu_version, read_manifest

FORMAT = "jimu.app-data"


class AppInstalled(BackupError):
    code = "appdata.app_installed"
    status = 409


def _member(zf: zipfile.ZipFile, name: str, data: bytes, members: dict) -> None:
    zf.writestr(name, data)
    members[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def export_data(jimu, app_key: str, path: str | Path) -> dict[str, Any]:
    """Write app ``app_key``'s package, records and files to ``path``; returns the manifest."""
    from .installer import export
    path = Path(path)
    members: dict[str, dict] = {}
    counts: dict[str, int] = {}
    with jimu.read() as conn, zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        package = export(conn, app_key)
        _member(zf, "package.json", json.dumps(package, ensure_ascii=False).encode(), members)
        store = jimu.services.store(conn)
        file_ids: set[str] = set()
        users: set[int] = set()
        for ft in [ft for ft in jimu.catalog if ft.app_key == app_key]:
            lines = []
            offset = 0
            while True:
                rows, _ = store.select(ft, order_by=[ft.table.c.id], limit=BATCH, offset=offset)
                for record in rows:
                    lines.append(json.dumps(typed_json.encode(record), ensure_ascii=False, separators=(",", ":")))
                    file_ids |= {ref["id"] for _, ref in filestore._refs(ft.spec.fields, record)}
                    users |= {record.get("created_by"), record.get("updated_by")} - {None}
                    for f in ft.spec.fields:
                        if f.widget.value_kind == "user":
                            value = record.get(f.key)
                            users |= {v for v in (value if isinstance(value, list) else [value]) if isinstance(v, int)}
                offset += BATCH
                if len(rows) < BATCH:
                    break
            _member(zf, f"records/{ft.key}.jsonl", ("\n".join(lines) + "\n").encode() if lines else b"", members)
            counts[ft.key] = len(lines)
        names = {"users": {str(r.id): r.username for r in conn.execute(
                     sa.select(db.users.c.id, db.users.c.username).where(db.users.c.id.in_(users or [-1])))},
                 "groups": {str(r.id): r.key for r in conn.execute(sa.select(db.groups.c.id, db.groups.c.key))}}
        _member(zf, "names.json", json.dumps(names, ensure_ascii=False).encode(), members)
        file_rows = [typed_json.encode(dict(r)) for r in conn.execute(
            sa.select(db.files).where(db.files.c.id.in_(sorted(file_ids) or [""]))).mappings()]
        _member(zf, "files.json", json.dumps(file_rows, ensure_ascii=False).encode(), members)
        for row in conn.execute(sa.select(db.files.c.id).where(db.files.c.id.in_(sorted(file_ids) or [""]))):
            _write_file(jimu, zf, row, members)
        manifest = {"format": FORMAT, "format_version": 1, "jimu_version": jimu_version(), "app": app_key,
                    "version": package["app"]["version"], "records": counts, "members": members}
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
    return manifest


def import_data(jimu, path: str | Path, *, actor_id: int | None = None) -> dict[str, Any]:
    """Install the archived app with its records and files into ``jimu`` (which must not have it)."""
    from .installer import install
    manifest = read_manifest(path, expect=FORMAT)
    app_key = manifest["app"]
    with zipfile.ZipFile(path) as zf, jimu.begin() as conn:
        if conn.execute(sa.select(db.apps.c.id).where(db.apps.c.key == app_key)).first() is not None:
            raise AppInstalled(f"app {app_key!r} is installed here already; import its data into an installation "
                               "without it (or remove it first)", app=app_key)
        install(conn, json.loads(zf.read("package.json")), now=jimu.now(), actor_id=actor_id)
        jimu.catalog.refresh(conn, force=True)
        names = json.loads(zf.read("names.json"))
        user_ids = dict(conn.execute(sa.select(db.users.c.username, db.users.c.id)).all())
        group_ids = dict(conn.execute(sa.select(db.groups.c.key, db.groups.c.id)).all())
        users = {int(k): user_ids.get(v) for k, v in names["users"].items()}
        groups = {int(k): group_ids.get(v) for k, v in names["groups"].items()}
        forms = [ft for ft in jimu.catalog if ft.app_key == app_key]
        tables, counts, held, rest = [], {}, [], []
        for ft in forms:  # every main row first (links held back), then links, sub-tables, multi-values
            records = [typed_json.decode(json.loads(line)) for line in
                       zf.read(f"records/{ft.key}.jsonl").decode().splitlines() if line.strip()]
            counts[ft.key] = len(records)
            main, children = _rows_of(conn, jimu.catalog, ft, records, users, groups, app_key)
            held.append((ft.table, _insert_rows(conn, ft.table, main,
                                                later=tuple(c.name for c in ft.table.c if c.foreign_keys))[1]))
            rest += children
            tables += [ft.table, *(m.table for m in ft.multi.values()), *(c.table for c in ft.children.values())]
        for table, links in held:
            _link(conn, table, links)
        for table, rows in rest:
            _insert_rows(conn, table, rows)
        _set_counters(conn, tables, {})
        for row in json.loads(zf.read("files.json")):
            row = typed_json.decode(row)
            if conn.execute(sa.select(db.files.c.id).where(db.files.c.id == row["id"])).first() is None:
                conn.execute(sa.insert(db.files).values({**{k: v for k, v in row.items() if k in db.files.c},
                                                         "uploaded_by": users.get(row.get("uploaded_by"))}))
                with zf.open(f"files/{row['id']}") as src:  # into this installation's file store, streamed
                    jimu.services.files.store.put(conn, row["id"], src)
    return {"app": app_key, "version": manifest["version"], "records": counts}


def _rows_of(conn, catalog, ft, records: list[dict], users: Mapping[int, int | None],
             groups: Mapping[int, int | None], app_key: str) -> tuple[list[dict], list[tuple[sa.Table, list]]]:
    """(main rows, [(child table, rows)]) of ``ft``'s records with their ids; user and group ids mapped
    by name; links into another app's forms kept only where that record exists here."""
    def mapped(f, value):
        kind = f.widget.value_kind
        table = users if kind == "user" else groups if kind == "group" else None
        if table is None:
            return value
        if isinstance(value, list):
            return [table[v] for v in value if table.get(v) is not None]
        return table.get(value) if value is not None else None

    outside: dict[str, set] = {}
    for key in ft.columns:
        target = ft.link_target(key)
        if target and target in catalog and catalog.form(target).app_key != app_key:
            t = catalog.form(target).table
            outside[key] = set(conn.execute(sa.select(t.c.id)).scalars())
    main, multi, children = [], {k: [] for k in ft.multi}, {k: [] for k in ft.children}
    for r in records:
        row = {"id": r["id"], "created_at": r["created_at"], "updated_at": r["updated_at"],
               "created_by": users.get(r.get("created_by")), "updated_by": users.get(r.get("updated_by")),
               "row_version": r.get("row_version") or 1}
        for key, col in ft.columns.items():
            value = mapped(ft.spec.field(key), r.get(key))
            if key in outside and value not in outside[key]:
                value = None
            row[col.name] = value
        main.append(row)
        for key, mt in ft.multi.items():
            values = mapped(mt.field, r.get(key) or [])
            multi[key] += [{"record_id": r["id"], "position": i, "value": v} for i, v in enumerate(values)]
        for key, ct in ft.children.items():
            for pos, child in enumerate(r.get(key) or []):
                children[key].append({"id": child["id"], "record_id": r["id"], "position": pos,
                                      **{c.name: child.get(k) for k, c in ct.columns.items()}})
    return main, [(ft.multi[k].table, rows) for k, rows in multi.items()] + \
        [(ft.children[k].table, rows) for k, rows in children.items()]
