"""An OpenAPI 3.1 document of the records API, generated per caller from the installed forms.

Each form gets its record schema (from ``FormSpec.json_schema()``, so
integrators see the same rules the server enforces) and the paths of the verbs
the caller holds on it. The document needs a login or a token and describes
only the forms the caller may use (``policy.visible_forms``), without the
fields hidden from them: one tenant's schema is not another's business, and a
platform with thousands of forms does not send them all to everyone. Shared
parameters and error responses are components, referenced once per path, so a
form costs its schema and a few references; ``?app=<key>`` narrows the
document to one app, and a caller who may see more than ``MAX_FORMS`` forms
is asked to (one app's document is always served whole).
"""
from __future__ import annotations

import random
import re
from decimal import Decimal

from flask import jsonify, request

from ..auth import current_principal
from ..auth.policy import can, field_access, visible_forms
from ..auth.principal import VERBS
from ..context import current_jimu
from ..exceptions import JimuError, NotAuthenticated
from ..records import MAX_BULK, MAX_PAGE
from ..store.search import COUNT_CAP
from .records import MAX_BATCH
from . import bp
from .models import ROUTES, Route, models
from .shape import EXPANDABLE, expandable
from .util import MAX_INT, declared_args, query_args

#: forms in one document; beyond it the caller narrows it with ``?app=``
MAX_FORMS = 200

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                   "errors": {"type": "array", "items": {"type": "object"}}}}}}
#: the columns every record carries, written by the server only
SYSTEM = {
    "id": {"type": "integer", "readOnly": True}, "row_version": {"type": "integer", "readOnly": True},
    "created_at": {"type": "string", "format": "date-time", "readOnly": True},
    "updated_at": {"type": ["string", "null"], "format": "date-time", "readOnly": True},
    "created_by": {"type": ["integer", "null"], "readOnly": True},
    "updated_by": {"type": ["integer", "null"], "readOnly": True}}
