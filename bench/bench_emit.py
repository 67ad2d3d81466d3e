"""Emit cost: a two-member signal to one slot, qobjects against its peers.

Every contender runs in this process, in one run: a plain call of the slot
(the floor), blinker's ``send`` with a sender filter, psygnal's ``emit``,
PyQt6's ``emit`` and qobjects' validating ``emit``. Also: emit cost with
10,000 other owners connected, memory per connection, and a queued
connection (``connect(slot, loop=loop)``) against a bare
``loop.call_soon_threadsafe`` of the same slot.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from bench._util import table

N = 100_000
ROUNDS = 15

Loop = Callable[[int], object]


def _slot(owner: Any, *, operation: Any, action: Any) -> None:
    pass


def floor() -> Loop:
    owner = object()

    def loop(n: int, slot: Any = _slot, owner: Any = owner) -> None:
        for _ in range(n):
            slot(owner, operation="read", action="stop")

    return loop


def qobjects_emit(others: int = 0) -> Loop:
    """One owner's emit; *others* owners of the same class have a connection too.

    Each call builds its own classes (a namespace of the default schema), so
    that contenders measured side by side share nothing.
    """
    import qobjects

    ns = qobjects.build(qobjects.default_namespace().schema)
    Blockdev: Any = ns.types["Blockdev"]
    names = {f"dev{i}" for i in range(others + 1)}
    Blockdev.finder(lambda v: v if v in names else None)
    keep = [Blockdev.find(f"dev{i}").io_error.connect(_slot) for i in range(1, others + 1)]
    dev = Blockdev.find("dev0")
    conn = dev.io_error.connect(_slot)

    def loop(n: int, emit: Any = dev.io_error.emit, _keep: Any = (keep, conn)) -> None:
        for _ in range(n):
            emit(operation="read", action="stop")

    return loop


def blinker_send() -> Loop | None:
    import blinker

    sig = blinker.Signal()
    sender = object()
    other = object()

    def receiver(sender: Any, **kw: Any) -> None:
        pass

    sig.connect(receiver, sender=sender)
    sig.connect(receiver, sender=other)

    def loop(n: int, send: Any = sig.send, _keep: Any = receiver) -> None:
        for _ in range(n):
            send(sender, operation="read", action="stop")

    return loop


def psygnal_emit() -> Loop | None:
    try:
        from psygnal import Signal
    except ImportError:
        return None

    class Dev:
        io_error = Signal(str, str)

    dev = Dev()

    def receiver(operation: str, action: str) -> None:
        pass

    dev.io_error.connect(receiver)

    def loop(n: int, emit: Any = dev.io_error.emit, _keep: Any = (dev, receiver)) -> None:
        for _ in range(n):
            emit("read", "stop")

    return loop


def pyqt6_emit() -> Loop | None:
    try:
        from PyQt6.QtCore import QObject, pyqtSignal
    except ImportError:
        return None

    class Dev(QObject):  # type: ignore[misc,unused-ignore]  # Any when PyQt6 is absent
        io_error = pyqtSignal(str, str)

    dev = Dev()

    def receiver(operation: str, action: str) -> None:
        pass

    dev.io_error.connect(receiver)

    def loop(n: int, emit: Any = dev.io_error.emit, _keep: Any = (dev, receiver)) -> None:
        for _ in range(n):
            emit("read", "stop")

    return loop


def side_by_side(loops: dict[str, Loop], n: int = N, rounds: int = ROUNDS) -> dict[str, list[float]]:
    """ns per call of each loop, sampled round-robin: one sample of every
    contender per round, so that load from elsewhere on a shared machine
    falls on all of them alike (compare within a round)."""
    for loop in loops.values():
        loop(1000)  # warm up
    samples: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(rounds):
        for name, loop in loops.items():
            t0 = time.perf_counter_ns()
            loop(n)
            samples[name].append((time.perf_counter_ns() - t0) / n)
    return samples


def ratio(samples: dict[str, list[float]], name: str, base: str) -> float:
    """The median over rounds of name / base."""
    return statistics.median(a / b for a, b in zip(samples[name], samples[base], strict=True))


QUEUED_N = 20_000


def _drain(loop: asyncio.AbstractEventLoop) -> None:
    """Run what was queued to *loop* (untimed)."""
    loop.call_soon(loop.stop)
    loop.run_forever()


def bare_call_soon_threadsafe(loop: asyncio.AbstractEventLoop) -> Loop:
    owner = object()

    def slot(owner: Any, operation: Any, action: Any) -> None:
        pass

    def run(n: int, call: Any = loop.call_soon_threadsafe, slot: Any = slot, owner: Any = owner) -> None:
        for _ in range(n):
            call(slot, owner, "read", "stop")

    return run


def qobjects_queued_emit(loop: asyncio.AbstractEventLoop) -> Loop:
    import qobjects

    Blockdev: Any = qobjects.build(qobjects.default_namespace().schema).types["Blockdev"]
    Blockdev.finder(lambda v: v)
    dev = Blockdev.find("queued")
    conn = dev.io_error.connect(_slot, loop=loop)

    def run(n: int, emit: Any = dev.io_error.emit, _keep: Any = conn) -> None:
        for _ in range(n):
            emit(operation="read", action="stop")

    return run


def memory_per_connection(count: int = 100_000) -> float:
    from qobjects import default_namespace

    Blockdev: Any = default_namespace().types["Blockdev"]
    Blockdev.finder(lambda v: v)
    dev = Blockdev.find("mem")
    slots = [lambda o, **k: None for _ in range(count)]  # allocated outside the measurement
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    conns = [dev.io_error.connect(s) for s in slots]
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    per = (after - before - sys.getsizeof(conns)) / count
    for c in conns:
        c._active = False
    dev.io_error._conns = ()
    return per


def queued_table() -> str:
    """A queued connection against a bare call_soon_threadsafe, sampled round-robin.

    Each loop queues to an event loop that does not run while it is timed;
    between samples the loop runs what was queued, untimed, so every sample
    starts from an empty queue.
    """
    bare_loop, queued_loop = asyncio.new_event_loop(), asyncio.new_event_loop()
    contenders = [
        ("bare loop.call_soon_threadsafe(slot, owner, ...)", bare_call_soon_threadsafe(bare_loop), bare_loop),
        ("qobjects emit, connect(slot, loop=loop)", qobjects_queued_emit(queued_loop), queued_loop),
    ]
    samples: dict[str, list[float]] = {name: [] for name, _, _ in contenders}
    try:
        for _ in range(ROUNDS + 1):  # the first round warms up
            for name, run, loop in contenders:
                t0 = time.perf_counter_ns()
                run(QUEUED_N)
                samples[name].append((time.perf_counter_ns() - t0) / QUEUED_N)
                _drain(loop)
    finally:
        bare_loop.close()
        queued_loop.close()
    for name in samples:
        samples[name] = samples[name][1:]
    bare, queued = (name for name, _, _ in contenders)
    return table(
        ["queued delivery to an asyncio loop, 2 members", "ns per emit (median)", "x bare"],
        [
            [bare, f"{statistics.median(samples[bare]):.0f}", "1.00"],
            [queued, f"{statistics.median(samples[queued]):.0f}", f"{ratio(samples, queued, bare):.2f}"],
        ],
    )


def main() -> str:
    text = emit_table()
    gc.collect()  # the contenders above (10,000 connections) are gone before the queued ones run
    return text + "\n\n" + queued_table()


def emit_table() -> str:
    names = {
        "plain call of the slot (floor)": floor(),
        "qobjects emit (validating)": qobjects_emit(),
        "qobjects emit, 10,000 other owners connected": qobjects_emit(10_000),
        "blinker send (sender filter)": blinker_send(),
        "psygnal emit": psygnal_emit(),
        "PyQt6 emit": pyqt6_emit(),
    }
    loops = {name: loop for name, loop in names.items() if loop is not None}
    samples = side_by_side(loops)
    base, ours = "plain call of the slot (floor)", "qobjects emit (validating)"
    peers = [name for name in loops if not name.startswith(("plain", "qobjects"))]
    rows = []
    for name in names:
        if name not in loops:
            rows.append([name, "n/a", "n/a", "n/a"])
            continue
        med = statistics.median(samples[name])
        x_floor, x_ours = ratio(samples, name, base), ratio(samples, name, ours)
        rows.append([name, f"{med:.0f}", f"{x_floor:.2f}", f"{x_ours:.2f}"])
    fastest = min((ratio(samples, p, ours) for p in peers), default=None)
    out = [
        table(["emit, 2 members, 1 slot", "ns per emit (median)", "x floor", "x qobjects"], rows),
        "",
        f"Contenders sampled round-robin, {ROUNDS} rounds of {N:,} calls; ratios are medians of "
        "per-round ratios.",
        (f"qobjects is {fastest:.1f}x faster than the fastest peer; " if fastest else "")
        + f"{ratio(samples, ours, base):.2f}x the floor; 10,000 other owners: "
        f"{ratio(samples, 'qobjects emit, 10,000 other owners connected', ours):.2f}x.",
        f"Memory per connection (tracemalloc, 100,000 connections): {memory_per_connection():.0f} bytes.",
        "PySide6 is not measured: PySide6 6.12 crashes on repeated emission here.",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    print(main())
