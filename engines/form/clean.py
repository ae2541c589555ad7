"""``FormSpec.clean``: the one server-side authority over a submission.

Order matters and is the same on every write path (API, runtime form,
public page, intake, import, rules, flows) and in the browser
(``runtime/static/js/formstate.js``):

1. coerce every submitted field with its widget (collecting every error);
   computed fields ignore what was sent, and so do read-only fields unless
   the write is ``trusted`` (the system path: rules, flows, demo data);
2. on create, fill defaults (a value, or ``default_expr`` such as ``now()``);
   then a link the submission sets or changes fills the fields its ``fill``
   names that are still empty, from the linked record (the runtime supplies it);
3. merge with the existing record (stored values + the change) and compute
   formulas in dependency order over it, so conditions read the values that
   are about to be stored, never null or the old ones;
4. evaluate ``visible_if`` (and section conditions) on the merged record: a
   hidden field's submitted value is dropped (on update the stored value
   stays); if anything was dropped, formulas are computed again;
5. check ``required`` / ``required_if`` and the ``validation`` block on the
   merged record. A partial update checks what it sent *and* every field
   whose condition reads a value the change altered (formulas included).

All problems come back together, each with the field key and a code.

How it is fast: a spec's plan is built once (``plan_for``). Widgets coerce
through ``Widget.compile_coerce``, which *returns* a ``FieldError`` instead of
raising it, so an invalid value costs no exception; errors a widget prebuilt
(``widget.shared``) have their entry dict built once per field and copied.
A form without defaults, conditions, formulas or sub-tables gets, per key
order of the submissions it sees twice (up to ``MAX_SHAPES``), one generated
function that unpacks the submission and runs every field's steps straight,
with the widgets' ``inline_accept`` tests written in. Definition text (keys,
labels, options) never enters generated source; it is bound as constants.
Every path gives the same values and errors (tests/engines/form/test_fast_paths.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Mapping

import regex

from engines.expr import EvalContext, ExprError

from .exceptions import FieldError

if TYPE_CHECKING:
    from .spec import FieldSpec, FormSpec

#: a pattern gets this long (seconds) per value; catastrophic backtracking becomes an error
PATTERN_TIMEOUT = 0.05
IGNORED_KEYS = frozenset(("id", "created_at", "updated_at", "created_by", "updated_by", "row_version"))


@dataclass(slots=True)
class CleanResult:
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    #: field keys hidden by ``visible_if`` for this submission
    hidden: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.errors


def _field_error(f: "FieldSpec", exc: Exception, lang: str = "zh-CN", label: str | None = None,
                 **extra) -> dict[str, Any]:
    if isinstance(exc, FieldError):
        out = {"code": exc.code, "message": exc.message}
        if exc.context:
            for k, v in exc.context.items():
                if v is not None:
                    out[k] = v
    else:
        out = {"code": getattr(exc, "code", "form.invalid"), "message": str(exc)}
    out["field"] = f.key
    out["label"] = label or f.label_text(lang)
    if extra:
        out.update(extra)
    return out


class _FieldPlan:
    """What ``clean`` needs about one input field, computed once per spec."""

    __slots__ = ("key", "f", "coerce", "check", "read_only", "children", "required", "required_if", "rules",
                 "empty", "has_default", "fixed_default", "label", "error_entry", "required_entry", "inline")

    def __init__(self, f: "FieldSpec"):
        from .widget import Widget, inline_template
        self.key = f.key
        self.f = f
        self.coerce = f.widget.compile_clean()
        #: the same, returning its FieldError instead of raising it (used by the shape functions)
        self.check = f.widget.compile_coerce()
        self.read_only = f.read_only
        self.children = f.children
        self.required = f.required
        self.required_if = f.required_if
        self.rules = _compile_rules(f)
        #: None means the standard emptiness test (inlined in ``clean``)
        self.empty = None if type(f.widget).is_empty is Widget.is_empty else f.widget.is_empty
        self.has_default = f.default_expr is not None or f.definition.get("default") is not None
        self.fixed_default = _fixed_default(f)
        self.label = f.label_text()
        self.error_entry = _error_entry(f, self.label)
        self.required_entry = {"code": "form.required", "field": self.key, "label": self.label,
                               "message": f"{f.label_text('en')} is required / 请填写{self.label}"}
        #: the widget's ``inline_accept`` template, when it is fit to be written in (``widget.inline_template``)
        self.inline = inline_template(f.widget)


def _error_entry(f: "FieldSpec", label: str):
    """``_field_error`` for one field; the entry of a shared error (``widget.shared``) is built once."""
    built: dict[FieldError, dict] = {}

    def entry(exc: FieldError) -> dict[str, Any]:
        out = built.get(exc)
        if out is None:
            out = _field_error(f, exc, label=label)
            if not exc.__dict__.get("shared"):
                return out
            built[exc] = out
        return out.copy()
    return entry


class _Plan:
    """A spec's fields arranged for ``clean``: lookups and per-field closures built once."""

    def __init__(self, spec: "FormSpec"):
        self.known = frozenset(spec.field_keys) | IGNORED_KEYS
        self.inputs = tuple(_FieldPlan(f) for f in spec.input_fields)
        self.defaults = tuple(p for p in self.inputs if p.has_default)
        #: link key → the (field, linked field) pairs a newly chosen record fills (``LinkWidget.fill``)
        self.fills = tuple((p.key, pairs) for p in self.inputs
                           if (pairs := getattr(p.f.widget, "fill", ())) and p.children is None)
        self.by_key = {p.key: p for p in self.inputs}
        self.conditional = tuple(f for f in spec.fields if f.visible_if is not None or f.sections)
        self.formulas = spec.formula_order
        self.formula_keys = frozenset(f.key for f in self.formulas)
        #: input field → the names its conditions (required_if, visible_if, sections) read
        self.condition_names = {p.key: frozenset().union(*(e.names for e in (p.f.required_if, p.f.visible_if,
                                                                               *p.f.sections) if e is not None))
                                for p in self.inputs
                                if p.f.required_if is not None or p.f.visible_if is not None or p.f.sections}
        #: every name some condition reads: the only values ``_affected`` compares
        self.condition_watch = tuple(frozenset().union(*self.condition_names.values()) - IGNORED_KEYS)
        #: the inputs step 5 can find something wrong with (required, required_if, a ``validation`` block);
        #: it has nothing to say about the others, empty or not
        self.checked = tuple(p for p in self.inputs if p.required or p.required_if is not None or p.rules is not None)
        #: expressions see the merged record only when some field has one
        self.needs_merge = bool(self.conditional or self.formulas
                                or any(p.required_if is not None for p in self.inputs))
        #: no defaults, conditions, formulas or sub-tables: a new record is cleaned in one pass
        self.one_pass = not (self.needs_merge or self.defaults or self.fills
                             or any(p.children is not None for p in self.inputs))
        #: a person's submission never sets a read-only field: the one-pass paths drop them
        self.one_pass_table = {p.key: (p.coerce, p.required, p.rules, p.empty, p) for p in self.inputs
                               if not p.read_only}
        self.required_keys = frozenset(p.key for p in self.inputs if p.required and not p.read_only)
        #: required read-only fields: a submission cannot fill them, so they are always missing from it
        self.required_read_only = frozenset(p.key for p in self.inputs if p.required and p.read_only)
        #: one-pass forms: a generated function per submitted key order (see ``_compile_shape``)
        self.shapes: dict[tuple, Any] = {}
        #: key orders met once (a shape gets its function the second time)
        self.seen: set[tuple] = set()


