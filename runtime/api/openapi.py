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

from flask import jsonify, request

from ..auth import current_principal
from ..auth.policy import can, field_access, visible_forms
from ..auth.principal import VERBS
from ..context import current_jimu
from ..exceptions import JimuError, NotAuthenticated
from . import bp
from .util import query_args

#: forms in one document; beyond it the caller narrows it with ``?app=``
MAX_FORMS = 200

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                   "errors": {"type": "array", "items": {"type": "object"}}}}}}
SYSTEM = {"type": "object", "properties": {
    "id": {"type": "integer"}, "row_version": {"type": "integer"},
    "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"},
    "created_by": {"type": ["integer", "null"]}, "updated_by": {"type": ["integer", "null"]}}}
PARAMETERS = {
    "filter": {"name": "filter", "in": "query", "schema": {"type": "string"},
               "description": "JSON filter: {field, op, value} or {all|any: [...]}"},
    "sort": {"name": "sort", "in": "query", "schema": {"type": "string"},
             "description": "comma-separated field keys, '-' for descending"},
    "q": {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "text search"},
    "page": {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    "per_page": {"name": "per_page", "in": "query", "schema": {"type": "integer", "maximum": 500}},
    "id": {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
    "if_match": {"name": "If-Match", "in": "header", "schema": {"type": "string"},
                 "description": "the row_version you read; a stale one gets 409"},
}
ERROR_RESPONSE = {"description": "error: {error: {code, message, errors?}}",
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


class TooManyForms(JimuError):
    code = "openapi.too_many_forms"
    status = 422


def _ref(kind: str, name: str) -> dict:
    return {"$ref": f"#/components/{kind}/{name}"}


def _errors(*codes: int) -> dict:
    return {str(c): _ref("responses", "Error") for c in codes}


def _params(*names: str) -> list[dict]:
    return [_ref("parameters", n) for n in names]


def _submission(ft, access) -> dict:
    """The form's submission schema without hidden fields; read-only fields marked ``readOnly``."""
    schema = ft.spec.json_schema()
    schema.pop("$schema", None)
    props = schema.get("properties", {})
    for key, level in access.items():
        if level == "hidden":
            props.pop(key, None)
        elif key in props:
            props[key] = {**props[key], "readOnly": True}
    if "required" in schema:
        schema["required"] = [k for k in schema["required"] if k in props]
        if not schema["required"]:
            del schema["required"]
    return schema


def build_openapi(forms, principal, lang: str = "en") -> dict:
    """The document of ``forms`` (form tables) for ``principal``: each form's paths for the verbs
    the principal holds on it."""
    schemas: dict = {"Error": ERROR, "System": SYSTEM}
    paths: dict = {}
    for i, ft in enumerate(forms):
        name = f"Form{i}"
        schemas[f"{name}Input"] = _submission(ft, field_access(principal, ft.key))
        schemas[name] = {"allOf": [_ref("schemas", f"{name}Input"), _ref("schemas", "System")]}
        title = ft.spec.label_text(lang)
        one = {"application/json": {"schema": _ref("schemas", name)}}
        verbs = {v for v in VERBS if can(principal, v, ft.key)}
        base, item = {}, {"parameters": _params("id")}
        if "read" in verbs:
            base["get"] = {
                "summary": f"List {title}", "tags": [title], "operationId": f"list_{name}",
                "parameters": _params("filter", "sort", "q", "page", "per_page"),
                "responses": {"200": {"description": "a page of records", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {
                        "records": {"type": "array", "items": _ref("schemas", name)},
                        "total": {"type": "integer"}}}}}}, **_errors(400, 401, 403)}}
            item["get"] = {"summary": f"Read {title}", "tags": [title], "operationId": f"get_{name}",
                           "responses": {"200": {"description": "the record", "content": one},
                                         **_errors(401, 403, 404)}}
        if "create" in verbs:
            base["post"] = {
                "summary": f"Create {title} (an array creates in bulk)", "tags": [title],
                "operationId": f"create_{name}",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "oneOf": [_ref("schemas", f"{name}Input"),
                              {"type": "array", "items": _ref("schemas", f"{name}Input")}]}}}},
                "responses": {"201": {"description": "created", "content": one}, **_errors(401, 403, 409, 422)}}
        if "update" in verbs:
            item["patch"] = {
                "summary": f"Update {title}", "tags": [title], "operationId": f"update_{name}",
                "parameters": _params("if_match"),
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": _ref("schemas", f"{name}Input")}}},
                "responses": {"200": {"description": "updated", "content": one},
                              **_errors(401, 403, 404, 409, 422)}}
        if "delete" in verbs:
            item["delete"] = {"summary": f"Delete {title}", "tags": [title], "operationId": f"delete_{name}",
                              "responses": {"204": {"description": "deleted"}, **_errors(401, 403, 404, 409)}}
        if base:
            paths[f"/forms/{ft.key}/records"] = base
        if len(item) > 1:
            paths[f"/forms/{ft.key}/records/{{id}}"] = item
    return {
        "openapi": "3.1.0",
        "info": {"title": "Jimu records API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "components": {"schemas": schemas, "parameters": PARAMETERS, "responses": {"Error": ERROR_RESPONSE},
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                           "session": {"type": "apiKey", "in": "cookie", "name": "session"}}},
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
    }


@bp.get("/openapi.json")
@query_args("app", "lang")
def openapi_document():
    principal = current_principal()
    if not principal.is_authenticated:
        raise NotAuthenticated("log in or send an API token (Authorization: Bearer ...) to read the API description")
    jimu = current_jimu()
    app_key = request.args.get("app") or None
    with jimu.read():
        forms = visible_forms(principal, jimu.catalog, app_key)
        if len(forms) > MAX_FORMS and app_key is None:
            apps = sorted({ft.app_key for ft in forms if ft.app_key})
            raise TooManyForms(f"you may use {len(forms)} forms; ask for one app at a time with ?app=<key> "
                               f"(for example ?app={apps[0]})" if apps else "narrow the document with ?app=<key>",
                               forms=len(forms), apps=apps[:100], limit=MAX_FORMS)
        doc = build_openapi(forms, principal, request.args.get("lang", "en"))
    return jsonify(doc)
