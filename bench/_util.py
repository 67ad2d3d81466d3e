"""Timing helpers shared by the benchmarks: medians, since the machine is shared."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def per_call_ns(loop: Callable[[int], object], n: int, repeat: int = 15) -> float:
    """Median over *repeat* runs of ``loop(n)``, in nanoseconds per iteration."""
    loop(min(n, 1000))  # warm up
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        loop(n)
        samples.append((time.perf_counter_ns() - t0) / n)
    return statistics.median(samples)


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A markdown table."""
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)
