"""Remote proxy mode against the demo server, in-process and as a subprocess."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import qobjects
from qobjects import (
    BoundSignal,
    CommandNotFound,
    ConnectionLost,
    GenericError,
    InvalidHandleValue,
    QMPError,
    SlotSignatureError,
    StateError,
    WrongType,
    default_namespace,
)
from qobjects.qmp.client import AsyncSession, Session, parse_address
from tests.qmp.conftest import demo_server, serve_demo

NS = default_namespace()
Blockdev: Any = NS.types["Blockdev"]
BlockInfo: Any = NS.types["BlockInfo"]


class ServerThread:
    """The demo server on its own event loop thread, for synchronous sessions."""

    def __init__(self, path: Path, **kw: Any) -> None:
        self.path = path
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.kw = kw
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            async with demo_server(self.path, **self.kw) as (server, backend):
                self.server, self.backend = server, backend
                self.stop = asyncio.Event()
                self.ready.set()
                await self.stop.wait()

        self.loop.run_until_complete(main())

    def call(self, fn: Any) -> Any:
        async def wrapper() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(10)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def server_thread(sock_path: Path) -> Any:
    st = ServerThread(sock_path)
    yield st
    st.close()


def wait_for(cond: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.005)


def test_parse_address() -> None:
    assert parse_address("unix:/tmp/x") == ("unix", "/tmp/x")
    assert parse_address("/tmp/x") == ("unix", "/tmp/x")
    assert parse_address("tcp:localhost:4444") == ("tcp", ("localhost", 4444))
    assert parse_address("tcp:[::1]:4444") == ("tcp", ("::1", 4444))
    for bad in ("tcp:host", "tcp:host:port", "tcp::1", "unix:", "tcp:h:99999", ""):
        with pytest.raises(ValueError):
            parse_address(bad)


def test_sync_session_commands(server_thread: ServerThread) -> None:
    with qobjects.connect(server_thread.path) as s:
        assert isinstance(s, Session)
        assert s.explicit
        infos = s.query_block()
        assert [type(i) for i in infos] == [BlockInfo, BlockInfo]
        hd = infos[0].device
        assert isinstance(hd, Blockdev) and hd.value == "ide0-hd0"
        assert hd.session is s and hd.target is None
        assert s.block_passwd(device=hd, password="pw") is None
        assert server_thread.backend.devices["ide0-hd0"].password == "pw"
        assert s.execute("query-block") == infos
        with pytest.raises(WrongType, match="got int"):
            s.block_passwd(device=hd, password=5)
        with pytest.raises(GenericError, match="not removable") as exc:
            s.blockdev_open_tray(device=hd)
        assert exc.value.error_class == "GenericError"
        ghost = s.get(Blockdev, "ghost")
        with pytest.raises(InvalidHandleValue) as exc2:
            s.eject(device=ghost)
        assert exc2.value.error_class == "InvalidHandleValue"
        raw = s.execute("query-version")
        assert raw.__class__.__name__ == "VersionInfo" or isinstance(raw, (dict, object))
        with pytest.raises(CommandNotFound):
            s.execute("no-such-command")
        with pytest.raises(AttributeError):
            s.no_such_command  # noqa: B018


def test_same_slot_semantics_remote(server_thread: ServerThread) -> None:
    got: list[Any] = []
    with qobjects.connect(server_thread.path) as s:
        hd, cd = (i.device for i in s.query_block())
        bound: BoundSignal = hd.io_error

        @bound.connect
        def on_error(owner: Any, operation: Any, action: Any) -> None:
            got.append(("full", owner, operation, action))

        assert isinstance(on_error.id, int)
        assert on_error.id in server_thread.server.connections
        hd.io_error.connect(lambda owner, action: got.append(("short", action)))
        hd.io_error.connect(lambda owner, **kw: got.append(("kw", sorted(kw))))
        hd.io_error.connect(lambda owner, action: got.append(("once", action)), once=True)
        with pytest.raises(SlotSignatureError):
            hd.io_error.connect(lambda owner, bogus: None)  # type: ignore[call-overload]
        s.x_inject_io_error(device=cd, operation="read", action="stop")  # other owner: silent
        s.x_inject_io_error(device=hd, operation="write", action="report")
        s.x_inject_io_error(device=hd, operation="read", action="ignore")
        wait_for(lambda: len(got) >= 7)
        time.sleep(0.05)
        assert got[0] == ("full", hd, "write", "report")
        IoOperationType: Any = NS.types["IoOperationType"]
        assert got[0][2] is IoOperationType.write
        assert ("short", "report") in got and ("once", "report") in got
        assert ("once", "ignore") not in got
        assert ("kw", ["action", "operation"]) in got
        assert len(got) == 7
        hd.io_error.disconnect(on_error)
        assert on_error.id not in server_thread.server.connections
        got.clear()
        with hd.io_error.blocked():
            s.x_inject_io_error(device=hd, operation="read", action="stop")
        s.query_block()  # a round trip: any push would have arrived
        time.sleep(0.05)
        assert got == []
        with pytest.raises(StateError, match="emitted by its server"):
            hd.io_error.emit(operation="read", action="stop")


def test_failing_remote_slot_is_logged_and_session_goes_on(
    server_thread: ServerThread, caplog: pytest.LogCaptureFixture
) -> None:
    got: list[str] = []
    with qobjects.connect(server_thread.path) as s:
        cd = s.get(Blockdev, "ide1-cd0")

        def bad(owner: Any, tray_open: bool) -> None:
            raise RuntimeError("slot broke")

        cd.tray_moved.connect(bad)
        cd.tray_moved.connect(lambda o, tray_open: got.append(f"tray {tray_open}"))
        s.blockdev_open_tray(device=cd)
        s.blockdev_close_tray(device=cd)
        wait_for(lambda: len(got) == 2)
        assert got == ["tray True", "tray False"]
        assert any("slot" in r.getMessage() for r in caplog.records)
        assert len(s.query_block()) == 2


def test_unknown_owner_at_connect(server_thread: ServerThread) -> None:
    with qobjects.connect(server_thread.path) as s:
        ghost = s.get(Blockdev, "ghost")
        with pytest.raises(InvalidHandleValue):
            ghost.io_error.connect(lambda o: None)
        assert ghost.io_error.connections == ()
        with pytest.raises(InvalidHandleValue):
            s.get(Blockdev, 5)


def test_async_session(sock_path: Path) -> None:
    async def main() -> None:
        async with demo_server(sock_path) as (server, backend):
            async with await qobjects.aconnect(f"unix:{sock_path}") as s:
                assert isinstance(s, AsyncSession)
                hd, cd = (i.device for i in await s.query_block())
                got: list[Any] = []
                done = asyncio.Event()

                async def slot(owner: Any, tray_open: bool) -> None:
                    await asyncio.sleep(0)
                    got.append((owner.value, tray_open))
                    done.set()

                conn = cd.tray_moved.connect(slot)
                await s.flush()
                assert conn.id in server.connections
                await s.blockdev_open_tray(device=cd)
                await asyncio.wait_for(done.wait(), 5)
                assert got == [("ide1-cd0", True)]
                cd.tray_moved.disconnect(conn)
                await s.flush()
                assert conn.id not in server.connections
                assert await s.execute("query-version") is not None

    asyncio.run(main())


def test_lost_connection_fails_pending_calls(sock_path: Path) -> None:
    async def main() -> None:
        async with demo_server(sock_path) as (server, backend):

            @server.command("block_passwd")
            async def hang(device: Any, password: str) -> None:
                await asyncio.sleep(30)

            s = await qobjects.aconnect(sock_path)
            hd = s.get(Blockdev, "ide0-hd0")
            call = asyncio.ensure_future(s.block_passwd(device=hd, password="x"))
            await asyncio.sleep(0.05)
            for sess in list(server._sessions):
                sess.close("test")
            with pytest.raises(ConnectionLost):
                await call
            with pytest.raises(ConnectionLost):
                await s.query_block()
            await s.close()

    asyncio.run(main())


def test_connect_to_missing_socket(tmp_path: Path) -> None:
    with pytest.raises(ConnectionLost, match="cannot connect"):
        qobjects.connect(tmp_path / "none.sock")


async def canned_server(path: Path, replies: list[object]) -> asyncio.AbstractServer:
    """A bare QMP server: negotiation, then the canned replies in order."""

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b'{"QMP": {"version": {}, "capabilities": []}}\r\n')
        queue = list(replies)
        while line := await reader.readline():
            msg = json.loads(line)
            if msg["execute"] in ("set-explicit-handles", "qmp_capabilities"):
                reply: object = {"return": {}, "id": msg["id"]}
            else:
                reply = {"return": queue.pop(0), "id": msg["id"]}
            writer.write(json.dumps(reply).encode() + b"\r\n")
        writer.close()
        await writer.wait_closed()

    return await asyncio.start_unix_server(session, str(path))


def test_unknown_reply_members_ignored_missing_required_rejected(sock_path: Path) -> None:
    newer = [
        {
            "device": {"__handle__": "Blockdev", "data": "hd"},
            "type": "hd",
            "removable": False,
            "locked": False,
            "new-member": 1,
        }
    ]
    older = [{"type": "hd"}]

    async def main() -> None:
        server = await canned_server(sock_path, [newer, older])
        async with await qobjects.aconnect(sock_path) as s:
            infos = await s.query_block()
            assert infos[0].device == s.get(Blockdev, "hd")
            with pytest.raises(qobjects.MissingMember, match="device"):
                await s.query_block()
        await asyncio.sleep(0.05)  # the server side sees EOF and closes
        server.close()
        await server.wait_closed()

    asyncio.run(main())


def test_reconnect_restores_connections(tmp_path: Path) -> None:
    path = tmp_path / "serve.sock"

    proc = serve_demo(path)
    states: list[str] = []
    got: list[Any] = []
    try:
        with qobjects.connect(path, reconnect=True) as s:
            s.state_changed.connect(lambda session, state: states.append(state))
            hd, cd = (i.device for i in s.query_block())
            c1 = hd.io_error.connect(lambda o, action: got.append(("hd", action)))
            c2 = cd.tray_moved.connect(lambda o, tray_open: got.append(("cd", tray_open)))
            old_ids = (c1.id, c2.id)
            s.x_inject_io_error(device=hd, operation="read", action="stop")
            wait_for(lambda: len(got) == 1)
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=10)
            wait_for(lambda: "disconnected" in states)
            with pytest.raises(ConnectionLost):
                s.query_block()
            proc = serve_demo(path)
            wait_for(lambda: "reconnected" in states, 15)
            s.x_inject_io_error(device=hd, operation="read", action="report")
            s.blockdev_open_tray(device=cd)
            wait_for(lambda: len(got) == 3)
            assert got == [("hd", "stop"), ("hd", "report"), ("cd", True)]
            assert (c1.id, c2.id) == old_ids
            hd.io_error.disconnect(c1)  # still works with the new server ids
            s.x_inject_io_error(device=hd, operation="read", action="report")
            s.query_block()
            time.sleep(0.05)
            assert len(got) == 3
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    assert not path.exists()


def test_serve_subprocess_with_sync_client(tmp_path: Path) -> None:
    path = tmp_path / "sub.sock"
    proc = serve_demo(path)
    try:
        with qobjects.connect(f"unix:{path}") as s:
            assert len(s.query_block()) == 2
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert b"Traceback" not in err


# --- real QEMU ---------------------------------------------------------------------


def test_real_qemu_compatibility_mode(qemu: Path) -> None:
    got: list[Any] = []
    other: list[Any] = []
    with qobjects.connect(qemu, namespace=NS) as s:  # the bundled schema's classes
        assert not s.explicit
        infos = s.query_block()
        names = [i.device.value for i in infos]
        assert names == ["cd0", "cd1"]
        cd0, cd1 = (i.device for i in infos)
        assert isinstance(cd0, Blockdev)
        conn = cd0.tray_moved.connect(lambda owner, tray_open: got.append((owner, tray_open)))
        cd1.tray_moved.connect(lambda owner, tray_open: other.append(tray_open))
        assert isinstance(conn.id, int)
        s.blockdev_open_tray(device=cd0)
        wait_for(lambda: got)
        assert got == [(cd0, True)]
        assert other == []
        with pytest.raises(QMPError) as exc:
            s.blockdev_open_tray(device=s.get(Blockdev, "nope"))
        assert exc.value.error_class == "DeviceNotFound"
        assert type(exc.value).__name__ == "DeviceNotFound"
        status = s.execute("query-status")
        assert status["running"] is False
        cd0.tray_moved.disconnect(conn)
        s.blockdev_close_tray(device=cd0)
        s.query_block()
        time.sleep(0.2)
        assert got == [(cd0, True)]


def test_real_qemu_unmapped_signal_is_refused(qemu: Path, tmp_path: Path) -> None:
    schema = tmp_path / "s.json"
    schema.write_text(
        "{ 'handle': 'Blockdev', 'data': 'str' }\n{ 'signal': 'WOBBLE', 'owner': 'Blockdev' }\n"
    )
    with qobjects.connect(qemu, schema=schema) as s:
        dev: Any = s.get(s.namespace.handles["Blockdev"], "cd0")
        with pytest.raises(StateError, match="no event mapping"):
            dev.wobble.connect(lambda o: None)


def _plain_qmp_server(path: Path, seen: list[tuple[str, bool]]) -> threading.Thread:
    """A plain QMP server greeting like QEMU, for one client, that answers only
    once it holds both negotiation requests and the schema query: a client
    that waits for each reply never connects."""
    import socket

    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen(1)

    def serve() -> None:
        conn, _ = listener.accept()
        listener.close()
        with conn:
            conn.sendall(b'{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, '
                         b'"package": ""}, "capabilities": []}}\r\n')  # fmt: skip
            conn.settimeout(5)
            buf = b""
            while buf.count(b"\n") < 3:  # all three, before any reply
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
            replies = []
            for line in buf.splitlines():
                msg = json.loads(line)
                seen.append((msg["execute"], True))
                if msg["execute"] == "set-explicit-handles":
                    refused = {"class": "CommandNotFound", "desc": "Expecting capabilities negotiation "
                               "with 'qmp_capabilities'"}  # fmt: skip
                    replies.append({"error": refused, "id": msg["id"]})
                elif msg["execute"] == "qmp_capabilities":
                    replies.append({"return": {}, "id": msg["id"]})
                else:
                    missing = {"class": "CommandNotFound", "desc": "not here"}
                    replies.append({"error": missing, "id": msg["id"]})
            conn.sendall(b"".join(json.dumps(reply).encode() + b"\r\n" for reply in replies))
            for line in conn.makefile("rb"):
                msg = json.loads(line)
                seen.append((msg["execute"], False))
                reply = {"error": {"class": "CommandNotFound", "desc": "not here"}, "id": msg["id"]}
                conn.sendall(json.dumps(reply).encode() + b"\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_negotiation_is_one_round_trip(tmp_path: Path, kind: str) -> None:
    seen: list[tuple[str, bool]] = []
    path = tmp_path / "plain.sock"
    thread = _plain_qmp_server(path, seen)
    if kind == "sync":
        with qobjects.connect(path, timeout=5) as s:
            assert not s.explicit
    else:

        async def main() -> None:
            async with await qobjects.aconnect(path, timeout=5) as s:
                assert not s.explicit

        asyncio.run(main())
    thread.join(5)
    # Both negotiation requests and, as the greeting is QEMU's, the schema
    # query in one go (refused here: the session keeps the bundled schema).
    assert seen == [("set-explicit-handles", True), ("qmp_capabilities", True), ("query-qmp-schema", True)]
