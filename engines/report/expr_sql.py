"""``filter_expr``: a condition in the Jimu expression language, translated to SQL.

The expression language has Python's surface syntax (it is built on
simpleeval), so the source is parsed with ``ast`` and only an allowlist of node
types is translated: comparisons (also chained), ``and``/``or``/``not``,
``in``/``not in`` over a literal list, ``+ - * / %``, unary minus, literals,
field names (``status``, ``c.vip_level`` through a join) and the functions in
``FUNCTIONS``. Every other node, name or function is ``report.unsupported_expr``
with its position; literals become bound parameters, names go through the
source's columns. Nothing in the text can reach SQL as text.
"""
from __future__ import annotations

import ast
from typing import Any, Callable, Mapping

import sqlalchemy as sa

from ..errors import JimuError
from .exceptions import ReportError
from .fields import Field, FieldResolver
from .values import coerce

MAX_SOURCE = 2000

#: name -> (arity, builder). The functions a report filter may call.
FUNCTIONS: dict[str, tuple[int | None, Callable[..., sa.ColumnElement]]] = {
    "lower": (1, sa.func.lower),
    "upper": (1, sa.func.upper),
    "len": (1, sa.func.length),
    "abs": (1, sa.func.abs),
    "round": (None, sa.func.round),
    "coalesce": (None, sa.func.coalesce),
    "contains": (2, lambda a, b: a.icontains(b, autoescape=True)),
    "startswith": (2, lambda a, b: a.istartswith(b, autoescape=True)),
    "isblank": (1, lambda a: sa.or_(a.is_(None), a == "")),
}
#: functions of the current user, known when ``translate`` is given one
_USER_FUNCTIONS = frozenset({"current_user", "has_role"})
_COMPARE = {ast.Eq: "__eq__", ast.NotEq: "__ne__", ast.Lt: "__lt__", ast.LtE: "__le__",
            ast.Gt: "__gt__", ast.GtE: "__ge__"}
_ARITH = {ast.Add: "__add__", ast.Sub: "__sub__", ast.Mult: "__mul__", ast.Div: "__truediv__",
          ast.Mod: "__mod__"}


def translate(source: Any, resolver: FieldResolver, *, user: Mapping[str, Any] | None = None) -> sa.ColumnElement[bool]:
    """The SQL condition of ``source``; ``ReportError`` for anything outside the allowlist.

    With ``user`` (``Principal.as_context()``), ``current_user()`` is the user's id and
    ``has_role('key')`` whether they hold the role, both as bound values: that is how a
    role's row scope names "me" (``approver == current_user() or has_role('auditor')``).
    """
    if not isinstance(source, str) or not source.strip():
        raise ReportError("filter_expr must be a non-empty expression", code="report.bad_expr")
    if len(source) > MAX_SOURCE:
        raise ReportError(f"filter_expr is longer than {MAX_SOURCE} characters", code="report.bad_expr")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ReportError(f"filter_expr is not a valid expression: {exc.msg}", code="report.bad_expr",
                          position=exc.offset) from None
    return _Translator(resolver, user).visit(tree.body)


