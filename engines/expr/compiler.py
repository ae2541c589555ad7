"""Parse once, check against an allowlist, export a JSON tree, evaluate many times.

``compile_expr(source)`` parses the text with Python's ``ast`` (the language
has Python's surface syntax, as simpleeval does), refuses every node outside
the allowlist, and produces two things from one walk:

* ``Expression.tree`` — a small JSON syntax tree. The browser evaluator
  (``runtime/static/js/expr.js``) runs exactly this tree, so there is one parser
  and one set of rules, not a second implementation;
* a chain of Python closures built from that tree, which is why evaluating a
  compiled expression costs a few function calls instead of a tree walk.

``if`` is a keyword in Python, so ``if(c, a, b)`` is recognised at token level
and becomes the lazy ``if`` node. Nothing reaches ``getattr``: ``a.b`` reads a
key of a record value, and names that start with ``_`` are refused.

Two readings of ``a.b`` reach beyond the record's own values:

* a **sub-table column**: ``明细.金额`` on a list of rows is the list of the
  rows' ``金额`` (so ``sum(明细.金额)`` adds a column up);
* a **linked record's field**: ``客户.等级`` where ``客户`` holds the id of a
  linked record reads ``等级`` of that record from ``EvalContext.links``,
  which the runtime fills (the engines never query the database).
  ``Expression.paths`` lists the ``(name, key)`` pairs an expression reads
  this way, so compilers can check them and the runtime knows what to load.
"""
from __future__ import annotations

import ast
import io
import operator
import tokenize
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping

from .errors import (ExprError, ExprEvalError, ExprFunctionError, ExprLimitError, ExprNameError,
                     ExprNotAllowed, ExprSyntaxError, ExprTypeError)
from .functions import FUNCTIONS
from .values import (MAX_COLLECTION, MAX_SAFE_INT, MAX_STRING, arith, check, equal, member, negate,
                     order, type_name)

MAX_SOURCE = 4_000
MAX_DEPTH = 40
#: the token ``if(`` is renamed to this, which is a valid identifier of the same length
_IF = "iF"
CONSTANTS = {"true": True, "false": False, "null": None}


@dataclass
class EvalContext:
    """What an expression may see besides its variables.

    ``now`` comes from the injectable clock, ``user`` is ``Principal.as_context()``,
    ``calendar`` a ``BusinessCalendar`` for working-day functions, ``calendars``
    the installed calendars by key (``working_minutes(a, b, "office")``) and ``tz``
    the zone ``today()`` is taken in. ``links`` maps a link field's key to the
    linked record (a dict of its values; a list of them for a multiple link):
    the runtime supplies it so ``客户.等级`` reads the customer's level.
    """

    now: datetime | None = None
    user: Mapping[str, Any] | None = None
    calendar: Any = None
    tz: str = "UTC"
    aggregate: Callable[..., Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    links: Mapping[str, Any] = field(default_factory=dict)
    calendars: Mapping[str, Any] = field(default_factory=dict)

    def current_time(self) -> datetime:
        now = self.now or datetime.now(timezone.utc)
        return now if now.tzinfo else now.replace(tzinfo=timezone.utc)


_DEFAULT_CONTEXT = EvalContext()
_NO_VARIABLES: Mapping[str, Any] = {}

_BIN = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
        ast.Pow: "**"}
_CMP = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
        ast.In: "in", ast.NotIn: "not in"}
_UN = {ast.USub: "-", ast.UAdd: "+", ast.Not: "not"}
_ENDS_OPERAND = {tokenize.NAME, tokenize.NUMBER, tokenize.STRING}
_KEYWORDS_BEFORE_OPERAND = {"and", "or", "not", "in", "if", "else", "is"}


