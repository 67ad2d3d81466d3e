"""Wire benchmarks: command round trip and signal push, server and client.

Two servers, each in a process of its own (:mod:`bench.servers`): the
qobjects demo server on the bench schema, and :mod:`bench.minimal_server`,
which does no work and is the reference for "the server is not the
bottleneck". Three clients in this process:

- **floor**: raw asyncio streams and ``json``, CRLF lines, explicit handles;
  it parses every line it receives;
- **qemu.qmp**: ``QMPClient.execute`` and an ``EventListener`` counting
  ``BLOCK_IO_ERROR`` events (it never asks for signals);
- **qobjects**: ``await session.query_version()`` and a slot connected to
  ``ide0-hd0``'s ``io_error`` that counts.

Push: the client sends ``x-bench-emit`` with count N; the server emits
N ``IO_ERROR`` signals, each pushed as a signal message to the client's
connection and as the mirrored ``BLOCK_IO_ERROR`` event; the clock runs from
the request until the N-th signal (or event) reached the client's code.
Round trip: sequential ``query-version`` requests (``query-block`` too).

Burst: one ``x-bench-emit`` of 100,000 signals while 1, 10 or 100 sessions
connected to them read as fast as they can (each counts its signal
messages); the handler paces itself with ``await server.drain()``. Rate is
signals delivered to all sessions per second; complete means every session
got all 100,000 (none was cut for being slow).

Every contender runs in the same run, interleaved, several times; figures are
medians. Run as ``python -m bench.bench_wire [REPEAT]``, or
``python -m bench.bench_wire burst`` for the burst table alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench._util import table
from bench.servers import SCHEMA, running

REPEAT = 7
TARGET_S = 0.4  # aim for runs of this length
CLIENTS = ("floor", "qemu.qmp", "qobjects")
SERVERS = ("minimal", "qobjects")

# One measurement: (client, server, what) -> its result (µs per call, or messages per second).
Key = tuple[str, str, str]
Measure = Callable[[str, int], Awaitable[float]]


# --- the floor: asyncio streams + json ------------------------------------------------


class Floor:
    """The simplest client that speaks QMP correctly: the floor."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.next_id = 0
        self.buf = b""  # read past the last line handled

    @classmethod
    async def open(cls, path: str) -> Floor:
        reader, writer = await asyncio.open_unix_connection(path, limit=1 << 20)
        self = cls(reader, writer)
        json.loads(await reader.readline())  # the greeting
        await self.call("set-explicit-handles")
        await self.call("qmp_capabilities")
        return self

    async def send(self, msg: dict[str, Any]) -> int:
        self.next_id += 1
        msg["id"] = self.next_id
        self.writer.write(json.dumps(msg, separators=(",", ":")).encode() + b"\r\n")
        return self.next_id

    async def reply(self, id_: int) -> Any:
        """Read lines until the reply to *id_*; other messages are parsed and dropped."""
        while True:
            if b"\n" in self.buf:
                line, _, self.buf = self.buf.partition(b"\n")
            else:
                line = self.buf + await self.reader.readline()
                self.buf = b""
            msg = json.loads(line)
            if msg.get("id") == id_:
                if "error" in msg:
                    raise RuntimeError(msg["error"]["desc"])
                return msg["return"]

    async def call(self, command: str, **arguments: Any) -> Any:
        msg: dict[str, Any] = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        return await self.reply(await self.send(msg))

    async def count_signals(self, n: int) -> None:
        """Read until *n* signal messages arrived, parsing every line."""
        count = 0
        buf = self.buf
        read = self.reader.read
        loads = json.loads
        while count < n:
            data = await read(1 << 16)
            if not data:
                raise EOFError("the server closed the connection")
            lines = (buf + data).split(b"\n")
            buf = lines.pop()
            for i, line in enumerate(lines):
                if "signal" in loads(line):
                    count += 1
                    if count == n:  # keep the rest for reply()
                        buf = b"\n".join([*lines[i + 1 :], buf])
                        break
        self.buf = buf

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


