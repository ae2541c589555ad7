"""Rules over a bulk write's records: which records no rule acts on, decided for the whole batch.

A bulk write (``Records.write_batch``) tells the listeners about each record it created, one after
the other, and the rule runner fires each rule of the event on it (``RuleRunner.__call__``). On an
import most records match no rule, and firing the rules on them is most of what telling them costs.
``quiet`` evaluates the conditions of the whole batch in one pass, with one shared context, and
answers which records the runner would do nothing for; the bulk write does not tell it about those.
Every other record still goes through ``RuleRunner.__call__`` in its turn, which evaluates the
conditions again and does exactly what it does today.

That is only the same as firing record by record when a condition's answer cannot depend on what
the rules did for the records before it. It reads the record's own values as written (the runner
hands each rule the record as the bulk write read it back, whatever rules did since), the clock and
the writer, which do not change within a write; not records the rules may have changed meanwhile.
So a batch is decided here only when no rule of the event reads linked records or the process
(``RuleSpec.paths``) or fires on a time relative to a field, the write is not itself inside a rule's
chain (which could make the firing too deep), and non-matches are not logged
(``RULES_LOG_NON_MATCHES``); a record whose condition counts records (``EvalContext.aggregate``),
raises or matches is left to the runner.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

from engines.rule.triggers import TimeAfter

from .runner import chain


class _Ordered(Exception):
    """A condition asked for an aggregate: its answer may depend on the earlier records' rules."""


def _refuse_aggregate(*_args, **_kw):
    raise _Ordered


def quiet(runner, records, event: str, ft, batch: Sequence[Mapping[str, Any]]) -> list[bool] | None:
    """For each record of ``batch`` (created by one bulk write, in order) whether ``runner`` would do
    nothing if told about ``event`` on it; None when the batch cannot be decided here."""
    rules = runner._ruleset(records).for_event(ft.key, event)
    if (not rules or chain() or runner.jimu.config.get("RULES_LOG_NON_MATCHES")
            or any(isinstance(r.trigger, TimeAfter) or r.paths for r in rules)):
        return None
    ectx = dataclasses.replace(runner._condition_context(records), aggregate=_refuse_aggregate)
    return [not any(_acts(rule, event, record, ectx) for rule in rules) for record in batch]


def _acts(rule, event: str, record: Mapping[str, Any], ectx) -> bool:
    """Whether firing ``rule`` on ``record`` could do anything: a condition that matches, fails or
    counts records (left to the runner, which evaluates it in its turn)."""
    for occurrence in rule.trigger.occurrences(event, record, None):
        variables = {**record, **occurrence} if occurrence else record
        try:
            if rule.matches(variables, ectx):
                return True
        except Exception:  # noqa: BLE001 - the runner evaluates it again and logs or raises it
            return True
    return False
