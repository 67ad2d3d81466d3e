"""The client's API against the demo server: timeouts, listen(), slots, leaks, run state."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import threading
import time
import warnings
import weakref
from pathlib import Path
from typing import Any

import pytest

import qobjects
from qobjects import ConnectionLost, SlotError, StateError, default_namespace
from qobjects.qmp.asession import AsyncSession
from qobjects.qmp.client import EventMessage, Runstate, Session, aconnect, connect
from tests.qmp.conftest import demo_server
from tests.qmp.test_client import ServerThread, wait_for

NS = default_namespace()
Blockdev: Any = NS.types["Blockdev"]
IoOperationType: Any = NS.types["IoOperationType"]


@pytest.fixture
def server_thread(sock_path: Path) -> Any:
    st = ServerThread(sock_path)
    yield st
    st.close()


def slow_passwd(st: ServerThread, delay: float) -> None:
    """Make the server's block_passwd answer after *delay* seconds."""

    def install() -> None:
        @st.server.command("block_passwd")
        async def slow(device: Any, password: str) -> None:
            await asyncio.sleep(delay)

    st.call(install)


# --- timeouts ------------------------------------------------------------------------


def test_sync_timeouts_default_and_per_call_late_reply_dropped(server_thread: ServerThread) -> None:
    slow_passwd(server_thread, 1.0)
    with connect(server_thread.path, timeout=0.5) as s:
        assert s.timeout == 0.5
        hd = s.get(Blockdev, "ide0-hd0")
        with pytest.raises(TimeoutError, match=r"no reply to 'block_passwd'.*within 0\.5 s"):
            s.block_passwd(device=hd, password="x")
        # The late reply arrives meanwhile and is dropped; the session goes on.
        time.sleep(0.8)
        assert next(i.device for i in s.query_block()) is hd
        with pytest.raises(TimeoutError, match=r"within 0\.05 s"):
            s.execute("block_passwd", device=hd, password="x", timeout=0.05)
        assert s.execute("block_passwd", {"device": hd, "password": "y"}, timeout=2) is None
        assert s.execute("query-version", timeout=None) is not None
        assert s.connected and s.runstate is Runstate.RUNNING


def test_async_timeouts(sock_path: Path) -> None:
    async def main() -> None:
        async with demo_server(sock_path) as (server, _):

            @server.command("block_passwd")
            async def slow(device: Any, password: str) -> None:
                await asyncio.sleep(1.0)

            async with await aconnect(sock_path, timeout=0.5) as s:
                hd = s.get(Blockdev, "ide0-hd0")
                with pytest.raises(TimeoutError, match="no reply to 'block_passwd'"):
                    await s.block_passwd(device=hd, password="x")
                await asyncio.sleep(0.8)
                assert len(await s.query_block()) == 2
                assert await s.execute("block_passwd", device=hd, password="x", timeout=5) is None
                with pytest.raises(TimeoutError):
                    await s.execute_raw("block_passwd", {"device": "ide0-hd0", "password": "x"}, timeout=0.05)
                await asyncio.sleep(1.0)  # the server answers in order: let it finish
                assert len(await s.query_block()) == 2

    asyncio.run(main())


def test_bad_timeout_is_refused(server_thread: ServerThread) -> None:
    with pytest.raises(ValueError, match="timeout must be positive"):
        connect(server_thread.path, timeout=0)


def test_silent_server_times_out_the_greeting(tmp_path: Path) -> None:
    import socket

    path = tmp_path / "mute.sock"
    with socket.socket(socket.AF_UNIX) as mute:
        mute.bind(str(path))
        mute.listen()
        t0 = time.monotonic()
        with pytest.raises(TimeoutError, match="greeting"):
            connect(path, timeout=0.2)
        assert time.monotonic() - t0 < 2


# --- listen() -----------------------------------------------------------------------


