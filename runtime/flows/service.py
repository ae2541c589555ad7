"""The imperative shell around the pure flow engine.

``FlowRuntime(jimu, conn)`` works inside the caller's transaction: it loads an
instance row (locked ``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
serialises writers), runs ``engines.flow.step`` on the *version the instance
started on*, executes the returned effects (task rows, timer jobs, history,
rule actions, escalations) and stores the new state — all or nothing (the state once, as the
transaction commits: ``runtime.deferred.update``).

Publishing: ``publish_flows`` compiles every flow of an installed package and
stores a new immutable version when its definition changed; new instances
start on the newest version, running ones stay on theirs.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
from datetime import datetime
from typing import Any, Iterable, Mapping

import sqlalchemy as sa

from engines.flow import (ActionsDone, AppendHistory, AssignTask, CancelTimer, CloseTask, CreateTask, Delegate,
                          Escalate, FlowConflict, FlowError, InstanceEnded, Reassign, RecordChanged, Reopen, Return,
                          RunActions, ScheduleTimer, SlaNotice, Start, TaskCompleted, TimerFired, Cancel,
                          compile_flow, new_state, step)
from engines.flow.effects import plain
from engines.flow.spec import FlowSpec
from engines.rule import RuleDepthError, RuleLoopError

from .. import audit, db, deferred, expr_context, jobs
from ..auth.principal import Principal
from ..exceptions import JimuError, NotFound, PermissionDenied, ValidationErrors
from ..memo import once
from ..recipients import literal_emails, resolve_users, task_people
from ..store.records import RecordStore, WriteNotUndone, created_here, savepoint, time_as_read, written
from .tables import flow_history, flow_instances, flow_tasks, flow_versions

log = logging.getLogger(__name__)

TIMER_JOB = "flow.timer"
ACTIONS_JOB = "flow.actions"
NOTICE_JOB = "flow.task_notice"
SYSTEM = Principal(user_id=None, username="system", is_admin=True)
#: automatic steps one event may run back to back before the chain counts as a runaway loop
MAX_AUTOMATIC = 100
#: the status of an instance, and of its open tasks, while its record is in the recycle bin
IN_BIN = "in_bin"

class TaskFieldsInvalid(ValidationErrors):
    code = "flow.fields_invalid"
    status = 422


def checksum(definition: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(definition, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


# -- publishing --------------------------------------------------------------------------------
def publish_flows(conn: sa.Connection, app_key: str, flows: Iterable[Mapping[str, Any]], *,
                  now: datetime) -> list[tuple[str, int]]:
    """Compile each flow (``FlowCheckError`` lists every problem) and store a new version of
    each changed one. Returns the (key, version) pairs published."""
    published = []
    flows = list(flows)
    for definition in flows:
        compile_flow(definition)  # refuse a broken flow before anything is stored
    for definition in flows:
        key = definition["key"]
        latest = conn.execute(sa.select(flow_versions.c.version, flow_versions.c.checksum)
                              .where(flow_versions.c.key == key)
                              .order_by(flow_versions.c.version.desc()).limit(1)).first()
        digest = checksum(definition)
        if latest is not None and latest.checksum == digest:
            continue
        version = (latest.version if latest else 0) + 1
        conn.execute(sa.insert(flow_versions).values(
            app_key=app_key, key=key, version=version, form_key=definition.get("form"),
            start_mode=definition.get("start", "on_create"), definition=dict(definition), checksum=digest,
            published_at=now))
        published.append((key, version))
    return published


def _load_latest(conn: sa.Connection) -> dict[str, tuple[int, str, str | None]]:
    latest = {}
    for r in conn.execute(sa.select(flow_versions.c.key, flow_versions.c.version, flow_versions.c.start_mode,
                                    flow_versions.c.form_key).order_by(flow_versions.c.key, flow_versions.c.version)):
        latest[r.key] = (r.version, r.start_mode, r.form_key)
    return latest


#: the INSERTs of a new instance and a new task, built once: the values come as parameters (building
#: a statement with its values was a good part of the CPU of executing it). They return the id and
#: the values the database normalises (timestamps to UTC, JSON documents), see ``_inserted``
_INSERT_INSTANCE = sa.insert(flow_instances).returning(flow_instances.c.id, flow_instances.c.started_at,
                                                       flow_instances.c.updated_at)
_INSERT_TASK = sa.insert(flow_tasks).returning(flow_tasks.c.id, flow_tasks.c.label, flow_tasks.c.fields,
                                               flow_tasks.c.outcomes, flow_tasks.c.due_at, flow_tasks.c.created_at)

#: every column of those tables as None: the start of a row read back from what was sent
_BLANK = {table: dict.fromkeys(table.c.keys()) for table in (flow_instances, flow_tasks)}
#: the JSON columns of those tables (``_as_read``), known once instead of asked of each column per insert
_JSON = {table: frozenset(c.key for c in table.c if isinstance(c.type, sa.JSON)) for table in _BLANK}


def _inserted(conn: sa.Connection, insert: sa.Insert, table: sa.Table, values: Mapping[str, Any]) -> dict:
    """Insert ``values`` with ``insert`` (one of the above) and answer the row as reading it would: what
    the statement returns from the database, the other columns as sent (text and numbers), None where
    nothing was sent. Returning every column cost more CPU than the rest of the INSERT (the columns
    walked before it runs, each loaded after).

    Where rows wait for the commit (``deferred.waits``: PostgreSQL) and ``values`` carry an id drawn
    already, the row is inserted then instead, with the changes the transaction makes to it merged
    in (``deferred.insert``): an instance moves and a task is reassigned in the create that starts
    them, which wrote a second version of each row, in every index. The row answered is then made
    from what was sent: times in UTC and JSON documents as the database gives them back
    (``deferred.jsonb_as_read``); a value whose read is not certain has it inserted at once."""
    if "id" in values and deferred.waits(conn):
        try:
            row = {**_BLANK[table], **{k: _as_read(k in _JSON[table], v) for k, v in values.items()}}
        except ValueError:
            pass
        else:
            deferred.insert(conn, table, values)
            return row
    returned = conn.execute(insert, values).mappings().one()
    return {**_BLANK[table], **values, **returned}


def _ahead(spec: FlowSpec) -> tuple[tuple[sa.Table, ...], tuple[str, ...]]:
    """What the start of ``spec`` most likely inserts after the instance, for ``deferred.new_id`` to draw
    their ids with the instance's (or with the record's that starts it: ``FlowService.inserts_ahead``):
    the tasks' table if it has a node that opens tasks (``TaskNode``: user tasks, approvals,
    countersigns, a plugin's kind of task), and the forms its first node files a record in when that
    is an automatic step (``create_record``: an acknowledgement filed as the flow starts). An id drawn
    and not used is a gap in that table's ids, as a rolled-back insert leaves.
    Worked out ``once`` per spec."""
    from engines.flow.nodes.automatic import AutomaticNode
    from engines.flow.nodes.task import TaskNode
    tasks = (flow_tasks,) if any(isinstance(n.behaviour, TaskNode) for n in spec.nodes.values()) else ()
    first = spec.nodes.get(spec.first_node) if spec.first_node else None
    forms: tuple[str, ...] = ()
    if first is not None and isinstance(first.behaviour, AutomaticNode):
        forms = tuple(a["form"] for a in first.config.get("actions") or () if isinstance(a, Mapping)
                      and a.get("type") == "create_record" and isinstance(a.get("form"), str))
    return tasks, forms


def _as_read(json: bool, value: Any) -> Any:
    """``value`` as reading it back from its column (``json``: a JSON one) gives it (ValueError where
    that is not certain)."""
    if isinstance(value, datetime):
        return time_as_read(value)
    if json:
        return deferred.jsonb_as_read(value)
    return value


# Reads and writes a step makes of instance and task rows, built once with bound parameters (a
# statement built per call cost more CPU, its construction and cache key, than running it on SQLite)
_fi, _ft = flow_instances, flow_tasks
_INSTANCE = sa.select(_fi).where(_fi.c.id == sa.bindparam("iid"))
_INSTANCE_LOCKED = _INSTANCE.with_for_update()
_RUNNING_ON = (sa.select(_fi.c.id).where(_fi.c.form_key == sa.bindparam("form"), _fi.c.record_id == sa.bindparam("rid"),
                                         _fi.c.status == "running").order_by(_fi.c.id))
_TASK = sa.select(_ft).where(_ft.c.id == sa.bindparam("tid"))
_TASK_OF = sa.select(_ft).where(_ft.c.instance_id == sa.bindparam("iid"), _ft.c.task_key == sa.bindparam("task"))
_OPEN_TASKS = (sa.select(_ft).where(_ft.c.instance_id == sa.bindparam("iid"), _ft.c.status == "open")
               .order_by(_ft.c.id))
_CLOSE_TASK = (sa.update(_ft).where(_ft.c.instance_id == sa.bindparam("iid"), _ft.c.task_key == sa.bindparam("task"))
               .values(status=sa.bindparam("state"), outcome=sa.bindparam("chosen"), closed_at=sa.bindparam("at"),
                       closed_by=sa.bindparam("by")))
_SET_DUE = (sa.update(_ft).where(_ft.c.instance_id == sa.bindparam("iid"), _ft.c.task_key == sa.bindparam("task"))
            .values(due_at=sa.bindparam("due")))
_SET_COMMENT = sa.update(_ft).where(_ft.c.id == sa.bindparam("tid")).values(comment=sa.bindparam("text"))


@functools.lru_cache(maxsize=None)
def _open_task_ids(by_task: bool, by_node: bool, by_flow: bool) -> sa.Select:
    """``open_task_ids``'s query for the filters given (parameters ``form``, ``rid``, ``tid``, ``node``,
    ``flow``), built once per combination."""
    t = _ft
    if by_task:
        q = sa.select(t.c.id).where(t.c.id == sa.bindparam("tid"), t.c.status == "open")
    else:
        q = sa.select(t.c.id).where(t.c.form_key == sa.bindparam("form"), t.c.record_id == sa.bindparam("rid"),
                                    t.c.status == "open")
    if by_node:
        q = q.where(t.c.node_id == sa.bindparam("node"))
    if by_flow:
        q = q.join(_fi, _fi.c.id == t.c.instance_id).where(_fi.c.flow_key == sa.bindparam("flow"))
    return q.order_by(t.c.id)


def _tasks_of(form_key: str, record_id: int) -> tuple:
    """The key, in the records kept for the transaction, of the ids of a new record's tasks."""
    return (flow_tasks, "of", form_key, record_id)