def _rename_if_calls(source: str) -> str:
    """``if(`` where an operand is expected becomes ``iF(``; a ternary ``x if (c) else y`` stays."""
    lines = source.splitlines(keepends=True) or [""]
    hits: list[tuple[int, int]] = []
    prev = None
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline)
                  if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT,
                                    tokenize.DEDENT, tokenize.ENDMARKER)]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source  # ast.parse reports the error with its position
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.NAME and tok.string == "if" and i + 1 < len(tokens) \
                and tokens[i + 1].string == "(":
            operand_before = prev is not None and (
                (prev.type in _ENDS_OPERAND and prev.string not in _KEYWORDS_BEFORE_OPERAND)
                or prev.string in (")", "]", "}"))
            if not operand_before:
                hits.append(tok.start)
        prev = tok
    for row, col in hits:
        line = lines[row - 1]
        lines[row - 1] = line[:col] + _IF + line[col + 2:]
    return "".join(lines)


class _Parser:
    """ast → JSON tree, refusing everything outside the language."""

    def __init__(self, source: str, allowed_names: frozenset[str] | None):
        self.source = source
        self.allowed = allowed_names
        self.names: set[str] = set()
        self.functions: set[str] = set()
        self.paths: set[tuple[str, str]] = set()
        #: (function, argument trees, node) of every call, for the functions' compile-time checks
        self.calls: list[tuple[str, list[dict], ast.AST]] = []
        # ast reports (line, UTF-8 byte column) of the left-stripped text; positions in Jimu
        # are 1-based character offsets into the source as written (Chinese names included)
        body = source.lstrip()
        self.text = body
        self.skip = len(source) - len(body)
        self.line_starts = [0]
        for i, ch in enumerate(body):
            if ch == "\n":
                self.line_starts.append(i + 1)

    def position(self, lineno: int | None, col_offset: int | None) -> int | None:
        """1-based character offset in the source of ast's (line, byte column)."""
        if lineno is None or col_offset is None or not 1 <= lineno <= len(self.line_starts):
            return None
        start = self.line_starts[lineno - 1]
        line = self.text[start:]
        chars = len(line.encode("utf-8")[:max(col_offset, 0)].decode("utf-8", "ignore"))
        return self.skip + start + chars + 1

    def pos_of(self, node: ast.AST | None) -> int | None:
        return self.position(getattr(node, "lineno", None), getattr(node, "col_offset", None))

    def error(self, cls, message: str, node: ast.AST | None = None, **context) -> ExprError:
        return cls(message, expression=self.source, position=self.pos_of(node), **context)

    def parse(self) -> dict:
        try:
            tree = ast.parse(_rename_if_calls(self.text), mode="eval")
        except SyntaxError as exc:
            if "too many nested" in (exc.msg or ""):
                raise ExprLimitError(f"expression is nested too deeply (more than {MAX_DEPTH} levels)",
                                     expression=self.source) from None
            # SyntaxError.offset is 1-based and counts characters of the line
            pos = len(self.source)  # "unexpected end": point at the last character
            if exc.lineno is not None and exc.offset and 1 <= exc.lineno <= len(self.line_starts):
                pos = min(self.skip + self.line_starts[exc.lineno - 1] + exc.offset, len(self.source))
            raise ExprSyntaxError(f"not a valid expression: {exc.msg}", expression=self.source,
                                  position=pos) from None
        except (RecursionError, MemoryError):
            raise ExprLimitError(f"expression is nested too deeply (more than {MAX_DEPTH} levels)",
                                 expression=self.source) from None
        except ValueError as exc:  # e.g. a NUL character
            raise ExprSyntaxError(f"not a valid expression: {exc}", expression=self.source) from None
        return self.visit(tree.body, 0)

    def visit(self, node: ast.AST, depth: int) -> dict:
        if depth > MAX_DEPTH:
            raise self.error(ExprLimitError, f"expression is nested too deeply (more than {MAX_DEPTH} levels)", node)
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise self.error(ExprNotAllowed, f"{_describe(node)} is not allowed in an expression", node)
        out = method(node, depth + 1)
        out.setdefault("pos", self.pos_of(node))
        return out

    def visit_Constant(self, node: ast.Constant, depth: int) -> dict:
        v = node.value
        if isinstance(v, bool) or v is None:
            return {"t": "lit", "v": v}
        if isinstance(v, int):
            if abs(v) > MAX_SAFE_INT:
                raise self.error(ExprLimitError, "number is larger than 2**53", node)
            return {"t": "lit", "v": v}
        if isinstance(v, float):
            if v != v or v in (float("inf"), float("-inf")):
                raise self.error(ExprLimitError, "number is too large", node)
            return {"t": "lit", "v": v}
        if isinstance(v, str):
            if len(v) > MAX_STRING:
                raise self.error(ExprLimitError, f"text longer than {MAX_STRING} characters", node)
            return {"t": "lit", "v": v}
        raise self.error(ExprNotAllowed, f"{type(v).__name__} literals are not allowed", node)

    def visit_Name(self, node: ast.Name, depth: int) -> dict:
        name = node.id
        if name in CONSTANTS:
            return {"t": "lit", "v": CONSTANTS[name]}
        if name == _IF or name in FUNCTIONS:
            raise self.error(ExprNotAllowed, f"{'if' if name == _IF else name} is a function; call it with (...)", node)
        if name.startswith("_"):
            raise self.error(ExprNotAllowed, f"names starting with '_' are not allowed: {name}", node)
        if self.allowed is not None and name not in self.allowed:
            raise self.error(ExprNameError, f"unknown name {name!r}: not a field of this form", node, name=name)
        self.names.add(name)
        return {"t": "name", "n": name}

    def visit_List(self, node: ast.List | ast.Tuple, depth: int) -> dict:
        if len(node.elts) > MAX_COLLECTION:
            raise self.error(ExprLimitError, f"list longer than {MAX_COLLECTION} items", node)
        return {"t": "list", "items": [self.visit(e, depth) for e in node.elts]}

    visit_Tuple = visit_List

    def visit_BoolOp(self, node: ast.BoolOp, depth: int) -> dict:
        return {"t": "bool", "op": "and" if isinstance(node.op, ast.And) else "or",
                "vs": [self.visit(v, depth) for v in node.values]}

    def visit_BinOp(self, node: ast.BinOp, depth: int) -> dict:
        op = _BIN.get(type(node.op))
        if op is None:
            raise self.error(ExprNotAllowed, f"operator {type(node.op).__name__} is not allowed", node)
        return {"t": "bin", "op": op, "l": self.visit(node.left, depth), "r": self.visit(node.right, depth)}

    def visit_UnaryOp(self, node: ast.UnaryOp, depth: int) -> dict:
        op = _UN.get(type(node.op))
        if op is None:
            raise self.error(ExprNotAllowed, f"operator {type(node.op).__name__} is not allowed", node)
        return {"t": "un", "op": op, "e": self.visit(node.operand, depth)}

    def visit_Compare(self, node: ast.Compare, depth: int) -> dict:
        ops = []
        for op in node.ops:
            name = _CMP.get(type(op))
            if name is None:
                raise self.error(ExprNotAllowed, f"comparison {type(op).__name__} is not allowed; use == or !=", node)
            ops.append(name)
        return {"t": "cmp", "ops": ops, "l": self.visit(node.left, depth),
                "cs": [self.visit(c, depth) for c in node.comparators]}

    def visit_IfExp(self, node: ast.IfExp, depth: int) -> dict:
        return {"t": "if", "c": self.visit(node.test, depth), "a": self.visit(node.body, depth),
                "b": self.visit(node.orelse, depth)}

    def visit_Call(self, node: ast.Call, depth: int) -> dict:
        if not isinstance(node.func, ast.Name):
            raise self.error(ExprNotAllowed, "only functions of the library can be called; methods cannot", node)
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.error(ExprNotAllowed, "function arguments are positional only", node)
        name = node.func.id
        if name.startswith("_"):
            raise self.error(ExprNotAllowed, f"names starting with '_' are not allowed: {name}", node)
        args = [self.visit(a, depth) for a in node.args]
        if name == _IF:
            if len(args) not in (2, 3):
                raise self.error(ExprFunctionError, "if() takes a condition, a value and an optional else value",
                                 node, function="if")
            return {"t": "if", "c": args[0], "a": args[1], "b": args[2] if len(args) == 3 else {"t": "lit", "v": None}}
        if name not in FUNCTIONS:
            raise self.error(ExprFunctionError, f"unknown function {name}(); the library has "
                             f"{', '.join(sorted([*FUNCTIONS.types(), 'if']))}", node, function=name)
        fn = FUNCTIONS.get(name)
        if len(args) < fn.min_args or (fn.max_args is not None and len(args) > fn.max_args):
            want = (f"{fn.min_args}" if fn.min_args == fn.max_args else
                    f"{fn.min_args} or more" if fn.max_args is None else f"{fn.min_args} to {fn.max_args}")
            raise self.error(ExprFunctionError, f"{name}() takes {want} argument(s), not {len(args)}",
                             node, function=name)
        self.functions.add(name)
        self.calls.append((name, args, node))
        return {"t": "call", "f": name, "args": args}

    def visit_Attribute(self, node: ast.Attribute, depth: int) -> dict:
        if node.attr.startswith("_"):
            raise self.error(ExprNotAllowed, f"attributes starting with '_' are not allowed: {node.attr}", node)
        inner = self.visit(node.value, depth)
        if inner["t"] == "name":
            self.paths.add((inner["n"], node.attr))
        return {"t": "attr", "e": inner, "n": node.attr}

    def visit_Subscript(self, node: ast.Subscript, depth: int) -> dict:
        if isinstance(node.slice, ast.Slice):
            raise self.error(ExprNotAllowed, "slices are not allowed", node)
        return {"t": "idx", "e": self.visit(node.value, depth), "i": self.visit(node.slice, depth)}


