"""Faults: abrupt drops, slow readers, a killed server under reconnecting clients."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import random
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import qobjects
from tests.robust.load import STREAMS, Receiver, digest_item, emission_plan, next_emission, wire_data
from tests.robust.support import ServerThread, blockdev, wait_for

# --- abrupt drops ----------------------------------------------------------------------


@dataclass
class DropResult:
    sessions: int = 0
    rounds: int = 0
    modes: dict[str, int] = field(default_factory=dict)
    leftover_sessions: int = 0
    leftover_connections: int = 0
    leftover_signal_connections: int = 0
    memory_kib: list[float] = field(default_factory=list)  # traced memory after each round
    growth_kib: float = 0.0  # last round minus the first (warm-up) round
    bystander_ok: bool = False
    emitted: int = 0
    seconds: float = 0.0


class Dropper(asyncio.Protocol):
    def __init__(self) -> None:
        self.buf = b""
        self.lines: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        lines = (self.buf + data).split(b"\r\n")
        self.buf = lines.pop()
        for line in lines:
            msg = json.loads(line)
            if "event" not in msg and "signal" not in msg:
                self.lines.put_nowait(msg)

    async def call(self, msg: dict[str, Any]) -> dict[str, Any]:
        assert self.transport is not None
        self.transport.write(json.dumps(msg).encode())
        return await asyncio.wait_for(self.lines.get(), 30)


MODES = (
    "at once",
    "mid-negotiation",
    "mid-message",
    "mid-reply",
    "connect in flight",
    "after subscribing",
)


async def _one_drop(path: Path, rng: random.Random, mode: str) -> None:
    loop = asyncio.get_running_loop()
    _, d = await loop.create_unix_connection(Dropper, str(path))
    assert d.transport is not None
    if mode == "at once":
        d.transport.abort()
        return
    await asyncio.wait_for(d.lines.get(), 30)  # greeting
    if mode == "mid-negotiation":
        d.transport.write(b'{"execute": "set-explicit-hand')
        d.transport.abort()
        return
    await d.call({"execute": "set-explicit-handles"})
    await d.call({"execute": "qmp_capabilities"})
    for k in rng.sample(range(3), rng.randint(1, 3)):
        sig, owner = STREAMS[k]
        r = await d.call({"connect": sig, "owner": owner, "user_data": k})
        assert isinstance(r.get("return"), int), r
    if mode == "mid-message":
        d.transport.write(b'{"connect": "IO_ERROR", "owner": {"__handle__": "Blockdev", "da')
    elif mode == "mid-reply":
        d.transport.write(b'{"execute": "query-qmp-schema"}{"execute": "query-block"}')
    elif mode == "connect in flight":
        d.transport.write(json.dumps({"connect": "TRAY_MOVED", "owner": STREAMS[2][1]}).encode())
    else:
        await asyncio.sleep(rng.random() * 0.01)  # signals are being pushed meanwhile
    d.transport.abort()


def _signal_connections() -> int:
    Blockdev = blockdev()
    return int(Blockdev.io_error.connection_count() + Blockdev.tray_moved.connection_count())


def _collect_earlier_garbage() -> None:
    """Finalize what code that ran before this run left for the collector.

    The memory rounds below call ``gc.collect()``; without this, the first
    one would finalize earlier code's leftovers (another test's unclosed
    event loop) inside this run, and their warnings would be reported here.
    Leftovers of this run itself still are.
    """
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
    finally:
        sys.unraisablehook = hook


def run_drops(path: Path, sessions: int, rounds: int, seed: int = 11, rate: float = 300.0) -> DropResult:
    """*rounds* rounds of sessions/rounds abrupt drops while the server emits at *rate*/s."""
    rng = random.Random(seed)
    result = DropResult(rounds=rounds, modes={m: 0 for m in MODES})
    per_round = sessions // rounds
    plan_rng = random.Random(seed)
    digests = [hashlib.blake2b() for _ in range(3)]
    _collect_earlier_garbage()
    t_start = time.perf_counter()
    with ServerThread(path) as st:
        baseline = _signal_connections()  # the server's own event mirrors
        Blockdev = blockdev()
        bounds = [Blockdev.find("ide0-hd0").io_error, Blockdev.find("ide1-cd0").io_error]
        bounds.append(Blockdev.find("ide1-cd0").tray_moved)
        stop = threading.Event()
        count = [0]

        def emit_loop() -> None:
            i = 0
            t0 = time.perf_counter()
            while not stop.is_set():
                k, data = next_emission(plan_rng)
                digests[k].update(digest_item(wire_data(data)))
                bounds[k].emit(**data)
                i += 1
                count[0] = i
                delay = t0 + i / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)

        async def main() -> None:
            loop = asyncio.get_running_loop()
            _, bystander = await loop.create_unix_connection(Receiver, str(path))
            bystander.keep = False
            await bystander.setup()
            emitter = threading.Thread(target=emit_loop, name="emitter")
            emitter.start()
            tracemalloc.start()
            try:
                for _ in range(rounds):
                    modes = [rng.choice(MODES) for _ in range(per_round)]
                    for m in modes:
                        result.modes[m] += 1
                    # 50 at a time: many half-open sessions at once, within fd limits.
                    for i in range(0, per_round, 50):
                        await asyncio.gather(*(_one_drop(path, rng, m) for m in modes[i : i + 50]))
                    result.sessions += per_round

                    def clean(server: Any = st.server) -> bool:
                        return bool(server.sessions == 1 and len(server.connections) == 3)

                    for _ in range(500):
                        if st.call(clean):
                            break
                        await asyncio.sleep(0.01)
                    gc.collect()
                    result.memory_kib.append(tracemalloc.get_traced_memory()[0] / 1024)
            finally:
                tracemalloc.stop()
                stop.set()
                emitter.join()
            emitted = count[0]
            result.emitted = emitted
            await asyncio.sleep(0.2)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and sum(bystander.counts) < emitted:
                await asyncio.sleep(0.02)
            result.bystander_ok = sum(bystander.counts) == emitted and all(
                bystander.digests[k].digest() == digests[k].digest() for k in range(3)
            )
            assert bystander.transport is not None
            bystander.transport.close()
            await asyncio.sleep(0.1)

        asyncio.run(main())
        st.settle()
        result.leftover_sessions = st.call(lambda: st.server.sessions)
        result.leftover_connections = st.call(lambda: len(st.server.connections))
        result.leftover_signal_connections = _signal_connections() - baseline
    m = result.memory_kib
    result.growth_kib = m[-1] - m[0] if m else 0.0
    result.seconds = time.perf_counter() - t_start
    return result


# --- slow readers ----------------------------------------------------------------------


@dataclass
class SlowResult:
    healthy: int
    slow: int
    emissions: int
    healthy_complete: int = 0
    slow_closed: int = 0
    sessions_left: int = 0
    connections_left: int = 0
    seconds: float = 0.0


def run_slow_readers(path: Path, healthy: int, slow: int, emissions: int, rate: float) -> SlowResult:
    """Healthy sessions lose nothing while sessions that stop reading are closed at their limit."""
    result = SlowResult(healthy, slow, emissions)
    plan = emission_plan(5, emissions)
    expected: list[list[dict[str, Any]]] = [[], [], []]
    for k, data in plan:
        expected[k].append(wire_data(data))
    t0 = time.perf_counter()
    with ServerThread(path, max_output=256 * 1024) as st:
        Blockdev = blockdev()
        bounds = [Blockdev.find("ide0-hd0").io_error, Blockdev.find("ide1-cd0").io_error]
        bounds.append(Blockdev.find("ide1-cd0").tray_moved)

        def emit_all() -> None:
            start = time.perf_counter()
            for i, (k, data) in enumerate(plan):
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                bounds[k].emit(**data)

        async def main() -> None:
            loop = asyncio.get_running_loop()
            good: list[Receiver] = []
            bad: list[Receiver] = []
            for n in range(healthy + slow):
                _, r = await loop.create_unix_connection(Receiver, str(path))
                await r.setup()
                (good if n < healthy else bad).append(r)
            for r in bad:
                assert r.transport is not None
                r.transport.pause_reading()  # it stops reading: its queue fills
            emitter = threading.Thread(target=emit_all, name="emitter")
            emitter.start()
            deadline = time.monotonic() + emissions / rate + 60
            while time.monotonic() < deadline:
                if not emitter.is_alive() and all(sum(map(len, r.got)) >= emissions for r in good):
                    break
                await asyncio.sleep(0.02)
            emitter.join()
            await asyncio.sleep(0.1)
            result.healthy_complete = sum(
                all([d for d, _ in r.got[k]] == expected[k] for k in range(3)) and not r.lost.done()
                for r in good
            )
            st.settle()
            result.sessions_left = st.call(lambda: st.server.sessions)
            result.slow_closed = healthy + slow - result.sessions_left
            result.connections_left = st.call(lambda: len(st.server.connections))
            for r in good + bad:
                assert r.transport is not None
                r.transport.abort()
            await asyncio.sleep(0.05)

        asyncio.run(main())
    result.seconds = time.perf_counter() - t0
    return result


# --- a killed server ---------------------------------------------------------------------


@dataclass
class RestartResult:
    clients: int
    restarts: int
    deliveries_per_round: list[int] = field(default_factory=list)
    reconnect_s: list[float] = field(default_factory=list)  # SIGKILL to every client reconnected


def _start_server(path: Path) -> subprocess.Popen[bytes]:
    # A SIGKILLed server leaves its socket file behind; ``qobjects serve``
    # replaces a socket nobody listens on.
    proc = subprocess.Popen(
        [sys.executable, "-m", "qobjects", "serve", "--demo", "--unix", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()  # "serving the demo on ..." once it listens
    assert b"serving" in line, line
    proc.stderr.close()
    return proc


def run_restart(path: Path, clients: int, restarts: int) -> RestartResult:
    """Kill (SIGKILL) and restart the server *restarts* times under *clients* reconnecting clients."""
    result = RestartResult(clients, restarts)
    proc = _start_server(path)
    sessions: list[qobjects.Session] = []
    got: list[list[tuple[str, object]]] = [[] for _ in range(clients)]
    states: list[list[str]] = [[] for _ in range(clients)]
    try:
        for n in range(clients):
            s = qobjects.connect(path, reconnect=True, timeout=10)
            sessions.append(s)

            def on_state(sender: object, state: str, n: int = n) -> None:
                states[n].append(state)

            s.state_changed.connect(on_state)
            hd, cd = (i.device for i in s.query_block())
            hd.io_error.connect(lambda o, action, n=n: got[n].append(("hd", action)))
            cd.tray_moved.connect(lambda o, tray_open, n=n: got[n].append(("cd", tray_open)))
        tray = False

        def round_trip() -> int:
            """One client makes both devices emit; every client must see both."""
            nonlocal tray
            before = [len(g) for g in got]
            s = sessions[0]
            hd, cd = (i.device for i in s.query_block())
            s.x_inject_io_error(device=hd, operation="read", action="stop")
            tray = not tray
            if tray:
                s.blockdev_open_tray(device=cd)
            else:
                s.blockdev_close_tray(device=cd)
            wait_for(
                lambda: all(len(g) >= b + 2 for g, b in zip(got, before, strict=True)),
                20,
                f"deliveries {got}",
            )
            time.sleep(0.05)
            assert all(len(g) == b + 2 for g, b in zip(got, before, strict=True)), "duplicate deliveries"
            assert all(g[-2:] == [("hd", "stop"), ("cd", tray)] for g in got), "wrong deliveries"
            return sum(len(g) - b for g, b in zip(got, before, strict=True))

        result.deliveries_per_round.append(round_trip())
        for n in range(restarts):
            t0 = time.perf_counter()
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            proc = _start_server(path)
            tray = False  # a new server starts with the tray closed

            def all_back(want: int = n + 1) -> bool:
                return all(st.count("reconnected") == want for st in states)

            wait_for(all_back, 60, "reconnects")
            result.reconnect_s.append(time.perf_counter() - t0)
            for s in sessions:
                s.flush()
            result.deliveries_per_round.append(round_trip())
    finally:
        for s in sessions:
            s.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    return result


# --- a burst from one handler ---------------------------------------------------------------


@dataclass
class BurstResult:
    healthy: int
    stopped: int
    signals: int
    healthy_complete: int = 0  # reading sessions that received every signal
    stopped_cut: int = 0  # sessions that stopped reading and were cut at their limit
    sessions_left: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Signals delivered to the reading sessions per second."""
        return self.healthy * self.signals / self.seconds if self.seconds else 0.0