def plan_for(spec: "FormSpec") -> _Plan:
    plan = spec.__dict__.get("_clean_plan")
    if plan is None:
        plan = _Plan(spec)
        object.__setattr__(spec, "_clean_plan", plan)
        if plan.one_pass:
            # ``FormSpec.clean`` calls a known shape's function directly
            object.__setattr__(spec, "_clean_shapes", plan.shapes)
    return plan


_DEFAULT_CONTEXT = EvalContext()


def clean(spec: "FormSpec", data: Mapping[str, Any], *, context: EvalContext | None = None,
          existing: Mapping[str, Any] | None = None, partial: bool = False, trusted: bool = False) -> CleanResult:
    """Clean one submission; ``trusted`` is the system path (rules, flows, demo data) that may set
    read-only fields — a person's submission never does, on create or update."""
    plan = plan_for(spec)
    context = context or _DEFAULT_CONTEXT
    result = CleanResult()
    errors = result.errors
    values = result.values
    creating = existing is None
    known = plan.known
    if not known.issuperset(data):
        for key in data:
            if key not in known:
                errors.append({"code": "form.unknown_field", "field": key,
                               "message": f"form {spec.key!r} has no field {key!r}; "
                                          f"its fields are {', '.join(spec.field_keys)}"})
    if creating and plan.one_pass and not trusted:
        if not errors and type(data) is dict:
            shape = tuple(data)
            fn = plan.shapes.get(shape)
            if fn is None and len(plan.shapes) < MAX_SHAPES and shape in plan.seen:
                # a key order seen before gets its function; a one-off (a preview) is not worth compiling
                fn = plan.shapes[shape] = _compile_shape(plan, shape)
            elif fn is None and len(plan.seen) < 4 * MAX_SHAPES:
                plan.seen.add(shape)
            if fn is not None:
                return fn(data, partial)
        _one_pass(plan, data, values, errors, partial)
        return result
    failed: set[str] = set()
    # 1. coerce what was sent
    for p in plan.inputs:
        key = p.key
        if key not in data or (p.read_only and not trusted):
            continue
        if p.children is not None:
            try:
                values[key] = _clean_rows(p.f, data[key], context, result, trusted)
            except FieldError as exc:
                errors.append(_field_error(p.f, exc))
                failed.add(key)
            continue
        value = p.check(data[key])
        if value.__class__ is FieldError:
            errors.append(p.error_entry(value))
            failed.add(key)
        else:
            values[key] = value
    # 2. defaults on create
    if creating:
        for p in plan.defaults:
            key = p.key
            if key in values:
                v = values[key]
                if not (p.empty(v) if p.empty is not None else (v is None or v == "" or v == [] or v == {})):
                    continue
            default = p.fixed_default if p.fixed_default is not _UNSET else _default(p.f, values, context, result)
            if default is not None:
                values[key] = default
    # 2b. a link set or changed fills the fields its ``fill`` names from the record it now points at
    if plan.fills:
        _fill_from_links(plan, data, values, existing, context, result)
    # 3. formulas over the merged record (stored values + the change)
    merged = {**existing, **values} if existing else (dict(values) if plan.needs_merge else values)
    formula_errors = _formulas(plan, merged, values, context) if plan.formulas else []
    # 4. visibility over the merged record, formulas included: a hidden field's submitted value is dropped
    hidden = result.hidden
    dropped = False
    for f in plan.conditional:
        if (f.visible_if is not None and not _truthy_expr(f, f.visible_if, merged, context, result, "visible_if")) \
                or any(not _truthy_expr(f, c, merged, context, result, "section.visible_if") for c in f.sections):
            hidden.add(f.key)
            if f.key in values and not (plan.formula_keys and f.key in plan.formula_keys):
                del values[f.key]
                dropped = True
                if creating:
                    merged.pop(f.key, None)
                else:
                    merged[f.key] = existing.get(f.key)
    if dropped and plan.formulas:
        # formulas are stored over what is kept, never over a dropped value
        formula_errors = _formulas(plan, merged, values, context)
    # 5. required, required_if and validation over the merged record
    if errors:
        failed.update(e.get("field") for e in errors)
    affected = _affected(plan, existing, merged) if partial and not creating else None
    for p in plan.checked:
        key = p.key
        if key in failed or key in hidden:
            continue
        if partial and key not in values and (affected is None or key not in affected):
            continue
        value = merged.get(key)
        if p.empty(value) if p.empty is not None else (value is None or value == "" or value == [] or value == {}):
            if p.required or (p.required_if is not None
                              and _truthy_expr(p.f, p.required_if, merged, context, result, "required_if")):
                errors.append(_required(p))
            continue
        if p.rules is not None and key in values:
            errors.extend(p.rules(value))
    errors.extend(formula_errors)
    if creating and hidden:
        for key in hidden:
            values.pop(key, None)
    return result


