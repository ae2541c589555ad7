"""Firing rules: the listener on ``Records`` writes, the effect executor, chains and the log.

``RuleRunner`` is appended to ``jimu.listeners``; ``Records`` calls it inside
the writing transaction after every create/update/delete (API, UI, bulk
import, flows, and rules themselves). For each rule whose trigger fires it
evaluates the condition, asks the actions for their effects and executes them:

* data effects (set fields, assign, create/update records, participants, start
  flow, task changes) run now, in the same transaction, inside a savepoint per
  rule: a failing rule is rolled back and logged, the write and the other rules go on;
* messages (in-app notifications, e-mail, webhooks, robots, HTTP calls) become
  durable jobs with idempotency keys ``rule:<firing key>:<n>`` (a random key per
  firing), retried with back-off. The job holds the templates and the variables,
  and renders them per recipient after the write committed (``runtime.rules.messages``):
  no message template runs inside the write transaction, and a runaway one fails
  its job, never the write. Templates in data effects (``{"template": ...}``
  values of set_fields) are rendered in the write, under one shared step/time
  budget per write (``Jimu.notify``).

Writes made by rules go through ``Records`` again, so rules chain. The chain
(rule, form, record) is tracked in a context variable: a rule that fires again
on the same record inside its own chain is a loop, and more than ``MAX_DEPTH``
nested firings is too deep; both raise, naming the rules, and abort the whole
triggering write — nothing is half-written.

The firing log ``jimu_rule_firings`` (rule, record, matched, effects, errors, duration) keeps the
firings that matched or failed, written in one statement when the transaction commits: logging
every rule of a form on every write made the log grow many times faster than the records, for
nothing a designer reads. Set ``RULES_LOG_NON_MATCHES`` to log the non-matches too while debugging
(a dry run shows them without writing anything). Rules are looked up by form and event, so a rule
whose trigger does not fit costs nothing.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from contextvars import ContextVar
from datetime import timedelta
from typing import Any, Mapping

import sqlalchemy as sa

from engines.errors import JimuError
from engines.rule import ActionContext, Effect, RuleDepthError, RuleLoopError, RuleSpec
from engines.rule.conditions import PROCESS
from engines.rule.triggers import TimeAfter

from .. import db, deferred, expr_context, jobs
from ..store.records import savepoint
from ..audit import jsonable
from ..auth.principal import Principal
from ..names import reference_names
from .aggregate import Aggregator
from .loader import RuleCache, calendar_for
from .outbox import SYSTEM
from .people import group_value, holds_ids, pick
from .tables import rule_firings

log = logging.getLogger(__name__)

MAX_DEPTH = 8
#: action configurations whose built actions ``EffectsExecutor`` keeps (then it starts over)
MAX_BUILT = 512
#: the task and flow events the flow runtime reports (``RuleRunner.fire_flow_event``)
FLOW_EVENTS = ("task.created", "task.completed", "task.overdue", "flow.started", "flow.ended")
#: the rules firing on this thread: (rule key, form key, record id, rule name)
_CHAIN: ContextVar[tuple] = ContextVar("jimu_rule_chain", default=())


def chain() -> tuple:
    return _CHAIN.get()


class RuleRunner:
    """The container's ``rules`` (one per ``Jimu``, built by ``create_app``): the ``jimu.listeners``
    entry of the rule engine, and what the flow runtime calls for task and flow triggers."""

    def __init__(self, jimu):
        self.jimu = jimu
        self.cache = RuleCache(jimu)
        self._synced = None

    # -- the listener ------------------------------------------------------------------------
    def wants(self, records, event: str, ft) -> bool:
        """Whether a rule of ``ft``'s form has a trigger for ``event`` (``Jimu.listening``: a bulk
        write tells the rules about each record only then)."""
        return not getattr(records, "rules_off", False) and bool(self._ruleset(records).for_event(ft.key, event))

    def in_batch(self, records, event: str, ft, batch) -> list | None:
        """For each record of a bulk write's ``batch``, what to call instead of the runner when telling
        about ``event`` on it: None for nothing (``runtime.rules.batch``); None for the whole batch
        when that is not decided for it."""
        from .batch import in_batch
        return in_batch(self, records, event, ft, batch)

    def _ruleset(self, records):
        ruleset = self.cache.for_records(records)
        if self._synced is not ruleset:  # the rules changed: queue the next run of schedule rules
            from .outbox import sync_schedules
            sync_schedules(self.jimu, records.conn, ruleset)
            self._synced = ruleset
        return ruleset

    def __call__(self, records, event: str, ft, after, before) -> None:
        if getattr(records, "rules_off", False):
            return
        rules = self._ruleset(records).for_event(ft.key, event)
        if not rules:
            return
        record = after if after is not None else before
        touched = False
        fired: list[Firing] = []
        for rule in rules:
            if isinstance(rule.trigger, TimeAfter):
                self._schedule_timer(records, rule, ft.key, after, before)
                continue
            stop = False
            for occurrence in rule.trigger.occurrences(event, after, before):
                result = self.fire(records, rule, event, ft.key, record, before, occurrence, log=fired)
                touched = touched or result.touched_self
                stop = stop or (result.matched and rule.stop)
            if stop:
                break
        self._log(records, fired)
        if touched and after is not None:
            self.refresh(records, ft, after)

    @staticmethod
    def refresh(records, ft, after) -> None:
        """Rules changed the record being written: hand the caller the current version."""
        fresh = records.store.get(ft, after["id"])
        after.clear()
        after.update(fresh)

    # -- task and flow triggers (called by the flow runtime through the container) --------------
    def listens(self, conn, event: str, *, flow: str | None, form: str | None) -> bool:
        """Whether any rule of ``form`` has a ``task_*``/``flow_*`` trigger for ``event`` of ``flow``
        (the flow runtime asks before it reads the task and the record for ``fire_flow_event``)."""
        if form is None:
            return True  # rules of every form: let fire_flow_event look
        return self.cache.get(conn).listens_to_flow(event, flow, form)

    def fire_flow_event(self, conn, event: str, *, flow: str | None, task: str | None = None,
                        form: str | None = None, record_id: int | None = None, task_id: int | None = None,
                        principal=None) -> list["Firing"]:
        """Evaluate the rules with a matching ``task_*``/``flow_*`` trigger on the record, in the caller's
        transaction (same guarantees as record triggers): ``fire_flow_event(conn, "task.overdue",
        flow="order_flow", task="review", form="订单", record_id=7, task_id=31)``. The record's fields are
        the variables; ``task``/``flow``/``task_id`` are added to them."""
        if event not in FLOW_EVENTS:
            from engines.rule import RuleError
            raise RuleError(f"unknown flow event {event!r}; use one of {', '.join(FLOW_EVENTS)}",
                            code="rule.unknown_event")
        records = self.jimu.services.records(self.jimu, conn, principal or SYSTEM, source="flow",
                                             check_permissions=False)
        rules = [r for r in self.cache.for_records(records).flow_rules(event, flow, task, form=form)
                 if form is None or r.form == form]
        if not rules:
            return []
        record: dict = {}
        if form and record_id is not None:
            record = records.store.get(self.jimu.catalog.form(form), record_id)
        occurrence = {"flow": flow, "task": task, "task_id": task_id}
        fired: list[Firing] = []
        for r in rules:
            self.fire(records, r, event, form or r.form, record, None, occurrence, extra={"task_id": task_id},
                      log=fired)
        self._log(records, fired)
        return fired

    # -- one firing --------------------------------------------------------------------------
    def fire(self, records, rule: RuleSpec, event: str, form: str, record: Mapping[str, Any],
             before: Mapping[str, Any] | None, occurrence: Mapping[str, Any] | None = None, *,
             key: str | None = None, extra: Mapping[str, Any] | None = None,
             log: list["Firing"] | None = None, planned: list[Effect] | None = None,
             writer=None) -> "Firing":
        """Evaluate and run one rule. The firing is appended to ``log`` for the caller to write with
        its siblings in one statement (``_log``); without ``log`` it is written now and gets its ``id``.
        ``planned``: the condition matched and these are the effects, worked out for a bulk write's
        whole batch (``runtime.rules.batch``); ``writer``: the ``rule_records`` to write through."""
        rid = record.get("id") if record else None
        current = _CHAIN.get()
        if current and any(c[0] == rule.key and c[1] == form and c[2] == rid for c in current):
            names = [c[3] for c in current]
            loop = names[next(i for i, c in enumerate(current) if c[0] == rule.key):] + [rule.name]
            raise RuleLoopError(f"rule loop: {' → '.join(loop)}; the rules keep re-triggering each other on "
                                f"{form} record {rid}, so nothing was saved — change a condition to break the "
                                "loop", rules=[c[0] for c in current] + [rule.key], form=form, record_id=rid)
        if len(current) >= MAX_DEPTH:
            names = [c[3] for c in current]
            raise RuleDepthError(f"rules nested more than {MAX_DEPTH} deep: {' → '.join(names + [rule.name])}",
                                 rules=[c[0] for c in current] + [rule.key], form=form, record_id=rid)
        conn = records.conn
        variables = dict(record or {})
        if occurrence:
            variables.update(occurrence)
        paths = rule.paths
        if rule.reads_process and rid is not None:  # process.node, process.done ... (the flow runtime's answer)
            variables[PROCESS] = self.jimu.services.flows.runtime(conn).process(form, rid)
        if paths and record:  # the linked records the condition reads (客户.等级)
            ectx = self._context(records)
            ectx.links = expr_context.prefetch(self.jimu.catalog, conn, self.jimu.catalog.form(form), variables,
                                               paths)
        else:
            ectx = self._condition_context(records)
        firing = Firing(rule, form, rid, event, len(current))
        t0 = time.perf_counter()
        if planned is not None:
            firing.matched = True
        else:
            try:
                firing.matched = rule.matches(variables, ectx)
            except JimuError as exc:
                firing.errors.append(exc.to_dict())
        if firing.matched:
            ac = None
            if planned is None:
                if not (paths and record):
                    ectx = self._context(records)   # the actions get a context of their own
                ac = ActionContext(rule=rule.key, form=form, event=event, record=record, variables=variables,
                                   eval=ectx, before=before, extra=dict(extra or {}),
                                   names=reference_names(self.jimu, conn, form))
            token = _CHAIN.set(current + ((rule.key, form, rid, rule.name),))
            try:
                with savepoint(conn):  # sent only if an action writes beyond what is kept and deferred
                    effects = rule.plan(ac) if planned is None else planned
                    executor = Executor(self.jimu, records, rule, key, writer=writer)
                    for i, effect in enumerate(effects):
                        firing.effects.append(logged(effect))
                        executor.run(i, effect)
                    firing.touched_self = (form, rid) in executor.touched
                    firing.touched = sorted(executor.touched, key=str)
            except (RuleLoopError, RuleDepthError):
                raise
            except JimuError as exc:
                firing.errors.append(exc.to_dict())
            except Exception as exc:  # a broken rule must not break the write: logged, rolled back
                logging.getLogger(__name__).exception("rule %s failed", rule.key)  # ``log`` is the firings here
                firing.errors.append({"code": "rule.action_failed", "message": f"{type(exc).__name__}: {exc}"})
            finally:
                _CHAIN.reset(token)
        firing.duration_ms = (time.perf_counter() - t0) * 1000
        if log is not None:
            log.append(firing)
        elif self._logged(firing):
            firing.id = conn.execute(sa.insert(rule_firings).values(
                **self._row(records, firing))).inserted_primary_key[0]
        return firing

    def _context(self, records):
        """What a rule's expressions see: the write's clock and actor, aggregates over the records,
        the installed calendars."""
        ectx = self.jimu.eval_context(now=records.now, user=records.principal.as_context(),
                                      aggregate=Aggregator(self.jimu, records.conn, records.now))
        ectx.calendars = expr_context.InstalledCalendars(records.conn, self.jimu.catalog)
        return ectx

    def _condition_context(self, records):
        """The context a condition reading no linked record is evaluated in, built once per ``Records``
        (a write, or a bulk write's batch, and the rules' writes it leads to: ``rule_records``) and
        clock: building it was most of the cost of a firing that does not match, once per record of
        an import."""
        cached = getattr(records, "_jimu_rule_condition", None)
        if cached is None or cached[0] != records.now:
            cached = records._jimu_rule_condition = (records.now, self._context(records))
        return cached[1]

    def _logged(self, f: "Firing") -> bool:
        return f.matched or bool(f.errors) or bool(self.jimu.config.get("RULES_LOG_NON_MATCHES"))

    @staticmethod
    def _row(records, f: "Firing") -> dict[str, Any]:
        return dict(at=records.now, rule_key=f.rule.key, app_key=f.rule.app, form_key=f.form, record_id=f.record_id,
                    event=f.event, depth=f.depth, source=records.source, matched=f.matched,
                    actions=jsonable(f.effects) or None, errors=jsonable(f.errors) or None,
                    duration_ms=round(f.duration_ms, 3))

    def _log(self, records, fired: list["Firing"]) -> None:
        """The firings of one write worth keeping (see the module docstring), written with the
        transaction's other firings in one statement when it commits (``runtime.deferred``)."""
        for f in fired:
            if self._logged(f):
                deferred.add(records.conn, rule_firings, self._row(records, f))

    # -- time relative to a date field -------------------------------------------------------
    def _schedule_timer(self, records, rule: RuleSpec, form: str, after, before) -> None:
        if after is None:
            return
        calendar = calendar_for(self.cache, records.conn, rule.trigger)
        due = rule.trigger.due(after, calendar)
        if due is None or (before is not None and rule.trigger.due(before, calendar) == due):
            return
        jobs.enqueue(records.conn, "rule.timer", {"rule": rule.key, "form": form, "record_id": after["id"],
                                                  "due": due.isoformat()},
                     run_at=due, key=f"rule.timer:{rule.key}:{form}:{after['id']}:{due.isoformat()}",
                     now=records.now, at_commit=True)


