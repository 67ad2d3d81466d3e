"""Connect options and delivery control on remote owners, against the demo server.

The same public calls as in local mode (tests/test_signal_options.py):
queued (loop=), unique, connected_to, paused, weak and check_types.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal

import pytest

import qobjects
from qobjects import SlotError, WrongType, default_namespace
from qobjects.qmp.server import Server
from tests.qmp.conftest import demo_server, serve_demo

Blockdev: Any = default_namespace().types["Blockdev"]

Body = Callable[[Server, Any, Any], Awaitable[None]]


def run(sock_path: Path, body: Body) -> None:
    """Run *body(server, session, cd)* against the demo server, in one event loop."""

    async def main() -> None:
        async with demo_server(sock_path) as (server, _backend):
            async with await qobjects.aconnect(sock_path) as s:
                await body(server, s, s.get(Blockdev, "ide1-cd0"))

    asyncio.run(main())


def test_queued_remote_slot_runs_in_its_loop(sock_path: Path) -> None:
    other = asyncio.new_event_loop()
    thread = threading.Thread(target=other.run_forever)
    thread.start()
    got: list[tuple[int | None, bool]] = []
    done = threading.Event()

    def slot(owner: Any, tray_open: bool) -> None:
        got.append((threading.get_ident(), tray_open))
        if len(got) == 2:
            done.set()

    async def body(server: Server, s: Any, cd: Any) -> None:
        conn = cd.tray_moved.connect(slot, loop=other)
        await s.flush()
        assert conn.id in server.connections
        await s.blockdev_open_tray(device=cd)
        await s.blockdev_close_tray(device=cd)
        assert await asyncio.to_thread(done.wait, 5)

    try:
        run(sock_path, body)
    finally:
        other.call_soon_threadsafe(other.stop)
        thread.join(5)
        other.close()
    assert got == [(thread.ident, True), (thread.ident, False)]


def test_unique_and_connected_to_remote(sock_path: Path) -> None:
    got: list[bool] = []

    def slot(owner: Any, tray_open: bool) -> None:
        got.append(tray_open)

    async def body(server: Server, s: Any, cd: Any) -> None:
        first = cd.tray_moved.connect(slot, unique=True)
        assert cd.tray_moved.connect(slot, unique=True) is first
        await s.flush()
        assert len(server.connections) == 1
        first.disconnect()
        with cd.tray_moved.connected_to(slot) as conn:
            await s.flush()
            assert conn.id in server.connections
            await s.blockdev_open_tray(device=cd)
            await s.query_block()  # a round trip: the push arrived before its reply
        await s.flush()
        assert server.connections == {}
        await s.blockdev_close_tray(device=cd)
        await s.query_block()

    run(sock_path, body)
    assert got == [True]


def test_paused_remote_deliveries(sock_path: Path) -> None:
    got: list[bool] = []

    async def body(server: Server, s: Any, cd: Any) -> None:
        cd.tray_moved.connect(lambda owner, tray_open: got.append(tray_open))
        await s.flush()
        with cd.tray_moved.paused():
            await s.blockdev_open_tray(device=cd)
            await s.blockdev_close_tray(device=cd)
            await s.query_block()
            assert got == []
        assert got == [True, False]
        with cd.tray_moved.paused(lambda held: {"tray_open": any(h["tray_open"] for h in held)}):
            await s.blockdev_open_tray(device=cd)
            await s.blockdev_close_tray(device=cd)
            await s.query_block()
            assert got == [True, False]

    run(sock_path, body)
    assert got == [True, False, True]


def test_class_level_pause_holds_remote_owners(sock_path: Path) -> None:
    # The server in its own process: a class-level pause here pauses only this side.
    proc = serve_demo(sock_path)
    got: list[bool] = []

    async def main() -> None:
        # An AsyncSession runs slots as signals arrive, before the reply that follows them.
        async with await qobjects.aconnect(sock_path) as s:
            cd = s.get(Blockdev, "ide1-cd0")
            cd.tray_moved.connect(lambda owner, tray_open: got.append(tray_open))
            await s.flush()
            with Blockdev.tray_moved.paused(lambda a, b: b):
                assert cd.tray_moved.is_paused()
                await s.blockdev_open_tray(device=cd)
                await s.blockdev_close_tray(device=cd)
                await s.query_block()
                assert got == []
            assert got == [False]
            await s.blockdev_open_tray(device=cd)  # not paused: delivered at once
            assert got == [False, True]

    try:
        asyncio.run(main())
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)


def test_weak_remote_slot(sock_path: Path) -> None:
    got: list[bool] = []

    async def body(server: Server, s: Any, cd: Any) -> None:
        def slot(owner: Any, tray_open: bool) -> None:
            got.append(tray_open)

        conn = cd.tray_moved.connect(slot, weak=True)
        await s.flush()
        await s.blockdev_open_tray(device=cd)
        await s.query_block()
        del slot
        # (freed by reference counting: no gc.collect(), which would finalize other tests' garbage here)
        assert not conn.connected and cd.tray_moved.connections == ()
        await s.blockdev_close_tray(device=cd)
        await s.query_block()

    run(sock_path, body)
    assert got == [True]


def test_check_types_remote(sock_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    got: list[bool] = []

    def only_open(owner: Any, tray_open: Literal[True]) -> None:
        got.append(tray_open)

    async def body(server: Server, s: Any, cd: Any) -> None:
        cd.tray_moved.connect(only_open, check_types=True)
        await s.flush()
        with caplog.at_level(logging.ERROR):
            await s.blockdev_open_tray(device=cd)
            await s.blockdev_close_tray(device=cd)
            await s.query_block()

    run(sock_path, body)
    assert got == [True]
    errors = [r.exc_info[1] for r in caplog.records if r.exc_info and isinstance(r.exc_info[1], SlotError)]
    assert len(errors) == 1
    (err,) = errors[0].exceptions
    assert isinstance(err, WrongType) and err.member == "tray-open"
    assert "slot test_check_types_remote.<locals>.only_open" in str(err)
