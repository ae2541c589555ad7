"""The append-only event log: record changes, logins, task actions, rule firings.

Nothing here updates or deletes events. The record timeline and the process
KPIs are read from this table.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable, Mapping

import sqlalchemy as sa

from . import db, deferred


_PLAIN = frozenset({str, int, float, bool, type(None)})


def jsonable(value: Any) -> Any:
    """Values as they go into JSON columns and API responses."""
    if type(value) in _PLAIN:   # most values: returned as they are, without the checks below
        return value
    if type(value) is dict:
        return {k: v if type(v) in _PLAIN else jsonable(v) for k, v in value.items()}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):  # frozen definitions hold mappingproxy labels
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def record_event(conn: sa.Connection, kind: str, *, at: datetime, actor_id: int | None = None,
                 form_key: str | None = None, record_id: int | None = None,
                 data: Mapping[str, Any] | None = None) -> None:
    """Append an event; it is written with the transaction's other events when it commits
    (``runtime.deferred``: one INSERT for all of a write's events)."""
    deferred.add(conn, db.events, dict(kind=kind, at=at, actor_id=actor_id, form_key=form_key,
                                       record_id=record_id, data=jsonable(dict(data or {}))))


#: the columns of an event row (``record_events``)
_EVENT_COLUMNS = ("kind", "at", "actor_id", "form_key", "record_id", "data")


def record_events(conn: sa.Connection, rows: Iterable[Mapping[str, Any]]) -> None:
    """Append many events now, in as few statements as the database takes (a bulk write's). ``rows``
    (each naming every column but ``id``) may be an iterator: on PostgreSQL each event is made and
    encoded as the rows before it are copied in (``db.insert_rows``)."""
    db.insert_rows(conn, db.events, ((r["kind"], r["at"], r["actor_id"], r["form_key"], r["record_id"],
                                      to_json(r.get("data") or {})) for r in rows),
                   names=_EVENT_COLUMNS, encoded=("data",))


def _json_default(value: Any) -> Any:
    """What ``jsonable`` makes of the values JSON has no type for (the others it returns as they are)."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_ENCODER = json.JSONEncoder(default=_json_default)


def to_json(value: Any) -> str:
    """``json.dumps(jsonable(value))`` in one pass: the encoder asks ``_json_default`` for what it
    cannot write itself, instead of every value being looked at twice (the text is the same)."""
    return _ENCODER.encode(value)


#: ``json.dumps(value, sort_keys=True, default=str)`` without a new encoder at each call
_SORTED = json.JSONEncoder(sort_keys=True, default=str)

#: value types whose equal values (of one type) are the same JSON: ``changes`` compares them directly
_SAME_JSON_WHEN_EQUAL = frozenset({str, int, bool, type(None)})


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list]:
    """{field: [old, new]} for the fields whose value changed (as JSON: ``1`` and ``1.0`` differ, two
    dicts with their keys in another order do not). Most fields of an update keep a text, number or
    empty value, or the very value it had (a time, a list): those are compared without writing them
    as JSON twice."""
    out = {}
    for key, new in after.items():
        old = before.get(key)
        if old is new or (type(old) is type(new) and type(new) in _SAME_JSON_WHEN_EQUAL and old == new):
            continue
        if _SORTED.encode(jsonable(old)) != _SORTED.encode(jsonable(new)):
            out[key] = [jsonable(old), jsonable(new)]
    return out


def timeline(conn: sa.Connection, form_key: str, record_id: int) -> list[dict[str, Any]]:
    e = db.events
    rows = conn.execute(sa.select(e).where(e.c.form_key == form_key, e.c.record_id == record_id)
                        .order_by(e.c.at, e.c.id)).mappings().all()
    return [dict(r) for r in rows]
