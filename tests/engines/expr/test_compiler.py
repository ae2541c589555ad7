"""Compiling: positions in errors, allowed names, the cache, the exported tree, if()."""
from __future__ import annotations

import json

import pytest

from engines.expr import (FUNCTIONS, EvalContext, ExprError, ExprFunctionError, ExprLimitError, ExprNameError,
                          ExprNotAllowed, ExprSyntaxError, ExprTypeError, compile_expr, library)
from engines.expr.compiler import MAX_SOURCE, _compile_cached


def error_of(source, variables=None, **kw) -> ExprError:
    with pytest.raises(ExprError) as info:
        compile_expr(source, **kw).evaluate(variables or {})
    return info.value


@pytest.mark.parametrize("source,position,cls", [
    ("紧急程度 == 1 + foo(2)", 13, ExprFunctionError),       # characters, not UTF-8 bytes
    ("   foo()", 4, ExprFunctionError),                        # leading blanks count
    ("(a +\n 紧急.__x)", 7, ExprNotAllowed),                    # second line
    ("1 + * 2", 5, ExprSyntaxError),
    ("状态 == = 2", 7, ExprSyntaxError),
    ("紧急程度 == 1 +", 11, ExprSyntaxError),                   # unexpected end: the last character
    ("x + (lambda: 1)", 6, ExprNotAllowed),
    ("描述 + 9007199254740993", 6, ExprLimitError),
])
def test_compile_errors_point_at_the_character(source, position, cls):
    with pytest.raises(cls) as info:
        compile_expr(source)
    err = info.value
    assert err.position == position
    assert err.expression == source
    assert err.to_dict()["code"] == cls.code
    assert err.to_dict()["position"] == position


@pytest.mark.parametrize("source,variables,position,code", [
    ('1 + 紧急程度 * "a"', {"紧急程度": 2}, 5, "expr.type"),      # the failing node, not the whole sum
    ("x + len(5)", {"x": 1}, 5, "expr.type"),
    ("客户.名称", {"客户": 3}, 1, "expr.type"),
    ("a < b", {"a": 1, "b": "x"}, 1, "expr.type"),
    ("if(x, 1 / 0, 2)", {"x": True}, 7, "expr.zero_division"),
    ("1 < x < 名单[0]", {"x": 2, "名单": 5}, 9, "expr.type"),
    ("-s", {"s": "text"}, 1, "expr.type"),
])
def test_evaluation_errors_point_at_the_failing_node(source, variables, position, code):
    err = error_of(source, variables)
    assert (err.code, err.position, err.expression) == (code, position, source)


def test_the_tree_carries_character_positions_for_the_browser():
    tree = compile_expr("紧急程度 == 高").tree
    assert tree["pos"] == 1 and tree["cs"][0]["pos"] == 9


def test_allowed_names_turn_unknown_names_into_errors_now():
    expr = compile_expr('紧急程度 == "高" and len(描述) > 3', allowed_names=["紧急程度", "描述"])
    assert expr.names == {"紧急程度", "描述"} and expr.functions == {"len"}
    with pytest.raises(ExprNameError) as info:
        compile_expr("紧急程度 == 优先级", allowed_names=["紧急程度"])
    assert info.value.code == "expr.unknown_name"
    assert info.value.context["name"] == "优先级"
    assert info.value.position == 9
    # constants and functions are not names; attributes of a known record are not checked
    assert compile_expr("true and null == x.y and len(x.z) > 0", allowed_names=["x"]).names == {"x"}
    # without allowed_names an unknown name is simply null
    assert compile_expr("未知 == null").evaluate({}) is True


def test_compiling_is_cached_per_source_and_names():
    source = "hours_between(创建时间, now()) > 2  # cache probe"
    before = _compile_cached.cache_info().hits
    a = compile_expr(source)
    b = compile_expr(source)
    assert a is b
    assert _compile_cached.cache_info().hits == before + 1
    c = compile_expr(source, allowed_names=["创建时间"])
    d = compile_expr(source, allowed_names=("创建时间",))
    assert c is d and c is not a
    # a failed compile is not cached as a success
    for _ in range(2):
        with pytest.raises(ExprNameError):
            compile_expr(source, allowed_names=["别的"])


