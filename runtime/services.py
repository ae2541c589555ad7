"""The typed service container of one ``Jimu`` (the "explicit wiring" seam of DESIGN.md).

``runtime.app.create_app`` builds every service here, explicitly, when the app is created —
``build_services`` is the only place that decides which class serves what. Nothing attaches
itself to the ``Jimu`` object later, and the parts reach each other only through this
container: the flow runtime asks ``services.rules`` for task triggers and ``services.effects``
for its automatic steps; the effects executor asks ``services.flows`` for start-flow and task
actions. So ``runtime.flows`` and ``runtime.rules`` never import each other
(``tests/runtime/test_wiring.py`` keeps the package import graph acyclic).
"""
from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Callable

import sqlalchemy as sa

from .api.reports import Reports
from .auth import PrincipalCache, policy
from .chat import Hub
from .dataio.importer import JOB_HANDLERS as IMPORT_JOBS
from .files import Files
from .filestore import store_for
from .flows import FlowService
from .jobs import JobKinds
from .mailbox import JOB_HANDLERS as MAIL_JOBS
from .notify.notifier import Notifier
from .records import Records
from .retention import JOB_HANDLERS as RETENTION_JOBS
from .rules import JOB_HANDLERS as RULE_JOBS, EffectsExecutor, RuleRunner, channel_jobs
from .store import Catalog, RecordStore
from .webhooks_out import JOB_HANDLERS as WEBHOOK_JOBS, WebhookListener


@dataclass(frozen=True)
class Services:
    #: the installed form definitions, compiled once per revision
    definitions: Catalog
    #: the record tables of one connection: ``store(conn)``
    store: Callable[[sa.Connection], RecordStore]
    #: the record write path (clean, permissions, rules, audit): ``records(jimu, conn, principal, ...)``
    records: type[Records]
    flows: FlowService
    rules: RuleRunner
    #: the one executor of effects, shared by rules and flows' automatic steps
    effects: EffectsExecutor
    #: compiled reports and dashboards
    reports: Reports
    #: job kind → handler, for the workers
    jobs: JobKinds
    #: e-mail and outgoing HTTP with this deployment's settings
    notifier: Notifier
    #: where uploaded files are kept
    files: Files
    #: the one permission policy (stateless functions: ``can``, ``require``, ``row_filter`` ...)
    policy: ModuleType
    #: who a session or token is, cached for a few seconds
    principals: PrincipalCache
    #: called in the writing transaction after every record change, in this order
    listeners: tuple[Callable, ...]
    #: wakes this process's live-chat readers after a message commits (``runtime.chat``)
    chat: Hub


def build_services(jimu) -> Services:
    """Every service of ``jimu``, built now (called once, by ``Jimu.__init__`` from ``create_app``)."""
    flows = FlowService(jimu)
    rules = RuleRunner(jimu)
    return Services(
        definitions=jimu.catalog,
        store=RecordStore,
        records=Records,
        flows=flows,
        rules=rules,
        effects=EffectsExecutor(jimu),
        reports=Reports(jimu),
        jobs=JobKinds({**flows.job_handlers(), **RULE_JOBS, **channel_jobs(), **RETENTION_JOBS, **IMPORT_JOBS, **WEBHOOK_JOBS,
                      **MAIL_JOBS}),
        notifier=Notifier(jimu.config),
        files=Files(store_for(jimu.config, jimu.engine)),
        policy=policy,
        principals=PrincipalCache(),
        listeners=(flows, rules, WebhookListener(jimu)),
        chat=Hub(),
    )
