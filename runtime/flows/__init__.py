"""The flow runtime: published flow versions, instances, tasks, timers and history.

``FlowService`` is the container's ``flows`` (built by ``runtime.app.create_app``): it is one
of ``jimu.listeners`` (``on_record_event``, asked first by ``wants``) and its ``job_handlers``
go into the job registry. Rule actions of automatic steps and task/flow rule triggers go through the
container's ``effects`` and ``rules``: this package never imports ``runtime.rules``.
"""
from .service import FlowRuntime, FlowService, publish_flows  # noqa: F401
from . import tables  # noqa: F401

__all__ = ["FlowRuntime", "FlowService", "publish_flows"]