def _formulas(plan: "_Plan", merged: dict, values: dict, context: EvalContext) -> list[dict]:
    """Compute every formula in dependency order into ``merged`` and ``values``; their errors."""
    errors = []
    scope = _scope(merged, context)  # built once; each formula's value goes in for the ones after it
    for f in plan.formulas:
        try:
            value = f.formula.evaluate(scope, context)
            value = f.widget.clean(value) if value is not None else None
        except (ExprError, FieldError) as exc:
            errors.append(_field_error(f, exc, expression=f.formula.source))
            continue
        values[f.key] = merged[f.key] = value
        scope[f.key] = float(value) if type(value) is Decimal else value
    return errors


def _affected(plan: "_Plan", existing: Mapping[str, Any], merged: Mapping[str, Any]) -> frozenset[str]:
    """Input fields a partial update must re-check though it did not send them: those whose
    ``required_if`` or visibility reads a value the change altered (formulas included)."""
    changed = {k for k in plan.condition_watch if k in merged and existing.get(k) != merged[k]}
    if not changed:
        return frozenset()
    return frozenset(key for key, names in plan.condition_names.items() if names & changed)


def _one_pass(plan: _Plan, data: Mapping[str, Any], values: dict, errors: list, partial: bool) -> None:
    """``clean`` of a new record on a form without defaults, conditions or formulas: steps 1 and 4 fused.

    Gives the same values and errors as the general path (errors in field order of the submission,
    then the missing required fields).
    """
    table = plan.one_pass_table
    for key, raw in data.items():
        entry = table.get(key)
        if entry is None:
            continue
        coerce, required, rules, empty, p = entry
        try:
            value = coerce(raw)
        except FieldError as exc:
            errors.append(_field_error(p.f, exc, label=p.label))
            continue
        values[key] = value
        if not value and (empty(value) if empty is not None
                          else (value is None or value == "" or value == [] or value == {})):
            if required:
                errors.append(_required(p))
        elif rules is not None:
            errors.extend(rules(value))
    if not partial and (plan.required_keys or plan.required_read_only):
        missing = plan.required_keys.difference(data) | plan.required_read_only
        if missing:
            for p in plan.inputs:
                if p.key in missing:
                    errors.append(_required(p))


