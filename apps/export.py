"""Canonical form of an app package, so export → import → export is byte-identical.

Rules, applied the same way to every package:
- the package always lists every definition kind, ``[]`` when empty;
- known objects (app, definitions, fields, layout items) put their keys in a
  fixed order, then any other keys sorted; every other object has sorted keys;
- properties equal to their documented default (``false``, ``null``, ``{}``,
  ``[]``, ``columns: 1`` ...) are omitted, so "unset" and "set to the default"
  export the same;
- lists keep their order (it is meaningful), except a role's verbs, which
  follow create, read, update, delete.

The canonical form is also what ``diff_packages`` compares, so restating a
default is never reported as a change.
"""
from __future__ import annotations

import copy
from typing import Any

from .migrations import CURRENT_FORMAT_VERSION, DEFINITION_KINDS, migrate
from .validation import ROLE_VERBS

_HEAD = ("key", "version", "label", "description")
_PACKAGE_ORDER = ("format", "version", "app", *DEFINITION_KINDS)
_APP_ORDER = ("key", "version", "label", "description", "default_language", "icon")
_FIELD_ORDER = ("key", "label", "widget", "config", "required", "read_only", "filterable", "default",
                "default_expr", "formula", "placeholder", "help", "validation", "visible_if", "required_if")
_FIELD_DEFAULTS = {"config": {}, "required": False, "read_only": False, "filterable": False, "default": None,
                   "default_expr": None, "formula": None, "placeholder": None, "help": None, "validation": {},
                   "visible_if": None, "required_if": None}
_VALIDATION_ORDER = ("min", "max", "min_length", "max_length", "pattern", "unique", "message")
_VALIDATION_DEFAULTS = {key: None for key in _VALIDATION_ORDER} | {"unique": False}
_SECTION_ORDER = ("type", "label", "columns", "collapsed", "visible_if", "items")
_SECTION_DEFAULTS = {"columns": 1, "collapsed": False}

#: per definition kind: key order after the head, and defaults to omit
_KIND_SHAPES: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "forms": (("icon", "title_field", "list_fields", "fields", "layout", "views", "related", "suggest", "public",
               "intake", "chat", "sample", "demo_records"),
              {"title_field": None, "list_fields": [], "layout": [], "views": [], "related": [], "suggest": [],
               "public": {}, "intake": {}, "chat": {}, "sample": {}, "demo_records": None}),
    "roles": (("permissions", "rows", "fields", "builder"), {"permissions": {}, "rows": {}, "fields": {},
                                                             "builder": False}),
    "groups": (("lead", "members"), {"lead": None, "members": []}),
    "templates": (("form", "subject", "body"), {"form": None}),
    "rules": (("form", "enabled", "priority", "trigger", "condition", "actions"),
              {"enabled": True, "priority": 0, "condition": None}),
    "flows": (("form",), {}),
    "reports": (("form",), {}),
    "dashboards": ((), {}),
    "calendars": ((), {}),
}
_MISSING = object()


def canonical(value: Any) -> Any:
    """Any JSON value with every object's keys sorted (lists keep their order)."""
    if isinstance(value, dict):
        return {k: canonical(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def _is_default(value: Any, default: Any) -> bool:
    return default is not _MISSING and type(value) is type(default) and value == default


def _ordered(obj: dict, order: tuple[str, ...], defaults: dict[str, Any], special: dict | None = None) -> dict:
    """Keys in ``order`` first, the rest sorted; defaults dropped; ``special`` normalises named values."""
    special = special or {}
    out: dict[str, Any] = {}
    for key in (*[k for k in order if k in obj], *sorted(k for k in obj if k not in order)):
        value = obj[key]
        if _is_default(value, defaults.get(key, _MISSING)):
            continue
        out[key] = special[key](value) if key in special else canonical(value)
    return out


def normalize_field(field: dict) -> dict:
    def config(value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("fields"), list):
            return {**canonical(value), "fields": _fields(value["fields"])}
        return canonical(value)

    def validation(value: Any) -> Any:
        return _ordered(value, _VALIDATION_ORDER, _VALIDATION_DEFAULTS) if isinstance(value, dict) else value

    out = _ordered(field, _FIELD_ORDER, _FIELD_DEFAULTS, {"config": config, "validation": validation})
    if out.get("validation") == {}:  # only defaults inside
        del out["validation"]
    return out


def _fields(fields: list) -> list:
    return [normalize_field(f) if isinstance(f, dict) else f for f in fields]


def _layout(items: Any) -> Any:
    if not isinstance(items, list):
        return items
    return [_layout_item(item) for item in items]


def _layout_item(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    if item.get("type") == "tabs":
        tabs = [_ordered(t, ("label", "items"), {}, {"items": _layout}) if isinstance(t, dict) else t
                for t in item.get("tabs") or []]
        return {**_ordered(item, ("type", "tabs"), {}), "tabs": tabs}
    return _ordered(item, _SECTION_ORDER, _SECTION_DEFAULTS, {"items": _layout})


def _verbs(permissions: Any) -> Any:
    if not isinstance(permissions, dict):
        return permissions
    rank = {verb: i for i, verb in enumerate(ROLE_VERBS)}
    return {form: sorted(verbs, key=lambda v: (rank.get(v, len(rank)), str(v))) if isinstance(verbs, list) else verbs
            for form, verbs in sorted(permissions.items())}


def normalize_definition(kind: str, item: dict) -> dict:
    """One definition of ``kind`` (``"forms"``, ``"rules"`` ...) in canonical form."""
    order, defaults = _KIND_SHAPES[kind]
    special = {}
    if kind == "forms":
        special = {"fields": lambda v: _fields(v) if isinstance(v, list) else v, "layout": _layout}
    elif kind == "roles":
        special = {"permissions": _verbs}
    return _ordered(item, _HEAD + order, defaults, special)


def export_package(data: dict) -> dict:
    """The canonical form of a package (upgraded to the current format first); the input is not changed."""
    if data.get("version") != CURRENT_FORMAT_VERSION:
        data = migrate(data)
    out: dict[str, Any] = {}
    for key in _PACKAGE_ORDER:
        if key == "app":
            out["app"] = _ordered(data.get("app") or {}, _APP_ORDER, {})
        elif key in DEFINITION_KINDS:
            out[key] = [normalize_definition(key, item) if isinstance(item, dict) else copy.deepcopy(item)
                        for item in data.get(key) or []]
        elif key in data:
            out[key] = data[key]
    for key in sorted(k for k in data if k not in _PACKAGE_ORDER):
        out[key] = canonical(data[key])
    return out
