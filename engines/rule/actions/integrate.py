"""Call an HTTP API and store fields from its JSON answer (through the outbox)."""
from __future__ import annotations

from ..effects import Effect
from ..urls import check_url
from engines.expr import compile_expr

from .base import Action, deferred, is_expr, is_template, schema, value_fn


class CallHttp(Action):
    """``{"type": "call_http", "url": "https://crm.example.com/score", "method": "POST",
    "json": {"phone": {"expr": "电话"}}, "store": {"信用分": "data.score"}}``.

    The request runs from the outbox (retried with back-off); when it answers 2xx with JSON, the
    ``store`` paths (dotted, list indexes allowed) are written to the record through the write path.
    """

    type = "call_http"
    label = {"zh-CN": "调用 HTTP 接口", "en": "Call an HTTP API"}
    config_schema = schema({
        "url": {"type": "string", "maxLength": 2000}, "method": {"enum": ["GET", "POST", "PUT", "PATCH"]},
        "headers": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 2000}},
        "json": {"type": "object"}, "body": {"type": "string", "maxLength": 20000},
        "store": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 200}},
        "timeout": {"type": "number", "minimum": 1, "maximum": 60},
    }, ("url",))

    outbound = True

    def __init__(self, config, *, allow=()):
        super().__init__(config)
        check_url(config["url"].replace("{", "").replace("}", ""), allow)
        json_config = config.get("json") or {}
        self.templates = {"url": deferred(config["url"]), "body": deferred(config.get("body")),
                          **{f"json.{k}": deferred(v["template"]) for k, v in json_config.items() if is_template(v)}}
        #: ``{"expr"}`` values: compiled now (errors at save time), evaluated by the outbox job on the
        #: record as outsiders may read it, like the templates
        self.expressions = {k: compile_expr(v["expr"]).source for k, v in json_config.items() if is_expr(v)}
        self.json = {k: value_fn(v) for k, v in json_config.items() if not is_template(v) and not is_expr(v)}
        self.has_json = bool(json_config)

    def plan(self, ctx):
        """Literal ``json`` values are planned as they are; the templates (url, body, ``{"template"}``
        values) and the ``{"expr"}`` values are rendered and evaluated by the outbox job, outside the
        write, on the record as outsiders may read it (``runtime.rules.messages``)."""
        c = self.config
        return [Effect("call_http", {"rule": ctx.rule, "form": ctx.form, "record_id": ctx.record_id,
                                     "event": ctx.event, "method": c.get("method", "POST"),
                                     "headers": dict(c.get("headers") or {}),
                                     "json": {k: fn(ctx) for k, fn in self.json.items()} if self.has_json else None,
                                     "templates": {k: v for k, v in self.templates.items() if v is not None},
                                     "expressions": dict(self.expressions),
                                     "variables": dict(ctx.variables),
                                     "store": dict(c.get("store") or {}), "timeout": c.get("timeout", 10)})]
