"""JSON Schemas (draft 2020-12) of every definition kind and of the app package.

Each kind lives in ``schemas/<kind>.json`` with ``$id``
``https://jimu.dev/schemas/<kind>.json``. Schemas refer to each other by that
``$id``; ``validator(kind)`` resolves those references offline through one
``referencing.Registry`` of all the files here, so nothing is fetched.

A kind whose file has not been written yet falls back to a permissive schema
(an object with ``key`` and ``version``), so the app schema can reference every
kind from day one and tighten automatically when the file lands.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from engines.errors import JimuError

SCHEMA_DIR = Path(__file__).resolve().parent
BASE_URI = "https://jimu.dev/schemas/"

#: every definition kind with a schema, plus the package itself ("app")
KINDS: tuple[str, ...] = ("app", "form", "field", "role", "group", "template", "rule",
                          "flow", "calendar", "report", "dashboard")


class UnknownSchema(JimuError):
    code = "schema.unknown_kind"


def schema_id(kind: str) -> str:
    return f"{BASE_URI}{kind}.json"


def _fallback(kind: str) -> dict:
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": schema_id(kind),
            "title": kind, "description": f"Placeholder until schemas/{kind}.json exists.",
            "type": "object", "required": ["key", "version"]}


@lru_cache(maxsize=None)
def _load_text(kind: str) -> str:
    if kind not in KINDS:
        raise UnknownSchema(f"no schema kind {kind!r}; use one of {', '.join(KINDS)}", kind=kind)
    path = SCHEMA_DIR / f"{kind}.json"
    if not path.exists():
        return json.dumps(_fallback(kind))
    return path.read_text(encoding="utf-8")


def load(kind: str) -> dict:
    """The schema of ``kind`` as a fresh dict (callers may change their copy)."""
    return json.loads(_load_text(kind))


@lru_cache(maxsize=1)
def registry() -> Registry:
    """All schemas, keyed by ``$id``, for offline ``$ref`` resolution."""
    resources = [(schema_id(kind), Resource.from_contents(load(kind), default_specification=DRAFT202012))
                 for kind in KINDS]
    return Registry().with_resources(resources)


@lru_cache(maxsize=None)
def validator(kind: str) -> Draft202012Validator:
    """A cached validator for ``kind``, checking formats such as ``regex``."""
    return Draft202012Validator(load(kind), registry=registry(),
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


__all__ = ["KINDS", "SCHEMA_DIR", "BASE_URI", "UnknownSchema", "schema_id", "load", "registry", "validator"]
