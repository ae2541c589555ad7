"""Condition operators: field–operator–value tests the builder lists (business-rules habit).

Each operator is a class with a unique ``type``, a bilingual ``label``, the
``input`` it needs (``none``, ``scalar``, ``list``, ``pair``) and which value
kinds it applies to, and a pure ``test(actual, expected)``. They live in one
``Registry`` filled explicitly below; a plugin may register more.
The same operator names are used by the SQL filters of ``runtime.store.query``
(``eq``, ``in``, ``contains`` ...), so a rule's condition and an aggregate's
filter read alike.
"""
from __future__ import annotations

from typing import Any

from engines.expr.values import equal, is_empty, order
from engines.registry import Registry

ALL_KINDS = ("text", "number", "choice", "date", "bool", "link", "any")


class Operator:
    type: str = ""
    label: dict[str, str] = {}
    input: str = "scalar"
    kinds: tuple[str, ...] = ALL_KINDS

    @staticmethod
    def test(actual: Any, expected: Any) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    @classmethod
    def to_json(cls) -> dict[str, Any]:
        return {"type": cls.type, "label": cls.label, "input": cls.input, "kinds": list(cls.kinds)}


def _ordered(op: str, a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    try:
        return order(op, a, b)
    except Exception:
        return False


def _text(v: Any) -> str:
    return "" if v is None else str(v)


def _op(type_: str, zh: str, en: str, fn, input_: str = "scalar", kinds=ALL_KINDS) -> type[Operator]:
    return type(f"Op_{type_}", (Operator,), {"type": type_, "label": {"zh-CN": zh, "en": en}, "input": input_,
                                             "kinds": tuple(kinds), "test": staticmethod(fn)})


BUILTIN = (
    _op("eq", "等于", "equals", lambda a, b: equal(a, b)),
    _op("ne", "不等于", "does not equal", lambda a, b: not equal(a, b)),
    _op("gt", "大于", "greater than", lambda a, b: _ordered(">", a, b), kinds=("number", "date")),
    _op("gte", "大于等于", "at least", lambda a, b: _ordered(">=", a, b), kinds=("number", "date")),
    _op("lt", "小于", "less than", lambda a, b: _ordered("<", a, b), kinds=("number", "date")),
    _op("lte", "小于等于", "at most", lambda a, b: _ordered("<=", a, b), kinds=("number", "date")),
    _op("in", "属于", "is one of", lambda a, b: any(equal(a, x) for x in (b or ())), "list"),
    _op("not_in", "不属于", "is none of", lambda a, b: not any(equal(a, x) for x in (b or ())), "list"),
    _op("contains", "包含", "contains", lambda a, b: _text(b).lower() in _text(a).lower()
        if not isinstance(a, list) else any(equal(x, b) for x in a), kinds=("text", "choice", "any")),
    _op("not_contains", "不包含", "does not contain", lambda a, b: _text(b).lower() not in _text(a).lower()
        if not isinstance(a, list) else not any(equal(x, b) for x in a), kinds=("text", "choice", "any")),
    _op("contains_any", "包含任一关键词", "contains any of", lambda a, b: any(
        _text(k).lower() in _text(a).lower() for k in (b or ()) if _text(k)), "list", kinds=("text",)),
    _op("startswith", "开头是", "starts with", lambda a, b: _text(a).startswith(_text(b)), kinds=("text",)),
    _op("is_empty", "为空", "is empty", lambda a, b: is_empty(a), "none"),
    _op("is_not_empty", "不为空", "is not empty", lambda a, b: not is_empty(a), "none"),
    _op("between", "介于", "is between", lambda a, b: isinstance(b, (list, tuple)) and len(b) == 2
        and _ordered(">=", a, b[0]) and _ordered("<=", a, b[1]), "pair", kinds=("number", "date")),
)


def _check(item: type) -> None:
    if not callable(getattr(item, "test", None)):
        raise TypeError(f"operator {item!r} has no test(actual, expected)")


OPERATORS: Registry[Operator] = Registry("rule_operator", check=_check)
for _item in BUILTIN:
    OPERATORS.register(_item)


def catalogue() -> list[dict[str, Any]]:
    """What the builder lists: every operator with its label and input kind."""
    return [OPERATORS.get(t).to_json() for t in OPERATORS.types()]
