"""The flow engine: process definitions compiled once into immutable specs,
and a pure ``step(spec, state, event) -> (state, effects)`` core.

Node types live in ``FLOW_NODES``, filled from the ``jimu.flow_nodes``
entry-point group exactly like third-party plugins. The engine imports no
Flask, no database and no clock: the runtime (``runtime.flows``) persists the
state and executes the effects.
"""
from .compile import check_flow, compile_flow
from .effects import (EFFECTS, AppendHistory, AssignTask, CancelTimer, CloseTask, CreateTask, Effect,
                      Escalate, InstanceEnded, RunActions, ScheduleTimer, SetDue, SlaNotice)
from .events import (ActionsDone, Cancel, Delegate, Reassign, RecordChanged, Reopen, Return, Start, TaskCompleted,
                     TimerFired)
from .exceptions import FlowCheckError, FlowConflict, FlowError
from .nodes.base import FLOW_NODES, FlowNode
from .spec import EdgeSpec, FlowSpec, NodeSpec
from .states import InstanceStatus, TaskState
from .step import STATE_VERSION, new_state, returnable, step

__all__ = ["compile_flow", "check_flow", "step", "new_state", "returnable", "STATE_VERSION",
           "FLOW_NODES", "FlowNode", "FlowSpec", "NodeSpec", "EdgeSpec", "FlowCheckError", "FlowError",
           "FlowConflict", "InstanceStatus", "TaskState", "Start", "TaskCompleted", "TimerFired", "Cancel",
           "Reopen", "Reassign", "Delegate", "Return", "ActionsDone", "RecordChanged", "SlaNotice", "Effect", "EFFECTS", "CreateTask", "CloseTask",
           "AssignTask", "ScheduleTimer", "CancelTimer", "RunActions", "Escalate", "SetDue", "AppendHistory",
           "InstanceEnded"]
