"""Stored values across a field's type change (number → text, text → number, date → datetime ...).

Publishing a changed field type adds a new column for the field (the old one
is retired, its values kept). This module moves the stored values into the new
column, converted by the new widget, when the conversion is lossless — and
otherwise refuses the whole publish with ``FieldTypeChangeLoses``, naming the
values that would be lost, so that nothing turns into null silently.

One rule decides for every pair of widgets, plugins included: a value converts
when the new widget accepts it (``clean``) and the old widget reads the result
back as the same value. So number → text, date → datetime, single choice →
text, choice → multiple choice convert; text → number converts only when every
value is a number written plainly ("012" would come back as "12": refused), and
datetime → date only for midnight values.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engines.form.exceptions import FieldError
from engines.form.spec import FieldSpec

from ..exceptions import JimuError
from .mapping import ID, column_type

#: values shown in a refusal
PREVIEW = 10


class FieldTypeChangeLoses(JimuError):
    code = "app.field_type_lossy"
    status = 409


@dataclass(frozen=True)
class Conversion:
    """One field whose type changed: where its values are and where they go."""

    form: str
    old: FieldSpec
    new: FieldSpec
    #: the main table (top-level field) or the sub-table's child table (``parent`` is its key)
    table: str
    parent: str | None
    old_physical: str
    new_physical: str

    @property
    def label(self) -> str:
        return self.new.key if self.parent is None else f"{self.parent}.{self.new.key}"


def convert_value(old: FieldSpec, new: FieldSpec, value: Any) -> Any:
    """``value`` (stored for ``old``) as ``new`` stores it; ``FieldError`` when that would lose it."""
    raw = old.widget.export_value(value)
    wrap = new.storage == "multi" and old.storage != "multi"
    converted = new.widget.clean([raw] if wrap and not isinstance(raw, list) else raw)
    back_raw = new.widget.export_value(converted)
    if wrap and isinstance(back_raw, list) and len(back_raw) == 1:
        back_raw = back_raw[0]
    try:
        back = old.widget.clean(back_raw)
    except FieldError:
        back = _LOST
    if back != value:
        shown = back_raw if back is _LOST else old.widget.export_value(back)
        raise FieldError(f"it would come back as {shown!r}", code="convert.lossy")
    return converted


_LOST = object()


def apply(conn: sa.Connection, conversions: list[Conversion]) -> None:
    """Convert every changed field's stored values, or raise ``FieldTypeChangeLoses`` (nothing written)."""
    for c in conversions:
        if "children" in (c.old.storage, c.new.storage):
            _refuse_if_stored(conn, c)
            continue
        rows = _read(conn, c)
        converted, lost = [], []
        for rid, value in rows:
            try:
                converted.append((rid, convert_value(c.old, c.new, value)))
            except FieldError as exc:
                lost.append({"id": rid, "value": _shown(c.old, value), "problem": exc.message})
        if lost:
            _refuse(c, lost, len(rows))
        _write(conn, c, converted)


def type_signature(f: FieldSpec, bind, nested: bool) -> str:
    """What a field's storage is: a change of it is a type change whose values need converting."""
    return f"{f.storage}:{column_type(f, nested).compile(dialect=bind.dialect)}"


def preview(conn: sa.Connection, definitions) -> list[dict]:
    """For a dry run: per field whose type the new ``definitions`` change, how many stored values
    convert and which would be lost (what ``apply`` would refuse), without writing anything."""
    from engines.form import compile_form

    from .. import db
    forms = {r.key: r for r in conn.execute(sa.select(db.forms.c.id, db.forms.c.key, db.forms.c.table_name,
                                                      db.forms.c.definition))}
    out = []
    for definition in definitions:
        row = forms.get(definition.get("key"))
        if row is None or not row.definition:
            continue
        try:
            old_spec, new_spec = compile_form(row.definition), compile_form(definition)
        except JimuError:
            continue   # the definition's own errors are the compile pipeline's to report
        columns = {(r.parent_id, r.key): r for r in conn.execute(
            sa.select(db.form_fields).where(db.form_fields.c.form_id == row.id, db.form_fields.c.status == "active"))}
        pairs = [(None, f, old_spec.field(f.key)) for f in new_spec.fields if old_spec.has_field(f.key)]
        for _, f, old in list(pairs):
            if f.children is not None and old.children is not None and (None, f.key) in columns:
                pairs += [(f.key, cf, old.children.field(cf.key)) for cf in f.children.fields
                          if old.children.has_field(cf.key)]
        for parent, new, old in pairs:
            nested = parent is not None
            if "none" in (old.storage, new.storage) or \
                    type_signature(old, conn, nested) == type_signature(new, conn, nested):
                continue
            parent_row = columns.get((None, parent)) if nested else None
            stored = columns.get((parent_row.id if parent_row else None, new.key))
            if stored is None:
                continue
            table = row.table_name if parent_row is None else f"{row.table_name}_{parent_row.physical_name}"
            c = Conversion(row.key, old, new, table, parent, stored.physical_name, "")
            out.append(_trial(conn, c))
    return out


