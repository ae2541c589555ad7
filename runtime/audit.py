"""The append-only event log: record changes, logins, task actions, rule firings.

Nothing here updates or deletes events. The record timeline and the process
KPIs are read from this table.
"""
from __future__ import annotations

import functools
import json
import math
import operator
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from . import db, deferred


_PLAIN = frozenset({str, int, float, bool, type(None)})


def jsonable(value: Any) -> Any:
    """Values as they go into JSON columns and API responses."""
    kind = type(value)
    if kind in _PLAIN:   # most values: returned as they are, without the checks below
        return value
    if kind is dict:
        return {k: v if type(v) in _PLAIN else jsonable(v) for k, v in value.items()}
    if kind is list:   # a record's many-valued fields and files: before the Mapping check, which is slow
        return [v if type(v) in _PLAIN else jsonable(v) for v in value]
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


#: a bulk write of at least this many records has the server build its creation events (``record_created``)
SERVER_EVENTS_AT = 200
#: the largest integer a double holds exactly
_EXACT_IN_FLOAT = 2 ** 53
#: from here on Python writes a double in exponent form (1e+16), PostgreSQL's JSON its exact integer digits
_WHOLE_AS_TEXT = 1e16


#: ``record_created``'s ``plan`` when the caller has not made it (``created_plan``)
UNPLANNED = object()


def record_created(conn: sa.Connection, table: sa.Table, columns: Mapping[str, sa.Column], ids: Sequence[int],
                   values: Sequence[Mapping[str, Any]], *, at: datetime, actor_id: int | None, form_key: str,
                   source: str, plan: Any = UNPLANNED) -> None:
    """The ``record.created`` events of a bulk write's records ``ids`` just inserted into ``table`` with
    ``values`` (field key → value, ``columns`` the fields' columns): ``{"after": values, "source":
    source}`` each, in the order of ``ids``, as ``record_events`` writes them.

    On PostgreSQL, for a write of ``SERVER_EVENTS_AT`` records or more whose values are all in
    columns and of types whose JSON the server writes exactly as Python's encoder does
    (``_server_after``), the server builds the events from the rows themselves (one
    ``INSERT ... SELECT``), in the background (``db.in_background``) while the caller goes on telling
    the listeners: encoding each event's JSON and copying it in cost the client about as much as
    the server took to store them, one after the other. The stored events are the same, in the same
    order (JSONB keeps values, not text: tests/runtime/test_bulk_write.py compares both ways).

    ``plan``: what ``created_plan`` answered for ``values``, worked out by the caller beforehand (a bulk
    write: while the server takes in the last rows of its COPY, instead of while it waits for the events)."""
    if plan is UNPLANNED:
        plan = created_plan(conn, columns, values)
    if (plan is not None and conn.in_transaction() and len(ids) == len(values)
            and all(map(operator.lt, ids, ids[1:]))):
        plan = _settled(conn, plan, values)
    else:
        plan = None
    if plan is None:
        record_events(conn, ({"kind": "record.created", "at": at, "actor_id": actor_id, "form_key": form_key,
                              "record_id": rid, "data": {"after": after, "source": source}}
                             for rid, after in zip(ids, values)))
        return
    keys, modes, texts = plan
    sql, fixed = _created_sql(conn.dialect, table, tuple((k, columns[k], modes[k]) for k in keys))
    params = {**fixed, "kind": "record.created", "at": db.TS.process_bind_param(at, conn.dialect), "actor": actor_id,
              "form": form_key, "source": source, "ids": list(ids), "first": min(ids), "last": max(ids)}
    params.update((f"t{i}", texts[key]) for i, key in enumerate(keys) if key in texts)
    db.before_insert(conn, db.events)
    db.in_background(conn, sql, params)


def created_plan(conn: sa.Connection, columns: Mapping[str, sa.Column],
                 values: Sequence[Mapping[str, Any]]) -> tuple[list[str], dict[str, str], dict[str, list]] | None:
    """How the server can build the creation events of ``SERVER_EVENTS_AT`` records or more with
    ``values`` (``_server_after``, its doubles' text not yet asked about: ``_settled``); None when it
    cannot. Sends no statement: a bulk write asks while its COPY is still going."""
    if len(values) < SERVER_EVENTS_AT:
        return None
    return _server_after(conn, columns, values)


def _settled(conn: sa.Connection, plan: tuple[list[str], dict[str, str], dict[str, list]],
             values: Sequence[Mapping[str, Any]]) -> tuple[list[str], dict[str, str], dict[str, list]]:
    """``plan`` with its "float" columns sent as Python's text ("text") where the server does not write
    a double as the shortest text that reads back as it (``_shortest_floats``: asked once per
    connection)."""
    keys, modes, texts = plan
    floats = [key for key in keys if modes[key] == "float"]
    if not floats or _shortest_floats(conn):
        return plan
    modes, texts = dict(modes), dict(texts)
    for key in floats:
        modes[key] = "text"
        texts[key] = [None if v is None else repr(v) for v in map(operator.itemgetter(key), values)]
    return keys, modes, texts


