"""Demo data for any installed app: ``jimu demo-data``, a history played through the real engines.

Nothing here knows an app. Each form's ``demo_records`` says how many records arrive over the
last ``days`` days, and its ``sample`` block how to fill a field (weights, a numeric range,
hours after creation, a condition, a chance of staying empty); fields without an entry get
their widget's ``random_value``. Link, user and group fields pick among the records, users and
groups that exist at that moment.

A form with a ``story`` is submitted as its ``story.by`` would (a visitor of the public pages
by default) with the fields its ``sample`` block names, and then lives: each of the story's
steps happens some hours after the one before (``after_hours``), when its condition holds on
the record as it is by then (``if``) and with its chance; it creates a related record, updates
the record, or completes one of its open tasks, as a person would (the record's assignee, a
user of a role, the task's assignee, a visitor); a step with a ``calendar`` counts its hours
in that calendar's working time, as staff act during business hours. Everything goes through the one write path
and the flow runtime on a moving clock (``runtime.replay``): rules and flows fire, timers and
SLA deadlines fall due and fire in between, so every derived field agrees with the events that
set it. A story still running when the clock reaches now leaves its record open, with its tasks.

The same seed gives the same history on SQLite and PostgreSQL: every random draw comes from a
generator seeded by the seed, the form and the record's place in its arrivals.
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping

import networkx as nx
import sqlalchemy as sa

from engines.expr import ExprError, compile_expr
from engines.expr.values import truthy

from . import db
from .auth.principal import Principal
from .expr_context import installed_calendars
from .replay import PUBLIC, Actor, Replay, users_with
from .store.mapping import FormTable

DEFAULT_RECORDS = 100
#: who enters the records of a form without a story (reference data: clients, articles, templates)
STAFF = Principal(user_id=None, username="demo", display_name="Demo data", is_admin=True)


def demo_users(conn: sa.Connection, app_key: str, *, now: datetime, password: str,
               per_role: int = 2) -> list[tuple[str, str]]:
    """``demo_<role>_<n>`` users for every role of the app, each with an address at example.com (mail
    to them is withheld while the history plays).

    A role's ``demo`` block says how many (``users``) and which groups they all join (``groups``) —
    so that work routed to a group is shared by the people who would do it; without one, ``per_role``
    users each join one group in turn."""
    from .auth.users import add_to_group, create_user
    roles = conn.execute(sa.select(db.roles.c.key).where(db.roles.c.app_key == app_key)
                         .order_by(db.roles.c.id)).scalars().all()
    groups = conn.execute(sa.select(db.groups.c.key).where(db.groups.c.app_key == app_key)
                          .order_by(db.groups.c.id)).scalars().all()
    package = conn.execute(sa.select(db.apps.c.package).where(db.apps.c.key == app_key)).scalar() or {}
    planned = {r["key"]: r.get("demo") or {} for r in package.get("roles") or [] if isinstance(r, Mapping)}
    made = []
    k = 0
    for role in roles:
        plan = planned.get(role, {})
        for n in range(1, plan.get("users", per_role) + 1):
            name = f"demo_{role}_{n}"
            if conn.execute(sa.select(db.users.c.id).where(db.users.c.username == name)).first():
                continue
            uid = create_user(conn, name, password, now=now, roles=[role], email=f"{name}@example.com")
            if "groups" in plan:
                for group in plan["groups"]:
                    add_to_group(conn, uid, group)
            elif groups:
                add_to_group(conn, uid, groups[k % len(groups)])
                k += 1
            made.append((name, role))
    return made


def form_order(tables: list[FormTable]) -> list[FormTable]:
    """Forms whose records others link to come first."""
    graph = nx.DiGraph()
    by_key = {ft.key: ft for ft in tables}
    graph.add_nodes_from(by_key)
    for ft in tables:
        for f in ft.spec.fields:
            target = f.widget.config.get("form") if f.widget.value_kind == "link" else None
            if target in by_key and target != ft.key:
                graph.add_edge(target, ft.key)
    try:
        return [by_key[k] for k in nx.lexicographical_topological_sort(graph)]
    except nx.NetworkXUnfeasible:  # links in a cycle: fill in definition order
        return tables


# -- sampled values ------------------------------------------------------------------------------
class Sampler:
    """Field values from a form's ``sample`` block, drawn from the caller's generator; links, users and
    groups pick among what exists at that moment (``pools``, kept up to date by the caller)."""

    def __init__(self, catalog):
        self.catalog = catalog
        self.pools: dict[str, list[int]] = {}
        self._fillers: dict[tuple[str, bool], list] = {}

    def pool(self, conn: sa.Connection, form_key: str) -> list[int]:
        if form_key not in self.pools:
            ft = self.catalog.form(form_key) if form_key in self.catalog else None
            self.pools[form_key] = (conn.execute(sa.select(ft.table.c.id).order_by(ft.table.c.id)).scalars().all()
                                    if ft is not None else [])
        return self.pools[form_key]

    def values(self, conn: sa.Connection, ft: FormTable, rng: random.Random, created: datetime, *,
               sampled_only: bool) -> dict[str, Any]:
        """A submission of ``ft``: every input field (``sampled_only``: those its sample block names)."""
        key = (ft.key, sampled_only)
        if key not in self._fillers:
            sample = ft.spec.definition.get("sample") or {}
            self._fillers[key] = [(f.key, self._filler(ft, f, sample.get(f.key) or {}))
                                  for f in ft.spec.input_fields
                                  if f.children is None and (not sampled_only or f.key in sample)]
        row: dict[str, Any] = {}
        for field_key, fill in self._fillers[key]:
            value = fill(conn, row, created, rng)
            if value is not None:
                row[field_key] = value
        return row

    def _filler(self, ft: FormTable, f, sample: Mapping[str, Any]) -> Callable:
        cond = compile_expr(sample["if"]) if sample.get("if") else None
        kind = f.widget.value_kind
        users = groups = None

        def base(conn, created: datetime, rng: random.Random) -> Any:
            nonlocal users, groups
            if "weights" in sample:
                return weighted(rng, sample["weights"])
            if "range" in sample:
                a, b = sample["range"]
                return rng.randint(a, b) if isinstance(a, int) and isinstance(b, int) else rng.uniform(a, b)
            if "offset_hours" in sample:
                a, b = sample["offset_hours"]
                return (created + timedelta(hours=rng.uniform(a, b))).isoformat()
            if kind == "link":
                pool = self.pool(conn, f.widget.config.get("form"))
                if not pool:
                    return [] if f.storage == "multi" else None
                return rng.sample(pool, min(len(pool), rng.randint(1, 2))) if f.storage == "multi" else rng.choice(pool)
            if kind == "user":
                if users is None:
                    users = users_with(conn)
                if not users:
                    return None
                return [rng.choice(users)] if f.storage == "multi" else rng.choice(users)
            if kind == "group":
                if groups is None:
                    groups = conn.execute(sa.select(db.groups.c.id).order_by(db.groups.c.id)).scalars().all()
                if not groups:
                    return None
                return [rng.choice(groups)] if f.storage == "multi" else rng.choice(groups)
            if kind == "file":   # no demo files on disk: a reference to nothing would be a broken download
                return None
            return f.widget.export_value(f.widget.random_value(rng))

        def fill(conn, row: dict, created: datetime, rng: random.Random) -> Any:
            if sample.get("empty") and rng.random() < sample["empty"]:
                return None
            if cond is not None:
                try:
                    if not truthy(cond.evaluate(row, _context(created))):
                        return None
                except ExprError:
                    return None
            return base(conn, created, rng)
        return fill


def weighted(rng: random.Random, weights: Mapping[Any, float]) -> Any:
    """One of the keys, drawn by weight; keys in a canonical order, as PostgreSQL's JSON keeps its own."""
    values, w = zip(*sorted(weights.items(), key=lambda item: str(item[0])))
    return rng.choices(values, weights=w)[0]


