"""Driving the real engines through time: the replay behind ``jimu demo-data``.

A ``Replay`` owns a Jimu of its own on the same database, wired as ``create_app`` wires one,
with two differences only: its clock is a ``MovingClock`` the replay sets, and its notifier
withholds what would leave the process (mail, webhooks, robots, SMS) — it answers as a receiver
that took the message, so the outbox records the history as delivered and nothing is sent.

Work is a queue of callables, each due at a moment. ``run`` takes them in time order; before
each it moves the clock to every earlier moment a job is due at and runs the due jobs there
(``runtime.jobs.run_due``, as a worker would), so timers, SLA deadlines, automatic steps and
the outbox fire at their own time, in order, between the writes. Each callable runs in a
transaction of its own, as one request would; one that fails (a refused permission, a value
the form rejects) is rolled back and counted by its error code, and the replay goes on.

Writes are made by an ``Actor``: a user of the database (permissions checked as for a request),
or a visitor without an account (as the public pages submit). Nothing here knows an app.
"""
from __future__ import annotations

import heapq
import itertools
import logging
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

import sqlalchemy as sa

from engines.errors import JimuError

from . import db, jobs
from .auth.principal import ANONYMOUS, Principal, load_principal
from .notify.http import Response
from .notify.notifier import Notifier
from .notify.sms import SmsResult

log = logging.getLogger(__name__)

#: the worker name of the replay's job runs
WORKER = "replay"


class MovingClock:
    """The replay's clock: what ``jimu.now()`` answers, set by the replay as it moves."""

    def __init__(self, start: datetime):
        self.now = _aware(start)

    def __call__(self) -> datetime:
        return self.now


class Withheld(Notifier):
    """A notifier that sends nothing: each message is counted by channel and answered as taken."""

    def __init__(self, config: Mapping):
        super().__init__(config)
        self.counts: Counter = Counter()

    def mail(self, to, subject, body, *, key, html=None, **_kw) -> None:
        self.counts["mail"] += 1

    def http(self, method: str, url: str, **kw) -> Response:
        self.counts["http"] += 1
        return Response(status=204, headers={}, body=b"", url=url)

    def sms_provider(self, now):
        counts = self.counts

        class WithheldSms:
            name = "withheld"

            def send(self, phone, template, params, **_kw):
                counts["sms"] += 1
                return SmsResult("sent")

        return WithheldSms()


@dataclass(frozen=True)
class Actor:
    """Who makes a write: ``user_id`` (a person signed in), or None for a visitor of the public pages."""
    user_id: int | None = None

    @property
    def public(self) -> bool:
        return self.user_id is None


PUBLIC = Actor()


class Replay:
    def __init__(self, config: Mapping[str, Any], *, start: datetime):
        from .context import Jimu
        from .services import build_services
        self.clock = MovingClock(start)
        self.notifier = Withheld(config)
        self.jimu = Jimu(config, clock=self.clock,
                         wire=lambda j: replace(build_services(j), notifier=self.notifier))
        self._queue: list[tuple[datetime, int, Callable[[sa.Connection], None]]] = []
        self._seq = itertools.count()
        self._principals: dict[int, Principal | None] = {}
        #: error code → how many writes were refused with it
        self.refused: Counter = Counter()
        self.jobs_run = 0

    def close(self) -> None:
        self.jimu.dispose()

    # -- the queue ---------------------------------------------------------------------------
    def at(self, when: datetime, fn: Callable[[sa.Connection], None]) -> None:
        """Run ``fn(conn)`` in a transaction of its own when the clock reaches ``when`` (to the second,
        as people's actions are stamped: a date-time field keeps whole seconds)."""
        heapq.heappush(self._queue, (_aware(when).replace(microsecond=0), next(self._seq), fn))

    def run(self, until: datetime) -> None:
        """Everything queued up to ``until``, with the jobs due in between; then the clock stands at
        ``until`` with what is due there run too. Work queued for later is dropped: it has not happened."""
        until = _aware(until)
        while self._queue and self._queue[0][0] <= until:
            when, _, fn = heapq.heappop(self._queue)
            self._jobs_until(when)
            self.clock.now = max(self.clock.now, when)
            self._do(fn)
        self._jobs_until(until)
        self.clock.now = max(self.clock.now, until)
        self._run_due()
        self._queue.clear()

    def _do(self, fn: Callable[[sa.Connection], None]) -> None:
        try:
            with self.jimu.begin() as conn:
                fn(conn)
        except JimuError as exc:
            self.refused[exc.code] += 1
            log.debug("replay: refused at %s: %s", self.clock.now, exc)

    def _jobs_until(self, when: datetime) -> None:
        """Move the clock through each moment before ``when`` at which a job is due, running them."""
        while True:
            with self.jimu.engine.connect() as conn:
                due = conn.execute(_NEXT_DUE).scalar()
            if due is None or _aware(due) > when:
                return
            self.clock.now = max(self.clock.now, _aware(due))
            if not self._run_due():
                return

    def _run_due(self) -> int:
        """Run what is due now, again while running it queued more that is due now (automatic steps
        chain); a job that fails is retried later by the queue's own back-off, as in production."""
        total = 0
        while n := jobs.run_due(self.jimu, WORKER, 200):
            total += n
        self.jobs_run += total
        return total

    # -- acting ------------------------------------------------------------------------------
    def principal(self, conn: sa.Connection, actor: Actor) -> Principal | None:
        """The principal of ``actor`` (None: the user no longer exists or is inactive)."""
        if actor.public:
            return ANONYMOUS
        if actor.user_id not in self._principals:
            self._principals[actor.user_id] = load_principal(conn, actor.user_id)
        return self._principals[actor.user_id]

    def records(self, conn: sa.Connection, actor: Actor):
        """The one write path, as ``actor``: a user's permissions are checked as for a request; a
        visitor writes as the public pages do (``source="public"``, the form's own checks only)."""
        principal = self.principal(conn, actor)
        if principal is None:
            raise ReplayError("the acting user no longer exists", code="replay.no_actor")
        if actor.public:
            return self.jimu.services.records(self.jimu, conn, principal, source="public", check_permissions=False)
        return self.jimu.services.records(self.jimu, conn, principal, source="ui")

    def flows(self, conn: sa.Connection):
        return self.jimu.services.flows.runtime(conn)


#: when the next pending job is due (built once: the replay asks before every action)
_NEXT_DUE = sa.select(sa.func.min(db.jobs.c.run_at)).where(db.jobs.c.status == jobs.PENDING)


class ReplayError(JimuError):
    code = "replay.failed"


def users_with(conn: sa.Connection, *, role: str | None = None, group: str | None = None) -> list[int]:
    """Active users holding ``role`` or belonging to ``group`` (by key), by id."""
    q = sa.select(db.users.c.id).where(db.users.c.is_active.is_(True))
    if role is not None:
        q = q.join(db.user_roles, db.user_roles.c.user_id == db.users.c.id).join(
            db.roles, db.roles.c.id == db.user_roles.c.role_id).where(db.roles.c.key == role)
    if group is not None:
        q = q.join(db.group_members, db.group_members.c.user_id == db.users.c.id).join(
            db.groups, db.groups.c.id == db.group_members.c.group_id).where(db.groups.c.key == group)
    return sorted(set(conn.execute(q).scalars()))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
