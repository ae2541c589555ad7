"""The shared corpus (``corpus.json``): load it, run a case in Python, compare results.

Values in the file are JSON with tagged dates, ``{"$date": "2026-11-23"}`` and
``{"$datetime": "2026-11-23T08:00:00Z"}``; both evaluators read and write that form.
"""
from __future__ import annotations

import json
import math
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from engines.expr import EvalContext, ExprError, compile_expr
from engines.expr.values import as_utc, parse_temporal

CORPUS = Path(__file__).with_name("corpus.json")
TOLERANCE = 1e-9


def load() -> dict:
    return json.loads(CORPUS.read_text("utf-8"))


def case_id(case: dict) -> str:
    return case["source"][:60] or "<empty>"


def from_tagged(value: Any) -> Any:
    if isinstance(value, list):
        return [from_tagged(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1 and ("$date" in value or "$datetime" in value):
            parsed = parse_temporal(value.get("$date") or value.get("$datetime"))
            assert parsed is not None, value
            if "$datetime" in value and not isinstance(parsed, datetime):
                parsed = datetime(parsed.year, parsed.month, parsed.day, tzinfo=timezone.utc)
            return parsed
        return {k: from_tagged(v) for k, v in value.items()}
    return value


def to_tagged(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$datetime": as_utc(value).isoformat().replace("+00:00", "Z")}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, (list, tuple)):
        return [to_tagged(v) for v in value]
    if isinstance(value, dict):
        return {k: to_tagged(v) for k, v in value.items()}
    return value


def context_of(default: dict, case: dict) -> dict:
    return {**default, **case.get("context", {})}


def eval_context(ctx: dict) -> EvalContext:
    now = parse_temporal(ctx["now"]) if ctx.get("now") else None
    return EvalContext(now=now, tz=ctx.get("tz") or "UTC", user=ctx.get("user"))


def run_python(case: dict, default: dict) -> dict:
    """``{"result": tagged}`` or ``{"error": code, "stage": "compile" | "evaluate"}``."""
    try:
        expr = compile_expr(case["source"])
    except ExprError as exc:
        return {"error": exc.code, "stage": "compile"}
    try:
        value = expr.evaluate(from_tagged(case.get("vars", {})), eval_context(context_of(default, case)))
    except ExprError as exc:
        return {"error": exc.code, "stage": "evaluate", "position": exc.position}
    return {"result": to_tagged(value)}


def same(a: Any, b: Any) -> bool:
    """Equal JSON values, numbers within ``TOLERANCE`` (ints and floats alike), booleans strictly."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def expected(case: dict) -> dict:
    return {"error": case["error"]} if "error" in case else {"result": case["result"]}


def matches(case: dict, outcome: dict) -> bool:
    if "error" in case:
        return outcome.get("error") == case["error"]
    return "result" in outcome and same(outcome["result"], case["result"])
