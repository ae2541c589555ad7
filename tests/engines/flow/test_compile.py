import pytest

from engines.flow import FLOW_NODES, FlowCheckError, FlowNode, check_flow, compile_flow
from engines.registry import RegistryError

from .helpers import chain, edge, flow, node


def codes(definition):
    return sorted((p["code"], p.get("node") or p.get("edge")) for p in check_flow(definition))


def test_builtin_node_types_come_from_the_entry_points():
    assert set(FLOW_NODES.types()) >= {"start", "end", "user_task", "approval", "countersign",
                                       "exclusive_gateway", "parallel_gateway", "timer", "automatic"}
    assert not FLOW_NODES.broken


def test_registry_refuses_a_class_that_is_not_a_flow_node():
    class NotANode:
        type = "bogus"
    with pytest.raises(RegistryError):
        FLOW_NODES.register(NotANode)


def test_a_plugin_node_type_registers_like_a_builtin(monkeypatch):
    class Stamp(FlowNode):
        type = "stamp_test"
        label = {"en": "Stamp"}

        def enter(self, run, node, token):
            run.history(node.id, "stamped")
            run.leave(node, token)
    FLOW_NODES.register(Stamp)
    try:
        spec = compile_flow(chain(("s", "start"), ("x", "stamp_test"), ("e", "end")))
        assert spec.nodes["x"].behaviour.__class__ is Stamp
    finally:
        FLOW_NODES.unregister("stamp_test")


def test_a_valid_flow_compiles_to_an_immutable_spec():
    spec = compile_flow(chain(("s", "start"), ("a", "user_task"), ("e", "end")))
    assert spec.start_node == "s" and spec.first_node == "a" and spec.reopen_to == "a"
    assert spec.can_reach("s", "e") and not spec.can_reach("e", "s")
    with pytest.raises(TypeError):
        spec.nodes["a"] = None
    with pytest.raises(TypeError):
        spec.nodes["a"].config["assignee"] = {}


def test_nodes_may_be_keyed_by_id():
    d = {"key": "f", "version": 1, "nodes": {"s": {"type": "start"}, "e": {"type": "end"}},
         "edges": [edge("s", "e")]}
    assert compile_flow(d).first_node == "e"


def test_all_problems_are_reported_at_once_with_node_ids():
    d = flow([node("s1", "start"), node("s2", "start"), node("a", "user_task"), node("lost", "user_task"),
              node("loop", "user_task"), node("e", "end")],
             [edge("s1", "a"), edge("s2", "a"), edge("a", "e"), edge("lost", "e"), edge("a", "loop"),
              edge("loop", "loop", id="self")])
    found = codes(d)
    assert ("flow.start_count", None) in found
    assert ("flow.unreachable", "lost") in found
    assert ("flow.dead_end", "loop") in found
    with pytest.raises(FlowCheckError) as info:
        compile_flow(d)
    assert len(info.value.errors) == len(found) >= 3


def test_structural_problems_are_listed_together():
    d = flow([node("s", "start"), node("x", "warp_drive"), node("c", "countersign"),
              node("t", "timer", after="two hours"), node("e", "end")],
             [edge("s", "x"), edge("x", "e"), edge("s", "ghost"), {"id": "bad", "from": "s", "to": "e",
                                                                    "condition": "1 +"}])
    found = codes(d)
    assert ("flow.unknown_node_type", "x") in found
    assert ("flow.bad_config", "c") in found            # countersign needs assignees
    assert ("calendar.bad_duration", "t") in found
    assert ("flow.dangling_edge", "s-ghost") in found
    assert ("flow.bad_condition", "bad") in found


def test_gateway_edges_need_a_condition_or_a_default_and_a_missing_default_is_a_warning():
    base = [node("s", "start"), node("g", "exclusive_gateway"), node("a", "user_task"), node("b", "user_task"),
            node("e", "end")]
    tail = [edge("a", "e"), edge("b", "e"), edge("s", "g")]
    assert ("flow.missing_condition", "g") in codes(flow(base, [edge("g", "a", condition="x > 1"),
                                                                edge("g", "b")] + tail))
    spec = compile_flow(flow(base, [edge("g", "a", condition="x > 1"), edge("g", "b", condition="x <= 1")] + tail))
    assert [w["code"] for w in spec.warnings] == ["flow.no_default_edge"]
    spec = compile_flow(flow(base, [edge("g", "a", condition="x > 1"), edge("g", "b", default=True)] + tail))
    assert spec.warnings == ()


def test_forks_and_joins_must_balance():
    nodes = [node("s", "start"), node("f", "parallel_gateway"), node("a", "user_task"), node("b", "user_task"),
             node("c", "user_task"), node("j", "parallel_gateway"), node("e", "end")]
    ok = [edge("s", "f"), edge("f", "a"), edge("f", "b"), edge("a", "j"), edge("b", "j"), edge("j", "e")]
    assert codes(flow(nodes, ok + [edge("c", "e")])) == [("flow.incoming_edges", "c"), ("flow.unreachable", "c")]
    # three branches into a join that waits for two
    unbalanced = [edge("s", "f"), edge("f", "a"), edge("f", "b"), edge("f", "c"), edge("a", "j"), edge("b", "j"),
                  edge("c", "e"), edge("j", "e")]
    assert ("flow.parallel_unbalanced", "f") in codes(flow(nodes, unbalanced))
    # a join without a fork waits forever
    nofork = [edge("s", "a"), edge("a", "b"), edge("a", "j"), edge("b", "j"), edge("j", "e")]
    assert ("flow.parallel_unbalanced", "j") in codes(flow([n for n in nodes if n["id"] not in ("f", "c")], nofork))


def test_loops_are_allowed_for_rework():
    d = flow([node("s", "start"), node("a", "user_task"), node("r", "approval"), node("e", "end")],
             [edge("s", "a"), edge("a", "r"), edge("r", "e", outcome="approve"), edge("r", "a", outcome="reject")])
    assert check_flow(d) == []


def test_task_specific_checks():
    d = flow([node("s", "start"), node("a", "user_task", outcomes=["ok"]),
              node("r", "approval", return_to="e"), node("e", "end")],
             [edge("s", "a"), edge("a", "r", outcome="nope"), edge("r", "e")])
    found = codes(d)
    assert ("flow.unknown_outcome", "a") in found
    assert ("flow.bad_return_target", "r") in found