#: distinct key orders per form that get a generated function; others take ``_one_pass``
MAX_SHAPES = 32


def _compile_shape(plan: _Plan, shape: tuple):
    """``_one_pass`` specialised to one key order of the submission, as one generated function.

    The submission's values are unpacked in order and each field's steps are
    written out straight, calling the widget's ``compile_coerce`` (which returns
    errors rather than raising them). Same values, same errors in the same order
    as ``_one_pass``. No key, label or other definition text enters the source:
    every such object is bound as a parameter of the factory (``K3``, ``P3`` ...).
    """
    source, consts = _shape_source(plan, shape)
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<form {len(shape)}-key shape>", "exec"), namespace)
    return namespace["make"](**consts)


def _shape_source(plan: _Plan, shape: tuple) -> tuple[str, dict[str, Any]]:
    """The source of ``_compile_shape``'s factory and the constants it is called with.

    ``values`` starts as a copy of the submission (so it keeps the submission's
    order, as ``_one_pass`` does); a field whose coerced value is the submitted
    object itself is left in place, others are replaced, and a field that fails
    or is no input is deleted.
    """
    from .exceptions import FieldError
    table = {p.key: p for p in plan.inputs if not p.read_only}
    consts: dict[str, Any] = {"FE": FieldError, "REQ": _required, "RESULT": CleanResult}
    body = []
    names = []
    for j, key in enumerate(shape):
        p = table.get(key)
        consts[f"K{j}"] = key
        if p is None:
            names.append("_")
            body.append(f"del values[K{j}]")
            continue
        names.append(f"r{j}")
        consts.update({f"C{j}": p.check, f"P{j}": p, f"X{j}": p.error_entry})
        checks = []
        if p.required or p.rules is not None:
            if p.empty is not None:
                consts[f"E{j}"] = p.empty
                empty = f"E{j}(v)"
            else:
                empty = "(v is None or v == '' or v == [] or v == {})"
            checks += [f"if not v and {empty}:", f"    errors.append(REQ(P{j}))" if p.required else "    pass"]
            if p.rules is not None:
                consts[f"R{j}"] = p.rules
                checks += ["else:", f"    errors.extend(R{j}(v))"]
        checked = [f"v = C{j}(r{j})", "if v.__class__ is FE:", f"    errors.append(X{j}(v))",
                   f"    del values[K{j}]", "else:", f"    values[K{j}] = v", *(f"    {line}" for line in checks)]
        if p.inline is None:
            body += checked
            continue
        # the widget's own fast path, written in; its constants renamed per field
        test, value, inline_consts = p.inline
        consts.update({f"{name}_{j}": obj for name, obj in inline_consts.items()})
        slots = {"raw": f"r{j}", "tmp": f"t{j}", **{name: f"{name}_{j}" for name in inline_consts}}
        value = value.format(**slots)
        accepted = [] if value == f"r{j}" else [f"values[K{j}] = {value}"]
        if checks:
            accepted = [f"v = {value}", *accepted, *checks]
        body += [f"if {test.format(**slots)}:", *(f"    {line}" for line in accepted or ["pass"]),
                 "else:", *(f"    {line}" for line in checked)]
    missing = [p for p in plan.inputs if p.required and (p.key not in shape or p.read_only)]
    if missing:
        body.append("if not partial:")
        for i, p in enumerate(missing):
            consts[f"M{i}"] = p
            body.append(f"    errors.append(REQ(M{i}))")
    if names:
        body.insert(0, f"{', '.join(names)}, = data.values()")
    params = ", ".join(consts)
    source = "\n".join([f"def make({params}):",
                         "    def shape_clean(data, partial):",
                         "        values = data.copy()",
                         "        errors = []",
                         *(f"        {line}" for line in body),
                         "        return RESULT(values, errors, set())",
                         "    return shape_clean"])
    return source, consts