def test_sync_listen_filters_decodes_and_is_removed(server_thread: ServerThread) -> None:
    with connect(server_thread.path) as s:
        hd, cd = (i.device for i in s.query_block())
        everything = s.listen()
        with s.listen("BLOCK_IO_ERROR") as errors:
            s.blockdev_open_tray(device=cd)  # another event: filtered out
            s.x_inject_io_error(device=hd, operation="read", action="stop")
            event = errors.get(timeout=5)
            assert isinstance(event, EventMessage)
            assert event.name == "BLOCK_IO_ERROR"
            assert event["device"] == hd.value
            assert event.data["operation"] is IoOperationType.read  # the schema's enum
            assert event.raw is not None and event.raw["operation"] == "read"
            with pytest.raises(TimeoutError):
                errors.get(timeout=0.1)
        assert errors.closed
        assert list(errors) == []  # iteration ends once removed
        names = [everything.get(timeout=5).name for _ in range(2)]
        assert names == ["DEVICE_TRAY_MOVED", "BLOCK_IO_ERROR"]
        s.remove_listener(everything)  # by handle
        with pytest.raises(LookupError):
            s.remove_listener(everything)
        s.x_inject_io_error(device=hd, operation="read", action="stop")
        s.query_block()
        assert list(everything) == []


def test_sync_listen_iterates_until_the_session_closes(server_thread: ServerThread) -> None:
    s = connect(server_thread.path)
    hd = s.get(Blockdev, "ide0-hd0")
    got: list[str] = []
    listener = s.listen("BLOCK_IO_ERROR")

    def consume() -> None:
        for event in listener:
            got.append(event.data["action"].value)

    thread = threading.Thread(target=consume)
    thread.start()
    for action in ("stop", "report"):
        s.x_inject_io_error(device=hd, operation="write", action=action)
    wait_for(lambda: len(got) == 2)
    s.close()
    thread.join(5)
    assert not thread.is_alive()
    assert got == ["stop", "report"]


def test_async_listen(sock_path: Path) -> None:
    async def main() -> None:
        async with demo_server(sock_path):
            async with await aconnect(sock_path) as s:
                hd, cd = (i.device for i in await s.query_block())
                async with s.listen("DEVICE_TRAY_MOVED") as trays:
                    await s.x_inject_io_error(device=hd, operation="read", action="stop")
                    await s.blockdev_open_tray(device=cd)
                    async for event in trays:
                        assert event.name == "DEVICE_TRAY_MOVED"
                        assert event["device"] == cd.value and event["tray_open"] is True
                        break
                assert trays.closed
                with pytest.raises(StopAsyncIteration):
                    await trays.get()
                callback = s.add_event_listener(lambda name, data, ts: None)
                s.remove_listener(callback)
                with pytest.raises(LookupError):
                    s.remove_listener(callback)

    asyncio.run(main())


def test_listener_limit(server_thread: ServerThread, caplog: pytest.LogCaptureFixture) -> None:
    with connect(server_thread.path) as s:
        hd = s.get(Blockdev, "ide0-hd0")
        with pytest.raises(ValueError, match="max_queued"):
            s.listen(max_queued=0)
        with s.listen("BLOCK_IO_ERROR", max_queued=2) as events:
            for action in ("stop", "report", "ignore"):
                s.x_inject_io_error(device=hd, operation="read", action=action)
            wait_for(lambda: events.dropped == 1)
            assert [events.get(1)["action"].value for _ in range(2)] == ["report", "ignore"]
        assert "event listener full" in caplog.text


# --- the sync Session is complete -------------------------------------------------


def test_sync_session_has_the_async_sessions_names() -> None:
    def public(cls: type) -> set[str]:
        return {n for n in dir(cls) if not n.startswith("_")}

    assert public(AsyncSession) - {"loop"} == public(Session)
    probe = Session("unix:/nowhere", NS)
    assert {n for n in vars(probe) if not n.startswith("_")} == {
        n for n in vars(AsyncSession("unix:/nowhere", NS)) if not n.startswith("_") and n != "loop"
    }