def _server_after(conn: sa.Connection, columns: Mapping[str, sa.Column],
                  values: Sequence[Mapping[str, Any]]) -> tuple[list[str], dict[str, str], dict[str, list]] | None:
    """(the keys, {key: how the server writes its values}, {key: each record's value as JSON text})
    when the server can write each record's ``after`` as Python's encoder would: PostgreSQL; every
    record with the same keys, each a column; text, integer and boolean columns holding values of
    exactly their Python type (not an enumeration), read as they are ("value"); float columns
    holding integers a double keeps exactly, read back as integers ("int"), or finite floats below
    ``_WHOLE_AS_TEXT``, which the server writes as Python does where its own text of a double is the
    shortest that reads back as it, as Python's is (``_shortest_floats``), with a ".0" on whole
    numbers ("float": the same JSON for 170,000 random doubles of every size below it); a float
    column holding both, or other floats, sent as the JSON text Python writes ("text").
    Otherwise None."""
    if conn.dialect.name != "postgresql" or not values:
        return None
    keys = list(values[0])
    # the same keys in every record: as many, and each of the first's (a missing one raises)
    if set(map(len, values)) != {len(keys)}:
        return None
    texts: dict[str, list] = {}
    modes: dict[str, str] = {}
    for key in keys:
        col = columns.get(key)
        if col is None:
            return None
        kind = col.type
        try:
            column = list(map(operator.itemgetter(key), values))
        except KeyError:
            return None
        types = set(map(type, column))
        nulls = type(None) in types
        types.discard(type(None))
        modes[key] = "value"
        if isinstance(kind, sa.String) and not isinstance(kind, sa.Enum):
            ok = types <= {str}
        elif isinstance(kind, sa.Boolean):
            ok = types <= {bool}
        elif isinstance(kind, sa.Integer):
            ok = types <= {int}
        elif isinstance(kind, sa.Float) and not kind.asdecimal and types <= {int, float}:
            # the checks below run over whole columns in C (min, max, map): a comparison per value in
            # Python cost most of this function, which runs while the server waits for the events
            numbers = [v for v in column if v is not None] if nulls else column
            if types <= {int}:
                modes[key] = "int"
                ok = not numbers or (-_EXACT_IN_FLOAT <= min(numbers) and max(numbers) <= _EXACT_IN_FLOAT)
            else:
                ok = all(map(math.isfinite, numbers))
                if ok and types == {float} and (not numbers or (-_WHOLE_AS_TEXT < min(numbers)
                                                                and max(numbers) < _WHOLE_AS_TEXT)):
                    modes[key] = "float"   # unless the server writes doubles otherwise (``_settled``)
                else:
                    # what the encoder writes for an int or a finite float (``json.encoder``: their reprs)
                    modes[key] = "text"
                    texts[key] = [None if v is None else repr(v) for v in column]
        else:
            ok = False
        if not ok:
            return None
    return keys, modes, texts


#: ``conn.info`` key: whether the server connection writes a double as the shortest text that reads back as it
_SHORTEST = "jimu_shortest_floats"


def _shortest_floats(conn: sa.Connection) -> bool:
    """Whether the server writes a double as the shortest text that reads back as it (PostgreSQL 12 on,
    with ``extra_float_digits`` at 1 or more, its default), the digits Python's repr writes too:
    asked once per server connection."""
    known = conn.info.get(_SHORTEST)
    if known is None:
        known = conn.info[_SHORTEST] = bool(conn.execute(sa.text(
            "SELECT current_setting('server_version_num')::int >= 120000 "
            "AND current_setting('extra_float_digits')::int >= 1")).scalar())
    return known