class _Translator:
    def __init__(self, resolver: FieldResolver, user: Mapping[str, Any] | None = None):
        self.resolver = resolver
        self.user = user

    def visit(self, node: ast.AST) -> Any:
        method = _VISITORS.get(type(node))
        if method is None:
            raise _unsupported(node, f"{type(node).__name__} is not allowed in a report filter")
        return method(self, node)

    def bool_op(self, node: ast.BoolOp):
        parts = [self.visit(v) for v in node.values]
        return sa.and_(*parts) if isinstance(node.op, ast.And) else sa.or_(*parts)

    def unary(self, node: ast.UnaryOp):
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return sa.not_(operand)
        if isinstance(node.op, ast.USub):
            return -operand if isinstance(operand, sa.ColumnElement) else sa.literal(-operand)
        if isinstance(node.op, ast.UAdd):
            return operand
        raise _unsupported(node, "only not, - and + are allowed as unary operators")

    def compare(self, node: ast.Compare):
        parts, left = [], node.left
        for op, right in zip(node.ops, node.comparators):
            parts.append(self._compare_one(left, op, right))
            left = right
        return parts[0] if len(parts) == 1 else sa.and_(*parts)

    def _compare_one(self, left: ast.AST, op: ast.cmpop, right: ast.AST):
        lhs = self._operand(left)
        field = self._field_of(left)
        if isinstance(op, (ast.In, ast.NotIn)):
            if not isinstance(right, (ast.List, ast.Tuple)):
                raise _unsupported(right, "'in' needs a literal list such as ['a', 'b']")
            values = [self._value_for(field, v) for v in right.elts]
            return lhs.in_(values) if isinstance(op, ast.In) else lhs.not_in(values)
        if isinstance(right, ast.Constant) and right.value is None and isinstance(op, (ast.Eq, ast.NotEq)):
            return lhs.is_(None) if isinstance(op, ast.Eq) else lhs.is_not(None)
        name = _COMPARE.get(type(op))
        if name is None:
            raise _unsupported(right, f"{type(op).__name__} is not an allowed comparison")
        if field is not None and _is_literal(right):
            return getattr(lhs, name)(self._value_for(field, right))
        return getattr(lhs, name)(self.visit(right))

    def _field_of(self, node: ast.AST) -> Field | None:
        """The field a bare name refers to, so literals compared with it get its type."""
        if isinstance(node, ast.Name):
            return self.resolver.resolve(node.id)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            return self.resolver.resolve(f"{node.value.id}.{node.attr}")
        return None

    def _value_for(self, field: Field | None, node: ast.AST) -> Any:
        value = self._literal(node)
        if field is None:
            return value
        try:
            return coerce(field, value)
        except JimuError as exc:
            exc.context.setdefault("position", getattr(node, "col_offset", 0) + 1)
            raise

    def arith(self, node: ast.BinOp):
        name = _ARITH.get(type(node.op))
        if name is None:
            raise _unsupported(node, f"{type(node.op).__name__} is not an allowed operator")
        return getattr(self._operand(node.left), name)(self.visit(node.right))

    def constant(self, node: ast.Constant):
        return sa.literal(self._literal(node))

    def name(self, node: ast.Name):
        return self._field(node.id, node)

    def attribute(self, node: ast.Attribute):
        if not isinstance(node.value, ast.Name) or node.attr.startswith("_"):
            raise _unsupported(node, "only join.field references are allowed")
        return self._field(f"{node.value.id}.{node.attr}", node)

    def call(self, node: ast.Call):
        if self.user is not None and isinstance(node.func, ast.Name) and node.func.id in _USER_FUNCTIONS:
            return self._user_call(node)
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
            raise _unsupported(node, f"allowed functions are {', '.join(FUNCTIONS)}")
        arity, build = FUNCTIONS[node.func.id]
        if arity is not None and len(node.args) != arity:
            raise _unsupported(node, f"{node.func.id}() takes {arity} argument(s)")
        args = [self._operand(a) for a in node.args]
        return build(*args)

    def _user_call(self, node: ast.Call):
        name = node.func.id
        if name == "current_user":
            if node.args or node.keywords:
                raise _unsupported(node, "current_user() takes no arguments")
            return sa.literal(self.user.get("id"), sa.Integer)
        if len(node.args) != 1 or node.keywords:
            raise _unsupported(node, "has_role() takes one role key")
        role = self._literal(node.args[0])
        return sa.true() if role in (self.user.get("roles") or ()) else sa.false()

    def _operand(self, node: ast.AST) -> sa.ColumnElement:
        value = self.visit(node)
        return value if isinstance(value, sa.ColumnElement) else sa.literal(value)

    def _literal(self, node: ast.AST) -> Any:
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            value = self._literal(node.operand)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return -value
        if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, (str, int, float, bool))):
            return node.value
        raise _unsupported(node, "only text, number, true/false and None literals are allowed")

    def _field(self, ref: str, node: ast.AST) -> sa.ColumnElement:
        try:
            return self.resolver.resolve(ref).column
        except JimuError as exc:
            exc.context.setdefault("position", getattr(node, "col_offset", 0) + 1)
            raise


def _is_literal(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant))


def _unsupported(node: ast.AST, message: str) -> ReportError:
    return ReportError(message, code="report.unsupported_expr", position=getattr(node, "col_offset", 0) + 1)


_VISITORS: dict[type, Callable[[_Translator, Any], Any]] = {
    ast.BoolOp: _Translator.bool_op,
    ast.UnaryOp: _Translator.unary,
    ast.Compare: _Translator.compare,
    ast.BinOp: _Translator.arith,
    ast.Constant: _Translator.constant,
    ast.Name: _Translator.name,
    ast.Attribute: _Translator.attribute,
    ast.Call: _Translator.call,
}