def logged(effect: Effect) -> dict[str, Any]:
    """An effect as the firing log keeps it: a message's templates, not the record's values it would
    read (the record is in its table; the log is read by the app's builders)."""
    out = effect.to_json()
    out.pop("variables", None)
    return out


class Firing:
    __slots__ = ("rule", "form", "record_id", "event", "depth", "matched", "effects", "errors", "id",
                 "duration_ms", "touched_self", "touched")

    def __init__(self, rule, form, record_id, event, depth):
        self.rule, self.form, self.record_id, self.event, self.depth = rule, form, record_id, event, depth
        self.matched = False
        self.effects: list[dict] = []
        self.errors: list[dict] = []
        self.id = None
        self.duration_ms = 0.0
        self.touched_self = False
        #: (form, record id) of every record the firing's actions wrote
        self.touched: list[tuple[str, Any]] = []


def rule_records(jimu, records, rule: RuleSpec):
    """The ``Records`` rules write through: same connection, clock and actor, no permission check
    (the rule was authorised when it was published), and marked as a rule write."""
    r = jimu.services.records(jimu, records.conn, records.principal, source="rule", check_permissions=False)
    r.now = records.now
    r._jimu_ruleset = getattr(records, "_jimu_ruleset", None)
    r._jimu_rule_condition = getattr(records, "_jimu_rule_condition", None)  # same clock, actor, connection
    return r


