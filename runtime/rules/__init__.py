"""The rule runtime: fires the rule engine's rules on every record write, runs their effects in the
writing transaction or through the outbox, logs every firing, and offers a side-effect-free dry run.

``create_app`` appends ``RuleRunner(jimu)`` to ``jimu.listeners``; the flow runtime calls
``fire_flow_event`` for task and flow triggers.
"""
from . import outbox  # noqa: F401  (registers the rule.* job kinds)
from .dryrun import dry_run
from .flows import fire_flow_event
from .outbox import sync_schedules
from .runner import MAX_DEPTH, RuleRunner, execute_effects
from .tables import notifications, record_participants, rule_firings, rule_state

__all__ = ["RuleRunner", "execute_effects", "dry_run", "fire_flow_event", "sync_schedules", "MAX_DEPTH", "notifications",
           "record_participants", "rule_firings", "rule_state"]
