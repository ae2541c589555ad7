"""Small request helpers shared by the API views."""
from __future__ import annotations

import json
from typing import Any

from flask import request

from engines.errors import JimuError


class BadRequest(JimuError):
    code = "request.bad"


def json_body(kind: type = dict) -> Any:
    data = request.get_json(silent=True)
    if not isinstance(data, kind):
        raise BadRequest(f"send a JSON {'object' if kind is dict else 'array'} with Content-Type: application/json",
                         code="request.not_json")
    return data


def int_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number", code="request.bad_param", param=name) from None


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
