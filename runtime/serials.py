"""Serial numbers (``GD-{yyyyMMdd}-{0000}``) that stay unique under concurrency.

One counter row per (form, field, period), bumped with an atomic
``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` inside the record's own
transaction: two writers can never get the same number, and a rolled-back
record gives its number back.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from . import db


def next_value(conn: sa.Connection, form_key: str, field_key: str, period: str, count: int = 1) -> int:
    """Reserve ``count`` numbers; returns the last one reserved."""
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(db.serial_counters)
    t = db.serial_counters
    stmt = (insert.values(form_key=form_key, field_key=field_key, period=period, value=count)
            .on_conflict_do_update(index_elements=[t.c.form_key, t.c.field_key, t.c.period],
                                   set_={"value": t.c.value + count})
            .returning(t.c.value))
    return conn.execute(stmt).scalar_one()


def allocate_serials(conn: sa.Connection, ft, rows: Sequence[dict[str, Any]], now: datetime) -> None:
    for f in ft.spec.fields:
        widget = f.widget
        if widget.type != "serial":
            continue
        period = widget.period_key(now)
        last = next_value(conn, ft.key, f.key, period, len(rows))
        first = last - len(rows) + 1
        for i, values in enumerate(rows):
            values[f.key] = widget.format_serial(now, first + i)
