"""The built-in notification channels (``engines.rule.channels``): in-app, e-mail, signed webhook,
WeCom and DingTalk group robots, SMS. They register through the entry-point group
``jimu.notify_channels`` (setup.cfg) as a plugin's channel does; each plans its effect (pure) and
names the outbox job that delivers it (``runtime.rules.outbox``)."""
from __future__ import annotations

from typing import Any, Mapping

from engines.rule.actions.notify import MAIL_OPTIONS, SMS_OPTIONS, Notify, mail_payload, sms_plan
from engines.rule.channels import Channel
from engines.rule.effects import Effect
from engines.rule.exceptions import RuleError
from engines.rule.urls import check_url

from .outbox import in_app_job, send_email_job, send_webhook_job
from .sms import send_sms_job


def _notify_settings(*keys: str) -> dict[str, Any]:
    """The notify action's own schema of the settings a built-in channel reads (the builder shows a
    channel's settings only, from ``Channel.settings``)."""
    return {k: Notify.config_schema["properties"][k] for k in keys}


def channel_jobs() -> dict[str, Any]:
    """``job kind → send`` of every registered channel, for the container's job registry; two channels
    may share a job kind only with the same ``send``."""
    from engines.rule.channels import CHANNELS
    out: dict[str, Any] = {}
    for ch in CHANNELS:
        if out.setdefault(ch.job_kind, ch.send) is not ch.send:
            raise RuleError(f"notification channel {ch.type!r} reuses job kind {ch.job_kind!r} with another send",
                            code="notify_channel.duplicate_job_kind", channel=ch.type)
    return out


class InAppChannel(Channel):
    """The recipients' inbox in Jimu, as each of them may read the record."""

    type = "in_app"
    order = 10
    label = {"zh-CN": "站内消息", "en": "In-app message"}
    recipients = True
    job_kind = "rule.in_app"
    send = staticmethod(in_app_job)

    @classmethod
    def plan(cls, config: Mapping[str, Any], message: dict[str, Any]) -> Effect:
        return Effect("notify_in_app", {**message, "recipients": config["to"]})


class EmailChannel(Channel):
    """E-mail to users and addresses (``cc``, ``attach``, ``auto_submitted``: ``MAIL_OPTIONS``)."""

    type = "email"
    order = 20
    label = {"zh-CN": "邮件", "en": "E-mail"}
    recipients = True
    settings = MAIL_OPTIONS
    job_kind = "rule.email"
    send = staticmethod(send_email_job)

    @classmethod
    def plan(cls, config: Mapping[str, Any], message: dict[str, Any]) -> Effect:
        return Effect("send_email", {**message, "recipients": config["to"], **mail_payload(config)})


class WebhookChannel(Channel):
    """Jimu's webhook event posted to ``url``, signed with ``secret`` (or ``WEBHOOK_SECRET``)."""

    type = "webhook"
    order = 30
    label = {"zh-CN": "Webhook", "en": "Webhook"}
    settings = _notify_settings("url", "secret")
    job_kind = "rule.webhook"
    send = staticmethod(send_webhook_job)

    @classmethod
    def check(cls, config: Mapping[str, Any], allow: tuple[str, ...] = ()) -> None:
        if not config.get("url"):
            raise RuleError(f"a {cls.type} notification needs a url", code="rule.bad_action")
        check_url(config["url"], allow)

    @classmethod
    def plan(cls, config: Mapping[str, Any], message: dict[str, Any]) -> Effect:
        return Effect("send_webhook", {**message, "url": config["url"], "format": cls.type,
                                       "secret": config.get("secret"), "mentions": list(config.get("mentions", [])),
                                       "mention_all": bool(config.get("mention_all"))})


class WecomRobotChannel(WebhookChannel):
    """A WeCom (企业微信) group robot's webhook: markdown, or text with @-mentioned mobiles."""

    type = "wecom"
    order = 40
    label = {"zh-CN": "企业微信群机器人", "en": "WeCom group robot"}
    settings = _notify_settings("url", "mentions", "mention_all")


class DingtalkRobotChannel(WebhookChannel):
    """A DingTalk (钉钉) group robot's webhook, signed (加签) when it has a ``secret``."""

    type = "dingtalk"
    order = 50
    label = {"zh-CN": "钉钉群机器人", "en": "DingTalk group robot"}
    settings = _notify_settings("url", "secret", "mentions", "mention_all")


class SmsChannel(Channel):
    """A vendor SMS template to mobile numbers (``to.phones``, ``to.phone_fields``), its parameters rendered
    as outsiders read the record (``runtime.rules.sms``)."""

    type = "sms"
    label = {"zh-CN": "短信", "en": "SMS"}
    order = 60
    settings = {"to": Notify.config_schema["properties"]["to"], **SMS_OPTIONS}
    job_kind = "rule.sms"
    send = staticmethod(send_sms_job)

    @classmethod
    def check(cls, config: Mapping[str, Any], allow: tuple[str, ...] = ()) -> None:
        sms_plan(config)

    @classmethod
    def plan(cls, config: Mapping[str, Any], message: dict[str, Any]) -> Effect:
        templates, settings = sms_plan(config)
        return Effect("send_sms", {**message, "templates": {**message["templates"], **templates},
                                   "channel": "sms", "recipients": config["to"], "settings": settings})