def _required(p: _FieldPlan) -> dict[str, Any]:
    return p.required_entry.copy()


def _clean_rows(f: "FieldSpec", raw: Any, context: EvalContext, result: CleanResult,
                trusted: bool) -> list[dict]:
    rows = f.widget.clean(raw)
    cleaned = []
    for i, row in enumerate(rows):
        sub = clean(f.children, {k: v for k, v in row.items() if k != "id"}, context=context, trusted=trusted)
        for err in sub.errors:
            result.errors.append({**err, "field": f.key, "row": i, "sub_field": err.get("field")})
        kept = dict(sub.values)
        if "id" in row:
            kept["id"] = row["id"]
        cleaned.append(kept)
    return cleaned


def _fill_from_links(plan: "_Plan", data: Mapping[str, Any], values: dict, existing: Mapping[str, Any] | None,
                     context: EvalContext, result: CleanResult) -> None:
    """Choosing a client on a project fills its name and contact: for each link whose value
    this submission sets or changes, copy the linked record's fields into the fields of this record
    that are empty (neither sent alongside nor stored): a fill never overwrites what someone typed.
    The runtime supplies the linked records in ``context.links``."""
    links = context.links or {}
    for link, pairs in plan.fills:
        if link not in values or values[link] is None or (existing is not None and existing.get(link) == values[link]):
            continue
        linked = links.get(link)
        if not isinstance(linked, Mapping):
            continue  # gone, or not supplied: the link's own check reports a bad id
        for dst, src in pairs:
            p = plan.by_key.get(dst)
            if p is None or _has_value(data.get(dst) if dst in data else (existing or {}).get(dst)):
                continue
            try:
                values[dst] = p.f.widget.clean(_jsonable(linked.get(src)))
            except FieldError as exc:
                result.errors.append(_field_error(p.f, exc))


def _has_value(value: Any) -> bool:
    return value not in (None, "", [], {})


#: ``_FieldPlan.fixed_default`` of a field whose default is cleaned at each create
_UNSET = object()
#: cleaned values that cannot change after the plan hands one out (one object serves every record)
_IMMUTABLE = frozenset({str, int, float, bool, Decimal, date, datetime, time})


def _fixed_default(f: "FieldSpec") -> Any:
    """A fixed default (a value, no ``default_expr``) as the widget cleans it, worked out once per
    plan instead of at every create: a widget cleans a value from its own configuration alone. A
    default that is mutable (a list) or does not clean (``_default`` reports it at each create) is
    left to ``_default`` (``_UNSET``)."""
    raw = f.definition.get("default")
    if f.default_expr is not None or raw is None:
        return _UNSET
    try:
        value = f.widget.clean(_jsonable(raw))
    except FieldError:
        return _UNSET
    return value if type(value) in _IMMUTABLE else _UNSET


def _default(f: "FieldSpec", values: dict, context: EvalContext, result: CleanResult) -> Any:
    try:
        if f.default_expr is not None:
            raw = f.default_expr.evaluate(_scope(values, context), context)
        elif "default" in f.definition and f.definition["default"] is not None:
            raw = f.definition["default"]
        else:
            return None
        return f.widget.clean(_jsonable(raw))
    except (ExprError, FieldError) as exc:
        result.errors.append(_field_error(f, exc))
        return None


