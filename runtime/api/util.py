"""Small request helpers shared by the API views."""
from __future__ import annotations

import json
from typing import Any

from flask import request, url_for

from engines.errors import JimuError


class BadRequest(JimuError):
    code = "request.bad"


def json_body(kind: type = dict) -> Any:
    data = request.get_json(silent=True)
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


def expected_version() -> int | None:
    """Optimistic locking: ``If-Match: <row_version>`` or ``row_version`` in the body."""
    raw = request.headers.get("If-Match", "").strip('"W/ ')
    body = request.get_json(silent=True)
    if not raw and isinstance(body, dict) and body.get("row_version") is not None:
        raw = str(body["row_version"])
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise BadRequest("If-Match / row_version must be the record's row_version number",
                         code="request.bad_param") from None
