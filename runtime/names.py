"""What an id stored in a user, group or link field stands for: a user's name, a group's label,
a linked record's title. Pages show these instead of ids, and message templates fill ``{字段}``
placeholders with them, so a mail says "张三" where the record holds 7.

One ``ReferenceNames`` per request or rule firing: each id is read once."""
from __future__ import annotations

from typing import Any, Callable

import sqlalchemy as sa

from engines.form import label_text

from . import db

REFERENCE_KINDS = ("user", "group", "link")


class ReferenceNames:
    """With ``principal`` (pages pass the viewer), a linked record's title is shown only when the
    permission policy lets the viewer read that record and its title field; a rule's message is
    the package author's, so without a principal every title is shown."""

    def __init__(self, conn: sa.Connection, catalog, lang: str = "zh-CN", principal=None):
        self.conn, self.catalog, self.lang = conn, catalog, lang
        self.principal = principal
        self._cache: dict[tuple, str] = {}

    def name(self, f, value: int) -> str:
        """The name of ``value`` in field ``f``; ``#id`` when it is gone or not readable."""
        kind = f.widget.value_kind
        target = f.widget.config.get("form") if kind == "link" else None
        key = (kind, target, value)
        if key not in self._cache:
            self._cache[key] = self._read(kind, target, value) or f"#{value}"
        return self._cache[key]

    def _read(self, kind: str, target: str | None, value: int) -> str | None:
        if kind == "user":
            row = self.conn.execute(sa.select(db.users.c.username, db.users.c.display_name)
                                    .where(db.users.c.id == value)).first()
            return row and (row.display_name or row.username)
        if kind == "group":
            row = self.conn.execute(sa.select(db.groups.c.key, db.groups.c.label)
                                    .where(db.groups.c.id == value)).first()
            return row and label_text(row.label, self.lang, row.key)
        if target and target in self.catalog:
            ft = self.catalog.form(target)
            if not ft.spec.title_field or ft.spec.title_field not in ft.columns:
                return None
            q = sa.select(ft.columns[ft.spec.title_field]).where(ft.table.c.id == value)
            if self.principal is not None:
                from .auth import policy
                if not policy.can(self.principal, "read", target) or \
                        ft.spec.title_field in policy.hidden_fields(self.principal, target):
                    return None
                clause = policy.row_filter(self.principal, ft)
                if clause is not None:
                    q = q.where(clause)
            title = self.conn.execute(q).scalar()
            return None if title is None else str(title)
        return None

    def display(self, f, value: Any) -> Any:
        """``value`` with its ids replaced by names when ``f`` holds references; else unchanged."""
        if f is None or f.widget.value_kind not in REFERENCE_KINDS:
            return value
        if isinstance(value, list):
            return [self.name(f, v) if _is_id(v) else v for v in value]
        return self.name(f, value) if _is_id(value) else value

    def for_form(self, ft) -> Callable[[str, Any], Any]:
        """A template's ``names`` hook for records of ``ft``: placeholder key, value → shown value."""
        spec = ft.spec if ft is not None else None

        def names(key: str, value: Any) -> Any:
            if spec is None or not spec.has_field(key):
                return value
            return self.display(spec.field(key), value)
        return names


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def reference_names(jimu, conn: sa.Connection, form_key: str | None) -> Callable[[str, Any], Any] | None:
    """The ``names`` hook for messages about a record of ``form_key``, in the deployment's language."""
    if not form_key or form_key not in jimu.catalog:
        return None
    names = ReferenceNames(conn, jimu.catalog, jimu.config.get("LANGUAGE") or "zh-CN")
    return names.for_form(jimu.catalog.form(form_key))
