"""Database values ↔ JSON without losing their type (the recycle bin's snapshots, backups).

``audit.jsonable`` turns a datetime into text for people to read; a snapshot that is written back
into a table needs the value itself again, on either database kind. ``encode`` tags what JSON has no
type for (``{"$t": "datetime", "v": "2026-12-04T21:00:00+00:00"}``), ``decode`` is its inverse;
dicts that happen to carry a ``"$t"`` key of their own are wrapped (``{"$t": "dict", "v": {...}}``) so
no user value is ever mistaken for a tag.
"""
from __future__ import annotations

import base64
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Mapping

TAG = "$t"


def encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime):
        return {TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, date):
        return {TAG: "date", "v": value.isoformat()}
    if isinstance(value, time):
        return {TAG: "time", "v": value.isoformat()}
    if isinstance(value, Decimal):
        return {TAG: "decimal", "v": str(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {TAG: "bytes", "v": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Mapping):
        out = {str(k): encode(v) for k, v in value.items()}
        return {TAG: "dict", "v": out} if TAG in out else out
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    raise TypeError(f"cannot keep a {type(value).__name__} in a snapshot")


_DECODERS = {
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
    "time": time.fromisoformat,
    "decimal": Decimal,
    "bytes": lambda v: base64.b64decode(v.encode("ascii")),
}


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, Mapping):
        tag = value.get(TAG)
        if tag == "dict":
            return {k: decode(v) for k, v in value["v"].items()}
        if tag in _DECODERS and set(value) == {TAG, "v"}:
            return _DECODERS[tag](value["v"])
        return {k: decode(v) for k, v in value.items()}
    return value