def _describe(node: ast.AST) -> str:
    return {"Lambda": "lambda", "GeneratorExp": "a generator", "ListComp": "a comprehension",
            "SetComp": "a comprehension", "DictComp": "a comprehension", "JoinedStr": "an f-string",
            "NamedExpr": "assignment (:=)", "Dict": "a dict literal", "Set": "a set literal",
            "Starred": "unpacking (*)", "Await": "await", "Yield": "yield"}.get(type(node).__name__,
                                                                               type(node).__name__)


# -- closures ------------------------------------------------------------------------------

Fn = Callable[[Mapping[str, Any], EvalContext], Any]


def _build(node: dict) -> Fn:
    t = node["t"]
    if t == "lit":
        v = node["v"]
        return lambda vars, ctx: v
    if t == "name":
        n = node["n"]

        def name_(vars, ctx):
            v = vars.get(n)
            # NUMERIC columns come back as Decimal; in the language (and in the browser) a number is a float
            return float(v) if type(v) is Decimal else v
        return name_
    if t == "list":
        items = [_build(i) for i in node["items"]]
        return lambda vars, ctx: [f(vars, ctx) for f in items]
    if t == "bool":
        # ``not value`` is ``not truthy(value)``: values.truthy is Python truthiness for every value
        parts = [_build(v) for v in node["vs"]]
        if node["op"] == "and":
            if len(parts) == 2:
                p0, p1 = parts

                def and2(vars, ctx):
                    value = p0(vars, ctx)
                    if not value:
                        return value
                    return p1(vars, ctx)
                return and2

            def and_(vars, ctx):
                value = None
                for f in parts:
                    value = f(vars, ctx)
                    if not value:
                        return value
                return value
            return and_
        if len(parts) == 2:
            p0, p1 = parts

            def or2(vars, ctx):
                value = p0(vars, ctx)
                if value:
                    return value
                return p1(vars, ctx)
            return or2

        def or_(vars, ctx):
            value = None
            for f in parts:
                value = f(vars, ctx)
                if value:
                    return value
            return value
        return or_
    pos = node.get("pos")
    if t == "bin":
        op, left, right = node["op"], _build(node["l"]), _build(node["r"])
        if op in _PY_ARITH:
            return _build_arith(op, left, right, pos)

        def bin_(vars, ctx):
            try:
                return arith(op, left(vars, ctx), right(vars, ctx))
            except ExprError as exc:
                _locate(exc, pos)
                raise
        return bin_
    if t == "un":
        op, inner = node["op"], _build(node["e"])
        if op == "not":
            return lambda vars, ctx: not inner(vars, ctx)

        def un_(vars, ctx):
            try:
                return negate(op, inner(vars, ctx))
            except ExprError as exc:
                _locate(exc, pos)
                raise
        return un_
    if t == "cmp":
        return _build_compare(node)
    if t == "if":
        c, a, b = _build(node["c"]), _build(node["a"]), _build(node["b"])
        return lambda vars, ctx: a(vars, ctx) if c(vars, ctx) else b(vars, ctx)
    if t == "call":
        return _build_call(node, pos)
    if t == "attr":
        inner, key = _build(node["e"]), node["n"]
        if node["e"]["t"] == "name":
            link = node["e"]["n"]

            def path_(vars, ctx):
                value = inner(vars, ctx)
                if value is not None and not isinstance(value, (Mapping, list, tuple)) and link in ctx.links:
                    value = ctx.links[link]  # the linked record the runtime supplied for this id
                try:
                    return _get_key(value, key)
                except ExprError as exc:
                    _locate(exc, pos)
                    raise
            return path_

        def attr_(vars, ctx):
            try:
                return _get_key(inner(vars, ctx), key)
            except ExprError as exc:
                _locate(exc, pos)
                raise
        return attr_
    if t == "idx":
        inner, index = _build(node["e"]), _build(node["i"])

        def idx_(vars, ctx):
            try:
                return _index(inner(vars, ctx), index(vars, ctx))
            except ExprError as exc:
                _locate(exc, pos)
                raise
        return idx_
    raise ExprNotAllowed(f"unknown node {t!r}")  # pragma: no cover


