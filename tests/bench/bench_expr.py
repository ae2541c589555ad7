"""Expression benchmark (issue 3): compiled Jimu expressions vs ``simpleeval.simple_eval``.

Twenty realistic helpdesk conditions, each evaluated on the same 200 records.
Jimu compiles each condition once and calls ``Expression.evaluate`` per record;
the reference calls ``simpleeval.simple_eval(source, names=..., functions=...)``
per record, as an application that does not keep a compiled form would — with
simpleeval's ``EvalWithCompoundTypes`` in place of ``SimpleEval`` (that is the
whole body of ``simple_eval``), because plain ``SimpleEval`` refuses the list
literals in ``类别 in ["服务器故障", "网络"]``. Both
sides get the same function library (Jimu's implementations, bound to the same
context) and must return the same answers, which is checked before timing.
A third figure, simpleeval re-using one parse (``previously_parsed``), is
printed for information only. Goal ≥ 5×.
"""
from __future__ import annotations

import random
import statistics
from datetime import datetime, timedelta, timezone

from tests.bench.util import median_time, report

CONDITIONS = [
    '紧急程度 == "高" and 类别 in ["服务器故障", "网络"]',
    'hours_between(创建时间, now()) > 2 and 状态 != "已解决"',
    '状态 not in ["已解决", "已关闭"] and 负责人 == null',
    'contains(标题, "发票") or contains(标题, "退款")',
    '渠道 == "微信" and 客户等级 == "VIP"',
    "金额 * 数量 > 1000",
    'len(描述) > 20 and 紧急程度 != "低"',
    "days_between(创建时间, now()) >= 3",
    "满意度 != null and 满意度 <= 2",
    "重开次数 > 0 or 升级 == true",
    'startswith(编号, "GD-202611")',
    "round(金额 * 0.06, 2) > 50",
    '类别 == "账单" and 金额 >= 500 and 渠道 != "API"',
    "is_empty(负责人) and hours_between(创建时间, now()) > 0.5",
    'lower(邮箱) == "vip@example.com" or 客户等级 in ["VIP", "SVIP"]',
    "0 < 评分 < 3",
    "max(回复数, 1) / 工时 > 0.5",
    'coalesce(处理组, "一线") == "二线" and 紧急程度 == "高"',
    'not 已回复 and 状态 == "等待客户回复"',
    'weekday(创建时间) >= 6 or 紧急程度 == "高"',
]
N_RECORDS = 200
REPEAT = 7
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


def records(n: int = N_RECORDS, seed: int = 3) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        out.append({
            "紧急程度": rng.choice(["高", "中", "低"]),
            "类别": rng.choice(["服务器故障", "网络", "账单", "账号", "其他"]),
            "状态": rng.choice(["新建", "处理中", "等待客户回复", "已解决", "已关闭"]),
            "创建时间": NOW - timedelta(minutes=rng.randint(1, 60 * 24 * 10)),
            "负责人": rng.choice([None, None, 3, 7]),
            "标题": rng.choice(["无法登录", "申请开具发票", "退款进度", "服务器宕机", "咨询"]),
            "渠道": rng.choice(["官网", "微信", "电话", "邮件", "API"]),
            "客户等级": rng.choice(["普通", "VIP", "SVIP"]),
            "金额": round(rng.random() * 2000, 2),
            "数量": rng.randint(1, 5),
            "描述": "客户反馈" * rng.randint(1, 10),
            "满意度": rng.choice([None, 1, 2, 3, 4, 5]),
            "重开次数": rng.randint(0, 2),
            "升级": rng.random() < 0.1,
            "编号": f"GD-2026{rng.randint(10, 11)}{rng.randint(10, 28)}-{i:04d}",
            "邮箱": rng.choice(["VIP@example.com", "user@example.com"]),
            "评分": rng.randint(1, 5),
            "回复数": rng.randint(0, 6),
            "工时": rng.randint(1, 8),
            "处理组": rng.choice([None, "一线", "二线"]),
            "已回复": rng.random() < 0.5,
        })
    return out


def main() -> None:
    import simpleeval

    from engines.expr import FUNCTIONS, EvalContext, compile_expr

    def simple_eval(expr, functions=None, names=None):
        """``simpleeval.simple_eval`` with list literals allowed."""
        return simpleeval.EvalWithCompoundTypes(functions=functions, names=names).eval(expr)

    ctx = EvalContext(now=NOW, tz="Asia/Shanghai")
    data = records()
    compiled = [compile_expr(c) for c in CONDITIONS]
    functions = {name: (lambda impl: lambda *a: impl(ctx, *a))(f.impl) for name, f in ((f.name, f) for f in FUNCTIONS)}
    constants = {"true": True, "false": False, "null": None}
    names = [{**constants, **r} for r in data]

    # the same answers on both sides, before any timing
    for src, expr in zip(CONDITIONS, compiled):
        for r, n in zip(data, names):
            jimu, ref = expr.evaluate(r, ctx), simple_eval(src, names=n, functions=functions)
            assert jimu == ref, (src, r, jimu, ref)
    calls = len(CONDITIONS) * len(data)

    def run_jimu():
        for expr in compiled:
            evaluate = expr.evaluate
            for r in data:
                evaluate(r, ctx)

    def run_simple_eval():
        for src in CONDITIONS:
            for n in names:
                simple_eval(src, names=n, functions=functions)

    evaluator = simpleeval.EvalWithCompoundTypes(functions=functions)
    parsed = [evaluator.parse(src) for src in CONDITIONS]

    def run_simpleeval_parsed():
        for src, tree in zip(CONDITIONS, parsed):
            for n in names:
                evaluator.names = n
                evaluator.eval(src, previously_parsed=tree)

    # the three sides take turns, so a busy machine slows them alike; medians over the rounds
    times: dict[str, list[float]] = {"jimu": [], "ref": [], "parsed": []}
    for _ in range(REPEAT):
        for key, fn in (("jimu", run_jimu), ("ref", run_simple_eval), ("parsed", run_simpleeval_parsed)):
            times[key].append(median_time(fn, repeat=1))
    t_jimu, t_ref, t_parsed = (statistics.median(times[k]) for k in ("jimu", "ref", "parsed"))
    print(f"{len(CONDITIONS)} conditions x {len(data)} records = {calls:,} evaluations per run; "
          f"medians of {REPEAT} interleaved runs")
    print(f"jimu compiled evaluate(): {t_jimu * 1e3:.1f} ms, {calls / t_jimu:,.0f}/s ({t_jimu / calls * 1e6:.2f} µs each)")
    print(f"simpleeval.simple_eval():  {t_ref * 1e3:.1f} ms, {calls / t_ref:,.0f}/s ({t_ref / calls * 1e6:.2f} µs each)")
    print(f"(info) simpleeval re-using its parse: {calls / t_parsed:,.0f}/s; jimu is {t_parsed / t_jimu:.2f}x that")
    report("compiled expressions vs simple_eval per call", calls / t_jimu, calls / t_ref, "evals/s", goal=5.0)


if __name__ == "__main__":
    main()
