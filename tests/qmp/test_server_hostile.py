"""What a hostile or merely fast client could do to the server, each case on its own.

Every test here failed before the server learned to handle its case.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any, cast

import pytest

import qobjects
from qobjects import default_namespace
from qobjects.errors import GenericError
from qobjects.qmp.server import Server
from tests.qmp.conftest import RawClient, demo_server

HD = {"__handle__": "Blockdev", "data": "ide0-hd0"}
CD = {"__handle__": "Blockdev", "data": "ide1-cd0"}
Blockdev: Any = default_namespace().types["Blockdev"]
ACTIONS = ("ignore", "report", "stop")


async def _client(path: Path, explicit: bool = True) -> RawClient:
    c = await RawClient.open(path)
    await c.negotiate(explicit)
    return c


def _install_burst(server: Server, *, drain: bool = False) -> None:
    """``block_passwd password=N`` emits N IO_ERROR signals on ide0-hd0 (action cycles)."""
    if drain:

        @server.command("block_passwd")
        async def burst_drained(device: Any, password: str) -> None:
            emit = device.io_error.emit
            for i in range(int(password)):
                emit(operation="read", action=ACTIONS[i % 3])
                if i % 64 == 63:
                    await server.drain()

    else:

        @server.command("block_passwd")
        def burst(device: Any, password: str) -> None:
            emit = device.io_error.emit
            for i in range(int(password)):
                emit(operation="read", action=ACTIONS[i % 3])


async def _read_signals(c: RawClient, n: int) -> list[str]:
    """The actions of the next *n* signals; events are skipped."""
    actions: list[str] = []
    while len(actions) < n:
        msg = await c.read(20)
        if "signal" in msg:
            actions.append(msg["data"]["action"])
    return actions


# --- 1: a burst is not slowness ----------------------------------------------------------


def test_burst_reaches_every_reading_session_complete_and_in_order(sock_path: Path) -> None:
    n = 30_000

    async def main() -> None:
        async with demo_server(sock_path) as (server, _):
            _install_burst(server)
            clients = [await _client(sock_path) for _ in range(3)]
            for c in clients:
                await c.call({"connect": "IO_ERROR", "owner": HD})
            readers = [asyncio.ensure_future(_read_signals(c, n)) for c in clients]
            await clients[0].send(
                {"execute": "block_passwd", "arguments": {"device": HD, "password": str(n)}}
            )
            for got in await asyncio.gather(*readers):
                assert got == [ACTIONS[i % 3] for i in range(n)]
            assert server.sessions == 3
            for c in clients:
                await c.close()

    asyncio.run(main())


def test_drain_lets_an_emitter_pace_itself(sock_path: Path) -> None:
    n = 20_000

    async def main() -> None:
        # A cap far below the burst: only pacing on drain() gets it through.
        async with demo_server(sock_path, max_output=256 * 1024) as (server, _):
            _install_burst(server, drain=True)
            c = await _client(sock_path)
            await c.call({"connect": "IO_ERROR", "owner": HD})
            reader = asyncio.ensure_future(_read_signals(c, n))
            await c.send({"execute": "block_passwd", "arguments": {"device": HD, "password": str(n)}})
            assert await reader == [ACTIONS[i % 3] for i in range(n)]
            assert server.sessions == 1
            await c.close()

    asyncio.run(main())


def test_stopped_reader_cut_at_its_cap_on_a_message_boundary(
    sock_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cap = 200_000

    async def main() -> None:
        async with demo_server(sock_path, max_output=cap) as (server, _):
            _install_burst(server, drain=True)
            healthy = await _client(sock_path)
            await healthy.call({"connect": "IO_ERROR", "owner": HD})
            slow = await _client(sock_path)
            await slow.call({"connect": "IO_ERROR", "owner": HD})
            slow_transport = cast(asyncio.ReadTransport, slow.writer.transport)
            slow_transport.pause_reading()
            n = 5_000
            reader = asyncio.ensure_future(_read_signals(healthy, n))
            await healthy.send({"execute": "block_passwd", "arguments": {"device": HD, "password": str(n)}})
            assert len(await reader) == n
            assert server.sessions == 1  # the stopped reader is gone
            slow_transport.resume_reading()
            data = await asyncio.wait_for(slow.reader.read(), 10)  # everything up to EOF
            assert 0 < len(data) <= cap + (1 << 20)  # plus what the kernel buffers held
            assert data.endswith(b"\r\n")
            for line in data.split(b"\r\n")[:-1]:
                json.loads(line)
            await healthy.close()
            await slow.close()

    with caplog.at_level(logging.WARNING, logger="qobjects.qmp"):
        asyncio.run(main())
    assert any(r.levelno == logging.WARNING and "output" in r.getMessage() for r in caplog.records)


def test_server_wide_cap_cuts_the_largest_backlog(sock_path: Path) -> None:
    async def main() -> None:
        async with demo_server(sock_path, max_output=1 << 30, max_output_total=1_000_000) as (server, _):
            _install_burst(server)
            healthy = await _client(sock_path)
            slow = await _client(sock_path)
            for c in (healthy, slow):
                await c.call({"connect": "IO_ERROR", "owner": HD})
            cast(asyncio.ReadTransport, slow.writer.transport).pause_reading()
            for _ in range(100):  # 100 signals (and their events) are about 28 KB
                reader = asyncio.ensure_future(_read_signals(healthy, 100))
                await healthy.send(
                    {"execute": "block_passwd", "arguments": {"device": HD, "password": "100"}}
                )
                await reader
                await healthy.reply()
            assert server.sessions == 1
            assert (await healthy.call({"execute": "query-version", "id": 1}))["id"] == 1
            await healthy.close()
            await slow.close()

    asyncio.run(main())


# --- 3: non-finite numbers ----------------------------------------------------------------


def test_non_finite_numbers_get_an_answer_and_the_session_goes_on(sock_path: Path) -> None:
    async def main() -> None:
        async with demo_server(sock_path):
            c = await _client(sock_path)
            await c.send_raw(
                b'{"execute":"query-version","id":1}'
                b'{"execute":"query-version","id":1e400}'
                b'{"execute":"query-version","id":[-1e400]}'
                b'{"connect":"IO_ERROR","owner":{"__handle__":"Blockdev","data":"ide0-hd0"},'
                b'"user_data":[1e400],"id":4}'
                b'{"execute":"query-version","id":5}'
            )
            first = await c.reply()
            assert first["id"] == 1 and "return" in first
            for _ in range(2):
                r = await c.reply()
                assert "id" not in r and r["error"]["class"] == "GenericError"
                assert "'id'" in r["error"]["desc"] and "finite" in r["error"]["desc"]
            r = await c.reply()
            assert r["id"] == 4 and "user_data" in r["error"]["desc"]
            r = await c.reply()
            assert r["id"] == 5 and "return" in r
            await c.close()

    asyncio.run(main())


def test_non_finite_result_is_an_error_reply(sock_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        async with demo_server(sock_path) as (server, _):
            c = await _client(sock_path)
            server.version = {"qemu": {"major": float("inf"), "minor": 0, "micro": 0}, "package": ""}
            r = await c.call({"execute": "query-version", "id": 7})
            assert r["id"] == 7 and r["error"]["class"] == "GenericError"
            assert (await c.call({"execute": "query-block", "id": 8}))["id"] == 8
            await c.close()

    asyncio.run(main())
    assert any("query-version" in r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)


# --- 4: a finder that raises ----------------------------------------------------------------


def test_finder_that_raises_is_an_error_reply(sock_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        async with demo_server(sock_path) as (server, backend):
            plain_find = backend.find

            def find(name: str) -> Any:
                if name == "boom":
                    raise RuntimeError("finder exploded at /private/path")
                return plain_find(name)

            Blockdev.finder(find)
            try:
                c = await _client(sock_path)
                boom = {"__handle__": "Blockdev", "data": "boom"}
                r = await c.call({"connect": "IO_ERROR", "owner": boom, "id": 1})
                assert r["id"] == 1 and r["error"]["class"] == "GenericError"
                assert "/private/path" not in r["error"]["desc"]
                r = await c.call(
                    {"execute": "block_passwd", "arguments": {"device": "boom", "password": "x"}, "id": 2}
                )
                assert r["id"] == 2 and r["error"]["class"] == "GenericError"
                assert (await c.call({"execute": "query-block", "id": 3}))["id"] == 3
                assert server.sessions == 1
                await c.close()
            finally:
                Blockdev.finder(plain_find)

    asyncio.run(main())
    assert any("/private/path" in (r.exc_text or "") for r in caplog.records)


# --- 5: disconnect after the owner is gone --------------------------------------------------


def test_disconnect_after_the_owner_is_gone(sock_path: Path) -> None:
    async def main() -> None:
        async with demo_server(sock_path) as (server, backend):
            c = await _client(sock_path)
            cid = (await c.call({"connect": "TRAY_MOVED", "owner": CD}))["return"]
            cd = backend.devices.pop("ide1-cd0")
            try:
                r = await c.call({"disconnect": cid, "owner": CD, "id": 1})
                assert r == {"return": {}, "id": 1}
                assert cid not in server.connections
                r = await c.call({"disconnect": cid, "owner": CD, "id": 2})
                assert r["error"]["class"] == "GenericError"
            finally:
                backend.devices["ide1-cd0"] = cd
            await c.close()

    asyncio.run(main())


# --- 6: connect and disconnect pipelined ------------------------------------------------------


def test_connect_then_disconnect_before_the_reply_leaves_nothing(sock_path: Path) -> None:
    async def main() -> None:
        async with demo_server(sock_path) as (server, _):
            session = await qobjects.aconnect(sock_path)
            hd = session.get(Blockdev, "ide0-hd0")
            for _ in range(20):
                conn = hd.io_error.connect(lambda owner, operation, action: None)
                hd.io_error.disconnect(conn)  # before the connect's reply came back
            await session.flush()
            await asyncio.sleep(0.05)
            await session.query_version()
            assert server.connections == {}
            await session.close()

    asyncio.run(main())


# --- 7: dropping many connections is linear -------------------------------------------------


def test_dropping_40000_connections_does_not_freeze_the_server(sock_path: Path) -> None:
    n = 40_000

    async def main() -> None:
        async with demo_server(sock_path, max_connections=n) as (server, _):
            big = await _client(sock_path)
            request = json.dumps({"connect": "IO_ERROR", "owner": HD}).encode()
            await big.send_raw(request * n)
            for _ in range(n):
                await big.reply()
            assert len(server.connections) == n
            bystander = await _client(sock_path)
            (session,) = [s for s in server._sessions if len(s.remote) == n]
            t0 = time.perf_counter()
            session.close("test")
            dropped = time.perf_counter() - t0
            t0 = time.perf_counter()
            await bystander.call({"execute": "query-version"})
            round_trip = time.perf_counter() - t0
            assert server.connections == {}
            assert len(Blockdev.find("ide0-hd0").io_error.connections) == 0
            # Quadratic took over 10 s here; linear takes a few ms.
            assert dropped < 1.0, dropped
            assert round_trip < 1.0, round_trip
            await bystander.close()
            await big.close()

    asyncio.run(main())


# --- 8: caps on connections and user_data ---------------------------------------------------


def test_connection_and_user_data_caps(sock_path: Path) -> None:
    async def main() -> None:
        async with demo_server(sock_path, max_connections=5, max_user_data=1000) as (server, _):
            c = await _client(sock_path)
            for _ in range(5):
                assert "return" in await c.call({"connect": "IO_ERROR", "owner": HD})
            r = await c.call({"connect": "IO_ERROR", "owner": HD, "id": 1})
            assert r["error"]["class"] == "GenericError" and "5 connections" in r["error"]["desc"]
            cid = next(iter(server.connections))
            assert await c.call({"disconnect": cid, "owner": HD}) == {"return": {}}
            r = await c.call({"connect": "IO_ERROR", "owner": HD, "user_data": "x" * 1000, "id": 2})
            assert r["error"]["class"] == "GenericError" and "1000 bytes" in r["error"]["desc"]
            assert "return" in await c.call({"connect": "IO_ERROR", "owner": HD, "user_data": "x" * 990})
            await c.close()

    asyncio.run(main())


def test_default_caps() -> None:
    server = Server()
    assert server.max_connections == 10_000
    assert server.max_user_data == 64 * 1024
    assert server.max_output == 64 << 20
    assert server.max_pending == 8


# --- 9: reading pauses behind a running async command -----------------------------------------


def test_reading_pauses_while_requests_are_pending(sock_path: Path) -> None:
    async def main() -> None:
        async with demo_server(sock_path, max_pending=8) as (server, _):
            release = asyncio.Event()

            @server.command("block_passwd")
            async def held(device: Any, password: str) -> None:
                await release.wait()

            c = await _client(sock_path)
            await c.send({"execute": "block_passwd", "arguments": {"device": HD, "password": "x"}, "id": -1})
            await asyncio.sleep(0.05)
            one = b'{"execute":"query-version","id":1}'
            writer = asyncio.ensure_future(c.send_raw(one * 60_000))  # 2 MB
            await asyncio.sleep(0.5)
            (session,) = server._sessions
            # Paused: what waits is at most what one read carried, not all 60,000.
            assert session.pending <= 20_000, session.pending
            release.set()
            assert (await c.reply(20))["id"] == -1
            for _ in range(60_000):
                assert (await c.reply(20))["id"] == 1
            await writer
            await c.close()

    asyncio.run(main())


# --- 11: connection ids are no oracle ---------------------------------------------------------


def test_foreign_id_is_answered_as_an_unknown_id(sock_path: Path) -> None:
    async def main() -> None:
        async with demo_server(sock_path):
            a = await _client(sock_path)
            b = await _client(sock_path)
            foreign = (await a.call({"connect": "IO_ERROR", "owner": HD}))["return"]
            unknown = foreign + 1000
            r1 = await b.call({"disconnect": foreign, "owner": HD, "id": 1})
            r2 = await b.call({"disconnect": unknown, "owner": HD, "id": 1})
            assert r1["error"]["class"] == r2["error"]["class"]
            assert r1["error"]["desc"].replace(str(foreign), "N") == r2["error"]["desc"].replace(
                str(unknown), "N"
            )
            await a.close()
            await b.close()

    asyncio.run(main())


# --- 12: exception text stays in the server ---------------------------------------------------


def test_unexpected_exception_text_does_not_reach_the_client(
    sock_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        async with demo_server(sock_path) as (server, _):

            @server.command("eject")
            def leaky(device: Any, force: bool | None = None) -> None:
                raise OSError("cannot open /home/admin/secret.key")

            @server.command("blockdev-close-tray")
            def honest(device: Any) -> None:
                raise GenericError("the tray is stuck")

            c = await _client(sock_path)
            r = await c.call({"execute": "eject", "arguments": {"device": CD}})
            assert r["error"]["class"] == "GenericError"
            assert "secret" not in r["error"]["desc"] and "OSError" not in r["error"]["desc"]
            assert "eject" in r["error"]["desc"]
            r = await c.call({"execute": "blockdev-close-tray", "arguments": {"device": CD}})
            assert r["error"] == {"class": "GenericError", "desc": "the tray is stuck"}
            await c.close()

    asyncio.run(main())
    assert any("secret.key" in (r.exc_text or "") for r in caplog.records)


# --- 10: out of file descriptors ----------------------------------------------------------------

_FD_SERVER = """
import asyncio, logging, resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40))
logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
from qobjects.demo import make_demo_server

