"""The per-process runtime object: engine, catalogue, clock, settings.

Flask stores one ``Jimu`` in ``app.extensions["jimu"]``; the CLI, workers and
tests reach the same object through ``current_jimu()``. The clock is
injectable so tests move time instead of sleeping.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

import sqlalchemy as sa

from engines.errors import JimuError
from engines.expr import EvalContext

from .db import make_engine
from .store import Catalog
from .store.records import begin_before_savepoint, begin_when_writing, forget_last_written, forget_written


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class NotWired(JimuError):
    code = "runtime.not_wired"


class Jimu:
    def __init__(self, config: dict, *, clock: Callable[[], datetime] = utcnow,
                 wire: Callable[["Jimu"], Any] | None = None):
        """``wire`` builds the service container (``runtime.services.build_services``, passed by
        ``create_app``); without it only the engine, catalogue and clock exist (benchmarks)."""
        self.config = config
        self.engine: sa.Engine = make_engine(config["DATABASE_URL"])
        # the unit of work: the records a transaction wrote are kept for its later reads (a rolled-back
        # savepoint drops them); audit, history and firing rows are written at commit (make_engine)
        sa.event.listen(self.engine, "rollback_savepoint", forget_written)
        sa.event.listen(self.engine, "invalidate", forget_last_written)
        # savepoints sent only when a block writes (runtime.store.records.savepoint)
        sa.event.listen(self.engine, "before_execute", begin_when_writing)
        sa.event.listen(self.engine, "savepoint", begin_before_savepoint, insert=True)
        self.catalog = Catalog()
        self.clock = clock
        self._services = wire(self) if wire is not None else None
        #: callables ``(records, event, form_table, after, before)`` run inside the writing
        #: transaction after every record change: the flow and rule runtimes, fixed at creation
        self.listeners: tuple = tuple(self._services.listeners) if self._services is not None else ()

    @property
    def services(self):
        """The typed container ``runtime.services.Services`` built at creation."""
        if self._services is None:
            raise NotWired("this Jimu was built without its services; build it with runtime.app.create_app")
        return self._services

    def now(self) -> datetime:
        return self.clock()

    def eval_context(self, *, now: datetime | None = None, user=None, aggregate=None):
        """What expressions see at runtime: the clock and the deployment's ``TIMEZONE``, so
        ``today()`` is the local day everywhere a write path, rule or automatic step evaluates."""
        return EvalContext(now=now or self.now(), user=user, aggregate=aggregate,
                           tz=self.config.get("TIMEZONE") or "UTC")

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """A write transaction with a fresh view of the catalogue."""
        with self.engine.begin() as conn:
            self.catalog.refresh(conn)
            yield conn

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read-only transaction (on SQLite it does not take the write lock)."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(readonly=True)
            with conn.begin():
                self.catalog.refresh(conn)
                yield conn

    def listening(self, records, event: str, ft) -> tuple:
        """The listeners that act on ``event`` of ``ft``'s records, each asked by its ``wants(records,
        event, ft)`` (one without it is always told): a bulk write reads its records back and tells
        them only when some do, so an import into a form with no rule, flow or webhook for the
        event costs nothing here."""
        return tuple(listener for listener in self.listeners
                     if getattr(listener, "wants", None) is None or listener.wants(records, event, ft))

    def inserts_ahead(self, records, ft) -> tuple:
        """The tables whose rows the listeners will insert when ``records`` creates one record of ``ft``
        (each listener's ``inserts_ahead(records, ft)``, if it has one: the flows a create starts), a
        table once per row, for ``deferred.expect`` to draw their ids with the record's."""
        return tuple(table for listener in self.listeners
                     for table in getattr(listener, "inserts_ahead", _nothing)(records, ft))

    def notify(self, records, event: str, ft, after, before, *, listeners: tuple | None = None) -> None:
        """Tell the listeners (rules, flows; only ``listeners`` when given) about a write, inside its
        transaction. Messages are not
        rendered here (the outbox does, ``runtime.rules.messages``); the templates of data effects
        (set_fields values) share one step/time budget, so however many rules fire, the write
        transaction is not held longer than ``engines.rule.templates.MAX_SECONDS`` by templates."""
        from engines.rule.templates import render_budget
        with render_budget():
            for listener in self.listeners if listeners is None else listeners:
                listener(records, event, ft, after, before)

    def dispose(self) -> None:
        self.engine.dispose()


def _nothing(*_args) -> tuple:
    return ()


def current_jimu() -> Jimu:
    from flask import current_app
    return current_app.extensions["jimu"]