def _locate(exc: ExprError, pos: int | None) -> None:
    """The innermost node that fails names the position (outer nodes leave it alone)."""
    if exc.context.get("position") is None:
        exc.context["position"] = pos


def _build_call(node: dict, pos: int | None) -> Fn:
    impl = FUNCTIONS.get(node["f"]).impl
    args = [_build(a) for a in node["args"]]
    if not args:
        def call0(vars, ctx):
            try:
                return impl(ctx)
            except ExprError as exc:
                _locate(exc, pos)
                raise
        return call0
    if len(args) == 1:
        a0 = args[0]

        def call1(vars, ctx):
            try:
                return impl(ctx, a0(vars, ctx))
            except ExprError as exc:
                _locate(exc, pos)
                raise
        return call1
    if len(args) == 2:
        a0, a1 = args

        def call2(vars, ctx):
            try:
                return impl(ctx, a0(vars, ctx), a1(vars, ctx))
            except ExprError as exc:
                _locate(exc, pos)
                raise
        return call2

    def calln(vars, ctx):
        try:
            return impl(ctx, *[a(vars, ctx) for a in args])
        except ExprError as exc:
            _locate(exc, pos)
            raise
    return calln


_ORDER = ("<", "<=", ">", ">=")


def _compare_one(op: str, a: Any, b: Any) -> bool:
    if op == "==":
        return equal(a, b)
    if op == "!=":
        return not equal(a, b)
    if op == "in":
        return member(a, b)
    if op == "not in":
        return not member(a, b)
    return order(op, a, b)