PARAMETERS = {
    "q": {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "text search"},
    # page * per_page stays a 64-bit offset (``list_records``): this bound holds for every per_page
    "page": {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                       "maximum": MAX_INT // MAX_PAGE},
             "description": "1-based; page × per_page past the 64-bit offset range is a 400"},
    "per_page": {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                               "maximum": MAX_PAGE},
                 "description": f"records per page (default 50); above {MAX_PAGE} is a 400"},
    "id": {"name": "id", "in": "path", "required": True,
           "schema": {"type": "integer", "minimum": 1, "maximum": MAX_INT}},
    "if_match": {"name": "If-Match", "in": "header", "schema": {
        "type": "string", "pattern": r'^(\*|(W/)?"\d{1,18}"( *, *(W/)?"\d{1,18}")*)$'},
                 "description": "the ETag you read (such as \"3\") or *; a stale one gets 412"},
    "if_none_match": {"name": "If-None-Match", "in": "header", "schema": {"type": "string"},
                      "description": "the ETag you hold; an unchanged record answers 304"},
    "idempotency_key": {"name": "Idempotency-Key", "in": "header",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[ -~]+$"},
                        "description": "a retry with the same key and body replays the first answer"},
}
ERROR_RESPONSE = {"description": "error: {error: {code, message, errors?}}",
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
RATE_LIMITED = {"description": "over API_RATE_LIMIT (per token) or API_RATE_LIMIT_ANONYMOUS (per address): "
                "wait Retry-After seconds; code api.rate_limited",
                "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
ETAG = {"ETag": {"description": "the record's strong entity tag, its quoted row_version",
                 "schema": {"type": "string"}}}


class TooManyForms(JimuError):
    code = "openapi.too_many_forms"
    status = 422


def _ref(kind: str, name: str) -> dict:
    return {"$ref": f"#/components/{kind}/{name}"}


def _errors(*codes: int) -> dict:
    """The coded errors of an operation; every operation may also be refused by the rate limit."""
    return {**{str(c): _ref("responses", "Error") for c in codes}, "429": _ref("responses", "RateLimited")}


def _params(*names: str) -> list[dict]:
    return [_ref("parameters", n) for n in names]


def _nullable(schema: dict) -> dict:
    """``schema`` also admitting null: a stored record carries null for every empty field (an empty
    multi-value field too), whatever its submission schema says."""
    schema = dict(schema)
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        schema["type"] = [*kind, "null"]
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema


def _sent(schema: dict) -> dict:
    """A value as the server sends it: decimals go out as strings (``jsonable``), so a number may be
    a numeric string too, and patterns describe text only."""
    kind = schema.get("type")
    kinds = [kind] if isinstance(kind, str) else list(kind or [])
    if "number" in kinds and "string" not in kinds:
        schema = {**schema, "type": [*kinds, "string"]}
    return schema


def _record(spec, access) -> dict:
    """What a record of ``spec`` looks like in a response: every stored field (computed ones marked
    ``readOnly``) nullable, the system columns, no field hidden from the caller. Other keys are
    allowed, so a field added by a new version does not break older clients."""
    props: dict = {}
    for f in spec.fields:
        if f.storage == "none" or access.get(f.key) == "hidden":
            continue
        if f.children is not None:
            row = _record(f.children, {})
            row["properties"] = {"id": {"type": "integer", "readOnly": True}, **row["properties"]}
            schema = {"type": "array", "items": row}
        else:
            schema = _sent(dict(f.widget.json_schema()))
            if f.widget.value_kind in EXPANDABLE:
                schema = _expandable(schema)
        schema = _nullable(schema)
        schema["title"] = f.label_text("zh-CN")
        if f.computed or f.read_only or access.get(f.key) == "read":
            schema["readOnly"] = True
        props[f.key] = schema
    return {"type": "object", "properties": props}


#: an id as ``expand=`` sends it: the linked record, user or group, or ``{id}`` when not readable
EXPANDED = {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}


def _expandable(schema: dict) -> dict:
    """A link, user or group value: an id, or with ``expand=`` an object carrying it."""
    if schema.get("type") == "array":
        return {**schema, "items": {"anyOf": [schema["items"], EXPANDED]}, "uniqueItems": False}
    return {"anyOf": [_nullable(schema), EXPANDED]}


def _top_record(spec, access) -> dict:
    out = _record(spec, access)
    out["properties"] = {**SYSTEM, **out["properties"]}
    out["required"] = ["id", "row_version"]
    return out


def _submission(ft, access, *, partial: bool = False) -> dict:
    """The form's submission schema without hidden fields; read-only fields marked ``readOnly``.
    ``partial`` (PATCH): no field is required."""
    schema = ft.spec.json_schema()
    schema.pop("$schema", None)
    schema.pop("title", None)  # the component's name is the model's (Create and Update share the form's title)
    props = schema.get("properties", {})
    for key, level in access.items():
        if level == "hidden":
            props.pop(key, None)
    if partial:  # an update may carry the version it read (optimistic locking without If-Match)
        props["row_version"] = {"type": "integer", "description": "the row_version you read; a stale one is a 409"}
    for key, prop in props.items():
        kinds = prop.get("type") or []
        if "string" in kinds and "number" in kinds and ("minimum" in prop or "maximum" in prop):
            # a schema cannot bound a numeric string's value: the document sends bounded amounts as numbers
            props[key] = {**{k: v for k, v in prop.items() if k != "pattern"},
                          "type": [k for k in kinds if k != "string"]}
    for key in schema.get("required", ()):
        if key in props:  # a required field takes no null and, being text, no blank
            props[key] = _present(props[key])
    conditional = [_required_when(f, props) for f in ft.spec.input_fields if f.key in props]
    if conditional := [c for c in conditional if c]:
        schema["allOf"] = conditional
    ignored = {k for k, level in access.items() if level == "read"} | {
        f.key for f in ft.spec.input_fields if f.read_only}
    for key in ignored & props.keys():  # any value may be sent: the server keeps what is stored
        props[key] = {"readOnly": True, "title": props[key].get("title", key),
                      "description": "read-only: a value sent is ignored"}
    if "required" in schema:
        schema["required"] = [k for k in schema["required"] if k in props and not partial]
        if not schema["required"]:
            del schema["required"]
    return schema


def _condition(tree: dict) -> dict | None:
    """An expression (``visible_if``, ``required_if``) as a JSON Schema condition on the submission, for
    the forms a schema can state: ``key == literal``, ``!=``, ``in [literals]``, ``and``, ``or``, ``not``.
    None for any other expression (the document then states the rule as ``x-required-if`` only)."""
    kind = tree.get("t")
    if kind == "bool":
        parts = [_condition(v) for v in tree["vs"]]
        if None in parts:
            return None
        return {"allOf" if tree["op"] == "and" else "anyOf": parts}
    if kind == "un" and tree.get("op") == "not":
        inner = _condition(tree["e"])
        return None if inner is None else {"not": inner}
    if kind != "cmp" or len(tree["ops"]) != 1 or tree["l"].get("t") != "name":
        return None
    name, op, right = tree["l"]["n"], tree["ops"][0], tree["cs"][0]
    if right.get("t") == "lit" and op in ("==", "!="):
        test = {"properties": {name: {"const": right["v"]}}, "required": [name]}
        return test if op == "==" else {"not": test}
    if right.get("t") == "list" and op == "in" and all(i.get("t") == "lit" for i in right["items"]):
        return {"properties": {name: {"enum": [i["v"] for i in right["items"]]}}, "required": [name]}
    return None


def _required_when(f, props: dict) -> dict | None:
    """``if``/``then`` for a field required only under conditions (its ``visible_if``, its sections'
    conditions and its ``required_if``): when they hold, the field must be sent, not null, not blank."""
    conditions = [e for e in (f.visible_if, *f.sections) if e is not None]
    if not (f.required or f.required_if is not None) or not (conditions or f.required_if is not None):
        return None
    if f.required_if is not None:
        conditions.append(f.required_if)
    tests = [_condition(e.tree) for e in conditions]
    if None in tests:
        props[f.key] = {**props[f.key], "x-required-if": " and ".join(f"({e.source})" for e in conditions)}
        return None
    return {"if": tests[0] if len(tests) == 1 else {"allOf": tests},
            "then": {"required": [f.key], "properties": {f.key: _present(props[f.key])}}}


#: a character Python's ``str.strip`` keeps (it also strips \x1c-\x1f and \x85, which \s leaves)
NONBLANK = r"[^\s\x1c-\x1f\x85]"


#: the one-line text pattern (``TextWidget``), and it holding a character that is not blank
ONE_LINE = r"^[^\r\n]*$"
_BLANKS = ("", " ", "\x1e", "\u3000")


def _nonblank(schema: dict) -> dict:
    """A text schema that takes no blank text. One pattern where it can be (client generators read an
    ``allOf`` as a model, and generators of examples do not take lookaheads): a pattern that matches
    no blank text already, the one-line pattern with a non-blank character inside; else an allOf."""
    pattern = schema.get("pattern")
    if pattern is None:
        return {**schema, "pattern": NONBLANK}
    if pattern == ONE_LINE:
        return {**schema, "pattern": rf"^[^\r\n]*{NONBLANK}[^\r\n]*$"}
    if not any(re.search(pattern, b) for b in _BLANKS):
        return schema
    return {"allOf": [schema, {"pattern": NONBLANK}]}


def _present(schema: dict, *, blank: bool = False) -> dict:
    """``schema`` without null; a text one must hold a non-blank character (values are stripped)
    unless ``blank`` (a filter may compare with the empty string)."""
    schema = dict(schema)
    kind = schema.get("type")
    if isinstance(kind, list):
        schema["type"] = [k for k in kind if k != "null"]
    if "enum" in schema:
        schema["enum"] = [v for v in schema["enum"] if v is not None] + ([""] if blank else [])
    if schema.get("type") == ["string"] and not blank:
        schema = _nonblank(schema)
    return schema


#: text widgets whose reading checks the form of the value (a filter value must have it too)
_FORMED = frozenset({"email", "phone", "url"})


def _kind(widget, schema: dict | None = None) -> dict:
    """The type of a value (a date's form, a number's digits, an id's range, an address's form): a
    filter compares values, it does not apply the field's configured min and max or text patterns.
    ``schema``: the part of the widget's schema meant (one item of a multi-value field)."""
    schema = widget.json_schema() if schema is None else schema
    keep = ("type", "enum", "items", "exclusiveMinimum", "exclusiveMaximum")
    if getattr(widget, "accepts_files", False) and "items" in schema:  # any size: the field's limit is for uploads
        item = schema["items"]
        schema = {**schema, "items": {**item, "properties": {**item["properties"], "size": {
            k: v for k, v in item["properties"]["size"].items() if k != "maximum"}}}}
    if "format" in schema or "number" in (schema.get("type") or ()) or widget.type in _FORMED:
        keep += ("format", "pattern")
    return {k: v for k, v in schema.items() if k in keep}


def _query(ft, access) -> list[dict]:
    """``sort`` and ``filter`` of one form: the keys it can order by, and the equality filters it takes
    (other operators and ``all``/``any`` groups work too; see docs/expressions.md)."""
    keys = [k for k in (*SYSTEM, *ft.columns, *ft.multi) if access.get(k) != "hidden"]
    names = "|".join(re.escape(k) for k in keys)
    sort = {"name": "sort", "in": "query", "description": "comma-separated field keys, '-' for descending",
            "schema": {"type": "string", "pattern": f"^([-+]?({names})(,[-+]?({names}))*)?$"}}
    equal = []
    for f in ft.spec.fields:
        if f.key in ft.columns and f.key not in ft.multi and access.get(f.key) != "hidden" \
                and f.children is None:
            equal.append({"type": "object", "required": ["field", "value"], "additionalProperties": False,
                          "properties": {"field": {"const": f.key}, "op": {"const": "eq"},
                                         # null compares with an empty field
                                         "value": _nullable(_present(_kind(f.widget), blank=True))}})
    for key, mt in ft.multi.items():  # several values: one of them equals the value (or none does)
        if access.get(key) != "hidden":
            # contains needs a value that is not empty
            item = _present(_kind(mt.field.widget, mt.field.widget.json_schema().get("items") or {}))
            equal.append({"type": "object", "required": ["field", "op", "value"], "additionalProperties": False,
                          "properties": {"field": {"const": key}, "op": {"enum": ["contains", "not_contains"]},
                                         "value": item}})
    filter_ = {"name": "filter", "in": "query", "description": "JSON filter: {field, op, value} or "
               "{all|any: [...]}; the schema lists the equality filters and, for multi-value fields, "
               "contains/not_contains (contains_any, contains_all, is_empty take a list or nothing)",
               "content": {"application/json": {"schema": {"oneOf": equal} if equal else {"type": "object"}}}}
    return [sort, filter_, *_shape_params(ft, access)]


def _shape_params(ft, access) -> list[dict]:
    """``fields`` (which fields an answer carries) and ``expand`` (link, user and group fields sent as
    objects); see runtime/api/shape.py."""
    seen = [k for k in (*SYSTEM, *ft.spec.field_keys) if access.get(k) != "hidden"]
    out = [_names_param("fields", seen, "comma-separated field keys to send (id and row_version always come)")]
    expand = [k for k in seen if k not in SYSTEM and expandable(ft, k)]
    if expand:
        out.append(_names_param("expand", expand, "link, user and group fields to send as objects: a linked "
                                "record as you may read it ({id} only when you may not), a user {id, username, "
                                "display_name}, a group {id, key, label}"))
    return out


def _names_param(name: str, keys: list[str], description: str) -> dict:
    names = "|".join(re.escape(k) for k in keys)
    return {"name": name, "in": "query", "description": description,
            "schema": {"type": "string", "pattern": f"^({names})(,({names}))*$"}}


def model_name(ft) -> str:
    """``<app>.<form>``: the prefix of a form's models, stable across documents and callers."""
    return f"{ft.app_key or 'jimu'}.{ft.key}"


def _example(ft, create: dict) -> dict | None:
    """A submission that passes ``create``: its required fields and a few others, from the widgets'
    ``random_value`` (seeded by the form, so a document is stable); a required link names record 1;
    no files, sub-tables or optional fields behind conditions. None if no seed of a few fits."""
    from jsonschema import Draft202012Validator
    from engines.form.widgets.ids import IdWidget
    from ..audit import jsonable
    props, required = create["properties"], set(create.get("required", ()))
    check = Draft202012Validator(create)
    for seed in range(5):
        rng = random.Random(f"{ft.app_key}.{ft.key}.{seed}")
        out: dict = {}
        for f in ft.spec.input_fields:
            if (f.key not in props or props[f.key].get("readOnly") or f.children is not None
                    or getattr(f.widget, "accepts_files", False)
                    or f.key not in required and (isinstance(f.widget, IdWidget) or f.visible_if is not None
                                                  or f.required_if is not None or f.sections
                                                  or len(out) >= len(required) + 3)):
                continue
            try:
                value = 1 if isinstance(f.widget, IdWidget) else f.widget.random_value(rng)
                out[f.key] = float(value) if isinstance(value, Decimal) else jsonable(value)  # amounts as numbers
            except NotImplementedError:
                continue
        if required <= out.keys() and check.is_valid(out):
            return out
    return None


def _record_paths(ft, principal, lang: str, schemas: dict) -> dict:
    name = model_name(ft)
    access = field_access(principal, ft.key)
    schemas[f"{name}.Record"] = _top_record(ft.spec, access)
    schemas[f"{name}.Create"] = _submission(ft, access)
    schemas[f"{name}.Update"] = _submission(ft, access, partial=True)
    example = _example(ft, schemas[f"{name}.Create"])
    if example is not None:
        schemas[f"{name}.Create"]["examples"] = [example]
        schemas[f"{name}.Record"]["examples"] = [{
            "id": 1, "row_version": 1, "created_at": "2026-01-05T09:30:00+00:00",
            "updated_at": "2026-01-05T09:30:00+00:00", "created_by": 7, "updated_by": 7,
            **{k: v for k, v in example.items() if k in schemas[f"{name}.Record"]["properties"]}}]
    title = ft.spec.label_text(lang)
    one = {"application/json": {"schema": _ref("schemas", f"{name}.Record")}}
    verbs = {v for v in VERBS if can(principal, v, ft.key)}
    op = f"{ft.app_key or 'jimu'}_{ft.key}"
    base, item = {}, {"parameters": _params("id")}
    if "read" in verbs:
        base["get"] = {
            "summary": f"List {title}", "tags": [title], "operationId": f"list_{op}",
            "parameters": [*_query(ft, access), *_params("q", "page", "per_page")],
            "responses": {"200": {
                "description": "a page of records; ``next`` (and a Link header) names the next page",
                "headers": {"Link": {"schema": {"type": "string"}, "description": 'rel="next"'}},
                "content": {"application/json": {"schema": {
                    "type": "object", "required": ["records", "total", "total_capped", "page", "per_page", "next"],
                    "properties": {
                        "records": {"type": "array", "items": _ref("schemas", f"{name}.Record")},
                        "total": {"type": "integer", "minimum": 0},
                        "total_capped": {"type": "boolean", "description": (
                            f"true when a search (``q``) matches more than {COUNT_CAP:,} records: ``total`` is "
                            f"then {COUNT_CAP:,} (shown as \"{COUNT_CAP:,}+\"), the pages end there and, ranked "
                            "by relevance, they hold the best of the newest matches; narrow the search or add a "
                            "filter for an exact count (an export holds every match)")},
                        "page": {"type": "integer", "minimum": 1},
                        "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                        "next": {"type": ["string", "null"]}}}}}},
                **_errors(400, 401, 403, 404, 406)}}
        item["get"] = {"summary": f"Read {title}", "tags": [title], "operationId": f"get_{op}",
                       "parameters": [*_params("if_none_match"), *_shape_params(ft, access)],
                       "responses": {"200": {"description": "the record", "headers": ETAG, "content": one},
                                     "304": {"description": "not modified since the ETag sent"},
                                     **_errors(400, 401, 403, 404, 406)}}
    if "create" in verbs:
        base["post"] = {
            "summary": f"Create {title} (an array creates in bulk, all or nothing)", "tags": [title],
            "operationId": f"create_{op}", "parameters": _params("idempotency_key"),
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "oneOf": [_ref("schemas", f"{name}.Create"),
                          {"type": "array", "items": _ref("schemas", f"{name}.Create"),
                           "minItems": 1, "maxItems": MAX_BULK}]}}}},
            "responses": {"201": {
                "description": "created: the record (Location and ETag headers), or for an array the new ids",
                "headers": {"Location": {"schema": {"type": "string"}}},
                "content": {"application/json": {"schema": {"oneOf": [
                    _ref("schemas", f"{name}.Record"),
                    {"type": "object", "required": ["ids", "created"], "properties": {
                        "ids": {"type": "array", "items": {"type": "integer"}},
                        "created": {"type": "integer", "minimum": 0}}}]}}}},
                **_errors(400, 401, 403, 404, 406, 409, 413, 415, 422)}}
    if "update" in verbs:
        item["patch"] = {
            "summary": f"Update {title} (the fields sent)", "tags": [title], "operationId": f"update_{op}",
            "parameters": _params("if_match", "idempotency_key"),
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": _ref("schemas", f"{name}.Update")}}},
            "responses": {"200": {"description": "updated", "headers": ETAG, "content": one},
                          **_errors(400, 401, 403, 404, 406, 409, 412, 413, 415, 422)}}
    if "delete" in verbs:
        item["delete"] = {"summary": f"Delete {title}", "tags": [title], "operationId": f"delete_{op}",
                          "parameters": _params("if_match"),
                          "responses": {"204": {"description": "deleted"},
                                        **_errors(400, 401, 403, 404, 406, 409, 412)}}
    _link(base.get("post"), "201", "$response.body#/id", item, op)
    _link(base.get("get"), "200", "$response.body#/records/0/id", item, op, etag=False)
    _link(item.get("patch"), "200", "$response.body#/id", item, op)
    paths = {}
    batch_item = {**schemas[f"{name}.Update"], "required": ["id"]}
    batch_item["properties"] = {"id": PARAMETERS["id"]["schema"], **batch_item.get("properties", {})}
    batch_errors = _errors(400, 401, 403, 404, 406, 409, 413, 415, 422)
    batch_size = {"minItems": 1, "maxItems": MAX_BATCH}
    if "update" in verbs:
        schemas[f"{name}.BatchUpdate"] = batch_item
        base["patch"] = {
            "summary": f"Update many {title}, all or nothing (per-row errors name row and id)", "tags": [title],
            "operationId": f"batch_update_{op}", "parameters": _params("idempotency_key"),
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "array", "items": _ref("schemas", f"{name}.BatchUpdate"), **batch_size}}}},
            "responses": {"200": {"description": "every row updated", "content": {"application/json": {"schema": {
                "type": "object", "required": ["records", "updated"], "properties": {
                    "records": {"type": "array", "items": _ref("schemas", f"{name}.Record")},
                    "updated": {"type": "integer", "minimum": 1}}}}}}, **batch_errors}}
    if "delete" in verbs:
        paths[f"/forms/{ft.key}/records/batch-delete"] = {"post": {
            "summary": f"Delete many {title}, all or nothing (ids, or {{id, row_version}})", "tags": [title],
            "operationId": f"batch_delete_{op}", "parameters": _params("idempotency_key"),
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "array", **batch_size, "items": {"oneOf": [
                    PARAMETERS["id"]["schema"],
                    {"type": "object", "required": ["id"], "additionalProperties": False, "properties": {
                        "id": PARAMETERS["id"]["schema"], "row_version": {"type": "integer"}}}]}}}}},
            "responses": {"200": {"description": "every row deleted", "content": {"application/json": {"schema": {
                "type": "object", "required": ["ids", "deleted"], "properties": {
                    "ids": {"type": "array", "items": {"type": "integer"}},
                    "deleted": {"type": "integer", "minimum": 1}}}}}}, **batch_errors}}}
    if base:
        paths[f"/forms/{ft.key}/records"] = base
    if len(item) > 1:
        paths[f"/forms/{ft.key}/records/{{id}}"] = item
    return paths


