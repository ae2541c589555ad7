"""Publishing forms: catalogue rows and online table evolution.

Publishing a changed form never drops data:
- a new field gets a new column (or child table);
- a removed field is *retired*: its catalogue row is marked and its column
  stays, so the values come back if the field does;
- a field whose storage type changes retires the old column and adds a new
  one; the stored values are converted into it when that loses nothing, and
  otherwise the publish is refused with the values that would be lost
  (``runtime.store.convert``); the old values stay in the retired column.

DDL goes through Alembic's ``Operations`` on the caller's connection, inside
the caller's transaction (PostgreSQL and SQLite both have transactional DDL),
so an app upgrade applies whole or not at all. The one dialect-specific piece
is adding a foreign-key column on SQLite, which Alembic refuses outside batch
mode; SQLite's own ``ALTER TABLE ADD COLUMN ... REFERENCES`` does it in place.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from engines.form import FormSpec, compile_form
from engines.form.spec import FieldSpec

from .. import db
from ..exceptions import JimuError
from . import convert, search
from .catalog import changed
from .mapping import ID, build_form_table, column_type, index_name, system_columns


class FormOwnership(JimuError):
    code = "app.form_key_taken"
    status = 409


@dataclass
class PublishReport:
    created_forms: list[str] = field(default_factory=list)
    added: list[tuple[str, str]] = field(default_factory=list)
    retired: list[tuple[str, str]] = field(default_factory=list)
    retired_forms: list[str] = field(default_factory=list)


def publish_forms(conn: sa.Connection, app_key: str, definitions: list[Mapping[str, Any]], *,
                  indexed: Mapping[str, Iterable[str]] | None = None,
                  retire_missing: bool = True) -> PublishReport:
    """Create or evolve the tables of ``definitions`` (all forms of one app)."""
    indexed = {k: set(v) for k, v in (indexed or {}).items()}
    report = PublishReport()
    siblings = {d.get("key"): d for d in definitions}  # so 客户.等级 is checked against the linked form
    specs = [compile_form(d, siblings) for d in definitions]
    existing = {r.key: r for r in conn.execute(sa.select(db.forms))}
    for spec in specs:
        row = existing.get(spec.key)
        if row is not None and row.app_key != app_key:
            raise FormOwnership(f"form key {spec.key!r} already belongs to app {row.app_key!r}; rename the form",
                                form=spec.key, app=row.app_key)

    form_ids: dict[str, int] = {}
    new_forms: set[str] = set()
    for spec in specs:
        row = existing.get(spec.key)
        if row is None:
            fid = conn.execute(sa.insert(db.forms).values(
                key=spec.key, app_key=app_key, version=spec.version, definition=dict(spec.definition),
                table_name="pending", status="active")).inserted_primary_key[0]
            conn.execute(sa.update(db.forms).where(db.forms.c.id == fid).values(table_name=f"f{fid}"))
            new_forms.add(spec.key)
            report.created_forms.append(spec.key)
        else:
            fid = row.id
            conn.execute(sa.update(db.forms).where(db.forms.c.id == fid).values(
                version=spec.version, definition=dict(spec.definition), status="active"))
        form_ids[spec.key] = fid

    if retire_missing:
        keep = {s.key for s in specs}
        for key, row in existing.items():
            if row.app_key == app_key and key not in keep and row.status == "active":
                conn.execute(sa.update(db.forms).where(db.forms.c.id == row.id).values(status="retired"))
                report.retired_forms.append(key)

    tables_by_form = {r.key: r.table_name for r in conn.execute(sa.select(db.forms.c.key, db.forms.c.table_name))}
    op = Operations(MigrationContext.configure(conn))
    plans = []
    for spec in specs:
        old_def = existing[spec.key].definition if spec.key in existing else None
        plan = _sync_fields(conn, form_ids[spec.key], spec, old_def, report)
        plans.append((spec, plan))

    # 1. main tables and scalar columns (links come in step 2 so cycles work)
    for spec, plan in plans:
        tname = tables_by_form[spec.key]
        if spec.key in new_forms:
            cols = system_columns() + [sa.Column(plan.physical[(None, f.key)], column_type(f))
                                       for f in plan.new_scalar if not _is_link(f)]
            op.create_table(tname, *cols, sqlite_autoincrement=True)  # ids never reused (see mapping)
        else:
            for f in plan.new_scalar:
                if not _is_link(f):
                    op.add_column(tname, sa.Column(plan.physical[(None, f.key)], column_type(f)))
    # 2. link columns (foreign keys) now that every target table exists
    for spec, plan in plans:
        tname = tables_by_form[spec.key]
        for f in plan.new_scalar:
            if _is_link(f):
                _add_fk_column(conn, op, tname, plan.physical[(None, f.key)],
                               tables_by_form.get(f.widget.target))
    # 3. child tables, new child columns, indexes
    tables = {}
    for spec, plan in plans:
        tname = tables_by_form[spec.key]
        meta = sa.MetaData()
        # reflect the parent and link targets into this MetaData so child FKs resolve
        ft = build_form_table(meta, form_id=form_ids[spec.key], table_name=tname, spec=spec,
                              physical=plan.physical, tables_by_form=tables_by_form)
        tables[spec.key] = ft
        for key in plan.new_child_tables:
            table = ft.multi[key].table if key in ft.multi else ft.children[key].table
            op.create_table(table.name, *[c._copy() for c in table.columns])  # index=True columns get indexes
        for parent_key, f in plan.new_child_columns:
            ct = ft.children[parent_key].table
            op.add_column(ct.name, sa.Column(plan.physical[(parent_key, f.key)], column_type(f, nested=True)))
        wanted = {f.key for f in spec.fields if f.filterable} | indexed.get(spec.key, set())
        _ensure_indexes(conn, op, ft, wanted)
    # 4. fields whose type changed: their stored values, converted (or the publish is refused)
    convert.apply(conn, [
        convert.Conversion(spec.key, old, new, tables_by_form[spec.key] if parent is None
                           else f"{tables_by_form[spec.key]}_{plan.physical[(None, parent)]}",
                           parent, old_physical, new_physical)
        for spec, plan in plans for parent, old, old_physical, new, new_physical in plan.changed])
    # 5. the search index; the documents are written again when what they are made of changed
    for spec, _plan in plans:
        old_def = existing[spec.key].definition if spec.key in existing else None
        created = search.install(conn, tables[spec.key])
        db.data_version_triggers(conn, tables[spec.key].table.name, tables[spec.key].form_id)
        if spec.key not in new_forms and (created or old_def is None or
                                          search.signature(compile_form(old_def)) != search.signature(spec)):
            search.reindex(conn, tables[spec.key])
    bump_revision(conn)
    return report


def _is_link(f: FieldSpec) -> bool:
    return f.widget.value_kind == "link"


def _add_fk_column(conn: sa.Connection, op: Operations, table: str, column: str, target: str | None) -> None:
    if target is None:
        op.add_column(table, sa.Column(column, ID))
    elif conn.dialect.name == "sqlite":
        q = conn.dialect.identifier_preparer.quote
        conn.exec_driver_sql(f"ALTER TABLE {q(table)} ADD COLUMN {q(column)} BIGINT "
                             f"REFERENCES {q(target)}(id) ON DELETE SET NULL")
    else:
        op.add_column(table, sa.Column(column, sa.BigInteger, sa.ForeignKey(f"{target}.id", ondelete="SET NULL")))


def _ensure_indexes(conn: sa.Connection, op: Operations, ft, wanted: set[str]) -> None:
    """Indexes on the ``wanted`` fields; ``created_at``/``updated_at`` (time buckets, date filters) too.
    A dashboard filter may name a field only some of its charts' forms have: the others are skipped."""
    present = {ix["name"] for ix in sa.inspect(conn).get_indexes(ft.table.name)}
    for key in sorted(wanted):
        col = ft.table.c[key] if key in ("created_at", "updated_at") else ft.columns.get(key)
        if col is None:
            continue
        name = index_name(ft.table.name, col.name)
        if name not in present:
            unique = key in ft.columns and ft.spec.field(key).unique
            op.create_index(name, ft.table.name, [col.name], unique=unique)


