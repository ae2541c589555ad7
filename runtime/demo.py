"""Demo data for any installed app: ``jimu demo-data``.

Nothing here knows an app. Each form's ``demo_records`` says how many records
to make and its ``sample`` block how to fill a field (weights, a numeric
range, hours after creation, a condition, a chance of staying empty); every
other field gets its widget's ``random_value``. Link, user and group fields
pick among existing records, users and groups. Creation times spread over the
last ``days`` days, so date charts and trends mean something.

Records are written through the store after ``FormSpec.clean`` (values are
valid, formulas computed, serials allocated per day), but rules and flows do
not fire: demo data must not send mail or open tasks.
"""
from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, Callable

import networkx as nx
import sqlalchemy as sa

from engines.expr import EvalContext, ExprError, compile_expr
from engines.expr.values import truthy

from . import db
from .serials import allocate_serials
from .store.mapping import FormTable
from .store.records import RecordStore

DEFAULT_RECORDS = 100
BATCH = 500


def demo_users(conn: sa.Connection, app_key: str, *, now: datetime, password: str,
               per_role: int = 2) -> list[tuple[str, str]]:
    """``demo_<role>_<n>`` users for every role of the app, spread over its groups."""
    from .auth.users import add_to_group, create_user
    roles = conn.execute(sa.select(db.roles.c.key).where(db.roles.c.app_key == app_key)
                         .order_by(db.roles.c.id)).scalars().all()
    groups = conn.execute(sa.select(db.groups.c.key).where(db.groups.c.app_key == app_key)
                          .order_by(db.groups.c.id)).scalars().all()
    made = []
    k = 0
    for role in roles:
        for n in range(1, per_role + 1):
            name = f"demo_{role}_{n}"
            if conn.execute(sa.select(db.users.c.id).where(db.users.c.username == name)).first():
                continue
            uid = create_user(conn, name, password, now=now, roles=[role])
            if groups:
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


class Generator:
    def __init__(self, conn: sa.Connection, *, now: datetime, days: int, rng: random.Random):
        self.conn = conn
        self.now = now
        self.days = days
        self.rng = rng
        self.users = conn.execute(sa.select(db.users.c.id).where(db.users.c.is_active.is_(True))).scalars().all()
        self.groups = conn.execute(sa.select(db.groups.c.id)).scalars().all()
        self.ids: dict[str, list[int]] = {}

    def existing_ids(self, form_key: str, ft: FormTable | None) -> list[int]:
        if form_key not in self.ids:
            self.ids[form_key] = (self.conn.execute(sa.select(ft.table.c.id)).scalars().all()
                                  if ft is not None else [])
        return self.ids[form_key]

    def field_filler(self, ft: FormTable, f, catalog) -> Callable[[dict, datetime], Any] | None:
        sample = (ft.spec.definition.get("sample") or {}).get(f.key) or {}
        rng = self.rng
        cond = compile_expr(sample["if"]) if sample.get("if") else None
        kind = f.widget.value_kind

        def base(row: dict, created: datetime) -> Any:
            if "weights" in sample:
                values, weights = zip(*sample["weights"].items())
                return rng.choices(values, weights=weights)[0]
            if "range" in sample:
                a, b = sample["range"]
                return rng.randint(a, b) if isinstance(a, int) and isinstance(b, int) else rng.uniform(a, b)
            if "offset_hours" in sample:
                a, b = sample["offset_hours"]
                return min(self.now, created + timedelta(hours=rng.uniform(a, b))).isoformat()
            if kind == "link":
                target = f.widget.config.get("form")
                pool = self.existing_ids(target, catalog.get(target))
                if not pool:
                    return [] if f.storage == "multi" else None
                return rng.sample(pool, min(len(pool), rng.randint(1, 2))) if f.storage == "multi" else rng.choice(pool)
            if kind == "user":
                if not self.users:
                    return None
                return [rng.choice(self.users)] if f.storage == "multi" else rng.choice(self.users)
            if kind == "group":
                if not self.groups:
                    return None
                return [rng.choice(self.groups)] if f.storage == "multi" else rng.choice(self.groups)
            if kind == "file":   # no demo files on disk: a reference to nothing would be a broken download
                return None
            return f.widget.export_value(f.widget.random_value(rng))

        def fill(row: dict, created: datetime) -> Any:
            if sample.get("empty") and rng.random() < sample["empty"]:
                return None
            if cond is not None:
                try:
                    if not truthy(cond.evaluate(row, EvalContext(now=created))):
                        return None
                except ExprError:
                    return None
            return base(row, created)
        return fill

    def fill_form(self, ft: FormTable, count: int, catalog, progress: Callable[[str, int, int], None]) -> int:
        fillers = [(f, self.field_filler(ft, f, catalog)) for f in ft.spec.input_fields if f.children is None]
        start = self.now - timedelta(days=self.days)
        span = (self.now - start).total_seconds()
        moments = sorted(start + timedelta(seconds=self.rng.random() * span) for _ in range(count))
        store = RecordStore(self.conn)
        made = skipped = 0
        for lo in range(0, count, BATCH):
            by_day: dict[Any, list[tuple[datetime, dict]]] = defaultdict(list)
            for created in moments[lo:lo + BATCH]:
                for _attempt in range(5):
                    row: dict[str, Any] = {}
                    for f, fill in fillers:
                        value = fill(row, created)
                        if value is not None:
                            row[f.key] = value
                    # demo rows stand in for a history of rules and flows: read-only fields included
                    result = ft.spec.clean(row, context=EvalContext(now=created), trusted=True)
                    if not result.errors:
                        by_day[created.date()].append((created, dict(result.values, created_at=created)))
                        break
                else:
                    skipped += 1
            for day_rows in by_day.values():
                values = [v for _, v in day_rows]
                allocate_serials(self.conn, ft, values, day_rows[0][0])
                ids = store.bulk_create(ft, values, now=self.now, actor=None)
                self.ids.setdefault(ft.key, []).extend(ids)
                made += len(ids)
            progress(ft.key, made, count)
        if skipped:
            progress(f"{ft.key}: {skipped} skipped (no valid values in 5 tries)", made, count)
        return made


def generate(conn: sa.Connection, catalog, *, app_key: str | None, now: datetime, days: int = 90,
             seed: int = 1, scale: float = 1.0,
             progress: Callable[[str, int, int], None] = lambda *a: None) -> dict[str, int]:
    """Fill every form of ``app_key`` (or of all apps); returns records made per form."""
    tables = [ft for ft in catalog if app_key is None or ft.app_key == app_key]
    gen = Generator(conn, now=now, days=days, rng=random.Random(seed))
    lookup = {ft.key: ft for ft in catalog}
    made = {}
    for ft in form_order(tables):
        count = int(round((ft.spec.definition.get("demo_records") or DEFAULT_RECORDS) * scale))
        made[ft.key] = gen.fill_form(ft, count, lookup, progress) if count else 0
    return made
