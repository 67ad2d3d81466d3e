"""Connecting to real QEMU and getting a first typed reply: qobjects beside qemu.qmp.

One QEMU 7.2 process (TCG, ``-S``), one client at a time on its QMP socket:

- **qemu.qmp**: ``QMPClient.connect`` + ``execute("query-status")`` + disconnect;
- **qemu.qmp + schema**: the same with ``execute("query-qmp-schema")`` first;
- **floor** and **floor + schema**: raw asyncio streams and ``json``, the same
  requests; their difference is *QEMU's schema time* (QEMU building its 200 KB
  reply and sending it, and ``json.loads`` reading it);
- **qobjects**: ``await qobjects.aconnect(path)`` (which reads the server's
  schema and merges the QEMU overlay) + ``await session.query_status()`` (a
  typed Struct) + close;
- **qobjects, bundled schema**: ``aconnect(path, namespace=...)`` with the
  bundled schema (no schema read) + ``execute_raw("query-status")``.

The target: qobjects <= QEMU's schema time + 1.5 x qemu.qmp. Every contender
runs in every round, interleaved; figures are medians. Run as
``python -m bench.bench_qemu_connect [ROUNDS]``; skipped without QEMU or qemu.qmp.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench._util import table

QEMU = "qemu-system-x86_64"
ROUNDS = 7
PER_ROUND = 10  # connects per contender per round


def start_qemu(sock: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [QEMU, "-S", "-machine", "pc", "-accel", "tcg", "-nodefaults", "-display", "none",
         "-qmp", f"unix:{sock},server=on,wait=off"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while not _accepts(sock):  # the file exists once bound, a moment before QEMU listens
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("QEMU did not start")
        time.sleep(0.01)
    return proc


def _accepts(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as s:
        try:
            s.connect(str(path))
        except OSError:
            return False
    return True


async def qmp_status(path: str) -> None:
    from qemu.qmp import QMPClient

    qmp = QMPClient("bench")
    await qmp.connect(path)
    await qmp.execute("query-status")
    await qmp.disconnect()


async def qmp_schema_status(path: str) -> None:
    from qemu.qmp import QMPClient

    qmp = QMPClient("bench")
    await qmp.connect(path)
    await qmp.execute("query-qmp-schema")
    await qmp.execute("query-status")
    await qmp.disconnect()


async def _floor(path: str, schema: bool) -> None:
    """Raw asyncio streams and ``json``: what any client must at least do."""
    reader, writer = await asyncio.open_unix_connection(path, limit=2**26)
    await reader.readline()  # greeting
    commands = ["qmp_capabilities", *(["query-qmp-schema"] if schema else []), "query-status"]
    for cmd in commands:
        writer.write(json.dumps({"execute": cmd}).encode() + b"\n")
        reply = json.loads(await reader.readline())
        assert "return" in reply, reply
    writer.close()
    await writer.wait_closed()


async def floor_status(path: str) -> None:
    await _floor(path, False)


async def floor_schema_status(path: str) -> None:
    await _floor(path, True)


async def qobjects_status(path: str) -> None:
    import qobjects

    session: Any = await qobjects.aconnect(path)  # QEMU's own schema: not in the default stubs
    status = await session.query_status()
    assert status.status == "prelaunch"
    await session.close()


async def qobjects_bundled(path: str) -> None:
    import qobjects

    session = await qobjects.aconnect(path, namespace=qobjects.default_namespace())
    await session.execute_raw("query-status")
    await session.close()


CONTENDERS: dict[str, Callable[[str], Awaitable[None]]] = {
    "floor": floor_status,
    "floor + schema": floor_schema_status,
    "qemu.qmp": qmp_status,
    "qemu.qmp + schema": qmp_schema_status,
    "qobjects": qobjects_status,
    "qobjects, bundled schema": qobjects_bundled,
}


async def measure(fn: Callable[[str], Awaitable[None]], path: str, n: int) -> float:
    """Milliseconds per connect, the median of *n*."""
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        await fn(path)
        samples.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(samples)


async def run(path: str, rounds: int) -> dict[str, float]:
    for fn in CONTENDERS.values():  # warm up: imports, the overlay's one parse
        await fn(path)
    results: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    for _ in range(rounds):
        for name, fn in CONTENDERS.items():
            results[name].append(await measure(fn, path, PER_ROUND))
    return {name: statistics.median(v) for name, v in results.items()}


def main(rounds: int = ROUNDS) -> str:
    if shutil.which(QEMU) is None:
        return f"skipped: {QEMU} is not installed"
    try:
        import qemu.qmp  # noqa: F401
    except ImportError:
        return "skipped: qemu.qmp is not installed"
    with tempfile.TemporaryDirectory() as tmp:
        sock = Path(tmp) / "qmp.sock"
        proc = start_qemu(sock)
        try:
            med = asyncio.run(run(str(sock), rounds))
        finally:
            proc.terminate()
            proc.wait()
    qmp = med["qemu.qmp"]
    schema = med["floor + schema"] - med["floor"]
    budget = schema + 1.5 * qmp
    rows = [[name, f"{ms:.2f}"] for name, ms in med.items()]
    rows.append(["QEMU's schema time (floor + schema minus floor)", f"{schema:.2f}"])
    rows.append(["target for qobjects: schema time + 1.5 x qemu.qmp", f"{budget:.2f}"])
    ratio = (med["qobjects"] - schema) / qmp
    text = table(["connect + query-status, QEMU 7.2 (TCG)", "ms (median)"], rows)
    text += (
        f"\n\nqobjects minus QEMU's schema time is {ratio:.2f}x qemu.qmp "
        f"(target <= 1.5x; {'met' if ratio <= 1.5 else 'NOT met'})."
    )
    return text


if __name__ == "__main__":
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else ROUNDS))