def test_a_compiled_expression_evaluates_many_times_with_different_variables():
    expr = compile_expr('紧急程度 == "高" and 类别 in ["服务器", "网络"]')
    assert [expr({"紧急程度": u, "类别": k}) for u, k in [("高", "网络"), ("低", "网络"), ("高", "账单")]] \
        == [True, False, False]
    with pytest.raises(ExprTypeError):
        compile_expr("a + 1").evaluate({"a": "x"})
    assert compile_expr("a + 1").evaluate({"a": 1}) == 2  # an error leaves nothing behind


def test_if_as_a_function_and_the_ternary_both_work():
    assert compile_expr("if(x > 1, 'a', 'b')")({"x": 2}) == "a"
    assert compile_expr("'a' if(x > 1) else 'b'")({"x": 0}) == "b"
    assert compile_expr("[if(x, 1, 2), not if(x, 0, 1)]")({"x": True}) == [1, True]
    assert compile_expr("if(x, 1)").tree["b"] == {"t": "lit", "v": None}
    with pytest.raises(ExprSyntaxError):
        compile_expr("if")  # a keyword, not a value
    with pytest.raises(ExprFunctionError):
        compile_expr("if(x, 1, 2, 3)")


def test_source_bounds():
    with pytest.raises(ExprLimitError):
        compile_expr("1" * (MAX_SOURCE + 1))
    with pytest.raises(ExprSyntaxError):
        compile_expr("   ")
    with pytest.raises(ExprSyntaxError):
        compile_expr(None)
    with pytest.raises(ExprSyntaxError):
        compile_expr("'a\x00'")  # a NUL character in the source


def test_the_tree_is_json_and_round_trips():
    expr = compile_expr("if(a.b[0] >= 1.5, concat('x', -2), [null, true, 'é'])")
    assert json.loads(json.dumps(expr.to_json(), allow_nan=False)) == {"source": expr.source, "tree": expr.tree}


def test_context_time_zone_and_unknown_zone():
    from datetime import datetime, timezone
    now = datetime(2026, 11, 23, 20, 0, tzinfo=timezone.utc)
    assert str(compile_expr("today()")(context=EvalContext(now=now, tz="Asia/Shanghai"))) == "2026-11-24"
    with pytest.raises(ExprError) as info:
        compile_expr("today()")(context=EvalContext(now=now, tz="Mars/Olympus"))
    assert info.value.code == "expr.eval"


def test_the_library_documents_every_function_in_both_languages():
    entries = library()
    assert {e["name"] for e in entries} == {*FUNCTIONS.types(), "if"}
    for e in entries:
        assert e["doc"]["zh-CN"] and e["doc"]["en"]


def test_the_user_documentation_lists_every_function():
    from pathlib import Path
    doc = (Path(__file__).resolve().parents[3] / "docs" / "expressions.md").read_text("utf-8")
    missing = [e["name"] for e in library() if f"`{e['name']}(" not in doc]
    assert not missing, f"docs/expressions.md does not list {missing}"


def test_the_user_documentation_promises_no_function_the_library_lacks():
    """Every ``name(`` in the function table of docs/expressions.md is a function of the library."""
    import re
    from pathlib import Path
    doc = (Path(__file__).resolve().parents[3] / "docs" / "expressions.md").read_text("utf-8")
    table = doc.split("## Functions", 1)[1].split("\n## ", 1)[0]
    documented = set()
    for line in table.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            documented |= set(re.findall(r"`([a-z_]+)\(", first_cell))
    assert documented, "the function table was not found"
    assert documented == {e["name"] for e in library()}


def test_the_documented_examples_compile():
    """The examples at the top of docs/expressions.md are valid expressions of the language."""
    from pathlib import Path
    doc = (Path(__file__).resolve().parents[3] / "docs" / "expressions.md").read_text("utf-8")
    block = doc.split("```text", 1)[1].split("```", 1)[0]
    for line in filter(None, (x.strip() for x in block.splitlines())):
        compile_expr(line)
