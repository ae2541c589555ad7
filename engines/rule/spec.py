"""Rule specs: a rule definition compiled once into an immutable object.

``compile_rule(definition)`` checks everything and reports every problem at
once (``RuleInvalid`` with JSON pointers); ``RuleSpec.evaluate`` tests the
condition and ``RuleSpec.plan`` returns the effects. ``RuleSet`` indexes the
compiled rules of an installation by form and event, in firing order
(priority, then document order).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable, Mapping

from engines.errors import JimuError
from engines.expr import EvalContext

from .actions import ACTIONS, Action, ActionContext
from .conditions import PROCESS, Test, compile_condition, condition_paths
from .effects import Effect
from .exceptions import RuleInvalid
from .triggers import FlowEvent, Trigger, compile_trigger

MAX_ACTIONS = 50


@dataclass(frozen=True)
class RuleSpec:
    key: str
    form: str
    label: Any
    enabled: bool
    priority: int
    order: int
    stop: bool
    trigger: Trigger
    condition: Test
    actions: tuple[Action, ...]
    definition: Mapping[str, Any] = field(repr=False, compare=False)
    app: str | None = None

    def matches(self, variables: Mapping[str, Any], ctx: EvalContext) -> bool:
        return bool(self.condition(variables, ctx))

    @cached_property
    def paths(self) -> frozenset[tuple[str, str]]:
        """What the condition reads through links and sub-tables (``客户.等级``), worked out once
        (every firing asks: once worked out it is a plain attribute, read with no call)."""
        return frozenset(condition_paths(self.definition.get("condition")))

    @cached_property
    def reads_process(self) -> bool:
        """Whether the condition reads the record's process (``process.node``, ``process.done`` ...),
        which the runtime then supplies as the variable ``process`` (worked out once, as ``paths``)."""
        return any(name == PROCESS for name, _ in self.paths)

    def plan(self, ctx: ActionContext) -> list[Effect]:
        out: list[Effect] = []
        for action in self.actions:
            out.extend(action.plan(ctx))
        return out

    @cached_property
    def name(self) -> str:
        """The rule as the firing chain and its errors name it (worked out once, as ``paths``)."""
        label = self.label
        if isinstance(label, Mapping):
            label = label.get("zh-CN") or label.get("en") or next(iter(label.values()), None)
        return f"{self.key} ({label})" if label and label != self.key else self.key


def _label_text(value: Any, language: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(language) or value.get("zh-CN") or next(iter(value.values()), None)
    return value


def use_templates(action: Mapping[str, Any], templates: Mapping[str, Mapping[str, Any]], errors: list[dict],
                  ptr: str) -> Mapping[str, Any]:
    """``{"type": "notify", "template": "ack", "language": "en"}`` takes subject and body from the package's
    message template ``ack`` (in that language, zh-CN by default); the action's own subject/body win."""
    key = action.get("template")
    if key is None or not isinstance(action, Mapping) or action.get("type") not in ("notify", "send_survey"):
        return action
    tpl = templates.get(key) if isinstance(key, str) else None
    if tpl is None:
        errors.append({"code": "rule.unknown_template", "pointer": f"{ptr}/template",
                       "message": f"no message template {key!r} in the package", "template": str(key)[:100]})
        return None
    language = action.get("language") or "zh-CN"
    out = {k: v for k, v in action.items() if k not in ("template", "language")}
    for part in ("subject", "body"):
        if part not in out and tpl.get(part) is not None:
            out[part] = _label_text(tpl[part], language)
    return out


