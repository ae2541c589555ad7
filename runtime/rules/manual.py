"""Rules with a ``manual`` trigger: actions a person runs on one record (a button on the record page).

``offered`` lists the manual rules of a record's form whose condition holds on it; ``run`` checks that
the person may update the record and that the condition still holds, then fires the rule exactly like
a write would (same executor, chain guard, firing log) and returns the records its actions touched,
e.g. the draft that a "turn into an article" rule created.
"""
from __future__ import annotations

from typing import Any

from engines.errors import JimuError
from engines.expr import EvalContext
from engines.rule.triggers import MANUAL, Manual

from ..auth import policy
from ..exceptions import NotFound
from .aggregate import Aggregator


class NotApplicable(JimuError):
    code = "rule.not_applicable"
    status = 409


def _runner(jimu):
    return jimu.services.rules


def manual_rules(jimu, records, form: str) -> list:
    return [r for r in _runner(jimu).cache.for_records(records).rules
            if r.enabled and r.form == form and isinstance(r.trigger, Manual)]


def offered(jimu, records, form: str, record: dict) -> list[dict]:
    """The manual rules a person could run on ``record`` now: ``{"key", "label"}``; empty unless they
    may update it."""
    if not policy.can(records.principal, "update", form, record) or (records.check and not policy.row_visible(
            records.conn, records.principal, records.form(form), record["id"], "update")):
        return []
    ectx = EvalContext(now=records.now, user=records.principal.as_context(),
                       aggregate=Aggregator(jimu, records.conn, records.now))
    out = []
    for rule in manual_rules(jimu, records, form):
        try:
            ok = rule.matches(dict(record), ectx)
        except JimuError:
            ok = False
        if ok:
            out.append({"key": rule.key, "label": rule.label})
    return out


def run(jimu, records, form: str, rid: int, rule_key: str) -> dict[str, Any]:
    """Run manual rule ``rule_key`` on record ``rid`` of ``form`` as ``records.principal``."""
    rule = next((r for r in manual_rules(jimu, records, form) if r.key == rule_key), None)
    if rule is None:
        raise NotFound(f"form {form!r} has no manual rule {rule_key!r}", code="rule.not_found", rule=rule_key)
    records.get(form, rid)  # read permission and row scope: a record out of reach is 404
    ft = records.form(form)
    if records.check:
        policy.require_record(records.conn, records.principal, "update", ft, rid)
    record = records.store.get(ft, rid)  # the rule sees the whole record, hidden fields included
    firing = _runner(jimu).fire(records, rule, MANUAL, form, record, None, {})
    if not firing.matched:
        if firing.errors:
            raise NotApplicable(firing.errors[0].get("message") or "the rule's condition failed",
                                rule=rule_key, errors=firing.errors)
        raise NotApplicable(f"{rule_key!r} does not apply to this record now (its condition does not hold)",
                            rule=rule_key)
    if firing.errors:
        raise NotApplicable(firing.errors[0].get("message") or "the rule's actions failed", rule=rule_key,
                            errors=firing.errors)
    touched = [{"form": f, "id": i} for f, i in firing.touched if (f, i) != (form, rid)]
    return {"rule": rule.key, "firing": firing.id, "records": touched}
