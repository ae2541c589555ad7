"""The one definition cache of a process: everything compiled from the installed definitions,
keyed by one number, the catalogue revision (``jimu_catalog_revision``).

Each process keeps one ``Catalog`` (the container's ``definitions``). ``refresh(conn)`` costs one
indexed single-row read, once per transaction (a write path asks many times: the records, the
rules, the flows; ``bump_revision`` in the same transaction makes the next call read again). Only
when an install or upgrade anywhere (this process or another) moved the revision are the form
specs recompiled and the Core tables rebuilt — and everything the other runtimes compiled
through ``compiled(kind, conn, build)`` (rules, reports and dashboards, flow specs) is dropped
with them, so no part of the runtime can serve a definition older than another's.
"""
from __future__ import annotations

import threading
from contextvars import ContextVar
from typing import Any, Callable, Iterator, TypeVar

import sqlalchemy as sa

from engines.form import FormSpec, compile_form

from .. import db
from ..exceptions import NotFound
from .mapping import FormTable, build_form_table


T = TypeVar("T")


#: ``conn.info`` key: the transaction in which the revision was last read on this connection
_CHECKED = "jimu_catalog_checked_in"

#: the revision read at the start of the current request, with its identity lookup (``Catalog.seen``)
_SEEN: ContextVar[tuple["Catalog", int] | None] = ContextVar("jimu_catalog_seen", default=None)

#: the revision's read, built once (``refresh`` runs it at the start of almost every transaction)
_READ = sa.select(db.catalog_revision.c.revision).where(db.catalog_revision.c.id == 1)

#: the revision as one column, for a statement that reads it along with something else
REVISION = _READ.scalar_subquery().label("catalog_revision")


def changed(conn: sa.Connection) -> None:
    """The revision moved in ``conn``'s transaction: the next ``refresh`` reads it again."""
    conn.info.pop(_CHECKED, None)


class UnknownForm(NotFound):
    code = "form.not_found"


class Catalog:
    def __init__(self) -> None:
        self.revision = -1
        self._forms: dict[str, FormTable] = {}
        #: what other runtimes compiled at ``self.revision``, by kind ("rules", "reports", "flow_specs")
        self._compiled: dict[str, Any] = {}
        self._lock = threading.RLock()

    def refresh(self, conn: sa.Connection, *, force: bool = False) -> "Catalog":
        tx = conn.get_transaction()
        if not force and tx is not None and conn.info.get(_CHECKED) is tx and self.revision >= 0:
            return self  # already checked in this transaction
        seen = _SEEN.get()
        if seen is not None:
            _SEEN.set(None)  # once: later transactions of the request read the revision themselves
            if not force and tx is not None and seen == (self, self.revision):
                conn.info[_CHECKED] = tx
                return self
        rev = conn.execute(_READ).scalar()
        if tx is not None:
            conn.info[_CHECKED] = tx
        if rev == self.revision and not force:
            return self
        with self._lock:
            if rev != self.revision or force:
                self._forms = self._load(conn)
                self._compiled = {}
                self.revision = rev
        return self

    def seen(self, revision: int | None) -> None:
        """The revision was read at the start of the current request (``REVISION``, with the API
        token): the request's first transaction takes it instead of reading it again, if it is the
        revision this process already holds (otherwise that transaction reads and loads as usual).
        As fresh as a read inside the transaction: both happen after the request arrived, and under
        READ COMMITTED the revision read and the writes after it were never one snapshot either.
        ``forget_seen`` ends it with the request, so nothing outside the request relies on it."""
        _SEEN.set(None if revision is None else (self, revision))

    @staticmethod
    def forget_seen() -> None:
        _SEEN.set(None)

    def compiled(self, kind: str, conn: sa.Connection, build: Callable[[sa.Connection], T]) -> T:
        """``build(conn)``'s result, computed once per revision: the rule runtime, the reports and the
        flow runtime keep what they compile from installed definitions here and nowhere else."""
        self.refresh(conn)
        compiled, rev = self._compiled, self.revision
        if kind in compiled:
            return compiled[kind]
        with self._lock:
            if self.revision == rev and kind in self._compiled:
                return self._compiled[kind]
            value = build(conn)
            if self.revision == rev:
                self._compiled[kind] = value
            return value

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