_PY_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
_PY_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _build_arith(op: str, left: Fn, right: Fn, pos: int | None) -> Fn:
    """``+ - * /`` with a fast path for plain numbers that gives exactly what ``arith`` gives."""
    pyop = _PY_ARITH[op]
    lo, hi = -MAX_SAFE_INT, MAX_SAFE_INT

    def arith_(vars, ctx):
        a = left(vars, ctx)
        b = right(vars, ctx)
        ta, tb = type(a), type(b)
        if (ta is int or ta is float) and (tb is int or tb is float) and (b or op != "/"):
            r = pyop(a, b)
            if type(r) is int:
                if lo <= r <= hi:
                    return r
            elif r - r == 0.0:  # finite
                return r
        try:
            return arith(op, a, b)
        except ExprError as exc:
            _locate(exc, pos)
            raise
    return arith_


def _comparer(op: str) -> Callable[[Any, Any], bool]:
    """(a, b) -> bool for one operator: plain numbers and texts directly, everything else by the rules."""
    if op == "==":
        return equal
    if op == "!=":
        return lambda a, b: not equal(a, b)
    if op == "in":
        return member
    if op == "not in":
        return lambda a, b: not member(a, b)
    pyop = _PY_ORDER[op]

    def compare(a, b):
        ta, tb = type(a), type(b)
        if (ta is int or ta is float) and (tb is int or tb is float) or (ta is str and tb is str):
            return pyop(a, b)
        return order(op, a, b)
    return compare


