"""Compiled form definitions.

``compile_form(definition)`` turns a form's JSON into an immutable
``FormSpec`` once per published version: widgets bound to their config,
expressions compiled, formulas ordered by dependency. ``FormSpec.clean`` is
the one server-side authority every write path calls.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

from .widget import Widget

SYSTEM_FIELDS = ("id", "created_at", "updated_at", "created_by", "updated_by", "row_version")
#: the value kind of each system column (what a widget's ``value_kind`` says of a field)
SYSTEM_KINDS = {"id": "number", "row_version": "number", "created_at": "datetime", "updated_at": "datetime",
                "created_by": "user", "updated_by": "user"}


def label_text(label: Any, lang: str = "zh-CN", default: str = "") -> str:
    """A label is a string or a {"zh-CN": ..., "en": ...} map; pick the language."""
    if isinstance(label, Mapping):
        return (label.get(lang) or label.get(lang.split("-")[0]) or label.get("zh-CN")
                or label.get("en") or next(iter(label.values()), default) or default)
    return label if isinstance(label, str) and label else default


@dataclass(frozen=True)
class FieldSpec:
    key: str
    widget: Widget
    definition: Mapping[str, Any] = field(repr=False, compare=False)
    #: for sub-tables: the nested form of one row
    children: "FormSpec | None" = None
    #: compiled expressions (``engines.expr.Expression``) or None
    visible_if: Any = field(default=None, compare=False)
    required_if: Any = field(default=None, compare=False)
    default_expr: Any = field(default=None, compare=False)
    formula: Any = field(default=None, compare=False)
    #: ``visible_if`` conditions of the layout sections around the field (see layout.py)
    sections: tuple = field(default=(), compare=False)

    @property
    def computed(self) -> bool:
        """Computed by the platform (formula, serial, system field): never taken from a submission."""
        return self.formula is not None or self.widget.computed

    @property
    def read_only(self) -> bool:
        return bool(self.definition.get("read_only"))

    @property
    def storage(self) -> str:
        return self.widget.storage

    @property
    def label(self) -> Any:
        return self.definition.get("label") or self.key

    def label_text(self, lang: str = "zh-CN") -> str:
        return label_text(self.definition.get("label"), lang, self.key)

    @property
    def required(self) -> bool:
        return bool(self.definition.get("required"))

    @property
    def filterable(self) -> bool:
        return bool(self.definition.get("filterable") or (self.definition.get("validation") or {}).get("unique"))

    @property
    def unique(self) -> bool:
        return bool((self.definition.get("validation") or {}).get("unique"))


@dataclass(frozen=True)
class FormSpec:
    key: str
    definition: Mapping[str, Any] = field(repr=False, compare=False)
    fields: tuple[FieldSpec, ...] = ()

    @property
    def label(self) -> Any:
        return self.definition.get("label") or self.key

    def label_text(self, lang: str = "zh-CN") -> str:
        return label_text(self.definition.get("label"), lang, self.key)

    @property
    def version(self) -> int:
        return int(self.definition.get("version", 1))

    @property
    def title_field(self) -> str | None:
        return self.definition.get("title_field")

    def field(self, key: str) -> FieldSpec:
        f = self._index()[0].get(key)
        if f is not None:
            return f
        from .exceptions import FormError
        raise FormError(f"form {self.key!r} has no field {key!r}", code="form.unknown_field",
                        form=self.key, field=key)

    def value_kind(self, key: str) -> str:
        """The kind of value ``key`` holds (text, number, money, date, user, link ...), system columns
        included: what the report engine and the record store call a field's kind."""
        return SYSTEM_KINDS.get(key) or self.field(key).widget.value_kind

    def has_field(self, key: str) -> bool:
        return key in self._index()[0]

    @property
    def field_keys(self) -> tuple[str, ...]:
        return self._index()[1]

    def _index(self) -> tuple[dict[str, FieldSpec], tuple[str, ...]]:
        """The fields by key (the first of a key) and the keys in order, worked out at the first lookup
        (the spec is immutable): the write path looks fields up by key dozens of times per record, a
        walk of the fields each time."""
        index = self.__dict__.get("_field_index")
        if index is None:
            by_key: dict[str, FieldSpec] = {}
            for f in self.fields:
                by_key.setdefault(f.key, f)
            index = (by_key, tuple(f.key for f in self.fields))
            object.__setattr__(self, "_field_index", index)
        return index

    @property
    def input_fields(self) -> tuple[FieldSpec, ...]:
        """Fields whose value comes from a submission (not computed, not layout-only)."""
        return tuple(f for f in self.fields if not f.computed and f.storage != "none")

    @property
    def formula_order(self) -> tuple[FieldSpec, ...]:
        """Formula fields, each after the formulas it reads (checked acyclic at compile time)."""
        return self._formula_order

    _formula_order: tuple = dataclasses.field(default=(), repr=False, compare=False)
    #: the compiled layout tree (``engines.form.layout``)
    layout: Any = dataclasses.field(default=None, repr=False, compare=False)
    #: one-pass forms: generated clean functions by key order, set by ``engines.form.clean.plan_for``
    _clean_shapes: Any = dataclasses.field(default=None, init=False, repr=False, compare=False)
    #: key -> the Python types of the JSON values a field's schema allows (``json_type_errors``)
    _json_types: Any = dataclasses.field(default=None, init=False, repr=False, compare=False)

    def clean(self, data: Mapping[str, Any], *, context=None, existing: Mapping[str, Any] | None = None,
              partial: bool = False, trusted: bool = False):
        """Coerce, default, compute, hide, require and validate: see ``engines.form.clean``.
        ``trusted``: the system path (rules, flows) that may write read-only fields."""
        if existing is None and not trusted and type(data) is dict:
            # a new record on a one-pass form, in a key order seen before: its generated function
            shapes = self._clean_shapes
            if shapes is not None:
                fn = shapes.get(tuple(data))
                if fn is not None:
                    return fn(data, partial)
        return _clean()(self, data, context=context, existing=existing, partial=partial, trusted=trusted)

    def json_type_errors(self, data: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Values whose JSON type the submission schema (``json_schema``) does not allow, such as a
        number sent for a text field. The JSON API takes what its document says, so it refuses them;
        pages post text and imports read cells as text, and those the widgets coerce instead."""
        types = self._json_types
        if types is None:
            types = {f.key: _python_types(f.widget.json_schema() if f.children is None else {"type": "array"})
                     for f in self.input_fields}
            object.__setattr__(self, "_json_types", types)
        errors = []
        for key, value in data.items():
            allowed = types.get(key)
            if allowed is None or type(value) in allowed or (
                    type(value) is float and _WholeFloat in allowed and value.is_integer()):
                continue
            f = self.field(key)
            errors.append({"code": "form.wrong_json_type", "field": key, "label": f.label_text(),
                           "expected": sorted(allowed_names(allowed)),
                           "message": f"send {' or '.join(sorted(allowed_names(allowed)))} in JSON, not "
                                      f"{JSON_NAMES.get(type(value), type(value).__name__)} / 值的类型与接口文档不符"})
        return errors

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema (draft 2020-12) of a submission, for integrators."""
        props: dict[str, Any] = {}
        required = []
        for f in self.input_fields:
            if f.children is not None:
                schema = {"type": "array", "items": f.children.json_schema()}
            else:
                schema = dict(f.widget.json_schema())
            schema["title"] = f.label_text("zh-CN")
            if f.label_text("en") != schema["title"]:
                schema["description"] = f.label_text("en")
            if f.visible_if is not None:
                schema["x-visible-if"] = f.visible_if.source
            props[f.key] = schema
            if f.required and f.visible_if is None:
                required.append(f.key)
        out = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": self.label_text(),
               "type": "object", "properties": props, "additionalProperties": False}
        if required:
            out["required"] = required
        return out

    def client_spec(self, lang: str = "zh-CN") -> dict[str, Any]:
        """What the browser needs to run the form live: fields with their expression trees."""
        out = []
        for f in self.fields:
            item: dict[str, Any] = {"key": f.key, "widget": f.widget.type, "label": f.label_text(lang),
                                    "required": f.required, "computed": f.computed}
            for prop in ("visible_if", "required_if", "formula"):
                expr = getattr(f, prop)
                if expr is not None:
                    item[prop] = expr.tree
            if f.sections:
                item["sections"] = [c.tree for c in f.sections]
            if f.children is not None:
                item["children"] = f.children.client_spec(lang)
            out.append(item)
        return {"key": self.key, "fields": out, "formula_order": [f.key for f in self.formula_order],
                "layout": [n.to_json() for n in self.layout.nodes] if self.layout is not None else []}


