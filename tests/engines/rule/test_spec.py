"""Rule specs: compile once, all problems at once, conditions, triggers, action plans."""
from datetime import datetime, timedelta, timezone

import pytest

from engines.errors import JimuError
from engines.expr import EvalContext
from engines.rule import ACTIONS, ActionContext, RuleInvalid, compile_rule, compile_rules, operator_catalogue
from engines.rule.triggers import CREATED, DELETED, UPDATED

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def rule(**kw):
    d = {"key": "r", "form": "工单", "trigger": {"type": "record_created"},
         "actions": [{"type": "set_fields", "values": {"状态": "已受理"}}]}
    d.update(kw)
    return compile_rule(d)


def ctx(record, rule_key="r", before=None, event=CREATED, agg=None):
    ec = EvalContext(now=NOW, aggregate=agg)
    return ActionContext(rule=rule_key, form="工单", event=event, record=record, variables=record, eval=ec,
                         before=before)


def test_every_problem_is_reported_at_once_with_pointers():
    with pytest.raises(RuleInvalid) as exc:
        compile_rule({"key": "bad", "form": "工单", "trigger": {"type": "nope"},
                      "condition": {"all": [{"field": "a", "op": "zz"}, {"expr": "a +"}]},
                      "actions": [{"type": "teleport"}, {"type": "set_fields"},
                                  {"type": "notify", "channel": "webhook", "url": "http://127.1/x"}]})
    got = {(e["pointer"], e["code"]) for e in exc.value.errors}
    assert ("/trigger/type", "rule.unknown_trigger") in got
    assert ("/condition/all/0", "rule.unknown_operator") in got
    assert ("/condition/all/1", "expr.syntax") in got
    assert ("/actions/0/type", "rule.unknown_action") in got
    assert ("/actions/1", "rule.bad_action") in got
    assert ("/actions/2", "url.private_address") in got


def test_broken_rules_are_skipped_and_reported_by_compile_rules():
    rs = compile_rules([("app", {"key": "ok", "form": "f", "trigger": {"type": "record_created"},
                                 "actions": [{"type": "set_fields", "values": {"a": 1}}]}),
                        ("app", {"key": "broken", "form": "f", "trigger": {"type": "x"}, "actions": []})])
    assert [r.key for r in rs.rules] == ["ok"]
    assert rs.problems[0]["rule"] == "broken" and rs.problems[0]["errors"]


def test_all_any_not_tree_with_operators_and_expressions():
    r = rule(condition={"all": [
        {"field": "紧急程度", "op": "eq", "value": "高"},
        {"any": [{"field": "类别", "op": "in", "value": ["服务器故障", "网络"]},
                 {"field": "描述", "op": "contains_any", "value": ["宕机", "502"]}]},
        {"not": {"field": "状态", "op": "eq", "value": "已解决"}},
        {"expr": "len(描述) > 3"}]})
    ec = EvalContext(now=NOW)
    base = {"紧急程度": "高", "类别": "其他", "描述": "网站返回 502 错误", "状态": "新建"}
    assert r.matches(base, ec)
    assert not r.matches({**base, "紧急程度": "低"}, ec)
    assert not r.matches({**base, "描述": "页面有点慢"}, ec)
    assert r.matches({**base, "描述": "页面有点慢", "类别": "网络"}, ec)
    assert not r.matches({**base, "状态": "已解决"}, ec)


def test_operator_catalogue_lists_labels_and_inputs_for_the_builder():
    ops = {o["type"]: o for o in operator_catalogue()}
    assert ops["between"]["input"] == "pair" and ops["is_empty"]["input"] == "none"
    assert ops["contains_any"]["label"]["zh-CN"] == "包含任一关键词"


def test_hours_since_uses_the_context_clock():
    r = rule(condition={"expr": "hours_since(created_at) > 2 and 状态 != '已解决'"})
    rec = {"created_at": NOW - timedelta(hours=3), "状态": "处理中"}
    assert r.matches(rec, EvalContext(now=NOW))
    assert not r.matches(rec, EvalContext(now=NOW - timedelta(hours=2)))


