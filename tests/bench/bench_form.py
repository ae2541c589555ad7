"""Form-engine benchmark (issue 3).

Validate and coerce 100,000 submissions of a 15-field form — about a third of
them invalid in one to three fields — through ``FormSpec.clean`` (every error
returned with its field key and code, values coerced to Python types) vs
``fastjsonschema`` on the form's own ``FormSpec.json_schema()`` (which stops
at the first error and coerces nothing). One run, both in the same process,
over the same submissions in 50 interleaved batches of 2,000 (which side goes
first alternates). Prints both rates and their ratio over the whole run by the wall
clock and by this process's CPU time (which other processes on a busy machine
do not inflate), and the median of the 50 per-batch wall-clock ratios (each
batch is timed on both sides back to back, so a burst of load spoils one batch
of the median), each against the goal ≥ 1.0×.
"""
from __future__ import annotations

import random
import statistics
import time

N = 100_000
BATCH = 2_000

FORM = {
    "key": "bench_form", "label": "Bench",
    "fields": [
        {"key": "标题", "label": "标题", "widget": "text", "required": True, "config": {"max_length": 100}},
        {"key": "描述", "label": "描述", "widget": "textarea", "config": {"max_length": 2000}},
        {"key": "数量", "label": "数量", "widget": "number", "config": {"min": 0, "max": 1000, "integer": True}},
        {"key": "金额", "label": "金额", "widget": "money", "config": {"min": 0}},
        {"key": "紧急程度", "label": "紧急程度", "widget": "select", "required": True,
         "config": {"options": ["高", "中", "低"]}},
        {"key": "渠道", "label": "渠道", "widget": "radio", "config": {"options": ["官网", "微信", "电话", "邮件", "API"]}},
        {"key": "标签", "label": "标签", "widget": "checkboxes", "config": {"options": ["发票", "退款", "物流", "售后"]}},
        {"key": "已付款", "label": "已付款", "widget": "switch"},
        {"key": "邮箱", "label": "邮箱", "widget": "email"},
        {"key": "手机", "label": "手机", "widget": "phone", "config": {"region": "cn"}},
        {"key": "网址", "label": "网址", "widget": "url"},
        {"key": "日期", "label": "日期", "widget": "date"},
        {"key": "时间", "label": "时间", "widget": "datetime"},
        {"key": "评分", "label": "评分", "widget": "rating", "config": {"max": 5}},
        {"key": "客户", "label": "客户", "widget": "user"},
    ],
}

BAD = {"标题": "x" * 150, "数量": -5, "金额": "abc", "紧急程度": "特急", "渠道": "传真", "标签": ["发票", "加急"],
       "已付款": "maybe", "邮箱": "not-an-email", "手机": "12345", "网址": "ftp://x", "日期": "2026-13-45",
       "时间": "yesterday", "评分": 9, "客户": -1}


def submissions(n: int, seed: int = 3) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        d = {"标题": f"工单{i}", "描述": "打印机无法连接\n请尽快处理", "数量": rng.randint(0, 1000),
             "金额": round(rng.uniform(0, 9999), 2), "紧急程度": rng.choice(["高", "中", "低"]),
             "渠道": rng.choice(["官网", "微信", "电话"]), "标签": rng.sample(["发票", "退款", "物流"], rng.randint(0, 2)),
             "已付款": rng.random() < 0.5, "邮箱": f"user{i}@example.com", "手机": f"138{i % 10 ** 8:08d}",
             "网址": f"https://example.com/t/{i}", "日期": "2026-11-23", "时间": "2026-11-23T09:30:00Z",
             "评分": rng.randint(1, 5), "客户": rng.randint(1, 500)}
        if rng.random() < 0.35:
            for key in rng.sample(sorted(BAD), rng.randint(1, 3)):
                d[key] = BAD[key]
        out.append(d)
    return out


def main() -> None:
    import fastjsonschema
    from engines.form import compile_form

    spec = compile_form(FORM)
    validate = fastjsonschema.compile(spec.json_schema())
    data = submissions(N)
    # sanity: both sides agree on which submissions are valid
    for d in data[:2000]:
        ok_jimu = spec.clean(d).ok
        try:
            validate(d)
            ok_ref = True
        except fastjsonschema.JsonSchemaValueException:
            ok_ref = False
        assert ok_jimu == ok_ref, (d, spec.clean(d).errors)

    clean = spec.clean
    exc = fastjsonschema.JsonSchemaValueException
    jimu_times, ref_times = [], []
    jimu_invalid = jimu_errors = ref_invalid = 0
    jimu_cpu, ref_cpu = [], []

    def run_ref(batch):
        nonlocal ref_invalid
        c0, t0 = time.process_time(), time.perf_counter()
        for d in batch:
            try:
                validate(d)
            except exc:
                ref_invalid += 1
        ref_times.append(time.perf_counter() - t0)
        ref_cpu.append(time.process_time() - c0)

    def run_jimu(batch):
        nonlocal jimu_invalid, jimu_errors
        c0, t0 = time.process_time(), time.perf_counter()
        for d in batch:
            r = clean(d)
            if r.errors:
                jimu_invalid += 1
                jimu_errors += len(r.errors)
        jimu_times.append(time.perf_counter() - t0)
        jimu_cpu.append(time.process_time() - c0)

    # batches alternate between the two sides (and which goes first), so machine load falls on both alike
    for i, start in enumerate(range(0, N, BATCH)):
        batch = data[start:start + BATCH]
        if i % 2:
            run_jimu(batch)
            run_ref(batch)
        else:
            run_ref(batch)
            run_jimu(batch)
    assert jimu_invalid == ref_invalid, (jimu_invalid, ref_invalid)
    jimu_rate, ref_rate = N / sum(jimu_times), N / sum(ref_times)
    print(f"{N:,} submissions of a 15-field form, {jimu_invalid:,} invalid; "
          f"Jimu returned {jimu_errors:,} coded errors, fastjsonschema stops at the first")
    print(f"median per {BATCH:,}: jimu {statistics.median(jimu_times) * 1000:.1f} ms | "
          f"fastjsonschema {statistics.median(ref_times) * 1000:.1f} ms")
    from tests.bench.util import report
    report("form clean vs fastjsonschema, whole run, wall clock", jimu_rate, ref_rate, "submissions/s", goal=1.0)
    report("form clean vs fastjsonschema, whole run, process CPU time", N / sum(jimu_cpu), N / sum(ref_cpu),
           "submissions/s", goal=1.0)
    paired = statistics.median(r / j for j, r in zip(jimu_times, ref_times))
    print(f"form clean vs fastjsonschema, median of {len(jimu_times)} paired batches (wall clock): "
          f"ratio {paired:.2f}x  goal ≥ 1.0: {'MET' if paired >= 1.0 else 'NOT MET'}", flush=True)


if __name__ == "__main__":
    main()
