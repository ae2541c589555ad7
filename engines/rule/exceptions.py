"""Rule engine errors. Each carries a stable ``code`` and the context needed to fix it."""
from __future__ import annotations

from engines.errors import JimuError, ValidationErrors


class RuleError(JimuError):
    code = "rule.error"


class RuleInvalid(ValidationErrors):
    """A rule definition with problems; all of them are reported at once, with JSON pointers."""

    code = "rule.invalid"
    status = 422


class RuleLoopError(RuleError):
    """A rule fired again on the same record inside its own chain (A → B → A)."""

    code = "rule.loop"
    status = 409


class RuleDepthError(RuleError):
    code = "rule.too_deep"
    status = 409


class ActionError(RuleError):
    code = "rule.action_failed"


class FlowUnavailable(RuleError):
    """The flow runtime is not installed in this process (start flow / task actions need it)."""

    code = "rule.flow_unavailable"
    status = 501


class TemplateError(RuleError):
    code = "template.invalid"
