"""Validate a whole app package: JSON Schema first, then the cross-references.

Every problem is reported at once as a dict ``{code, message, pointer, ...}``
where ``pointer`` is an RFC 6901 JSON pointer into the package, so a builder
or an import screen can show all of them next to the offending definition.

The semantic checks are written to survive a schema-invalid package (a list
where an object belongs, a missing key): they skip what they cannot read and
leave the complaint to the schema errors.

These checks are one stage of ``apps.compile.compile_package`` (the only
caller): widget types come from the form engine's registry, expressions are
compiled by the expression language, with the names in scope wherever the
runtime evaluates them against a record (flow edge conditions, SLA ``unless``).
"""
from __future__ import annotations

from functools import lru_cache
from types import SimpleNamespace
from typing import Any, Iterator

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

import schemas
from engines.errors import JimuError
from engines.rule.conditions import PROCESS, PROCESS_KEYS

from .exceptions import CODES
from .migrations import DEFINITION_KINDS

#: columns every record table has; fields may not use these keys, but reports may name them
SYSTEM_COLUMNS: tuple[str, ...] = ("id", "created_at", "updated_at", "created_by", "updated_by", "row_version")
#: verbs a role may grant on a form's records
ROLE_VERBS: tuple[str, ...] = ("create", "read", "update", "delete")
#: field properties that hold an expression
FIELD_EXPRESSIONS: tuple[str, ...] = ("visible_if", "required_if", "default_expr", "formula")

_SCHEMA_HINTS = {
    "required": "add the missing property",
    "additionalProperties": "remove the property or correct its spelling",
    "type": "change the value to the expected type",
    "pattern": "keys are letters, digits, underscores or Chinese characters and do not start with a digit",
    "const": "use the expected value",
    "enum": "use one of the allowed values",
    "maxLength": "shorten the value",
    "minLength": "give a non-empty value",
    "uniqueItems": "remove the repeated items",
}
_MAX_MESSAGE = 300
_NOTHING_INSTALLED = SimpleNamespace(owners={}, users=None)
#: names every expression over a record may use besides the form's fields
RECORD_NAMES: tuple[str, ...] = SYSTEM_COLUMNS + ("current_user_id",)
#: assignee kinds and what their ``value`` names
ASSIGNEE_VALUES = {"user": "user", "role": "role", "group": "group", "round_robin": "group",
                   "least_open": "group", "field": "field"}
#: recipient lists (notify, send_survey) and what their items name
RECIPIENT_LISTS = {"users": "user", "groups": "group", "group_leads": "group", "roles": "role", "group_lead_fields": "field",
                   "user_fields": "field", "email_fields": "field",
                   "phone_fields": "field"}
#: rule action properties that name people or fields
ACTION_NAMES = {"user": "user", "group": "group", "source_field": "field", "group_field": "field",
                "users": "user", "groups": "group", "user_fields": "field"}

Error = dict[str, Any]


def pointer(*parts: Any) -> str:
    """An RFC 6901 JSON pointer from path parts (``~`` and ``/`` escaped)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


# -- JSON Schema ------------------------------------------------------------------------------

def _document_position(data: Any, path: Any) -> tuple[int, ...]:
    """Where ``path`` sits in ``data``: list indexes and object key positions, for sorting."""
    position = []
    for part in path:
        if isinstance(data, dict):
            keys = list(data)
            position.append(keys.index(part) if part in data else len(keys))
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            position.append(part)
            data = data[part]
        else:
            position.append(-1)
            data = None
    return tuple(position)


def _leaf(error: ValidationError) -> ValidationError:
    """The most telling error under a ``oneOf``/``anyOf``: branches whose type (at the
    instance) or discriminating ``const`` (at one of its properties) fails are ignored,
    then the deepest remaining error wins."""
    if not error.context:
        return error
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)

    def mismatched(errors: list[ValidationError]) -> bool:
        return any((e.validator == "type" and not e.relative_path) or (e.validator == "const" and len(e.relative_path) <= 1)
                   for e in errors)

    plausible = [e for errors in branches.values() if not mismatched(errors) for e in errors] or list(error.context)
    deepest = max(len(e.relative_path) for e in plausible)
    return _leaf(best_match([e for e in plausible if len(e.relative_path) == deepest]))


def _schema_error(error: ValidationError) -> Error:
    leaf = _leaf(error)
    message = leaf.message if len(leaf.message) <= _MAX_MESSAGE else leaf.message[:_MAX_MESSAGE] + "…"
    hint = _SCHEMA_HINTS.get(str(leaf.validator))
    return {"code": f"schema.{leaf.validator}", "pointer": pointer(*leaf.absolute_path),
            "message": f"{message}; {hint}" if hint else message}


def schema_errors(data: dict) -> list[Error]:
    """Every JSON Schema error, in document order."""
    found = sorted(schemas.validator("app").iter_errors(data),
                   key=lambda e: _document_position(data, e.absolute_path))
    return [_schema_error(e) for e in found]


@lru_cache(maxsize=None)
def _config_validator(widget_cls: type) -> Draft202012Validator:
    return Draft202012Validator(getattr(widget_cls, "config_schema", None) or {"type": "object"})


# -- semantic checks ----------------------------------------------------------------------

def _err(code: str, ptr: str, what: str, **context: Any) -> Error:
    return {"code": code, "pointer": ptr, "message": f"{what}: {CODES[code]}",
            **{k: v for k, v in context.items() if v is not None}}


def _items(value: Any) -> Iterator[tuple[int, dict]]:
    """(index, item) for the dict items of a list; anything else yields nothing."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict):
                yield i, item


def _keys(items: Any) -> set[str]:
    return {item["key"] for _, item in _items(items) if isinstance(item.get("key"), str)}


def _field_map(fields: Any) -> dict[str, dict]:
    """Field key → definition (the first one, if a key repeats)."""
    out: dict[str, dict] = {}
    for _, field in _items(fields):
        if isinstance(field.get("key"), str):
            out.setdefault(field["key"], field)
    return out


def _duplicates(values: Iterator[tuple[str, Any]], code: str, noun: str) -> list[Error]:
    """An error for every value seen before, pointing at the repeat and naming the first."""
    first: dict[Any, str] = {}
    out = []
    for ptr, value in values:
        if not isinstance(value, str):
            continue
        if value in first:
            out.append(_err(code, ptr, f"{noun} {value!r} is defined twice (first at {first[value]})",
                            key=value, first=first[value]))
        else:
            first[value] = ptr
    return out


