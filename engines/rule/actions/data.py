"""Data actions: set fields, create a record in another form, update related records."""
from __future__ import annotations

from typing import Any, Mapping

from ..effects import Effect
from .base import VALUE_SCHEMA, Action, ActionContext, schema, value_fn

_VALUES = {"type": "object", "minProperties": 1, "maxProperties": 200, "additionalProperties": VALUE_SCHEMA}
_FILTER = {"type": "array", "maxItems": 20, "items": {
    "type": "object", "required": ["field"], "additionalProperties": False,
    "properties": {"field": {"type": "string"}, "op": {"type": "string"}, "value": VALUE_SCHEMA}}}


def _values(mapping: Mapping[str, Any]):
    fns = {k: value_fn(v) for k, v in mapping.items()}
    return lambda ctx: {k: fn(ctx) for k, fn in fns.items()}


class SetFields(Action):
    """``{"type": "set_fields", "values": {"状态": "等待客户回复", "优先级": {"expr": "..."}}}``"""

    type = "set_fields"
    label = {"zh-CN": "设置字段", "en": "Set fields"}
    config_schema = schema({"values": _VALUES}, ("values",))

    def __init__(self, config):
        super().__init__(config)
        self.values = _values(config["values"])

    def plan(self, ctx: ActionContext) -> list[Effect]:
        return [Effect("set_fields", {"form": ctx.form, "id": ctx.record_id, "values": self.values(ctx)})]


class CreateRecord(Action):
    """``{"type": "create_record", "form": "知识库", "mapping": {"标题": {"expr": "标题"}, ...}}``"""

    type = "create_record"
    label = {"zh-CN": "在另一表单中新建记录", "en": "Create a record in another form"}
    config_schema = schema({"form": {"type": "string"}, "mapping": _VALUES}, ("form", "mapping"))

    def __init__(self, config):
        super().__init__(config)
        self.values = _values(config["mapping"])

    def plan(self, ctx):
        return [Effect("create_record", {"form": self.config["form"], "values": self.values(ctx)})]


class UpdateRelated(Action):
    """``{"type": "update_related", "form": "客户", "filter": [{"field": "id", "value": {"expr": "客户"}}],
    "values": {"最近订单": {"expr": "id"}}}`` — every matching record is updated through the write path."""

    type = "update_related"
    label = {"zh-CN": "更新关联记录", "en": "Update related records"}
    config_schema = schema({"form": {"type": "string"}, "filter": _FILTER, "values": _VALUES,
                            "limit": {"type": "integer", "minimum": 1, "maximum": 1000}},
                           ("form", "filter", "values"))

    def __init__(self, config):
        super().__init__(config)
        self.values = _values(config["values"])
        self.filters = [(f["field"], f.get("op", "eq"), value_fn(f.get("value"))) for f in config["filter"]]

    def plan(self, ctx):
        filters = [{"field": k, "op": op, "value": fn(ctx)} for k, op, fn in self.filters]
        return [Effect("update_records", {"form": self.config["form"], "filter": filters,
                                          "values": self.values(ctx), "limit": self.config.get("limit", 100)})]