def _clean():
    global _clean_fn
    if _clean_fn is None:
        from .clean import clean
        _clean_fn = clean
    return _clean_fn


_clean_fn = None

EXPRESSION_PROPS = ("visible_if", "required_if", "default_expr", "formula")


def compile_form(definition: Mapping[str, Any], forms: Mapping[str, Mapping[str, Any]] | None = None) -> FormSpec:
    """Bind every field to its widget and compile its expressions, once per version.

    Every problem (unknown widget, bad config, an expression naming an unknown
    field, a formula cycle, ``客户.等级`` naming no field of the linked form when
    the app's other form definitions ``forms`` are given by key) is collected and
    raised together as ``FormDefinitionError`` with the field keys.
    """
    errors: list[dict] = []
    spec = _compile(definition, errors, definition.get("key", "?"), forms)
    if errors:
        from .exceptions import FormDefinitionError
        raise FormDefinitionError(errors, f"form {definition.get('key')!r} has {len(errors)} problem(s)")
    return spec


def _compile(definition: Mapping[str, Any], errors: list[dict], path: str,
             forms: Mapping[str, Mapping[str, Any]] | None = None) -> FormSpec:
    from engines.errors import JimuError
    from engines.expr import ExprError, compile_expr
    from . import WIDGETS
    fdefs = list(definition.get("fields", []))
    names = {f.get("key") for f in fdefs} | set(SYSTEM_FIELDS) | {"current_user_id"}
    fields = []
    for fdef in fdefs:
        key = fdef.get("key")
        try:
            widget_cls = WIDGETS.get(fdef.get("widget"))
        except JimuError as exc:
            errors.append({**exc.to_dict(), "form": path, "field": key})
            continue
        config = fdef.get("config") or {}
        for problem in _config_problems(widget_cls, config):
            errors.append({"code": "form.bad_config", "form": path, "field": key, "message": problem})
        widget = widget_cls(config)
        children = None
        if widget.storage == "children":
            children = _compile({"key": f"{path}.{key}", "fields": config.get("fields", [])}, errors,
                                f"{path}.{key}", forms)
        exprs = {}
        for prop in EXPRESSION_PROPS:
            source = fdef.get(prop)
            if source in (None, ""):
                continue
            try:
                exprs[prop] = compile_expr(source, allowed_names=names)
            except ExprError as exc:
                errors.append({**exc.to_dict(), "form": path, "field": key, "property": prop})
        if widget.requires_formula and not fdef.get("formula"):
            errors.append({"code": "form.formula_missing", "form": path, "field": key,
                           "message": f"field {key!r} uses the {widget.type} widget: give it a formula expression"})
        fields.append(FieldSpec(key=key, widget=widget, definition=fdef, children=children, **exprs))
    _check_paths(fields, errors, path, forms)
    from .layout import compile_layout
    layout = compile_layout(definition, [f.key for f in fields], names, errors, path)
    fields = [dataclasses.replace(f, sections=layout.conditions[f.key]) if f.key in layout.conditions else f
              for f in fields]
    spec = FormSpec(key=definition.get("key", path), definition=definition, fields=tuple(fields), layout=layout)
    object.__setattr__(spec, "_formula_order", _formula_order(fields, errors, path))
    return spec


