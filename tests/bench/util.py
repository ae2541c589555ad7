"""Timing helpers shared by the benchmarks: medians over repeats, ratio lines."""
from __future__ import annotations

import statistics
import time
from typing import Callable


def median_time(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def times_in_turn(fns: list[Callable[[], object]], repeat: int = 5, *, warmup: int = 0) -> list[list[float]]:
    """Wall times of each of ``fns`` over ``repeat`` rounds, run in turn within each round (both sides of
    a ratio see the same moments of a noisy machine: the server's background work after an earlier
    part, another process), in seconds: one list per function, in the order run. ``warmup`` rounds
    run first, untimed (first-use costs: plans, caches, imports)."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, out in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return times


def report(title: str, jimu: float, ref: float, unit: str, higher_is_better: bool = True,
           goal: float | None = None) -> float:
    """Print both figures and the ratio (Jimu / reference); return the ratio."""
    ratio = jimu / ref if ref else float("inf")
    verdict = ""
    if goal is not None:
        ok = ratio >= goal if higher_is_better else ratio <= goal
        verdict = f"  goal {'≥' if higher_is_better else '≤'} {goal}: {'MET' if ok else 'NOT MET'}"
    print(f"{title}: jimu {jimu:,.1f} {unit} | reference {ref:,.1f} {unit} | ratio {ratio:.2f}x{verdict}",
          flush=True)
    return ratio
