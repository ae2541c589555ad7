"""Edge conditions, written in the shared expression language (``engines.expr``).

Conditions are compiled once when the flow is compiled and evaluated per
step against the record's field values. This module is the flow engine's one
door to the expression language, so the contract
(``compile_expr(source)``, ``expr.evaluate(variables, EvalContext(now, user, calendar))``,
``ExprError``) is used in exactly one place.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from engines.expr import EvalContext, compile_expr


def compile_condition(source: str) -> Any:
    """Compile ``source``; raises ``ExprError`` (a ``JimuError`` with a code) when it is wrong."""
    return compile_expr(source)


def context(variables: Mapping[str, Any], *, now: datetime, user: str | None, calendar: Any) -> Any:
    """The ``EvalContext`` conditions on ``variables`` are evaluated in: one per step, shared by its
    conditions (building one per condition was most of the cost of a simple one)."""
    # the runtime hands over the records the conditions read through link fields (客户.等级) with the record
    links = getattr(variables, "links", None) or {}
    return EvalContext(now=now, user=user, calendar=calendar, links=links)


def evaluate(condition: Any, variables: Mapping[str, Any], ctx: Any) -> bool:
    """Whether ``condition`` holds on ``variables`` in ``ctx`` (``context``)."""
    return bool(condition.evaluate(variables, ctx))