def _link(operation: dict | None, status: str, id_from: str, item: dict, op: str, *, etag: bool = True) -> None:
    """Declare on ``operation``'s ``status`` response the links to the record operations of ``item``
    (read, update, delete) that take the id it answered, and for a write the ETag it answered as
    If-Match: how a client (and schemathesis' stateful run) goes from a new or listed record to the
    record itself."""
    if operation is None:
        return
    names = {"get": ("GetRecord", "get"), "patch": ("UpdateRecord", "update"), "delete": ("DeleteRecord", "delete")}
    operation["responses"][status]["links"] = {
        name: {"operationId": f"{verb}_{op}", "parameters": {
            "id": id_from, **({"header.If-Match": "$response.header.ETag"} if method != "get" and etag else {})}}
        for method, (name, verb) in names.items() if method in item}


#: the endpoints documented per form above (with their models), or not at all
_PER_FORM = frozenset({"api.list_records", "api.create_record", "api.get_record", "api.update_record",
                       "api.delete_record", "api.batch_update", "api.batch_delete"})
_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def _route_paths(schemas: dict) -> dict:
    """Every other route of ``/api/v1``, read from the URL map: its path and path parameters, the
    query parameters it declares (``query_args``; others are a 400), the summary from its docstring,
    its body and answer (``models.ROUTES``) and the coded errors every route may send. These routes
    serve the same for every caller (each checks the caller's rights itself)."""
    from flask import current_app
    paths: dict = {}
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint in _PER_FORM:
            continue
        path = _CONVERTER.sub(lambda m: "{" + m[2] + "}", rule.rule[len("/api/v1"):])
        params = [{"name": m[2], "in": "path", "required": True,
                   "schema": {"type": "integer", "minimum": 1, "maximum": MAX_INT} if m[1] == "int"
                   else {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}} for m in _CONVERTER.finditer(rule.rule)]
        params += [{"name": n, "in": "query", **(s if "content" in s else {"schema": s})}
                   for n, s in sorted(declared_args(rule.endpoint).items())]
        view = current_app.view_functions[rule.endpoint]
        summary = ((view.__doc__ or "").strip().splitlines() or [rule.endpoint.split(".")[-1]])[0]
        tag = view.__module__.rsplit(".", 1)[-1]
        route = ROUTES.get(rule.endpoint, Route())
        item = paths.setdefault(path, {})
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        for method in methods:
            write = method in ("POST", "PUT", "PATCH", "DELETE")
            operation = {
                "summary": summary, "tags": [tag], "operationId": rule.endpoint.split(".")[-1] + (
                    f"_{method.lower()}" if len(methods) > 1 else ""),
                "parameters": params,
                "responses": {str(route.status): _answer(route),
                              **_errors(400, 401, 403, 404, 406, *((409, 413, 415, 422) if write else ()))}}
            body = getattr(view, "openapi_body", None)  # declared on the view with util.body_schema
            if route.body is not None:
                operation["requestBody"] = {"required": route.body_required, "content": {
                    route.body_media: {"schema": _ref("schemas", route.body)}}}
            elif body is not None and method in ("POST", "PUT", "PATCH"):
                operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body(method)}}}
            item[method.lower()] = operation
    return paths