def _context(now: datetime):
    from engines.expr import EvalContext
    return EvalContext(now=now)


# -- stories ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    after: tuple[float, float]
    #: the calendar whose working hours ``after`` counts in (None: every hour)
    calendar: str | None
    cond: Any
    chance: float
    #: (weight, action or None: nothing happens)
    choices: tuple[tuple[float, Mapping[str, Any] | None], ...]


ACTIONS = ("create", "update", "task")


def compile_story(story: Mapping[str, Any]) -> tuple[Step, ...]:
    steps = []
    for s in story.get("steps") or []:
        if "one_of" in s:
            choices = tuple((float(c.get("weight", 1)), _action(c)) for c in s["one_of"])
        else:
            choices = ((1.0, _action(s)),)
        a, b = s.get("after_hours") or (0, 0)
        steps.append(Step(after=(float(a), float(b)), calendar=s.get("calendar"),
                          cond=compile_expr(s["if"]) if s.get("if") else None,
                          chance=float(s.get("chance", 1)), choices=choices))
    return tuple(steps)


def _action(d: Mapping[str, Any]) -> Mapping[str, Any] | None:
    found = [k for k in ACTIONS if k in d]
    return {"kind": found[0], **d[found[0]]} if found else None


class Stories:
    """Plays the arrivals and stories of an app's forms on a ``Replay``."""

    def __init__(self, replay: Replay, *, seed: int):
        self.replay = replay
        self.seed = seed
        self.catalog = replay.jimu.catalog
        self.sampler = Sampler(self.catalog)
        #: what happened: created per form, steps done and skipped
        self.made: Counter = Counter()
        self.steps: Counter = Counter()
        with replay.jimu.read() as conn:
            self.calendars = installed_calendars(self.catalog, conn)

    def arrivals(self, ft: FormTable, count: int, start: datetime, end: datetime) -> None:
        rng = random.Random(f"{self.seed}:{ft.key}")
        span = (end - start).total_seconds()
        moments = sorted(start + timedelta(seconds=rng.random() * span) for _ in range(count))
        story = ft.spec.definition.get("story")
        steps = compile_story(story) if story else None
        for n, moment in enumerate(moments):
            self.replay.at(moment, self._arrive(ft, n, steps, story))

    def _arrive(self, ft: FormTable, n: int, steps, story) -> Callable[[sa.Connection], None]:
        def arrive(conn: sa.Connection) -> None:
            rng = random.Random(f"{self.seed}:{ft.key}:{n}")
            now = self.replay.clock.now
            values = self.sampler.values(conn, ft, rng, now, sampled_only=steps is not None)
            if steps is None:
                records = self.replay.jimu.services.records(self.replay.jimu, conn, STAFF, source="demo",
                                                            check_permissions=False)
            else:
                actor = self._actor(conn, story.get("by", "public"), {}, rng)
                if actor is None:
                    self.steps["skipped"] += 1
                    return
                records = self.replay.records(conn, actor)
            record = records.create(ft.key, values)
            self.sampler.pool(conn, ft.key).append(record["id"])
            self.made[ft.key] += 1
            if steps:
                self._next(ft, record["id"], steps, 0, now, rng)
        return arrive

    def _next(self, ft: FormTable, rid: int, steps: tuple[Step, ...], i: int, after: datetime,
              rng: random.Random) -> None:
        if i >= len(steps):
            return
        a, b = steps[i].after
        delay = timedelta(hours=rng.uniform(a, b))
        calendar = self.calendars.get(steps[i].calendar) if steps[i].calendar else None
        when = calendar.add_working_time(after, delay) if calendar is not None else after + delay

        def step(conn: sa.Connection) -> None:
            self._next(ft, rid, steps, i + 1, when, rng)   # the story goes on whatever this step does
            s = steps[i]
            record = self.replay.jimu.services.store(conn).get(self.catalog.form(ft.key), rid)
            happens = self._holds(s.cond, record) and rng.random() < s.chance
            action = weighted(rng, {n: w for n, (w, _) in enumerate(s.choices)}) if happens else None
            done = happens and s.choices[action][1] is not None and \
                self._do(conn, ft, record, s.choices[action][1], rng)
            self.steps["done" if done else "skipped"] += 1
        self.replay.at(when, step)

    def _holds(self, cond, record: Mapping[str, Any]) -> bool:
        if cond is None:
            return True
        try:
            return truthy(cond.evaluate(record, self.replay.jimu.eval_context()))
        except ExprError:
            return False

    def _value(self, spec: Any, record: Mapping[str, Any], rng: random.Random) -> Any:
        if isinstance(spec, dict) and "expr" in spec:
            return compile_expr(spec["expr"]).evaluate(record, self.replay.jimu.eval_context())
        if isinstance(spec, dict) and "weights" in spec:
            return weighted(rng, spec["weights"])
        return spec

    def _actor(self, conn: sa.Connection, by: Any, record: Mapping[str, Any], rng: random.Random,
               task: Mapping[str, Any] | None = None) -> Actor | None:
        """Who acts (None: nobody can, the step does not happen)."""
        if by == "public":
            return PUBLIC
        if by == "assignee" and task is not None:
            if task["assignee_user_id"]:
                return Actor(task["assignee_user_id"])
            pool = (users_with(conn, group=task["assignee_group"]) if task["assignee_group"]
                    else users_with(conn, role=task["assignee_role"]) if task["assignee_role"] else [])
            return Actor(rng.choice(pool)) if pool else None
        if isinstance(by, dict) and "field" in by:
            value = record.get(by["field"])
            value = value[0] if isinstance(value, list) and value else value
            return Actor(int(value)) if isinstance(value, int) else None
        if isinstance(by, dict) and "role" in by:
            pool = users_with(conn, role=by["role"])
            return Actor(rng.choice(pool)) if pool else None
        return None

    def _do(self, conn: sa.Connection, ft: FormTable, record: Mapping[str, Any], action: Mapping[str, Any],
            rng: random.Random) -> bool:
        """Perform one action of a step; False when it cannot happen now (no actor, no such task)."""
        if action["kind"] == "task":
            return self._task(conn, ft, record, action, rng)
        actor = self._actor(conn, action.get("by", "public"), record, rng)
        if actor is None:
            return False
        values = {k: self._value(v, record, rng) for k, v in sorted((action.get("values") or {}).items())}
        if action["kind"] == "update":
            self.replay.records(conn, actor).update(ft.key, record["id"], values)
            return True
        target = self.catalog.form(action["form"])
        data = {**self.sampler.values(conn, target, rng, self.replay.clock.now, sampled_only=True), **values}
        created = self.replay.records(conn, actor).create(target.key, data)
        self.sampler.pool(conn, target.key).append(created["id"])
        self.made[target.key] += 1
        return True

    def _task(self, conn: sa.Connection, ft: FormTable, record: Mapping[str, Any], action: Mapping[str, Any],
              rng: random.Random) -> bool:
        flows = self.replay.flows(conn)
        nodes = action.get("nodes")
        public = action.get("by", "assignee") == "public"
        if public:
            tasks = [(t, [o["key"] for o in t["public_outcomes"]]) for t in flows.public_tasks(ft.key, record["id"])]
        else:
            tasks = [(t, [o.get("key") for o in t["outcomes"] or []])
                     for t in map(flows.task, flows.open_task_ids(ft.key, record["id"]))]
        tasks = [(t, offered) for t, offered in tasks if not nodes or t["node_id"] in nodes]
        if not tasks:
            return False
        task, offered = tasks[0]
        outcomes = {k: w for k, w in (action.get("outcomes") or {}).items() if k in offered}
        if not outcomes:
            return False
        outcome = weighted(rng, outcomes)
        if public:
            flows.complete_public(ft.key, record["id"], task["id"], outcome)
            return True
        actor = self._actor(conn, action.get("by", "assignee"), record, rng, task)
        principal = self.replay.principal(conn, actor) if actor is not None else None
        if principal is None:
            return False
        flows.complete(principal, task["id"], outcome=outcome, comment=action.get("comment"))
        return True