def test_aggregate_conditions_resolve_filters_against_the_record():
    calls = []

    def agg(fn, form, field, filters, days, date_field="created_at"):
        calls.append((fn, form, field, filters, days, date_field))
        return 4

    r = rule(condition={"aggregate": {"fn": "count", "form": "工单", "within_days": 30, "filter": [
        {"field": "客户", "op": "eq", "value": {"expr": "客户"}}, {"field": "类别", "value": {"expr": "类别"}}]},
        "op": "gt", "value": 3})
    assert r.matches({"客户": 7, "类别": "账单"}, EvalContext(now=NOW, aggregate=agg))
    assert calls == [("count", "工单", None, [["客户", "eq", 7], ["类别", "eq", "账单"]], 30, "created_at")]
    r2 = rule(condition={"expr": "count_records('工单', [['客户', 'eq', 客户]], 30) > 5"})
    assert not r2.matches({"客户": 7}, EvalContext(now=NOW, aggregate=agg))


def test_record_triggers():
    assert rule().trigger.occurrences(CREATED, {"a": 1}, None) == [{}]
    assert rule().trigger.occurrences(UPDATED, {"a": 1}, {"a": 0}) == []
    upd = rule(trigger={"type": "record_updated", "fields": ["状态"]}).trigger
    assert upd.occurrences(UPDATED, {"状态": "a", "x": 1}, {"状态": "a", "x": 0}) == []
    assert upd.occurrences(UPDATED, {"状态": "b"}, {"状态": "a"}) == [{}]
    assert rule(trigger={"type": "record_deleted"}).trigger.occurrences(DELETED, None, {"a": 1}) == [{}]


def test_field_changed_from_to():
    t = rule(trigger={"type": "field_changed", "field": "状态", "from": "处理中", "to": ["已解决", "已关闭"]}).trigger
    assert t.occurrences(UPDATED, {"状态": "已关闭"}, {"状态": "处理中"}) == [
        {"changed": {"field": "状态", "from": "处理中", "to": "已关闭"}}]
    assert t.occurrences(UPDATED, {"状态": "已关闭"}, {"状态": "新建"}) == []
    assert t.occurrences(UPDATED, {"状态": "处理中"}, {"状态": "已关闭"}) == []
    assert t.occurrences(CREATED, {"状态": "已关闭"}, None) == []  # "from" given: a create is no change from it
    any_change = rule(trigger={"type": "field_changed", "field": "状态"}).trigger
    assert any_change.occurrences(CREATED, {"状态": "新建"}, None)[0]["changed"]["to"] == "新建"
    assert any_change.occurrences(UPDATED, {"状态": "新建"}, {"状态": "新建"}) == []


def test_subtable_row_triggers_fire_per_row():
    before = {"明细": [{"id": 1, "品名": "a", "数量": 1}, {"id": 2, "品名": "b", "数量": 1}]}
    after = {"明细": [{"id": 1, "品名": "a", "数量": 5}, {"id": 3, "品名": "c", "数量": 1}]}
    add = rule(trigger={"type": "row_added", "subtable": "明细"}).trigger
    upd = rule(trigger={"type": "row_updated", "subtable": "明细"}).trigger
    rem = rule(trigger={"type": "row_removed", "subtable": "明细"}).trigger
    assert [o["row"]["id"] for o in add.occurrences(UPDATED, after, before)] == [3]
    assert [o["row"]["id"] for o in upd.occurrences(UPDATED, after, before)] == [1]
    assert [o["row"]["id"] for o in rem.occurrences(UPDATED, after, before)] == [2]
    assert len(add.occurrences(CREATED, after, None)) == 2


def test_time_after_and_schedule_triggers():
    t = rule(trigger={"type": "time_after", "field": "created_at", "hours": 2}).trigger
    assert t.scheduled and t.due({"created_at": NOW}) == NOW + timedelta(hours=2)
    assert t.due({"created_at": None}) is None
    s = rule(trigger={"type": "schedule", "cron": "0 9 * * 1-5", "tz": "Asia/Shanghai"}).trigger
    assert s.cron.next_after(NOW) == datetime(2026, 11, 3, 1, 0, tzinfo=timezone.utc)
    with pytest.raises(RuleInvalid) as exc:
        rule(trigger={"type": "schedule", "cron": "61 * * * *"})
    assert exc.value.errors[0]["code"] == "rule.bad_cron"


def test_action_registry_comes_from_entry_points():
    assert {"set_fields", "assign", "add_participant", "notify", "create_record", "update_related", "start_flow",
            "escalate_task", "reassign_task", "send_survey", "call_http"} <= set(ACTIONS.types())
    assert not ACTIONS.broken