def _answer(route: Route) -> dict:
    if route.status == 204:
        return {"description": "done (no content)"}
    if route.ok is not None:
        return {"description": route.ok, "content": {route.media: {"schema": _ref("schemas", route.ok)}}}
    if route.media == "application/json":
        return {"description": "done", "content": {route.media: {"schema": {"type": "object"}}}}
    return {"description": "a download", "content": {route.media: {"schema": {"type": "string"}}}}


def build_openapi(forms, principal, lang: str = "en", keys: dict | None = None) -> dict:
    """The document of ``forms`` (form tables) for ``principal``: each form's models
    (``<app>.<form>.Record``, ``.Create``, ``.Update``) and paths for the verbs the principal holds on it,
    then the other routes with their models; ``keys`` (roles, groups, apps, forms) fill the bodies that
    name them."""
    keys = keys or {}
    schemas: dict = {"Error": ERROR, **models(**{k: keys.get(k) for k in ("roles", "groups", "apps", "forms")})}
    paths: dict = {}
    for ft in forms:
        paths.update(_record_paths(ft, principal, lang, schemas))
    paths.update(_route_paths(schemas))
    return {
        "openapi": "3.1.0",
        "info": {"title": "Jimu API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "components": {"schemas": schemas, "parameters": PARAMETERS, "responses": {"Error": ERROR_RESPONSE, "RateLimited": RATE_LIMITED},
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "an API token: Authorization: Bearer <token>"},
                                           "session": {"type": "apiKey", "in": "cookie", "name": "session"}}},
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
    }