def _check_paths(fields: list[FieldSpec], errors: list[dict], path: str,
                 forms: Mapping[str, Mapping[str, Any]] | None) -> None:
    """``a.b`` in an expression: ``a`` is a sub-table and ``b`` one of its columns, or ``a`` is a link
    and ``b`` a field of the linked form (checked when the sibling ``forms`` are known)."""
    by_key = {f.key: f for f in fields}
    for f in fields:
        for prop in EXPRESSION_PROPS:
            expr = getattr(f, prop)
            for name, key in sorted(getattr(expr, "paths", ())):
                owner = by_key.get(name)
                if owner is None:
                    continue
                problem = None
                if owner.children is not None:
                    if not owner.children.has_field(key):
                        problem = (f"sub-table {name!r} has no column {key!r}; use one of "
                                   f"{', '.join(owner.children.field_keys)}")
                elif owner.widget.type == "link":
                    target = owner.widget.config.get("form")
                    known = None if forms is None or target not in forms else \
                        {d.get("key") for d in forms[target].get("fields", [])} | set(SYSTEM_FIELDS)
                    if known is not None and key not in known:
                        problem = f"linked form {target!r} (through {name!r}) has no field {key!r}"
                else:
                    problem = (f"{name!r} is a {owner.widget.type} field; only link fields and sub-tables have "
                               f"fields to read with {name}.{key}")
                if problem:
                    errors.append({"code": "form.unknown_path", "form": path, "field": f.key, "property": prop,
                                   "path": f"{name}.{key}", "message": problem})