class Executor:
    """Runs one firing's effects; external ones become outbox jobs keyed ``<key>:<n>``.

    Rules and automatic steps write as the platform (``rule_records``: no permission check, the
    definition was authorised when it was published). Given ``as_person``, the effects write through
    those ``Records`` instead, with that person's rights (a macro run by a user), and effects that act
    as the platform on flows are refused."""

    #: effects a person's own rights cover: writes through their ``Records``, and messages
    PERSON_EFFECTS = frozenset({"set_fields", "assign", "create_record", "update_records", "add_participants",
                                "notify_in_app", "send_email", "send_survey", "send_webhook", "send_sms",
                                "send_message",
                                "call_http"})

    def __init__(self, jimu, records, rule: RuleSpec, key: str | None, *, as_person=None, writer=None,
                 prefix: str = "rule"):
        """``key``: the firing's key; without one a random ``<prefix>:<hex>`` when an effect first needs
        it (most firings enqueue no job, and drawing one costs a uuid4). ``writer``: the
        ``rule_records`` to write through (a bulk write's batch shares one)."""
        self.jimu, self.records, self.rule = jimu, records, rule
        self._key, self._prefix = key, prefix
        self.conn = records.conn
        self.touched: set[tuple[str, Any]] = set()
        self.as_person = as_person
        self.writer = writer

    @property
    def key(self) -> str:
        """The firing's key, the prefix of its jobs' idempotency keys ``<key>:<n>``."""
        if not self._key:
            self._key = f"{self._prefix}:{uuid.uuid4().hex}"
        return self._key

    def run(self, index: int, effect: Effect) -> None:
        handler = getattr(self, f"do_{effect.kind}", None)
        if handler is None:
            raise JimuError(f"the runtime cannot execute effect {effect.kind!r}", code="rule.unknown_effect")
        if self.as_person is not None and effect.kind not in self.PERSON_EFFECTS:
            raise JimuError(f"{self.rule.key} runs with a person's rights and cannot {effect.kind!r}; use "
                            "record and message actions only", code="rule.effect_not_allowed", effect=effect.kind)
        handler(index, effect.data)

    def _writer(self):
        if self.as_person is not None:
            return self.as_person
        return self.writer or rule_records(self.jimu, self.records, self.rule)

    # -- data ------------------------------------------------------------------------------
    def do_set_fields(self, i, d):
        current = self.records.store.get(self.jimu.catalog.form(d["form"]), d["id"])
        changed = {k: v for k, v in d["values"].items() if current.get(k) != v}
        if changed:  # writing what is already there would only re-trigger rules
            self._writer().update(d["form"], d["id"], changed)
            self.touched.add((d["form"], d["id"]))

    def do_assign(self, i, d):
        chosen = pick(self.jimu, self.conn, d)
        ft = self.jimu.catalog.form(d["form"])
        values = {d["field"]: chosen.user_id if holds_ids(ft, d["field"]) else chosen.username}
        if d.get("group_field") and chosen.group:
            values[d["group_field"]] = group_value(self.conn, ft, d["group_field"], chosen.group, chosen.group_id)
        self.do_set_fields(i, {"form": d["form"], "id": d["id"], "values": values})

    def do_create_record(self, i, d):
        created = self._writer().create(d["form"], d["values"])
        self.touched.add((d["form"], created["id"]))

    def do_update_records(self, i, d):
        from ..store.query import filter_clause
        ft = self.jimu.catalog.form(d["form"])
        ids = list(self.conn.execute(sa.select(ft.table.c.id).where(filter_clause(ft, {"all": d["filter"]},
                                                                                  now=self.records.now))
                                     .order_by(ft.table.c.id).limit(d.get("limit", 100))).scalars())
        for rid in ids:
            self.do_set_fields(i, {"form": d["form"], "id": rid, "values": d["values"]})

    def do_add_participants(self, i, d):
        from ..recipients import resolve_users
        from .tables import record_participants as p
        for uid in resolve_users(self.conn, d["recipients"], None):
            exists = self.conn.execute(sa.select(p.c.user_id).where(
                p.c.form_key == d["form"], p.c.record_id == d["id"], p.c.user_id == uid)).first()
            if not exists:
                self.conn.execute(sa.insert(p).values(form_key=d["form"], record_id=d["id"], user_id=uid,
                                                      added_at=self.records.now, rule_key=self.rule.key))

    def do_notify_in_app(self, i, d):
        self._enqueue(i, "rule.in_app", d)

    # -- flows (the container's flow service; the rule runtime does not import runtime.flows) --
    def _flows(self):
        return self.jimu.services.flows.runtime(self.conn)

    def do_start_flow(self, i, d):
        self._flows().start(d["flow"], record_id=d["id"])

    def do_task(self, i, d):
        fr = self._flows()
        ids = fr.open_task_ids(d["form"], d["id"], task_id=d.get("task_id"), node_id=d.get("task"),
                               flow_key=d.get("flow"))
        if not ids:
            if d.get("if_none") == "skip":
                return
            raise JimuError("the record has no open task to " + d["op"], code="rule.no_open_task")
        system = Principal(user_id=self.records.principal.user_id, username=f"rule:{self.rule.key}", is_admin=True)
        if d["op"] == "complete":
            for tid in ids[:1]:  # one task: the flow moves on, and may open the next one on this node
                fr.complete(system, tid, outcome=d["outcome"], comment=d.get("comment") or
                            "completed by rule " + self.rule.key)
            return
        comment = d.get("comment") or ("escalated by rule " if d["op"] == "escalate" else "reassigned by rule ") \
            + self.rule.key
        to = d.get("to")
        for tid in ids:
            if to:
                fr.reassign(system, tid, to, comment)
            elif d["op"] == "escalate":
                task = fr.task(tid)
                lead = None
                if task["assignee_group"]:
                    lead = self.conn.execute(sa.select(db.users.c.username).join(
                        db.groups, db.groups.c.lead_id == db.users.c.id).where(
                        db.groups.c.key == task["assignee_group"])).scalar()
                if lead is None:
                    raise JimuError("escalate needs 'to', or a task assigned to a group with a lead",
                                    code="rule.no_escalation_target")
                fr.reassign(system, tid, {"kind": "user", "value": lead}, comment)

    def do_reopen_flow(self, i, d):
        fr = self._flows()
        iid = fr.last_ended_instance(d["form"], d["id"], d["flow"])
        if iid is None:
            if d.get("if_none") == "skip":
                return
            raise JimuError(f"the record has no ended instance of flow {d['flow']!r} to reopen",
                            code="rule.no_ended_flow", flow=d["flow"])
        system = Principal(user_id=self.records.principal.user_id, username=f"rule:{self.rule.key}", is_admin=True)
        fr.reopen(system, iid, d.get("node"), d.get("comment") or "reopened by rule " + self.rule.key)

    # -- external: the outbox --------------------------------------------------------------
    def _enqueue(self, i, kind, payload, delay=timedelta(0)):
        jobs.enqueue(self.conn, kind, jsonable(payload), run_at=self.records.now + delay, key=f"{self.key}:{i}",
                     now=self.records.now, max_attempts=int(self.jimu.config.get("RULE_MAX_ATTEMPTS", 6)),
                     at_commit=True)

    def do_send_email(self, i, d):
        self._enqueue(i, "rule.email", d)

    def do_send_survey(self, i, d):
        self._enqueue(i, "rule.email", d)

    def do_send_webhook(self, i, d):
        self._enqueue(i, "rule.webhook", d)

    def do_send_sms(self, i, d):
        self._enqueue(i, "rule.sms", d)

    def do_send_message(self, i, d):
        """A message of a channel that plans ``send_message`` (``engines.rule.channels``): its job kind."""
        from engines.rule.channels import channel
        self._enqueue(i, channel(d["channel"]).job_kind, d)

    def do_call_http(self, i, d):
        self._enqueue(i, "rule.http", d)


