"""The rule runtime: fires the rule engine's rules on every record write, runs their effects in the
writing transaction or through the outbox, logs every firing, and offers a side-effect-free dry run.

``create_app`` builds ``RuleRunner`` (the container's ``rules``, appended to ``jimu.listeners``) and
``EffectsExecutor`` (the container's ``effects``, which also runs flows' automatic steps); the flow
runtime reaches both through ``jimu.services`` and this package never imports ``runtime.flows``.
"""
from .channels import channel_jobs
from .dryrun import dry_run
from .outbox import JOB_HANDLERS, sync_schedules
from .runner import FLOW_EVENTS, MAX_DEPTH, EffectsExecutor, RuleRunner
from .tables import notifications, record_participants, rule_firings, rule_state

__all__ = ["RuleRunner", "EffectsExecutor", "JOB_HANDLERS", "channel_jobs", "dry_run", "sync_schedules",
           "FLOW_EVENTS", "MAX_DEPTH", "notifications", "record_participants", "rule_firings", "rule_state"]
