"""The installed forms of this database, compiled once per catalogue revision.

Each process keeps one ``Catalog``. ``refresh(conn)`` costs one indexed
single-row read; only when another process has published (the revision
moved) are the specs recompiled and the Core tables rebuilt.
"""
from __future__ import annotations

import threading
from typing import Iterator

import sqlalchemy as sa

from engines.form import FormSpec, compile_form

from .. import db
from ..exceptions import NotFound
from .mapping import FormTable, build_form_table


class UnknownForm(NotFound):
    code = "form.not_found"


class Catalog:
    def __init__(self) -> None:
        self.revision = -1
        self._forms: dict[str, FormTable] = {}
        self._lock = threading.Lock()

    def refresh(self, conn: sa.Connection, *, force: bool = False) -> "Catalog":
        rev = conn.execute(sa.select(db.catalog_revision.c.revision).where(db.catalog_revision.c.id == 1)).scalar()
        if rev == self.revision and not force:
            return self
        with self._lock:
            if rev != self.revision or force:
                self._forms = self._load(conn)
                self.revision = rev
        return self

    @staticmethod
    def _load(conn: sa.Connection) -> dict[str, FormTable]:
        rows = list(conn.execute(sa.select(db.forms).where(db.forms.c.status == "active").order_by(db.forms.c.id)))
        tables_by_form = {r.key: r.table_name for r in rows}
        fields = list(conn.execute(sa.select(db.form_fields).where(db.form_fields.c.status == "active")))
        by_id = {f.id: f for f in fields}
        physical: dict[int, dict] = {}
        for f in fields:
            parent_key = by_id[f.parent_id].key if f.parent_id is not None and f.parent_id in by_id else None
            physical.setdefault(f.form_id, {})[(parent_key, f.key)] = f.physical_name
        meta = sa.MetaData()
        out: dict[str, FormTable] = {}
        for r in rows:
            spec: FormSpec = compile_form(r.definition)
            out[r.key] = build_form_table(meta, form_id=r.id, table_name=r.table_name, spec=spec,
                                          physical=physical.get(r.id, {}), tables_by_form=tables_by_form)
            out[r.key].app_key = r.app_key
        return out

    def form(self, key: str) -> FormTable:
        try:
            return self._forms[key]
        except KeyError:
            raise UnknownForm(f"no form {key!r} is installed", form=key) from None

    def __contains__(self, key: object) -> bool:
        return key in self._forms

    def __iter__(self) -> Iterator[FormTable]:
        return iter(self._forms.values())

    def keys(self) -> list[str]:
        return list(self._forms)