def test_sync_session_complete(server_thread: ServerThread) -> None:
    with connect(server_thread.path) as s:
        assert s.namespace is NS
        assert s.greeting is not None and s.greeting.version["qemu"]["major"] >= 0
        assert s.connected and s.explicit and not s.oob
        raw = s.execute_raw("query-block")
        assert isinstance(raw, list) and raw[0]["device"] == {"__handle__": "Blockdev", "data": "ide0-hd0"}
        s.flush()
        assert "running" in repr(s)
    assert not s.connected and s.runstate is Runstate.CLOSED
    with pytest.raises(ConnectionLost, match="closed; open a new one"):
        s.query_block()
    s.close()  # idempotent


def test_failed_connect_leaves_the_session_idle(tmp_path: Path) -> None:
    session = Session(tmp_path / "nobody.sock", NS)
    with pytest.raises(ConnectionLost, match="cannot connect"):
        session._start()
    assert session.runstate is Runstate.IDLE
    with pytest.raises(ConnectionLost, match=r"not connected.*use connect"):
        session.query_block()


def test_oob_needs_the_servers_capability(server_thread: ServerThread) -> None:
    with connect(server_thread.path) as s:
        with pytest.raises(StateError, match="does not offer out-of-band execution"):
            s.execute("query-version", oob=True)


def test_fds_are_checked(server_thread: ServerThread) -> None:
    with connect(server_thread.path) as s:
        with pytest.raises(ValueError, match="not an open file descriptor"):
            s.execute_raw("getfd", {"fdname": "x"}, fds=[987654])
        assert s.connected


# --- slots ---------------------------------------------------------------------------


