"""The expression language shared by the four engines (``紧急程度 == "高" and len(描述) > 10``).

``compile_expr`` parses once; ``Expression.evaluate(variables, EvalContext)``
runs many times; ``Expression.tree`` is what the browser evaluator runs.
The rules for values are in ``values``, the function library in ``functions``.
"""
from .compiler import CONSTANTS, MAX_DEPTH, MAX_SOURCE, EvalContext, Expression, compile_expr
from .errors import (ExprError, ExprEvalError, ExprFunctionError, ExprLimitError, ExprNameError,
                     ExprNotAllowed, ExprSyntaxError, ExprTypeError)
from .functions import FUNCTIONS, IF_DOC
from .labels import ExprAmbiguousName, to_keys, to_labels

__all__ = ["compile_expr", "Expression", "EvalContext", "ExprError", "ExprSyntaxError", "ExprNotAllowed",
           "ExprNameError", "ExprFunctionError", "ExprLimitError", "ExprTypeError", "ExprEvalError",
           "FUNCTIONS", "IF_DOC", "CONSTANTS", "MAX_SOURCE", "MAX_DEPTH", "ExprAmbiguousName", "to_keys",
           "to_labels"]


def library() -> list[dict]:
    """The function library as the builder lists it."""
    return [IF_DOC.to_json(), *(f.to_json() for f in sorted(FUNCTIONS, key=lambda f: f.name))]