def compile_rule(definition: Mapping[str, Any], *, order: int = 0, app: str | None = None,
                 allow: tuple[str, ...] = (), templates: Mapping[str, Mapping[str, Any]] | None = None) -> RuleSpec:
    errors: list[dict] = []
    if not isinstance(definition, Mapping):
        raise RuleInvalid([{"code": "rule.not_object", "message": "a rule is a JSON object", "pointer": ""}])
    key = definition.get("key")
    if not isinstance(key, str) or not key:
        errors.append({"code": "rule.no_key", "message": "a rule needs a key", "pointer": "/key"})
    form = definition.get("form")
    if not isinstance(form, str) or not form:
        errors.append({"code": "rule.no_form", "message": "a rule names the form it watches", "pointer": "/form"})
    trigger = compile_trigger(definition.get("trigger"), errors)
    condition = compile_condition(definition.get("condition"), errors)
    actions: list[Action] = []
    raw_actions = definition.get("actions")
    if not isinstance(raw_actions, list) or not raw_actions:
        errors.append({"code": "rule.no_actions", "message": "a rule has at least one action",
                       "pointer": "/actions"})
        raw_actions = []
    if len(raw_actions) > MAX_ACTIONS:
        errors.append({"code": "rule.too_many_actions", "message": f"at most {MAX_ACTIONS} actions per rule",
                       "pointer": "/actions"})
    for i, raw in enumerate(raw_actions[:MAX_ACTIONS]):
        ptr = f"/actions/{i}"
        if not isinstance(raw, Mapping):
            errors.append({"code": "rule.bad_action", "message": "an action is an object {type, ...}",
                           "pointer": ptr})
            continue
        raw = use_templates(raw, templates or {}, errors, ptr)
        if raw is None:
            continue
        try:
            cls = ACTIONS.get(raw.get("type"))
        except JimuError:
            errors.append({"code": "rule.unknown_action", "pointer": f"{ptr}/type",
                           "message": f"unknown action {raw.get('type')!r}; use one of {', '.join(ACTIONS.types())}"})
            continue
        action = cls.build(raw, errors, ptr, allow=allow)
        if action is not None:
            actions.append(action)
    priority = definition.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        errors.append({"code": "rule.bad_priority", "message": "priority is a whole number", "pointer": "/priority"})
        priority = 0
    if errors:
        raise RuleInvalid(errors, f"rule {key!r} has {len(errors)} problem(s)")
    return RuleSpec(key=key, form=form, label=definition.get("label"), enabled=definition.get("enabled", True)
                    is not False, priority=priority, order=order, stop=bool(definition.get("stop")),
                    trigger=trigger, condition=condition, actions=tuple(actions), definition=definition, app=app)


class RuleSet:
    """The compiled, enabled rules of an installation, indexed for dispatch."""

    def __init__(self, rules: Iterable[RuleSpec], problems: list[dict] | None = None):
        self.rules = sorted((r for r in rules), key=lambda r: (r.priority, r.order))
        self.by_key = {r.key: r for r in self.rules}
        self.problems = problems or []
        self._by_form_event: dict[tuple[str, str], list[RuleSpec]] = {}
        for r in self.rules:
            if not r.enabled:
                continue
            for ev in r.trigger.events:
                self._by_form_event.setdefault((r.form, ev), []).append(r)

    def for_event(self, form: str, event: str) -> list[RuleSpec]:
        return self._by_form_event.get((form, event), [])

    def scheduled(self) -> list[RuleSpec]:
        return [r for r in self.rules if r.enabled and r.trigger.scheduled]

    def flow_rules(self, event: str, flow: str | None, task: str | None, *, form: str | None = None) -> list[RuleSpec]:
        """The enabled rules with a task/flow trigger for ``event`` of ``flow`` at ``task`` (of ``form``:
        looked up in the (form, event) index instead of going through every rule)."""
        candidates = self.for_event(form, event) if form is not None else self.rules
        return [r for r in candidates if r.enabled and isinstance(r.trigger, FlowEvent)
                and event in r.trigger.events and r.trigger.matches(flow, task)]

    def listens_to_flow(self, event: str, flow: str | None, form: str) -> bool:
        """Whether a rule of ``form`` has a trigger for ``event`` of ``flow``, at any task."""
        return any(isinstance(r.trigger, FlowEvent) and r.trigger.flow in (None, flow)
                   for r in self.for_event(form, event))

    def get(self, key: str) -> RuleSpec:
        try:
            return self.by_key[key]
        except KeyError:
            from engines.errors import NotFound
            raise NotFound(f"no rule {key!r}", code="rule.not_found", rule=key) from None


def compile_rules(definitions: Iterable[tuple[str | None, Mapping[str, Any]]], *, allow: tuple[str, ...] = (),
                  templates: Mapping[Any, Mapping[str, Mapping[str, Any]]] | None = None) -> RuleSet:
    """Compile many rules; a broken rule is reported in ``problems`` and skipped, never fatal."""
    rules, problems = [], []
    for i, (app, d) in enumerate(definitions):
        try:
            rules.append(compile_rule(d, order=i, app=app, allow=allow, templates=(templates or {}).get(app)))
        except RuleInvalid as exc:
            problems.append({"rule": d.get("key") if isinstance(d, Mapping) else None, "app": app,
                             "errors": exc.errors})
    return RuleSet(rules, problems)
