"""Field references of a chart, resolved to columns of the form's table or of a joined form.

A chart reads one form (its *base*) and may follow single-link fields to their
target forms: ``{"field": "customer", "as": "c"}`` makes ``c.vip_level`` address
the ``vip_level`` field of the linked record, and without a declared join
``customer.vip_level`` (the link field's key, as expressions write it) joins it. Joins are LEFT OUTER JOINs on the
target's id column, so a link is many-to-one and never multiplies base rows.
The alias the user writes (``c``) is only a prefix in field references: the SQL
alias is generated (``j0``), user text never reaches SQL.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field as dc_field
from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.sql.util import ClauseAdapter

from ..errors import JimuError
from .exceptions import ReportError
from .source import FormSource, Source

NUMERIC_KINDS = frozenset({"number", "money", "duration", "integer", "decimal", "percent", "rating"})
TEMPORAL_KINDS = frozenset({"date", "datetime"})
ALIAS_RE = re.compile(r"^[^\W\d]\w{0,30}$")
#: prefix of the per-record process fields (``process.first_response_minutes``); not a join alias
PROCESS = "process"


@dataclass(frozen=True)
class Field:
    """A resolved field reference: its SQL column, widget kind and record-list path.

    ``path`` is the reference with join aliases replaced by link field keys
    (``customer.vip_level``): that is how the runtime's record list names it.
    """

    ref: str
    column: sa.ColumnElement
    kind: str
    path: str
    #: stored value -> label (a string or a {"zh-CN", "en"} map) for fields with fixed options
    labels: Mapping[Any, Any] | None = dc_field(default=None, compare=False, hash=False)
    #: the field's own label (a string or a {"zh-CN", "en"} map): axis titles and table headers use it
    label: Any = dc_field(default=None, compare=False, hash=False)

    @property
    def python_type(self) -> type | None:
        kind = self.column.type
        kind = getattr(kind, "impl_instance", None) or getattr(kind, "impl", kind)  # a TypeDecorator's base
        try:
            return kind.python_type
        except NotImplementedError:
            return None


@dataclass(frozen=True)
class _Join:
    form: FormSource
    adapter: ClauseAdapter
    path: str


class FieldResolver:
    """Resolves field references of one chart and builds its FROM clause."""

    def __init__(self, source: Source, base: FormSource):
        self.source = source
        self.base = base
        self.from_clause: sa.FromClause = base.table
        self._joins: dict[str, _Join] = {}
        self._cache: dict[str, Field] = {}

    def add_join(self, link_ref: str, alias: str) -> None:
        """Follow the single-link field ``link_ref`` and name the target form ``alias``."""
        if not ALIAS_RE.match(alias):
            raise ReportError(f"join alias {alias!r} must be a short name of letters, digits and _",
                              code="report.bad_alias", alias=alias)
        if alias == PROCESS:
            raise ReportError(f"join alias {PROCESS!r} is reserved for process fields; choose another",
                              code="report.bad_alias", alias=alias)
        if alias in self._joins:
            raise ReportError(f"join alias {alias!r} is used twice; give each join its own 'as'",
                              code="report.duplicate_alias", alias=alias)
        link = self.resolve(link_ref)
        form, key = self._owner(link_ref)
        target_key = form.link_target(key)
        if not target_key:
            raise ReportError(f"field {link_ref!r} is not a single-link field; join only link fields",
                              code="report.not_a_link", field=link_ref)
        target = self.source.form(target_key)
        table = target.table.alias(f"j{len(self._joins)}")
        adapter = ClauseAdapter(table)
        self.from_clause = self.from_clause.outerjoin(table, adapter.traverse(target.id_column) == link.column)
        self._joins[alias] = _Join(target, adapter, link.path)

    def joined_forms(self) -> tuple[str, ...]:
        """Keys of the forms reached through joins (the viewer must be allowed to read them too)."""
        return tuple(j.form.key for alias, j in self._joins.items() if alias != PROCESS)

    def used(self) -> tuple[str, ...]:
        """Every reference resolved so far (a compiled chart snapshots it: the fields it reads)."""
        return tuple(self._cache)

    def owners(self, refs) -> tuple[tuple[str, str], ...]:
        """(form key, field key) of each resolvable reference; process fields are not a form's."""
        out = []
        for ref in refs:
            prefix, dot, _ = ref.partition(".") if isinstance(ref, str) else ("", "", "")
            if (dot and prefix == PROCESS) or not isinstance(ref, str):
                continue
            if dot and prefix not in self._joins:
                continue  # not a reference this chart can resolve; compiling it reports the error
            form, key = self._owner(ref)
            out.append((form.key, key))
        return tuple(out)

    def join_scope(self, scope_of) -> sa.ColumnElement[bool] | None:
        """Limit joined records to those ``scope_of(form_key)`` admits (a condition on that form's
        table, or None for all): a base row whose linked record is out of scope is left out, so no
        value of that record reaches a chart; rows without a link stay."""
        parts = []
        for alias, join in self._joins.items():
            if alias == PROCESS:
                continue
            clause = scope_of(join.form.key)
            if clause is None:
                continue
            parts.append(sa.or_(join.adapter.traverse(join.form.id_column).is_(None),
                                join.adapter.traverse(clause)))
        return sa.and_(*parts) if parts else None

    def has(self, ref: str) -> bool:
        try:
            self.resolve(ref)
        except JimuError:
            return False
        return True

    def resolve(self, ref: str) -> Field:
        """The ``Field`` of a reference; ``report.unknown_field`` if the form has no such field."""
        if not isinstance(ref, str) or not ref:
            raise ReportError("a field reference must be a non-empty field key",
                              code="report.unknown_field", field=repr(ref))
        hit = self._cache.get(ref)
        if hit is not None:
            return hit
        form, key = self._owner(ref)
        column = form.column(key)
        kind = form.field_kind(key)
        join = self._join_of(ref)
        if join is not None:
            column = join.adapter.traverse(column)
            path = f"{join.path}.{key}"
        else:
            path = key
        getter = getattr(form, "choice_labels", None)
        labels = getter(key) if getter is not None else None
        named = getattr(form, "field_label", None)
        field = Field(ref, column, kind, path, labels or None, named(key) if named is not None else None)
        self._cache[ref] = field
        return field

    def _join_of(self, ref: str) -> _Join | None:
        prefix, dot, _ = ref.partition(".")
        if dot and prefix == PROCESS and PROCESS not in self._joins:
            self._join_process()
        if dot and prefix not in self._joins and prefix != PROCESS and self._is_link(prefix):
            self.add_join(prefix, prefix)  # 客户.等级 follows the link 客户, as expressions elsewhere do
        return self._joins.get(prefix) if dot else None

    def _is_link(self, key: str) -> bool:
        try:
            return bool(self.base.link_target(key))
        except JimuError:
            return False

    def _join_process(self) -> None:
        """LEFT JOIN the runtime's per-record process data the first time a ``process.`` field is used."""
        provider = getattr(self.source, "process", None)
        process = provider(self.base.key) if provider is not None else None
        if process is None:
            raise ReportError(f"form {self.base.key!r} keeps no process data; 'process.' fields need a flow "
                              "or the runtime's process tracking", code="report.no_process_data")
        table = process.table.alias("p0")
        adapter = ClauseAdapter(table)
        on = adapter.traverse(process.record_column) == self.base.id_column
        scope = getattr(process, "scope", None)  # a shared table: the bound condition selecting this form's rows
        if scope is not None:
            on = sa.and_(on, adapter.traverse(scope))
        self.from_clause = self.from_clause.outerjoin(table, on)
        self._joins[PROCESS] = _Join(process, adapter, PROCESS)

    def _owner(self, ref: str) -> tuple[FormSource, str]:
        join = self._join_of(ref)
        if join is None:
            return self.base, ref
        return join.form, ref.partition(".")[2]