def _keys(conn, principal, forms) -> dict:
    """The keys a body may name, as far as the caller may know them: the apps and forms of the document
    (a token's scope); roles and groups for administrators only (who alone manage users)."""
    keys = {"apps": sorted({ft.app_key for ft in forms if ft.app_key}), "forms": [ft.key for ft in forms]}
    if principal.is_admin:
        import sqlalchemy as sa
        from .. import db
        keys["roles"] = sorted(conn.execute(sa.select(db.roles.c.key)).scalars())
        keys["groups"] = sorted(set(conn.execute(sa.select(db.groups.c.key)).scalars()))
    return keys


@bp.get("/openapi.json")
@query_args("app", "lang")
def openapi_document():
    principal = current_principal()
    if not principal.is_authenticated:
        raise NotAuthenticated("log in or send an API token (Authorization: Bearer ...) to read the API description")
    jimu = current_jimu()
    app_key = request.args.get("app") or None
    with jimu.read() as conn:
        forms = visible_forms(principal, jimu.catalog, app_key)
        if len(forms) > MAX_FORMS and app_key is None:
            apps = sorted({ft.app_key for ft in forms if ft.app_key})
            raise TooManyForms(f"you may use {len(forms)} forms; ask for one app at a time with ?app=<key> "
                               f"(for example ?app={apps[0]})" if apps else "narrow the document with ?app=<key>",
                               forms=len(forms), apps=apps[:100], limit=MAX_FORMS)
        doc = build_openapi(forms, principal, request.args.get("lang", "en"), _keys(conn, principal, forms))
    return jsonify(doc)