@functools.lru_cache(maxsize=256)
def _created_sql(dialect, table: sa.Table, fields: tuple[tuple[str, sa.Column, str], ...]) -> tuple[str, dict]:
    """The ``INSERT ... SELECT`` of ``record_created`` for ``table`` and its fields (key, column, how its
    values are written: ``_server_after``), compiled once per form table and set of fields, and the
    values of its constant parameters (among them the keys, where one is longer than the server's names
    and the values cannot be named by them). The caller binds the texts (``t0``…), the ids (and the
    first and last), kind, time, actor, form and source."""
    ids = sa.cast(sa.bindparam("ids"), postgresql.ARRAY(sa.BigInteger))
    texts = [i for i, (_k, _c, mode) in enumerate(fields) if mode == "text"]
    # the rows in the ids' order (ascending: the primary key's index gives them in one sweep of their
    # range), sorted (with the texts given for them) before the JSON is built, not after it
    span = table.c.id.between(sa.bindparam("first", type_=sa.BigInteger), sa.bindparam("last", type_=sa.BigInteger))
    read = [table.c[col.name] for _k, col, mode in fields if mode != "text"]
    if texts:
        given = (sa.func.unnest(ids, *(sa.cast(sa.bindparam(f"t{i}"), postgresql.ARRAY(sa.Text)) for i in texts))
                 .table_valued("rid", *(f"t{i}" for i in texts)).render_derived(name="given"))
        written = (sa.select(table.c.id, *read, *(given.c[f"t{i}"] for i in texts))
                   .select_from(given.join(table, table.c.id == given.c.rid)).where(span))
    else:
        written = sa.select(table.c.id, *read).where(span, table.c.id == sa.func.any(ids))
    written = written.order_by(table.c.id).offset(0).subquery("written")   # OFFSET keeps it apart
    values = []
    for i, (_key, col, mode) in enumerate(fields):
        if mode == "text":
            value = sa.cast(written.c[f"t{i}"], postgresql.JSONB)
        elif mode == "int":
            value = sa.cast(written.c[col.name], sa.BigInteger)
        elif mode == "float":   # Python writes 96.0 where the server writes 96
            c = written.c[col.name]
            value = sa.case((c == sa.func.trunc(c),
                             sa.func.to_jsonb(sa.func.round(sa.cast(sa.cast(c, sa.BigInteger), sa.Numeric), 1))),
                            else_=sa.func.to_jsonb(c))
        else:
            value = written.c[col.name]
        values.append(value)
    source = sa.bindparam("source", type_=sa.Text)
    keys = [key for key, _c, _m in fields]
    events = written
    if keys and all(len(key.encode()) <= dialect.max_identifier_length for key in keys):
        # each event's data as a row (its fields' values named by their keys) inside a row (it and the
        # source), made JSON in one pass: an inner object built first was copied into the outer one,
        # a third of the server's time for the events' JSON
        after = (sa.select(*(v.label(sa.sql.quoted_name(k, quote=True)) for k, v in zip(keys, values)))
                 .correlate(written).subquery("after_"))
        event = (sa.select(sa.literal_column("after_").label("after"), source.label("source"))
                 .select_from(after).lateral("event_"))
        events = written.join(event, sa.true())
        data = sa.func.to_jsonb(sa.literal_column("event_"))
    else:   # a key longer than the server's names: the pairs, 50 at a time (a function takes 100 arguments)
        pairs = [x for i, (k, v) in enumerate(zip(keys, values)) for x in (sa.bindparam(f"k{i}", k, type_=sa.Text), v)]
        parts = [sa.func.jsonb_build_object(*pairs[i:i + 100]) for i in range(0, len(pairs), 100)]
        after = parts[0] if parts else sa.func.jsonb_build_object()
        for part in parts[1:]:
            after = after.op("||")(part)
        data = sa.func.jsonb_build_object(sa.literal("after", sa.Text), after, sa.literal("source", sa.Text), source)
    rows = sa.select(sa.bindparam("kind", type_=sa.Text), sa.bindparam("at", type_=sa.DateTime(timezone=True)),
                     sa.bindparam("actor", type_=sa.Integer), sa.bindparam("form", type_=sa.Text),
                     written.c.id, data).select_from(events)
    stmt = sa.insert(db.events).from_select(list(_EVENT_COLUMNS), rows)
    compiled = stmt.compile(dialect=dialect)
    # the arrays go in binary (psycopg's ``%b``): the text form of 10,000 values costs it several times as much
    sql = str(compiled)
    for name in ("ids", *(f"t{i}" for i in texts)):
        sql = sql.replace(f"%({name})s", f"%({name})b")
    return sql, dict(compiled.params)


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
    empty value, or the very value it had (a time, a list), or goes from empty to a value or back
    (JSON null is no other value's text): those are compared without writing them as JSON twice."""
    out = {}
    for key, new in after.items():
        old = before.get(key)
        if old is new or (type(old) is type(new) and type(new) in _SAME_JSON_WHEN_EQUAL and old == new):
            continue
        if (old is None) != (new is None) or _SORTED.encode(jsonable(old)) != _SORTED.encode(jsonable(new)):
            out[key] = [jsonable(old), jsonable(new)]
    return out


def timeline(conn: sa.Connection, form_key: str, record_id: int) -> list[dict[str, Any]]:
    e = db.events
    rows = conn.execute(sa.select(e).where(e.c.form_key == form_key, e.c.record_id == record_id)
                        .order_by(e.c.at, e.c.id)).mappings().all()
    return [dict(r) for r in rows]
