"""Chart data cached per statement and data version, so a dashboard opened by twenty agents runs
its queries once.

An entry is keyed by

* the chart's compiled SQL and its bound parameters — which hold the definition as compiled at the
  current catalogue revision, the dashboard filters and the viewer's row scope
  (``policy.row_filter``): two viewers share an entry only when they would run the same statement
  over the same rows, so no data passes between roles or scopes;
* the data version of every form the chart reads (``db.data_version``, moved by each committed
  write of the form's records, in any process), read in one small query per request;

and lives at most ``cache_seconds`` (the report's setting, default ``DEFAULT_SECONDS``; 0 turns
caching off). Charts over the flow runtime's process data, which no data version covers, are not
cached.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Iterable

import sqlalchemy as sa

from . import db

#: how long chart data may be served when the report does not say
DEFAULT_SECONDS = 300
#: entries kept per process (least recently used dropped first)
MAX_ENTRIES = 1000


def data_versions(conn: sa.Connection, form_keys: Iterable[str]) -> tuple:
    keys = sorted(set(form_keys))
    rows = conn.execute(sa.select(db.forms.c.key, db.data_version()).where(db.forms.c.key.in_(keys)))
    return tuple(sorted(tuple(r) for r in rows))


def statement_key(conn: sa.Connection, stmt: sa.Select) -> tuple:
    compiled = stmt.compile(dialect=conn.dialect)
    return str(compiled), repr(sorted(compiled.params.items(), key=lambda kv: kv[0]))


class ChartCache:
    def __init__(self, *, max_entries: int = MAX_ENTRIES, clock: Callable[[], float] = time.monotonic):
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[tuple, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        #: statements run (misses) and answers served from the cache (hits), for tests and the bench
        self.misses = self.hits = 0

    def rows(self, conn: sa.Connection, stmt: sa.Select, forms: Iterable[str], seconds: float,
             run: Callable[[], Any]) -> Any:
        """``run()``'s result for ``stmt`` over ``forms``, from the cache while it is current."""
        if seconds <= 0:
            self.misses += 1
            return run()
        key = (statement_key(conn, stmt), data_versions(conn, forms))
        now = self.clock()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] > now:
                self._entries.move_to_end(key)
                self.hits += 1
                return hit[1]
        value = run()
        with self._lock:
            self.misses += 1
            self._entries[key] = (now + seconds, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
