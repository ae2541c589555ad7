"""Rules over a bulk write's records: what the runner has to do for each, decided for the whole batch.

A bulk write (``Records.write_batch``) tells the listeners about each record it created, one after
the other, and the rule runner fires each rule of the event on it (``RuleRunner.__call__``). On an
import most records match no rule, and firing the rules on them is most of what telling them costs;
most of the others match rules that only set some of their own fields (a mark, a category).
``in_batch`` evaluates the conditions of the whole batch in one pass, with one shared context, and
answers for each record: nothing to do (no rule matches), the rules' effects planned already (every
matching rule only sets fields of the record, with values or expressions), or the runner itself.

A planned record is handed, in its turn, to ``Planned``: it fires the matching rules with their
planned effects (``RuleRunner.fire(planned=...)``), skipping only the second evaluation of the
conditions and the planning, and writes through one rule writer for the whole batch (``rule_records``:
its context is built once). Each firing still runs in its savepoint, each set_fields is still a
``Records.update`` (the form's validation, the audit event, the ``record.updated`` listeners inside
the rule's chain), and the changes of the records created here are written at commit in one UPDATE
per set of columns (``RecordStore._update_later``, ``runtime.deferred.update``). Every other record
goes through ``RuleRunner.__call__`` in its turn, which evaluates the conditions again and does
exactly what it does today.

That is only the same as firing record by record when a condition's or a planned value's answer
cannot depend on what the rules did for the records before it. It reads the record's own values as
written (the runner hands each rule the record as the bulk write read it back, whatever rules did
since), the clock and the writer, which do not change within a write; not records the rules may have
changed meanwhile. So a batch is decided here only when no rule of the event reads linked records or
the process (``RuleSpec.paths``) or fires on a time relative to a field, the write is not itself
inside a rule's chain (which could make the firing too deep), and non-matches are not logged
(``RULES_LOG_NON_MATCHES``); a record whose condition or planned value counts records
(``EvalContext.aggregate``) or raises, or that a rule with other actions or a template matches, is
left to the runner.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

from engines.rule import ActionContext
from engines.rule.triggers import TimeAfter

from ..names import reference_names
from .runner import chain, rule_records


class _Ordered(Exception):
    """A condition or a value asked for an aggregate: its answer may depend on the earlier records' rules."""


def _refuse_aggregate(*_args, **_kw):
    raise _Ordered


def in_batch(runner, records, event: str, ft, batch: Sequence[Mapping[str, Any]]) -> list | None:
    """For each record of ``batch`` (created by one bulk write, in order) what to call instead of
    ``runner`` when telling about ``event`` on it: None (it would do nothing), a ``Planned`` or the
    runner itself; None instead of the list when the batch cannot be decided here."""
    rules = runner._ruleset(records).for_event(ft.key, event)
    if (not rules or chain() or runner.jimu.config.get("RULES_LOG_NON_MATCHES")
            or any(isinstance(r.trigger, TimeAfter) or r.paths for r in rules)):
        return None
    ectx = dataclasses.replace(runner._condition_context(records), aggregate=_refuse_aggregate)
    batch_plan = _BatchPlan(runner, records, event, ft, ectx)
    return [batch_plan.decide(rules, record) for record in batch]


class _BatchPlan:
    """What ``in_batch`` shares between the records of a batch: the context, the names, the writer."""

    def __init__(self, runner, records, event: str, ft, ectx):
        self.runner, self.records, self.event, self.ft, self.ectx = runner, records, event, ft, ectx
        self._names = self._writer = None

    def decide(self, rules, record: Mapping[str, Any]):
        firings = []
        for rule in rules:
            matched = False
            for occurrence in rule.trigger.occurrences(self.event, record, None):
                variables = {**record, **occurrence} if occurrence else record
                try:
                    if not rule.matches(variables, self.ectx):
                        continue
                except Exception:  # noqa: BLE001 - the runner evaluates it again and logs or raises it
                    return self.runner
                effects = self._plan(rule, record, variables)
                if effects is None:
                    return self.runner
                matched = True
                firings.append((rule, occurrence, effects))
            if matched and rule.stop:
                break
        return Planned(self.runner, self.writer(rules[0]), firings) if firings else None

    def _plan(self, rule, record: Mapping[str, Any], variables: Mapping[str, Any]) -> list | None:
        """The effects of ``rule`` on ``record`` when they only set fields of the record, else None."""
        if not all(_sets_values(action) for action in rule.definition.get("actions") or ()):
            return None
        if self._names is None:
            self._names = (reference_names(self.runner.jimu, self.records.conn, self.ft.key),)
        ac = ActionContext(rule=rule.key, form=self.ft.key, event=self.event, record=record,
                           variables=dict(variables), eval=self.ectx, before=None, extra={}, names=self._names[0])
        try:
            effects = rule.plan(ac)
        except Exception:  # noqa: BLE001 - an aggregate, or an error the runner logs in its turn
            return None
        rid = record.get("id")
        if not all(e.kind == "set_fields" and e.data.get("form") == self.ft.key and e.data.get("id") == rid
                   for e in effects):
            return None
        return effects

    def writer(self, rule):
        """The ``Records`` the batch's rules write through (built once: the same for every rule)."""
        if self._writer is None:
            self._writer = rule_records(self.runner.jimu, self.records, rule)
        return self._writer


def _sets_values(action: Mapping[str, Any]) -> bool:
    """Whether an action configuration sets fields of the record to values or expressions (no
    template, which renders under the write's shared budget: ``Jimu.notify``)."""
    values = action.get("values")
    return (action.get("type") == "set_fields" and isinstance(values, Mapping)
            and not any(isinstance(v, Mapping) and "template" in v for v in values.values()))


class Planned:
    """Telling the runner about a record whose matching rules (with their occurrences and effects) are
    known: what ``RuleRunner.__call__`` does for it, without evaluating and planning again."""

    __slots__ = ("runner", "writer", "firings")

    def __init__(self, runner, writer, firings: list):
        self.runner, self.writer, self.firings = runner, writer, firings

    def __call__(self, records, event: str, ft, after, before) -> None:
        fired: list = []
        touched = False
        for rule, occurrence, effects in self.firings:
            result = self.runner.fire(records, rule, event, ft.key, after, before, occurrence, log=fired,
                                      planned=effects, writer=self.writer)
            touched = touched or result.touched_self
        self.runner._log(records, fired)
        if touched:
            self.runner.refresh(records, ft, after)