def ensure_indexes(conn: sa.Connection, ft, wanted: set[str]) -> None:
    """The indexes publishing makes on ``ft`` for the fields ``wanted`` (filterable and reported ones;
    a unique field's index is unique) — also what a restore (``runtime.backup``) recreates."""
    _ensure_indexes(conn, Operations(MigrationContext.configure(conn)), ft, wanted)


@dataclass
class _FieldPlan:
    physical: dict[tuple[str | None, str], str] = field(default_factory=dict)
    new_scalar: list[FieldSpec] = field(default_factory=list)
    new_child_tables: list[str] = field(default_factory=list)
    new_child_columns: list[tuple[str, FieldSpec]] = field(default_factory=list)
    #: fields whose type changed: (parent key, old field, old column, new field, new column)
    changed: list[tuple[str | None, FieldSpec, str, FieldSpec, str]] = field(default_factory=list)


def _sync_fields(conn: sa.Connection, form_id: int, spec: FormSpec, old_def: Mapping | None,
                 report: PublishReport) -> _FieldPlan:
    """Match the new fields against the catalogue rows; insert/retire rows; plan the DDL."""
    plan = _FieldPlan()
    rows = list(conn.execute(sa.select(db.form_fields).where(db.form_fields.c.form_id == form_id)))
    active = {(r.parent_id, r.key): r for r in rows if r.status == "active"}
    retired = {(r.parent_id, r.key): r for r in rows if r.status == "retired"}
    old_spec = compile_form(old_def) if old_def else None

    def old_field(parent: str | None, key: str) -> FieldSpec | None:
        if old_spec is None:
            return None
        try:
            if parent is None:
                return old_spec.field(key)
            return old_spec.field(parent).children.field(key)
        except Exception:
            return None

    def sync(parent_row_id, parent_key, f: FieldSpec, nested: bool) -> tuple[int, bool]:
        """Returns (field row id, is_new_physical)."""
        sig = convert.type_signature(f, conn, nested)
        row = active.pop((parent_row_id, f.key), None)
        old = None
        if row is not None:
            old = old_field(parent_key, f.key)
            if old is not None and convert.type_signature(old, conn, nested) == sig and row.storage == f.storage:
                conn.execute(sa.update(db.form_fields).where(db.form_fields.c.id == row.id)
                             .values(widget=f.widget.type))
                plan.physical[(parent_key, f.key)] = row.physical_name
                return row.id, False
            conn.execute(sa.update(db.form_fields).where(db.form_fields.c.id == row.id).values(status="retired"))
            report.retired.append((spec.key, f.key))
        back = retired.get((parent_row_id, f.key)) if old is None else None  # a type change converts afresh
        if back is not None and back.storage == f.storage and back.widget == f.widget.type:
            # a field that comes back gets its old column, and its old values, again
            conn.execute(sa.update(db.form_fields).where(db.form_fields.c.id == back.id).values(status="active"))
            plan.physical[(parent_key, f.key)] = back.physical_name
            return back.id, False
        fid = conn.execute(sa.insert(db.form_fields).values(
            form_id=form_id, parent_id=parent_row_id, key=f.key, widget=f.widget.type, storage=f.storage,
            physical_name="pending", status="active")).inserted_primary_key[0]
        physical = f"c{fid}"
        conn.execute(sa.update(db.form_fields).where(db.form_fields.c.id == fid).values(physical_name=physical))
        plan.physical[(parent_key, f.key)] = physical
        report.added.append((spec.key, f.key if parent_key is None else f"{parent_key}.{f.key}"))
        if old is not None and old.storage != "none":
            plan.changed.append((parent_key, old, row.physical_name, f, physical))
        return fid, True

    for f in spec.fields:
        if f.storage == "none":
            continue
        fid, is_new = sync(None, None, f, nested=False)
        if f.storage == "column" and is_new:
            plan.new_scalar.append(f)
        elif f.storage in ("multi", "children") and is_new:
            plan.new_child_tables.append(f.key)
        if f.storage == "children":
            for cf in f.children.fields:
                if cf.storage in ("none", "children"):
                    continue
                _cid, c_new = sync(fid, f.key, cf, nested=True)
                if c_new and not is_new:
                    plan.new_child_columns.append((f.key, cf))
    for (_parent, key), row in active.items():
        conn.execute(sa.update(db.form_fields).where(db.form_fields.c.id == row.id).values(status="retired"))
        report.retired.append((spec.key, key))
    return plan


def bump_revision(conn: sa.Connection) -> None:
    """Tell every process that the catalogue changed."""
    conn.execute(sa.update(db.catalog_revision).where(db.catalog_revision.c.id == 1)
                 .values(revision=db.catalog_revision.c.revision + 1))
    changed(conn)
