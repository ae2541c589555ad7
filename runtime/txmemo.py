"""The last answer of a lookup kept per transaction on ``conn.info``, remembered by identity.

A write asks for what its transaction keeps (``store.records.written``: the records it wrote;
``deferred._pending``: the rows waiting for its commit) dozens of times in a row, and reading
``conn.info`` costs two property calls each time, about half of the ask. ``LastAnswer`` holds the
(connection, transaction, answer) it was last given: the same connection in the same transaction
gets the same answer without reading ``conn.info``. The objects are held, so no other object takes
their identity while remembered; a connection in another thread is simply not the one remembered.
Whoever drops or replaces the answer on ``conn.info`` calls ``forget`` (and an invalidated
connection, whose ``info`` must raise again when read, forgets it through the pool's event).
"""
from __future__ import annotations

from typing import Any


class LastAnswer:
    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: tuple | None = None

    def get(self, conn: Any, tx: Any) -> Any:
        """The answer kept for ``conn`` in transaction ``tx``, or None when it is not the one remembered."""
        last = self._last
        if last is not None and last[1] is tx and last[0] is conn:
            return last[2]
        return None

    def keep(self, conn: Any, tx: Any, answer: Any) -> None:
        self._last = (conn, tx, answer)

    def forget(self, *_args: Any) -> None:
        self._last = None
