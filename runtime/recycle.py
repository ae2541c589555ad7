"""The recycle bin: a deleted record is kept, whole, until it is restored or purged.

``Records.delete`` — the one delete path of the UI, the REST API (single and batch), rules and bulk
actions — calls ``move_to_bin`` in the deleting transaction. The record's rows leave its form table
(so lists, search, reports, REST and links no longer see it: nothing else needs a filter) and one
``jimu_recycle_bin`` row keeps everything needed to put it back as it was:

- ``rows``: the physical rows of the record, its sub-table rows and multi-values, ids included
  (``runtime.typed_json`` keeps dates and decimals exact);
- ``links``: the other records that linked to it (the database sets their link to NULL, or drops
  the multi-value, when the row goes);
- ``flows``: its running instances, held where they wait (``FlowRuntime.hold_for_bin``: tasks out of
  the inboxes, timers held, the state document untouched);
- its files stay in the file store, owned by the record, until the entry is purged.

``restore`` puts all of that back (same id — ids are never reused, see ``store.mapping`` — same
sub-table row ids, links re-pointed, instances running again with their open tasks and pending
timers) and fires ``record.restored`` for rules. ``purge`` is final: the instances are cancelled,
the files removed; it is an administrator's act, or the expiry of the entry
(``RECYCLE_BIN_DAYS``, default 30; 0 keeps entries until purged) run by ``jimu purge`` and the daily
retention job. Both are audited (``record.restored``, ``record.purged``).

Who sees the bin follows the app's permission policy: an entry is visible to whoever may delete
that record now (the form's ``delete`` verb and its row scope, ``policy.record_in_reach``); a form
no longer installed leaves its entries to administrators.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Mapping

import sqlalchemy as sa

from . import audit, db, files, typed_json
from .auth import policy
from .exceptions import Conflict, JimuError, NotFound
from .store import FormTable
from .db import BIGID, data_written
from .store.mapping import MultiTable
from .store.records import written

recycle_bin = sa.Table(
    "jimu_recycle_bin", db.metadata,
    sa.Column("id", BIGID, primary_key=True),
    sa.Column("app_key", sa.String(100)),
    sa.Column("form_key", sa.String(100), nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("title", sa.String(200)),
    #: the record by field key (typed JSON), for the bin page, the API and the row-scope check
    sa.Column("record", db.JSON, nullable=False),
    #: {"main": {column: value}, "tables": {child table: [rows]}} (typed JSON)
    sa.Column("rows", db.JSON, nullable=False),
    #: [{"form", "field", "ids"} | {"form", "field", "multi": [[record_id, position], ...]}]
    sa.Column("links", db.JSON, nullable=False),
    #: {"instances": [ids], "jobs": [idempotency keys]} held by ``FlowRuntime.hold_for_bin``
    sa.Column("flows", db.JSON, nullable=False),
    sa.Column("deleted_by", sa.Integer),
    sa.Column("deleted_at", db.TS, nullable=False),
    sa.Column("expires_at", db.TS),
    sa.UniqueConstraint("form_key", "record_id", name="uq_jimu_recycle_bin_record"),
    sa.Index("ix_jimu_recycle_bin_expires", "expires_at"),
)

DEFAULT_DAYS = 30
#: entries a listing reads before the row-scope check (a bin is not an archive)
MAX_LIST = 5000


class EntryNotFound(NotFound):
    code = "recycle.not_found"


class RestoreConflict(Conflict):
    code = "recycle.conflict"


class FormGone(JimuError):
    code = "recycle.form_gone"
    status = 409


def keep_for(config: Mapping[str, Any]) -> timedelta | None:
    """How long an entry stays (``RECYCLE_BIN_DAYS``); None keeps it until purged."""
    days = float(config.get("RECYCLE_BIN_DAYS", DEFAULT_DAYS) or 0)
    if days < 0:
        raise ValueError("RECYCLE_BIN_DAYS must be a number of days ≥ 0 (0 keeps entries until purged)")
    return timedelta(days=days) if days else None


# -- moving in -----------------------------------------------------------------------------------
def move_to_bin(records, ft: FormTable, record: Mapping[str, Any], *, expected_version: int | None = None) -> int:
    """Move record ``record["id"]`` of ``ft`` into the bin, in ``records``' transaction; returns the
    entry id. ``records`` is the ``Records`` unit of work that checked the caller may delete it."""
    conn, jimu, rid = records.conn, records.jimu, record["id"]
    rows = _physical_rows(conn, ft, rid)
    links = _inbound_links(jimu.catalog, conn, ft, rid)
    flows = jimu.services.flows.runtime(conn).hold_for_bin(ft.key, rid)
    records.store.delete(ft, rid, expected_version=expected_version)
    _unlink(jimu.catalog, conn, rid, links)
    keep = keep_for(jimu.config)
    # a record deleted, restored and deleted again has one entry: the newest
    conn.execute(sa.delete(recycle_bin).where(recycle_bin.c.form_key == ft.key, recycle_bin.c.record_id == rid))
    return conn.execute(sa.insert(recycle_bin).values(
        app_key=ft.app_key, form_key=ft.key, record_id=rid, title=_title(ft, record),
        record=typed_json.encode(dict(record)), rows=typed_json.encode(rows), links=links, flows=flows,
        deleted_by=records.principal.user_id, deleted_at=records.now,
        expires_at=records.now + keep if keep else None)).inserted_primary_key[0]


def _physical_rows(conn: sa.Connection, ft: FormTable, rid: int) -> dict[str, Any]:
    main = conn.execute(sa.select(ft.table).where(ft.table.c.id == rid)).mappings().one()
    tables = {}
    for child in [*ft.multi.values(), *ft.children.values()]:
        t = child.table
        found = [dict(r) for r in conn.execute(sa.select(t).where(t.c.record_id == rid).order_by(t.c.id)).mappings()]
        if found:
            tables[t.name] = found
    return {"main": dict(main), "tables": tables}


def _inbound_links(catalog, conn: sa.Connection, ft: FormTable, rid: int) -> list[dict]:
    """Every record whose link field points at ``rid`` (the database unlinks them when it goes)."""
    out: list[dict] = []
    for other in catalog:
        for key, col in other.columns.items():
            if other.link_target(key) == ft.key:
                ids = list(conn.execute(sa.select(other.table.c.id).where(col == rid)).scalars())
                if ids:
                    out.append({"form": other.key, "field": key, "ids": ids})
        for key, mt in other.multi.items():
            if mt.field.widget.value_kind == "link" and getattr(mt.field.widget, "target", None) == ft.key:
                t = mt.table
                pairs = [list(p) for p in conn.execute(sa.select(t.c.record_id, t.c.position).where(t.c.value == rid))]
                if pairs:
                    out.append({"form": other.key, "field": key, "multi": pairs})
    return out


def _unlink(catalog, conn: sa.Connection, rid: int, links: list[dict]) -> None:
    """No record links to one in the bin: what the foreign keys do when the row goes (SET NULL,
    CASCADE), done here too for tables whose link has no foreign key (a multiple link's values)."""
    _forget(conn, catalog, links)
    for link in links:
        other = catalog.form(link["form"])
        data_written(conn, other.form_id)
        if "ids" in link:
            col = other.columns[link["field"]]
            conn.execute(sa.update(other.table).where(other.table.c.id.in_(link["ids"]), col == rid)
                         .values({col.name: None}))
        else:
            t = other.multi[link["field"]].table
            conn.execute(sa.delete(t).where(t.c.value == rid))


def _forget(conn: sa.Connection, catalog, links: list[dict]) -> None:
    """Linking records this transaction wrote are kept in memory (``store.records.written``); their
    link changes here, so the kept copies go."""
    kept = written(conn)
    if not kept:
        return
    for link in links or []:
        if link["form"] in catalog:
            table = catalog.form(link["form"]).table
            for rid in link.get("ids") or [p[0] for p in link.get("multi") or []]:
                kept.pop((table, rid), None)


def _title(ft: FormTable, record: Mapping[str, Any]) -> str | None:
    """What the bin shows for the record: its first filled text value."""
    for f in ft.spec.fields:
        value = record.get(f.key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return None


# -- reading -------------------------------------------------------------------------------------
def entries(conn: sa.Connection, catalog, principal, *, app_key: str | None = None, form_key: str | None = None,
            page: int = 1, per_page: int = 50) -> tuple[list[dict], int]:
    """The entries ``principal`` may see (newest first), a page of them, and how many there are."""
    b = recycle_bin.c
    q = sa.select(recycle_bin).order_by(b.deleted_at.desc(), b.id.desc()).limit(MAX_LIST)
    if app_key:
        q = q.where(b.app_key == app_key)
    if form_key:
        q = q.where(b.form_key == form_key)
    if not principal.is_admin:
        forms = [ft.key for ft in catalog if policy.can(principal, "delete", ft.key)]
        q = q.where(b.form_key.in_(forms or [""]))
    visible = [row for row in conn.execute(q).mappings() if _may_see(catalog, principal, row)]
    start = (max(page, 1) - 1) * per_page
    return [_public(catalog, principal, row) for row in visible[start:start + per_page]], len(visible)


def _may_see(catalog, principal, row) -> bool:
    if row["form_key"] not in catalog:
        return principal.is_admin
    return policy.can(principal, "delete", row["form_key"]) and policy.record_in_reach(
        principal, catalog.form(row["form_key"]), typed_json.decode(row["record"]), "delete")


def _public(catalog, principal, row) -> dict[str, Any]:
    record = typed_json.decode(row["record"])
    installed = row["form_key"] in catalog
    return {"id": row["id"], "app": row["app_key"], "form": row["form_key"], "record_id": row["record_id"],
            "title": row["title"], "installed": installed,
            "form_label": catalog.form(row["form_key"]).spec.label if installed else None,
            "record": audit.jsonable(policy.redact(principal, row["form_key"], record)),
            "flows": len(row["flows"].get("instances") or []),
            "deleted_by": row["deleted_by"], "deleted_at": row["deleted_at"], "expires_at": row["expires_at"]}


def _entry(conn: sa.Connection, catalog, principal, entry_id: int, *, lock: bool = True):
    q = sa.select(recycle_bin).where(recycle_bin.c.id == entry_id)
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    row = conn.execute(q).mappings().first()
    if row is None or not _may_see(catalog, principal, row):
        raise EntryNotFound(f"recycle bin entry {entry_id} does not exist", id=entry_id)
    return row


def entry(conn: sa.Connection, catalog, principal, entry_id: int) -> dict[str, Any]:
    return _public(catalog, principal, _entry(conn, catalog, principal, entry_id, lock=False))


# -- restoring -----------------------------------------------------------------------------------
def restore(records, entry_id: int) -> dict[str, Any]:
    """Put entry ``entry_id`` back as it was, in ``records``' transaction; returns the record (as the
    caller may see it) and the links that could not come back (their target is gone meanwhile)."""
    conn, jimu = records.conn, records.jimu
    row = _entry(conn, jimu.catalog, records.principal, entry_id)
    if row["form_key"] not in jimu.catalog:
        raise FormGone(f"form {row['form_key']!r} is no longer installed; install its app again to restore "
                       "this record", form=row["form_key"])
    ft = jimu.catalog.form(row["form_key"])
    rid = row["record_id"]
    rows = typed_json.decode(row["rows"])
    dropped: list[dict] = []
    try:
        with conn.begin_nested():
            main = db.known_values(ft.table, rows["main"])
            for key, col in ft.columns.items():
                target = ft.link_target(key)
                if target and main.get(col.name) is not None and not _exists(jimu.catalog, conn, target,
                                                                              main[col.name]):
                    dropped.append({"field": key, "form": target, "id": main[col.name]})
                    main[col.name] = None
            main["row_version"] = int(main.get("row_version") or 0) + 1
            main["updated_at"] = records.now
            conn.execute(sa.insert(ft.table).values(main))  # with its search document (FTS triggers index it)
            data_written(conn, ft.form_id)  # cached charts of the form are out of date
            for child in [*ft.multi.values(), *ft.children.values()]:
                kept = [db.known_values(child.table, r) for r in rows["tables"].get(child.table.name, ())]
                target = getattr(child.field.widget, "target", None)
                if isinstance(child, MultiTable) and child.field.widget.value_kind == "link" and target:
                    alive = _alive(jimu.catalog, conn, target, {r["value"] for r in kept})
                    dropped += [{"field": child.field.key, "form": target, "id": r["value"]}
                                for r in kept if r["value"] not in alive]
                    kept = [r for r in kept if r["value"] in alive]
                if kept:
                    conn.execute(sa.insert(child.table), kept)
            _relink(jimu.catalog, conn, rid, row["links"])
    except sa.exc.IntegrityError as exc:
        raise RestoreConflict(f"{ft.key} record {rid} cannot come back as it was: a unique value it holds is "
                              "used by another record now; change that record first",
                              form=ft.key, id=rid, detail=str(exc.orig)[:200]) from None
    jimu.services.flows.runtime(conn).release_from_bin(row["flows"] or {})
    conn.execute(sa.delete(recycle_bin).where(recycle_bin.c.id == entry_id))
    record = records.store.get(ft, rid)
    audit.record_event(conn, "record.restored", at=records.now, actor_id=records.principal.user_id,
                       form_key=ft.key, record_id=rid,
                       data={"entry": entry_id, "deleted_by": row["deleted_by"], "deleted_at": row["deleted_at"],
                             "flows": row["flows"].get("instances") or [], "links_dropped": dropped,
                             "source": records.source})
    jimu.notify(records, "record.restored", ft, record, None)
    return {"record": audit.jsonable(policy.redact(records.principal, ft.key, record)), "links_dropped": dropped}


def _alive(catalog, conn: sa.Connection, form_key: str, ids) -> set:
    ids = {i for i in ids if i is not None}
    if not ids or form_key not in catalog:
        return set()
    t = catalog.form(form_key).table
    return set(conn.execute(sa.select(t.c.id).where(t.c.id.in_(ids))).scalars())


def _exists(catalog, conn, form_key: str, rid) -> bool:
    return rid in _alive(catalog, conn, form_key, {rid})


def _relink(catalog, conn: sa.Connection, rid: int, links: list[dict]) -> None:
    """Records that linked to the restored one link to it again, unless they were given another link
    (or removed) meanwhile: a newer change wins."""
    _forget(conn, catalog, links)
    for link in links or []:
        if link["form"] not in catalog:
            continue
        other = catalog.form(link["form"])
        data_written(conn, other.form_id)
        if "ids" in link and link["field"] in other.columns:
            col = other.columns[link["field"]]
            conn.execute(sa.update(other.table).where(other.table.c.id.in_(link["ids"]), col.is_(None))
                         .values({col.name: rid}))
        elif "multi" in link and link["field"] in other.multi:
            t = other.multi[link["field"]].table
            owners = _alive(catalog, conn, other.key, {p[0] for p in link["multi"]})
            have = set(conn.execute(sa.select(t.c.record_id).where(t.c.record_id.in_(owners or [-1]),
                                                                   t.c.value == rid)).scalars())
            rows = [{"record_id": o, "position": pos, "value": rid} for o, pos in link["multi"]
                    if o in owners and o not in have]
            if rows:
                conn.execute(sa.insert(t), rows)


# -- purging -------------------------------------------------------------------------------------
def purge(jimu, conn: sa.Connection, principal, entry_id: int) -> dict[str, Any]:
    """Remove entry ``entry_id`` for good (administrators only): what ``_purge`` does, audited."""
    policy.require_admin(principal)
    row = _entry(conn, jimu.catalog, principal, entry_id)
    return _purge(jimu, conn, row, actor=principal.user_id, expired=False)


def _purge(jimu, conn: sa.Connection, row, *, actor: int | None, expired: bool) -> dict[str, Any]:
    """The record's held instances are cancelled (as a delete did before the bin), its files removed
    (rows now, bytes once the transaction commits) and the entry deleted."""
    record = typed_json.decode(row["record"])
    rt = jimu.services.flows.runtime(conn)
    rt.release_from_bin(row["flows"] or {})
    rt.cancel_for_deleted(row["form_key"], row["record_id"], record, actor)
    removed = _remove_files(jimu, conn, row, record)
    conn.execute(sa.delete(recycle_bin).where(recycle_bin.c.id == row["id"]))
    audit.record_event(conn, "record.purged", at=jimu.now(), actor_id=actor, form_key=row["form_key"],
                       record_id=row["record_id"],
                       data={"entry": row["id"], "expired": expired, "deleted_by": row["deleted_by"],
                             "deleted_at": row["deleted_at"], "title": row["title"], "files": len(removed)})
    return {"entry": row["id"], "form": row["form_key"], "record_id": row["record_id"], "files": len(removed)}


def _remove_files(jimu, conn: sa.Connection, row, record: Mapping[str, Any]) -> list[str]:
    """The files the record owns (``jimu_files.record_id``) and holds in its values."""
    if row["form_key"] in jimu.catalog:
        held = {ref["id"] for _, ref in files._refs(jimu.catalog.form(row["form_key"]).spec.fields, record)}
    else:
        held = set()
    f = db.files.c
    owned = set(conn.execute(sa.select(f.id).where(f.form_key == row["form_key"],
                                                   f.record_id == row["record_id"])).scalars())
    gone = sorted(owned & held) if held else sorted(owned)
    jimu.services.files.delete(conn, gone)
    return gone


def purge_expired(jimu, *, now: datetime, conn: sa.Connection | None = None, batch: int = 100) -> int:
    """Purge every entry past ``expires_at``, one short transaction per entry (or all in ``conn``)."""
    b = recycle_bin.c
    total = 0
    while True:
        if conn is not None:
            ids = list(conn.execute(sa.select(b.id).where(b.expires_at < now).order_by(b.id).limit(batch)).scalars())
        else:
            with jimu.read() as read:
                ids = list(read.execute(sa.select(b.id).where(b.expires_at < now).order_by(b.id)
                                        .limit(batch)).scalars())
        before = total
        for entry_id in ids:
            if conn is not None:
                total += _purge_one(jimu, conn, entry_id, now)
            else:
                with jimu.begin() as own:
                    total += _purge_one(jimu, own, entry_id, now)
        if len(ids) < batch or total == before:  # the rest is being purged or restored by someone else
            return total


def _purge_one(jimu, conn: sa.Connection, entry_id: int, now: datetime) -> int:
    q = sa.select(recycle_bin).where(recycle_bin.c.id == entry_id, recycle_bin.c.expires_at < now)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    row = conn.execute(q).mappings().first()
    if row is None:  # restored or purged meanwhile
        return 0
    _purge(jimu, conn, row, actor=None, expired=True)
    return 1
