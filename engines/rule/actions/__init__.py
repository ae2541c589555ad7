"""Rule actions: the contract, the registry and the built-ins (registered by entry points)."""
from .base import ACTIONS, Action, ActionContext, RECIPIENTS_SCHEMA, VALUE_SCHEMA, schema, template_fn, value_fn

__all__ = ["ACTIONS", "Action", "ActionContext", "RECIPIENTS_SCHEMA", "VALUE_SCHEMA", "schema", "template_fn",
           "value_fn"]


def catalogue() -> list[dict]:
    """Every registered action with its configuration schema, for the builder's palette."""
    return [ACTIONS.get(t).to_json() for t in ACTIONS.types()]
