"""Notifications through the channel registry (``engines.rule.channels``: in-app, e-mail, signed
webhook, WeCom and DingTalk group robots, SMS, and what plugins add); survey links.

Subjects and bodies are templates (``{客户姓名}`` placeholders, sandboxed Jinja). They are not
rendered when the rule fires: the effect carries the template sources and the variables, and the
runtime's outbox renders them per recipient, outside the write transaction.
URLs are checked for private addresses when the rule is compiled; the sender
checks again after resolving the name.
"""
from __future__ import annotations

import copy
from typing import Any, Mapping

import jsonschema

from ..effects import Effect
from ..exceptions import RuleError
from ..channels import COMMON_SETTINGS, channel
from .base import RECIPIENTS_SCHEMA, Action, ActionContext, deferred, schema

_TEXT = {"type": "string", "maxLength": 20000}
#: what an e-mail (notify by e-mail, send_survey) may add: copies, the record's files, and how automatic it is
MAIL_OPTIONS = {
    "cc": {**RECIPIENTS_SCHEMA, "description": "who gets a copy (named in the Cc header); they read the message "
                                               "as people outside Jimu do, and users among them only if they "
                                               "may read the record"},
    "attach": {"type": "array", "maxItems": 20, "items": {"type": "string", "maxLength": 201},
               "description": "file fields whose files are attached: a field of the record, or link.field for "
                              "the files of the record a link field points to"},
    "auto_submitted": {"enum": ["auto-replied", "auto-generated", "no"],
                       "description": "the Auto-Submitted header: auto-replied for an automatic answer to a "
                                      "message, auto-generated for other automatic mail, no for a person's words "
                                      "relayed. Unset: auto-replied when the rule answers the message that opened "
                                      "the record, else auto-generated"},
}


#: what an SMS (notify by sms, send_survey by sms) names: the template approved in the vendor's console and
#: the values of its variables
SMS_OPTIONS = {
    "sms_template": {"type": "string", "minLength": 1, "maxLength": 100,
                     "description": "the template's code in the SMS vendor's console (Aliyun TemplateCode such "
                                    "as SMS_123456789, Tencent TemplateId such as 1234567)"},
    "params": {"oneOf": [
        {"type": "object", "maxProperties": 20,
         "additionalProperties": {"type": "string", "maxLength": 500},
         "description": "the template's named variables (Aliyun ${name}), each a text template over the "
                        "record ({客户姓名}, {{ survey_link }}); a vendor with positional variables (Tencent "
                        "{1}, {2}) gets the values in the order of their names (1, 2, … by number, other "
                        "names alphabetically: a stored object keeps no order)"},
        {"type": "array", "maxItems": 20, "items": {"type": "string", "maxLength": 500},
         "description": "the template's positional variables (Tencent {1}, {2}…), each a text template"}]},
    "sign_name": {"type": "string", "maxLength": 100,
                  "description": "the approved signature (签名) to send under; by default the SMS_SIGN_NAME setting"},
}
#: recipients an SMS can reach: mobile numbers, typed or held in fields
SMS_RECIPIENTS = ("phones", "phone_fields")


def sms_plan(config: Mapping[str, Any], default_params: Mapping[str, str] | None = None
             ) -> tuple[dict[str, str], dict[str, Any]]:
    """Check an SMS action's settings; answer its parameter templates (``param.<name>``, rendered by the
    outbox) and the settings its effect carries (template code, signature, the variables' names in
    order: the job's JSON may not keep an object's key order)."""
    to = config.get("to") or {}
    if not to:
        raise RuleError("an SMS needs recipients: to.phones or to.phone_fields", code="rule.bad_action")
    others = sorted(k for k in to if k not in SMS_RECIPIENTS)
    if others:
        raise RuleError(f"an SMS goes to mobile numbers (to.phones, to.phone_fields), not {', '.join(others)}",
                        code="rule.sms_recipients")
    if not config.get("sms_template"):
        raise RuleError("an SMS needs sms_template: the template's code in the SMS vendor's console",
                        code="rule.sms_template_missing")
    params = config.get("params", default_params or {})
    if isinstance(params, list):
        params = {str(i + 1): v for i, v in enumerate(params)}
    templates = {f"param.{name}": deferred(source) for name, source in params.items()}
    order = sorted(params, key=lambda n: (0, int(n), "") if n.isdigit() else (1, 0, n))
    settings = {"sms_template": config["sms_template"], "params": order,
                "positional": isinstance(config.get("params"), list)}
    if config.get("sign_name"):
        settings["sign_name"] = config["sign_name"]
    return templates, settings