def _constant(node: dict) -> tuple[bool, Any]:
    """(True, value) when the node is a literal or a list of literals."""
    if node["t"] == "lit":
        return True, node["v"]
    if node["t"] == "list" and all(i["t"] == "lit" for i in node["items"]):
        return True, [i["v"] for i in node["items"]]
    return False, None


def _build_compare(node: dict) -> Fn:
    left = _build(node["l"])
    ops = node["ops"]
    rights = [_build(c) for c in node["cs"]]
    pos = node.get("pos")
    if len(ops) == 1:
        op, right = ops[0], rights[0]
        is_const, const = _constant(node["cs"][0])
        if is_const and op in ("in", "not in") and isinstance(const, list) \
                and all(type(v) is str for v in const):
            # text in a list of texts: equal() is == there, so a set answers
            texts, negate_ = frozenset(const), op == "not in"

            def in_texts(vars, ctx):
                a = left(vars, ctx)
                if type(a) is str:
                    return (a in texts) != negate_
                return member(a, const) != negate_
            return in_texts
        if is_const and op in ("==", "!=") and type(const) in (str, int, float):
            kind, negate_ = type(const), op == "!="

            def eq_const(vars, ctx):
                a = left(vars, ctx)
                if type(a) is kind:
                    return (a == const) != negate_
                return equal(a, const) != negate_
            return eq_const
        compare = _comparer(op)
        if is_const:
            def cmp_const(vars, ctx):
                try:
                    return compare(left(vars, ctx), const)
                except ExprError as exc:
                    _locate(exc, pos)
                    raise
            return cmp_const

        def cmp1(vars, ctx):
            try:
                return compare(left(vars, ctx), right(vars, ctx))
            except ExprError as exc:
                _locate(exc, pos)
                raise
        return cmp1
    pairs = [(_comparer(op), right) for op, right in zip(ops, rights)]

    def chain(vars, ctx):
        try:
            a = left(vars, ctx)
            for compare, right in pairs:
                b = right(vars, ctx)
                if not compare(a, b):
                    return False
                a = b
            return True
        except ExprError as exc:
            _locate(exc, pos)
            raise
    return chain


