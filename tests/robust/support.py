"""Shared pieces of the robustness runs: sizes, a server thread, a blocking line client.

Sizes come from ``QOBJECTS_SCALE``: ``ci`` (the default, what ``make test``
runs) or ``full`` (what ``python -m bench.soak`` runs).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from qobjects import default_namespace
from qobjects.demo import DemoBackend, make_demo_server
from qobjects.qmp.server import Server

T = TypeVar("T")

HD: dict[str, object] = {"__handle__": "Blockdev", "data": "ide0-hd0"}
CD: dict[str, object] = {"__handle__": "Blockdev", "data": "ide1-cd0"}


def scale() -> str:
    value = os.environ.get("QOBJECTS_SCALE", "ci")
    if value not in ("ci", "full"):
        raise ValueError(f"QOBJECTS_SCALE must be 'ci' or 'full', not {value!r}")
    return value


def sized(ci: T, full: T) -> T:
    """*ci* or *full*, by ``QOBJECTS_SCALE``."""
    return full if scale() == "full" else ci


def percentile(values: list[float], p: float) -> float:
    """The *p*-th percentile (0..100) of *values*, by nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rss_kib(pid: int | None = None) -> int:
    """Resident set size of *pid* (default: this process) in KiB, from /proc."""
    with open(f"/proc/{pid or 'self'}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc status")


def wait_for(cond: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout} s")
        time.sleep(0.005)


class ServerThread:
    """The demo server on its own event loop in a background thread."""

    server: Server
    backend: DemoBackend

    def __init__(self, path: Path, **kw: Any) -> None:
        self.path = path
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._kw = kw
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="robust-server", daemon=True)
        self.thread.start()
        assert self._ready.wait(20), "server thread did not start"
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            self.server, self.backend = make_demo_server(**self._kw)
            await self.server.start_unix(self.path)
            self._stop = asyncio.Event()
            self._ready.set()
            try:
                await self._stop.wait()
            finally:
                await self.server.close()

        try:
            self.loop.run_until_complete(main())
        except BaseException as err:  # reported to the creator
            self._error = err
            self._ready.set()

    def call(self, fn: Callable[[], T], timeout: float = 30.0) -> T:
        """Run *fn* on the server's loop and return its result."""

        async def wrapper() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(timeout)

    def settle(self) -> None:
        """Let the server loop run the callbacks already scheduled (twice round)."""
        for _ in range(3):
            self.call(lambda: None)

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(20)
        self.loop.close()

    def __enter__(self) -> ServerThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LineClient:
    """A blocking QMP client on a Unix socket: raw bytes out, parsed lines in.

    Pushed messages (events and signals) are kept aside in ``pushed``.
    """

    def __init__(self, path: Path, timeout: float = 20.0) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.buf = b""
        self.pushed: list[dict[str, Any]] = []
        self.closed = False

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, msg: object) -> None:
        self.sock.sendall(json.dumps(msg).encode() + b"\n")

    def read(self) -> dict[str, Any]:
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2 :]
                msg: dict[str, Any] = json.loads(line)
                return msg
            data = self.sock.recv(1 << 16)
            if not data:
                raise EOFError("server closed the connection")
            self.buf += data

    def reply(self) -> dict[str, Any]:
        while True:
            msg = self.read()
            if "event" in msg or "signal" in msg:
                self.pushed.append(msg)
                continue
            return msg

    def call(self, msg: object) -> dict[str, Any]:
        self.send(msg)
        return self.reply()

    def negotiate(self, explicit: bool = True) -> None:
        greeting = self.read()
        assert "QMP" in greeting, greeting
        if explicit:
            assert self.call({"execute": "set-explicit-handles"}) == {"return": {}}
        assert self.call({"execute": "qmp_capabilities"}) == {"return": {}}

    def sync(self, tag: str) -> list[dict[str, Any]]:
        """Every reply before the reply to a marker request tagged *tag*."""
        self.send({"execute": "query-version", "id": tag})
        out: list[dict[str, Any]] = []
        while True:
            r = self.reply()
            if r.get("id") == tag:
                assert "return" in r, r
                return out
            out.append(r)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.sock.close()


def blockdev() -> Any:
    """The default namespace's Blockdev class (the demo server's)."""
    return default_namespace().types["Blockdev"]