def test_action_plans_are_effects_with_planned_messages():
    """Data values are rendered when planned; messages keep their templates and variables, and render
    (in the runtime's outbox) to the same text."""
    from engines.rule.actions.notify import robot_payload
    from engines.rule.templates import render_message
    r = rule(actions=[
        {"type": "set_fields", "values": {"优先级": {"expr": "if(紧急程度 == '高', 1, 3)"},
                                          "标题": {"template": "[{工单编号}] {标题}"}}},
        {"type": "assign", "field": "处理人", "strategy": "round_robin", "group": "finance"},
        {"type": "notify", "channel": "email", "to": {"user_fields": ["处理人"]},
         "subject": "新工单 {工单编号}: {客户姓名}", "body": "描述: {描述}"},
        {"type": "notify", "channel": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
         "subject": "告警", "body": "{标题}", "mentions": ["13800000000"]},
        {"type": "notify", "channel": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?access_token=t",
         "subject": "告警", "body": "{标题}"},
        {"type": "create_record", "form": "知识库", "mapping": {"标题": {"expr": "标题"}, "来源": {"expr": "id"}}},
        {"type": "call_http", "url": "https://api.example.com/score", "json": {"phone": {"expr": "电话"}},
         "store": {"信用分": "data.score"}},
    ])
    rec = {"id": 9, "工单编号": "T-9", "标题": "{{7*7}}", "紧急程度": "高", "客户姓名": "王五", "描述": "{% raw %}",
           "电话": "139"}
    effects = r.plan(ctx(rec))
    kinds = [e.kind for e in effects]
    assert kinds == ["set_fields", "assign", "send_email", "send_webhook", "send_webhook", "create_record",
                     "call_http"]
    assert effects[0].data["values"] == {"优先级": 1, "标题": "[T-9] {{7*7}}"}
    mail = effects[2].data
    assert mail["templates"] == {"subject": "新工单 {工单编号}: {客户姓名}", "body": "描述: {描述}"}
    assert mail["variables"] == rec and "subject" not in mail  # nothing rendered while the write is open
    assert render_message(mail["templates"], mail["variables"]) == {"subject": "新工单 T-9: 王五",
                                                                    "body": "描述: {% raw %}"}

    def robot(effect):
        m = render_message(effect.data["templates"], effect.data["variables"])
        return robot_payload(effect.data, m["subject"], m["body"], effect.data["variables"])
    assert robot(effects[3]) == {"msgtype": "text", "text": {"content": "**告警**\n{{7*7}}",
                                                             "mentioned_mobile_list": ["13800000000"]}}
    assert robot(effects[4])["msgtype"] == "markdown"
    assert robot(effects[4])["markdown"] == {"title": "告警", "text": "### 告警\n\n{{7*7}}"}
    assert effects[5].data == {"form": "知识库", "values": {"标题": "{{7*7}}", "来源": 9}}
    call = effects[6]  # its expressions are evaluated by the outbox, on what outsiders may read
    assert call.data["expressions"] == {"phone": "电话"} and call.data["json"] == {} and call.external


def test_assign_needs_the_input_of_its_strategy():
    with pytest.raises(RuleInvalid) as exc:
        rule(actions=[{"type": "assign", "field": "处理人", "strategy": "round_robin"}])
    assert "needs group" in exc.value.errors[0]["message"]


def test_fast_paths_agree_with_the_general_operators():
    """Literal comparisons and emptiness are specialised; they must answer exactly as the registry's
    operators."""
    import itertools
    from engines.operators import OPERATORS
    values = [None, "", "高", "低", 0, 1, 2.5, -3, True, False, [], ["高"], NOW, "2026-11-02", {"a": 1}, {}, " "]
    consts = {"eq": ["高", 1, 2.5, ""], "ne": ["高", 1, 0.0], "in": [["高", "中"], ["x"]],
              "not_in": [["高", "中"]], "gt": [1, 2.5], "gte": [0], "lt": [2], "lte": [-3.0],
              "is_empty": [None], "is_not_empty": [None]}
    for op, cs in consts.items():
        general = OPERATORS.get(op).test
        for const, x in itertools.product(cs, values):
            r = rule(condition={"field": "f", "op": op, "value": const})
            assert _outcome(r.matches, {"f": x}, EvalContext(now=NOW)) == _outcome(
                lambda *a: bool(general(*a)), x, const, NOW), (op, const, x)
    for op in ("is_empty", "is_not_empty"):  # no value given, and no field in the record at all
        r = rule(condition={"field": "f", "op": op})
        assert r.matches({}, EvalContext(now=NOW)) is bool(OPERATORS.get(op).test(None, None, NOW))


def _outcome(fn, *args):
    """A result, or the code of the typed error raised instead (both paths must raise alike)."""
    try:
        return fn(*args)
    except JimuError as exc:
        return exc.code
