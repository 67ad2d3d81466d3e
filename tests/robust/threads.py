"""Threads: emit, connect and disconnect from 8 threads at once, locally (no server).

Threads: 2 emitters (owners ``a`` and ``b``), 3 per-owner churners (connect,
emit themselves, disconnect), 1 class-level churner, 1 ``once`` connector
and 1 churner of weakly held bound-method slots whose objects are dropped.

What must hold: the stable connections made before the threads start get
exactly one call per emission of their owner; a churner's own emits, made
while its connection is live, reach it exactly once each, and none made
after its disconnect returned do; a ``once`` connection is called at most
once, and exactly once when its own thread emitted; no thread raises; at
the end only the stable connections are left.
"""

from __future__ import annotations

import gc
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import qobjects

SCHEMA = """
{ 'handle': 'Dev', 'data': 'str' }
{ 'enum': 'Op', 'data': ['read', 'write'] }
{ 'signal': 'IO_ERROR', 'owner': 'Dev', 'data': { 'operation': 'Op', 'action': 'str' } }
"""


class _Target:
    def __init__(self, name: str) -> None:
        self.name = name


@dataclass
class ThreadsResult:
    seconds: float
    threads: int = 8
    emits: dict[str, int] = field(default_factory=dict)
    stable_calls: dict[str, int] = field(default_factory=dict)
    churn_cycles: int = 0
    churn_own_delivered: int = 0
    churn_own_expected: int = 0
    churn_late: int = 0
    once_cycles: int = 0
    once_violations: int = 0
    class_cycles: int = 0
    weak_cycles: int = 0
    errors: list[str] = field(default_factory=list)
    leftover_connections: int = 0
    stable_connections: int = 0

    @property
    def deliveries(self) -> int:
        return sum(self.stable_calls.values()) + self.churn_own_delivered


class _Weak:
    def __init__(self) -> None:
        self.calls = 0

    def slot(self, owner: Any, operation: Any, action: str) -> None:
        self.calls += 1


def run_threads(seconds: float) -> ThreadsResult:
    ns = qobjects.build(qobjects.parse_schema(SCHEMA))
    targets = {n: _Target(n) for n in ("a", "b")}
    Dev: Any = ns.types["Dev"]
    Dev.finder(targets.get)
    a, b = Dev.find("a"), Dev.find("b")
    owners = {"a": a, "b": b}
    result = ThreadsResult(seconds)
    lock = threading.Lock()
    stable_calls = {"a": 0, "b": 0}
    emits = {"a": 0, "b": 0}

    def stable(name: str) -> Any:
        def slot(owner: Any, operation: Any, action: str) -> None:
            with lock:
                stable_calls[name] += 1

        return slot

    stable_conns = [a.io_error.connect(stable("a")), b.io_error.connect(stable("b"))]
    result.stable_connections = len(stable_conns)
    stop = threading.Event()
    start = threading.Barrier(8)

    def guard(fn: Any) -> Any:
        def run() -> None:
            try:
                start.wait()
                fn()
            except BaseException as err:  # reported, never lost in a thread
                with lock:
                    result.errors.append(f"{fn.__name__}: {type(err).__name__}: {err}")

        return run

    def emitter(name: str) -> Any:
        owner = owners[name]

        def emit_loop() -> None:
            n = 0
            while not stop.is_set():
                owner.io_error.emit(operation="read" if n % 2 else "write", action="stop")
                n += 1
            with lock:
                emits[name] += n

        emit_loop.__name__ = f"emit_{name}"
        return emit_loop

    def churner(name: str) -> Any:
        owner = owners[name]
        me = threading.get_ident

        def churn() -> None:
            cycles = own_expected = own_delivered = late = 0
            while not stop.is_set():
                tid = me()
                box = {"own": 0, "connected": True}

                def slot(
                    o: Any, operation: Any, action: str, box: dict[str, Any] = box, tid: int = tid
                ) -> None:
                    if threading.get_ident() == tid:
                        box["own"] += 1

                conn = owner.io_error.connect(slot)
                for _ in range(3):
                    owner.io_error.emit(operation="read", action="churn")
                own_expected += 3
                owner.io_error.disconnect(conn)
                before = box["own"]
                owner.io_error.emit(operation="write", action="after")
                late += box["own"] - before
                own_delivered += before
                cycles += 1
            with lock:
                emits[name] += 4 * cycles
                result.churn_cycles += cycles
                result.churn_own_expected += own_expected
                result.churn_own_delivered += own_delivered
                result.churn_late += late

        churn.__name__ = f"churn_{name}"
        return churn

    def class_churn() -> None:
        n = 0
        while not stop.is_set():
            conn = Dev.io_error.connect(lambda o, **kw: None)
            Dev.io_error.disconnect(conn)
            n += 1
        with lock:
            result.class_cycles += n

    def once_connector() -> None:
        n = violations = 0
        while not stop.is_set():
            calls = [0]

            def slot(o: Any, operation: Any, action: str, calls: list[int] = calls) -> None:
                calls[0] += 1

            a.io_error.connect(slot, once=True)
            a.io_error.emit(operation="read", action="once")
            # An emitter thread may have claimed the delivery first and still
            # be calling the slot: give it a moment before judging.
            deadline = time.monotonic() + 1.0
            while calls[0] == 0 and time.monotonic() < deadline:
                time.sleep(0.0001)
            time.sleep(0)  # let the emitters race it
            if calls[0] != 1:
                violations += 1
            n += 1
        with lock:
            emits["a"] += n
            result.once_cycles += n
            result.once_violations += violations

    def weak_churn() -> None:
        n = 0
        while not stop.is_set():
            w = _Weak()
            b.io_error.connect(w.slot)
            del w  # the connection goes with the object
            if n % 50 == 0:
                gc.collect()
            n += 1
        with lock:
            result.weak_cycles += n

    fns = [
        emitter("a"),
        emitter("b"),
        churner("a"),
        churner("b"),
        churner("a"),
        class_churn,
        once_connector,
        weak_churn,
    ]
    threads = [threading.Thread(target=guard(fn), name=fn.__name__) for fn in fns]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(30)
        if t.is_alive():
            result.errors.append(f"thread {t.name} did not stop")
    gc.collect()
    result.emits = emits
    result.stable_calls = stable_calls
    # A class-level connect purges weak connections that were collected under the lock.
    Dev.io_error.connect(lambda o, **kw: None).disconnect()
    result.leftover_connections = Dev.io_error.connection_count()
    for c in stable_conns:
        c.disconnect()
    return result
