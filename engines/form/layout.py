"""Form layout: sections (with columns, collapsed, ``visible_if``) and tabs around field keys.

``compile_layout`` turns the definition's ``layout`` list into a small tree the
runtime renders, appends fields the layout does not place, and reports which
section conditions enclose each field: a field inside a hidden section is
hidden too, so ``FormSpec.clean`` drops its value exactly as for the field's
own ``visible_if``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class LayoutNode:
    #: "field", "section" or "tabs" (a tab is a "section" inside a "tabs" node)
    kind: str
    key: str | None = None
    label: Any = None
    columns: int = 1
    collapsed: bool = False
    visible_if: Any = None            # compiled Expression or None
    children: tuple["LayoutNode", ...] = ()

    def to_json(self) -> dict:
        out: dict[str, Any] = {"kind": self.kind}
        if self.key is not None:
            out["key"] = self.key
        if self.kind != "field":
            out.update(label=self.label, columns=self.columns, collapsed=self.collapsed,
                       children=[c.to_json() for c in self.children])
            if self.visible_if is not None:
                out["visible_if"] = self.visible_if.tree
        return out


@dataclass
class CompiledLayout:
    nodes: tuple[LayoutNode, ...] = ()
    #: field key → the compiled conditions of the sections around it, outermost first
    conditions: dict[str, tuple] = field(default_factory=dict)


def compile_layout(definition: Mapping[str, Any], field_keys: list[str], names: set[str],
                   errors: list[dict], path: str) -> CompiledLayout:
    from engines.expr import ExprError, compile_expr
    placed: list[str] = []
    conditions: dict[str, tuple] = {}

    def walk(items: Any, enclosing: tuple, ptr: str) -> tuple[LayoutNode, ...]:
        nodes = []
        for i, item in enumerate(items or []):
            where = f"{ptr}/{i}"
            if isinstance(item, str):
                if item not in field_keys:
                    errors.append({"code": "form.layout_unknown_field", "form": path, "pointer": where,
                                   "field": item, "message": f"the layout places {item!r}, which is not a field"})
                    continue
                if item in placed:
                    errors.append({"code": "form.layout_duplicate", "form": path, "pointer": where, "field": item,
                                   "message": f"the layout places {item!r} twice"})
                    continue
                placed.append(item)
                conditions[item] = enclosing
                nodes.append(LayoutNode("field", key=item))
                continue
            if not isinstance(item, Mapping):
                continue
            if item.get("type") == "tabs":
                tabs = []
                for j, tab in enumerate(item.get("tabs") or []):
                    tabs.append(LayoutNode("section", label=tab.get("label"),
                                           children=walk(tab.get("items"), enclosing, f"{where}/tabs/{j}/items")))
                nodes.append(LayoutNode("tabs", children=tuple(tabs)))
                continue
            cond = None
            if item.get("visible_if"):
                try:
                    cond = compile_expr(item["visible_if"], allowed_names=names)
                except ExprError as exc:
                    errors.append({**exc.to_dict(), "form": path, "pointer": f"{where}/visible_if"})
            inner = enclosing + ((cond,) if cond is not None else ())
            nodes.append(LayoutNode("section", label=item.get("label"), columns=int(item.get("columns") or 1),
                                    collapsed=bool(item.get("collapsed")), visible_if=cond,
                                    children=walk(item.get("items"), inner, f"{where}/items")))
        return tuple(nodes)

    nodes = walk(definition.get("layout"), (), "/layout")
    rest = tuple(LayoutNode("field", key=k) for k in field_keys if k not in placed)
    return CompiledLayout(nodes=nodes + rest, conditions={k: v for k, v in conditions.items() if v})