class _Origin:
    """Who asked for effects that no rule planned (a flow's automatic step)."""

    def __init__(self, key: str):
        self.key = self.name = key


class ActionUnavailable(JimuError):
    code = "flow.action_unavailable"


class EffectsExecutor:
    """The one effects executor (the container's ``effects``): rules hand it the effects of a firing
    (``Executor`` per firing, see ``RuleRunner.fire``); the flow runtime hands it the rule actions of
    an automatic step (``run_actions``). Same write path, same outbox, one action registry
    (``engines.rule.ACTIONS``, filled from the ``jimu.rule_actions`` entry points)."""

    def __init__(self, jimu):
        self.jimu = jimu

    def execute(self, conn, effects, *, origin: str, key: str | None = None, principal=None,
                before_last=None) -> None:
        """Run effects planned outside a rule firing with the same executor, write path and outbox
        as rules. ``before_last`` is called before the last effect runs (an automatic step settles
        its savepoint block: ``store.records._Lazy.settle``)."""
        records = self.jimu.services.records(self.jimu, conn, principal or SYSTEM, source="flow",
                                             check_permissions=False)
        executor = Executor(self.jimu, records, _Origin(origin), key, prefix="effects")
        for i, effect in enumerate(effects):
            if before_last is not None and i == len(effects) - 1:
                before_last()
            executor.run(i, effect)

    def run_actions(self, conn, actions, *, form: str | None, record_id: int | None, origin: str,
                    key: str | None = None, extra: Mapping[str, Any] | None = None,
                    as_person=None, variables: Mapping[str, Any] | None = None,
                    before_last=None) -> set[tuple[str, Any]]:
        """Build each rule action (``engines.rule.ACTIONS``), plan its effects on the record and execute
        them. ``variables`` are added to the record's fields for the actions' templates and expressions
        (a task's label, an SLA's deadline). An action type that is not registered or a misconfigured
        action is a coded error: the job that runs it fails, retries and ends up ``failed`` with this message for an administrator.

        ``as_person`` (a person's ``Records``): the effects write with that person's rights, as their
        own writes would (a macro); without it they write as the platform. ``before_last``: see
        ``execute`` (platform writes only). Answers the (form, id) of every record written."""
        record = self.jimu.services.store(conn).get(self.jimu.catalog.form(form), record_id) if record_id else {}
        event = "flow.automatic" if as_person is None else "record.macro"
        ectx = self.jimu.eval_context() if as_person is None else as_person.eval_context()
        names = reference_names(self.jimu, conn, form)
        effects: list[Effect] = []  # one executor for all of them: outbox keys <key>:<n> stay distinct
        for action in self._built(conn, actions, origin, form):
            actx = ActionContext(rule=origin, form=form or "", event=event, record=record,
                                 variables={**record, **(variables or {})}, eval=ectx, extra=dict(extra or {}),
                                 names=names)
            effects.extend(action.plan(actx))
        if as_person is None:
            self.execute(conn, effects, origin=origin, key=key, before_last=before_last)
            return set()
        executor = Executor(self.jimu, as_person, _Origin(origin), key, prefix="effects", as_person=as_person)
        for i, effect in enumerate(effects):
            executor.run(i, effect)
        return executor.touched

    def _built(self, conn, actions, origin: str, form: str | None) -> tuple:
        """``build_actions`` of ``actions``, kept per catalogue revision (the templates they may name
        are the installed packages'): an automatic step or a flow's message builds the same actions
        each time it runs, and checking the configurations against their schemas again was most of
        the cost of running them. The actions of a compiled flow (a frozen tuple, compiled once per
        revision with its flow) are known by identity — turning them into a key each run cost more
        than planning them; other configurations (a retried job's, a flow's message) by their JSON
        text. A built action does not depend on ``origin`` (only its errors name it); a
        configuration that does not build raises every time."""
        built = self.jimu.catalog.compiled("built_actions", conn, lambda conn: {})
        frozen = isinstance(actions, tuple)
        key = (form, id(actions) if frozen else json.dumps(actions, sort_keys=True, ensure_ascii=False,
                                                           default=repr))
        found = built.get(key)
        if found is None or (frozen and found[0] is not actions):
            from .loader import allowlist
            configs = jsonable(actions)
            templates = self._templates(conn, form) if any(a.get("template") for a in configs) else {}
            found = (actions if frozen else None,
                     tuple(build_actions(configs, origin, allow=allowlist(self.jimu), templates=templates)))
            if len(built) >= MAX_BUILT:
                built.clear()
            built[key] = found
        return found[1]

    def _templates(self, conn, form: str | None) -> dict:
        """The message templates of the app ``form`` belongs to (what a ``template`` of a flow's message
        or automatic step names)."""
        from .loader import package_templates
        app_key = self.jimu.catalog.form(form).app_key if form else None
        package = conn.execute(sa.select(db.apps.c.package).where(db.apps.c.key == app_key)).scalar() \
            if app_key else None
        return package_templates(package or {})


