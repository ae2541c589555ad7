"""Which spreadsheet column fills which field, and how a cell becomes the raw value ``clean`` reads.

A column maps to a field when its heading is the field's label in any language or its key (blanks,
case and a trailing ``*``, the template's mark of a required field, ignored). What the form engine
already understands stays with it: options by label, dates, numbers, yes/no (``widget.import_cell``).
What only the runtime knows is resolved here, a chunk of rows at a time: a **link** by a chosen key
field of the linked form (default: its title field; ``id`` for ids) among the records the importer
may read, a **user** by user name or display name. A cell that names nothing, or more than one
record, is an error of that cell.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from datetime import date, datetime, time
from typing import Any, Iterable, Mapping, Sequence

import sqlalchemy as sa

from engines.errors import JimuError
from engines.form import label_text

from .. import db
from ..auth import policy

#: widgets whose values do not come from one cell (sub-tables, files)
NOT_IMPORTABLE = ("children", "none")


class BadMapping(JimuError):
    code = "import.bad_mapping"
    status = 400


def importable_fields(ft, principal) -> list:
    """The fields a person may fill from a file: input fields, not read-only (for the form or for
    their role), not hidden from them, not sub-tables or files."""
    closed = policy.field_access(principal, ft.key)
    return [f for f in ft.spec.input_fields
            if f.storage not in NOT_IMPORTABLE and not f.read_only and f.key not in closed
            and not getattr(f.widget, "accepts_files", False)]


def _norm(text: Any) -> str:
    return "".join(str(text or "").split()).rstrip("*＊").casefold()


def auto_map(fields: Sequence, header: Sequence[str]) -> dict[str, str]:
    """Heading → field key for every heading that names a field (by any label or its key), once each."""
    names: dict[str, str] = {}
    for f in fields:
        label = f.definition.get("label")
        texts = list(label.values()) if isinstance(label, Mapping) else [label]
        for text in [*texts, f.key]:
            if text:
                names.setdefault(_norm(text), f.key)
    out, used = {}, set()
    for heading in header:
        key = names.get(_norm(heading))
        if key and key not in used and heading not in out:
            out[heading] = key
            used.add(key)
    return out


def check_mapping(fields: Sequence, header: Sequence[str], mapping: Mapping[str, str]) -> dict[str, str]:
    """A user's mapping (heading → field key; empty = skip the column), checked against the file and form."""
    allowed = {f.key for f in fields}
    out = {}
    for heading, key in (mapping or {}).items():
        if not key:
            continue
        if heading not in header:
            raise BadMapping(f"the file has no column {heading!r}; map the file's own headings",
                             heading=heading)
        if key not in allowed:
            raise BadMapping(f"field {key!r} cannot be imported (unknown, computed, read-only or hidden from "
                             "you); map the column to another field or skip it", field=key)
        if key in out.values():
            raise BadMapping(f"two columns are mapped to field {key!r}; map one of them", field=key)
        out[heading] = key
    if not out:
        raise BadMapping("no column is mapped to a field; map at least one column")
    return out


