"""Where a server listens: Unix socket paths, TCP hosts, TLS (certificates made here)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
import trustme

from qobjects.qmp.server import Server
from tests.qmp.conftest import client_context


async def _greeting(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.readline(), 5)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()


# --- Unix socket paths ----------------------------------------------------------------------


def test_unix_path_in_use_or_not_a_socket_is_refused_a_stale_socket_replaced(tmp_path: Path) -> None:
    async def main() -> None:
        plain = tmp_path / "file"
        plain.write_text("mine")
        with pytest.raises(OSError, match="already exists and is not a socket") as info:
            await Server().start_unix(plain)
        assert info.value.errno == errno.EEXIST and plain.read_text() == "mine"

        stale = tmp_path / "stale.sock"
        dead = socket.socket(socket.AF_UNIX)
        dead.bind(str(stale))  # bound, never listening: what a killed server leaves
        dead.close()
        async with Server() as live:
            await live.start_unix(stale)  # replaced
            reader, writer = await asyncio.open_unix_connection(str(stale))
            assert b"QMP" in await _greeting(reader)
            with pytest.raises(OSError, match="in use by a running server") as info:
                await Server().start_unix(stale)
            assert info.value.errno == errno.EADDRINUSE
            # The live server still answers on its path.
            reader2, writer2 = await asyncio.open_unix_connection(str(stale))
            assert b"QMP" in await _greeting(reader2)
            await _close(writer)
            await _close(writer2)

    asyncio.run(main())


# --- TCP hosts --------------------------------------------------------------------------------


def test_a_host_other_than_loopback_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        async with Server() as server:
            await server.start_tcp("127.0.0.1", 0)
            await server.start_tcp("0.0.0.0", 0)

    with caplog.at_level(logging.INFO, logger="qobjects.qmp.server"):
        asyncio.run(main())
    levels = {
        r.getMessage().split(":")[1]: r.levelno
        for r in caplog.records
        if "listening on tcp" in r.getMessage()
    }
    assert levels == {"127.0.0.1": logging.INFO, "0.0.0.0": logging.WARNING}
    warning = next(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "no authentication" in warning


def _serve(*args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "qobjects", "serve", "--demo", *args],
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    rest = proc.communicate(timeout=10)[1]
    assert proc.returncode == 0, rest
    return rest


def test_serve_bare_port_listens_on_loopback() -> None:
    proc = _serve("--tcp", "0")
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert line.startswith("qobjects serve: serving the demo on tcp:127.0.0.1:"), line
    finally:
        _stop(proc)


@pytest.mark.parametrize(
    ("args", "status", "text"),
    [
        (["--tcp", "0:4444"], 2, "name the address"),
        (["--tcp", ":4444"], 2, "bad --tcp value"),
        (["--unix", "x.sock", "--tls-cert", "c.pem"], 2, "go with --tcp"),
        (["--tcp", "0", "--tls-key", "k.pem"], 2, "needs --tls-cert"),
        (["--tcp", "0", "--tls-cert", "/no/such.pem"], 1, "cannot load the TLS files"),
        (["--tcp", "0", "--max-connections", "0"], 2, "positive integer"),
    ],
)
def test_serve_refuses_bad_listening_options(args: list[str], status: int, text: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "qobjects", "serve", "--demo", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == status, proc.stderr
    assert text in proc.stderr and "Traceback" not in proc.stderr


def test_serve_takes_every_limit(tmp_path: Path) -> None:
    path = tmp_path / "limits.sock"
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "qobjects", "serve", "--demo", "--unix", str(path),
            "--max-connections", "1", "--max-user-data", "10", "--max-output", "100000",
            "--max-output-total", "1000000", "--max-pending", "2", "--max-message-size", "4096",
            "--backlog", "5",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None and "serving" in proc.stderr.readline()
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(5)
        s.connect(str(path))
        owner = b'{"__handle__": "Blockdev", "data": "ide0-hd0"}'
        s.sendall(
            b'{"execute": "set-explicit-handles"}{"execute": "qmp_capabilities"}'
            b'{"connect": "IO_ERROR", "owner": ' + owner + b', "user_data": "0123456789"}'
            b'{"connect": "IO_ERROR", "owner": ' + owner + b"}"
            b'{"connect": "IO_ERROR", "owner": ' + owner + b"}"
            b'{"execute": "query-version", "id": "' + b"x" * 5000 + b'"}'
        )
        data = b""
        while data.count(b"\r\n") < 7:
            data += s.recv(65536)
        replies = data.split(b"\r\n")[1:7]
        assert b"max_user_data" in replies[2]
        assert b'"return"' in replies[3]
        assert b"max_connections" in replies[4]
        assert b"size limit" in replies[5]
        s.close()
    finally:
        _stop(proc)


# --- TLS ------------------------------------------------------------------------------------------


def test_tls_server_with_client_certificates(ca: trustme.CA, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
        ca.configure_trust(server_ctx)
        server_ctx.verify_mode = ssl.CERT_REQUIRED
        async with Server() as server:
            port = await server.start_tcp("127.0.0.1", 0, ssl=server_ctx)
            # Without a client certificate: refused, and the server goes on.
            with pytest.raises((ssl.SSLError, ConnectionError, asyncio.IncompleteReadError)):
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", port, ssl=client_context(ca, with_cert=False)
                )
                try:
                    await _greeting(reader)
                    if not (await reader.read()):
                        raise ConnectionError("closed")
                finally:
                    await _close(writer)
            # Plain TCP against TLS: no greeting in clear.
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b'{"execute": "qmp_capabilities"}\n')
            assert b"QMP" not in await asyncio.wait_for(reader.read(), 5)
            await _close(writer)
            # With one: a normal session.
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_context(ca, True))
            assert b"QMP" in await _greeting(reader)
            writer.write(b'{"execute": "qmp_capabilities", "id": 1}')
            assert await _greeting(reader) == b'{"return":{},"id":1}\r\n'
            assert server.sessions == 1
            await _close(writer)

    asyncio.run(main())


def test_serve_with_tls(ca: trustme.CA, tls_files: dict[str, Path]) -> None:
    proc = _serve(
        "--tcp", "127.0.0.1:0",
        "--tls-cert", str(tls_files["cert"]), "--tls-key", str(tls_files["key"]),
        "--tls-ca", str(tls_files["ca"]),
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert line.rstrip().endswith("(TLS)"), line
        port = int(line.split(":")[-1].split()[0])

        async def main() -> bytes:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_context(ca, True))
            greeting = await _greeting(reader)
            await _close(writer)
            return greeting

        assert b"QMP" in asyncio.run(main())
    finally:
        rest = _stop(proc)
    assert "Traceback" not in rest


def test_every_limit_is_documented_with_its_default() -> None:
    from qobjects.qmp.server import LIMITS

    root = Path(__file__).resolve().parents[2]
    protocol = (root / "docs" / "protocol.md").read_text()
    cli = (root / "docs" / "cli.md").read_text()
    for name, (default, _) in LIMITS.items():
        assert f"| `{name}` |" in protocol, name
        option = "--" + name.replace("_", "-")
        row = next((line for line in cli.splitlines() if line.startswith(f"| `{option} N` |")), None)
        assert row is not None, option
        if name != "backlog":  # the system's value
            assert f"| {default} " in row, (row, default)
