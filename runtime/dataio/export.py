"""Exporting the records of a list view — its filters, search, sort and columns — as XLSX or CSV,
and the import template of a form.

The records come from ``Records.iter_list``: the list's own permission checks (the verb, the row
scope as a SQL clause, fields hidden from the reader neither exported nor usable as filters), read
in streamed batches. Cells carry what the list shows, not storage keys: option labels in the
reader's language, users' and linked records' names (through ``ReferenceNames``, which shows a
linked title only when the reader may read it), local dates and times; numbers stay numbers.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterator
from zoneinfo import ZoneInfo

from engines.form import label_text

from ..auth import policy
from ..names import ReferenceNames
from ..records import Records
from . import writers
from .mapping import NOT_IMPORTABLE, field_heading, importable_fields

NUMERIC = ("number", "money", "percent", "rating")


def export_columns(ft, principal) -> list:
    """The list's columns for this reader: the form's ``list_fields`` (or every field with a value of
    its own), minus the fields hidden from them."""
    hidden = policy.hidden_fields(principal, ft.key)
    fields = [f for f in ft.spec.fields if f.storage not in NOT_IMPORTABLE and f.key not in hidden]
    shown = ft.spec.definition.get("list_fields")
    return [f for f in fields if f.key in shown] if shown else fields


def export_records(jimu, principal, form_key: str, *, fmt: str, lang: str, filters: Any = None,
                   sort: str | None = None, q: str | None = None) -> Iterator[bytes]:
    """The file's bytes, produced as they are sent. Permission errors are raised before the first
    byte (the caller's response is still a proper error)."""
    with jimu.read() as conn:  # check now: verb, hidden filter fields, unknown view fields
        records = Records(jimu, conn, principal, source="export")
        records._list_where(form_key, filters, sort, q)
        ft = records.form(form_key)
        columns = export_columns(ft, principal)
    header = ["ID", *(field_heading(f, lang) for f in columns)]

    def rows() -> Iterator[list]:
        with jimu.read() as conn:
            records = Records(jimu, conn, principal, source="export")
            cell = _Cells(conn, jimu, principal, lang, fmt)
            for record in records.iter_list(form_key, filters=filters, sort=sort, q=q):
                yield [record["id"], *(cell(f, record.get(f.key)) for f in columns)]
    return writers.stream(fmt, header, rows(), sheet=ft.spec.label_text(lang))


class _Cells:
    def __init__(self, conn, jimu, principal, lang: str, fmt: str):
        self.names = ReferenceNames(conn, jimu.catalog, lang, principal)
        self.lang, self.fmt = lang, fmt
        self.zone = ZoneInfo(jimu.config.get("TIMEZONE") or "UTC")

    def __call__(self, f, value: Any) -> Any:
        if value is None or value == "" or value == []:
            return None
        kind = f.widget.value_kind
        if isinstance(value, list):
            return ", ".join(str(self(f, v)) for v in value)
        if kind in NUMERIC and isinstance(value, (int, float)) and not isinstance(value, bool):
            return int(value) if isinstance(value, float) and value.is_integer() and abs(value) < 1e15 else value
        if kind in ("user", "group", "link") and isinstance(value, int):
            return self.names.name(f, value)
        if isinstance(value, bool):
            return ("是" if value else "否") if self.lang.startswith("zh") else ("Yes" if value else "No")
        choices = getattr(f.widget, "choices", None)
        if choices is not None:
            return choices.label(value, self.lang)
        if isinstance(value, datetime):
            local = value.astimezone(self.zone).replace(tzinfo=None) if value.tzinfo else value
            return local if self.fmt == "xlsx" else local.isoformat(sep=" ", timespec="minutes")
        if isinstance(value, date):
            return value if self.fmt == "xlsx" else value.isoformat()
        if hasattr(value, "isoformat"):
            return value.isoformat()
        if isinstance(value, dict):
            return str(value.get("name") or value.get("id") or "")
        return value if isinstance(value, (int, float, str)) else str(value)


def records_download(jimu, principal, ft, fmt: str, *, lang: str, filters: Any = None, sort: str | None = None,
                     q: str | None = None):
    """The download of a list (``export_records``) named after its form and the time: the REST export's
    and the list page's."""
    writers.check_format(fmt)
    chunks = export_records(jimu, principal, ft.key, fmt=fmt, lang=lang, filters=filters, sort=sort, q=q)
    return writers.response(chunks, fmt, f"{ft.spec.label_text(lang)}-{jimu.now():%Y%m%d-%H%M}.{fmt}")


def template_download(jimu, principal, form_key: str, lang: str):
    """The import template of ``form_key`` (``template``) as a download, for a caller who may create its
    records: the REST one's and the list page's."""
    with jimu.read():
        ft = jimu.catalog.form(form_key)
        policy.require(principal, "create", form_key)
    return writers.response(template(ft, principal, lang), "xlsx", f"{ft.spec.label_text(lang)}-template.xlsx")


def template(ft, principal, lang: str) -> Iterator[bytes]:
    """An XLSX with one column per field the reader may import (headed by its label, ``*`` for a
    required one) and a drop-down list of the option labels on choice columns."""
    fields = importable_fields(ft, principal)
    header = [field_heading(f, lang) + ("*" if f.required else "") for f in fields]
    validations = []
    for i, f in enumerate(fields):
        choices = getattr(f.widget, "choices", None)
        if choices is not None and choices.values:
            validations.append((i, [label_text(o["label"], lang, o["value"]) for o in choices.options]))
        elif f.widget.type == "switch":
            validations.append((i, ["是", "否"] if lang.startswith("zh") else ["Yes", "No"]))
    return writers.xlsx_stream(header, [], sheet=ft.spec.label_text(lang), validations=validations)