def _trial(conn: sa.Connection, c: Conversion) -> dict:
    if "children" in (c.old.storage, c.new.storage):
        try:
            _refuse_if_stored(conn, c)
            lost, stored = [], 0
        except FieldTypeChangeLoses as exc:
            lost, stored = exc.context["preview"], exc.context["stored"]
        return _summary(c, stored, lost, len(lost))
    rows = _read(conn, c)
    lost = []
    for rid, value in rows:
        try:
            convert_value(c.old, c.new, value)
        except FieldError as exc:
            lost.append({"id": rid, "value": _shown(c.old, value), "problem": exc.message})
    return _summary(c, len(rows), lost[:PREVIEW], len(lost))


def _summary(c: Conversion, stored: int, preview: list[dict], lost: int) -> dict:
    return {"form": c.form, "field": c.label, "from_widget": c.old.widget.type, "to_widget": c.new.widget.type,
            "stored": stored, "converted": stored - lost, "lost": lost, "preview": preview}


def _read(conn: sa.Connection, c: Conversion) -> list[tuple[int, Any]]:
    nested = c.parent is not None
    if c.old.storage == "multi" and not nested:
        t = _multi_table(c.table, c.old_physical, c.old)
        out: dict[int, list] = {}
        for rid, value in conn.execute(sa.select(t.c.record_id, t.c.value).order_by(t.c.record_id, t.c.position)):
            out.setdefault(rid, []).append(value)
        return list(out.items())
    t = sa.Table(c.table, sa.MetaData(), sa.Column("id", ID, primary_key=True),
                 sa.Column(c.old_physical, column_type(c.old, nested)))
    col = t.c[c.old_physical]
    return [(rid, value) for rid, value in conn.execute(sa.select(t.c.id, col).where(col.is_not(None))
                                                       .order_by(t.c.id))]


def _write(conn: sa.Connection, c: Conversion, converted: list[tuple[int, Any]]) -> None:
    if not converted:
        return
    nested = c.parent is not None
    if c.new.storage == "multi" and not nested:
        t = _multi_table(c.table, c.new_physical, c.new)
        rows = [{"record_id": rid, "position": i, "value": v} for rid, values in converted
                for i, v in enumerate(values or [])]
        if rows:
            conn.execute(sa.insert(t), rows)
        return
    t = sa.Table(c.table, sa.MetaData(), sa.Column("id", ID, primary_key=True),
                 sa.Column(c.new_physical, column_type(c.new, nested)))
    stmt = sa.update(t).where(t.c.id == sa.bindparam("rid")).values({c.new_physical: sa.bindparam("v")})
    conn.execute(stmt, [{"rid": rid, "v": v} for rid, v in converted])


def _multi_table(parent_table: str, physical: str, f: FieldSpec) -> sa.Table:
    return sa.Table(f"{parent_table}_{physical}", sa.MetaData(), sa.Column("id", ID, primary_key=True),
                    sa.Column("record_id", ID), sa.Column("position", sa.Integer),
                    sa.Column("value", f.widget.sa_type()))


def _refuse_if_stored(conn: sa.Connection, c: Conversion) -> None:
    """A sub-table turned into a scalar (or back) has no conversion: refused while it holds values."""
    if c.old.storage == "children":
        t = sa.Table(f"{c.table}_{c.old_physical}", sa.MetaData(), sa.Column("id", ID), sa.Column("record_id", ID))
        rows = conn.execute(sa.select(t.c.record_id, sa.func.count()).group_by(t.c.record_id)
                            .order_by(t.c.record_id)).all()
        lost = [{"id": rid, "value": f"{n} row(s)", "problem": "a sub-table has no conversion"} for rid, n in rows]
    else:
        lost = [{"id": rid, "value": _shown(c.old, v), "problem": "a sub-table has no conversion"}
                for rid, v in _read(conn, c)]
    if lost:
        _refuse(c, lost, len(lost))


def _shown(f: FieldSpec, value: Any) -> Any:
    from ..audit import jsonable
    try:
        return jsonable(f.widget.export_value(value))
    except Exception:  # noqa: BLE001 — a preview never fails the refusal itself
        return str(value)


def _refuse(c: Conversion, lost: list[dict], stored: int) -> None:
    first = lost[0]
    raise FieldTypeChangeLoses(
        f"changing field {c.label!r} of {c.form!r} from {c.old.widget.type} to {c.new.widget.type} would lose "
        f"{len(lost)} of {stored} stored value(s) (record {first['id']}: {first['value']!r}, {first['problem']}); "
        "correct or clear those values first, or add a new field instead of changing this one's type",
        form=c.form, field=c.label, from_widget=c.old.widget.type, to_widget=c.new.widget.type,
        lost=len(lost), stored=stored, preview=lost[:PREVIEW])
