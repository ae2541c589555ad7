"""The compiled fast paths agree with the value rules of ``values`` on every pair of kinds.

``compile_expr("a < b")`` takes shortcuts for plain numbers and texts; this
cross product (every operator × pairs of values of every kind, with the right
side as a variable and as a literal) checks that each shortcut answers exactly
what ``values.equal / order / member / arith`` answer, errors included.
"""
from __future__ import annotations

import itertools
import json
from datetime import date, datetime, timezone

import pytest

from engines.expr import ExprError, compile_expr
from engines.expr.values import arith, check, equal, member, order, parse_temporal, truthy

VALUES = [None, True, False, 0, 1, -1, 2.5, 0.0, -0.5, 2 ** 53, -(2 ** 53), 1e308, 3, "", "a", "B", "高", "10",
          "2026-11-23", "2026-11-23T08:00:00Z", date(2026, 11, 23), date(2026, 11, 24),
          datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc), [], [1], ["a", "b"], [None], {}, {"a": 1}]
COMPARE = ["==", "!=", "<", "<=", ">", ">=", "in", "not in"]
ARITH = ["+", "-", "*", "/", "//", "%", "**"]


def reference(op, a, b):
    try:
        if op == "==":
            return {"result": equal(a, b)}
        if op == "!=":
            return {"result": not equal(a, b)}
        if op == "in":
            return {"result": member(a, b)}
        if op == "not in":
            return {"result": not member(a, b)}
        if op in ("<", "<=", ">", ">="):
            return {"result": order(op, a, b)}
        return {"result": check(arith(op, a, b))}
    except ExprError as exc:
        return {"error": exc.code}


def compiled(source, variables):
    try:
        return {"result": compile_expr(source).evaluate(variables)}
    except ExprError as exc:
        return {"error": exc.code}


def literal(v):
    """Source text for a value, when it has one."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list) and all(literal(x) is not None for x in v):
        return "[" + ", ".join(literal(x) for x in v) + "]"
    return None


def same(x, y):
    if "error" in x or "error" in y:
        return x == y
    a, b = x["result"], y["result"]
    return type(a) is type(b) and a == b or (isinstance(a, float) and isinstance(b, float) and a != a and b != b)


@pytest.mark.parametrize("op", COMPARE + ARITH)
def test_compiled_operators_follow_the_value_rules(op):
    checked = 0
    for a, b in itertools.product(VALUES, repeat=2):
        want = reference(op, a, b)
        got = compiled(f"a {op} b", {"a": a, "b": b})
        assert same(got, want), (a, op, b, got, want)
        lit = literal(b)
        if lit is not None:
            got = compiled(f"a {op} {lit}", {"a": a})
            assert same(got, want), (a, op, lit, got, want)
        checked += 1
    assert checked == len(VALUES) ** 2


def test_boolean_operators_use_python_truthiness():
    for a, b in itertools.product(VALUES, repeat=2):
        v = {"a": a, "b": b}
        assert compiled("a and b", v)["result"] is (b if truthy(a) else a)
        assert compiled("a or b", v)["result"] is (a if truthy(a) else b)
        assert compiled("not a", v)["result"] is (not truthy(a))
        assert compiled("if(a, 1, 2)", v)["result"] == (1 if truthy(a) else 2)


def test_iso_text_is_a_date_only_next_to_a_date():
    assert parse_temporal("2026-11-23") == date(2026, 11, 23)
    assert parse_temporal(" 2026-11-23T16:00+08:00 ") == datetime(2026, 11, 23, 8, tzinfo=timezone.utc)
    for text in ["2026-W48-1", "20261123", "2026-11-23T08", "2026-02-30", "2026-11-23T24:00", "昨天",
                 "2026-11-23T08:00:00.1234567", "2026-11-23T08:00+25:00"]:
        assert parse_temporal(text) is None, text
    assert compiled('"2026-11-23" < "2026-11-24T00:00"', {})["result"] is True   # text order, not dates
    assert compiled('d < "2026-11-24T00:00"', {"d": date(2026, 11, 24)})["result"] is False
