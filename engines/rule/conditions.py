"""Conditions, compiled once into closures ``(variables, EvalContext) -> bool``.

A condition is one of

* ``{"expr": "紧急程度 == '高' and hours_since(created_at) > 2"}`` — the shared expression language;
* ``{"field": "状态", "op": "in", "value": ["新建", "处理中"]}`` — an operator from ``engines.operators``
  (the registry record lists and reports use too, so a condition means what a list filter means);
  ``"value": {"expr": "..."}`` compares with a computed value;
* ``{"all": [...]}``, ``{"any": [...]}``, ``{"not": {...}}`` — groups;
* ``{"aggregate": {"fn": "count" | "sum", "form": "订单", "field": "金额", "filter": [
  {"field": "客户", "op": "eq", "value": {"expr": "客户"}}], "within_days": 30,
  "date_field": "created_at"}, "op": "gt", "value": 3}`` — counted by the runtime in SQL through
  ``EvalContext.aggregate``; filter values may be expressions over the current record.

A condition may read the record's process as ``process.<key>`` — ``process.node`` (the step its
flow waits at), ``process.state``, ``process.done``, ``process.assignees`` — in an expression or as
a ``field``; the runtime supplies it (``PROCESS_KEYS``).

``None`` means always. Errors name the JSON pointer of the bad node. At run time an operator
or expression that cannot be evaluated (a text compared with a number ...) raises its typed
``ExprError``; the runner records it in the firing log instead of reading it as "no match".
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from engines.errors import JimuError
from engines.expr import EvalContext, compile_expr

from engines.operators import OPERATORS

Test = Callable[[Mapping[str, Any], EvalContext], bool]
#: the variable holding the record's process, and what it tells
PROCESS = "process"
PROCESS_KEYS = ("flow", "state", "done", "node", "nodes", "assignees")
MAX_DEPTH = 12


class Value:
    """A literal or ``{"expr": ...}`` evaluated against the record."""

    __slots__ = ("fn",)

    def __init__(self, raw: Any):
        if isinstance(raw, Mapping) and set(raw) == {"expr"}:
            expr = compile_expr(raw["expr"])
            self.fn = lambda v, ctx: expr.evaluate(v, ctx)
        else:
            self.fn = lambda v, ctx: raw

    def __call__(self, variables, ctx):
        return self.fn(variables, ctx)


def compile_condition(node: Any, errors: list[dict], ptr: str = "/condition", depth: int = 0) -> Test:
    """Compile ``node``; problems are appended to ``errors`` (all at once) and an always-false test returned."""
    def fail(code: str, message: str, **ctx) -> Test:
        errors.append({"code": code, "message": message, "pointer": ptr, **ctx})
        return lambda v, c: False

    if node is None:
        return lambda v, c: True
    if depth > MAX_DEPTH:
        return fail("rule.condition_too_deep", f"conditions nest at most {MAX_DEPTH} levels")
    if not isinstance(node, Mapping):
        return fail("rule.bad_condition", "a condition is an object: {expr}, {field, op, value}, {all}, {any}, "
                                          "{not} or {aggregate}")
    if "all" in node or "any" in node:
        key = "all" if "all" in node else "any"
        items = node[key]
        if not isinstance(items, list):
            return fail("rule.bad_condition", f"{key} takes a list of conditions")
        parts = [compile_condition(p, errors, f"{ptr}/{key}/{i}", depth + 1) for i, p in enumerate(items)]
        return _group(parts, key == "all")
    if "not" in node:
        inner = compile_condition(node["not"], errors, f"{ptr}/not", depth + 1)
        return lambda v, c: not inner(v, c)
    if "expr" in node:
        try:
            expr = compile_expr(node["expr"])
        except JimuError as exc:
            return fail(exc.code, exc.message, expression=str(node["expr"])[:200])
        unknown = sorted(k for name, k in expr.paths if name == PROCESS and k not in PROCESS_KEYS)
        if unknown:
            return _unknown_process(fail, unknown[0])
        from engines.expr.values import truthy

        def test_expr(v, c, _eval=expr.evaluate):
            value = _eval(v, c)
            return value is True or (value is not False and truthy(value))
        return test_expr
    if "aggregate" in node:
        return _aggregate(node, errors, ptr, fail)
    if "field" in node:
        field = node["field"]
        if not isinstance(field, str):
            return fail("rule.bad_condition", "field names a field key")
        try:
            op = OPERATORS.get(node.get("op", "eq"))
        except JimuError:
            return fail("rule.unknown_operator", f"unknown operator {node.get('op')!r}; use one of "
                                                 f"{', '.join(OPERATORS.types())}", op=str(node.get("op"))[:50])
        raw = node.get("value")
        if not (isinstance(raw, Mapping) and "expr" in raw):
            problem = op.value_problem(raw) if op.input != "none" else None
            if problem:
                return fail("rule.bad_value", f"{problem} (field {field!r})", op=op.type)
        try:
            value = Value(raw)
        except JimuError as exc:
            return fail(exc.code, exc.message)
        test = op.test
        head, dot, rest = field.partition(".")
        if head == PROCESS and dot and rest not in PROCESS_KEYS:
            return _unknown_process(fail, rest)
        if not dot and not (isinstance(raw, Mapping) and "expr" in raw):
            fast = _fast(op.type, field, raw, test)
            if fast is not None:
                return fast
        if dot:
            def get(v, c, _h=head, _r=rest):
                inner = v.get(_h)
                if inner is not None and not isinstance(inner, (Mapping, list)) and _h in c.links:
                    inner = c.links[_h]  # a link field: the linked record the runtime supplied
                if isinstance(inner, list):
                    return [row.get(_r) for row in inner if isinstance(row, Mapping)]
                return inner.get(_r) if isinstance(inner, Mapping) else None
        else:
            def get(v, c, _f=field):
                return v.get(_f)
        return lambda v, c: test(get(v, c), value(v, c), c.current_time())
    return fail("rule.bad_condition", "unknown condition; use expr, field/op/value, all, any, not or aggregate")


def _unknown_process(fail, key: str) -> Test:
    return fail("rule.unknown_process_key", f"the process has no {key!r}; use one of "
                f"{', '.join(PROCESS + '.' + k for k in PROCESS_KEYS)}", key=key[:100])


def condition_paths(node: Any, depth: int = 0) -> set[tuple[str, str]]:
    """``(name, key)`` pairs a condition reads through a link or sub-table (``客户.等级``), so the
    runtime can load the linked records before evaluating it."""
    out: set[tuple[str, str]] = set()
    if depth > MAX_DEPTH or not isinstance(node, Mapping):
        return out
    for key in ("all", "any"):
        if isinstance(node.get(key), list):
            for part in node[key]:
                out |= condition_paths(part, depth + 1)
    if "not" in node:
        out |= condition_paths(node["not"], depth + 1)
    for source in (node.get("expr"), node.get("value", {}).get("expr") if isinstance(node.get("value"), Mapping)
                   else None):
        if isinstance(source, str):
            try:
                out |= compile_expr(source).paths
            except JimuError:
                pass  # reported when the condition compiles
    field = node.get("field")
    if isinstance(field, str) and "." in field:
        head, _, rest = field.partition(".")
        out.add((head, rest))
    return out


def _group(parts: list[Test], all_: bool) -> Test:
    """all/any with early exit, unrolled for the common small groups."""
    if all_:
        if len(parts) == 1:
            return parts[0]
        if len(parts) == 2:
            a, b = parts
            return lambda v, c: bool(a(v, c) and b(v, c))
        if len(parts) == 3:
            a, b, d = parts
            return lambda v, c: bool(a(v, c) and b(v, c) and d(v, c))

        def every(v, c):
            for p in parts:
                if not p(v, c):
                    return False
            return True
        return every
    if len(parts) == 2:
        a, b = parts
        return lambda v, c: bool(a(v, c) or b(v, c))

    def some(v, c):
        for p in parts:
            if p(v, c):
                return True
        return False
    return some


_NUMBER_OPS = {"gt": lambda x, y: x > y, "gte": lambda x, y: x >= y, "lt": lambda x, y: x < y,
               "lte": lambda x, y: x <= y}
#: operators that test the field's value alone (``engines.operators``: ``input`` "none")
_EMPTINESS_OPS = ("is_empty", "is_not_empty")


def _fast(op: str, field: str, const: Any, test) -> Test | None:
    """Specialised tests for literal text/number comparisons and emptiness (the bulk of real rules);
    anything else — or a value of another type at run time — goes through the operator's general test."""
    if op in ("eq", "ne") and type(const) in (str, int, float):
        kind, neg = type(const), op == "ne"

        def eq(v, c):
            x = v.get(field)
            if type(x) is kind:
                return (x == const) != neg
            return test(x, const, c.current_time())
        return eq
    if op in ("in", "not_in") and isinstance(const, list) and const and all(type(x) is str for x in const):
        members, neg = frozenset(const), op == "not_in"

        def member(v, c):
            x = v.get(field)
            if type(x) is str:
                return (x in members) != neg
            return test(x, const, c.current_time())
        return member
    if op in _EMPTINESS_OPS:  # the operator reads neither the value nor the clock: neither is worked out

        def emptiness(v, c):
            return test(v.get(field), const)
        return emptiness
    if op in _NUMBER_OPS and type(const) in (int, float):
        cmp = _NUMBER_OPS[op]

        def number(v, c):
            x = v.get(field)
            if type(x) is int or type(x) is float:
                return cmp(x, const)
            return test(x, const, c.current_time())
        return number
    return None


