"""The flow runtime: published flow versions, instances, tasks, timers and history.

``listener`` goes into ``jimu.listeners`` (see ``runtime.app.create_app``); importing
this package registers the ``flow.timer`` and ``flow.actions`` job kinds.
"""
from .service import FlowRuntime, on_record_event as listener, publish_flows  # noqa: F401
from . import tables  # noqa: F401

__all__ = ["FlowRuntime", "listener", "publish_flows"]
