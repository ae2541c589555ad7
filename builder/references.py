"""What refers to a definition of the draft: shown before it is deleted, so nothing breaks unseen.

Definitions refer to each other by key (a report's ``form``, a link field's ``config.form``, a
rule's condition on a field, a dashboard's ``report``), and keys never change: renaming is a new
label and rewrites nothing. Deleting is what can break a reference, so the builder lists every
referrer first, in words (``builder.messages.where``); after the deletion the draft's check flags
each of them with its own problem until it is changed.
"""
from __future__ import annotations

import ast
from typing import Any, Iterator

from .messages import where

#: properties whose text is an expression over the form's fields
EXPRESSIONS = frozenset({"visible_if", "required_if", "default_expr", "formula", "condition", "expr", "unless",
                         "filter_expr", "highlight_if", "if"})
#: properties whose text (or list of texts) names a field of the form in scope
FIELD_NAMES = frozenset({"field", "title_field", "source_field", "group_field", "until", "display_field",
                         "list_fields", "user_fields", "group_lead_fields", "email_fields", "fields", "match",
                         "from", "into", "body", "name"})
#: properties whose object's keys are fields of the form in scope
FIELD_MAPS = frozenset({"values", "set", "fields", "fill", "sample"})


def _walk(node: Any, ptr: str, parent: str = "") -> Iterator[tuple[str, str, Any]]:
    """(pointer, the property that holds it, value) of every value under ``node``."""
    if isinstance(node, dict):
        for k, v in node.items():
            at = f"{ptr}/{str(k).replace('~', '~0').replace('/', '~1')}"
            yield at, str(k), v
            yield from _walk(v, at, str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            at = f"{ptr}/{i}"
            yield at, parent, v
            yield from _walk(v, at, parent)


def _names(text: str) -> set[str]:
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError):
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _field_refs(definition: Any, base: str, field: str) -> Iterator[str]:
    for ptr, prop, value in _walk(definition, base):
        if isinstance(value, str):
            if prop in EXPRESSIONS and field in _names(value):
                yield ptr
            elif prop in FIELD_NAMES and (value == field or value.startswith(field + ".")):
                yield ptr
            elif prop in ("layout", "items") and value == field:
                yield ptr
        elif isinstance(value, dict) and prop in FIELD_MAPS and field in value:
            yield ptr


def find(package: dict, kind: str, key: str, lang: str, field: str | None = None) -> list[dict]:
    """Every definition of ``package`` that refers to ``key`` of ``kind`` (a form, flow, report ...),
    or with ``field`` to that field of form ``key``: ``[{pointer, where}]``, one per referring object."""
    pointers: list[str] = []
    items = lambda k: [(i, d) for i, d in enumerate(package.get(k) or []) if isinstance(d, dict)]  # noqa: E731
    if kind == "forms" and field is not None:
        for i, form in items("forms"):
            if form.get("key") == key:
                for j, f in enumerate(form.get("fields") or []):
                    if isinstance(f, dict) and f.get("key") != field:
                        pointers += _field_refs({k: v for k, v in f.items() if k != "key"}, f"/forms/{i}/fields/{j}", field)
                pointers += _field_refs({k: v for k, v in form.items() if k not in ("fields", "key")}, f"/forms/{i}", field)
        for other in ("flows", "rules", "reports", "templates"):
            for i, d in items(other):
                if d.get("form") == key:
                    pointers += _field_refs({k: v for k, v in d.items() if k not in ("form", "key")}, f"/{other}/{i}", field)
        for i, role in items("roles"):
            for prop in ("fields", "rows"):
                scoped = (role.get(prop) or {}).get(key) if isinstance(role.get(prop), dict) else None
                if scoped is not None:
                    pointers += _field_refs({"x": scoped}, f"/roles/{i}/{prop}", field) if prop == "rows" else \
                        ([f"/roles/{i}/{prop}"] if isinstance(scoped, dict) and field in scoped else [])
    elif kind == "forms":
        for i, form in items("forms"):
            for j, f in enumerate(form.get("fields") or []):
                if isinstance(f, dict) and (f.get("config") or {}).get("form") == key and form.get("key") != key:
                    pointers.append(f"/forms/{i}/fields/{j}")
        for other in ("flows", "rules", "reports", "templates"):
            pointers += [f"/{other}/{i}" for i, d in items(other) if d.get("form") == key]
        pointers += [f"/roles/{i}" for i, r in items("roles") if key in (r.get("permissions") or {})]
    elif kind == "flows":
        for other in ("rules",):
            for i, d in items(other):
                pointers += [p for p, prop, v in _walk(d, f"/{other}/{i}") if prop == "flow" and v == key]
    elif kind == "reports":
        for i, d in items("dashboards"):
            pointers += [p for p, prop, v in _walk(d, f"/dashboards/{i}") if prop == "report" and v == key]
    elif kind == "templates":
        for i, d in items("rules"):
            pointers += [p for p, prop, v in _walk(d, f"/rules/{i}") if prop == "template" and v == key]
    out, seen = [], set()
    for ptr in pointers:
        name, _ = where(package, ptr, lang)
        name = name[:1].upper() + name[1:]
        if name not in seen:
            seen.add(name)
            out.append({"pointer": ptr, "where": name})
    return out
