"""Notifications: in-app, e-mail, signed webhook, WeCom and DingTalk group robots; survey links.

Subjects and bodies are templates (``{客户姓名}`` placeholders, sandboxed Jinja).
URLs are checked for private addresses when the rule is compiled; the sender
checks again after resolving the name.
"""
from __future__ import annotations

from typing import Any

from ..effects import Effect
from ..exceptions import RuleError
from ..urls import check_url
from .base import RECIPIENTS_SCHEMA, Action, ActionContext, schema, template_fn

CHANNELS = ("in_app", "email", "webhook", "wecom", "dingtalk")
_TEXT = {"type": "string", "maxLength": 20000}


class Notify(Action):
    """``{"type": "notify", "channel": "email", "to": {"user_fields": ["处理人"]}, "subject": "...", "body": "..."}``

    ``webhook``/``wecom``/``dingtalk`` post to ``url``; a webhook is signed with HMAC-SHA256 of
    ``timestamp.body`` using ``secret`` (or the ``WEBHOOK_SECRET`` setting); a DingTalk robot with a
    ``secret`` gets DingTalk's signed URL. ``mentions`` are mobile numbers to @ in group robots.
    """

    type = "notify"
    label = {"zh-CN": "发送通知", "en": "Notify"}
    config_schema = schema({
        "channel": {"enum": list(CHANNELS)}, "to": RECIPIENTS_SCHEMA, "subject": _TEXT, "body": _TEXT,
        "url": {"type": "string", "maxLength": 2000}, "secret": {"type": "string", "maxLength": 500},
        "link": {"type": "string", "maxLength": 2000},
        "mentions": {"type": "array", "items": {"type": "string", "maxLength": 40}, "maxItems": 50},
        "mention_all": {"type": "boolean"},
        "template": {"type": "string"}, "language": {"type": "string"},
    }, ("channel",))
    config_schema["secret"] = ["secret"]

    outbound = True

    def __init__(self, config, *, allow=()):
        super().__init__(config)
        ch = config["channel"]
        if ch in ("in_app", "email") and not config.get("to"):
            raise RuleError(f"a {ch} notification needs recipients (to)", code="rule.bad_action")
        if ch in ("webhook", "wecom", "dingtalk"):
            if not config.get("url"):
                raise RuleError(f"a {ch} notification needs a url", code="rule.bad_action")
            check_url(config["url"], allow)
        self.subject = template_fn(config.get("subject"))
        self.body = template_fn(config.get("body"))
        self.link = template_fn(config.get("link"))

    def plan(self, ctx: ActionContext) -> list[Effect]:
        c, subject, body = self.config, self.subject(ctx), self.body(ctx)
        ch = c["channel"]
        origin = {"rule": ctx.rule, "form": ctx.form, "record_id": ctx.record_id}
        if ch == "in_app":
            return [Effect("notify_in_app", {**origin, "recipients": c["to"], "title": subject or body[:100],
                                             "body": body, "link": self.link(ctx) or None})]
        if ch == "email":
            return [Effect("send_email", {**origin, "recipients": c["to"], "subject": subject, "body": body})]
        return [Effect("send_webhook", {**origin, "url": c["url"], "format": ch,
                                        "payload": self.payload(ch, subject, body, ctx),
                                        "secret": c.get("secret")})]

    def payload(self, ch: str, subject: str, body: str, ctx: ActionContext) -> dict[str, Any]:
        mentions, at_all = list(self.config.get("mentions", [])), bool(self.config.get("mention_all"))
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
        return {"event": ctx.event, "rule": ctx.rule, "form": ctx.form, "record_id": ctx.record_id,
                "subject": subject, "message": body, "record": _public(ctx.record)}


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
                            "page": {"enum": ["survey", "status"], "default": "survey"}},
                           ("to",))

    def __init__(self, config):
        super().__init__(config)
        if config.get("page", "survey") == "survey" and not config.get("survey_form"):
            raise RuleError("send_survey needs survey_form (or \"page\": \"status\")", code="rule.bad_action")
        self.subject = template_fn(config.get("subject") or "请评价我们的服务")
        self.body = config.get("body") or "请点击链接评价: {{ survey_link }}"
        template_fn(self.body)  # compile now: errors at save time

    def plan(self, ctx):
        return [Effect("send_survey", {"rule": ctx.rule, "form": ctx.form, "record_id": ctx.record_id,
                                       "survey_form": self.config.get("survey_form"),
                                       "page": self.config.get("page", "survey"), "recipients": self.config["to"],
                                       "subject": self.subject(ctx), "body_template": self.body})]