async def floor_round_trip(path: str, n: int, command: str = "query-version") -> float:
    client = await Floor.open(path)
    try:
        call = client.call
        t0 = time.perf_counter()
        for _ in range(n):
            await call(command)
        return (time.perf_counter() - t0) / n * 1e6
    finally:
        await client.close()


async def floor_push(path: str, n: int) -> float:
    client = await Floor.open(path)
    try:
        owner = {"__handle__": "Blockdev", "data": "ide0-hd0"}
        await client.reply(await client.send({"connect": "IO_ERROR", "owner": owner, "user_data": 1}))
        t0 = time.perf_counter()
        id_ = await client.send({"execute": "x-bench-emit", "arguments": {"count": n}})
        await client.count_signals(n)
        elapsed = time.perf_counter() - t0
        await client.reply(id_)
        return n / elapsed
    finally:
        await client.close()


# --- qemu.qmp ------------------------------------------------------------------------


async def _qmp_open(path: str) -> Any:
    from qemu.qmp import QMPClient

    qmp = QMPClient("bench")
    await qmp.connect(path)
    return qmp


async def qmp_round_trip(path: str, n: int, command: str = "query-version") -> float:
    qmp = await _qmp_open(path)
    try:
        execute = qmp.execute
        t0 = time.perf_counter()
        for _ in range(n):
            await execute(command)
        return (time.perf_counter() - t0) / n * 1e6
    finally:
        await qmp.disconnect()


async def qmp_push(path: str, n: int) -> float:
    from qemu.qmp import EventListener

    qmp = await _qmp_open(path)
    try:
        listener = EventListener(("BLOCK_IO_ERROR",))
        with qmp.listen(listener):
            t0 = time.perf_counter()
            request = asyncio.ensure_future(qmp.execute("x-bench-emit", {"count": n}))
            count = 0
            async for _ in listener:
                count += 1
                if count == n:
                    break
            elapsed = time.perf_counter() - t0
            await request
        return n / elapsed
    finally:
        await qmp.disconnect()


# --- qobjects ------------------------------------------------------------------------

_namespace: Any = None


async def _qobjects_open(path: str) -> Any:
    import qobjects

    global _namespace
    if _namespace is None:
        _namespace = qobjects.build(SCHEMA)
    return await qobjects.aconnect(path, namespace=_namespace)


async def qobjects_round_trip(path: str, n: int, command: str = "query-version") -> float:
    session = await _qobjects_open(path)
    try:
        py = command.replace("-", "_")
        t0 = time.perf_counter()
        for _ in range(n):
            await getattr(session, py)()  # what user code writes: session.query_version()
        return (time.perf_counter() - t0) / n * 1e6
    finally:
        await session.close()


async def qobjects_push(path: str, n: int) -> float:
    session = await _qobjects_open(path)
    try:
        hd = (await session.query_block())[0].device
        done = asyncio.get_running_loop().create_future()
        count = 0

        def slot(owner: Any, operation: Any, action: Any) -> None:
            nonlocal count
            count += 1
            if count == n:
                done.set_result(None)

        hd.io_error.connect(slot)
        await session.flush()
        t0 = time.perf_counter()
        await session.x_bench_emit(count=n)
        await done
        return n / (time.perf_counter() - t0)
    finally:
        await session.close()


# --- burst: one handler, many reading sessions ------------------------------------------

BURST = 100_000
BURST_SESSIONS = (1, 10, 100)
_SIGNAL = b'{"signal":'


