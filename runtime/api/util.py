"""Small request helpers shared by the API views."""
from __future__ import annotations

import json
from typing import Any

from flask import request, url_for

from engines.errors import JimuError


class BadRequest(JimuError):
    code = "request.bad"


class UnsupportedMediaType(JimuError):
    code = "request.unsupported_media_type"
    status = 415


class NotAcceptable(JimuError):
    code = "request.not_acceptable"
    status = 406


class UnknownParam(JimuError):
    code = "request.unknown_param"
    status = 400


def request_json() -> Any:
    """The JSON body, or None when there is none; a body of another media type is a 415."""
    if request.content_length or request.headers.get("Transfer-Encoding"):
        if not request.is_json:
            raise UnsupportedMediaType(f"send the body as JSON with Content-Type: application/json, not "
                                       f"{request.mimetype or 'no Content-Type'}")
    return request.get_json(silent=True)


def json_body(kind: type = dict) -> Any:
    data = request_json()
    if not isinstance(data, kind):
        raise BadRequest(f"send a JSON {'object' if kind is dict else 'array'} with Content-Type: application/json",
                         code="request.not_json")
    return data


#: ids and offsets are 64-bit signed integers in every database Jimu runs on
MAX_INT = 2**63 - 1


def int_arg(name: str, default: int, *, lo: int = 1, hi: int = MAX_INT) -> int:
    """A whole-number query argument within ``lo..hi``; anything else is a coded 400 naming the range,
    never a value silently clamped (a client looping over pages must get what it asked for)."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number", code="request.bad_param", param=name) from None
    if not lo <= value <= hi:
        raise BadRequest(f"{name} must be between {lo} and {hi}", code="request.bad_param", param=name,
                         min=lo, max=hi)
    return value


def page_url(page: int) -> str:
    """This request's URL with only ``page`` changed: the ``next`` link of a paged list."""
    args = request.args.to_dict(flat=False)
    args["page"] = [str(page)]
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def json_arg(name: str) -> Any:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise BadRequest(f"{name} must be JSON", code="request.bad_param", param=name) from None


def etag(version: int) -> str:
    """A record's strong entity tag: its quoted ``row_version``."""
    return f'"{version}"'


def if_match_version() -> int | None:
    """``If-Match`` as a record version: ``*`` (any current version) and no header give None; a weak
    tag never matches (RFC 9110 strong comparison), so it gives -1. Unquoted numbers are read too."""
    raw = request.headers.get("If-Match", "").strip()
    if not raw or raw == "*":
        return None
    tags = [t.strip() for t in raw.split(",")]
    strong = [t.strip('"') for t in tags if not t.startswith("W/")]
    if not strong:
        return -1
    try:
        return int(strong[0])
    except ValueError:
        raise BadRequest("If-Match must be the ETag the record was read with, such as \"3\"",
                         code="request.bad_param", param="If-Match") from None


def expected_version() -> int | None:
    """Optimistic locking: ``If-Match`` (see ``if_match_version``) or ``row_version`` in the body."""
    if request.headers.get("If-Match"):
        return if_match_version()
    body = request.get_json(silent=True)
    if isinstance(body, dict) and body.get("row_version") is not None:
        try:
            return int(body["row_version"])
        except (TypeError, ValueError):
            raise BadRequest("row_version must be the record's row_version number",
                             code="request.bad_param", param="row_version") from None
    return None


def whole(lo: int = 1, hi: int = MAX_INT) -> dict:
    """The JSON Schema of a whole-number query argument read with ``int_arg(lo=lo, hi=hi)``."""
    return {"type": "integer", "minimum": lo, "maximum": hi}


#: a yes/no query argument: ``FLAG`` is yes for 1 or true, ``BOOL`` for true (and no for false);
#: any other text reads as not given, so the document lists the words as examples, not as a limit
FLAG = {"type": "string", "examples": ["1", "true"], "description": "1 or true: yes; anything else: no"}
BOOL = {"type": "string", "examples": ["true", "false"], "description": "true or false; anything else: either"}

def json_param(schema: dict) -> dict:
    """A query argument that carries JSON (read with ``json_arg``): documented as its JSON content."""
    return {"content": {"application/json": {"schema": schema}}}


#: endpoint → its query parameters (name → JSON Schema); a request naming any other is refused (a typo
#: such as ``per_pgae`` would otherwise silently give the default). An endpoint of ``/api/v1`` that
#: declares none takes none.
_ARGS: dict[str, dict[str, dict]] = {}


def query_args(*names: str, **typed: dict):
    """Declare the query parameters of a view: ``names`` are read as text, ``typed`` give each its JSON
    Schema (a whole number's range, an enumeration). The OpenAPI document lists them as declared."""
    def mark(view):
        _ARGS[f"api.{view.__name__}"] = {**{n: {"type": "string"} for n in names}, **typed}
        return view
    return mark


def declared_args(endpoint: str) -> dict[str, dict]:
    return _ARGS.get(endpoint, {})


def check_query_args() -> None:
    if not (request.endpoint or "").startswith("api."):
        return  # no route matched: the 404 or 405 answers
    allowed = declared_args(request.endpoint)
    for name in request.args:
        if name not in allowed:
            raise UnknownParam(f"unknown query parameter {name!r}; this endpoint takes "
                               f"{', '.join(sorted(allowed)) or 'none'}", param=name)


def body_schema(schema):
    """Declare the JSON body of a view for the OpenAPI document: ``schema(method)`` gives the
    JSON Schema of the body that method takes (routes documented from the URL map)."""
    def mark(view):
        view.openapi_body = schema
        return view
    return mark
