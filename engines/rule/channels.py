"""Notification channels: the ways a ``notify`` action (and a flow's messages) reach people.

One registry (entry-point group ``jimu.notify_channels``, setup.cfg) holds every channel: in-app,
e-mail, signed webhook, WeCom and DingTalk group robots, work messages to a person on WeCom and
DingTalk, and whatever a plugin adds. A channel is one class:

* ``type``, a bilingual ``label``;
* ``settings``: the JSON Schema properties of the notify settings it reads besides the common ones
  (``channel``, ``to``, ``subject``, ``body``, ``link``, ``template``, ``language``), checked when
  the rule compiles;
* ``recipients``: whether it addresses people (``to`` is required);
* ``check(config, allow)``: compile-time checks of one action's settings (pure, raises ``RuleError``);
* ``plan(config, message)``: the effect that carries the message to the outbox (pure; the message is
  planned, not rendered: templates and variables travel, the outbox renders per reader);
* ``job_kind`` and ``send(jimu, conn, job)``: the outbox job that delivers it, run by a worker in the
  job's own transaction; raising retries it with back-off (``runtime.jobs``).

The engine half (settings, check, plan) is pure. The built-in channels live in the runtime
(``runtime.rules.channels``), since their ``send`` needs it; they register through the entry points
exactly as a third-party channel does. The runtime's job registry takes each channel's
``job_kind → send`` (``runtime.services``).
"""
from __future__ import annotations

from typing import Any, Mapping

import jsonschema

from engines.registry import Registry

from .effects import Effect
from .exceptions import RuleError

#: the settings every channel may read (the notify action's own)
COMMON_SETTINGS = frozenset({"type", "note", "channel", "to", "subject", "body", "link", "template", "language"})


class Channel:
    type: str = ""
    label: Mapping[str, str] = {}
    #: JSON Schema properties of this channel's own settings
    settings: Mapping[str, Any] = {}
    #: the channel addresses people: ``to`` is required
    recipients: bool = False
    #: the outbox job kind whose handler is ``send``
    job_kind: str = ""
    #: the place in the builder's list of channels (then by type)
    order: int = 100

    @classmethod
    def available(cls, config: Mapping[str, Any]) -> bool:
        """Whether this deployment's settings let the channel send (a channel whose vendor is not configured
        is left out of what is sent by default, such as task notices)."""
        return True

    @classmethod
    def check(cls, config: Mapping[str, Any], allow: tuple[str, ...] = ()) -> None:
        """Compile-time checks beyond the schema (pure). Raise ``RuleError`` with a code that says the fix."""
        if cls.recipients and not config.get("to"):
            raise RuleError(f"a {cls.type} notification needs recipients (to)", code="rule.bad_action")

    @classmethod
    def plan(cls, config: Mapping[str, Any], message: dict[str, Any]) -> Effect:
        """The effect of one notification: ``send_message`` with the channel, its recipients and its
        settings; the runtime queues it as this channel's ``job_kind``."""
        return Effect("send_message", {**message, "channel": cls.type, "recipients": config.get("to"),
                                       "settings": {k: config[k] for k in cls.settings if k in config}})

    @staticmethod
    def send(jimu: Any, conn: Any, job: Any) -> None:  # pragma: no cover - interface
        """Deliver one queued message (the runtime half); raising makes the job retry."""
        raise NotImplementedError


def _check(item: type) -> None:
    if not (isinstance(item, type) and issubclass(item, Channel)):
        raise TypeError(f"notification channel {item!r} must subclass engines.rule.channels.Channel")
    if not isinstance(item.job_kind, str) or not item.job_kind:
        raise TypeError(f"notification channel {item.type!r} names no job_kind")
    if item.send is Channel.send:
        raise TypeError(f"notification channel {item.type!r} has no send")
    jsonschema.Draft202012Validator.check_schema({"type": "object", "properties": dict(item.settings)})


CHANNELS: Registry[Channel] = Registry("notify_channel", "jimu.notify_channels", check=_check)


def ordered() -> list[type[Channel]]:
    """The registered channels in the order the builder lists them."""
    return sorted(CHANNELS, key=lambda c: (c.order, c.type))


def channel(type_name: Any) -> type[Channel]:
    """The channel class of ``type_name``; an unknown one is a ``rule.unknown_channel`` error that names
    the known ones."""
    if type_name in CHANNELS:
        return CHANNELS.get(type_name)
    known = ", ".join(CHANNELS.types()) or "none: the entry points of setup.cfg are not installed (run make venv)"
    raise RuleError(f"unknown notification channel {type_name!r}; known channels: {known}",
                    code="rule.unknown_channel", channel=str(type_name))