def _scope(values: Mapping[str, Any], context: EvalContext) -> dict[str, Any]:
    """The names an expression sees: field values (money as numbers) and ``current_user_id``. The values
    are copied whole and only a record holding money is copied value by value (most hold none: a
    per-value copy of an update's merged record was most of a partial clean)."""
    if Decimal in set(map(type, values.values())):
        out = {k: float(v) if type(v) is Decimal else v for k, v in values.items()}
    else:
        out = dict(values)
    if "current_user_id" not in out:
        user = context.user
        out["current_user_id"] = user.get("id") if user else None
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return value


def _truthy_expr(f: "FieldSpec", expr, merged, context, result: CleanResult, prop: str) -> bool:
    from engines.expr.values import truthy
    try:
        return truthy(expr.evaluate(_scope(merged, context), context))
    except ExprError as exc:
        result.errors.append({**exc.to_dict(), "field": f.key, "property": prop})
        return False


def _compile_rules(f: "FieldSpec"):
    """The ``validation`` block as one closure ``value -> [errors]`` (None when there is none).

    Bounds are coerced by the widget and the pattern compiled once, here;
    a bound the widget cannot read is ignored as before.
    """
    rules = f.definition.get("validation") or {}
    checks = {k: v for k, v in rules.items() if k in ("min_length", "max_length", "min", "max", "pattern")
              and v is not None and v != ""}
    if not checks:
        return None
    bounds = {}
    for bound in ("min", "max"):
        if bound in checks:
            try:
                bounds[bound] = f.widget.to_python(checks[bound])
            except (FieldError, TypeError, ValueError):
                pass
    pattern = checks.get("pattern")
    compiled = None
    if pattern:
        try:
            compiled = regex.compile(pattern)
        except regex.error as exc:
            compiled = exc

    def check(value: Any) -> list[dict]:
        return _check_rules(f, value, rules, bounds, compiled)
    return check


def _check_rules(f: "FieldSpec", value: Any, rules: Mapping[str, Any], bounds: Mapping[str, Any],
                 compiled: Any) -> list[dict]:
    errors = []
    message = rules.get("message")

    def fail(code: str, text: str, **ctx) -> None:
        from .spec import label_text
        errors.append({"code": code, "field": f.key, "label": f.label_text(),
                       "message": label_text(message, "zh-CN", text) if message else text, **ctx})

    measured = len(value) if isinstance(value, (str, list, tuple)) else None
    if measured is not None:
        if rules.get("min_length") is not None and measured < rules["min_length"]:
            fail("form.too_short", f"{f.label_text()}: at least {rules['min_length']} / 至少 {rules['min_length']}",
                 min_length=rules["min_length"])
        if rules.get("max_length") is not None and measured > rules["max_length"]:
            fail("form.too_long", f"{f.label_text()}: at most {rules['max_length']} / 最多 {rules['max_length']}",
                 max_length=rules["max_length"])
    if not (isinstance(value, (list, dict, bool)) or isinstance(value, str) and not f.widget.orderable_text):
        for bound, code in (("min", "form.too_small"), ("max", "form.too_large")):
            if bound not in bounds:
                continue
            b = bounds[bound]
            try:
                passed = value >= b if bound == "min" else value <= b
            except TypeError:
                continue
            if not passed:
                fail(code, f"{f.label_text()}: must be {'at least' if bound == 'min' else 'at most'} {_jsonable(b)}"
                           f" / {'不能小于' if bound == 'min' else '不能大于'} {_jsonable(b)}",
                     **{bound: _jsonable(b)})
    if compiled is not None and isinstance(value, str):
        if isinstance(compiled, regex.error):
            fail("form.bad_pattern", f"{f.label_text()}: the pattern is invalid ({compiled})")
            return errors
        try:
            matched = compiled.fullmatch(value, timeout=PATTERN_TIMEOUT)
        except TimeoutError:
            fail("form.pattern_timeout", f"{f.label_text()}: the pattern took too long on this value / 校验超时")
        else:
            if matched is None:
                fail("form.pattern", f"{f.label_text()}: does not match the required format / 格式不正确",
                     pattern=rules["pattern"])
    return errors
