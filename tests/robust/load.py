"""Load: many sessions with connections on both devices while the server emits.

Everything runs in this process: the demo server on its own event loop
thread, an emitter thread calling ``emit`` on the server's objects at a fixed
rate, and the sessions (raw asyncio connections, the cheapest client) on the
main thread's loop. The emitted sequence is drawn from a seeded generator
over three streams (IO_ERROR of ide0-hd0, IO_ERROR and TRAY_MOVED of
ide1-cd0), so each session must receive exactly the emitted sequence of each
stream, in order. Latency is from just before ``emit`` (``perf_counter``) to
the session's handler decoding the signal line.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.robust.support import CD, HD, ServerThread, blockdev, percentile

STREAMS: tuple[tuple[str, dict[str, object]], ...] = (("IO_ERROR", HD), ("IO_ERROR", CD), ("TRAY_MOVED", CD))
OPS = ("read", "write")
ACTIONS = ("ignore", "report", "stop")


def next_emission(rng: random.Random) -> tuple[int, dict[str, Any]]:
    """A random (stream index, data)."""
    k = rng.randrange(3)
    if k < 2:
        return k, {"operation": rng.choice(OPS), "action": rng.choice(ACTIONS)}
    return k, {"tray_open": rng.random() < 0.5}


def emission_plan(seed: int, count: int) -> list[tuple[int, dict[str, Any]]]:
    """(stream index, data) for each emission."""
    rng = random.Random(seed)
    return [next_emission(rng) for _ in range(count)]


def wire_data(data: dict[str, Any]) -> dict[str, Any]:
    return {k.replace("_", "-"): v for k, v in data.items()}


def digest_item(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True).encode() + b"\n"


class Receiver(asyncio.Protocol):
    """One session: negotiates, connects the three streams, records what arrives."""

    keep = True  # keep what arrived (else only counts and digests, in constant memory)

    def __init__(self) -> None:
        self.counts = [0, 0, 0]
        self.digests = [hashlib.blake2b() for _ in range(3)]
        self.buf = b""
        self.replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.got: list[list[tuple[dict[str, Any], float]]] = [[], [], []]
        self.events = 0
        self.stream_of: dict[int, int] = {}
        self.transport: asyncio.Transport | None = None
        self.lost = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        buf = self.buf + data
        lines = buf.split(b"\r\n")
        self.buf = lines.pop()
        for line in lines:
            msg = json.loads(line)
            if "signal" in msg:
                k = msg["user_data"]
                self.counts[k] += 1
                if self.keep:
                    self.got[k].append((msg["data"], now))
                else:
                    self.digests[k].update(digest_item(msg["data"]))
            elif "event" in msg:
                self.events += 1
            else:
                self.replies.put_nowait(msg)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(exc)

    async def call(self, msg: dict[str, Any]) -> dict[str, Any]:
        assert self.transport is not None
        self.transport.write(json.dumps(msg).encode())
        return await asyncio.wait_for(self.replies.get(), 30)

    async def setup(self) -> None:
        await asyncio.wait_for(self.replies.get(), 30)  # the greeting
        assert await self.call({"execute": "set-explicit-handles"}) == {"return": {}}
        assert await self.call({"execute": "qmp_capabilities"}) == {"return": {}}
        for k, (signal, owner) in enumerate(STREAMS):
            r = await self.call({"connect": signal, "owner": owner, "user_data": k})
            assert isinstance(r.get("return"), int), r


@dataclass
class LoadResult:
    sessions: int
    emissions: int
    rate: float
    deliveries: int = 0
    seconds: float = 0.0
    signals_per_s: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    lost: int = 0
    problems: list[str] = field(default_factory=list)


def run_load(path: Path, sessions: int, emissions: int, rate: float, seed: int = 7) -> LoadResult:
    """*sessions* sessions; *emissions* emissions at *rate* per second."""
    plan = emission_plan(seed, emissions)
    expected: list[list[dict[str, Any]]] = [[], [], []]
    index: list[list[int]] = [[], [], []]
    for i, (k, data) in enumerate(plan):
        expected[k].append(wire_data(data))
        index[k].append(i)
    times = [0.0] * emissions
    result = LoadResult(sessions, emissions, rate)

    with ServerThread(path):
        Blockdev = blockdev()
        hd, cd = Blockdev.find("ide0-hd0"), Blockdev.find("ide1-cd0")
        # The bound signals, not their ``emit``: a BoundSignal rebuilds ``emit`` on
        # every connect, so a saved ``emit`` would not see the sessions' connections.
        bounds = [hd.io_error, cd.io_error, cd.tray_moved]

        def emit_all() -> None:
            t0 = time.perf_counter()
            for i, (k, data) in enumerate(plan):
                due = t0 + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                times[i] = time.perf_counter()
                bounds[k].emit(**data)

        async def main() -> None:
            loop = asyncio.get_running_loop()
            receivers: list[Receiver] = []
            for _ in range(sessions):
                _, r = await loop.create_unix_connection(Receiver, str(path))
                receivers.append(r)
            await asyncio.gather(*(r.setup() for r in receivers))
            emitter = threading.Thread(target=emit_all, name="emitter")
            emitter.start()
            total = sessions * emissions
            deadline = time.monotonic() + emissions / rate + 60
            while time.monotonic() < deadline:
                have = sum(len(g) for r in receivers for g in r.got)
                if have >= total and not emitter.is_alive():
                    break
                await asyncio.sleep(0.02)
            emitter.join()
            await asyncio.sleep(0.1)  # anything extra (duplicates) would arrive now
            latencies: list[float] = []
            last = 0.0
            for n, r in enumerate(receivers):
                if r.lost.done():
                    result.problems.append(f"session {n} was closed: {r.lost.result()}")
                for k in range(3):
                    got = [d for d, _ in r.got[k]]
                    if got != expected[k]:
                        result.problems.append(
                            f"session {n} stream {k}: {len(got)} signals, expected {len(expected[k])}"
                            + (" (same count, wrong order or data)" if len(got) == len(expected[k]) else "")
                        )
                        result.lost += max(0, len(expected[k]) - len(got))
                    for j, (_, at) in enumerate(r.got[k][: len(index[k])]):
                        latencies.append(at - times[index[k][j]])
                        last = max(last, at)
                result.deliveries += sum(len(g) for g in r.got)
            for r in receivers:
                assert r.transport is not None
                r.transport.close()
            result.seconds = last - times[0] if emissions else 0.0
            result.signals_per_s = result.deliveries / result.seconds if result.seconds > 0 else 0.0
            result.p50_ms = percentile(latencies, 50) * 1000
            result.p99_ms = percentile(latencies, 99) * 1000
            result.max_ms = max(latencies, default=0.0) * 1000

        asyncio.run(main())
    return result
