"""Client benchmark: round trip and push rate of qobjects' sessions, sync and async.

One qobjects demo server (bench schema) in a process of its own; in this
process, one after another and interleaved over several rounds:

- **floor**: raw asyncio streams and ``json`` (:class:`bench.bench_wire.Floor`);
- **qemu.qmp** ``QMPClient`` (asyncio) and **qemu.qmp legacy**
  ``QEMUMonitorProtocol`` (its synchronous client);
- **qobjects async** (``await session.query_version()``, a slot on
  ``ide0-hd0``'s ``io_error``) and **qobjects sync** (``connect()``; the slot
  runs on the session's dispatcher thread).

Round trip: sequential ``query-version``. Push: ``x-bench-emit`` with count
N; the clock runs from the request until the N-th signal (qemu.qmp: the
N-th ``BLOCK_IO_ERROR`` event) reached the client's code. Figures are
medians; ratios are medians of the per-round ratios to the floor. Run as
``python -m bench.bench_client [REPEAT]``.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench._util import table
from bench.bench_wire import floor_push, floor_round_trip, qmp_push, qmp_round_trip
from bench.servers import SCHEMA, running

REPEAT = 7
TARGET_S = 0.4  # aim for runs of this length
Measure = Callable[[str, int], float]

_namespace: Any = None


def _ns() -> Any:
    import qobjects

    global _namespace
    if _namespace is None:
        _namespace = qobjects.build(SCHEMA)
    return _namespace


# --- qobjects ------------------------------------------------------------------------


def sync_round_trip(path: str, n: int) -> float:
    import qobjects

    with qobjects.connect(path, namespace=_ns()) as s:
        call = s.query_version
        t0 = time.perf_counter()
        for _ in range(n):
            call()
        return (time.perf_counter() - t0) / n * 1e6


def sync_push(path: str, n: int) -> float:
    import qobjects

    with qobjects.connect(path, namespace=_ns()) as s:
        hd = s.query_block()[0].device
        done = threading.Event()
        count = 0

        def slot(owner: Any, operation: Any, action: Any) -> None:
            nonlocal count
            count += 1
            if count == n:
                done.set()

        hd.io_error.connect(slot)
        t0 = time.perf_counter()
        s.execute("x-bench-emit", count=n)  # the benchmark schema's command, not in the stubs
        done.wait()
        return n / (time.perf_counter() - t0)


async def _async_round_trip(path: str, n: int) -> float:
    import qobjects

    async with await qobjects.aconnect(path, namespace=_ns()) as s:
        call = s.query_version
        t0 = time.perf_counter()
        for _ in range(n):
            await call()
        return (time.perf_counter() - t0) / n * 1e6


async def _async_push(path: str, n: int) -> float:
    import qobjects

    async with await qobjects.aconnect(path, namespace=_ns()) as s:
        hd = (await s.query_block())[0].device
        done = asyncio.get_running_loop().create_future()
        count = 0

        def slot(owner: Any, operation: Any, action: Any) -> None:
            nonlocal count
            count += 1
            if count == n:
                done.set_result(None)

        hd.io_error.connect(slot)
        await s.flush()
        t0 = time.perf_counter()
        await s.execute("x-bench-emit", count=n)
        await done
        return n / (time.perf_counter() - t0)


# --- qemu.qmp's legacy synchronous client ----------------------------------------------


def legacy_round_trip(path: str, n: int) -> float:
    from qemu.qmp.legacy import QEMUMonitorProtocol

    qmp = QEMUMonitorProtocol(path)
    qmp.connect()
    try:
        cmd = qmp.cmd_obj
        t0 = time.perf_counter()
        for _ in range(n):
            cmd({"execute": "query-version"})
        return (time.perf_counter() - t0) / n * 1e6
    finally:
        qmp.close()
        qmp._aloop.close()  # it makes an event loop it never closes
        asyncio.set_event_loop(None)


def legacy_push(path: str, n: int) -> float:
    from qemu.qmp.legacy import QEMUMonitorProtocol

    qmp = QEMUMonitorProtocol(path)
    qmp.connect()
    try:
        t0 = time.perf_counter()
        qmp.cmd_obj({"execute": "x-bench-emit", "arguments": {"count": n}})
        count = 0
        while count < n:
            event = qmp.pull_event(wait=True)
            if event is not None and event.get("event") == "BLOCK_IO_ERROR":
                count += 1
        return n / (time.perf_counter() - t0)
    finally:
        qmp.close()
        qmp._aloop.close()  # it makes an event loop it never closes
        asyncio.set_event_loop(None)


def _in_loop(fn: Callable[..., Any]) -> Measure:
    def run(path: str, n: int) -> float:
        return float(asyncio.run(fn(path, n)))

    return run


ROUND_TRIP: dict[str, Measure] = {
    "floor (asyncio + json)": _in_loop(floor_round_trip),
    "qobjects sync Session": sync_round_trip,
    "qobjects AsyncSession": _in_loop(_async_round_trip),
    "qemu.qmp QMPClient (async)": _in_loop(qmp_round_trip),
    "qemu.qmp legacy QEMUMonitorProtocol (sync)": legacy_round_trip,
}
PUSH: dict[str, Measure] = {
    "floor (asyncio + json)": _in_loop(floor_push),
    "qobjects sync Session": sync_push,
    "qobjects AsyncSession": _in_loop(_async_push),
    "qemu.qmp QMPClient (async)": _in_loop(qmp_push),
    "qemu.qmp legacy QEMUMonitorProtocol (sync)": legacy_push,
}
FLOOR = "floor (asyncio + json)"

Key = tuple[str, str]  # (what, client)


def measure(repeat: int = REPEAT) -> dict[Key, list[float]]:
    """Run every contender *repeat* times, interleaved, against one server process."""
    logging.getLogger("qemu.qmp").setLevel(logging.CRITICAL)
    measures: dict[Key, tuple[Measure, bool]] = {}
    for name, fn in ROUND_TRIP.items():
        measures["rt", name] = (fn, False)
    for name, fn in PUSH.items():
        measures["push", name] = (fn, True)
    with tempfile.TemporaryDirectory(prefix="qobjects-bench-") as tmp:
        path = str(Path(tmp) / "qobjects.sock")
        with running("qobjects", path):
            sizes: dict[Key, int] = {}
            for key, (fn, rate) in measures.items():  # warm up, and size runs to ~TARGET_S
                probe = 2000 if rate else 200
                value = fn(path, probe)
                per_s = value if rate else 1e6 / value
                sizes[key] = max(probe, int(per_s * TARGET_S) // 64 * 64)
            samples: dict[Key, list[float]] = {key: [] for key in measures}
            order = list(measures)
            for _ in range(repeat):
                for key in order:
                    samples[key].append(measures[key][0](path, sizes[key]))
                order.reverse()
    return samples


def report(samples: dict[Key, list[float]]) -> str:
    def ratio(what: str, name: str) -> float:
        floor = samples[what, FLOOR]
        return statistics.median(x / y for x, y in zip(samples[what, name], floor, strict=True))

    rows = []
    for name in ROUND_TRIP:
        rows.append(
            [
                name,
                f"{statistics.median(samples['rt', name]):.0f}",
                f"{ratio('rt', name):.2f}",
                f"{statistics.median(samples['push', name]) / 1000:.1f}k",
                f"{ratio('push', name):.2f}",
            ]
        )
    rt_sync = ratio("rt", "qobjects sync Session")
    push_sync = ratio("push", "qobjects sync Session")
    rt_async = ratio("rt", "qobjects AsyncSession")
    goals = [
        f"- sync Session round trip <= 1.2x the floor's ({rt_sync:.2f}x): "
        f"**{'met' if rt_sync <= 1.2 else 'NOT met'}**",
        f"- sync Session push to slots >= 0.9x the floor's rate ({push_sync:.2f}x): "
        f"**{'met' if push_sync >= 0.9 else 'NOT met'}**",
        f"- AsyncSession round trip <= 1.2x the floor's ({rt_async:.2f}x): "
        f"**{'met' if rt_async <= 1.2 else 'NOT met'}**",
    ]
    return "\n".join(
        [
            "Every client against the qobjects demo server (its own process), interleaved rounds.",
            "Push: `x-bench-emit` emits IO_ERROR on ide0-hd0; floor and qobjects count signals",
            "reaching their code (sync: on the dispatcher thread), qemu.qmp counts BLOCK_IO_ERROR events.",
            "",
            table(
                ["client", "query-version round trip (µs)", "x floor", "push to code /s", "x floor (rate)"],
                rows,
            ),
            "",
            "Goals:",
            "",
            *goals,
        ]
    )


def main(repeat: int = REPEAT) -> str:
    """Run the benchmark; return a markdown report."""
    return report(measure(repeat))


if __name__ == "__main__":
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else REPEAT))
