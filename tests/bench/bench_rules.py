"""Rule engine benchmark (issue 5).

20 rules (conditions like ``priority == "高" and category in [...]``,
``hours_since(created_at) > 2 and status != "已解决"``) over 100,000 record events.
Three evaluators on the same generated events, in one run:

* Jimu: the rules compiled once (``engines.rule.compile_rules``), dispatched through
  the ``RuleSet`` and evaluated as closures — both as expression conditions and as
  structured all/any trees;
* ``simpleeval.simple_eval`` per condition (it parses on every call; it has no list
  literals, so each ``[...]`` is passed in as a name);
* the ``business-rules`` library (``run_all`` with a variables class per event).

All three must agree on which rules match; a mismatch aborts the benchmark.
The references run on the first ``JIMU_BENCH_RULES_REF`` events (default 20,000,
set it to 100000 for the whole set) — their rate per evaluation is what is compared.
Goal: Jimu ≥ 5× simpleeval evaluations per second.
"""
from __future__ import annotations

import os
import random
import re
import time
from datetime import datetime, timedelta, timezone

from tests.bench.util import report

N_EVENTS = 100_000
N_REF = int(os.environ.get("JIMU_BENCH_RULES_REF", "20000"))
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)
PRIORITIES = ["高", "中", "低"]
CATEGORIES = ["服务器故障", "网络", "账单", "退款", "账号", "咨询", "投诉", "其他"]
STATUSES = ["新建", "处理中", "等待客户回复", "已解决", "已关闭"]
CHANNELS = ["官网", "微信", "电话", "邮件", "API"]


def events(n: int, seed: int = 5) -> list[dict]:
    rnd = random.Random(seed)
    return [{"id": i, "priority": rnd.choice(PRIORITIES), "category": rnd.choice(CATEGORIES),
             "status": rnd.choice(STATUSES), "channel": rnd.choice(CHANNELS), "vip": rnd.randint(0, 3),
             "amount": rnd.randint(0, 5000), "created_at": NOW - timedelta(minutes=rnd.randint(0, 60 * 72))}
            for i in range(n)]


def rule_table() -> list[tuple[str, dict, dict]]:
    """(expression, structured Jimu condition, business-rules condition) for each of the 20 rules."""
    def eq(f, v):
        return {"field": f, "op": "eq", "value": v}

    def br_eq(f, v):
        return {"name": f, "operator": "equal_to", "value": v}

    def br_in(f, vs):
        return {"any": [br_eq(f, v) for v in vs]}

    out = []
    for i in range(4):
        p, cats = PRIORITIES[i % 3], CATEGORIES[i:i + 3]
        out.append((f'priority == "{p}" and category in {cats!r}'.replace("'", '"'),
                    {"all": [eq("priority", p), {"field": "category", "op": "in", "value": cats}]},
                    {"all": [br_eq("priority", p), br_in("category", cats)]}))
    for hours, st in ((2, "已解决"), (8, "已关闭"), (24, "已解决"), (48, "处理中")):
        others = [s for s in STATUSES if s != st]
        out.append((f'hours_since(created_at) > {hours} and status != "{st}"',
                    {"all": [{"expr": f"hours_since(created_at) > {hours}"},
                             {"field": "status", "op": "ne", "value": st}]},
                    {"all": [{"name": "hours_since_created", "operator": "greater_than", "value": hours},
                             br_in("status", others)]}))
    for lo, vip in ((1000, 2), (3000, 1), (500, 3), (4000, 0)):
        out.append((f"amount > {lo} and vip >= {vip}",
                    {"all": [{"field": "amount", "op": "gt", "value": lo}, {"field": "vip", "op": "gte", "value": vip}]},
                    {"all": [{"name": "amount", "operator": "greater_than", "value": lo},
                             {"name": "vip", "operator": "greater_than_or_equal_to", "value": vip}]}))
    for ch, p in (("电话", "低"), ("微信", "高"), ("API", "中"), ("邮件", "低")):
        others = [x for x in PRIORITIES if x != p]
        out.append((f'channel == "{ch}" and priority != "{p}"',
                    {"all": [eq("channel", ch), {"field": "priority", "op": "ne", "value": p}]},
                    {"all": [br_eq("channel", ch), br_in("priority", others)]}))
    for sts, chs in ((["已解决", "已关闭"], ["官网", "微信"]), (["新建"], ["电话", "邮件", "API"]),
                     (["处理中", "等待客户回复"], ["官网"]), (["新建", "处理中"], ["微信", "API"])):
        out.append((f"status in {sts!r} and (channel in {chs!r} or vip == 3)".replace("'", '"'),
                    {"all": [{"field": "status", "op": "in", "value": sts},
                             {"any": [{"field": "channel", "op": "in", "value": chs}, eq("vip", 3)]}]},
                    {"all": [br_in("status", sts), {"any": [br_in("channel", chs), br_eq("vip", 3)]}]}))
    assert len(out) == 20
    return out


def simpleeval_form(source: str) -> tuple[str, dict]:
    """simpleeval has no list literals: each [...] becomes a name bound to a tuple."""
    consts: dict = {}

    def sub(m):
        name = f"L{len(consts)}"
        consts[name] = tuple(re.findall(r'"([^"]*)"', m.group(0)))
        return name
    return re.sub(r"\[[^\]]*\]", sub, source), consts