def test_failing_slot_reported_on_stderr_and_logged(
    server_thread: ServerThread, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    got: list[bool] = []
    with connect(server_thread.path) as s:
        cd = s.get(Blockdev, "ide1-cd0")

        def broken(owner: Any, tray_open: bool) -> None:
            raise ZeroDivisionError("1/0 in a slot")

        cd.tray_moved.connect(broken)
        cd.tray_moved.connect(lambda owner, tray_open: got.append(tray_open))
        s.blockdev_open_tray(device=cd)
        wait_for(lambda: got == [True])
        wait_for(lambda: "ZeroDivisionError" in capsys.readouterr().err or "broken" in caplog.text)
        assert "1/0 in a slot" in caplog.text

        taken: list[SlotError] = []
        s.slot_error = taken.append
        s.blockdev_close_tray(device=cd)
        wait_for(lambda: len(taken) == 1)
        assert isinstance(taken[0].exceptions[0], ZeroDivisionError)
        assert "ZeroDivisionError" not in capsys.readouterr().err


def test_slot_can_call_the_session_in_emission_order(server_thread: ServerThread) -> None:
    seen: list[tuple[str, int]] = []
    with connect(server_thread.path) as s:
        hd = s.get(Blockdev, "ide0-hd0")
        main = threading.get_ident()

        def slot(owner: Any, operation: Any, action: Any) -> None:
            assert threading.get_ident() != main
            # A command from a slot: the dispatcher is not the reader.
            seen.append((action.value, len(s.query_block())))

        hd.io_error.connect(slot)
        actions = ["stop", "report", "ignore", "stop", "report"]
        for action in actions:
            s.x_inject_io_error(device=hd, operation="read", action=action)
        wait_for(lambda: len(seen) == len(actions))
        assert seen == [(a, 2) for a in actions]


def test_state_changed_holds_lambdas_strongly(server_thread: ServerThread) -> None:
    states: list[tuple[object, str]] = []
    s = connect(server_thread.path)
    s.state_changed.connect(lambda session, state: states.append((session, state)))

    class Watcher:
        def on_state(self, session: object, state: str) -> None:
            states.append((self, state))

    watcher = Watcher()
    s.state_changed.connect(watcher.on_state)
    del watcher
    gc.collect()  # a bound method is held weakly, as everywhere in qobjects
    assert len(s.state_changed) == 1
    s.close()
    wait_for(lambda: states == [(s, "closed")])
    with pytest.raises(TypeError, match="not callable"):
        s.state_changed.connect(5)  # type: ignore[call-overload]


# --- class-level connect across the wire ---------------------------------------------


def test_class_level_slot_hears_every_owner_of_every_session(server_thread: ServerThread) -> None:
    got: list[tuple[Any, str]] = []
    with connect(server_thread.path) as a, connect(server_thread.path) as b:

        def slot(owner: Any, action: Any) -> None:
            if owner.session is not None:  # the server runs in this process: skip its local emissions
                got.append((owner, action.value))

        conn = Blockdev.io_error.connect(slot)
        try:
            a.x_inject_io_error(device=a.get(Blockdev, "ide0-hd0"), operation="read", action="stop")
            b.x_inject_io_error(device=b.get(Blockdev, "ide1-cd0"), operation="read", action="report")
            wait_for(lambda: len(got) == 4)
            assert sorted((o.session is a, o.value, act) for o, act in got) == [
                (False, "ide0-hd0", "stop"),
                (False, "ide1-cd0", "report"),
                (True, "ide0-hd0", "stop"),
                (True, "ide1-cd0", "report"),
            ]
        finally:
            Blockdev.io_error.disconnect(conn)


def test_class_level_connect_to_a_signal_without_event_is_refused(
    server_thread: ServerThread, tmp_path: Path
) -> None:
    schema = tmp_path / "s.json"
    schema.write_text(
        "{ 'handle': 'Blockdev', 'data': 'str' }\n{ 'signal': 'WOBBLE', 'owner': 'Blockdev' }\n"
    )
    ns = qobjects.build(schema)
    cls: Any = ns.handles["Blockdev"]
    with connect(server_thread.path, namespace=ns):
        with pytest.raises(StateError, match=r"class-level connect to signal Blockdev\.WOBBLE"):
            cls.wobble.connect(lambda owner: None)
        assert cls.wobble.connections == ()
    conn = cls.wobble.connect(lambda owner: None)  # no session open: local mode
    try:
        # It cannot be refused now; the session that cannot serve it names it.
        unheard = r"1 class-level slot\(s\) on signal Blockdev\.WOBBLE cannot hear"
        with pytest.warns(RuntimeWarning, match=unheard) as seen:
            connect(server_thread.path, namespace=ns).close()
        assert seen[0].filename == __file__  # pointed at the caller of connect()

        async def main() -> None:
            with pytest.warns(RuntimeWarning, match=r"Blockdev\.WOBBLE") as seen:
                await (await aconnect(server_thread.path, namespace=ns)).close()
            assert seen[0].filename == __file__

        asyncio.run(main())
    finally:
        cls.wobble.disconnect(conn)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        connect(server_thread.path, namespace=ns).close()  # nothing left to warn of


def test_a_command_after_connect_is_not_ahead_of_it(sock_path: Path) -> None:
    # No flush() between connect() and the command: the connect is written
    # when it is made, so the server has the connection before the command
    # that emits.
    async def main() -> list[bool]:
        async with demo_server(sock_path) as (server, _):
            async with await aconnect(sock_path) as s:
                cd = s.get(Blockdev, "ide1-cd0")
                seen: list[bool] = []
                cd.tray_moved.connect(lambda owner, tray_open: seen.append(tray_open))
                await s.blockdev_open_tray(device=cd)
                return seen

    assert asyncio.run(main()) == [True]


# --- lifecycle leaks ---------------------------------------------------------------


def test_disconnect_before_the_connect_reply_leaves_nothing(sock_path: Path) -> None:
    async def main() -> None:
        async with demo_server(sock_path) as (server, _):
            async with await aconnect(sock_path) as s:
                hd = s.get(Blockdev, "ide0-hd0")
                conn = hd.io_error.connect(lambda owner: None)
                hd.io_error.disconnect(conn)  # the connect is still on its way
                await s.flush()
                await s.query_block()
                await s.flush()
                assert not server.connections
                assert not conn.connected

    asyncio.run(main())


def test_collected_weak_slot_drops_its_server_connection(server_thread: ServerThread) -> None:
    with connect(server_thread.path) as s:
        hd = s.get(Blockdev, "ide0-hd0")

        class Holder:
            def slot(self, owner: Any) -> None:
                pass

        holder = Holder()
        conn = hd.io_error.connect(holder.slot)
        sid = conn.id
        assert sid in server_thread.server.connections
        del holder
        gc.collect()
        wait_for(lambda: sid not in server_thread.call(lambda: dict(server_thread.server.connections)))
        s.flush()
        assert not conn.connected


def test_closed_session_is_not_kept_alive(server_thread: ServerThread) -> None:
    s = connect(server_thread.path)
    hd = s.get(Blockdev, "ide0-hd0")
    conn = hd.io_error.connect(lambda owner: None)
    ref = weakref.ref(s)
    s.close()
    assert not conn.connected
    del s, hd, conn
    gc.collect()
    gc.collect()  # the first pass drops the handles, whose interning keys hold the session
    assert ref() is None


def test_compat_close_detaches_emulated_connections(server_thread: ServerThread) -> None:
    s = Session(server_thread.path, NS, ask_explicit=False)  # as against a plain QMP server
    s._start()
    assert not s.explicit
    cd = s.get(Blockdev, "ide1-cd0")
    got: list[bool] = []
    before = Blockdev.tray_moved.connection_count()  # the in-process server's own
    conn = cd.tray_moved.connect(lambda owner, tray_open: got.append(tray_open))
    s.blockdev_open_tray(device=cd)
    wait_for(lambda: got == [True])
    ref = weakref.ref(s)
    s.close()
    assert not conn.connected
    assert Blockdev.tray_moved.connection_count() == before
    del s, cd, conn
    gc.collect()
    gc.collect()  # the first pass drops the handles, whose interning keys hold the session
    assert ref() is None


def test_pipe_fd_helper_closes(tmp_path: Path) -> None:
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    with pytest.raises(OSError):
        os.fstat(r)


# --- reading the server's output ------------------------------------------------------


async def _piecemeal(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A bare QMP server whose 3rd reply comes in two pieces, and whose 4th follows a bad line."""
    writer.write(b'{"QMP": {"version": {}, "capabilities": []}}\r\n')
    n = 0
    while True:
        line = await reader.readline()
        if not line:
            break
        n += 1
        reply = json.dumps({"return": {"n": n}, "id": json.loads(line)["id"]}).encode() + b"\r\n"
        if n == 3:
            writer.write(reply[:7])
            await writer.drain()
            await asyncio.sleep(0.05)
            writer.write(reply[7:])
        elif n == 4:
            writer.write(b'{"return": nope}\r\n' + reply)
        else:
            writer.write(reply)
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


def test_split_and_malformed_lines_are_read(sock_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Replies split across reads, several in one read, and a bad line between them."""

    async def main() -> None:
        server = await asyncio.start_unix_server(_piecemeal, str(sock_path))
        async with await aconnect(sock_path, namespace=NS) as s:
            assert await s.execute_raw("x") == {"n": 3}
            assert await s.execute_raw("y") == {"n": 4}
            assert await s.execute_raw("z") == {"n": 5}
        await asyncio.sleep(0.05)  # the server sees EOF and closes its side
        server.close()
        await server.wait_closed()

    asyncio.run(main())
    assert "ignoring a message" in caplog.text