@dataclass
class Converter:
    """Cells of one file → raw values of one form, a chunk at a time (lookups batched per chunk)."""

    conn: sa.Connection
    catalog: Any
    principal: Any
    ft: Any
    header: list[str]
    mapping: dict[str, str]
    #: link field key → key field of the linked form (``id``, or a field key; default its title field)
    link_keys: dict[str, str] = dc_field(default_factory=dict)

    def __post_init__(self):
        index = {h: i for i, h in enumerate(self.header)}
        self.columns = [(index[h], self.ft.spec.field(k)) for h, k in self.mapping.items()]
        #: (cell index, field key, the cell's conversion) per mapped column, made once per file
        self._cells = [(i, f.key, self._cell_function(f)) for i, f in self.columns]
        self._users: dict[str, list[int]] = {}
        self._links: dict[str, dict[str, list[int]]] = {}
        for _, f in self.columns:
            if f.widget.value_kind == "link":
                self._link_target(f)  # refuse an unusable key field before the first row

    def _link_target(self, f) -> tuple[Any, str]:
        target = self.catalog.form(f.widget.config["form"])
        policy.require(self.principal, "read", target.key)
        key = self.link_keys.get(f.key) or target.spec.title_field or "id"
        if key != "id" and (key not in target.columns or key in policy.hidden_fields(self.principal, target.key)):
            raise BadMapping(f"link field {f.key!r}: {target.key!r} has no field {key!r} you can read to find "
                             "records by; choose another key field (or id)", field=f.key, key_field=key)
        return target, key

    def convert(self, rows: Sequence[Sequence[Any]]) -> list[tuple[dict[str, Any], list[dict]]]:
        """Each row as ``(data, errors)``: the raw values for ``Records``, and the cells that named nothing."""
        self._prefetch(rows)
        out = []
        columns = self._cells
        for cells in rows:
            data, errors = {}, []
            n = len(cells)
            for i, key, cell in columns:
                try:
                    data[key] = cell(cells[i] if i < n else None)
                except _CellError as exc:
                    errors.append({"code": exc.code, "field": key, "message": exc.message, "value": exc.value})
            out.append((data, errors))
        return out

    # -- one cell ---------------------------------------------------------------------------------
    def _cell_function(self, f):
        """``_value`` for field ``f``, with the common case decided once: a text cell of a field whose
        widget reads cells as the base ``Widget`` does (text as it is, JSON when it starts with [ or {)
        is its stripped text, without the per-cell checks of the other kinds of value."""
        from engines.form.widget import Widget

        def value(v, f=f):
            return self._value(f, v)
        widget = type(f.widget)
        if (f.widget.value_kind in ("user", "link") or widget.import_cell is not Widget.import_cell
                or widget.import_value is not Widget.import_value):
            return value

        def text_cell(v):
            if type(v) is str:
                v = v.strip()
                if not v:
                    return None
                if v[0] not in "[{":
                    return v
            return value(v)
        return text_cell

    def _value(self, f, value: Any) -> Any:
        kind = f.widget.value_kind
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                return None
        if value is None:
            return None
        if kind == "user":
            return self._many(f, value, self._user_id)
        if kind == "link":
            return self._many(f, value, lambda text: self._link_id(f, text))
        if isinstance(value, datetime):
            return value.date().isoformat() if kind == "date" else value.isoformat()
        if isinstance(value, (date, time)):
            return value.isoformat()
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            if kind in ("number", "money", "duration") or f.widget.type in ("rating", "percent"):
                return value
            value = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        return f.widget.import_cell(str(value))

    def _many(self, f, value: Any, one) -> Any:
        texts = _parts(value) if f.storage == "multi" else [_plain(value)]
        ids = [one(t) for t in texts]
        return ids if f.storage == "multi" else ids[0]

    def _user_id(self, text: str) -> int:
        found = self._users.get(text, [])
        if len(found) == 1:
            return found[0]
        if not found and text.isdigit() and int(text) in self._user_ids:
            return int(text)
        raise _CellError("import.user_not_found" if not found else "import.user_ambiguous", text,
                         f"no user is called {text!r}; use a user name or display name / 找不到成员 {text}"
                         if not found else f"several users are called {text!r}; use the user name / 成员 {text} 重名")

    def _link_id(self, f, text: str) -> int:
        found = self._links.get(f.key, {}).get(text, [])
        if len(found) == 1:
            return found[0]
        target, key = self._link_target(f)
        name = target.spec.label_text()
        raise _CellError("import.link_not_found" if not found else "import.link_ambiguous", text,
                         f"no {name} record has {key} {text!r} / 找不到{name}：{text}" if not found else
                         f"several {name} records have {key} {text!r}; choose a unique key field / {name} 不唯一：{text}")

    # -- lookups, once per chunk --------------------------------------------------------------------
    def _prefetch(self, rows: Sequence[Sequence[Any]]) -> None:
        users, links = set(), {}
        for i, f in self.columns:
            kind = f.widget.value_kind
            if kind not in ("user", "link"):
                continue
            texts = set()
            for cells in rows:
                value = cells[i] if i < len(cells) else None
                if value is None or (isinstance(value, str) and not value.strip()):
                    continue
                texts.update(_parts(value) if f.storage == "multi" else [_plain(value)])
            if kind == "user":
                users |= texts
            else:
                links[f.key] = texts
        self._users, self._user_ids = self._find_users(users), set()
        if users:
            numeric = [int(t) for t in users if t.isdigit()]
            if numeric:
                self._user_ids = set(self.conn.execute(sa.select(db.users.c.id).where(
                    db.users.c.id.in_(numeric))).scalars())
        self._links = {key: self._find_links(key, texts) for key, texts in links.items()}

    def _find_users(self, texts: set[str]) -> dict[str, list[int]]:
        """Text → user ids: a user name (unique) names one user and wins over display names."""
        if not texts:
            return {}
        u = db.users.c
        by_name: dict[str, list[int]] = {}
        by_display: dict[str, list[int]] = {}
        for chunk in _chunks(sorted(texts), 500):
            q = sa.select(u.id, u.username, u.display_name).where(
                sa.or_(u.username.in_(chunk), u.display_name.in_(chunk)))
            for uid, username, display in self.conn.execute(q):
                if username in texts:
                    by_name[username] = [uid]
                if display in texts:
                    by_display.setdefault(display, []).append(uid)
        return {**by_display, **by_name}

    def _find_links(self, key: str, texts: set[str]) -> dict[str, list[int]]:
        if not texts:
            return {}
        target, key_field = self._link_target(self.ft.spec.field(key))
        t = target.table
        col = t.c.id if key_field == "id" else target.columns[key_field]
        clause = policy.row_filter(self.principal, target)
        out: dict[str, list[int]] = {}
        values = sorted(texts)
        if key_field == "id":
            values = [int(v) for v in values if v.isdigit() and int(v) < 2 ** 63]
        for chunk in _chunks(values, 500):
            q = sa.select(t.c.id, col).where(col.in_(chunk))
            if clause is not None:
                q = q.where(clause)
            for rid, found in self.conn.execute(q):
                out.setdefault(str(found), []).append(rid)
        return out


class _CellError(Exception):
    def __init__(self, code: str, value: Any, message: str):
        super().__init__(message)
        self.code, self.value, self.message = code, value, message


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _parts(value: Any) -> list[str]:
    text = _plain(value).replace("，", ",").replace("；", ",").replace(";", ",")
    return [p.strip() for p in text.split(",") if p.strip()]


def _chunks(items: list, n: int) -> Iterable[list]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def field_heading(f, lang: str) -> str:
    """The column heading of a field in templates and exports: its label in the reader's language."""
    return label_text(f.definition.get("label"), lang, f.key)