@dataclass
class Summary:
    made: dict[str, int]
    steps: dict[str, int]
    refused: dict[str, int]
    jobs: int
    withheld: dict[str, int]


def generate(config: Mapping[str, Any], *, app_key: str | None, now: datetime, days: int = 30,
             seed: int = 1, scale: float = 1.0,
             progress: Callable[[str], None] = lambda *a: None) -> Summary:
    """Play ``days`` days up to ``now`` for every form of ``app_key`` (or of all apps)."""
    start = now - timedelta(days=days)
    replay = Replay(config, start=start)
    try:
        with replay.jimu.read():   # the replay's catalogue, as installed
            pass
        stories = Stories(replay, seed=seed)
        tables = [ft for ft in replay.jimu.catalog if app_key is None or ft.app_key == app_key]
        for ft in form_order(tables):
            count = int(round((ft.spec.definition.get("demo_records", DEFAULT_RECORDS)) * scale))
            if count:
                stories.arrivals(replay.jimu.catalog.form(ft.key), count, start, now)
                progress(f"{ft.key}: {count} arrive over {days} days")
        replay.run(until=now)
        return Summary(made=dict(stories.made), steps=dict(stories.steps), refused=dict(replay.refused),
                       jobs=replay.jobs_run, withheld=dict(replay.notifier.counts))
    finally:
        replay.close()
