"""The e-mail thread of a record: every message taken in about it or sent out about it, by Message-ID.

The intake notes each message it turns into a record or a reply (``direction="in"``, on the record
the thread belongs to: the intake form's record, not the reply's); the outbox notes each message it
sends about a record (``"out"``). So a reply is matched to its record by its ``In-Reply-To`` and
``References`` headers before any key in its subject (mail clients keep those headers when the
sender edits the subject), and an answer about a record carries ``In-Reply-To`` (the latest message
taken in, else the latest sent) and ``References`` (the thread, oldest first) so the sender's mail
client shows it in the same conversation.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Iterable

import sqlalchemy as sa

from . import db

#: at most this many Message-IDs in an outgoing References header (the first and the latest ones)
MAX_REFERENCES = 20
_ID = re.compile(r"<[^<>\s]{1,496}>")


def message_ids(header: str | None) -> list[str]:
    """The ``<id@host>`` tokens of an ``In-Reply-To``/``References`` header, in order."""
    return _ID.findall(str(header or ""))


def note(conn: sa.Connection, message_id: str, direction: str, form_key: str, record_id: int,
         at: datetime) -> None:
    """Remember that ``message_id`` belongs to the record's thread (a Message-ID already noted stays
    with its first record)."""
    ids = message_ids(message_id)
    if not ids:
        return
    t = db.mail_messages
    if conn.execute(sa.select(t.c.id).where(t.c.message_id == ids[0])).first() is None:
        conn.execute(sa.insert(t).values(message_id=ids[0], direction=direction, form_key=form_key,
                                         record_id=record_id, at=at))


def known(conn: sa.Connection, message_id: str) -> tuple[str, str, int] | None:
    """(direction, form, record id) of a Message-ID already taken in or sent, else None."""
    ids = message_ids(message_id)
    if not ids:
        return None
    t = db.mail_messages
    row = conn.execute(sa.select(t.c.direction, t.c.form_key, t.c.record_id).where(t.c.message_id == ids[0])).first()
    return tuple(row) if row else None


def find(conn: sa.Connection, form_key: str, referenced: Iterable[str]) -> int | None:
    """The record of ``form_key`` whose thread holds the latest of ``referenced`` (In-Reply-To first,
    then References from the newest back), else None."""
    wanted = [i for i in referenced if i]
    if not wanted:
        return None
    t = db.mail_messages
    rows = dict(conn.execute(sa.select(t.c.message_id, t.c.record_id).where(
        t.c.message_id.in_(wanted), t.c.form_key == form_key)).all())
    for mid in wanted:
        if mid in rows:
            return rows[mid]
    return None


# a record's thread, built once with bound parameters (read for every message sent about a record)
_m = db.mail_messages
_THREAD = (sa.select(_m.c.message_id, _m.c.direction)
           .where(_m.c.form_key == sa.bindparam("form"), _m.c.record_id == sa.bindparam("rid")).order_by(_m.c.id))
_TAKEN_IN = (sa.select(_m.c.id).where(_m.c.form_key == sa.bindparam("form"), _m.c.record_id == sa.bindparam("rid"),
                                      _m.c.direction == "in").limit(1))


def headers(conn: sa.Connection, form_key: str | None, record_id: int | None) -> dict[str, str]:
    """``In-Reply-To`` and ``References`` of a message about the record (empty when it has no thread)."""
    if not form_key or record_id is None:
        return {}
    rows = conn.execute(_THREAD, {"form": form_key, "rid": record_id}).all()
    if not rows:
        return {}
    taken = [mid for mid, direction in rows if direction == "in"]
    refs = [mid for mid, _ in rows]
    if len(refs) > MAX_REFERENCES:
        refs = refs[:1] + refs[-(MAX_REFERENCES - 1):]
    return {"In-Reply-To": (taken or refs)[-1], "References": " ".join(refs)}


def taken_in(conn: sa.Connection, form_key: str | None, record_id: int | None) -> bool:
    """True when the record was opened (or answered) by a message taken in."""
    if not form_key or record_id is None:
        return False
    return conn.execute(_TAKEN_IN, {"form": form_key, "rid": record_id}).first() is not None