def main() -> None:
    from business_rules import engine as br_engine
    from business_rules.actions import BaseActions, rule_action
    from business_rules.variables import BaseVariables, numeric_rule_variable, string_rule_variable
    from simpleeval import simple_eval

    from engines.expr import EvalContext
    from engines.rule import compile_rules

    data = events(N_EVENTS)
    table = rule_table()
    n_ref = min(N_REF, N_EVENTS)
    ctx = EvalContext(now=NOW)

    def jimu_rules(structured: bool):
        defs = [(None, {"key": f"r{i}", "form": "工单", "trigger": {"type": "record_created"},
                        "condition": cond if structured else {"expr": src},
                        "actions": [{"type": "set_fields", "values": {"x": 1}}]})
                for i, (src, cond, _) in enumerate(table)]
        rs = compile_rules(defs)
        assert not rs.problems, rs.problems
        return rs

    def run_jimu(rs, evs):
        matched = []
        t0 = time.perf_counter()
        for ev in evs:
            hits = 0
            for i, rule in enumerate(rs.for_event("工单", "record.created")):
                if rule.condition(ev, ctx):
                    hits |= 1 << i
            matched.append(hits)
        return time.perf_counter() - t0, matched

    # -- simpleeval: parse + evaluate per condition, as a caller of simple_eval does ------------
    se_rules = [simpleeval_form(src) for src, _, _ in table]
    se_funcs = {"hours_since": lambda d: (NOW - d).total_seconds() / 3600}

    def run_simpleeval(evs):
        matched = []
        t0 = time.perf_counter()
        for ev in evs:
            hits = 0
            for i, (src, consts) in enumerate(se_rules):
                if simple_eval(src, names={**ev, **consts}, functions=se_funcs):
                    hits |= 1 << i
            matched.append(hits)
        return time.perf_counter() - t0, matched

    # -- business-rules ---------------------------------------------------------------------------
    class Ticket(BaseVariables):
        def __init__(self, ev):
            self.ev = ev

        @string_rule_variable
        def priority(self):
            return self.ev["priority"]

        @string_rule_variable
        def category(self):
            return self.ev["category"]

        @string_rule_variable
        def status(self):
            return self.ev["status"]

        @string_rule_variable
        def channel(self):
            return self.ev["channel"]

        @numeric_rule_variable
        def vip(self):
            return self.ev["vip"]

        @numeric_rule_variable
        def amount(self):
            return self.ev["amount"]

        @numeric_rule_variable
        def hours_since_created(self):
            return (NOW - self.ev["created_at"]).total_seconds() / 3600

    class Hit(BaseActions):
        def __init__(self):
            self.hits = 0

        @rule_action(params={"bit": "numeric"})
        def hit(self, bit):
            self.hits |= 1 << int(bit)

    br_rules = [{"conditions": br, "actions": [{"name": "hit", "params": {"bit": i}}]}
                for i, (_, _, br) in enumerate(table)]

    def run_br(evs):
        matched = []
        t0 = time.perf_counter()
        for ev in evs:
            acts = Hit()
            br_engine.run_all(br_rules, Ticket(ev), acts, stop_on_first_trigger=False)
            matched.append(acts.hits)
        return time.perf_counter() - t0, matched

    evals = len(table)
    t_expr, m_expr = run_jimu(jimu_rules(False), data)
    t_tree, m_tree = run_jimu(jimu_rules(True), data)
    t_se, m_se = run_simpleeval(data[:n_ref])
    t_br, m_br = run_br(data[:n_ref])
    assert m_expr == m_tree, "Jimu's expression and structured rules disagree"
    assert m_expr[:n_ref] == m_se, "Jimu and simpleeval disagree on which rules match"
    assert m_expr[:n_ref] == m_br, "Jimu and business-rules disagree on which rules match"
    total_hits = sum(bin(m).count("1") for m in m_expr)
    print(f"{len(table)} rules × {N_EVENTS:,} events = {evals * N_EVENTS:,} evaluations for Jimu "
          f"({total_hits:,} matches); references on the first {n_ref:,} events "
          f"({evals * n_ref:,} evaluations); all three agree on every match", flush=True)
    rate = lambda t, n: evals * n / t  # noqa: E731
    jimu_expr, jimu_tree = rate(t_expr, N_EVENTS), rate(t_tree, N_EVENTS)
    se, br = rate(t_se, n_ref), rate(t_br, n_ref)
    print(f"Jimu expression rules: {jimu_expr:,.0f} evaluations/s ({t_expr:.2f}s); structured all/any: "
          f"{jimu_tree:,.0f}/s ({t_tree:.2f}s)", flush=True)
    print(f"simpleeval.simple_eval: {se:,.0f} evaluations/s; business-rules: {br:,.0f} evaluations/s", flush=True)
    report("rule conditions vs simple_eval per condition", jimu_expr, se, "evals/s", goal=5)
    report("structured rules vs simple_eval per condition", jimu_tree, se, "evals/s", goal=5)
    report("rule conditions vs business-rules run_all", jimu_expr, br, "evals/s")
    report("structured rules vs business-rules run_all", jimu_tree, br, "evals/s")


if __name__ == "__main__":
    main()
