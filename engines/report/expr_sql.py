"""``filter_expr`` (and a role's row-scope condition): an expression of the Jimu language, in SQL.

There is one parser: the source is compiled by ``engines.expr.compile_expr``
(the same allowlist, limits and error positions as everywhere else) and its
JSON tree (``Expression.tree``) is translated node by node. Translated are
comparisons (also chained, ``== null`` as IS NULL), ``and``/``or``/``not``,
``in``/``not in`` over a literal list, ``"text" in field`` (substring),
``+ - * / %``, unary minus, ``if(c, a, b)``, literals, field names
(``status``, ``客户.等级`` through a link — joined automatically — or a declared
join alias ``c.vip_level``) and the functions in ``FUNCTIONS``, which mean in
SQL what they mean in Python (``contains``/``startswith`` are case-sensitive,
``is_empty`` is null or empty text). Everything else the language has but SQL
cannot answer per row is ``report.unsupported_expr`` with its position; literals
become bound parameters, names go through the source's columns. Nothing in the
text can reach SQL as text.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import sqlalchemy as sa

from ..errors import JimuError
from ..expr import ExprError, ExprLimitError, ExprSyntaxError, compile_expr
from ..operators import OPERATORS
from .exceptions import ReportError
from .fields import Field, FieldResolver
from .values import coerce

MAX_SOURCE = 2000


def _is_empty(a: sa.ColumnElement) -> sa.ColumnElement:
    return OPERATORS.get("is_empty").clause(a, None)


def _contains(a: sa.ColumnElement, b: Any) -> sa.ColumnElement:
    return OPERATORS.get("contains").clause(a, b)


#: name -> (arity, builder). The functions of the language a report filter may call.
FUNCTIONS: dict[str, tuple[int | None, Callable[..., sa.ColumnElement]]] = {
    "lower": (1, sa.func.lower),
    "upper": (1, sa.func.upper),
    "len": (1, lambda a: sa.func.coalesce(sa.func.length(a), 0)),
    "abs": (1, sa.func.abs),
    "round": (None, sa.func.round),
    "coalesce": (None, sa.func.coalesce),
    "is_empty": (1, _is_empty),
}
#: functions whose second argument must be literal text (bound, matched case-sensitively)
_TEXT_FUNCTIONS = {"contains": "contains", "startswith": "startswith"}
#: functions of the current user, known when ``translate`` is given one
_USER_FUNCTIONS = frozenset({"current_user", "has_role"})
#: aggregates over the rows of a sub-table, per record
_ROW_AGGREGATES = {"sum": sa.func.sum, "min": sa.func.min, "max": sa.func.max, "len": None}
_COMPARE = {"==": "__eq__", "!=": "__ne__", "<": "__lt__", "<=": "__le__", ">": "__gt__", ">=": "__ge__"}
_ARITH = {"+": "__add__", "-": "__sub__", "*": "__mul__", "/": "__truediv__", "%": "__mod__"}


def translate(source: Any, resolver: FieldResolver, *, user: Mapping[str, Any] | None = None) -> sa.ColumnElement[bool]:
    """The SQL condition of ``source``; ``ReportError`` for anything outside what SQL can answer.

    With ``user`` (``Principal.as_context()``), ``current_user()`` is the user's id and
    ``has_role('key')`` whether they hold the role, both as bound values: that is how a
    role's row scope names "me" (``approver == current_user() or has_role('auditor')``).
    """
    if not isinstance(source, str) or not source.strip():
        raise ReportError("filter_expr must be a non-empty expression", code="report.bad_expr")
    if len(source) > MAX_SOURCE:
        raise ReportError(f"filter_expr is longer than {MAX_SOURCE} characters", code="report.bad_expr")
    try:
        tree = compile_expr(source).tree
    except (ExprSyntaxError, ExprLimitError) as exc:
        raise ReportError(f"filter_expr is not a valid expression: {exc.message}", code="report.bad_expr",
                          position=exc.position) from None
    except ExprError as exc:
        raise ReportError(exc.message, code="report.unsupported_expr", position=exc.position) from None
    return _Translator(resolver, user).condition(tree)


class _Translator:
    def __init__(self, resolver: FieldResolver, user: Mapping[str, Any] | None = None):
        self.resolver = resolver
        self.user = user

    def condition(self, node: dict) -> sa.ColumnElement[bool]:
        value = self.visit(node)
        if not isinstance(value, sa.ColumnElement):
            return sa.true() if value else sa.false()
        return value

    def visit(self, node: dict) -> Any:
        method = getattr(self, "t_" + node["t"], None)
        if method is None:
            raise _unsupported(node, f"{_NODE_NAMES.get(node['t'], node['t'])} is not available in a report filter")
        return method(node)

    # -- leaves ------------------------------------------------------------------------------
    def t_lit(self, node: dict):
        return sa.literal(node["v"]) if node["v"] is not None else sa.null()

    def t_name(self, node: dict):
        return self._field(node["n"], node).column

    def t_attr(self, node: dict):
        inner = node["e"]
        if inner["t"] != "name":
            raise _unsupported(node, "only link.field (or alias.field) references are allowed")
        return self._field(f"{inner['n']}.{node['n']}", node).column

    # -- operators ---------------------------------------------------------------------------
    def t_bool(self, node: dict):
        parts = [self.condition(v) for v in node["vs"]]
        return sa.and_(*parts) if node["op"] == "and" else sa.or_(*parts)

    def t_un(self, node: dict):
        if node["op"] == "not":  # NULL (a comparison with an empty field) is false in the language: not → true
            return sa.not_(sa.func.coalesce(self.condition(node["e"]), sa.false()))
        operand = self._operand(node["e"])
        return -operand if node["op"] == "-" else operand

    def t_bin(self, node: dict):
        name = _ARITH.get(node["op"])
        if name is None:
            raise _unsupported(node, f"operator {node['op']} is not available in a report filter")
        return getattr(self._operand(node["l"]), name)(self._operand(node["r"]))

    def t_if(self, node: dict):
        return sa.case((self.condition(node["c"]), self._operand(node["a"])), else_=self._operand(node["b"]))

    def t_cmp(self, node: dict):
        parts, left = [], node["l"]
        for op, right in zip(node["ops"], node["cs"]):
            parts.append(self._compare_one(left, op, right))
            left = right
        return parts[0] if len(parts) == 1 else sa.and_(*parts)

    def _compare_one(self, left: dict, op: str, right: dict):
        if op in ("in", "not in"):
            if right["t"] == "list":
                field = self._field_of(left)
                values = [self._value_for(field, v) for v in right["items"]]
                lhs = self._operand(left)
                return lhs.in_(values) if op == "in" else sa.or_(lhs.not_in(values), lhs.is_(None))
            if left["t"] == "lit" and isinstance(left["v"], str):  # "退款" in 描述: a substring
                test = _contains(self._operand(right), left["v"])
                return test if op == "in" else sa.not_(test)
            raise _unsupported(right, "'in' needs a literal list such as ['a', 'b'], or text on the left")
        lhs = self._operand(left)
        if right["t"] == "lit" and right["v"] is None and op in ("==", "!="):
            return lhs.is_(None) if op == "==" else lhs.is_not(None)
        field = self._field_of(left)
        if field is not None and _is_literal(right):
            test = getattr(lhs, _COMPARE[op])(self._value_for(field, right))
            # in the language an empty field is "not equal" to a value, as the operator ne says
            return sa.or_(test, lhs.is_(None)) if op == "!=" else test
        return getattr(lhs, _COMPARE[op])(self._operand(right))

    # -- calls -------------------------------------------------------------------------------
    def t_call(self, node: dict):
        name, args = node["f"], node["args"]
        rows = self._subtable_aggregate(name, args)
        if rows is not None:
            return rows
        if self.user is not None and name in _USER_FUNCTIONS:
            return self._user_call(node)
        if name in _TEXT_FUNCTIONS:
            if len(args) != 2 or not (args[1]["t"] == "lit" and isinstance(args[1]["v"], str) and args[1]["v"]):
                raise _unsupported(node, f"{name}() in a report filter takes a field and literal text")
            return OPERATORS.get(_TEXT_FUNCTIONS[name]).clause(self._operand(args[0]), args[1]["v"])
        if name not in FUNCTIONS:
            raise _unsupported(node, f"{name}() cannot be computed in SQL; a report filter may use "
                                     f"{', '.join(sorted([*FUNCTIONS, *_TEXT_FUNCTIONS]))}")
        arity, build = FUNCTIONS[name]
        if arity is not None and len(args) != arity:
            raise _unsupported(node, f"{name}() takes {arity} argument(s)")
        return build(*[self._operand(a) for a in args])

    def _subtable_aggregate(self, name: str, args: list[dict]) -> sa.ColumnElement | None:
        """``sum(明细.金额)``, ``min``/``max`` of a sub-table column and ``len(明细)``: one correlated
        subquery per record, meaning what the expression means in Python (an empty sub-table sums to 0)."""
        if len(args) != 1 or name not in _ROW_AGGREGATES:
            return None
        arg, base = args[0], self.resolver.base
        lookup = getattr(base, "child_column", None)
        if lookup is None:
            return None
        if name == "len" and arg["t"] == "name":
            found = lookup(arg["n"], None)
            if found is None:
                return None
            return (sa.select(sa.func.count()).select_from(found[0].table).where(found[0] == base.id_column)
                    .scalar_subquery())
        if name == "len" or arg["t"] != "attr" or arg["e"]["t"] != "name":
            return None
        found = lookup(arg["e"]["n"], arg["n"])
        if found is None:
            if lookup(arg["e"]["n"], None) is not None:
                raise ReportError(f"sub-table {arg['e']['n']!r} has no column {arg['n']!r}",
                                  code="report.unknown_field", field=f"{arg['e']['n']}.{arg['n']}",
                                  position=arg.get("pos"))
            return None
        record_id, column = found
        value = (sa.select(_ROW_AGGREGATES[name](column)).select_from(record_id.table)
                 .where(record_id == base.id_column).scalar_subquery())
        return sa.func.coalesce(value, 0) if name == "sum" else value

    def _user_call(self, node: dict):
        name, args = node["f"], node["args"]
        if name == "current_user":
            return sa.literal(self.user.get("id"), sa.Integer)
        if not (len(args) == 1 and args[0]["t"] == "lit"):
            raise _unsupported(node, "has_role() takes one role key as text")
        return sa.true() if args[0]["v"] in (self.user.get("roles") or ()) else sa.false()

    # -- helpers -----------------------------------------------------------------------------
    def _operand(self, node: dict) -> sa.ColumnElement:
        value = self.visit(node)
        return value if isinstance(value, sa.ColumnElement) else sa.literal(value)

    def _field_of(self, node: dict) -> Field | None:
        """The field a bare name or link path refers to, so literals compared with it get its type."""
        if node["t"] == "name":
            return self._field(node["n"], node)
        if node["t"] == "attr" and node["e"]["t"] == "name":
            return self._field(f"{node['e']['n']}.{node['n']}", node)
        return None

    def _value_for(self, field: Field | None, node: dict) -> Any:
        value = _literal(node)
        if field is None:
            return value
        try:
            return coerce(field, value)
        except JimuError as exc:
            exc.context.setdefault("position", node.get("pos"))
            raise

    def _field(self, ref: str, node: dict) -> Field:
        try:
            return self.resolver.resolve(ref)
        except JimuError as exc:
            exc.context.setdefault("position", node.get("pos"))
            raise


_NODE_NAMES = {"idx": "indexing ([...])", "list": "a list outside 'in'", "call": "this function"}


def _is_literal(node: dict) -> bool:
    return node["t"] == "lit" or (node["t"] == "un" and node["op"] == "-" and node["e"]["t"] == "lit")


def _literal(node: dict) -> Any:
    if node["t"] == "un" and node["op"] == "-" and node["e"]["t"] == "lit" \
            and isinstance(node["e"]["v"], (int, float)) and not isinstance(node["e"]["v"], bool):
        return -node["e"]["v"]
    if node["t"] == "lit":
        return node["v"]
    raise _unsupported(node, "only text, number, true/false and null literals are allowed here")


def _unsupported(node: dict, message: str) -> ReportError:
    return ReportError(message, code="report.unsupported_expr", position=node.get("pos"))