def _get_key(value: Any, key: str) -> Any:
    if value is None:
        return None
    if isinstance(value, Mapping):
        v = value.get(key)
        return float(v) if type(v) is Decimal else v
    if isinstance(value, (list, tuple)):  # a sub-table (or several linked records): the column
        return [_get_key(row, key) for row in value]
    if type_name(value) == "number":
        raise ExprTypeError(f"cannot read .{key} of a number; if this is a link field, the linked record was "
                            "not supplied (the form, flow, rule or report must be run by the runtime)")
    raise ExprTypeError(f"cannot read .{key} of {type_name(value)}")


def _index(value: Any, index: Any) -> Any:
    if value is None or index is None:
        return None
    if isinstance(value, Mapping):
        if not isinstance(index, str):
            raise ExprTypeError(f"a record is indexed by text, not {type_name(index)}")
        v = value.get(index)
        return float(v) if type(v) is Decimal else v
    if isinstance(value, (list, tuple, str)):
        if isinstance(index, bool) or not isinstance(index, int):
            raise ExprTypeError(f"a {type_name(value)} is indexed by an integer, not {type_name(index)}")
        if -len(value) <= index < len(value):
            v = value[index]
            return float(v) if type(v) is Decimal else v
        return None
    raise ExprTypeError(f"cannot index {type_name(value)}")


# -- the compiled object ---------------------------------------------------------------

class Expression:
    """A compiled expression: evaluate it many times, export its tree once."""

    __slots__ = ("source", "tree", "names", "functions", "paths", "_fn")

    def __init__(self, source: str, tree: dict, names: frozenset[str], functions: frozenset[str],
                 paths: frozenset[tuple[str, str]] = frozenset()):
        self.source = source
        self.tree = tree
        self.names = names
        self.functions = functions
        #: ``(name, key)`` of every ``name.key`` read (sub-table columns, linked records' fields)
        self.paths = paths
        self._fn = _build(tree)

    def evaluate(self, variables: Mapping[str, Any] | None = None, context: EvalContext | None = None) -> Any:
        try:
            result = self._fn(variables or _NO_VARIABLES, context or _DEFAULT_CONTEXT)
            if result is True or result is False or result is None:
                return result
            return check(result)
        except ExprError as exc:
            exc.context.setdefault("expression", self.source)
            if exc.context.get("expression") is None:
                exc.context["expression"] = self.source
            raise
        except RecursionError:
            raise ExprLimitError("expression is nested too deeply", expression=self.source) from None
        except (TypeError, ValueError, ArithmeticError, OverflowError) as exc:
            raise ExprEvalError(f"cannot evaluate: {exc}", expression=self.source) from None

    def __call__(self, variables: Mapping[str, Any] | None = None, context: EvalContext | None = None) -> Any:
        return self.evaluate(variables, context)

    def to_json(self) -> dict:
        return {"source": self.source, "tree": self.tree}

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


def compile_expr(source: Any, allowed_names: Iterable[str] | None = None) -> Expression:
    """Compile ``source`` once. With ``allowed_names``, an unknown name is an error now,
    not a silent null later (how the form engine checks formulas at definition time)."""
    if not isinstance(source, str):
        raise ExprSyntaxError(f"an expression must be text, not {type(source).__name__}",
                              expression=None if source is None else str(source)[:200])
    if len(source) > MAX_SOURCE:
        raise ExprLimitError(f"expression longer than {MAX_SOURCE} characters", expression=source[:200] + "…")
    if not source.strip():
        raise ExprSyntaxError("the expression is empty", expression=source)
    names = None if allowed_names is None else frozenset(allowed_names)
    return _compile_cached(source, names)


@lru_cache(maxsize=4096)
def _compile_cached(source: str, names: frozenset[str] | None) -> Expression:
    parser = _Parser(source, names)
    tree = parser.parse()
    for name, args, node in parser.calls:
        FUNCTIONS.get(name).check(args, lambda message, _node=node: parser.error(ExprFunctionError, message, _node,
                                                                            function=name))
    return Expression(source, tree, frozenset(parser.names), frozenset(parser.functions), frozenset(parser.paths))
