"""Form definitions ↔ SQLAlchemy Core tables (the frictionless-py habit).

User-chosen keys never reach SQL text: every table and column has a
generated physical name (``f12``, ``c345``) recorded in ``jimu_form_fields``,
and the dialect quotes it. Links become foreign keys to the target form's
``id``; multi-values and sub-table rows live in child tables.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import sqlalchemy as sa

from engines.form import FormSpec
from engines.form.spec import FieldSpec
from engines.sqltypes import UTCDateTime

from ..exceptions import JimuError

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
TS = UTCDateTime()
SYSTEM_COLUMNS = ("id", "created_at", "updated_at", "created_by", "updated_by", "row_version")
#: the column holding a record's search document (``runtime.store.search``); never read as a value
SEARCH_COLUMN = "search_doc"


class UnknownField(JimuError):
    code = "record.unknown_field"


def system_columns() -> list[sa.Column]:
    return [
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("created_by", sa.Integer),
        sa.Column("updated_by", sa.Integer),
        sa.Column("row_version", sa.Integer, nullable=False),
    ]


def column_type(f: FieldSpec, nested: bool = False) -> sa.types.TypeEngine:
    """Inside a sub-table row, multi-values are kept as a JSON list in one column."""
    if nested and f.storage == "multi":
        return sa.JSON()
    return f.widget.sa_type()


@dataclass
class MultiTable:
    """A child table of values for one multi-valued field."""

    table: sa.Table
    field: FieldSpec


@dataclass
class ChildTable:
    """A child table of rows for one sub-table field."""

    table: sa.Table
    field: FieldSpec
    columns: dict[str, sa.Column]


@dataclass
class FormTable:
    """Everything the store and the report engine need about one form's tables.

    Also satisfies the report engine's ``FormSource`` protocol (``column``,
    ``field_kind``, ``link_target``).
    """

    key: str
    form_id: int
    spec: FormSpec
    table: sa.Table
    columns: dict[str, sa.Column] = field(default_factory=dict)
    multi: dict[str, MultiTable] = field(default_factory=dict)
    children: dict[str, ChildTable] = field(default_factory=dict)
    #: the app that installed the form
    app_key: str | None = None

    @property
    def row_columns(self) -> list[sa.Column]:
        """The columns a record is read from (all but the search document)."""
        return [c for c in self.table.columns if c.name != SEARCH_COLUMN]

    @property
    def id_column(self) -> sa.Column:
        return self.table.c.id

    def column(self, field_key: str) -> sa.Column:
        if field_key in SYSTEM_COLUMNS:
            return self.table.c[field_key]
        try:
            return self.columns[field_key]
        except KeyError:
            raise UnknownField(f"form {self.key!r} has no filterable field {field_key!r}",
                               form=self.key, field=field_key) from None

    def field_kind(self, field_key: str) -> str:
        self.column(field_key)
        return self.spec.value_kind(field_key)

    def child_column(self, field_key: str, column_key: str | None) -> tuple[sa.Column, sa.Column] | None:
        """(the child table's record id column, the column) of a sub-table's column (its row id for
        ``None``), else None; how the report engine aggregates ``sum(明细.金额)`` per record."""
        child = self.children.get(field_key)
        if child is None:
            return None
        if column_key is None:
            return child.table.c.record_id, child.table.c.id
        if column_key not in child.columns:
            return None
        return child.table.c.record_id, child.columns[column_key]

    def link_target(self, field_key: str) -> str | None:
        if field_key not in self.columns:
            return None
        w = self.spec.field(field_key).widget
        return getattr(w, "target", None) if w.value_kind == "link" else None


def build_form_table(metadata: sa.MetaData, *, form_id: int, table_name: str, spec: FormSpec,
                     physical: Mapping[tuple[str | None, str], str],
                     tables_by_form: Mapping[str, str]) -> FormTable:
    """Build the Core tables for ``spec``.

    ``physical`` maps (parent field key or None, field key) → physical name of
    each *active* field; ``tables_by_form`` maps form key → table name so link
    columns can reference their target.
    """
    cols: dict[str, sa.Column] = {}
    table_cols = system_columns()
    for f in spec.fields:
        if f.storage != "column":
            continue
        name = physical[(None, f.key)]
        args: list[Any] = []
        target = getattr(f.widget, "target", None)
        if f.widget.value_kind == "link" and target in tables_by_form:
            args.append(sa.ForeignKey(f"{tables_by_form[target]}.id", ondelete="SET NULL"))
        c = sa.Column(name, column_type(f), *args, nullable=True, key=name)
        cols[f.key] = c
        table_cols.append(c)
    table_cols.append(sa.Column(SEARCH_COLUMN, sa.Text, nullable=True))
    # AUTOINCREMENT: SQLite would otherwise hand a deleted record's id to the next record, which
    # would then inherit everything that still names that id (flows, audit, links, URLs)
    table = sa.Table(table_name, metadata, *table_cols, sqlite_autoincrement=True)
    ft = FormTable(key=spec.key, form_id=form_id, spec=spec, table=table, columns=cols)
    for f in spec.fields:
        if f.storage == "multi":
            name = physical[(None, f.key)]
            vargs: list[Any] = []
            target = getattr(f.widget, "target", None)
            if f.widget.value_kind == "link" and target in tables_by_form:
                vargs.append(sa.ForeignKey(f"{tables_by_form[target]}.id", ondelete="CASCADE"))
            mt = sa.Table(
                f"{table_name}_{name}", metadata,
                sa.Column("id", ID, primary_key=True, autoincrement=True),
                sa.Column("record_id", ID, sa.ForeignKey(f"{table_name}.id", ondelete="CASCADE"),
                          nullable=False, index=True),
                sa.Column("position", sa.Integer, nullable=False),
                sa.Column("value", f.widget.sa_type(), *vargs, nullable=False, index=True),
            )
            ft.multi[f.key] = MultiTable(mt, f)
        elif f.storage == "children":
            name = physical[(None, f.key)]
            ccols: dict[str, sa.Column] = {}
            child_cols = [
                sa.Column("id", ID, primary_key=True, autoincrement=True),
                sa.Column("record_id", ID, sa.ForeignKey(f"{table_name}.id", ondelete="CASCADE"),
                          nullable=False, index=True),
                sa.Column("position", sa.Integer, nullable=False),
            ]
            for cf in f.children.fields:
                if cf.storage in ("none", "children"):
                    continue
                cname = physical[(f.key, cf.key)]
                c = sa.Column(cname, column_type(cf, nested=True), nullable=True)
                ccols[cf.key] = c
                child_cols.append(c)
            ct = sa.Table(f"{table_name}_{name}", metadata, *child_cols)
            ft.children[f.key] = ChildTable(ct, f, ccols)
    return ft


def index_name(table_name: str, column_name: str) -> str:
    return f"ix_{table_name}_{column_name}"