def mail_payload(config: Mapping[str, Any]) -> dict[str, Any]:
    """The e-mail options of an action's config as its effect carries them."""
    return {k: config[k] for k in MAIL_OPTIONS if config.get(k) is not None}


class Notify(Action):
    """``{"type": "notify", "channel": "email", "to": {"user_fields": ["处理人"]}, "subject": "...", "body": "..."}``

    ``channel`` names a registered notification channel (``engines.rule.channels``); the channel
    checks its settings and plans the effect. An e-mail may name ``cc`` recipients, ``attach`` the
    record's files (``["附件"]``, or ``["合同.附件"]`` through a link field) and set ``auto_submitted``
    (see ``MAIL_OPTIONS``). ``webhook``/``wecom``/``dingtalk`` post to ``url``; a webhook is signed with
    HMAC-SHA256 of ``timestamp.body`` using ``secret`` (or the ``WEBHOOK_SECRET`` setting); a DingTalk
    robot with a ``secret`` gets DingTalk's signed URL. ``mentions`` are mobile numbers to @ in group
    robots. Settings a plugin channel declares are accepted for that channel only.
    """

    type = "notify"
    label = {"zh-CN": "发送通知", "en": "Notify"}
    config_schema = schema({
        "channel": {"type": "string", "minLength": 1,
                    "description": "a registered notification channel: in_app, email, webhook, wecom, dingtalk, "
                                   "or one a plugin adds"},
        "to": RECIPIENTS_SCHEMA, "subject": _TEXT, "body": _TEXT,
        "url": {"type": "string", "maxLength": 2000}, "secret": {"type": "string", "maxLength": 500},
        "link": {"type": "string", "maxLength": 2000},
        "mentions": {"type": "array", "items": {"type": "string", "maxLength": 40}, "maxItems": 50},
        "mention_all": {"type": "boolean"},
        "template": {"type": "string"}, "language": {"type": "string"}, **MAIL_OPTIONS, **SMS_OPTIONS,
    }, ("channel",))
    # a channel's own settings are checked by the channel (``__init__``)
    config_schema["additionalProperties"] = True
    config_schema["secret"] = ["secret"]

    outbound = True

    @classmethod
    def to_json(cls) -> dict[str, Any]:
        """The palette entry, with the registered channels: ``channel``'s choices and each channel's own
        settings in the schema, and ``channels`` (type → label, whether it needs ``to``, its settings)."""
        from ..channels import ordered
        channels = ordered()
        out = super().to_json()
        schema_ = copy.deepcopy(out["config_schema"])
        schema_["properties"]["channel"]["enum"] = [c.type for c in channels]
        for c in channels:
            for key, prop in c.settings.items():
                schema_["properties"].setdefault(key, prop)
        out["config_schema"] = schema_
        out["channels"] = {c.type: {"label": c.label, "recipients": c.recipients,
                                    "settings": list(c.settings)} for c in channels}
        return out

    def __init__(self, config, *, allow=()):
        super().__init__(config)
        ch = config["channel"]
        self.channel = channel(ch)
        if ch != "email" and mail_payload(config):
            raise RuleError(f"cc, attach and auto_submitted are for e-mail, not a {ch} notification; remove them",
                            code="rule.bad_action")
        if ch != "sms" and any(k in config for k in SMS_OPTIONS):
            raise RuleError(f"sms_template, params and sign_name are for an SMS, not a {ch} notification; "
                            "remove them", code="rule.bad_action")
        own = dict(self.channel.settings)
        unknown = sorted(set(config) - COMMON_SETTINGS - set(self.config_schema["properties"]) - set(own))
        if unknown:
            raise RuleError(f"{', '.join(unknown)}: not a setting of a {ch} notification; remove it",
                            code="rule.bad_action", settings=unknown)
        extra = {k: config[k] for k in own if k in config and k not in self.config_schema["properties"]}
        problems = list(jsonschema.Draft202012Validator({"type": "object", "properties": own}).iter_errors(extra))
        if problems:
            raise RuleError(f"{ch}: {problems[0].message}", code="rule.bad_action")
        self.channel.check(config, tuple(allow))
        self.templates = {part: deferred(config.get(part)) for part in ("subject", "body", "link")}

    def plan(self, ctx: ActionContext) -> list[Effect]:
        """The message is planned, not rendered: its templates and the variables they read go to the
        outbox, which renders them per recipient outside the write (``render_message``)."""
        message = {"rule": ctx.rule, "form": ctx.form, "record_id": ctx.record_id, "event": ctx.event,
                   "templates": {k: v for k, v in self.templates.items() if v}, "variables": dict(ctx.variables)}
        if ctx.extra.get("tasks"):  # the flow tasks the message is about: whose ``assignee``/``lead`` hear it
            message["tasks"] = list(ctx.extra["tasks"])
        return [self.channel.plan(self.config, message)]