def build_actions(actions, origin: str, allow: tuple[str, ...] = (), templates: Mapping[str, Any] | None = None) -> list:
    """The rule actions (``engines.rule.ACTIONS``) of ``actions`` (their configurations), built once;
    an action type not installed or misconfigured is a coded error naming ``origin``. ``allow``: the
    hosts outbound actions may reach although private (``OUTBOUND_ALLOWLIST``); ``templates``: the
    package's message templates a notify may name (``engines.rule.spec.use_templates``)."""
    from engines.rule import ACTIONS
    from engines.rule.spec import use_templates
    built = []
    for config in actions:
        if config.get("template") is not None:
            missing: list[dict] = []
            config = use_templates(config, templates or {}, missing, f"/{origin}")
            if config is None:
                raise ActionUnavailable(f"{origin}: {missing[0]['message']}", action="notify")
        try:
            cls = ACTIONS.get(config.get("type"))
        except JimuError:
            raise ActionUnavailable(f"{origin} uses rule action {config.get('type')!r}, which is not installed "
                                    "(no jimu.rule_actions entry point of that type)",
                                    action=config.get("type"), origin=origin) from None
        errors: list[dict] = []
        action = cls.build(config, errors, f"/{origin}", allow=allow)
        if action is None:
            raise ActionUnavailable(f"rule action {config.get('type')!r} of {origin} is misconfigured: "
                                    + "; ".join(e.get("message", "") for e in errors), action=config.get("type"))
        built.append(action)
    return built