def _aggregate(node: Mapping, errors: list[dict], ptr: str, fail) -> Test:
    spec = node["aggregate"]
    if not isinstance(spec, Mapping) or not isinstance(spec.get("form"), str):
        return fail("rule.bad_aggregate", "aggregate needs at least {form}")
    fn = spec.get("fn", "count")
    if fn not in ("count", "sum"):
        return fail("rule.bad_aggregate", "aggregate fn is count or sum")
    if fn == "sum" and not isinstance(spec.get("field"), str):
        return fail("rule.bad_aggregate", "a sum names the field to add up")
    days = spec.get("within_days")
    if days is not None and (not isinstance(days, (int, float)) or isinstance(days, bool) or days <= 0):
        return fail("rule.bad_aggregate", "within_days is a positive number of days")
    filters = spec.get("filter") or []
    if not isinstance(filters, list):
        return fail("rule.bad_aggregate", "aggregate filter is a list of {field, op, value}")
    compiled = []
    for i, f in enumerate(filters):
        if not isinstance(f, Mapping) or not isinstance(f.get("field"), str):
            return fail("rule.bad_aggregate", f"filter {i} needs a field")
        try:
            compiled.append((f["field"], f.get("op", "eq"), Value(f.get("value"))))
        except JimuError as exc:
            return fail(exc.code, exc.message)
    try:
        op = OPERATORS.get(node.get("op", "gt"))
        value = Value(node.get("value", 0))
    except JimuError as exc:
        return fail(exc.code, exc.message)
    form, field, date_field = spec["form"], spec.get("field"), spec.get("date_field", "created_at")

    def test(v, c: EvalContext) -> bool:
        if c.aggregate is None:
            raise JimuError("aggregates need the runtime's record store", code="rule.no_aggregate")
        resolved = [[k, o, val(v, c)] for k, o, val in compiled]
        total = c.aggregate(fn, form, field, resolved, days, date_field=date_field)
        return op.test(total, value(v, c), c.current_time())
    return test
