"""Errors of the expression language: one base, a code each, the source and a position.

The builder shows ``message`` next to the expression with a caret at
``position`` (1-based column in the source), so every error keeps both.
"""
from __future__ import annotations

from ..errors import JimuError


class ExprError(JimuError):
    """Base of every expression error; ``expression`` and ``position`` are in the context."""

    code = "expr.error"

    def __init__(self, message: str, *, expression: str | None = None, position: int | None = None,
                 code: str | None = None, **context):
        super().__init__(message, code=code, expression=expression, position=position, **context)

    @property
    def expression(self) -> str | None:
        return self.context.get("expression")

    @property
    def position(self) -> int | None:
        return self.context.get("position")


class ExprSyntaxError(ExprError):
    """The text is not an expression (unbalanced brackets, a statement, ...)."""
    code = "expr.syntax"


class ExprNotAllowed(ExprError):
    """Valid Python, but outside the language: attributes with ``_``, lambdas, method calls, ..."""
    code = "expr.not_allowed"


class ExprNameError(ExprError):
    """A name that is neither a field of the form nor a constant."""
    code = "expr.unknown_name"


class ExprFunctionError(ExprError):
    """A call to a function that is not in the library, or with the wrong number of arguments."""
    code = "expr.unknown_function"


class ExprLimitError(ExprError):
    """A bound was hit: source length, nesting, string length, number size, collection size."""
    code = "expr.limit"


class ExprTypeError(ExprError):
    """An operation on values of the wrong type, e.g. ``"a" - 1``."""
    code = "expr.type"


class ExprEvalError(ExprError):
    """Any other failure while evaluating (division by zero, a bad date)."""
    code = "expr.eval"
