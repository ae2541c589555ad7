"""Moving a running instance onto a newer version of its flow: pure, like ``step``.

``migrate(old, new, state, mapping, ...)`` returns the instance's state on ``new`` and the effects
that get it there, or the problems that forbid it (``MigrationProblem`` codes, nothing changed):

- every token must land on a node of the new version: ``mapping[old node]``, else the node with the
  same id (``propose``); a node the new version lost must be mapped by the user
  (``flow.migration_unmapped``), to a node that exists (``flow.migration_unknown_node``) and that
  can hold a waiting token — a task, approval, countersign or timer node
  (``flow.migration_cannot_hold``); a token waiting at a parallel join or for an automatic step's
  actions may only stay on the same kind of node with the same id (``flow.migration_join``);
- a token that moves to a node of the same type keeps its open tasks, their assignees and
  countersign votes, and its timers (SLA deadlines kept: ``sla="keep"``);
- a token that moves to a node of another type, or with ``sla="recompute"``, has its tasks closed
  (cancelled, reason ``migrated``) and its timers cancelled, and enters the new node afresh: new
  tasks, assignees and SLA deadlines counted from now.

Every moved token adds a ``migrated`` history line. The runtime (``runtime.flows.migrate_instances``)
executes the effects in one transaction with one audit event per instance.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from .effects import Effect
from .run import Run
from .spec import FlowSpec
from .states import TaskState

#: node types a token can wait at with a task or a timer
HOLDING = frozenset({"user_task", "approval", "countersign", "timer"})
#: node types a token waits at without a task; it may stay only on the same node
STAYING = frozenset({"parallel_gateway", "automatic"})
SLA_CHOICES = ("keep", "recompute")


def waiting(state: Mapping[str, Any]) -> dict[str, int]:
    """Node id → how many tokens wait there."""
    out: dict[str, int] = {}
    for node in (state.get("tokens") or {}).values():
        out[node] = out.get(node, 0) + 1
    return out


def propose(new: FlowSpec, nodes) -> dict[str, str | None]:
    """The default mapping of old node ids: the same id where the new version has it, else None."""
    return {n: (n if n in new.nodes else None) for n in nodes}


def problem(code: str, message: str, **ctx: Any) -> dict:
    return {"code": code, "message": message, **ctx}


def migrate(old: FlowSpec, new: FlowSpec, state: Mapping[str, Any], mapping: Mapping[str, str | None], *,
            now: datetime, record: Mapping[str, Any] | None = None, calendar: Any = None,
            sla: str = "keep", actor: str | None = None) -> tuple[dict, list[Effect], list[dict], list[dict]]:
    """(new state, effects, problems, moves); with problems, the state and effects are not to be used.
    ``moves``: one ``{"token", "from", "to", "how": "carried" | "recreated"}`` per token."""
    if sla not in SLA_CHOICES:
        return dict(state), [], [problem("flow.migration_bad_sla", "sla is 'keep' or 'recompute'")], []
    run = Run(new, state, now=now, record=record, calendar=calendar, actor=actor)
    problems: list[dict] = []
    moves: list[dict] = []
    recreate: list[tuple[str, str]] = []
    for token, node_id in sorted(run.state["tokens"].items()):
        target = mapping.get(node_id) or (node_id if node_id in new.nodes else None)
        old_node = old.nodes.get(node_id)
        old_type = old_node.type if old_node is not None else None
        if target is None:
            problems.append(problem("flow.migration_unmapped", f"node {node_id!r} is not in version {new.version}; "
                                    "map it to a node of the new version", node=node_id))
            continue
        new_node = new.nodes.get(target)
        if new_node is None:
            problems.append(problem("flow.migration_unknown_node", f"node {node_id!r} is mapped to {target!r}, "
                                    f"which version {new.version} does not have", node=node_id, to=target))
            continue
        if old_type in STAYING or new_node.type in STAYING:
            if not (old_type == new_node.type and target == node_id):
                problems.append(problem("flow.migration_join", f"a token waiting at {old_type} node {node_id!r} "
                                        "can only stay at the same node", node=node_id, to=target))
            else:
                moves.append({"token": token, "from": node_id, "to": target, "how": "carried"})
            continue
        if new_node.type not in HOLDING:
            problems.append(problem("flow.migration_cannot_hold", f"node {target!r} ({new_node.type}) cannot hold "
                                    "a waiting token; map it to a task, approval, countersign or timer node",
                                    node=node_id, to=target, type=new_node.type))
            continue
        if old_type == new_node.type and sla == "keep":
            run.state["tokens"][token] = target
            for task in run.state["tasks"].values():
                if task["token"] == token:
                    task["node"] = target
            for timer in run.state["timers"].values():
                if timer.get("token") == token:
                    timer["node"] = target
            moves.append({"token": token, "from": node_id, "to": target, "how": "carried"})
        else:
            recreate.append((token, target))
            moves.append({"token": token, "from": node_id, "to": target, "how": "recreated"})
    if problems:
        return dict(state), [], problems, moves
    for token, target in recreate:
        for task_id in run.tasks_of(token):
            run.close_task(task_id, TaskState.CANCELLED, reason="migrated")
        for timer_id, timer in list(run.state["timers"].items()):
            if timer.get("token") == token:
                run.cancel_timer(timer_id)
        run.state["votes"].pop(token, None)
        run.place(token, target)
    for m in moves:
        run.history(m["to"], "migrated", comment=f"v{old.version} {m['from']} → v{new.version} {m['to']} ({m['how']})")
    run.drain()
    run.state["spec_version"] = new.version
    state_out, effects = run.result()
    return state_out, effects, [], moves
