"""People actions: assign (user, group round robin, least loaded, by field) and add participants."""
from __future__ import annotations

from ..effects import Effect
from ..exceptions import RuleError
from .base import Action, ActionContext, schema

STRATEGIES = ("user", "round_robin", "least_loaded", "by_field")


class Assign(Action):
    """``{"type": "assign", "field": "处理人", "strategy": "round_robin", "group": "finance"}``.

    ``user``: a fixed user; ``round_robin`` / ``least_loaded``: a member of ``group`` (least loaded
    counts the form's records whose ``field`` holds the member and that match ``open_filter``);
    ``by_field``: the user named in ``source_field`` (or, if it names a group, round robin in it).
    ``group_field`` also records the group. The field gets the user name (text) or id (number).
    """

    type = "assign"
    label = {"zh-CN": "分配处理人", "en": "Assign"}
    config_schema = schema({
        "field": {"type": "string"}, "strategy": {"enum": list(STRATEGIES)},
        "user": {"type": "string"}, "group": {"type": "string"}, "source_field": {"type": "string"},
        "group_field": {"type": "string"},
        "open_filter": {"type": "array", "maxItems": 20, "items": {"type": "object"}},
    }, ("field", "strategy"))

    def __init__(self, config):
        super().__init__(config)
        need = {"user": "user", "round_robin": "group", "least_loaded": "group", "by_field": "source_field"}
        key = need[config["strategy"]]
        if key not in config:
            raise RuleError(f"assign with strategy {config['strategy']} needs {key}", code="rule.bad_action")

    def plan(self, ctx: ActionContext):
        c = self.config
        data = {"form": ctx.form, "id": ctx.record_id, "field": c["field"], "strategy": c["strategy"],
                "user": c.get("user"), "group": c.get("group"), "group_field": c.get("group_field"),
                "open_filter": c.get("open_filter") or [], "rule": ctx.rule}
        if c["strategy"] == "by_field":
            data["source"] = ctx.variables.get(c["source_field"])
        return [Effect("assign", data)]


class AddParticipant(Action):
    """``{"type": "add_participant", "users": ["lead"], "groups": ["vip_team"], "user_fields": ["销售"]}``"""

    type = "add_participant"
    label = {"zh-CN": "添加参与人", "en": "Add participants"}
    config_schema = schema({"users": {"type": "array", "items": {"type": "string"}},
                            "groups": {"type": "array", "items": {"type": "string"}},
                            "user_fields": {"type": "array", "items": {"type": "string"}}})

    def __init__(self, config):
        super().__init__(config)
        if not any(config.get(k) for k in ("users", "groups", "user_fields")):
            raise RuleError("add_participant needs users, groups or user_fields", code="rule.bad_action")
        self.fields = list(config.get("user_fields", []))

    def plan(self, ctx):
        named = []
        for f in self.fields:  # a multi-user field holds a list
            v = ctx.variables.get(f)
            named.extend(v if isinstance(v, list) else [v])
        return [Effect("add_participants", {"form": ctx.form, "id": ctx.record_id,
                                            "recipients": {"users": list(self.config.get("users", [])) +
                                                           [n for n in named if isinstance(n, (str, int))],
                                                           "groups": list(self.config.get("groups", []))}})]
