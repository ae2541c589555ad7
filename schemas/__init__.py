"""JSON Schemas (draft 2020-12) of every definition kind and of the app package.

Each kind lives in ``schemas/<kind>.json`` with ``$id``
``https://jimu.dev/schemas/<kind>.json``. Schemas refer to each other by that
``$id``; ``validator(kind)`` resolves those references offline through one
``referencing.Registry`` of all the files here, so nothing is fetched.

Every kind must have its file: a missing one is an error (``schema.missing_file``)
the moment any schema is loaded, and ``runtime.app.create_app`` loads them all at
start (``check_all``), so a broken installation never silently accepts anything.
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


class MissingSchema(JimuError):
    code = "schema.missing_file"


def schema_id(kind: str) -> str:
    return f"{BASE_URI}{kind}.json"


@lru_cache(maxsize=None)
def _load_text(kind: str) -> str:
    if kind not in KINDS:
        raise UnknownSchema(f"no schema kind {kind!r}; use one of {', '.join(KINDS)}", kind=kind)
    path = SCHEMA_DIR / f"{kind}.json"
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MissingSchema(f"the schema file {path} is missing; reinstall Jimu (every definition kind needs "
                            "its schema, or packages could not be checked)", kind=kind, path=str(path)) from None


def load(kind: str) -> dict:
    """The schema of ``kind`` as a fresh dict (callers may change their copy)."""
    return json.loads(_load_text(kind))


@lru_cache(maxsize=1)
def registry() -> Registry:
    """All schemas, keyed by ``$id``, for offline ``$ref`` resolution."""
    resources = [(schema_id(kind), Resource.from_contents(load(kind), default_specification=DRAFT202012))
                 for kind in KINDS]
    return Registry().with_resources(resources)


def check_all() -> None:
    """Load every schema now: a missing or unreadable file stops the start, not a later import."""
    for kind in KINDS:
        validator(kind)


@lru_cache(maxsize=None)
def validator(kind: str) -> Draft202012Validator:
    """A cached validator for ``kind``, checking formats such as ``regex``."""
    return Draft202012Validator(load(kind), registry=registry(),
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


__all__ = ["KINDS", "SCHEMA_DIR", "BASE_URI", "UnknownSchema", "MissingSchema", "schema_id", "load", "registry",
           "validator", "check_all"]