#: the rule actions a form's macro may run: what a person's own rights cover (writes through their
#: ``Records``, messages), no steering of flows as the platform (``runtime.macros``)
MACRO_ACTIONS = ("set_fields", "create_record", "update_related", "assign", "add_participant", "notify",
                 "send_survey")

class _Checker:
    """One pass over a package; collects errors in document order."""

    def __init__(self, data: dict, installed: Any = None):
        self.data = data
        self.errors: list[Error] = []
        from engines.expr import compile_expr
        from engines.form import WIDGETS
        self.widgets = WIDGETS
        self.compile = compile_expr
        installed = installed or _NOTHING_INSTALLED
        self.users = installed.users
        shared = {kind: {k for k, owner in (installed.owners.get(kind) or {}).items() if owner is None}
                  for kind in ("roles", "groups")}  # platform-level roles and groups serve every app
        self.roles = _keys(data.get("roles")) | shared["roles"]
        self.groups = _keys(data.get("groups")) | shared["groups"]
        self.calendars = _keys(data.get("calendars"))
        self.flows = {f["key"]: f for _, f in _items(data.get("flows")) if isinstance(f.get("key"), str)}
        self.forms: dict[str, dict] = {}
        for _, form in _items(data.get("forms")):
            if isinstance(form.get("key"), str):
                self.forms.setdefault(form["key"], form)
        self.fields = {key: _field_map(form.get("fields")) for key, form in self.forms.items()}
        self.reports = _keys(data.get("reports"))
        #: report join aliases in scope (``{"as": "c", "field": "customer"}`` makes ``c.x`` mean ``customer.x``)
        self.aliases: dict[str, str] = {}
        self.in_report = False
        self.in_rule = False
        self.names: set[str] = set(RECORD_NAMES)

    def run(self) -> list[Error]:
        for kind in DEFINITION_KINDS:
            self.errors += _duplicates(((pointer(kind, i, "key"), item.get("key"))
                                        for i, item in _items(self.data.get(kind))),
                                       "package.duplicate_key", kind[:-1])
        for i, form in _items(self.data.get("forms")):
            self.form(form, pointer("forms", i))
        for i, role in _items(self.data.get("roles")):
            self.role(role, pointer("roles", i))
        for i, flow in _items(self.data.get("flows")):
            self.flow(flow, pointer("flows", i))
        for i, rule in _items(self.data.get("rules")):
            self.rule(rule, pointer("rules", i))
        for i, report in _items(self.data.get("reports")):
            self.report(report, pointer("reports", i))
        for i, dashboard in _items(self.data.get("dashboards")):
            self.references(dashboard, pointer("dashboards", i), None)
        for i, template in _items(self.data.get("templates")):
            self.template(template, pointer("templates", i))
        return self.errors

    # -- shared ----------------------------------------------------------------------------
    def form_ref(self, key: Any, ptr: str) -> bool:
        if isinstance(key, str) and key not in self.forms:
            self.errors.append(_err("package.unknown_form", ptr, f"form {key!r} does not exist", form=key))
            return False
        return isinstance(key, str)

    def expression(self, text: Any, ptr: str, names: Any = None, **context: Any) -> None:
        """Compile ``text``; with ``names`` (the fields in scope) an unknown name is an error."""
        if not isinstance(text, str):
            return
        try:
            self.compile(text, allowed_names=names)
        except JimuError as exc:
            self.errors.append({**exc.to_dict(), **context, "pointer": ptr, "expression": text})

    def field_ref(self, form_key: Any, field: str, ptr: str) -> None:
        """Check ``field`` against ``form_key``; ``a.b`` follows link ``a`` to its form, or
        names field ``b`` of sub-table ``a``; a report join alias stands for its link field."""
        head, dot, rest = field.partition(".")
        if dot and head == "process" and self.in_report:
            return  # per-record process data the runtime keeps (engines/report/source.py ProcessSource)
        if dot and head == PROCESS and self.in_rule:
            if rest not in PROCESS_KEYS:  # the record's process as a rule condition reads it
                self.errors.append(_err("package.unknown_field", ptr, f"the process has no {rest!r}; use "
                                        f"{', '.join('process.' + k for k in PROCESS_KEYS)}", form=form_key,
                                        field=field))
            return
        if dot and head in self.aliases:
            field = f"{self.aliases[head]}.{rest}"
        if isinstance(form_key, str) and form_key in self.forms:
            self._field_path(self.fields[form_key], f"form {form_key!r}", field, ptr, form_key)

    def _field_path(self, fields: dict[str, dict], owner: str, path: str, ptr: str, form_key: str) -> None:
        head, _, rest = path.partition(".")
        definition = fields.get(head)
        if definition is None:
            if head not in SYSTEM_COLUMNS or rest:
                self.errors.append(_err("package.unknown_field", ptr, f"{owner} has no field {head!r}",
                                        form=form_key, field=path))
            return
        if not rest:
            return
        config = definition.get("config") if isinstance(definition.get("config"), dict) else {}
        if definition.get("widget") == "link" and isinstance(config.get("form"), str):
            self.field_ref(config["form"], rest, ptr)
        elif definition.get("widget") == "subtable":
            self._field_path(_field_map(config.get("fields")), f"sub-table {head!r}", rest, ptr, form_key)
        else:
            self.errors.append(_err("package.unknown_field", ptr,
                                    f"{head!r} of {owner} is neither a link nor a sub-table, so {path!r} "
                                    "cannot reach into it", form=form_key, field=path))

    def references(self, node: Any, ptr: str, form_key: Any) -> None:
        """Walk a rule/report/dashboard: ``field`` names a field of the form in scope (a nested
        ``form`` changes the scope), ``report`` names a report, ``expr`` is an expression."""
        if isinstance(node, list):
            for i, item in enumerate(node):
                self.references(item, pointer_join(ptr, i), form_key)
            return
        if not isinstance(node, dict):
            return
        if node.get("form") != form_key and isinstance(node.get("form"), str):
            if not self.form_ref(node["form"], pointer_join(ptr, "form")):
                return
            form_key = node["form"]
        if isinstance(node.get("field"), str):
            self.field_ref(form_key, node["field"], pointer_join(ptr, "field"))
            if self.in_rule and node["field"] == f"{PROCESS}.node":
                self.process_nodes(node.get("value"), pointer_join(ptr, "value"), form_key)
        if isinstance(node.get("report"), str) and node["report"] not in self.reports:
            self.errors.append(_err("package.unknown_report", pointer_join(ptr, "report"),
                                    f"report {node['report']!r} does not exist", report=node["report"]))
        if "expr" in node:
            self.expression(node["expr"], pointer_join(ptr, "expr"))
        for key, value in node.items():
            if isinstance(value, (dict, list)):
                self.references(value, pointer_join(ptr, key), form_key)

    # -- forms -----------------------------------------------------------------------------
    def form(self, form: dict, ptr: str) -> None:
        self.field_list(form.get("fields"), pointer_join(ptr, "fields"))
        own = _field_map(form.get("fields"))
        title = form.get("title_field")
        if isinstance(title, str) and title not in own:
            self.errors.append(_err("form.unknown_title_field", pointer_join(ptr, "title_field"),
                                    f"title_field {title!r} is not a field of this form", field=title))
        for i, key in enumerate(form.get("list_fields") or []):
            if isinstance(key, str) and key not in own:
                self.errors.append(_err("form.unknown_list_field", pointer_join(ptr, "list_fields", i),
                                        f"list_fields names {key!r}, which is not a field of this form", field=key))
        public = form.get("public") if isinstance(form.get("public"), dict) else {}
        for page, props in (("submit", ("fields",)), ("status", ("fields",)), ("portal", ("fields", "search"))):
            block = public.get(page) if isinstance(public.get(page), dict) else {}
            for prop in props:
                for i, key in enumerate(block.get(prop) or []):
                    if isinstance(key, str) and key not in own:
                        self.errors.append(_err("package.unknown_field", pointer_join(ptr, "public", page, prop, i),
                                                f"public.{page}.{prop} names {key!r}, which is not a field of this form",
                                                field=key))
        ref = (public.get("submit") or {}).get("ref_field") if isinstance(public.get("submit"), dict) else None
        if isinstance(ref, str) and (ref not in own or own[ref].get("widget") != "link"):
            self.errors.append(_err("package.unknown_field", pointer_join(ptr, "public", "submit", "ref_field"),
                                    f"public.submit.ref_field {ref!r} must be a link field of this form", field=ref))
        self.link_fills(form, ptr, own)
        self.record_page(form, ptr, own)
        if isinstance(form.get("chat"), dict):
            self.chat(form, pointer_join(ptr, "chat"), own)
        placed: dict[str, str] = {}
        self.layout(form.get("layout"), pointer_join(ptr, "layout"), own, placed)
        sample = form.get("sample")
        if isinstance(sample, dict):
            for key in sample:
                if key not in own:
                    self.errors.append(_err("package.unknown_field", pointer_join(ptr, "sample", key),
                                            f"sample names {key!r}, which is not a field of this form", field=key))
                elif isinstance(sample[key], dict) and sample[key].get("if") is not None:
                    self.expression(sample[key]["if"], pointer_join(ptr, "sample", key, "if"))
        if isinstance(form.get("story"), dict):
            self.story(form, pointer_join(ptr, "story"), own)

    def chat(self, form: dict, ptr: str, own: dict) -> None:
        """A live chat's fields exist with the widgets its parts need: messages link back to this form
        and hold text; the hand-over link points at the hand-over form; snippet forms have their fields."""
        chat = form["chat"]

        def need(fields: dict, key: Any, at: str, owner: str, widgets: tuple[str, ...] = (), target: Any = None) -> None:
            if not isinstance(key, str):
                return
            found = fields.get(key)
            if found is None:
                self.errors.append(_err("package.unknown_field", at, f"{owner} has no field {key!r}", field=key))
            elif widgets and found.get("widget") not in widgets:
                self.errors.append(_err("chat.wrong_widget", at, f"field {key!r} of {owner} must be a "
                                        f"{' or '.join(widgets)} field, not {found.get('widget')}", field=key))
            elif target is not None and (found.get("config") or {}).get("form") != target:
                self.errors.append(_err("chat.wrong_link", at, f"link field {key!r} of {owner} must point to form "
                                        f"{target!r}", field=key, form=target))

        for i, key in enumerate(chat.get("fields") or []):
            need(own, key, pointer_join(ptr, "fields", i), "this form")
        for key in ("status", "assignee_field"):
            spec = chat.get(key)
            field = spec.get("field") if isinstance(spec, dict) else spec
            need(own, field, pointer_join(ptr, key, "field") if isinstance(spec, dict) else pointer_join(ptr, key),
                 "this form", ("user",) if key == "assignee_field" else ())
        parts = {"messages": ("link_field", "text_field"), "templates": ("title_field", "text_field"),
                 "articles": ("title_field", "text_field"), "handover": ()}
        for part, keys in parts.items():
            spec = chat.get(part)
            if not isinstance(spec, dict) or not self.form_ref(spec.get("form"), pointer_join(ptr, part, "form")):
                continue
            fields, owner = self.fields[spec["form"]], f"form {spec['form']!r}"
            for key in keys:
                widgets = ("link",) if key == "link_field" else ()
                need(fields, spec.get(key), pointer_join(ptr, part, key), owner, widgets,
                     form.get("key") if key == "link_field" else None)
            if part == "handover":
                need(own, spec.get("link_field"), pointer_join(ptr, part, "link_field"), "this form", ("link",),
                     spec["form"])
                for target, source in (spec.get("fields") or {}).items():
                    need(fields, target, pointer_join(ptr, part, "fields", target), owner)
                    if source != "transcript":
                        need(own, source, pointer_join(ptr, part, "fields", target), "this form")

    def story(self, form: dict, ptr: str, own: dict) -> None:
        """A demo story's expressions compile; the forms, fields and user fields it names exist."""
        def actor(by: Any, at: str) -> None:
            if isinstance(by, dict):
                self.name_ref("role", by.get("role"), pointer_join(at, "role"), form.get("key"))
            if isinstance(by, dict) and isinstance(by.get("field"), str):
                if own.get(by["field"], {}).get("widget") != "user":
                    self.errors.append(_err("package.unknown_field", pointer_join(at, "field"),
                                            f"a story actor's field {by['field']!r} must be a user field of this form",
                                            field=by["field"]))

        def action(d: dict, at: str) -> None:
            for kind in ("create", "update", "task"):
                a = d.get(kind)
                if not isinstance(a, dict):
                    continue
                actor(a.get("by"), pointer_join(at, kind, "by"))
                target = form.get("key")
                if kind == "create" and not self.form_ref(a.get("form"), pointer_join(at, kind, "form")):
                    continue
                target = a.get("form") if kind == "create" else target
                for key, value in (a.get("values") or {}).items() if isinstance(a.get("values"), dict) else ():
                    self.field_ref(target, key, pointer_join(at, kind, "values", key))
                    if isinstance(value, dict) and "expr" in value:
                        self.expression(value["expr"], pointer_join(at, kind, "values", key, "expr"))

        story = form["story"]
        actor(story.get("by"), pointer_join(ptr, "by"))
        for i, step in _items(story.get("steps")):
            at = pointer_join(ptr, "steps", i)
            if step.get("if") is not None:
                self.expression(step["if"], pointer_join(at, "if"))
            self.name_ref("calendar", step.get("calendar"), pointer_join(at, "calendar"), form.get("key"))
            action(step, at)
            for j, choice in _items(step.get("one_of")):
                action(choice, pointer_join(at, "one_of", j))

    def link_fills(self, form: dict, ptr: str, own: dict) -> None:
        """A link's ``display_field`` and ``fill`` name fields of the linked form; ``fill``'s keys name
        input fields of this one (not the link itself, not computed)."""
        for i, field in _items(form.get("fields")):
            config = field.get("config") if isinstance(field.get("config"), dict) else {}
            for j, src in _items(config.get("insert_from")):  # a text field's insertable records
                at = pointer_join(ptr, "fields", i, "config", "insert_from", j)
                if isinstance(src, dict) and self.form_ref(src.get("form"), pointer_join(at, "form")):
                    for key in ("title_field", "text_field"):
                        if isinstance(src.get(key), str):
                            self.field_ref(src["form"], src[key], pointer_join(at, key))
            if field.get("widget") != "link" or not isinstance(config.get("form"), str) \
                    or config["form"] not in self.forms:
                continue
            at = pointer_join(ptr, "fields", i, "config")
            if isinstance(config.get("display_field"), str):
                self.field_ref(config["form"], config["display_field"], pointer_join(at, "display_field"))
            fill = config.get("fill") if isinstance(config.get("fill"), dict) else {}
            if fill and config.get("multiple"):
                self.errors.append(_err("field.fill_multiple", pointer_join(at, "fill"),
                                        f"link {field.get('key')!r} holds several records",
                                        field=field.get("key")))
                continue
            for dst, src in fill.items():
                target = own.get(dst)
                kind = target.get("widget") if target is not None else None
                computed = kind in self.widgets and getattr(self.widgets.get(kind), "computed", False)
                if target is None or dst == field.get("key") or target.get("formula") is not None \
                        or computed or kind == "subtable":
                    self.errors.append(_err("field.fill_target", pointer_join(at, "fill", dst),
                                            f"fill names {dst!r}, which is not an input field of this form",
                                            field=dst))
                if isinstance(src, str):
                    self.field_ref(config["form"], src, pointer_join(at, "fill", dst))

    def field_keys(self, form_key: Any, keys: Any, ptr: str) -> None:
        fields = self.fields.get(form_key, {}) if isinstance(form_key, str) else {}
        for i, key in enumerate(keys or []):
            if isinstance(key, str) and key not in fields:
                self.errors.append(_err("package.unknown_field", pointer_join(ptr, i),
                                        f"form {form_key!r} has no field {key!r}", field=key))

    def macro_action(self, action: dict, ptr: str, form_key: Any, own: dict) -> None:
        """A macro's action: one a person's rights cover (``MACRO_ACTIONS``), configured as its rule
        action's schema says, setting fields this form has."""
        from engines.rule import ACTIONS
        kind = action.get("type")
        if kind not in MACRO_ACTIONS or kind not in ACTIONS:
            self.errors.append(_err("macro.action", pointer_join(ptr, "type"),
                                    f"a macro cannot run {kind!r} (it may: {', '.join(MACRO_ACTIONS)})",
                                    action=kind))
            return
        errors: list[dict] = []
        ACTIONS.get(kind).build(action, errors, ptr)
        self.errors += [{**e, "pointer": e.get("pointer") or ptr} for e in errors]
        if kind == "set_fields" and isinstance(action.get("values"), dict):
            self.field_keys(form_key, list(action["values"]), pointer_join(ptr, "values"))
        if kind == "create_record" and self.form_ref(action.get("form"), pointer_join(ptr, "form")) \
                and isinstance(action.get("mapping"), dict):
            self.field_keys(action["form"], list(action["mapping"]), pointer_join(ptr, "mapping"))

    def link_path(self, form_key: str, path: Any) -> str | None:
        """The form a path of single links (``订单.会员``) of ``form_key`` ends on, or None."""
        if not isinstance(path, str):
            return None
        current = form_key
        for part in path.split("."):
            field = self.fields.get(current, {}).get(part)
            config = (field or {}).get("config") or {}
            if field is None or field.get("widget") != "link" or config.get("multiple") \
                    or config.get("form") not in self.fields:
                return None
            current = config["form"]
        return current

    def record_page(self, form: dict, ptr: str, own: dict) -> None:
        """views, related and suggest name forms and fields that must exist."""
        for i, view in _items(form.get("views")):
            for j, flt in _items(view.get("filter")):
                if isinstance(flt.get("field"), str) and flt["field"] not in own and flt["field"] not in SYSTEM_COLUMNS:
                    self.errors.append(_err("package.unknown_field", pointer_join(ptr, "views", i, "filter", j, "field"),
                                            f"view filter names {flt['field']!r}, which is not a field", field=flt["field"]))
        for i, rel in _items(form.get("related")):
            at = pointer_join(ptr, "related", i)
            other = rel.get("form")
            if not self.form_ref(other, pointer_join(at, "form")):
                continue
            if self.link_path(other, rel.get("field")) != form.get("key"):
                self.errors.append(_err("package.unknown_field", pointer_join(at, "field"),
                                        f"related.field must be a link field of {other!r} pointing to this form, "
                                        "or a path of single links (link.link) ending on it",
                                        field=rel.get("field")))
            self.field_keys(other, rel.get("fields"), pointer_join(at, "fields"))
            for j, fig in _items(rel.get("summary")):
                if isinstance(fig.get("field"), str):
                    self.field_keys(other, [fig["field"]], pointer_join(at, "summary", j, "field"))
                elif fig.get("measure") in ("sum", "avg", "min", "max"):
                    self.errors.append(_err("related.summary_field", pointer_join(at, "summary", j),
                                            f"a {fig['measure']} figure names the field it computes over"))
                if fig.get("measure") == "share" and not fig.get("filter"):
                    self.errors.append(_err("related.summary_filter", pointer_join(at, "summary", j),
                                            "a share figure needs a filter: the part of the records it counts"))
                for k, flt in _items(fig.get("filter")):
                    if isinstance(flt.get("field"), str) and flt["field"] not in self.fields.get(other, {}) \
                            and flt["field"] not in SYSTEM_COLUMNS:
                        self.errors.append(_err("package.unknown_field",
                                                pointer_join(at, "summary", j, "filter", k, "field"),
                                                f"form {other!r} has no field {flt['field']!r}", field=flt["field"]))
            if rel.get("highlight_if") is not None:
                self.expression(rel["highlight_if"], pointer_join(at, "highlight_if"))
            compose = rel.get("compose") if isinstance(rel.get("compose"), dict) else {}
            if compose and "." in str(rel.get("field")):
                self.errors.append(_err("related.compose_path", pointer_join(at, "compose"),
                                        "an inline form adds records that link here directly; "
                                        "name a link field of the other form, not a path"))
            self.field_keys(other, compose.get("fields"), pointer_join(at, "compose", "fields"))
            tpl = compose.get("templates") if isinstance(compose.get("templates"), dict) else None
            if tpl and self.form_ref(tpl.get("form"), pointer_join(at, "compose", "templates", "form")):
                self.field_keys(tpl["form"], [k for k in (tpl.get("body"), tpl.get("name")) if k],
                                pointer_join(at, "compose", "templates"))
                self.field_keys(other, [tpl.get("into")], pointer_join(at, "compose", "templates", "into"))
        self.errors += _duplicates(((pointer_join(ptr, "macros", i, "key"), m.get("key"))
                                    for i, m in _items(form.get("macros"))), "package.duplicate_key", "macro")
        for i, macro in _items(form.get("macros")):
            at = pointer_join(ptr, "macros", i)
            if macro.get("visible_if") is not None:
                self.expression(macro["visible_if"], pointer_join(at, "visible_if"), set(own) | set(RECORD_NAMES))
            for j, action in _items(macro.get("actions")):
                self.macro_action(action, pointer_join(at, "actions", j), form.get("key"), own)
        self.field_keys(form.get("key"), form.get("bulk_fields"), pointer_join(ptr, "bulk_fields"))
        merge = form.get("merge") if isinstance(form.get("merge"), dict) else None
        if merge is not None:
            at = pointer_join(ptr, "merge")
            if self.link_path(form.get("key"), merge.get("link")) != form.get("key") or "." in str(merge.get("link")):
                self.errors.append(_err("package.unknown_field", pointer_join(at, "link"),
                                        "merge.link must be a link field of this form to this form "
                                        "(it points from the duplicate to the record kept)", field=merge.get("link")))
            if isinstance(merge.get("set"), dict):
                self.field_keys(form.get("key"), list(merge["set"]), pointer_join(at, "set"))
            for j, move in _items(merge.get("move")):
                if self.form_ref(move.get("form"), pointer_join(at, "move", j, "form")) and \
                        (self.link_path(move["form"], move.get("field")) != form.get("key")
                         or "." in str(move.get("field"))):
                    self.errors.append(_err("package.unknown_field", pointer_join(at, "move", j, "field"),
                                            f"merge.move names a link field of {move['form']!r} pointing to this form",
                                            field=move.get("field")))
        for i, sug in _items(form.get("suggest")):
            at = pointer_join(ptr, "suggest", i)
            if self.form_ref(sug.get("form"), pointer_join(at, "form")):
                self.field_keys(sug["form"], sug.get("match"), pointer_join(at, "match"))
            self.field_keys(form.get("key"), sug.get("from"), pointer_join(at, "from"))

    def field_list(self, fields: Any, ptr: str) -> None:
        """A form's (or sub-table's) fields; their expressions may name these fields and the
        system columns, as the form engine evaluates them."""
        self.names = set(_field_map(fields)) | set(RECORD_NAMES)
        self.errors += _duplicates(((pointer_join(ptr, i, "key"), f.get("key")) for i, f in _items(fields)),
                                   "package.duplicate_key", "field")
        for i, field in _items(fields):
            self.field(field, pointer_join(ptr, i))

    def field(self, field: dict, ptr: str) -> None:
        key = field.get("key")
        if isinstance(key, str) and (key in SYSTEM_COLUMNS or key.startswith("_")):
            self.errors.append(_err("field.reserved_key", pointer_join(ptr, "key"),
                                    f"field key {key!r} is reserved", field=key))
        widget, config = field.get("widget"), field.get("config")
        config = config if isinstance(config, dict) else {}
        if isinstance(widget, str):
            if widget not in self.widgets:
                self.errors.append(_err("field.unknown_widget", pointer_join(ptr, "widget"),
                                        f"widget type {widget!r} is not registered (known: "
                                        f"{', '.join(self.widgets.types())})", widget=widget))
            else:
                for error in _config_validator(self.widgets.get(widget)).iter_errors(config):
                    self.errors.append(_err("field.invalid_config", pointer_join(ptr, "config", *error.absolute_path),
                                            f"{widget} configuration: {error.message[:_MAX_MESSAGE]}", widget=widget))
        if widget == "link" and isinstance(config.get("form"), str):
            self.form_ref(config["form"], pointer_join(ptr, "config", "form"))
        if widget == "subtable":
            outer = self.names
            self.field_list(config.get("fields"), pointer_join(ptr, "config", "fields"))
            self.names = outer
        for name in FIELD_EXPRESSIONS:
            self.expression(field.get(name), pointer_join(ptr, name), self.names)

    def layout(self, items: Any, ptr: str, own: dict, placed: dict[str, str]) -> None:
        if not isinstance(items, list):
            return
        for i, item in enumerate(items):
            at = pointer_join(ptr, i)
            if isinstance(item, str):
                if item not in own:
                    self.errors.append(_err("layout.unknown_field", at,
                                            f"layout places {item!r}, which is not a field of this form", field=item))
                elif item in placed:
                    self.errors.append(_err("layout.duplicate_field", at,
                                            f"layout places {item!r} twice (first at {placed[item]})",
                                            field=item, first=placed[item]))
                else:
                    placed[item] = at
            elif isinstance(item, dict):
                self.expression(item.get("visible_if"), pointer_join(at, "visible_if"), set(own) | set(RECORD_NAMES))
                self.layout(item.get("items"), pointer_join(at, "items"), own, placed)
                for j, tab in _items(item.get("tabs")):
                    self.layout(tab.get("items"), pointer_join(at, "tabs", j, "items"), own, placed)

    # -- roles and flows ---------------------------------------------------------------------
    def role(self, role: dict, ptr: str) -> None:
        demo = role.get("demo")
        for j, group in enumerate(demo.get("groups") or [] if isinstance(demo, dict) else []):
            self.name_ref("group", group, pointer_join(ptr, "demo", "groups", j), None)
        permissions = role.get("permissions")
        if not isinstance(permissions, dict):
            return
        for form_key, verbs in permissions.items():
            self.form_ref(form_key, pointer_join(ptr, "permissions", form_key))
            for j, verb in enumerate(verbs if isinstance(verbs, list) else []):
                if isinstance(verb, str) and verb not in ROLE_VERBS:
                    self.errors.append(_err("role.unknown_verb", pointer_join(ptr, "permissions", form_key, j),
                                            f"verb {verb!r} is unknown", verb=verb))
        for form_key, scope in (role.get("rows") or {}).items() if isinstance(role.get("rows"), dict) else ():
            self.row_scope(form_key, scope, pointer_join(ptr, "rows", form_key), permissions)
        for form_key, levels in (role.get("fields") or {}).items() if isinstance(role.get("fields"), dict) else ():
            at = pointer_join(ptr, "fields", form_key)
            if self.form_ref(form_key, at) and form_key not in permissions:
                self.errors.append(_err("role.not_granted", at, f"the role grants nothing on form {form_key!r}; "
                                        "add it to permissions or remove its field rules", form=form_key))
            for key in levels if isinstance(levels, dict) and form_key in self.forms else ():
                if key not in self.fields[form_key]:
                    self.errors.append(_err("package.unknown_field", pointer_join(at, key),
                                            f"form {form_key!r} has no field {key!r}", form=form_key, field=key))

    #: the widget a row scope's ``field`` must have
    _SCOPE_WIDGETS = {"own": "user", "groups": "group"}

    def row_scope(self, form_key: str, scope: Any, ptr: str, permissions: dict) -> None:
        if not self.form_ref(form_key, ptr) or not isinstance(scope, dict):
            return
        if form_key not in permissions:
            self.errors.append(_err("role.not_granted", ptr, f"the role grants nothing on form {form_key!r}; "
                                    "add it to permissions or remove its row scope", form=form_key))
        kind, key = scope.get("scope"), scope.get("field")
        widget = self._SCOPE_WIDGETS.get(kind)
        if widget and isinstance(key, str):
            definition = self.fields[form_key].get(key)
            if definition is None:
                self.errors.append(_err("package.unknown_field", pointer_join(ptr, "field"),
                                        f"form {form_key!r} has no field {key!r}", form=form_key, field=key))
            elif definition.get("widget") != widget:
                self.errors.append(_err("role.scope_field", pointer_join(ptr, "field"),
                                        f"row scope {kind!r} needs a {widget} field; {key!r} is a "
                                        f"{definition.get('widget')} field", form=form_key, field=key))
        if kind == "condition" and isinstance(scope.get("condition"), str):
            self.expression(scope["condition"], pointer_join(ptr, "condition"))
            for name in _expression_names(scope["condition"]):
                if name not in self.fields[form_key] and name not in SYSTEM_COLUMNS:
                    self.errors.append(_err("package.unknown_field", pointer_join(ptr, "condition"),
                                            f"form {form_key!r} has no field {name!r}", form=form_key, field=name))

    def report(self, report: dict, ptr: str) -> None:
        self.form_ref(report.get("form"), pointer_join(ptr, "form"))
        self.aliases = {j["as"]: j["field"] for _, j in _items(report.get("joins"))
                        if isinstance(j.get("as"), str) and isinstance(j.get("field"), str)}
        self.in_report = True
        try:
            self.references(report, ptr, report.get("form"))
            self.expression(report.get("filter_expr"), pointer_join(ptr, "filter_expr"))
        finally:
            self.aliases = {}
            self.in_report = False

    # -- names of people, calendars and flows ------------------------------------------------
    def name_ref(self, kind: str, value: Any, ptr: str, form_key: Any) -> None:
        """``value`` names a ``kind`` (user, role, group, field, calendar) that must exist."""
        if not isinstance(value, str):
            return
        if kind == "field":
            self.field_ref(form_key, value, ptr)
            return
        known = {"role": self.roles, "group": self.groups, "calendar": self.calendars,
                 "user": self.users}[kind]
        if known is None or value in known:
            return
        where = {"user": "create the user first (jimu create-user) or name an existing one",
                 "role": "add the role to the package's roles",
                 "group": "add the group to the package's groups",
                 "calendar": "add the calendar to the package's calendars"}[kind]
        self.errors.append({"code": f"package.unknown_{kind}", "pointer": ptr, kind: value,
                            "message": f"{kind} {value!r} does not exist: {where}, or correct the name"})

    def assignee(self, value: Any, ptr: str, form_key: Any) -> None:
        if not isinstance(value, dict):
            return
        kind = ASSIGNEE_VALUES.get(value.get("kind"))
        if kind is not None:
            self.name_ref(kind, value.get("value"), pointer_join(ptr, "value"), form_key)
        if isinstance(value.get("fallback"), dict):
            self.assignee(value["fallback"], pointer_join(ptr, "fallback"), form_key)

    def recipients(self, value: Any, ptr: str, form_key: Any) -> None:
        if not isinstance(value, dict):
            return
        if "kind" in value:  # reassign_task's "to" is an assignee
            self.assignee(value, ptr, form_key)
            return
        for prop, kind in RECIPIENT_LISTS.items():
            items = value.get(prop)
            for i, item in enumerate(items if isinstance(items, list) else []):
                self.name_ref(kind, item, pointer_join(ptr, prop, i), form_key)

    def actions(self, actions: Any, ptr: str, form_key: Any) -> None:
        """People, recipients and fields the actions of a rule or automatic step name."""
        for i, action in _items(actions):
            at = pointer_join(ptr, i)
            for prop, kind in ACTION_NAMES.items():
                value = action.get(prop)
                if isinstance(value, list):
                    for j, item in enumerate(value):
                        self.name_ref(kind, item, pointer_join(at, prop, j), form_key)
                else:
                    self.name_ref(kind, value, pointer_join(at, prop), form_key)
            self.recipients(action.get("to"), pointer_join(at, "to"), form_key)
            self.recipients(action.get("cc"), pointer_join(at, "cc"), form_key)
            for j, item in enumerate(action.get("attach") if isinstance(action.get("attach"), list) else []):
                self.name_ref("field", item, pointer_join(at, "attach", j), form_key)
            self.flow_node(action, at)
            if action.get("type") == "set_fields" and isinstance(action.get("values"), dict):
                for key in action["values"]:
                    self.name_ref("field", key, pointer_join(at, "values", key), form_key)
            if not isinstance(action.get("form"), str) or action.get("form") == form_key:
                self.placeholders(action, at, form_key, ("subject", "body", "link"))

    def placeholders(self, owner: dict, ptr: str, form_key: Any, props: tuple[str, ...], also=()) -> None:
        """``{字段}`` placeholders of a template text name fields of the form it renders."""
        from engines.rule.templates import TemplateError, compile_template
        if not isinstance(form_key, str) or form_key not in self.forms:
            return
        for prop in props:
            texts = owner.get(prop)
            texts = texts.items() if isinstance(texts, dict) else [(None, texts)]
            for lang, text in texts:
                if not isinstance(text, str):
                    continue
                at = pointer_join(ptr, prop, *([lang] if lang is not None else []))
                try:
                    names = compile_template(text).placeholders
                except TemplateError:
                    continue  # the rule engine's compile reports the syntax
                for name in names:
                    head = name.partition(".")[0]
                    if head not in self.fields[form_key] and head not in SYSTEM_COLUMNS and head not in also:
                        self.errors.append(_err("package.unknown_placeholder", at,
                                                f"placeholder {{{name}}} names no field of form {form_key!r}",
                                                form=form_key, field=name))

    def trigger(self, trigger: Any, ptr: str, form_key: Any) -> None:
        if not isinstance(trigger, dict):
            return
        self.name_ref("calendar", trigger.get("calendar"), pointer_join(ptr, "calendar"), form_key)
        for prop in ("fields",):
            for i, key in enumerate(trigger.get(prop) if isinstance(trigger.get(prop), list) else []):
                self.name_ref("field", key, pointer_join(ptr, prop, i), form_key)
        self.flow_node(trigger, ptr)

    def flow_node(self, owner: dict, ptr: str) -> None:
        """``flow`` (and ``task`` or ``node``) of a trigger or action name a flow of this package and
        one of its nodes."""
        flow_key = owner.get("flow")
        if not isinstance(flow_key, str):
            return
        flow = self.flows.get(flow_key)
        if flow is None:
            self.errors.append(_err("package.unknown_flow", pointer_join(ptr, "flow"),
                                    f"flow {flow_key!r} does not exist", flow=flow_key))
            return
        for prop in ("task", "node"):
            if isinstance(owner.get(prop), str) and owner[prop] not in _node_ids(flow):
                self.errors.append(_err("package.unknown_node", pointer_join(ptr, prop),
                                        f"flow {flow_key!r} has no node {owner[prop]!r}",
                                        flow=flow_key, node=owner[prop]))

    def process_nodes(self, value: Any, ptr: str, form_key: Any) -> None:
        """The steps a rule's ``process.node`` test names are steps of a flow of the rule's form (a step
        deleted or a flow moved to another form would leave the test never true)."""
        known = {n for flow in self.flows.values() if flow.get("form") == form_key for n in _node_ids(flow)}
        for i, step in enumerate(value if isinstance(value, list) else [value]):
            if isinstance(step, str) and step not in known:
                self.errors.append(_err("package.unknown_node", pointer_join(ptr, i) if isinstance(value, list)
                                        else ptr, f"no flow of form {form_key!r} has a node {step!r}",
                                        form=form_key, node=step))

    def rule(self, rule: dict, ptr: str) -> None:
        form_key = rule.get("form")
        self.form_ref(form_key, pointer_join(ptr, "form"))
        self.in_rule = True
        try:
            self.references(rule, ptr, form_key)
        finally:
            self.in_rule = False
        self.trigger(rule.get("trigger"), pointer_join(ptr, "trigger"), form_key)
        self.actions(rule.get("actions"), pointer_join(ptr, "actions"), form_key)

    def template(self, template: dict, ptr: str) -> None:
        """A message template: besides the fields of its form it may name what a flow's messages say
        (``{sla_due}``, ``{task_label}``…, ``engines.flow.messages.VARIABLES``)."""
        from engines.flow.messages import VARIABLES
        if template.get("form") is not None:
            self.form_ref(template.get("form"), pointer_join(ptr, "form"))
        self.placeholders(template, ptr, template.get("form"), ("subject", "body"), also=VARIABLES)

    def node(self, node: dict, ptr: str, form_key: Any, names: Any) -> None:
        """Assignees, field permissions, calendars, SLA and automatic actions of one flow node."""
        config = node.get("config")
        if not isinstance(config, dict):
            return
        at = pointer_join(ptr, "config")
        self.assignee(config.get("assignee"), pointer_join(at, "assignee"), form_key)
        for i, assignee in enumerate(config.get("assignees") if isinstance(config.get("assignees"), list) else []):
            self.assignee(assignee, pointer_join(at, "assignees", i), form_key)
        permissions = config.get("fields")
        for key in permissions if isinstance(permissions, dict) else {}:
            self.name_ref("field", key, pointer_join(at, "fields", key), form_key)
        self.name_ref("calendar", config.get("calendar"), pointer_join(at, "calendar"), form_key)
        self.name_ref("field", config.get("until"), pointer_join(at, "until"), form_key)
        sla = config.get("sla")
        levels = [(pointer_join(at, "sla"), sla)] if isinstance(sla, dict) else \
            [(pointer_join(at, "sla", i), level) for i, level in _items(sla)]
        for sla_ptr, level in levels:
            if not isinstance(level, dict):
                continue
            self.name_ref("calendar", level.get("calendar"), pointer_join(sla_ptr, "calendar"), form_key)
            self.assignee(level.get("assignee"), pointer_join(sla_ptr, "assignee"), form_key)
            self.expression(level.get("unless"), pointer_join(sla_ptr, "unless"), names)
            for key in level.get("set") if isinstance(level.get("set"), dict) else {}:
                self.name_ref("field", key, pointer_join(sla_ptr, "set", key), form_key)
        if isinstance(config.get("actions"), list):
            self.references(config["actions"], pointer_join(at, "actions"), form_key)
            self.actions(config["actions"], pointer_join(at, "actions"), form_key)

    def first_response(self, spec: Any, ptr: str, form_key: Any) -> None:
        """A flow's ``first_response``: a form whose ``link`` field points at the flow's form, and
        filters on that form's fields."""
        if not isinstance(spec, dict) or not self.form_ref(spec.get("form"), pointer_join(ptr, "form")):
            return
        other = spec["form"]
        link = self.fields[other].get(spec.get("link"))
        if link is None or link.get("widget") != "link" or (link.get("config") or {}).get("form") != form_key:
            self.errors.append(_err("package.unknown_field", pointer_join(ptr, "link"),
                                    f"first_response.link must be a link field of {other!r} pointing to the "
                                    f"flow's form {form_key!r}", field=spec.get("link")))
        for i, flt in _items(spec.get("filter")):
            if isinstance(flt.get("field"), str):
                self.field_ref(other, flt["field"], pointer_join(ptr, "filter", i, "field"))

    def flow_messages(self, flow: dict, ptr: str) -> None:
        """A deadline message of the flow's service-level clocks that names a ``template`` names one of
        the package's message templates."""
        known = {t.get("key") for _, t in _items(self.data.get("templates"))}
        sla = flow.get("sla") if isinstance(flow.get("sla"), dict) else {}
        for i, clock in _items(sla.get("clocks")):
            notify = clock.get("notify") if isinstance(clock.get("notify"), dict) else {}
            for kind, messages in notify.items():
                for j, message in _items(messages):
                    key = message.get("template")
                    if isinstance(key, str) and key not in known:
                        self.errors.append(_err("package.unknown_template",
                                                pointer_join(ptr, "sla", "clocks", i, "notify", kind, j, "template"),
                                                f"no message template {key!r} in the package", template=key))

    def flow(self, flow: dict, ptr: str) -> None:
        form_key = flow.get("form")
        self.form_ref(form_key, pointer_join(ptr, "form"))
        names = (set(self.fields[form_key]) | set(RECORD_NAMES)) if form_key in self.fields else None
        raw_nodes = flow.get("nodes")
        node_items = ([(pointer_join(ptr, "nodes", k), n) for k, n in raw_nodes.items() if isinstance(n, dict)]
                      if isinstance(raw_nodes, dict) else
                      [(pointer_join(ptr, "nodes", i), n) for i, n in _items(raw_nodes)])
        for node_ptr, node in node_items:
            self.node(node, node_ptr, form_key, names)
        self.first_response(flow.get("first_response"), pointer_join(ptr, "first_response"), form_key)
        self.flow_messages(flow, ptr)
        nodes = flow.get("nodes")
        if isinstance(nodes, dict):  # a flow may key its nodes by id
            node_ids = {k for k in nodes if isinstance(k, str)}
        else:
            self.errors += _duplicates(((pointer_join(ptr, "nodes", i, "id"), n.get("id")) for i, n in _items(nodes)),
                                       "flow.duplicate_id", "node id")
            node_ids = {n["id"] for _, n in _items(nodes) if isinstance(n.get("id"), str)}
        edges = flow.get("edges")
        self.errors += _duplicates(((pointer_join(ptr, "edges", i, "id"), e.get("id")) for i, e in _items(edges)),
                                   "flow.duplicate_id", "edge id")
        for i, edge in _items(edges):
            for end in ("from", "to"):
                target = edge.get(end)
                if isinstance(target, str) and target not in node_ids:
                    self.errors.append(_err("flow.dangling_edge", pointer_join(ptr, "edges", i, end),
                                            f"edge {end} {target!r} is not a node of this flow", node=target))
            self.expression(edge.get("condition"), pointer_join(ptr, "edges", i, "condition"), names,
                            edge=edge.get("id") if isinstance(edge.get("id"), str) else f"e{i}")


def _node_ids(flow: dict) -> set[str]:
    nodes = flow.get("nodes")
    if isinstance(nodes, dict):
        return {k for k in nodes if isinstance(k, str)}
    return {n["id"] for _, n in _items(nodes) if isinstance(n.get("id"), str)}


def _expression_names(text: str) -> set[str]:
    """The bare names (field keys) an expression reads; function names are not included."""
    import ast
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return set()  # the expression check reports it
    calls = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in calls
            and n.id not in ("True", "False", "None", "true", "false", "null")}


def pointer_join(base: str, *parts: Any) -> str:
    return base + pointer(*parts)


def semantic_errors(data: dict, installed: Any = None) -> list[Error]:
    """Cross-reference errors: duplicate keys, unknown forms/fields/reports/widgets/groups/roles/
    users/calendars/flows, bad layout, dangling flow edges, expressions that do not compile or
    name what is not there. ``installed`` (``apps.compile.Installed``) adds the deployment's
    users and platform-level roles and groups."""
    return _Checker(data, installed).run()
