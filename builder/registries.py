"""What the designers read from the server: every registry, as the registry says.

The palette is built from ``engines.form.WIDGETS`` on every call, so a plugin
widget (an entry point in ``jimu.widgets``) appears with no builder change.
A later designer adds its registry to ``PROVIDERS`` (flow node types, rule
operators and actions, chart types) and its page to ``views.DESIGNERS``.
"""
from __future__ import annotations

from typing import Any, Callable

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


PROVIDERS: dict[str, Callable[[], Any]] = {
    "widgets": widget_palette,
    "expressions": expression_library,
}


def registries(lang: str = "zh-CN") -> dict[str, Any]:
    return {name: provider() for name, provider in PROVIDERS.items()}
