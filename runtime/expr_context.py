"""What expressions see besides the record's own values: linked records and business calendars.

Linked records (what ``客户.等级`` reads):

The expression engine never touches the database: ``EvalContext.links`` maps a
link field's key to the record it points to (a list of records for a multiple
link). Before a form's formulas and conditions, a rule's condition or a flow's
edge conditions are evaluated, the runtime prefetches exactly the links those
expressions read (``Expression.paths``), one query per link field, and hands
them over in the context.

Linked values are read like a report's join: through the definition the
builder published, not through the end user's read permission on the linked
form (a formula is part of the form, as a chart's join is part of the chart).

Business calendars: ``InstalledCalendars`` (``EvalContext.calendars``) holds the
calendars of the installed packages by key, for ``working_minutes(a, b, "office")``
and for the flow engine's working-time timers.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import sqlalchemy as sa

from engines.calendar import BusinessCalendar
from engines.errors import JimuError

from . import db
from .memo import once

MAX_LINKED = 200


def installed_calendars(catalog, conn: sa.Connection) -> dict[str, BusinessCalendar]:
    """The business calendars of the installed packages, by key, read once per catalogue revision
    (packages are installed only by an install, which moves it). A broken calendar is skipped: it
    is reported where the package is checked."""
    def load(conn: sa.Connection) -> dict[str, BusinessCalendar]:
        items = {}
        for (package,) in conn.execute(sa.select(db.apps.c.package).order_by(db.apps.c.id)):
            for cal in (package or {}).get("calendars") or []:
                try:
                    items[cal["key"]] = BusinessCalendar.from_definition(cal)
                except Exception:  # noqa: BLE001
                    continue
        return items
    return catalog.compiled("calendars", conn, load)


class InstalledCalendars(Mapping):
    """``installed_calendars`` as an ``EvalContext.calendars``, asked for on first use only."""

    def __init__(self, conn: sa.Connection, catalog):
        self.conn, self.catalog = conn, catalog
        self._items: dict[str, BusinessCalendar] | None = None

    def _load(self) -> dict[str, BusinessCalendar]:
        if self._items is None:
            self._items = installed_calendars(self.catalog, self.conn)
        return self._items

    def __getitem__(self, key):
        return self._load()[key]

    def __iter__(self):
        return iter(self._load())

    def __len__(self):
        return len(self._load())


def form_paths(spec) -> frozenset[tuple[str, str]]:
    """``(name, key)`` pairs the form's own expressions read (formulas, conditions, defaults) and its
    links' ``fill`` copies from."""
    return once(spec, _form_paths)


def flow_paths(spec) -> frozenset[tuple[str, str]]:
    """``(name, key)`` pairs a flow's edge conditions and service-level clocks read."""
    return once(spec, _flow_paths)


def _form_paths(spec) -> frozenset[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for f in spec.fields:
        for expr in (f.formula, f.visible_if, f.required_if, f.default_expr, *(f.sections or ())):
            out |= getattr(expr, "paths", frozenset())
        out |= {(f.key, src) for _, src in getattr(f.widget, "fill", ())}  # the fields a link fills from
    return frozenset(out)


def _flow_paths(spec) -> frozenset[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for edge in spec.edges.values():
        out |= getattr(edge.condition, "paths", frozenset())
    if getattr(spec, "sla", None) is not None:
        out |= spec.sla.paths
    return frozenset(out)


class LinkedRecord(dict):
    """A record handed to the flow engine together with its linked records (``links``), which the
    engine puts into the ``EvalContext`` of its edge conditions."""

    links: Mapping[str, Any] = {}


def prefetch(catalog, conn: sa.Connection, ft, values: Mapping[str, Any],
             paths: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """``EvalContext.links`` for a record of ``ft`` with ``values``: the linked record of each
    link field some path reads (None when the field is empty or the record is gone)."""
    link_widgets = once(ft.spec, _link_widgets)
    links: dict[str, Any] = {}
    for name in sorted({name for name, _ in paths}):
        widget = link_widgets.get(name)
        if widget is None:
            continue
        raw = values.get(name)
        try:
            ids = raw if isinstance(raw, list) else (None if raw in (None, "") else widget.to_python(raw))
        except JimuError:
            continue  # the submission's own check reports the bad id
        target = catalog.form(widget.target)
        if isinstance(ids, list):
            wanted = [int(i) for i in ids[:MAX_LINKED] if isinstance(i, int) or str(i).isdigit()]
            by_id = {r["id"]: r for r in _load(conn, target, wanted)} if wanted else {}
            links[name] = [by_id[i] for i in wanted if i in by_id]
        elif ids is None:
            links[name] = None
        else:
            rows = _load(conn, target, [ids])
            links[name] = rows[0] if rows else None
    return links


def _link_widgets(spec) -> dict[str, Any]:
    """The widget of each link field of the form by key (the first field of a key, as ``FormSpec.field``
    finds it), worked out once per compiled form for ``prefetch``."""
    return {key: f.widget for key in spec.field_keys if (f := spec.field(key)).widget.type == "link"}


def _load(conn: sa.Connection, ft, ids: list) -> list[dict[str, Any]]:
    from .store import RecordStore
    rows = conn.execute(once(ft, _linked), {"ids": ids}).mappings().all()
    return RecordStore(conn).to_records(ft, rows)


def _linked(ft) -> sa.Select:
    """The rows of the linked records ``ids`` (an expanding parameter), built once per form table (``once``):
    a write prefetches its links for every rule and flow condition that reads through them."""
    return sa.select(ft.table).where(ft.table.c.id.in_(sa.bindparam("ids", expanding=True))).limit(MAX_LINKED)
