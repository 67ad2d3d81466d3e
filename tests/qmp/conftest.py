"""Fixtures: a demo server on a real Unix socket, and a raw JSON line client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from qobjects.demo import DemoBackend, make_demo_server
from qobjects.qmp.server import Server


class RawClient:
    """A minimal QMP client: writes JSON, reads CRLF-terminated replies."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.pushed: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, path: Path) -> RawClient:
        reader, writer = await asyncio.open_unix_connection(str(path))
        return cls(reader, writer)

    async def read(self, timeout: float = 5.0) -> dict[str, Any]:
        line = await asyncio.wait_for(self.reader.readline(), timeout)
        if not line:
            raise EOFError("server closed the connection")
        assert line.endswith(b"\r\n"), line
        msg: dict[str, Any] = json.loads(line)
        return msg

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def send(self, msg: object) -> None:
        await self.send_raw(json.dumps(msg).encode())

    async def reply(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next reply, keeping pushed events and signals aside."""
        while True:
            msg = await self.read(timeout)
            if "event" in msg or "signal" in msg:
                self.pushed.append(msg)
                continue
            return msg

    async def call(self, msg: dict[str, Any]) -> dict[str, Any]:
        await self.send(msg)
        return await self.reply()

    async def pushed_message(self, timeout: float = 5.0) -> dict[str, Any]:
        if self.pushed:
            return self.pushed.pop(0)
        msg = await self.read(timeout)
        assert "event" in msg or "signal" in msg, msg
        return msg

    async def negotiate(self, explicit: bool = True) -> dict[str, Any]:
        greeting = await self.read()
        if explicit:
            assert await self.call({"execute": "set-explicit-handles"}) == {"return": {}}
        assert await self.call({"execute": "qmp_capabilities"}) == {"return": {}}
        return greeting

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, BrokenPipeError):
            pass


@pytest.fixture
def sock_path(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "qmp.sock"


@contextlib.asynccontextmanager
async def demo_server(path: Path, **kwargs: Any) -> AsyncIterator[tuple[Server, DemoBackend]]:
    """The demo server listening on *path* for the duration of the block."""
    server, backend = make_demo_server(**kwargs)
    await server.start_unix(path)
    try:
        yield server, backend
    finally:
        await server.close()


def serve_demo(path: Path) -> subprocess.Popen[bytes]:
    """``qobjects serve --demo`` in a subprocess, returned once it listens.

    Callers end it with ``proc.send_signal(...)`` then ``proc.communicate()``.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "qobjects", "serve", "--demo", "--unix", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()  # printed once the socket listens
    if b"serving" not in line:
        rest = proc.communicate(timeout=10)[1]
        raise AssertionError(f"qobjects serve did not start: {(line + rest).decode()}")
    return proc


QEMU = "qemu-system-x86_64"


def wait_connectable(path: Path, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Wait until a QMP Unix socket accepts connections (not just exists)."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"{QEMU} exited with status {proc.returncode}")
        if path.exists():
            with socket.socket(socket.AF_UNIX) as probe:
                try:
                    probe.connect(str(path))
                    return
                except OSError:
                    pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{QEMU} did not listen on {path} within {timeout:g} s")
        time.sleep(0.02)


@pytest.fixture
def qemu(tmp_path: Path) -> Iterator[Path]:
    """A real QEMU (paused, no accelerator) with two CD drives, QMP on a Unix socket."""
    if shutil.which(QEMU) is None:
        pytest.skip(f"{QEMU} is not installed (apt-get install qemu-system-x86; .ci/run installs it)")
    path = tmp_path / "qemu.sock"
    proc = subprocess.Popen(
        [
            QEMU, "-machine", "pc,accel=tcg", "-nodefaults", "-display", "none", "-S",
            "-qmp", f"unix:{path},server=on,wait=off",
            "-drive", "if=none,id=cd0,media=cdrom", "-device", "ide-cd,drive=cd0,id=cdrom0",
            "-drive", "if=none,id=cd1,media=cdrom", "-device", "ide-cd,drive=cd1,id=cdrom1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_connectable(path, proc)
        yield path
    finally:
        proc.kill()
        proc.wait(10)


# --- TLS: certificates made by a test CA ----------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_files(ca: trustme.CA, tmp_path: Path) -> Iterator[dict[str, Path]]:
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    files = {"cert": tmp_path / "server.pem", "key": tmp_path / "server.key", "ca": tmp_path / "ca.pem"}
    server_cert.cert_chain_pems[0].write_to_path(str(files["cert"]))
    for pem in server_cert.cert_chain_pems[1:]:
        pem.write_to_path(str(files["cert"]), append=True)
    server_cert.private_key_pem.write_to_path(str(files["key"]))
    ca.cert_pem.write_to_path(str(files["ca"]))
    yield files


def client_context(ca: trustme.CA, with_cert: bool) -> ssl.SSLContext:
    """A client's context trusting *ca*, with a client certificate if *with_cert*."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ca.configure_trust(ctx)
    if with_cert:
        ca.issue_cert("client@example.org").configure_cert(ctx)
    return ctx
