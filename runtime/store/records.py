"""Reading and writing records of one form with SQLAlchemy Core.

Values handed to the store are already cleaned by the form engine (the
service layer in ``runtime.records`` does that); the store only maps field
keys to physical columns and child tables. Updates use optimistic locking:
``row_version`` must match or nothing is written.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence

import sqlalchemy as sa

from ..exceptions import NotFound, StaleRecord
from .mapping import SYSTEM_COLUMNS, FormTable


class RecordNotFound(NotFound):
    code = "record.not_found"


class RecordStore:
    """Stateless helpers bound to a connection; one per unit of work."""

    def __init__(self, conn: sa.Connection):
        self.conn = conn

    # -- writing ---------------------------------------------------------------
    def _scalar_params(self, ft: FormTable, values: Mapping[str, Any]) -> dict[str, Any]:
        return {ft.columns[k].name: v for k, v in values.items() if k in ft.columns}

    def create(self, ft: FormTable, values: Mapping[str, Any], *, now: datetime, actor: int | None) -> int:
        params = self._scalar_params(ft, values)
        params.update(created_at=now, updated_at=now, created_by=actor, updated_by=actor, row_version=1)
        rid = self.conn.execute(sa.insert(ft.table).values(params)).inserted_primary_key[0]
        self._write_children(ft, rid, values, replace=False)
        return rid

    def bulk_create(self, ft: FormTable, rows: Sequence[Mapping[str, Any]], *, now: datetime,
                    actor: int | None) -> list[int]:
        """One multi-row INSERT ... RETURNING for the main rows, one executemany per child table."""
        if not rows:
            return []
        names = {k: c.name for k, c in ft.columns.items()}
        sys_vals = {"created_at": now, "updated_at": now, "created_by": actor, "updated_by": actor, "row_version": 1}
        params = []
        for values in rows:
            p = {names[k]: v for k, v in values.items() if k in names}
            for c in names.values():
                p.setdefault(c, None)
            p.update(sys_vals)
            if "created_at" in values:   # imports and demo data keep their own creation time
                p["created_at"] = p["updated_at"] = values["created_at"]
            params.append(p)
        stmt = sa.insert(ft.table).returning(ft.table.c.id, sort_by_parameter_order=True)
        ids = list(self.conn.execute(stmt, params).scalars())
        if ft.multi or ft.children:
            for rid, values in zip(ids, rows):
                self._write_children(ft, rid, values, replace=False)
        return ids

    def update(self, ft: FormTable, rid: int, values: Mapping[str, Any], *, expected_version: int | None,
               now: datetime, actor: int | None) -> int:
        """Write ``values``; returns the new row version; raises StaleRecord on a version mismatch."""
        t = ft.table
        params = self._scalar_params(ft, values)
        params.update(updated_at=now, updated_by=actor, row_version=t.c.row_version + 1)
        stmt = sa.update(t).where(t.c.id == rid)
        if expected_version is not None:
            stmt = stmt.where(t.c.row_version == expected_version)
        result = self.conn.execute(stmt.values(params).returning(t.c.row_version))
        new_version = result.scalar()
        if new_version is None:
            current = self.conn.execute(sa.select(t.c.row_version).where(t.c.id == rid)).scalar()
            if current is None:
                raise RecordNotFound(f"{ft.key} record {rid} does not exist", form=ft.key, id=rid)
            raise StaleRecord(f"{ft.key} record {rid} was changed by someone else (version {current}, "
                              f"you sent {expected_version}); reload it and apply your change again",
                              form=ft.key, id=rid, current_version=current)
        self._write_children(ft, rid, values, replace=True)
        return new_version

    def delete(self, ft: FormTable, rid: int, *, expected_version: int | None = None) -> None:
        t = ft.table
        stmt = sa.delete(t).where(t.c.id == rid)
        if expected_version is not None:
            stmt = stmt.where(t.c.row_version == expected_version)
        # child rows go first: SQLite enforces ON DELETE CASCADE only with foreign_keys=ON per connection
        for mt in ft.multi.values():
            self.conn.execute(sa.delete(mt.table).where(mt.table.c.record_id == rid))
        for ct in ft.children.values():
            self.conn.execute(sa.delete(ct.table).where(ct.table.c.record_id == rid))
        if self.conn.execute(stmt).rowcount == 0:
            current = self.conn.execute(sa.select(t.c.row_version).where(t.c.id == rid)).scalar()
            if current is None:
                raise RecordNotFound(f"{ft.key} record {rid} does not exist", form=ft.key, id=rid)
            raise StaleRecord(f"{ft.key} record {rid} was changed by someone else; reload it",
                              form=ft.key, id=rid, current_version=current)

    def _write_children(self, ft: FormTable, rid: int, values: Mapping[str, Any], *, replace: bool) -> None:
        for key, mt in ft.multi.items():
            if key not in values:
                continue
            if replace:
                self.conn.execute(sa.delete(mt.table).where(mt.table.c.record_id == rid))
            items = values[key] or []
            if items:
                self.conn.execute(sa.insert(mt.table),
                                  [{"record_id": rid, "position": i, "value": v} for i, v in enumerate(items)])
        for key, ct in ft.children.items():
            if key not in values:
                continue
            self._write_rows(ct, rid, values[key] or [], replace=replace)

    def _write_rows(self, ct, rid: int, rows: list[Mapping[str, Any]], *, replace: bool) -> None:
        """Sub-table rows keep their ids: rows with a known id are updated, new ones inserted, missing ones deleted."""
        t = ct.table
        existing = set()
        if replace:
            existing = set(self.conn.execute(sa.select(t.c.id).where(t.c.record_id == rid)).scalars())
        kept = set()
        for pos, row in enumerate(rows):
            params = {ct.columns[k].name: v for k, v in row.items() if k in ct.columns}
            params["position"] = pos
            row_id = row.get("id")
            if isinstance(row_id, int) and row_id in existing:
                self.conn.execute(sa.update(t).where(t.c.id == row_id).values(params))
                kept.add(row_id)
            else:
                params["record_id"] = rid
                self.conn.execute(sa.insert(t).values(params))
        gone = existing - kept
        if gone:
            self.conn.execute(sa.delete(t).where(t.c.id.in_(gone)))

    # -- reading ---------------------------------------------------------------
    def get(self, ft: FormTable, rid: int) -> dict[str, Any]:
        row = self.conn.execute(sa.select(ft.table).where(ft.table.c.id == rid)).mappings().first()
        if row is None:
            raise RecordNotFound(f"{ft.key} record {rid} does not exist", form=ft.key, id=rid)
        return self.to_records(ft, [row])[0]

    def to_records(self, ft: FormTable, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Physical rows → records keyed by field key; child values fetched in one query per child table."""
        out = []
        for row in rows:
            rec = {k: row[k] for k in SYSTEM_COLUMNS}
            for key, col in ft.columns.items():
                rec[key] = row[col.name]
            out.append(rec)
        if out and (ft.multi or ft.children):
            ids = [r["id"] for r in out]
            by_id = {r["id"]: r for r in out}
            for key, mt in ft.multi.items():
                for r in out:
                    r[key] = []
                q = (sa.select(mt.table.c.record_id, mt.table.c.value).where(mt.table.c.record_id.in_(ids))
                     .order_by(mt.table.c.record_id, mt.table.c.position))
                for record_id, value in self.conn.execute(q):
                    by_id[record_id][key].append(value)
            for key, ct in ft.children.items():
                for r in out:
                    r[key] = []
                t = ct.table
                q = sa.select(t).where(t.c.record_id.in_(ids)).order_by(t.c.record_id, t.c.position)
                for crow in self.conn.execute(q).mappings():
                    child = {"id": crow["id"]}
                    child.update({k: crow[c.name] for k, c in ct.columns.items()})
                    by_id[crow["record_id"]][key].append(child)
        return out

    def select(self, ft: FormTable, *, where: sa.ColumnElement | None = None,
               order_by: Sequence[sa.ColumnElement] = (), limit: int | None = None,
               offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """A page of records and the total count matching ``where``."""
        t = ft.table
        base = sa.select(t)
        count = sa.select(sa.func.count()).select_from(t)
        if where is not None:
            base = base.where(where)
            count = count.where(where)
        total = self.conn.execute(count).scalar_one()
        q = base.order_by(*order_by, t.c.id.desc() if not order_by else t.c.id).offset(offset)
        if limit is not None:
            q = q.limit(limit)
        rows = self.conn.execute(q).mappings().all()
        return self.to_records(ft, rows), total
