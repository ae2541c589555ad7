"""Small builders for flow definitions and a driver that applies events and keeps effects."""
from __future__ import annotations

from datetime import datetime, timezone

from engines.flow import CreateTask, new_state, step, compile_flow, Start

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def node(id, type, **config):
    return {"id": id, "type": type, "config": config}


def edge(a, b, id=None, **extra):
    return {"id": id or f"{a}-{b}", "from": a, "to": b, **extra}


def flow(nodes, edges, **extra):
    return {"key": extra.pop("key", "f"), "version": extra.pop("version", 1), "form": "ticket",
            "nodes": nodes, "edges": edges, **extra}


def chain(*ids_types, **extra):
    """A straight line: chain(("s","start"), ("a","user_task"), ("e","end"))."""
    nodes = [node(i, t) for i, t in ids_types]
    edges = [edge(a[0], b[0]) for a, b in zip(ids_types, ids_types[1:])]
    return flow(nodes, edges, **extra)


class Driver:
    """Feeds events to ``step`` and remembers the state and every effect."""

    def __init__(self, definition, record=None, now=T0, calendar=None, instance_id=1):
        self.spec = compile_flow(definition)
        self.record = record or {}
        self.now = now
        self.calendar = calendar
        self.state = new_state(self.spec, instance_id)
        self.effects = []
        self.send(Start(actor="u1"))

    def send(self, event):
        self.state, effects = step(self.spec, self.state, event, now=self.now, record=self.record,
                                   calendar=self.calendar)
        self.effects.extend(effects)
        return effects

    def open_tasks(self, node_id=None):
        return [t for t, v in self.state["tasks"].items() if node_id is None or v["node"] == node_id]

    def task_at(self, node_id):
        tasks = self.open_tasks(node_id)
        assert len(tasks) == 1, (node_id, self.state["tasks"])
        return tasks[0]

    def created(self):
        return [e for e in self.effects if isinstance(e, CreateTask)]

    def of(self, cls):
        return [e for e in self.effects if isinstance(e, cls)]

    @property
    def at(self):
        return sorted(self.state["tokens"].values())