def _config_problems(widget_cls, config: Mapping[str, Any]) -> list[str]:
    from jsonschema import Draft202012Validator
    validator = Draft202012Validator(widget_cls.config_schema)
    return [f"config{''.join(f'/{p}' for p in e.absolute_path)}: {e.message}"
            for e in validator.iter_errors(config)]


def _formula_order(fields: list[FieldSpec], errors: list[dict], path: str) -> tuple[FieldSpec, ...]:
    """Topological order of formula fields; a cycle is an error naming its fields."""
    import networkx as nx
    formulas = {f.key: f for f in fields if f.formula is not None}
    graph = nx.DiGraph()
    graph.add_nodes_from(formulas)
    for key, f in formulas.items():
        for name in f.formula.names:
            if name in formulas:
                graph.add_edge(name, key)
    try:
        return tuple(formulas[k] for k in nx.lexicographical_topological_sort(graph))
    except nx.NetworkXUnfeasible:
        for cycle in nx.simple_cycles(graph):
            errors.append({"code": "form.formula_cycle", "form": path, "fields": sorted(cycle),
                           "message": f"formulas depend on each other in a cycle: {' → '.join(cycle + cycle[:1])}"})
        return ()


#: JSON Schema type -> the Python types ``json.loads`` gives for it (bool is not a number in JSON)
_SCHEMA_TYPES = {"string": (str,), "number": (int, float), "integer": (int,), "boolean": (bool,),
                 "null": (type(None),), "array": (list,), "object": (dict,)}
JSON_NAMES = {str: "a string", int: "a number", float: "a number", bool: "true/false", type(None): "null",
              list: "an array", dict: "an object"}


def _python_types(schema: Mapping[str, Any]) -> frozenset | None:
    """The Python types of the values ``schema`` allows; None (no check) when it names no type.
    An integer-only schema keeps float for whole numbers (1.0 is an integer in JSON Schema) and the
    check refuses fractional ones."""
    kind = schema.get("type")
    if kind is None:
        return None
    names = [kind] if isinstance(kind, str) else list(kind)
    out: set = set()
    for name in names:
        out.update(_SCHEMA_TYPES.get(name, ()))
    if "integer" in names and "number" not in names:
        out.discard(float)
        out.add(_WholeFloat)
    return frozenset(out)


class _WholeFloat:
    """Marks an integer-only field: a float is allowed only when it is whole (``json_type_errors``)."""


def allowed_names(types) -> set[str]:
    return {JSON_NAMES[t] for t in types if t in JSON_NAMES}
