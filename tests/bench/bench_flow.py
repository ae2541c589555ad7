"""Flow engine vs SpiffWorkflow: 2,000 instances of start → exclusive gateway → user task → end.

Both sides do the same work per instance, in one run: start the instance on a
spec compiled/parsed once, let the gateway pick the user-task branch by a
condition on instance data, persist the state as JSON (a row in an in-memory
SQLite table), load it back, complete the user task, run to the end and
persist again. Jimu uses ``engines.flow.step`` with its plain-dict state;
SpiffWorkflow runs the equivalent BPMN through ``BpmnWorkflowSerializer``.
Prints both rates (medians over repeats), the ratio (goal ≥ 10×) and the
size of one persisted instance state on each side.
"""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone

from tests.bench.util import median_time, report

N = 2000
REPEAT = 3
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)

FLOW = {"key": "bench", "version": 1, "form": "ticket",
        "nodes": [{"id": "start", "type": "start"}, {"id": "gw", "type": "exclusive_gateway"},
                  {"id": "task", "type": "user_task", "config": {"assignee": {"kind": "role", "value": "agent"}}},
                  {"id": "end", "type": "end"}, {"id": "skip", "type": "end", "config": {"outcome": "skipped"}}],
        "edges": [{"id": "e1", "from": "start", "to": "gw"},
                  {"id": "e2", "from": "gw", "to": "task", "condition": "urgency == 'high'"},
                  {"id": "e3", "from": "gw", "to": "skip", "default": True},
                  {"id": "e4", "from": "task", "to": "end"}]}

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="bench" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>e1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="gw" default="e3"><bpmn:incoming>e1</bpmn:incoming>
      <bpmn:outgoing>e2</bpmn:outgoing><bpmn:outgoing>e3</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:userTask id="task"><bpmn:incoming>e2</bpmn:incoming><bpmn:outgoing>e4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>e4</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="skip"><bpmn:incoming>e3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="e1" sourceRef="start" targetRef="gw"/>
    <bpmn:sequenceFlow id="e2" sourceRef="gw" targetRef="task">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">urgency == 'high'</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="e3" sourceRef="gw" targetRef="skip"/>
    <bpmn:sequenceFlow id="e4" sourceRef="task" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _table() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE instances (id INTEGER PRIMARY KEY, state TEXT NOT NULL)")
    return db


def run_jimu(n: int = N) -> int:
    from engines.flow import Start, TaskCompleted, compile_flow, new_state, step
    spec = compile_flow(FLOW)
    record = {"urgency": "high"}
    db = _table()
    size = 0
    for i in range(1, n + 1):
        state, _ = step(spec, new_state(spec, i), Start(actor="1"), now=NOW, record=record)
        text = json.dumps(state, separators=(",", ":"))
        db.execute("INSERT INTO instances (id, state) VALUES (?, ?)", (i, text))
        state = json.loads(db.execute("SELECT state FROM instances WHERE id = ?", (i,)).fetchone()[0])
        (task,) = state["tasks"]
        state, _ = step(spec, state, TaskCompleted(task, actor="2"), now=NOW, record=record)
        assert state["status"] == "completed"
        db.execute("UPDATE instances SET state = ? WHERE id = ?", (json.dumps(state, separators=(",", ":")), i))
        size = max(size, len(text.encode()))
    db.close()
    return size


def run_spiff(n: int = N) -> int:
    from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState
    parser = BpmnParser()
    parser.add_bpmn_str(BPMN.encode())
    spec = parser.get_spec("bench")
    serializer = BpmnWorkflowSerializer()
    db = _table()
    size = 0
    for i in range(1, n + 1):
        wf = BpmnWorkflow(spec)
        wf.data["urgency"] = "high"
        for t in wf.get_tasks(state=TaskState.READY):
            t.data["urgency"] = "high"
        wf.do_engine_steps()
        text = serializer.serialize_json(wf)
        db.execute("INSERT INTO instances (id, state) VALUES (?, ?)", (i, text))
        wf = serializer.deserialize_json(db.execute("SELECT state FROM instances WHERE id = ?", (i,)).fetchone()[0])
        (task,) = wf.get_tasks(state=TaskState.READY, manual=True)
        assert task.task_spec.name == "task"
        task.run()
        wf.do_engine_steps()
        assert wf.is_completed()
        db.execute("UPDATE instances SET state = ? WHERE id = ?", (serializer.serialize_json(wf), i))
        size = max(size, len(text.encode()))
    db.close()
    return size


def main() -> None:
    jimu_size = run_jimu(50)    # warm up imports and caches on both sides
    spiff_size = run_spiff(50)
    t_jimu = median_time(run_jimu, REPEAT)
    t_spiff = median_time(run_spiff, REPEAT)
    print(f"{N} instances, median of {REPEAT}: jimu {t_jimu:.3f}s, SpiffWorkflow {t_spiff:.3f}s")
    report("flow instances/s (start → gateway → user task → end, state persisted)",
           N / t_jimu, N / t_spiff, "inst/s", goal=10)
    print(f"persisted state of an instance waiting at the user task: jimu {jimu_size} bytes | "
          f"SpiffWorkflow {spiff_size} bytes", flush=True)


if __name__ == "__main__":
    main()
