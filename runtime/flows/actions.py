"""Automatic steps run rule actions: the small interface between flows and rules.

The rule engine (``engines.rule``) is built separately. The flow runtime only
needs a registry of rule action classes by ``type``: ``engines.rule.ACTIONS``
when that package exists, else the same ``jimu.rule_actions`` entry-point
group read here. Two action shapes are accepted:

- the rule engine's contract: ``cls.build(config, errors, pointer)`` then
  ``action.plan(ActionContext) -> [Effect]``; the effects go to the rule
  runtime's executor ``runtime.rules.execute_effects(jimu, conn, effects, origin=, key=)``;
- a plain plugin with ``run(context, config)``, ``context`` being a
  ``FlowActionContext`` (jimu, conn, form key, record id, instance id, now).

Whatever is missing (the action type, the rule runtime's executor) is a clear,
coded error: the ``flow.actions`` job fails, is retried with back-off and
ends up ``failed`` with that message, visible to an administrator — it never
passes silently.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

import sqlalchemy as sa

from engines.errors import JimuError
from engines.registry import Registry


class ActionUnavailable(JimuError):
    code = "flow.action_unavailable"


def rule_actions() -> Registry:
    try:
        from engines.rule import ACTIONS
        return ACTIONS
    except ImportError:
        return _FALLBACK


_FALLBACK: Registry = Registry("rule_action", group="jimu.rule_actions")


@dataclass(frozen=True)
class FlowActionContext:
    jimu: Any
    conn: sa.Connection
    form_key: str | None
    record_id: int | None
    instance_id: int
    node_id: str
    now: datetime
    #: idempotency key of this run of the step's actions
    key: str | None = None


def run_actions(jimu, conn: sa.Connection, payload: Mapping[str, Any]) -> None:
    registry = rule_actions()
    ctx = FlowActionContext(jimu, conn, payload.get("form"), payload.get("record_id"), payload["instance"],
                            payload["node"], jimu.now(), payload.get("key"))
    for config in payload.get("actions", []):
        try:
            cls = registry.get(config.get("type"))
        except JimuError:
            raise ActionUnavailable(f"automatic step {payload['node']!r} uses rule action {config.get('type')!r}, "
                                    "which is not installed (no engines.rule action or jimu.rule_actions plugin "
                                    "of that type)", action=config.get("type"), node=payload["node"]) from None
        if hasattr(cls, "plan"):
            _plan_and_execute(ctx, cls, config)
            continue
        runner = getattr(cls(), "run", None)
        if not callable(runner):
            raise ActionUnavailable(f"rule action {config.get('type')!r} has neither plan() nor "
                                    "run(context, config)", action=config.get("type"))
        runner(ctx, config)


def _plan_and_execute(ctx: FlowActionContext, cls: type, config: Mapping[str, Any]) -> None:
    """The rule engine's contract: build → plan → effects → the rule runtime's executor."""
    try:
        from runtime.rules import execute_effects  # type: ignore[import-not-found]
    except ImportError:
        raise ActionUnavailable(f"rule action {config.get('type')!r} needs the rule runtime "
                                "(runtime.rules.execute_effects), which is not installed yet",
                                action=config.get("type")) from None
    from engines.rule import ActionContext
    from runtime.names import reference_names
    from runtime.store import RecordStore
    errors: list[dict] = []
    action = cls.build(config, errors, f"/flow/{ctx.node_id}")
    if action is None:
        raise ActionUnavailable(f"rule action {config.get('type')!r} of step {ctx.node_id!r} is misconfigured: "
                                + "; ".join(e.get("message", "") for e in errors), action=config.get("type"))
    record = RecordStore(ctx.conn).get(ctx.jimu.catalog.form(ctx.form_key), ctx.record_id) if ctx.record_id else {}
    actx = ActionContext(rule=f"flow:{ctx.node_id}", form=ctx.form_key or "", event="flow.automatic",
                         record=record, variables=record, eval=ctx.jimu.eval_context(now=ctx.now),
                         names=reference_names(ctx.jimu, ctx.conn, ctx.form_key),
                         extra={"instance_id": ctx.instance_id})
    execute_effects(ctx.jimu, ctx.conn, action.plan(actx), origin=f"flow:{ctx.node_id}", key=ctx.key)
