"""What the designers read from the server: every registry, as the registry says.

The palette is built from ``engines.form.WIDGETS`` on every call, so a plugin
widget (an entry point in ``jimu.widgets``) appears with no builder change.
A later designer adds its registry to ``PROVIDERS`` (flow node types, rule
operators and actions, chart types) and its page to ``views.DESIGNERS``.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

log = logging.getLogger(__name__)

#: palette group → label; a group a plugin invents is shown under its own name
GROUP_LABELS = {
    "basic": {"zh-CN": "基础字段", "en": "Basic"},
    "choice": {"zh-CN": "选择", "en": "Choices"},
    "datetime": {"zh-CN": "日期时间", "en": "Date and time"},
    "contact": {"zh-CN": "联系方式", "en": "Contact"},
    "relation": {"zh-CN": "关联", "en": "Relations"},
    "file": {"zh-CN": "文件", "en": "Files"},
    "advanced": {"zh-CN": "高级", "en": "Advanced"},
    "system": {"zh-CN": "系统字段", "en": "System"},
}
#: palette groups in display order; others follow in the order the registry lists them
GROUP_ORDER = ("basic", "choice", "datetime", "contact", "relation", "file", "advanced", "system")


def widget_palette() -> dict[str, Any]:
    from engines.form import WIDGETS
    groups: dict[str, list] = {}
    for cls in sorted(WIDGETS, key=lambda c: c.type):
        entry = dict(cls.palette())
        try:
            entry["example"] = cls.example_field()
        except Exception:  # a plugin without examples still gets an empty config
            entry["example"] = {"config": {}}
        entry["requires_formula"] = bool(getattr(cls, "requires_formula", False))
        entry["computed"] = bool(getattr(cls, "computed", False))
        groups.setdefault(entry.get("group") or "other", []).append(entry)
    order = [g for g in GROUP_ORDER if g in groups] + [g for g in groups if g not in GROUP_ORDER]
    return {"groups": [{"key": g, "label": GROUP_LABELS.get(g, g), "widgets": groups[g]} for g in order],
            "broken": dict(WIDGETS.broken)}


def expression_library() -> dict[str, Any]:
    import engines.expr as expr
    from engines.form import SYSTEM_FIELDS
    return {"functions": expr.library(), "constants": sorted(getattr(expr, "CONSTANTS", {}) or {}),
            "names": [*SYSTEM_FIELDS, "current_user_id"]}


def field_schema() -> dict[str, Any]:
    """The field properties the property panel edits beyond the widget's own config:
    ``validation`` from schemas/field.json, with its ``$ref`` labels spelled out."""
    import schemas
    validation = dict(schemas.load("field")["properties"]["validation"])
    props = {}
    for key, prop in validation.get("properties", {}).items():
        prop = dict(prop)
        if "$ref" in prop:  # optional_label: a string or a {"zh-CN", "en"} map
            prop.pop("$ref")
            prop["oneOf"] = [{"type": "string"}, {"type": "object"}]
        if isinstance(prop.get("type"), list):  # null means "unset", which the panel shows as empty
            kinds = [t for t in prop["type"] if t != "null"]
            prop["type"] = kinds[0] if len(kinds) == 1 else kinds
        props[key] = prop
    return {"validation": {**validation, "properties": props}}


def flow_nodes() -> list[dict]:
    """Each node type's palette entry plus the capability flags the flow designer draws by:
    edge bounds, start/end, whether it opens tasks and which outcomes it offers."""
    from engines.flow.nodes.base import FLOW_NODES
    out = []
    for cls in sorted(FLOW_NODES, key=lambda c: c.type):
        entry = dict(cls.palette())
        entry.update(is_start=bool(cls.is_start), is_end=bool(cls.is_end), is_parallel=bool(cls.is_parallel),
                     creates_tasks=bool(cls.creates_tasks), edges_in=list(cls.edges_in),
                     edges_out=list(cls.edges_out))
        if cls.creates_tasks:
            entry["outcomes"] = [dict(o) for o in getattr(cls, "default_outcomes", ())]
            entry["custom_outcomes"] = bool(getattr(cls, "custom_outcomes", False))
        out.append(entry)
    return out


def rule_catalogue() -> dict[str, Any]:
    from engines.rule.actions.base import ACTIONS
    from engines.operators import catalogue
    from engines.rule.triggers import TRIGGERS
    return {"operators": catalogue(), "actions": [cls.to_json() for cls in sorted(ACTIONS, key=lambda c: c.type)],
            "triggers": list(TRIGGERS)}


def chart_types() -> list[dict]:
    from engines.report.charts import CHARTS
    return [cls.palette() for cls in sorted(CHARTS, key=lambda c: c.type)]


#: name → provider; the flow, rule and report designers read theirs from the same call
PROVIDERS: dict[str, Callable[[], Any]] = {
    "widgets": widget_palette,
    "expressions": expression_library,
    "field": field_schema,
    "flow_nodes": flow_nodes,
    "rules": rule_catalogue,
    "charts": chart_types,
}


def registries() -> dict[str, Any]:
    """Every provider's answer; one that fails is reported under ``unavailable`` and skipped,
    so an engine being upgraded cannot take the form designer down with it."""
    out: dict[str, Any] = {"unavailable": {}}
    for name, provider in PROVIDERS.items():
        try:
            out[name] = provider()
        except Exception as exc:  # logged and reported, never fatal (the Redash plugin habit)
            log.warning("builder registry %s unavailable: %s", name, exc)
            out["unavailable"][name] = f"{type(exc).__name__}: {exc}"
    return out