async def main():
    server, _ = make_demo_server()
    await server.start_unix(sys.argv[1])
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await server.close()

asyncio.run(main())
"""


def test_out_of_descriptors_one_line_a_second_and_recovery(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    path = tmp_path / "fd.sock"
    proc = subprocess.Popen(
        [sys.executable, "-c", _FD_SERVER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdin is not None and proc.stderr is not None
    try:
        assert proc.stdout.readline() == b"ready\n"

        def client() -> socket.socket:
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(5)
            s.connect(str(path))
            return s

        def round_trip(s: socket.socket, request: bytes) -> bytes:
            s.sendall(request)
            data = b""
            while not data.endswith(b"\r\n"):
                data += s.recv(65536)
            return data

        first = client()
        assert b"QMP" in first.recv(65536)
        assert b"return" in round_trip(first, b'{"execute":"qmp_capabilities"}')
        t0 = time.monotonic()
        crowd = [client() for _ in range(80)]  # far more than the 40 descriptors
        time.sleep(2.0)
        # The session that was there before still works.
        assert b"return" in round_trip(first, b'{"execute":"query-version"}')
        for s in crowd:
            s.close()
        time.sleep(0.5)
        late = client()
        assert b"QMP" in late.recv(65536)  # accepted again once descriptors are free
        seconds = time.monotonic() - t0
        late.close()
        first.close()
    finally:
        proc.stdin.close()  # the server closes
        err = proc.stderr.read().decode()
        proc.wait(20)
        proc.stdout.close()
        proc.stderr.close()
    lines = err.splitlines()
    assert "Traceback" not in err
    assert any("cannot accept new sessions" in line for line in lines), err
    assert len(lines) <= seconds + 2, lines


def test_a_failure_that_ends_a_session_still_sends_the_replies_before_it(
    sock_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qobjects.qmp._commands import Commands

    plain = Commands.execute

    def failing(self: Commands, session: Any, ev: Any) -> None:
        if ev.command == "query-commands":
            raise RuntimeError("a bug in the server")
        plain(self, session, ev)

    monkeypatch.setattr(Commands, "execute", failing)

    async def main() -> None:
        async with demo_server(sock_path) as (server, _):
            c = await _client(sock_path)
            await c.send_raw(b'{"execute":"query-version","id":1}{"execute":"query-commands","id":2}')
            assert (await c.reply())["id"] == 1
            with pytest.raises(EOFError):
                await c.reply()
            await c.close()

    asyncio.run(main())


@pytest.mark.parametrize(
    "name", ["max_output", "max_output_total", "max_connections", "max_user_data", "max_pending"]
)
@pytest.mark.parametrize("value", [0, -1, 1.5, "10"])
def test_a_limit_must_be_a_positive_integer(name: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"{name} must be a positive integer"):
        Server(**{name: value})  # type: ignore[arg-type]


def test_a_version_json_cannot_carry_ends_new_sessions_cleanly(
    sock_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        async with demo_server(sock_path) as (server, _):
            server.version = {"qemu": {"major": float("nan"), "minor": 0, "micro": 0}, "package": ""}
            reader, writer = await asyncio.open_unix_connection(str(sock_path))
            assert await asyncio.wait_for(reader.read(), 5) == b""  # closed, no half-open session
            writer.close()
            assert server.sessions == 0

    asyncio.run(main())
    assert any("no greeting" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
