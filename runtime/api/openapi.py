"""An OpenAPI 3.1 document generated from the installed forms.

Each form gets its record schema (from ``FormSpec.json_schema()``, so
integrators see the same rules the server enforces) and its CRUD paths.
"""
from __future__ import annotations

from flask import jsonify, request

from ..context import current_jimu
from . import bp

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                   "errors": {"type": "array", "items": {"type": "object"}}}}}}
SYSTEM = {"id": {"type": "integer"}, "row_version": {"type": "integer"},
          "created_at": {"type": "string", "format": "date-time"},
          "updated_at": {"type": "string", "format": "date-time"},
          "created_by": {"type": ["integer", "null"]}, "updated_by": {"type": ["integer", "null"]}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _errors(*codes: int) -> dict:
    return {str(c): {"description": "error", "content": {"application/json": {"schema": _ref("Error")}}}
            for c in codes}


def build_openapi(catalog, lang: str = "en") -> dict:
    schemas: dict = {"Error": ERROR}
    paths: dict = {}
    for i, ft in enumerate(catalog):
        name = f"Form{i}"
        submission = ft.spec.json_schema()
        submission.pop("$schema", None)
        schemas[f"{name}Input"] = submission
        schemas[name] = {"allOf": [_ref(f"{name}Input"), {"type": "object", "properties": SYSTEM}]}
        title = ft.spec.label_text(lang)
        one = {"application/json": {"schema": _ref(name)}}
        base = f"/forms/{ft.key}/records"
        paths[base] = {
            "get": {"summary": f"List {title}", "tags": [title], "operationId": f"list_{name}",
                    "parameters": [
                        {"name": "filter", "in": "query", "schema": {"type": "string"},
                         "description": "JSON filter: {field, op, value} or {all|any: [...]}"},
                        {"name": "sort", "in": "query", "schema": {"type": "string"},
                         "description": "comma-separated field keys, '-' for descending"},
                        {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "text search"},
                        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                        {"name": "per_page", "in": "query", "schema": {"type": "integer", "maximum": 500}}],
                    "responses": {"200": {"description": "a page of records", "content": {"application/json": {
                        "schema": {"type": "object", "properties": {
                            "records": {"type": "array", "items": _ref(name)}, "total": {"type": "integer"}}}}}},
                        **_errors(400, 401, 403)}},
            "post": {"summary": f"Create {title} (an array creates in bulk)", "tags": [title],
                     "operationId": f"create_{name}",
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {
                         "oneOf": [_ref(f"{name}Input"), {"type": "array", "items": _ref(f"{name}Input")}]}}}},
                     "responses": {"201": {"description": "created", "content": one}, **_errors(401, 403, 409, 422)}},
        }
        paths[base + "/{id}"] = {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "get": {"summary": f"Read {title}", "tags": [title], "operationId": f"get_{name}",
                    "responses": {"200": {"description": "the record", "content": one}, **_errors(401, 403, 404)}},
            "patch": {"summary": f"Update {title}", "tags": [title], "operationId": f"update_{name}",
                      "parameters": [{"name": "If-Match", "in": "header", "schema": {"type": "string"},
                                      "description": "the row_version you read; a stale one gets 409"}],
                      "requestBody": {"required": True, "content": {"application/json": {
                          "schema": _ref(f"{name}Input")}}},
                      "responses": {"200": {"description": "updated", "content": one},
                                    **_errors(401, 403, 404, 409, 422)}},
            "delete": {"summary": f"Delete {title}", "tags": [title], "operationId": f"delete_{name}",
                       "responses": {"204": {"description": "deleted"}, **_errors(401, 403, 404, 409)}},
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Jimu records API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "components": {"schemas": schemas, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"}, "session": {"type": "apiKey", "in": "cookie",
                                                                         "name": "session"}}},
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
    }


@bp.get("/openapi.json")
def openapi_document():
    jimu = current_jimu()
    with jimu.read():
        doc = build_openapi(jimu.catalog, request.args.get("lang", "en"))
    return jsonify(doc)