def _instances_of(form_key: str, record_id: int) -> tuple:
    """The key, in the records kept for the transaction, of the ids of a new record's flow instances."""
    return (flow_instances, "of", form_key, record_id)


def _user_id(actor: str | None) -> int | None:
    return int(actor) if actor and actor.isdigit() else None


class FlowRuntime:
    def __init__(self, jimu, conn: sa.Connection):
        self.jimu = jimu
        self.conn = conn
        self.now = jimu.now()
        self.calendars = expr_context.InstalledCalendars(conn, jimu.catalog)
        #: (instance id, task key, assignee spec, task columns) that ``reassign`` resolved, for the
        #: ``AssignTask`` effect of the event it feeds (resolved once, not twice)
        self._resolved: tuple | None = None

    # -- definitions -------------------------------------------------------------------------
    def spec(self, key: str, version: int | None = None) -> FlowSpec:
        """The compiled spec of ``key`` at ``version`` (default: the newest)."""
        if version is None:
            latest = self._latest().get(key)
            if latest is None:
                raise NotFound(f"no flow {key!r} is published", code="flow.not_found", flow=key)
            version = latest[0]
        cache = self.jimu.catalog.compiled("flow_specs", self.conn, lambda conn: {})  # filled as asked
        spec = cache.get((key, version))
        if spec is None:
            row = self.conn.execute(sa.select(flow_versions.c.definition).where(
                flow_versions.c.key == key, flow_versions.c.version == version)).first()
            if row is None:
                raise NotFound(f"flow {key!r} has no version {version}", code="flow.not_found", flow=key)
            spec = cache[(key, version)] = compile_flow(dict(row.definition, version=version))
        return spec

    def _latest(self) -> dict[str, tuple[int, str, str | None]]:
        """Flow key → (newest version, start mode, form), once per catalogue revision: flows are
        published only by an install, which moves the revision in the same transaction, so a create
        asks the database nothing to learn which flows start on it."""
        return self.jimu.catalog.compiled("flow_latest", self.conn, _load_latest)

    def clocked_forms(self) -> frozenset:
        """Forms some published flow keeps service-level clocks on (what record writes must tell)."""
        def load(conn):
            out = set()
            for r in conn.execute(sa.select(flow_versions.c.form_key, flow_versions.c.definition)):
                if r.form_key and (r.definition or {}).get("sla"):
                    out.add(r.form_key)
            return frozenset(out)
        return self.jimu.catalog.compiled("flow_clocked_forms", self.conn, load)

    def record_changed(self, form_key: str, record_id: int) -> None:
        """A record was written: its running instances that keep service-level clocks re-read it (met,
        paused, resumed). An instance in the middle of a step (an automatic step writing its record)
        re-reads it when that step ends (``_step``)."""
        if form_key not in self.clocked_forms():
            return
        busy = self.conn.info.setdefault("jimu_flow_stepping", {})
        kept = self._kept_instances_of(form_key, record_id)
        if kept is not None:  # a record created in this transaction: its instances are all in memory
            running = sorted(r["id"] for r in kept if r["status"] == "running")
        else:
            running = self.conn.execute(_RUNNING_ON, {"form": form_key, "rid": record_id}).scalars().all()
        for iid in running:
            if iid in busy:
                busy[iid] = True
                continue
            row = self.instance(iid, lock=True)
            spec = self.spec(row["flow_key"], row["flow_version"])
            if spec.sla is not None:
                self._step(spec, row, row["state"], RecordChanged(), self._record(form_key, record_id))

    def flows_for_form(self, form_key: str) -> list[str]:
        return [k for k, (_, mode, form) in sorted(self._latest().items()) if form == form_key and mode == "on_create"]

    # -- instances ---------------------------------------------------------------------------
    def start_tables(self, spec: FlowSpec) -> tuple[sa.Table, ...]:
        """The tables a start of ``spec`` inserts into: the instance's, then what it most likely inserts
        next (``_ahead``; a form gone since the flow was published is left out: its step says so itself)."""
        tasks, forms = once(spec, _ahead)
        catalog = self.jimu.catalog
        return (flow_instances, *tasks, *(catalog.form(key).table for key in forms if key in catalog))

    def start(self, flow_key: str, *, record_id: int | None = None, record: Mapping[str, Any] | None = None,
              actor: int | None = None, comment: str | None = None) -> int:
        spec = self.spec(flow_key)
        if record is None and record_id is not None and spec.form:
            record = self._record(spec.form, record_id)
        values = dict(flow_key=spec.key, flow_version=spec.version, form_key=spec.form, record_id=record_id,
                      status="new", state={}, started_by=actor, started_at=self.now, updated_at=self.now)
        kept = written(self.conn, create=True)
        if deferred.waits(self.conn):   # with the ids of what it most likely writes next: one statement
            values["id"] = deferred.new_id(self.conn, *self.start_tables(spec))
        inserted = _inserted(self.conn, _INSERT_INSTANCE, flow_instances, values)
        iid = inserted["id"]
        kept[(flow_instances, iid)] = inserted
        if spec.form and record_id is not None and created_here(self.conn, self.jimu.catalog.form(spec.form),
                                                                  record_id):
            kept.setdefault(_instances_of(spec.form, record_id), []).append(iid)
        row = {"id": iid, "form_key": spec.form, "record_id": record_id, "started_by": actor}
        self._step(spec, row, new_state(spec, iid), Start(actor=str(actor) if actor else None, comment=comment),
                   record)
        return iid

    def instance(self, iid: int, *, lock: bool = False):
        """The instance row; one this transaction wrote is answered from memory (it holds its lock)."""
        kept = written(self.conn)
        if kept is not None and (flow_instances, iid) in kept:
            return dict(kept[(flow_instances, iid)])  # its state is shared: states are never changed in place
        q = _INSTANCE_LOCKED if lock and self.conn.dialect.name == "postgresql" else _INSTANCE
        row = self.conn.execute(q, {"iid": iid}).mappings().first()
        if row is None:
            raise NotFound(f"flow instance {iid} does not exist", code="flow.instance_not_found", id=iid)
        return row

    def apply(self, iid: int, event) -> dict:
        """Feed one event to instance ``iid`` on its own version; returns the new state."""
        row = self.instance(iid, lock=True)
        spec = self.spec(row["flow_key"], row["flow_version"])
        record = self._record(row["form_key"], row["record_id"]) if row["record_id"] is not None else {}
        return self._step(spec, row, row["state"], event, record)

    def _record(self, form_key: str | None, record_id: int | None) -> dict:
        if not form_key or record_id is None:
            return {}
        return RecordStore(self.conn).get(self.jimu.catalog.form(form_key), record_id)

    def _step(self, spec: FlowSpec, row: Mapping[str, Any], state: Mapping[str, Any], event, record, *,
              fire_rules: bool = True) -> dict:
        """Apply ``event`` and execute its effects; then, for every automatic step it reached, apply
        the step's actions now and move on with ``ActionsDone`` on the record as it now is — so the
        gateway after an automatic step decides on the values the step set."""
        busy = self.conn.info.setdefault("jimu_flow_stepping", {})
        outer = row["id"] not in busy
        if outer:
            busy[row["id"]] = False
        try:
            state = self._run_events(spec, row, state, event, record, fire_rules)
            while outer and busy[row["id"]] and spec.sla is not None and state["status"] == "running":
                busy[row["id"]] = False  # the record was written during the step: the clocks re-read it
                state = self._run_events(spec, row, self.instance(row["id"])["state"], RecordChanged(),
                                         self._record(row["form_key"], row["record_id"]), fire_rules)
        finally:
            if outer:
                busy.pop(row["id"], None)
        return state

    def _run_events(self, spec: FlowSpec, row: Mapping[str, Any], state: Mapping[str, Any], event, record,
                    fire_rules: bool) -> dict:
        events = [event]
        done = 0
        while events:
            event = events.pop(0)
            if isinstance(event, ActionsDone):
                done += 1
                if done > MAX_AUTOMATIC:
                    raise FlowError(f"more than {MAX_AUTOMATIC} automatic steps ran for one event; a loop of "
                                    "automatic steps never waits — put a task or timer inside it",
                                    code="flow.runaway", flow=spec.key)
                state = self.instance(row["id"])["state"]   # rules fired meanwhile may have moved it
                record = self._record(row["form_key"], row["record_id"])
            state, effects = step(spec, state, event, now=self.now, record=self._with_links(spec, record),
                                  calendar=self.calendars)
            ended = None
            automatic = []
            for effect in effects:
                if isinstance(effect, RunActions):
                    automatic.append(effect)   # after the state is stored: the actions may write the record
                    continue
                handler = getattr(self, "_do_" + effect.type)
                handler(row, effect)
                if isinstance(effect, InstanceEnded):
                    ended = self.now
            values = dict(state=state, status=state["status"], outcome=state.get("outcome"), updated_at=self.now)
            if state["status"] == "running":
                values["ended_at"] = None
            elif ended is not None:
                values["ended_at"] = ended
            # written once, at commit (or before a statement reading the table): a create moves the
            # instance several times (started, past an automatic step, a rule's reassignment)
            deferred.update(self.conn, flow_instances, row["id"], values)
            self._keep_instance(row, values)
            if fire_rules:
                self._fire_rules(spec, row, event, effects)
            events.extend(ActionsDone(e.key) for e in automatic if self._do_run_actions(row, e))
        return state

    def _keep_instance(self, row: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        """Keep the instance as just written (this transaction now holds its row lock). The state is
        kept, deferred and handed out without copies: ``step`` never changes the state it is given
        and returns a new one, and nothing else changes one in place (three deep copies per step
        were a tenth of the CPU of creating a record that starts a flow)."""
        kept = written(self.conn, create=True)
        key = (flow_instances, row["id"])
        base = kept.get(key)
        if base is None and _BLANK[flow_instances].keys() <= row.keys():
            base = kept[key] = dict(row)
        if base is not None:
            base.update(values)

    def _with_links(self, spec: FlowSpec, record):
        """The record with the linked records its edge conditions read (客户.等级), for the flow engine."""
        paths = expr_context.flow_paths(spec)
        if not (paths and record and spec.form):
            return record
        linked = expr_context.LinkedRecord(record)
        linked.links = expr_context.prefetch(self.jimu.catalog, self.conn, self.jimu.catalog.form(spec.form),
                                             linked, paths)
        return linked

    def _fire_rules(self, spec: FlowSpec, row: Mapping[str, Any], event, effects) -> None:
        """Task and flow triggers of the rules (``task.created`` ... ``flow.ended``), in this transaction,
        through the rule service of the container (the flow runtime does not import the rule runtime)."""
        fired = []
        if isinstance(event, Start):
            fired.append(("flow.started", None, None))
        for e in effects:
            if isinstance(e, CreateTask):
                fired.append(("task.created", e.node_id, e.task_id))
            elif isinstance(e, CloseTask) and e.state == "completed":
                fired.append(("task.completed", None, e.task_id))
            elif isinstance(e, Escalate):
                fired.append(("task.overdue", e.node_id, e.task_id))
            elif isinstance(e, InstanceEnded):
                fired.append(("flow.ended", None, None))
        rules = self.jimu.services.rules
        for name, node_id, task_key in fired:
            if not rules.listens(self.conn, name, flow=spec.key, form=row["form_key"]):
                continue  # no rule of the form has this trigger: nothing to read or evaluate
            task_id = None
            if task_key is not None:
                task = self._task_row(row["id"], task_key)
                task_id, node_id = task["id"], task["node_id"]
            rules.fire_flow_event(self.conn, name, flow=spec.key, task=node_id,
                                                     form=row["form_key"], record_id=row["record_id"],
                                                     task_id=task_id)

    # -- effects -----------------------------------------------------------------------------
    def _task_row(self, iid: int, task_key: str):
        kept = written(self.conn)
        tid = kept.get((flow_tasks, "key", iid, task_key)) if kept is not None else None
        if tid is not None and (flow_tasks, tid) in kept:
            return dict(kept[(flow_tasks, tid)])
        return self.conn.execute(_TASK_OF, {"iid": iid, "task": task_key}).mappings().first()

    def _forget_task(self, task_id: int | None = None, *, iid: int | None = None, task_key: str | None = None):
        """A task row is about to change: drop the copy kept since it was created (and with it the
        list of its record's tasks, ``_kept_tasks_of``)."""
        kept = written(self.conn)
        if kept is None:
            return
        if task_id is None:
            task_id = kept.get((flow_tasks, "key", iid, task_key))
        task = kept.pop((flow_tasks, task_id), None)
        if task is not None:
            kept.pop(_tasks_of(task["form_key"], task["record_id"]), None)

    def _kept_instances_of(self, form_key: str, record_id: int) -> list[dict] | None:
        """Every flow instance of a record this transaction created, as kept — or None when the
        database must be asked (an older record)."""
        kept = written(self.conn)
        ids = kept.get(_instances_of(form_key, record_id)) if kept is not None else None
        if ids is None or any((flow_instances, iid) not in kept for iid in ids):
            return None
        return [kept[(flow_instances, iid)] for iid in ids]

    def _kept_tasks_of(self, form_key: str, record_id: int) -> list[dict] | None:
        """Every task of a record this transaction created, as kept since they were written — or
        None when the database must be asked (an older record, a task changed meanwhile)."""
        kept = written(self.conn)
        ids = kept.get(_tasks_of(form_key, record_id)) if kept is not None else None
        if ids is None or any((flow_tasks, tid) not in kept for tid in ids):
            return None
        return [kept[(flow_tasks, tid)] for tid in ids]

    def _do_create_task(self, row, e: CreateTask) -> None:
        values = self.resolve(e.assignee, row)
        kept = written(self.conn, create=True)  # the rules told of it and the rules' task actions read it next
        if deferred.waits(self.conn):
            values["id"] = deferred.new_id(self.conn, flow_tasks)
        task = _inserted(self.conn, _INSERT_TASK, flow_tasks, dict(
            instance_id=row["id"], task_key=e.task_id, node_id=e.node_id, label=plain(e.label),
            form_key=row["form_key"], record_id=row["record_id"], status="open", fields=plain(e.fields),
            outcomes=plain(e.outcomes), priority=0, due_at=e.due_at, created_at=self.now, **values))
        kept[(flow_tasks, task["id"])] = dict(task)
        kept[(flow_tasks, "key", row["id"], e.task_id)] = task["id"]
        if row["form_key"] and created_here(self.conn, self.jimu.catalog.form(row["form_key"]), row["record_id"]):
            kept.setdefault(_tasks_of(row["form_key"], row["record_id"]), []).append(task["id"])
        self._notice(task, f"flow:{row['id']}/{e.task_id}:new")

    def _notice(self, task: Mapping[str, Any], key: str) -> None:
        """Tell the task's assignee after the write commits (``task_notice_job``), by a job that
        names the assignee it was queued for: a task reassigned in the same write (dispatch rules)
        is announced once, to whom it ends up with — its earlier notice, still waiting for the
        commit, is taken back (``deferred.drop``); one already written is skipped when it runs."""
        kept = written(self.conn, create=True)
        deferred.drop(self.conn, kept.pop((flow_tasks, "notice", task["id"]), None))
        kept[(flow_tasks, "notice", task["id"])] = jobs.enqueue(
            self.conn, NOTICE_JOB, {"task": task["id"], "assignee": _assignee_of(task)}, run_at=self.now, key=key,
            now=self.now, max_attempts=3, at_commit=True)

    def _do_close_task(self, row, e: CloseTask) -> None:
        self._forget_task(iid=row["id"], task_key=e.task_id)
        self.conn.execute(_CLOSE_TASK, {"iid": row["id"], "task": e.task_id, "state": e.state, "chosen": e.outcome,
                                        "at": self.now, "by": _user_id(e.actor)})

    def _do_assign_task(self, row, e: AssignTask) -> None:
        task = self._task_row(row["id"], e.task_id)
        known = self._resolved
        if known is not None and known[:2] == (row["id"], e.task_id) and known[2] == plain(e.assignee):
            values = dict(known[3])   # ``reassign`` has just resolved it
        else:
            values = self.resolve(e.assignee, row)
        if e.reason == "delegated":
            values["delegated_from"] = task["assignee_user_id"]
        kept = written(self.conn)
        notice = ({**dict(task), **values}, f"flow:{row['id']}/{e.task_id}:{e.reason}:"
                  f"{self.now.isoformat()}:{'/'.join(str(v) for v in _assignee_of(values))}")
        if kept is not None and (flow_tasks, task["id"]) in kept:
            # a task this transaction opened: kept with its new assignee, written once at commit
            deferred.update(self.conn, flow_tasks, task["id"], values)
            kept[(flow_tasks, task["id"])] = {**kept[(flow_tasks, task["id"])], **values}
        else:
            self.conn.execute(sa.update(flow_tasks).where(flow_tasks.c.id == task["id"]).values(**values))
        self._notice(*notice)

    def _do_schedule_timer(self, row, e: ScheduleTimer) -> None:
        jobs.enqueue(self.conn, TIMER_JOB, {"instance": row["id"], "timer": e.timer_id}, run_at=e.fire_at,
                     key=f"flow:{e.key}", now=self.now, at_commit=True)

    def _do_cancel_timer(self, row, e: CancelTimer) -> None:
        jobs.cancel(self.conn, f"flow:{e.key}")

    def _do_run_actions(self, row, e: RunActions) -> bool:
        """Apply an automatic step's actions now, in this transaction: field updates go through the
        write path, messages that leave the process into the outbox. True when they ran. If they fail,
        nothing of them is kept, the step waits and a durable, retried job runs them and then moves
        the instance on (the failure is in the job and the instance history). The SAVEPOINT that
        undoes them is sent only if an effect before the last one writes: the last effect's checks
        come before its write, and what could fail after that write fails the whole transaction
        (``store.records._Lazy.settle``) — a step that files one reply costs no SAVEPOINT and RELEASE."""
        payload = {"instance": row["id"], "node": e.node_id, "form": row["form_key"], "record_id": row["record_id"],
                   "actions": e.actions, "key": f"flow:{e.key}", "resume": e.key}  # as compiled: see _built
        try:
            with savepoint(self.conn) as block:
                run_actions(self.jimu, self.conn, payload, before_last=block.settle)
            return True
        except (RuleLoopError, RuleDepthError):
            raise
        except WriteNotUndone as exc:
            if isinstance(exc.__cause__, (RuleLoopError, RuleDepthError)):
                raise exc.__cause__ from None
            raise
        except Exception as exc:  # noqa: BLE001 — kept, retried and shown, never lost
            message = exc.message if isinstance(exc, JimuError) else f"{type(exc).__name__}: {exc}"
            log.warning("automatic step %s of instance %s failed, retrying as a job: %s", e.node_id, row["id"],
                        message)
            deferred.add(self.conn, flow_history, dict(instance_id=row["id"], at=self.now, node_id=e.node_id,
                                                       kind="actions_failed", actor_id=None, outcome=None,
                                                       comment=message[:1000]))
            jobs.enqueue(self.conn, ACTIONS_JOB, {**payload, "actions": plain(e.actions)}, run_at=self.now,
                         key=f"flow:{e.key}", now=self.now)
            return False

    def _do_escalate(self, row, e: Escalate) -> None:
        task = self._task_row(row["id"], e.task_id)
        self._forget_task(task["id"])
        if e.action == "reassign" and e.assignee:
            values = self.resolve(plain(e.assignee), row)
            self.conn.execute(sa.update(flow_tasks).where(flow_tasks.c.id == task["id"]).values(**values))
            self._notice({**dict(task), **values}, f"flow:{row['id']}/{e.task_id}:sla{e.level}")
        elif e.action == "raise_priority":
            self.conn.execute(sa.update(flow_tasks).where(flow_tasks.c.id == task["id"])
                              .values(priority=flow_tasks.c.priority + 1))
            if e.set and row["form_key"] and row["record_id"] is not None:
                from ..records import Records
                Records(self.jimu, self.conn, SYSTEM, source="flow", check_permissions=False).update(
                    row["form_key"], row["record_id"], plain(e.set))
        # every level tells the people its ``notify`` names: by default the assignee and their group lead
        messages = plain(e.notify) if e.notify is not None else [dict(m) for m in DEFAULT_MESSAGES["breach"]]
        label = self._text(task["label"]) or task["node_id"]
        told = self.tell(row, messages, tasks=[task], key=f"flow:{row['id']}/{e.task_id}/sla{e.level}",
                         variables={"sla_label": label, "sla_due": self._local(task["due_at"]),
                                    "task_label": label, "task_id": task["id"]})
        audit.record_event(self.conn, "flow.escalated", at=self.now, form_key=row["form_key"],
                           record_id=row["record_id"],
                           data={"instance": row["id"], "task": task["id"], "node": e.node_id, "action": e.action,
                                 "level": e.level, "messages": told,
                                 "notify": task_people(self.conn, [task], assignee=True, lead=True)})

    def _do_sla_notice(self, row, e: SlaNotice) -> None:
        """A service-level clock warned or breached: tell the people its messages name (the open tasks'
        assignees and leads among them), and keep it in the audit log."""
        tasks = self._open_tasks(row["id"])
        label = self._text(e.label) or e.clock
        due = datetime.fromisoformat(e.due) if e.due else None
        messages = plain(e.messages) or [dict(m) for m in DEFAULT_MESSAGES[e.kind]]
        told = self.tell(row, messages, tasks=tasks, key=f"flow:{row['id']}/sla/{e.clock}/{e.kind}",
                         variables={"sla_label": label, "sla_due": self._local(due),
                                    "task_label": ", ".join(self._text(t["label"]) or t["node_id"] for t in tasks)})
        audit.record_event(self.conn, "flow.sla_" + e.kind, at=self.now, form_key=row["form_key"],
                           record_id=row["record_id"],
                           data={"instance": row["id"], "clock": e.clock, "due": e.due, "messages": told})

    # -- telling people ------------------------------------------------------------------------
    def _text(self, label: Any) -> str:
        from engines.form import label_text
        return label_text(label, self.jimu.config.get("LANGUAGE") or "zh-CN", "") if label else ""

    def _local(self, at: datetime | None) -> str:
        """An instant as the deployment's wall-clock text (``TIMEZONE``), for messages."""
        if at is None:
            return ""
        from datetime import timezone
        from zoneinfo import ZoneInfo
        at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
        return at.astimezone(ZoneInfo(str(self.jimu.config.get("TIMEZONE") or "UTC"))).strftime("%Y-%m-%d %H:%M")

    def _open_tasks(self, iid: int) -> list[dict]:
        return [dict(r) for r in self.conn.execute(_OPEN_TASKS, {"iid": iid}).mappings()]

    def tell(self, row: Mapping[str, Any], messages: Iterable[Mapping[str, Any]], *,
             tasks: Iterable[Mapping[str, Any]], key: str, variables: Mapping[str, Any]) -> list[dict]:
        """Send ``messages`` (notify configurations) about the instance's record through the one effects
        executor and outbox, as the rule action ``notify`` does: rendered per reader after the write,
        only to people who may read the record. A message that cannot be planned (nobody to tell, a
        robot without a URL) is noted in the instance history, never fails the flow. Returns the
        messages as planned (channel and recipients), for the audit log."""
        task_ids = [t["id"] for t in tasks]
        actions = []
        for m in messages:
            m = dict(m)
            to = m.get("to")
            record = {"id": row["record_id"]}
            if isinstance(to, Mapping) and any(k in to for k in ("user_fields", "group_lead_fields", "email_fields",
                                                                 "submitter")):
                record = self._record(row["form_key"], row["record_id"])
            if to is not None and not (resolve_users(self.conn, to, record, row["form_key"], tasks=task_ids)
                                       or literal_emails(to, record)):
                continue  # nobody to tell (an empty pool)
            actions.append({"type": "notify", **m})
        told = []
        for i, action in enumerate(actions):  # one at a time: a broken robot does not silence the others
            try:
                with self.conn.begin_nested():
                    self.jimu.services.effects.run_actions(
                        self.conn, [action], form=row["form_key"], record_id=row["record_id"],
                        origin=f"flow:{row['id']}", key=f"{key}/{i}", variables=variables,
                        extra={"instance_id": row["id"], "tasks": task_ids})
            except JimuError as exc:
                log.warning("flow %s could not notify: %s", row["id"], exc.message)
                deferred.add(self.conn, flow_history, dict(instance_id=row["id"], at=self.now, node_id=None,
                                                           kind="notify_failed", actor_id=None, outcome=None,
                                                           comment=exc.message[:1000]))
                continue
            told.append({"channel": action["channel"], "to": action.get("to")})
        return told

    @staticmethod
    def deadline(task: Mapping[str, Any], state: Mapping[str, Any] | None) -> datetime | None:
        """When the task's work is due: its own SLA deadline, else the nearest deadline of the flow's
        running service-level clocks (a paused clock has none)."""
        if task.get("due_at") is not None:
            return task["due_at"]
        dues = [datetime.fromisoformat(c["due"]) for c in ((state or {}).get("clocks") or {}).values()
                if c.get("status") == "running" and c.get("due")]
        return min(dues) if dues else None

    def _do_set_due(self, row, e) -> None:
        self._forget_task(iid=row["id"], task_key=e.task_id)
        self.conn.execute(_SET_DUE, {"iid": row["id"], "task": e.task_id, "due": e.due_at})

    def _do_append_history(self, row, e: AppendHistory) -> None:
        deferred.add(self.conn, flow_history, dict(instance_id=row["id"], at=e.at, node_id=e.node_id, kind=e.kind,
                                                   actor_id=_user_id(e.actor), outcome=e.outcome, comment=e.comment))

    def _do_instance_ended(self, row, e: InstanceEnded) -> None:
        audit.record_event(self.conn, "flow.ended", at=self.now, form_key=row["form_key"],
                           record_id=row["record_id"], data={"instance": row["id"], "outcome": e.outcome})

    # -- assignment --------------------------------------------------------------------------
    def resolve(self, assignee: Mapping[str, Any], row: Mapping[str, Any]) -> dict:
        """Turn an assignee spec into task columns (user, role, group)."""
        kind, value = assignee.get("kind"), assignee.get("value")
        out = dict(assignee_kind=kind, assignee_user_id=None, assignee_role=None, assignee_group=None)
        if kind == "user":
            out["assignee_user_id"] = self._user_by_name(value)
        elif kind == "role":
            out["assignee_role"] = value
        elif kind == "group":
            out["assignee_group"] = value
        elif kind == "field":
            record = self._record(row["form_key"], row["record_id"])
            ref = record.get(value)
            if isinstance(ref, Mapping):
                ref = ref.get("id") or ref.get("username")
            out["assignee_user_id"] = ref if isinstance(ref, int) else self._user_by_name(ref)
        elif kind in ("round_robin", "least_open"):
            out["assignee_group"] = value
            out["assignee_user_id"] = self._pick_member(kind, value)
        elif kind == "initiator":
            out["assignee_user_id"] = row.get("started_by")
        else:
            raise FlowError(f"unknown assignee kind {kind!r}", code="flow.bad_assignee", kind=str(kind))
        if out["assignee_user_id"] is None and out["assignee_role"] is None and out["assignee_group"] is None:
            if isinstance(assignee.get("fallback"), Mapping):
                return self.resolve(assignee["fallback"], row)
            raise FlowError(f"nobody to assign the task to ({kind} {value!r}); check the user, field or group",
                            code="flow.no_assignee", kind=kind, value=value)
        return out

    def _user_by_name(self, name: Any) -> int | None:
        if not isinstance(name, str) or not name:
            return None
        return self.conn.execute(sa.select(db.users.c.id).where(db.users.c.username == name)).scalar()

    def _members(self, group_key: str) -> list[int]:
        return list(self.conn.execute(
            sa.select(db.group_members.c.user_id).join(db.groups, db.groups.c.id == db.group_members.c.group_id)
            .join(db.users, db.users.c.id == db.group_members.c.user_id)
            .where(db.groups.c.key == group_key, db.users.c.is_active.is_(True))
            .order_by(db.group_members.c.user_id)).scalars())

    def _pick_member(self, kind: str, group_key: str) -> int:
        members = self._members(group_key)
        if not members:
            raise FlowError(f"group {group_key!r} has no active members to assign the task to",
                            code="flow.empty_group", group=group_key)
        if kind == "round_robin":
            last = self.conn.execute(
                sa.select(flow_tasks.c.assignee_user_id)
                .where(flow_tasks.c.assignee_group == group_key, flow_tasks.c.assignee_kind == "round_robin")
                .order_by(flow_tasks.c.id.desc()).limit(1)).scalar()
            later = [m for m in members if last is not None and m > last]
            return later[0] if later else members[0]
        counts = dict(self.conn.execute(
            sa.select(flow_tasks.c.assignee_user_id, sa.func.count())
            .where(flow_tasks.c.status == "open", flow_tasks.c.assignee_user_id.in_(members))
            .group_by(flow_tasks.c.assignee_user_id)).all())
        return min(members, key=lambda m: (counts.get(m, 0), m))

    # -- tasks -------------------------------------------------------------------------------
    def task(self, task_id: int):
        kept = written(self.conn)
        if kept is not None and (flow_tasks, task_id) in kept:
            return dict(kept[(flow_tasks, task_id)])
        row = self.conn.execute(_TASK, {"tid": task_id}).mappings().first()
        if row is None:
            raise NotFound(f"task {task_id} does not exist", code="flow.task_not_found", id=task_id)
        return row

    @staticmethod
    def may_act(principal: Principal, task: Mapping[str, Any]) -> bool:
        if principal.is_admin:
            return True
        if task["assignee_user_id"] is not None:
            return task["assignee_user_id"] == principal.user_id
        return (task["assignee_role"] in principal.roles) or (task["assignee_group"] in principal.groups)

    def _open_task_for(self, principal: Principal, task_id: int):
        task = self.task(task_id)
        if task["status"] != "open":
            raise FlowConflict(f"task {task_id} is {task['status']}, not open", code="flow.task_closed",
                               id=task_id)
        if not self.may_act(principal, task):
            raise PermissionDenied("this task is not assigned to you", code="flow.not_assignee", id=task_id)
        return task

    def complete(self, principal: Principal, task_id: int, *, outcome: str | None = None,
                 values: Mapping[str, Any] | None = None, comment: str | None = None) -> dict:
        """Complete a task: keep only the fields this step may edit, enforce the fields it
        requires, save them through ``Records``, then move the instance on."""
        task = self._open_task_for(principal, task_id)
        perms = task["fields"] or {}
        editable = {k for k, p in perms.items() if p in ("editable", "required")}
        values = {k: v for k, v in (values or {}).items() if k in editable}
        if values and task["form_key"] and task["record_id"] is not None:
            from ..records import Records
            Records(self.jimu, self.conn, principal, source="flow", check_permissions=False).update(
                task["form_key"], task["record_id"], values)
        record = self._record(task["form_key"], task["record_id"])
        missing = [k for k, p in perms.items() if p == "required" and record.get(k) in (None, "", [], {})]
        if missing:
            raise TaskFieldsInvalid([{"code": "flow.field_required", "field": k,
                                      "message": f"{k} is required at this step; fill it before completing"}
                                     for k in missing])
        self._forget_task(task_id)
        self.conn.execute(_SET_COMMENT, {"tid": task_id, "text": comment})
        actor = str(principal.user_id) if principal.user_id else None
        return self.apply(task["instance_id"], TaskCompleted(task["task_key"], outcome, actor, comment))

    def reassign(self, principal: Principal, task_id: int, assignee: Mapping[str, Any], comment=None) -> dict:
        """Hand an open task to ``assignee``. Handing it to whoever holds it already changes nothing and
        writes no history: rules that keep a task with an assignee field may ask for it on every change
        of the field. (A round robin or least-open pick always picks anew.)"""
        task = self._open_task_for(principal, task_id)
        if isinstance(assignee, Mapping) and assignee.get("kind") not in (None, "round_robin", "least_open"):
            target = self.resolve(assignee, task)
            if _assignee_of(target) == _assignee_of(task):
                return self.instance(task["instance_id"])["state"]
            if assignee.get("kind") != "initiator":  # the same on the task as on the instance row
                self._resolved = (task["instance_id"], task["task_key"], dict(assignee), target)
        try:
            return self.apply(task["instance_id"], Reassign(task["task_key"], dict(assignee),
                                                            str(principal.user_id), comment))
        finally:
            self._resolved = None

    def delegate(self, principal: Principal, task_id: int, username: str, comment=None) -> dict:
        task = self._open_task_for(principal, task_id)
        if self._user_by_name(username) is None:
            raise NotFound(f"no user {username!r}", code="flow.user_not_found")
        return self.apply(task["instance_id"], Delegate(task["task_key"], username, str(principal.user_id),
                                                        comment))

    def send_back(self, principal: Principal, task_id: int, to_node: str, comment=None) -> dict:
        task = self._open_task_for(principal, task_id)
        return self.apply(task["instance_id"], Return(task["task_key"], to_node, str(principal.user_id), comment))

    def cancel(self, principal: Principal, iid: int, comment=None) -> dict:
        return self.apply(iid, Cancel(str(principal.user_id) if principal.user_id else None, comment))

    def reopen(self, principal: Principal, iid: int, node_id: str | None = None, comment=None) -> dict:
        return self.apply(iid, Reopen(str(principal.user_id) if principal.user_id else None, node_id, comment))

    def open_task_ids(self, form_key: str, record_id: int, *, task_id: int | None = None,
                      node_id: str | None = None, flow_key: str | None = None) -> list[int]:
        """The open tasks on a record (optionally: one task, one node, one flow), oldest first — what
        the rule actions ``complete_task``/``escalate_task``/``reassign_task`` act on."""
        tasks = self._kept_tasks_of(form_key, record_id)
        if tasks is not None and (not task_id or any(x["id"] == task_id for x in tasks)):
            # a record created in this transaction: its tasks are all in memory
            flows = {} if flow_key is None else {iid: self.instance(iid)["flow_key"]
                                                 for iid in {x["instance_id"] for x in tasks}}
            return sorted(x["id"] for x in tasks if x["status"] == "open"
                          and (not task_id or x["id"] == task_id) and (not node_id or x["node_id"] == node_id)
                          and (flow_key is None or flows[x["instance_id"]] == flow_key))
        q = _open_task_ids(bool(task_id), bool(node_id), bool(flow_key))
        return list(self.conn.execute(q, {"form": form_key, "rid": record_id, "tid": task_id, "node": node_id,
                                          "flow": flow_key}).scalars())

    def last_ended_instance(self, form_key: str, record_id: int, flow_key: str) -> int | None:
        """The newest completed or cancelled instance of ``flow_key`` on a record (what reopen reopens)."""
        fi = flow_instances
        return self.conn.execute(sa.select(fi.c.id).where(
            fi.c.form_key == form_key, fi.c.record_id == record_id, fi.c.flow_key == flow_key,
            fi.c.status.in_(("completed", "cancelled"))).order_by(fi.c.id.desc()).limit(1)).scalar()

    # -- the record's private status page (people without an account) ----------------------
    def public_tasks(self, form_key: str, record_id: int) -> list[dict]:
        """Open tasks on the record whose node offers ``public_outcomes``, each with those outcomes
        (``{"key", "label"}``) — what the record's status page shows as buttons."""
        out = []
        for task in self.conn.execute(sa.select(flow_tasks, flow_instances.c.flow_key, flow_instances.c.flow_version)
                                      .join(flow_instances, flow_instances.c.id == flow_tasks.c.instance_id)
                                      .where(flow_tasks.c.form_key == form_key, flow_tasks.c.record_id == record_id,
                                             flow_tasks.c.status == "open").order_by(flow_tasks.c.id)).mappings():
            node = self.spec(task["flow_key"], task["flow_version"]).nodes.get(task["node_id"])
            keys = getattr(node.behaviour, "public_outcomes", ()) if node is not None else ()
            if keys:
                outcomes = [o for o in (task["outcomes"] or []) if o.get("key") in keys]
                out.append({**dict(task), "public_outcomes": outcomes})
        return out

    def complete_public(self, form_key: str, record_id: int, task_id: int, outcome: str,
                        comment: str | None = None) -> dict:
        """Complete a task from the record's status page: only an open task on that record, and only with
        one of its node's ``public_outcomes`` (the signed link is the caller's authority)."""
        task = next((t for t in self.public_tasks(form_key, record_id) if t["id"] == task_id), None)
        if task is None:
            raise FlowConflict("this step is no longer waiting for your answer", code="flow.task_closed",
                               id=task_id)
        if outcome not in {o["key"] for o in task["public_outcomes"]}:
            raise PermissionDenied(f"{outcome!r} cannot be chosen here", code="flow.not_public_outcome",
                                   outcome=str(outcome)[:100])
        self._forget_task(task_id)
        self.conn.execute(_SET_COMMENT, {"tid": task_id, "text": comment})
        return self.apply(task["instance_id"], TaskCompleted(task["task_key"], outcome, None, comment))

    def fire_timer(self, iid: int, timer_id: str) -> None:
        self.apply(iid, TimerFired(timer_id))

    # -- reads -------------------------------------------------------------------------------
    def my_tasks_query(self, principal: Principal, *, status: str = "open"):
        t = flow_tasks
        mine = t.c.assignee_user_id == principal.user_id
        pool = sa.and_(t.c.assignee_user_id.is_(None),
                       sa.or_(t.c.assignee_role.in_(sorted(principal.roles) or [""]),
                              t.c.assignee_group.in_(sorted(principal.groups) or [""])))
        return sa.select(t).where(t.c.status == status, sa.or_(mine, pool))

    def my_tasks(self, principal: Principal, limit: int = 200) -> list[dict]:
        q = self.my_tasks_query(principal).order_by(flow_tasks.c.due_at.is_(None), flow_tasks.c.due_at,
                                                    flow_tasks.c.priority.desc(), flow_tasks.c.id).limit(limit)
        return [dict(r) for r in self.conn.execute(q).mappings()]

    def history(self, iid: int) -> list[dict]:
        return [dict(r) for r in self.conn.execute(sa.select(flow_history).where(
            flow_history.c.instance_id == iid).order_by(flow_history.c.id)).mappings()]

    def tasks_of(self, iid: int) -> list[dict]:
        return [dict(r) for r in self.conn.execute(sa.select(flow_tasks).where(
            flow_tasks.c.instance_id == iid).order_by(flow_tasks.c.id)).mappings()]

    def cancel_for_deleted(self, form_key: str, record_id: int, record: Mapping[str, Any],
                           actor: int | None) -> None:
        """A purged record's instances end with it, in the purging transaction (after the recycle bin
        released them): their open tasks are cancelled and their timers stop. ``record`` is the record
        as it was."""
        ids = self.conn.execute(sa.select(flow_instances.c.id).where(
            flow_instances.c.form_key == form_key, flow_instances.c.record_id == record_id,
            flow_instances.c.status == "running").order_by(flow_instances.c.id)).scalars().all()
        for iid in ids:
            row = self.instance(iid, lock=True)
            self._step(self.spec(row["flow_key"], row["flow_version"]), row, row["state"],
                       Cancel(str(actor) if actor else None, "record deleted"), dict(record),
                       fire_rules=False)  # rules act on a record; this one is gone

    # -- the recycle bin (runtime.recycle) ----------------------------------------------------
    def hold_for_bin(self, form_key: str, record_id: int) -> dict:
        """A record moved to the recycle bin takes its running instances with it, untouched: each
        instance is marked ``in_bin``, its open tasks leave people's inboxes (``in_bin`` too) and its
        pending timers and automatic-step retries are held (``jobs.HELD``). Their state document is
        kept as it is, so ``release_from_bin`` gives back exactly what was waiting. Returns what was
        held, for the bin entry."""
        fi, t, j = flow_instances, flow_tasks, db.jobs
        rows = self.conn.execute(sa.select(fi.c.id, fi.c.state).where(
            fi.c.form_key == form_key, fi.c.record_id == record_id, fi.c.status == "running")
            .order_by(fi.c.id)).all()
        ids = [r.id for r in rows]
        if not ids:
            return {"instances": [], "jobs": []}
        keys = []
        for r in rows:
            owner = r.state.get("id") or r.state.get("spec_key")
            keys += [f"flow:{owner}/{timer_id}" for timer_id in r.state.get("timers") or {}]
            keys += [f"flow:{key}" for key in r.state.get("actions") or {}]
        held = []
        if keys:
            held = list(self.conn.execute(sa.select(j.c.idempotency_key).where(
                j.c.idempotency_key.in_(keys), j.c.status == jobs.PENDING)).scalars())
            if held:
                self.conn.execute(sa.update(j).where(j.c.idempotency_key.in_(held), j.c.status == jobs.PENDING)
                                  .values(status=jobs.HELD))
        kept = written(self.conn)
        if kept is not None:  # the record's tasks change below, behind the kept copies
            for tid in kept.pop(_tasks_of(form_key, record_id), None) or ():
                kept.pop((flow_tasks, tid), None)
            for iid in kept.pop(_instances_of(form_key, record_id), None) or ():
                kept.pop((flow_instances, iid), None)
        self.conn.execute(sa.update(t).where(t.c.instance_id.in_(ids), t.c.status == "open").values(status=IN_BIN))
        self.conn.execute(sa.update(fi).where(fi.c.id.in_(ids)).values(status=IN_BIN, updated_at=self.now))
        return {"instances": ids, "jobs": held}

    def release_from_bin(self, held: Mapping[str, Any]) -> None:
        """The inverse of ``hold_for_bin``: the instances run again where they waited, their tasks are
        open in the same inboxes and their timers are pending with their original due time (a timer
        that fell due while the record was in the bin fires on the next claim; SLA deadlines kept)."""
        fi, t, j = flow_instances, flow_tasks, db.jobs
        ids = list(held.get("instances") or [])
        if ids:
            self.conn.execute(sa.update(fi).where(fi.c.id.in_(ids), fi.c.status == IN_BIN)
                              .values(status="running", updated_at=self.now))
            self.conn.execute(sa.update(t).where(t.c.instance_id.in_(ids), t.c.status == IN_BIN)
                              .values(status="open"))
        keys = list(held.get("jobs") or [])
        if keys:
            self.conn.execute(sa.update(j).where(j.c.idempotency_key.in_(keys), j.c.status == jobs.HELD)
                              .values(status=jobs.PENDING))

    def process(self, form_key: str, record_id: int) -> dict:
        """The record's process as rule conditions read it (``process.<key>``, docs/expressions.md):

        ``flow`` the key of its flow (the running instance, else the newest); ``state`` that instance's
        status (``running``, ``completed``, ``cancelled``; null without a flow); ``done`` whether it
        has ended; ``node`` the node it waits at (``nodes``: every node, for parallel branches; none
        once it ended); ``assignees`` the user names holding its open tasks now."""
        kept = self._kept_instances_of(form_key, record_id)
        instances = kept if kept is not None else self.instances_of_record(form_key, record_id)
        running = [i for i in instances if i["status"] in ("new", "running")]
        newest = (running or instances or [None])[-1]
        nodes: list[str] = []
        for i in running:
            for node in ((i.get("state") or {}).get("tokens") or {}).values():
                if node not in nodes:
                    nodes.append(node)
        users: list[int] = []
        if running:
            tasks = self._kept_tasks_of(form_key, record_id)
            if tasks is None:
                tasks = self.conn.execute(sa.select(flow_tasks.c.assignee_user_id, flow_tasks.c.status).where(
                    flow_tasks.c.form_key == form_key, flow_tasks.c.record_id == record_id,
                    flow_tasks.c.status == "open").order_by(flow_tasks.c.id)).mappings().all()
            users = [t["assignee_user_id"] for t in tasks if t["status"] == "open" and t["assignee_user_id"]]
        names = dict(self.conn.execute(sa.select(db.users.c.id, db.users.c.username)
                                       .where(db.users.c.id.in_(users))).all()) if users else {}
        status = None if newest is None else ("running" if newest["status"] == "new" else newest["status"])
        return {"flow": newest and newest["flow_key"], "state": status,
                "done": newest is not None and not running, "node": nodes[0] if nodes else None, "nodes": nodes,
                "assignees": list(dict.fromkeys(names[u] for u in users if u in names))}

    def instances_of_record(self, form_key: str, record_id: int) -> list[dict]:
        return [dict(r) for r in self.conn.execute(sa.select(flow_instances).where(
            flow_instances.c.form_key == form_key, flow_instances.c.record_id == record_id)
            .order_by(flow_instances.c.id)).mappings()]


def _assignee_of(task: Mapping[str, Any]) -> list:
    return [task.get("assignee_user_id"), task.get("assignee_role"), task.get("assignee_group")]


#: what a deadline says when the flow names no message: in-app, to the assignee and their lead
DEFAULT_MESSAGES = {
    "breach": ({"channel": "in_app", "to": {"assignee": True, "lead": True},
                "subject": "已超时：{sla_label}", "body": "期限 {sla_due} 已过，请尽快处理。"},),
    "warning": ({"channel": "in_app", "to": {"assignee": True, "lead": True},
                 "subject": "即将超时：{sla_label}", "body": "期限 {sla_due}，请尽快处理。"},),
}
#: the notice of a new task (``task_notice_job``), by the deployment's ``LANGUAGE``
TASK_NOTICE = {"zh-CN": ("新任务：{task_label} · {record_title}", "{record_title}\n期限：{task_due}"),
               "en": ("New task: {task_label} · {record_title}", "{record_title}\nDue: {task_due}")}


# -- the service in the container --------------------------------------------------------------
class FlowService:
    """The flows of one ``Jimu`` (``jimu.services.flows``): a ``FlowRuntime`` per transaction, the
    record listener that starts on-create flows, and the handlers of the ``flow.*`` job kinds."""

    def __init__(self, jimu):
        self.jimu = jimu

    def runtime(self, conn: sa.Connection) -> FlowRuntime:
        return FlowRuntime(self.jimu, conn)

    def wants(self, records, event: str, ft) -> bool:
        """Whether ``on_record_event`` would start anything or re-read a record for its clocks
        (``Jimu.listening``)."""
        if event == "record.updated":
            return ft.key in self.runtime(records.conn).clocked_forms()
        return event == "record.created" and records.source != "flow" and bool(
            self.runtime(records.conn).flows_for_form(ft.key))

    def __call__(self, records, event: str, ft, after, before) -> None:
        self.on_record_event(records, event, ft, after, before)

    def inserts_ahead(self, records, ft) -> tuple:
        """The rows the on-create flows of ``ft`` start with (``Jimu.inserts_ahead``): each one's instance
        and what its start most likely inserts next (``_ahead``)."""
        if records.source == "flow":
            return ()
        rt = self.runtime(records.conn)
        return tuple(table for key in rt.flows_for_form(ft.key) for table in rt.start_tables(rt.spec(key)))

    def on_record_event(self, records, event: str, ft, after, before) -> None:
        """``jimu.listeners`` hook: a created record starts every on-create flow of its form. A deleted
        record's instances are held by the recycle bin (``hold_for_bin``), a restored one's come back
        from it, and a purged one's are cancelled (``cancel_for_deleted``): ``runtime.recycle`` does
        each in the same transaction, so nothing is done here for those events. An updated record's
        running instances with service-level clocks re-read it (``FlowRuntime.record_changed``)."""
        if event == "record.updated" and after is not None:
            self.runtime(records.conn).record_changed(ft.key, after["id"])
            return
        if event != "record.created" or records.source == "flow":
            return
        rt = self.runtime(records.conn)
        for key in rt.flows_for_form(ft.key):
            rt.start(key, record_id=after["id"], record=after, actor=records.principal.user_id)

    def job_handlers(self) -> dict:
        """The job kinds the flow runtime enqueues, for the container's job registry."""
        return {TIMER_JOB: self.fire_timer_job, ACTIONS_JOB: self.run_actions_job, NOTICE_JOB: self.task_notice_job}

    def task_notice_job(self, jimu, conn, job) -> None:
        """Tell a task's assignee (the user, or every member of the pool) that it waits for them: in the
        app always, by e-mail too when the node says ``"notify": {"mail": true}`` or the deployment sets
        ``TASK_MAIL``. Skipped when the task closed or went to someone else meanwhile (that change
        queued its own notice)."""
        rt = self.runtime(conn)
        try:
            task = dict(rt.task(job.payload["task"]))
        except NotFound:
            return
        if task["status"] != "open" or _assignee_of(task) != job.payload.get("assignee"):
            return
        row = rt.instance(task["instance_id"])
        node = rt.spec(row["flow_key"], row["flow_version"]).nodes.get(task["node_id"])
        wants = (node.config.get("notify") or {}) if node is not None else {}
        subject, body = TASK_NOTICE.get(jimu.config.get("LANGUAGE") or "zh-CN", TASK_NOTICE["zh-CN"])
        message = {"to": {"assignee": True}, "subject": subject, "body": body, "link": f"/tasks/{task['id']}"}
        channels = ["in_app"] + (["email"] if wants.get("mail", bool(jimu.config.get("TASK_MAIL"))) else [])
        # work messages (a task card with buttons in WeCom or DingTalk): the node's, else the deployment's
        extra = wants.get("channels")
        if extra is None:
            extra = [c.strip() for c in str(jimu.config.get("TASK_CHANNELS") or "").split(",") if c.strip()]
        from engines.rule.channels import CHANNELS
        channels += [c for c in extra if c not in channels and c in CHANNELS and CHANNELS.get(c).available(jimu.config)]
        record = rt._record(task["form_key"], task["record_id"])
        ft = jimu.catalog.form(task["form_key"]) if task["form_key"] else None
        title = str(record.get(ft.spec.title_field) or "") if ft is not None and ft.spec.title_field else ""
        due = rt.deadline(task, row["state"])
        if due is None:
            message["body"] = "{record_title}"
        rt.tell(row, [{**message, "channel": c} for c in channels], tasks=[task], key=job.idempotency_key,
                variables={"task_label": rt._text(task["label"]) or task["node_id"], "task_id": task["id"],
                           "record_title": title or f"#{task['record_id']}", "task_due": rt._local(due)})

    def fire_timer_job(self, jimu, conn, job) -> None:
        self.runtime(conn).fire_timer(job.payload["instance"], job.payload["timer"])

    def run_actions_job(self, jimu, conn, job) -> None:
        """The retry of an automatic step whose actions failed in the write (``FlowRuntime._do_run_actions``):
        run them through the one effects executor, then move the instance on."""
        run_actions(jimu, conn, job.payload)
        if job.payload.get("resume"):
            self.runtime(conn).apply(job.payload["instance"], ActionsDone(job.payload["resume"]))


def run_actions(jimu, conn: sa.Connection, payload: Mapping[str, Any], *, before_last=None) -> None:
    """An automatic step's rule actions (a ``flow.actions`` payload), planned and executed by the one
    effects executor: data effects in this transaction, messages into the outbox."""
    jimu.services.effects.run_actions(conn, payload.get("actions", []), form=payload.get("form"),
                                      record_id=payload.get("record_id"), origin=f"flow:{payload['node']}",
                                      key=payload.get("key"), extra={"instance_id": payload["instance"]},
                                      before_last=before_last)
