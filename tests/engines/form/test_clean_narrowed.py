"""The narrowed steps of ``FormSpec.clean`` (``engines.form.clean``) against the whole walks they replace:
the scope copied whole unless it holds money, the changed values compared only where a condition reads
them, and step 5 run only over the fields it can find something wrong with."""
from __future__ import annotations

import random
from datetime import datetime, timezone
from decimal import Decimal

from engines.expr import EvalContext
from engines.form import compile_form
from engines.form.clean import IGNORED_KEYS, _affected, _scope, plan_for

CTX = EvalContext(now=datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc), user={"id": 7})

SPEC = compile_form({"key": "t", "label": "T", "fields": [
    {"key": "price", "label": "P", "widget": "money"},
    {"key": "qty", "label": "Q", "widget": "number", "validation": {"min": 1}},
    {"key": "total", "label": "T", "widget": "formula", "formula": "coalesce(price, 0) * coalesce(qty, 0)"},
    {"key": "approver", "label": "A", "widget": "text", "required_if": "total > 100"},
    {"key": "note", "label": "N", "widget": "text", "visible_if": "total > 10", "required": True},
    {"key": "kind", "label": "K", "widget": "select", "config": {"options": ["a", "b"]}},
    {"key": "other", "label": "O", "widget": "text", "required_if": 'kind == "b" or id > 5'},
    {"key": "free", "label": "F", "widget": "text"},
    {"key": "code", "label": "C", "widget": "text", "validation": {"pattern": "[A-Z]+"}},
]})


def _scope_whole(values, context):
    out = {k: float(v) if type(v) is Decimal else v for k, v in values.items()}
    if "current_user_id" not in out:
        out["current_user_id"] = context.user.get("id") if context.user else None
    return out


def _affected_whole(plan, existing, merged):
    changed = {k for k, v in merged.items() if k not in IGNORED_KEYS and existing.get(k) != v}
    return frozenset(key for key, names in plan.condition_names.items() if names & changed)


def _records(rng: random.Random, n: int):
    pick = {"id": [1, 9], "price": [None, Decimal("2.50"), 3, float("nan")], "qty": [None, 1, 40, 2.5],
            "total": [None, 0, 120.0], "approver": [None, "", "x"], "note": [None, "n"], "kind": [None, "a", "b"],
            "other": [None, "o"], "free": [None, "f", ["x"]], "code": [None, "AB", "ab"],
            "current_user_id": [3]}
    for _ in range(n):
        yield {k: rng.choice(v) for k, v in pick.items() if rng.random() < 0.8}


def test_the_scope_is_the_per_value_copy_with_money_or_without():
    for values in _records(random.Random(1), 400):
        for context in (CTX, EvalContext()):
            got, want = _scope(values, context), _scope_whole(values, context)
            assert list(got.items()) == list(want.items()) or (got.keys() == want.keys() and all(
                got[k] is want[k] or got[k] == want[k] or (got[k] != got[k] and want[k] != want[k]) for k in got))
            assert all(type(got[k]) is type(want[k]) for k in got)


def test_the_affected_fields_are_those_of_a_walk_of_every_value():
    plan = plan_for(SPEC)
    rng = random.Random(2)
    stored, changes = list(_records(rng, 150)), list(_records(rng, 150))
    for existing, change in zip(stored, changes):
        merged = {**existing, **change}
        assert _affected(plan, existing, merged) == _affected_whole(plan, existing, merged)


def test_step_five_skips_only_fields_without_a_check():
    plan = plan_for(SPEC)
    skipped = [p for p in plan.inputs if p not in plan.checked]
    assert [p.key for p in skipped] == ["price", "kind", "free"]
    assert all(not p.required and p.required_if is None and p.rules is None for p in skipped)


def test_clean_gives_what_it_gave_before_on_creates_and_partial_updates():
    """Errors and values of a corpus of submissions, as recorded by the whole walks (before 2026-12-07)."""
    assert SPEC.clean({"price": "50", "qty": 3, "note": "n", "code": "ab"}, context=CTX).errors == [
        {"code": "form.required", "field": "approver", "label": "A", "message": "A is required / 请填写A"},
        {"code": "form.pattern", "field": "code", "label": "C", "message": "C: does not match the required format "
                                                                            "/ 格式不正确", "pattern": "[A-Z]+"}]
    stored = {"id": 9, "price": Decimal("5"), "qty": 1, "total": 5, "approver": None, "note": None, "kind": "a",
              "other": None, "free": None, "code": None}
    r = SPEC.clean({"qty": 30}, context=CTX, existing=stored, partial=True)
    assert [(e["field"], e["code"]) for e in r.errors] == [("approver", "form.required"), ("note", "form.required")]
    assert r.values == {"qty": 30, "total": 150.0}
    r = SPEC.clean({"qty": 0, "free": "x"}, context=CTX, existing=dict(stored, id=1), partial=True)
    assert r.errors == [{"code": "form.too_small", "field": "qty", "label": "Q",
                         "message": "Q: must be at least 1 / 不能小于 1", "min": 1}]
    assert r.values == {"qty": 0, "free": "x", "total": 0.0}
