"""``FormSpec.clean``: the one server-side authority over a submission.

Order matters and is the same on every write path (API, runtime form,
import, rules):

1. coerce every submitted field with its widget (collecting every error);
   computed and read-only fields ignore what was sent;
2. on create, fill defaults (a value, or ``default_expr`` such as ``now()``);
3. merge with the existing record (updates) and evaluate ``visible_if``: a
   hidden field's submitted value is dropped;
4. check ``required`` / ``required_if`` and the ``validation`` block;
5. compute formulas in dependency order over the merged values.

All problems come back together, each with the field key and a code.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any, Mapping

import regex

from engines.expr import EvalContext, ExprError

from .exceptions import FieldError

if TYPE_CHECKING:
    from .spec import FieldSpec, FormSpec

#: a pattern gets this long (seconds) per value; catastrophic backtracking becomes an error
PATTERN_TIMEOUT = 0.05
IGNORED_KEYS = frozenset(("id", "created_at", "updated_at", "created_by", "updated_by", "row_version"))


@dataclass
class CleanResult:
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    #: field keys hidden by ``visible_if`` for this submission
    hidden: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.errors


def _field_error(f: "FieldSpec", exc: Exception, lang: str = "zh-CN", **extra) -> dict[str, Any]:
    if isinstance(exc, FieldError):
        out = exc.to_dict()
    else:
        out = {"code": getattr(exc, "code", "form.invalid"), "message": str(exc)}
    out.update(field=f.key, label=f.label_text(lang), **extra)
    return out


def clean(spec: "FormSpec", data: Mapping[str, Any], *, context: EvalContext | None = None,
          existing: Mapping[str, Any] | None = None, partial: bool = False) -> CleanResult:
    context = context or EvalContext()
    result = CleanResult()
    creating = existing is None
    for key in data:
        if key not in IGNORED_KEYS and not spec.has_field(key):
            result.errors.append({"code": "form.unknown_field", "field": key,
                                  "message": f"form {spec.key!r} has no field {key!r}; "
                                             f"its fields are {', '.join(spec.field_keys)}"})
    values = result.values
    # 1. coerce what was sent
    for f in spec.input_fields:
        if f.key not in data:
            continue
        if f.read_only and not creating:
            continue
        raw = data[f.key]
        try:
            if f.children is not None:
                values[f.key] = _clean_rows(f, raw, context, result)
            else:
                values[f.key] = f.widget.clean(raw)
        except FieldError as exc:
            result.errors.append(_field_error(f, exc))
    # 2. defaults on create
    if creating:
        for f in spec.input_fields:
            if f.key in values and not f.widget.is_empty(values[f.key]):
                continue
            default = _default(f, values, context, result)
            if default is not None:
                values[f.key] = default
    # 3. visibility over the merged record
    merged = {**(existing or {}), **values}
    for f in spec.fields:
        if (f.visible_if is not None and not _truthy_expr(f, f.visible_if, merged, context, result, "visible_if")) \
                or any(not _truthy_expr(f, c, merged, context, result, "section.visible_if") for c in f.sections):
            result.hidden.add(f.key)
            if f.key in values:
                del values[f.key]
                if creating:
                    merged.pop(f.key, None)
                else:
                    merged[f.key] = existing.get(f.key)
    # 4. required and validation
    for f in spec.input_fields:
        if f.key in result.hidden or any(e.get("field") == f.key for e in result.errors):
            continue
        if partial and f.key not in values:
            continue
        value = merged.get(f.key)
        required = f.required or (f.required_if is not None
                                  and _truthy_expr(f, f.required_if, merged, context, result, "required_if"))
        if f.widget.is_empty(value):
            if required:
                result.errors.append({"code": "form.required", "field": f.key, "label": f.label_text(),
                                      "message": f"{f.label_text()} is required / 请填写{f.label_text('zh-CN')}"})
            continue
        for err in _check_rules(f, value):
            result.errors.append(err)
    # 5. formulas, in dependency order
    for f in spec.formula_order:
        try:
            value = f.formula.evaluate(merged, context)
            value = f.widget.clean(value) if value is not None else None
        except (ExprError, FieldError) as exc:
            result.errors.append(_field_error(f, exc, expression=f.formula.source))
            continue
        values[f.key] = merged[f.key] = value
    if creating:
        for f in spec.fields:
            if f.key in result.hidden:
                values.pop(f.key, None)
    return result


def _clean_rows(f: "FieldSpec", raw: Any, context: EvalContext, result: CleanResult) -> list[dict]:
    rows = f.widget.clean(raw)
    cleaned = []
    for i, row in enumerate(rows):
        sub = clean(f.children, {k: v for k, v in row.items() if k != "id"}, context=context)
        for err in sub.errors:
            result.errors.append({**err, "field": f.key, "row": i, "sub_field": err.get("field")})
        kept = dict(sub.values)
        if "id" in row:
            kept["id"] = row["id"]
        cleaned.append(kept)
    return cleaned


def _default(f: "FieldSpec", values: dict, context: EvalContext, result: CleanResult) -> Any:
    try:
        if f.default_expr is not None:
            raw = f.default_expr.evaluate(values, context)
        elif "default" in f.definition and f.definition["default"] is not None:
            raw = f.definition["default"]
        else:
            return None
        return f.widget.clean(_jsonable(raw))
    except (ExprError, FieldError) as exc:
        result.errors.append(_field_error(f, exc))
        return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return value


def _truthy_expr(f: "FieldSpec", expr, merged, context, result: CleanResult, prop: str) -> bool:
    from engines.expr.values import truthy
    try:
        return truthy(expr.evaluate(merged, context))
    except ExprError as exc:
        result.errors.append({**exc.to_dict(), "field": f.key, "property": prop})
        return False


def _check_rules(f: "FieldSpec", value: Any) -> list[dict]:
    rules = f.definition.get("validation") or {}
    if not rules:
        return []
    errors = []
    message = rules.get("message")

    def fail(code: str, text: str, **ctx) -> None:
        from .spec import label_text
        errors.append({"code": code, "field": f.key, "label": f.label_text(),
                       "message": label_text(message, "zh-CN", text) if message else text, **ctx})

    measured = len(value) if isinstance(value, (str, list, tuple)) else None
    if measured is not None:
        if rules.get("min_length") is not None and measured < rules["min_length"]:
            fail("form.too_short", f"{f.label_text()}: at least {rules['min_length']}", min_length=rules["min_length"])
        if rules.get("max_length") is not None and measured > rules["max_length"]:
            fail("form.too_long", f"{f.label_text()}: at most {rules['max_length']}", max_length=rules["max_length"])
    for bound, code, ok in (("min", "form.too_small", lambda v, b: v >= b), ("max", "form.too_large", lambda v, b: v <= b)):
        b = rules.get(bound)
        if b is None or isinstance(value, (list, dict, bool)) or isinstance(value, str) and not f.widget.orderable_text:
            continue
        try:
            b = f.widget.to_python(b)
            passed = ok(value, b)
        except (TypeError, FieldError):
            continue
        if not passed:
            fail(code, f"{f.label_text()}: must be {'at least' if bound == 'min' else 'at most'} {_jsonable(b)}",
                 **{bound: _jsonable(b)})
    pattern = rules.get("pattern")
    if pattern and isinstance(value, str):
        try:
            matched = regex.fullmatch(pattern, value, timeout=PATTERN_TIMEOUT)
        except TimeoutError:
            fail("form.pattern_timeout", f"{f.label_text()}: the pattern took too long on this value")
        except regex.error as exc:
            fail("form.bad_pattern", f"{f.label_text()}: the pattern is invalid ({exc})")
        else:
            if matched is None:
                fail("form.pattern", f"{f.label_text()}: does not match the required format", pattern=pattern)
    return errors
