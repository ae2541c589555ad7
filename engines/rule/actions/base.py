"""The action contract and its registry (entry-point group ``jimu.rule_actions``).

An action class declares ``type``, a bilingual ``label``, a JSON Schema of its
configuration (``config_schema``, with ``"secret"`` hints for the builder), and
``plan(ctx) -> list[Effect]``. It is constructed once per rule with its
configuration (checked against the schema then, with every problem reported),
so planning at firing time only evaluates. Built-ins register through the
same entry points as third-party plugins (setup.cfg).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import jsonschema

from engines.errors import JimuError
from engines.expr import EvalContext, compile_expr
from engines.recipients import RECIPIENTS_SCHEMA  # noqa: F401 (the actions' recipients)
from engines.registry import Registry

from ..effects import Effect
from ..templates import compile_template


@dataclass
class ActionContext:
    """What an action sees when its rule fires."""

    rule: str
    form: str
    event: str
    record: Mapping[str, Any]
    variables: Mapping[str, Any]
    eval: EvalContext
    before: Mapping[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: the runtime's ``(field key, value) → shown value`` for ``{字段}`` placeholders (ids → names)
    names: Callable[[str, Any], Any] | None = None

    @property
    def record_id(self) -> int | None:
        return self.record.get("id") if self.record else None


ValueFn = Callable[[ActionContext], Any]


def value_fn(raw: Any) -> ValueFn:
    """A configured value: a literal, ``{"expr": "..."}`` or ``{"template": "... {字段} ..."}``."""
    if is_expr(raw):
        expr = compile_expr(raw["expr"])
        return lambda ctx: expr.evaluate(ctx.variables, ctx.eval)
    if is_template(raw):
        tpl = compile_template(raw["template"])
        return lambda ctx: tpl.render(ctx.variables, names=ctx.names)
    return lambda ctx: raw


def template_fn(source: Any) -> ValueFn:
    if source is None:
        return lambda ctx: ""
    tpl = compile_template(source)
    return lambda ctx: tpl.render(ctx.variables, names=ctx.names)


def deferred(source: Any) -> str | None:
    """A message template kept as its source: the runtime renders it in the outbox job, outside the
    write transaction, per recipient (``engines.rule.templates.render_message``). It is compiled now
    so that a syntax error shows when the rule is saved, not when a message is due."""
    if source is None:
        return None
    compile_template(source)
    return source


def is_expr(raw: Any) -> bool:
    """Whether a configured value is ``{"expr": "..."}`` (see ``value_fn``)."""
    return isinstance(raw, Mapping) and set(raw) == {"expr"}


def is_template(raw: Any) -> bool:
    """Whether a configured value is ``{"template": "..."}`` (see ``value_fn``)."""
    return isinstance(raw, Mapping) and set(raw) == {"template"}


VALUE_SCHEMA = {"description": "a literal, {\"expr\": \"...\"} or {\"template\": \"... {字段} ...\"}"}


class Action:
    type: str = ""
    label: dict[str, str] = {}
    config_schema: dict[str, Any] = {"type": "object"}
    #: the action calls out to URLs: it is built with the outbound allowlist, and checks its URLs
    outbound: bool = False

    def __init__(self, config: Mapping[str, Any]):
        self.config = dict(config)

    def plan(self, ctx: ActionContext) -> list[Effect]:  # pragma: no cover - interface
        raise NotImplementedError

    @classmethod
    def to_json(cls) -> dict[str, Any]:
        return {"type": cls.type, "label": cls.label, "config_schema": cls.config_schema}

    @classmethod
    def build(cls, config: Mapping[str, Any], errors: list[dict], ptr: str, *,
              allow: tuple[str, ...] = ()) -> "Action | None":
        problems = sorted(jsonschema.Draft202012Validator(cls.config_schema).iter_errors(dict(config)),
                          key=lambda e: list(e.absolute_path))
        for e in problems:
            errors.append({"code": "rule.bad_action", "pointer": ptr + "".join(f"/{p}" for p in e.absolute_path),
                           "message": f"{cls.type}: {e.message}", "action": cls.type})
        if problems:
            return None
        try:
            return cls(config, allow=allow) if cls.outbound else cls(config)
        except JimuError as exc:
            errors.append({**exc.to_dict(), "pointer": ptr, "action": cls.type})
            return None


def _check(item: type) -> None:
    if not (isinstance(item, type) and issubclass(item, Action)):
        raise TypeError(f"rule action {item!r} must subclass engines.rule.actions.Action")
    jsonschema.Draft202012Validator.check_schema(item.config_schema)


ACTIONS: Registry[Action] = Registry("rule_action", "jimu.rule_actions", check=_check)


def schema(props: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": {"type": {"type": "string"}, "note": {"type": "string"}, **props},
            "required": ["type", *required], "additionalProperties": False}