def robot_payload(effect: Mapping[str, Any], subject: str, body: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """What a ``send_webhook`` effect posts once its message is rendered: a WeCom or DingTalk robot's
    markdown (or text with @-mentions), or Jimu's webhook event with ``record`` (the fields the
    receiver may see)."""
    ch = effect["format"]
    mentions, at_all = list(effect.get("mentions") or []), bool(effect.get("mention_all"))
    if ch == "wecom":
        text = f"**{subject}**\n{body}" if subject else body
        msg = {"msgtype": "markdown", "markdown": {"content": text[:4096]}}
        if mentions or at_all:  # WeCom only @-mentions in text messages
            msg = {"msgtype": "text", "text": {"content": text[:2048], "mentioned_mobile_list":
                                               mentions + (["@all"] if at_all else [])}}
        return msg
    if ch == "dingtalk":
        text = f"### {subject}\n\n{body}" if subject else body
        if mentions:
            text += "\n\n" + " ".join(f"@{m}" for m in mentions)
        return {"msgtype": "markdown", "markdown": {"title": (subject or body)[:64], "text": text[:5000]},
                "at": {"atMobiles": mentions, "isAtAll": at_all}}
    return {"event": effect.get("event"), "rule": effect.get("rule"), "form": effect.get("form"),
            "record_id": effect.get("record_id"), "subject": subject, "message": body, "record": _public(record)}


def _public(record) -> dict[str, Any]:
    from datetime import date, datetime
    out = {}
    for k, v in (record or {}).items():
        out[k] = v.isoformat() if isinstance(v, (date, datetime)) else v
    return out


class SendSurvey(Action):
    """``{"type": "send_survey", "survey_form": "满意度", "to": {"email_fields": ["邮箱"]},
    "subject": "请评价订单 {订单编号}", "body": "... {{ survey_link }} ..."}`` — e-mails the survey form's
    public page with a signed ``ref`` to the record it is about (see ``runtime.public``).

    With ``"page": "status"`` the link is the record's own private status page instead (no survey form);
    every body may also use ``{{ status_link }}``."""

    type = "send_survey"
    label = {"zh-CN": "发送满意度调查/状态链接", "en": "Send a survey or status link"}
    config_schema = schema({"survey_form": {"type": "string"}, "to": RECIPIENTS_SCHEMA, "subject": _TEXT,
                            "body": _TEXT, "template": {"type": "string"}, "language": {"type": "string"},
                            "page": {"enum": ["survey", "status"], "default": "survey"},
                            "channel": {"enum": ["email", "sms"], "default": "email",
                                        "description": "email, or sms: the link goes in the SMS template's "
                                                       "variable (params, by default {\"link\": \"{{ survey_link }}\"})"},
                            **MAIL_OPTIONS, **SMS_OPTIONS},
                           ("to",))

    def __init__(self, config):
        super().__init__(config)
        if config.get("page", "survey") == "survey" and not config.get("survey_form"):
            raise RuleError("send_survey needs survey_form (or \"page\": \"status\")", code="rule.bad_action")
        self.templates = {"subject": deferred(config.get("subject") or "请评价我们的服务"),
                          "body": deferred(config.get("body") or "请点击链接评价: {{ survey_link }}")}
        self.sms = None
        if config.get("channel") == "sms":
            if mail_payload(config) or config.get("subject") or config.get("body"):
                raise RuleError("a survey by SMS sends its vendor template (sms_template, params); subject, body, "
                                "cc, attach and auto_submitted are for e-mail: remove them", code="rule.bad_action")
            link = "{{ status_link }}" if config.get("page") == "status" else "{{ survey_link }}"
            self.sms = sms_plan(config, {"link": link})
        elif any(k in config for k in SMS_OPTIONS):
            raise RuleError("sms_template, params and sign_name are for a survey sent by SMS (\"channel\": \"sms\")",
                            code="rule.bad_action")

    def plan(self, ctx):
        message = {"rule": ctx.rule, "form": ctx.form, "record_id": ctx.record_id, "event": ctx.event,
                   "survey_form": self.config.get("survey_form"), "page": self.config.get("page", "survey"),
                   "recipients": self.config["to"], "variables": dict(ctx.variables)}
        if self.sms is not None:
            templates, settings = self.sms
            return [Effect("send_sms", {**message, "templates": templates, "channel": "sms", "settings": settings})]
        return [Effect("send_survey", {**message, "templates": dict(self.templates), **mail_payload(self.config)})]