_SIGNAL = b'{"signal":'


class BurstReader(asyncio.Protocol):
    """A session connected to IO_ERROR of ide0-hd0 that counts the signals it reads."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.count = 0
        self.tail = b""
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.setup = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.setup:  # line by line until connected
            lines = (self.tail + data).split(b"\r\n")
            self.tail = lines.pop()
            for line in lines:
                self.replies.put_nowait(line)
            return
        self.count += (self.tail + data).count(_SIGNAL)
        self.tail = data[-(len(_SIGNAL) - 1) :]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)

    async def start(self) -> None:
        assert self.transport is not None
        await asyncio.wait_for(self.replies.get(), 30)  # greeting
        owner = {"__handle__": "Blockdev", "data": "ide0-hd0"}
        for msg in (
            {"execute": "set-explicit-handles"},
            {"execute": "qmp_capabilities"},
            {"connect": "IO_ERROR", "owner": owner, "user_data": 1},
        ):
            self.transport.write(json.dumps(msg).encode())
            reply = json.loads(await asyncio.wait_for(self.replies.get(), 30))
            assert "return" in reply, reply
        self.setup = False
        self.tail = b""


def run_burst(path: Path, healthy: int, stopped: int, signals: int, max_output: int = 1 << 20) -> BurstResult:
    """One handler emits *signals* IO_ERRORs (pacing itself with ``server.drain()``) while
    *healthy* sessions read them all and *stopped* sessions stop reading."""
    result = BurstResult(healthy, stopped, signals)
    with ServerThread(path, max_output=max_output) as st:
        server = st.server

        def install() -> None:
            Blockdev = blockdev()

            @server.command("block_passwd")
            async def burst(device: Any, password: str) -> None:
                emit = Blockdev.find("ide0-hd0").io_error.emit
                for i in range(int(password)):
                    emit(operation="read", action="stop")
                    if i % 64 == 63:
                        await server.drain()

        st.call(install)

        async def main() -> None:
            loop = asyncio.get_running_loop()
            readers: list[BurstReader] = []
            for _ in range(healthy + stopped):
                _, r = await loop.create_unix_connection(BurstReader, str(path))
                await r.start()
                readers.append(r)
            good, bad = readers[:healthy], readers[healthy:]
            for r in bad:
                assert r.transport is not None
                r.transport.pause_reading()
            t0 = time.perf_counter()
            assert good[0].transport is not None
            good[0].transport.write(
                json.dumps(
                    {"execute": "block_passwd", "arguments": {"device": "ide0-hd0", "password": str(signals)}}
                ).encode()
            )
            deadline = time.monotonic() + 60 + signals * (healthy + stopped) / 20_000
            while time.monotonic() < deadline and not all(r.count >= signals for r in good):
                await asyncio.sleep(0.01)
            result.seconds = time.perf_counter() - t0
            result.healthy_complete = sum(r.count == signals and not r.lost.done() for r in good)
            st.settle()
            result.sessions_left = st.call(lambda: server.sessions)
            result.stopped_cut = healthy + stopped - result.sessions_left
            for r in readers:
                assert r.transport is not None
                r.transport.abort()

        asyncio.run(main())
    return result
