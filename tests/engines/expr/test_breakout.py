"""Trying to break out of the expression language (after simpleeval's TestTryingToBreakOut).

Every payload must end in a clean ``ExprError`` with a code, quickly, and leave
the process able to carry on. The dangerous ones also run in a child process,
so a crash (C stack overflow, memory blow-up) would show as a dead child rather
than as a dead test run.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engines.expr import ExprError, compile_expr

ROOT = Path(__file__).resolve().parents[3]

#: (payload, expected code); a payload either fails to compile or fails to evaluate
PAYLOADS = [
    # reaching frames and globals through generators
    ("(x for x in []).gi_frame", "expr.not_allowed"),
    ("(x for x in []).gi_frame.f_back.f_back.f_globals", "expr.not_allowed"),
    ("[x for x in [1]][0]", "expr.not_allowed"),
    ("{x for x in [1]}", "expr.not_allowed"),
    ("{k: v for k, v in [[1, 2]]}", "expr.not_allowed"),
    # str.format / format_map reaching attributes
    ("'{0.__class__}'.format(x)", "expr.not_allowed"),
    ("'{0.__class__.__base__.__subclasses__}'.format(x)", "expr.not_allowed"),
    ("'{a.__globals__}'.format_map(x)", "expr.not_allowed"),
    ("x.format", "expr.type"),
    ("x.format_map", "expr.type"),
    # dunder attributes and names
    ("x.__class__", "expr.not_allowed"),
    ("().__class__.__bases__[0].__subclasses__()", "expr.not_allowed"),
    ("x._private", "expr.not_allowed"),
    ("__import__('os').system('echo pwned')", "expr.not_allowed"),
    ("__builtins__", "expr.not_allowed"),
    ("len.__self__", "expr.not_allowed"),
    ("getattr(x, '__class__')", "expr.unknown_function"),
    ("eval('1')", "expr.unknown_function"),
    ("open('/etc/passwd')", "expr.unknown_function"),
    ("type(x)", "expr.unknown_function"),
    ("x['__class__']", "expr.type"),
    # functions, comprehensions, f-strings, statements
    ("lambda: 1", "expr.not_allowed"),
    ("(lambda: 1)()", "expr.not_allowed"),
    ("f'{x.__class__}'", "expr.not_allowed"),
    ("f'{x!r}'", "expr.not_allowed"),
    ("(y := 1)", "expr.not_allowed"),
    ("import os", "expr.syntax"),
    ("x = 1", "expr.syntax"),
    ("1; __import__('os')", "expr.syntax"),
    ("len(*x)", "expr.not_allowed"),
    ("round(**x)", "expr.not_allowed"),
    ("x.lower()", "expr.not_allowed"),
    # numbers and text too large to compute
    ("100000**100000", "expr.limit"),
    ("10 ** 1000 ** 1000", "expr.limit"),
    ("9007199254740992 ** 2", "expr.limit"),
    ("2 ** 0.5 ** -1000", "expr.limit"),
    ("10.0 ** 400", "expr.limit"),
    ("'x'*10**10", "expr.type"),
    ("[1] * 10 ** 9", "expr.type"),
    ("1<<10**9", "expr.not_allowed"),
    ("1 >> 1", "expr.not_allowed"),
    ("~0", "expr.not_allowed"),
    ("9" * 3000, "expr.limit"),
    ("1e999", "expr.limit"),
    ("-1e999", "expr.limit"),
    ("'" + "x" * 3990 + "' + '" + "x" * 3 + "'", None),  # a long literal is fine (below the bounds)
    # deep nesting
    ("(" * 10_000 + "1" + ")" * 10_000, "expr.limit"),
    ("[" * 10_000 + "]" * 10_000, "expr.limit"),
    ("-" * 10_000 + "1", "expr.limit"),
    ("-" * 3999 + "1", "expr.limit"),
    ("[" * 1999 + "]" * 1999, "expr.limit"),
    ("not " * 999 + "x", "expr.limit"),
    ("len(" * 100 + "x" + ")" * 100, "expr.limit"),
    ("1" + " + 1" * 999, "expr.limit"),
    # very long source
    ("1+" * 5000 + "1", "expr.limit"),
    ("x" * 5000, "expr.limit"),
    # work bombs through the library
    ("workdays_between('0001-01-01', '9999-12-31')", "expr.limit"),
    ("date_add('2026-01-01', 10 ** 9)", "expr.limit"),
    ("date_add('2026-01-01', 1e300, 'hours')", "expr.limit"),
    ("concat(big, big)", "expr.limit"),
    ("big + big", "expr.limit"),
    ("many + many", "expr.limit"),
    ("loop == loop", "expr.limit"),
    ("loop in [loop]", "expr.limit"),
    ("'\\x00'", None),
    ("'a\\x00b' == x", None),
]

VARS_SOURCE = """
loop = []
loop.append(loop)
VARS = {"x": "abc", "big": "x" * 60_000, "many": list(range(6_000)), "loop": loop}
"""


def _vars():
    scope: dict = {}
    exec(VARS_SOURCE, scope)
    return scope["VARS"]


def _run(payload: str):
    return compile_expr(payload).evaluate(_vars())


@pytest.mark.parametrize("payload,code", PAYLOADS, ids=[p[:40] for p, _ in PAYLOADS])
def test_payload_is_a_clean_error(payload, code):
    t0 = time.perf_counter()
    if code is None:
        _run(payload)  # harmless: must simply work
    else:
        with pytest.raises(ExprError) as info:
            _run(payload)
        assert info.value.code == code, info.value.message
        assert info.value.message
        assert info.value.expression is not None
    assert time.perf_counter() - t0 < 2.0
    # the interpreter carries on
    assert compile_expr("1 + 1").evaluate() == 2


CHILD = """
import json, sys
from engines.expr import ExprError, compile_expr
""" + VARS_SOURCE + """
out = []
for payload in json.loads(sys.stdin.read()):
    try:
        compile_expr(payload).evaluate(VARS)
        out.append(None)
    except ExprError as exc:
        out.append(exc.code)
out.append(compile_expr("紧急程度 == '高'").evaluate({"紧急程度": "高"}))
print(json.dumps(out))
"""


def test_payloads_leave_a_child_process_alive():
    payloads = [p for p, _ in PAYLOADS]
    proc = subprocess.run([sys.executable, "-c", CHILD], input=json.dumps(payloads), capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    codes = json.loads(proc.stdout)
    assert codes[-1] is True
    assert codes[:-1] == [c for _, c in PAYLOADS]


def test_the_tree_of_an_allowed_expression_never_holds_python_objects():
    tree = compile_expr("if(a.b[0] > 1, concat('x', 2), [null, true, 1.5])").tree
    assert json.loads(json.dumps(tree, allow_nan=False)) == tree