class BurstReader:
    """A session with explicit handles, connected to IO_ERROR of ide0-hd0, counting signals."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.count = 0
        self.cut = False

    @classmethod
    async def open(cls, path: str) -> BurstReader:
        reader, writer = await asyncio.open_unix_connection(path, limit=1 << 20)
        self = cls(reader, writer)
        await reader.readline()  # the greeting
        owner = {"__handle__": "Blockdev", "data": "ide0-hd0"}
        for msg in (
            {"execute": "set-explicit-handles"},
            {"execute": "qmp_capabilities"},
            {"connect": "IO_ERROR", "owner": owner, "user_data": 1},
        ):
            writer.write(json.dumps(msg).encode() + b"\r\n")
            json.loads(await reader.readline())
        return self

    async def read(self, n: int) -> None:
        """Count signal messages until *n* arrived or the server closed the session."""
        tail = b""
        read = self.reader.read
        while self.count < n:
            data = await read(1 << 18)
            if not data:
                self.cut = True
                return
            self.count += (tail + data).count(_SIGNAL)
            tail = data[-(len(_SIGNAL) - 1) :]

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


async def burst(path: str, sessions: int, n: int = BURST) -> tuple[float, int]:
    """Signals per second delivered to all *sessions*, and how many got all *n*."""
    readers = [await BurstReader.open(path) for _ in range(sessions)]
    try:
        t0 = time.perf_counter()
        readers[0].writer.write(b'{"execute":"x-bench-emit","arguments":{"count":%d}}\r\n' % n)
        await asyncio.wait_for(asyncio.gather(*(r.read(n) for r in readers)), 600)
        elapsed = time.perf_counter() - t0
        total = sum(min(r.count, n) for r in readers)
        return total / elapsed, sum(r.count >= n and not r.cut for r in readers)
    finally:
        for r in readers:
            await r.close()


def measure_burst(repeat: int = 1) -> dict[tuple[str, int], list[tuple[float, int]]]:
    """The burst against both servers, for each number of sessions."""
    out: dict[tuple[str, int], list[tuple[float, int]]] = {}
    with tempfile.TemporaryDirectory(prefix="qobjects-bench-") as tmp:
        paths = {server: str(Path(tmp) / f"{server}.sock") for server in SERVERS}
        with running("minimal", paths["minimal"]), running("qobjects", paths["qobjects"]):

            async def run_all() -> None:
                for sessions in BURST_SESSIONS:
                    for _ in range(repeat):
                        for server in SERVERS:
                            result = await burst(paths[server], sessions)
                            out.setdefault((server, sessions), []).append(result)

            asyncio.run(run_all())
    return out


def report_burst(results: dict[tuple[str, int], list[tuple[float, int]]]) -> str:
    rows = []
    for sessions in BURST_SESSIONS:
        mini = results["minimal", sessions]
        ours = results["qobjects", sessions]
        rate_m = statistics.median(r for r, _ in mini)
        rate_q = statistics.median(r for r, _ in ours)
        rows.append(
            [
                str(sessions),
                _rate(rate_m),
                f"{min(c for _, c in mini)}/{sessions}",
                _rate(rate_q),
                f"{min(c for _, c in ours)}/{sessions}",
                f"{rate_q / rate_m:.2f}",
            ]
        )
    return "\n".join(
        [
            f"Burst: one handler emits {BURST:,} IO_ERROR signals (each also mirrored as a",
            "BLOCK_IO_ERROR event) to every reading session, pacing itself with",
            "`await server.drain()`; signals delivered to all sessions per second, and how many",
            "sessions received all of them.",
            "",
            table(
                [
                    "reading sessions",
                    "minimal server /s",
                    "complete",
                    "qobjects server /s",
                    "complete",
                    "qobjects / minimal",
                ],
                rows,
            ),
        ]
    )


# --- the runs ------------------------------------------------------------------------

ROUND_TRIP: dict[str, Callable[..., Awaitable[float]]] = {
    "floor": floor_round_trip,
    "qemu.qmp": qmp_round_trip,
    "qobjects": qobjects_round_trip,
}
PUSH: dict[str, Measure] = {"floor": floor_push, "qemu.qmp": qmp_push, "qobjects": qobjects_push}


def _measures() -> dict[Key, tuple[Measure, bool]]:
    """Every measurement: (client, server, what) -> (function, higher is better)."""
    out: dict[Key, tuple[Measure, bool]] = {}
    for client in CLIENTS:
        for server in SERVERS:
            rt = ROUND_TRIP[client]

            async def version(path: str, n: int, rt: Any = rt) -> float:
                return float(await rt(path, n, "query-version"))

            async def block(path: str, n: int, rt: Any = rt) -> float:
                return float(await rt(path, n, "query-block"))

            out[client, server, "rt"] = (version, False)
            out[client, server, "rt-block"] = (block, False)
            out[client, server, "push"] = (PUSH[client], True)
    return out


async def _run(paths: dict[str, str], repeat: int) -> dict[Key, list[float]]:
    measures = _measures()
    sizes: dict[Key, int] = {}
    # Warm up every pair and size its runs to about TARGET_S.
    for key, (fn, rate) in measures.items():
        probe = 2000 if rate else 200
        value = await fn(paths[key[1]], probe)
        per_s = value if rate else 1e6 / value
        sizes[key] = max(probe, int(per_s * TARGET_S) // 64 * 64)
    samples: dict[Key, list[float]] = {key: [] for key in measures}
    order = list(measures)
    for _ in range(repeat):  # interleaved, so that noise hits everyone alike
        for key in order:
            samples[key].append(await measures[key][0](paths[key[1]], sizes[key]))
        order.reverse()  # and no one always runs first
    return samples


def measure(repeat: int = REPEAT) -> dict[Key, list[float]]:
    """Start both servers, run every measurement *repeat* times, stop them."""
    logging.getLogger("qemu.qmp").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="qobjects-bench-") as tmp:
        paths = {server: str(Path(tmp) / f"{server}.sock") for server in SERVERS}
        with running("minimal", paths["minimal"]), running("qobjects", paths["qobjects"]):
            return asyncio.run(_run(paths, repeat))


# --- the report ------------------------------------------------------------------------


def _us(v: float) -> str:
    return f"{v:.0f}"


def _rate(v: float) -> str:
    return f"{v / 1000:.1f}k"


def _goal(text: str, met: bool) -> str:
    return f"- {text}: **{'met' if met else 'NOT met'}**"


class Results:
    """The samples of a run: medians, and ratios as medians of the runs' ratios.

    The two sides of a ratio ran next to each other in every round, so the
    median of the per-round ratios holds up better on a shared machine than
    the ratio of the medians.
    """

    def __init__(self, samples: dict[Key, list[float]]) -> None:
        self.samples = samples

    def __getitem__(self, key: Key) -> float:
        return statistics.median(self.samples[key])

    def ratio(self, a: Key, b: Key) -> float:
        return statistics.median(x / y for x, y in zip(self.samples[a], self.samples[b], strict=True))


def report(r: Results) -> str:
    # Issue 4: the server. Each client against both servers.
    rows4 = []
    for client in CLIENTS:
        for what, label, fmt, rate in (
            ("rt", "round trip query-version (µs)", _us, False),
            ("rt-block", "round trip query-block (µs)", _us, False),
            ("push", "signals pushed (+ events), per s", _rate, True),
        ):
            mini, ours = r[client, "minimal", what], r[client, "qobjects", what]
            # the qobjects server's share of the rate reached against the minimal server
            if rate:
                ratio = r.ratio((client, "qobjects", what), (client, "minimal", what))
            else:
                ratio = r.ratio((client, "minimal", what), (client, "qobjects", what))
            rows4.append([client, label, fmt(mini), fmt(ours), f"{ratio:.2f}"])
    server = table(
        ["client", "measure", "minimal server", "qobjects server", "qobjects / minimal (rate)"],
        rows4,
    )
    floor_rt = r.ratio(("floor", "minimal", "rt"), ("floor", "qobjects", "rt"))
    floor_push = r.ratio(("floor", "qobjects", "push"), ("floor", "minimal", "push"))

    # Issue 5: the client, against the qobjects server (and, to show what the client
    # alone can do, against the minimal server).
    def rel(client: str, server: str, what: str) -> str:
        return f"{r.ratio((client, server, what), ('floor', server, what)):.2f}"

    rows5 = [
        [
            client,
            _rate(r[client, "qobjects", "push"]),
            rel(client, "qobjects", "push"),
            _rate(r[client, "minimal", "push"]),
            rel(client, "minimal", "push"),
            _us(r[client, "qobjects", "rt"]),
            rel(client, "qobjects", "rt"),
            _us(r[client, "qobjects", "rt-block"]),
            rel(client, "qobjects", "rt-block"),
        ]
        for client in CLIENTS
    ]
    client_table = table(
        [
            "client",
            "signals to code /s (qobjects server)",
            "x floor",
            "signals to code /s (minimal server)",
            "x floor",
            "query-version round trip µs (qobjects server)",
            "x floor",
            "query-block round trip µs (qobjects server)",
            "x floor",
        ],
        rows5,
    )
    q = ("qobjects", "qobjects")
    f = ("floor", "qobjects")
    push_q = r.ratio((*q, "push"), (*f, "push"))
    push_q_qmp = r.ratio((*q, "push"), ("qemu.qmp", "qobjects", "push"))
    push_m = r.ratio(("qobjects", "minimal", "push"), ("floor", "minimal", "push"))
    push_m_qmp = r.ratio(("qobjects", "minimal", "push"), ("qemu.qmp", "minimal", "push"))
    rt_q = r.ratio((*q, "rt"), (*f, "rt"))
    goals = [
        _goal(
            f"server: floor round trip against qobjects >= 80% of its rate against minimal ({floor_rt:.0%})",
            floor_rt >= 0.8,
        ),
        _goal(
            f"server: floor push rate against qobjects >= 80% of its rate against minimal ({floor_push:.0%})",
            floor_push >= 0.8,
        ),
        _goal(
            f"client: qobjects signals to slots >= 80% of the floor's rate ({push_q:.0%}; "
            f"{push_q_qmp:.1f}x qemu.qmp events)",
            push_q >= 0.8,
        ),
        _goal(
            f"client, against the minimal server (the client alone): qobjects signals to slots >= 80% "
            f"of the floor's rate ({push_m:.0%}; {push_m_qmp:.1f}x qemu.qmp events)",
            push_m >= 0.8,
        ),
        _goal(f"client: qobjects round trip <= 1.2x the floor's ({rt_q:.2f}x)", rt_q <= 1.2),
    ]
    return "\n".join(
        [
            "Server (issue 4): each client against the minimal canned-reply server and the qobjects",
            "demo server, each in its own process; the ratio is the qobjects server's share of the",
            "rate the same client reaches against the minimal server (1.00: not the bottleneck).",
            "",
            server,
            "",
            "Client (issue 5): every client against the qobjects demo server. Push: `x-bench-emit`",
            "emits IO_ERROR on ide0-hd0; floor and qobjects count signals (each comes with its",
            "BLOCK_IO_ERROR event), qemu.qmp counts the events.",
            "",
            client_table,
            "",
            "Goals:",
            "",
            *goals,
        ]
    )


FIGURES: dict[Key, float] = {}


def main(repeat: int = REPEAT) -> str:
    """Run the benchmark; return a markdown report."""
    results = Results(measure(repeat))
    FIGURES.clear()
    FIGURES.update({key: results[key] for key in results.samples})
    return report(results) + "\n\n" + report_burst(measure_burst())


def figures() -> dict[str, dict[str, float]]:
    """The last run's side-by-side figures, for the plot: chart title -> label -> value."""
    out: dict[str, dict[str, float]] = {}
    for (client, server, what), value in FIGURES.items():
        title = {
            "rt": "round trip query-version (µs, lower is better)",
            "rt-block": "round trip query-block (µs, lower is better)",
            "push": "signals pushed per second (higher is better)",
        }[what]
        out.setdefault(title, {})[f"{client} / {server} server"] = value
    return out


if __name__ == "__main__":
    if sys.argv[1:] == ["burst"]:
        print(report_burst(measure_burst()))
    else:
        print(main(int(sys.argv[1]) if len(sys.argv) > 1 else REPEAT))
