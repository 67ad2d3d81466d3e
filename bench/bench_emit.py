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

from bench._util import per_call_ns, table

N = 200_000


def _slot(owner: Any, *, operation: Any, action: Any) -> None:
    pass


def floor() -> float:
    owner = object()

    def loop(n: int, slot: Any = _slot, owner: Any = owner) -> None:
        for _ in range(n):
            slot(owner, operation="read", action="stop")

    return per_call_ns(loop, N)


def qobjects_emit(others: int = 0) -> float:
    from qobjects import default_namespace

    ns = default_namespace()
    Blockdev: Any = ns.types["Blockdev"]
    names = {f"dev{i}" for i in range(others + 1)}
    Blockdev.finder(lambda v: v if v in names else None)
    keep = []
    for i in range(1, others + 1):
        keep.append(Blockdev.find(f"dev{i}").io_error.connect(_slot))
    dev = Blockdev.find("dev0")
    conn = dev.io_error.connect(_slot)
    emit = dev.io_error.emit

    def loop(n: int, emit: Any = emit) -> None:
        for _ in range(n):
            emit(operation="read", action="stop")

    result = per_call_ns(loop, N)
    conn.disconnect()
    for c in keep:
        c.disconnect()
    return result


def blinker_send() -> float | None:
    import blinker

    sig = blinker.Signal()
    sender = object()
    other = object()

    def receiver(sender: Any, **kw: Any) -> None:
        pass

    sig.connect(receiver, sender=sender)
    sig.connect(receiver, sender=other)
    send = sig.send

    def loop(n: int) -> None:
        for _ in range(n):
            send(sender, operation="read", action="stop")

    return per_call_ns(loop, N)


def psygnal_emit() -> float | None:
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
    emit = dev.io_error.emit

    def loop(n: int) -> None:
        for _ in range(n):
            emit("read", "stop")

    return per_call_ns(loop, N)


def pyqt6_emit() -> float | None:
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
    emit = dev.io_error.emit

    def loop(n: int) -> None:
        for _ in range(n):
            emit("read", "stop")

    result = per_call_ns(loop, N)
    dev.io_error.disconnect(receiver)
    return result


QUEUED_N = 20_000


def _per_call_queued_ns(loop_fn: Callable[[int], object], loop: asyncio.AbstractEventLoop) -> float:
    """Median ns per call of *loop_fn*, which queues calls to *loop*.

    Between samples the loop runs what was queued (untimed), so every
    sample starts from an empty queue.
    """

    def drain() -> None:
        loop.call_soon(loop.stop)
        loop.run_forever()

    loop_fn(1000)
    drain()
    samples = []
    for _ in range(15):
        t0 = time.perf_counter_ns()
        loop_fn(QUEUED_N)
        samples.append((time.perf_counter_ns() - t0) / QUEUED_N)
        drain()
    return statistics.median(samples)


def bare_call_soon_threadsafe() -> float:
    loop = asyncio.new_event_loop()
    owner = object()

    def slot(owner: Any, operation: Any, action: Any) -> None:
        pass

    def run(n: int, call: Any = loop.call_soon_threadsafe, slot: Any = slot, owner: Any = owner) -> None:
        for _ in range(n):
            call(slot, owner, "read", "stop")

    try:
        return _per_call_queued_ns(run, loop)
    finally:
        loop.close()


def qobjects_queued_emit() -> float:
    from qobjects import default_namespace

    Blockdev: Any = default_namespace().types["Blockdev"]
    Blockdev.finder(lambda v: v)
    loop = asyncio.new_event_loop()
    dev = Blockdev.find("queued")
    conn = dev.io_error.connect(_slot, loop=loop)

    def run(n: int, emit: Any = dev.io_error.emit) -> None:
        for _ in range(n):
            emit(operation="read", action="stop")

    try:
        return _per_call_queued_ns(run, loop)
    finally:
        conn.disconnect()
        loop.close()


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
    bare = bare_call_soon_threadsafe()
    queued = qobjects_queued_emit()
    return table(
        ["queued delivery to an asyncio loop, 2 members", "ns per emit (median)", "x bare"],
        [
            ["bare loop.call_soon_threadsafe(slot, owner, ...)", f"{bare:.0f}", "1.00"],
            ["qobjects emit, connect(slot, loop=loop)", f"{queued:.0f}", f"{queued / bare:.2f}"],
        ],
    )


def main() -> str:
    base = floor()
    rows: list[tuple[str, float | None]] = [
        ("plain call of the slot (floor)", base),
        ("qobjects emit (validating)", qobjects_emit()),
        ("qobjects emit, 10,000 other owners connected", qobjects_emit(10_000)),
        ("blinker send (sender filter)", blinker_send()),
        ("psygnal emit", psygnal_emit()),
        ("PyQt6 emit", pyqt6_emit()),
    ]
    ours = rows[1][1]
    assert ours is not None
    peers = [v for name, v in rows[3:] if v is not None]
    out = [
        table(
            ["emit, 2 members, 1 slot", "ns per emit (median)", "x floor", "x qobjects"],
            [
                [
                    name,
                    f"{v:.0f}" if v else "n/a",
                    f"{v / base:.2f}" if v else "n/a",
                    f"{v / ours:.2f}" if v else "n/a",
                ]
                for name, v in rows
            ],
        ),
        "",
        f"qobjects is {min(peers) / ours:.1f}x faster than the fastest peer; "
        f"{ours / base:.2f}x the floor; 10,000 other owners: {rows[2][1] / ours:.2f}x."
        if rows[2][1]
        else "",
        f"Memory per connection (tracemalloc, 100,000 connections): {memory_per_connection():.0f} bytes.",
        "PySide6 is not measured: PySide6 6.12 crashes on repeated emission here.",
        "",
        queued_table(),
    ]
    return "\n".join(out)


if __name__ == "__main__":
    print(main())
