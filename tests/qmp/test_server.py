"""The server over real Unix sockets: every flow and error of the wire contract."""

from __future__ import annotations

import asyncio
import os
import stat
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal, Protocol, cast

import pytest

from qobjects import default_namespace
from qobjects.qmp.server import Server
from tests.qmp.conftest import RawClient, demo_server

HD = {"__handle__": "Blockdev", "data": "ide0-hd0"}
CD = {"__handle__": "Blockdev", "data": "ide1-cd0"}


def run(
    path: Path,
    body: Callable[[RawClient, Server, Any], Awaitable[None]],
    explicit: bool | None = True,
    **kw: Any,
) -> None:
    async def main() -> None:
        async with demo_server(path, **kw) as (server, backend):
            client = await RawClient.open(path)
            try:
                if explicit is not None:
                    await client.negotiate(explicit)
                await body(client, server, backend)
            finally:
                await client.close()

    asyncio.run(main())


def test_greeting_and_socket_mode(sock_path: Path) -> None:
    async def body(c: RawClient, server: Server, backend: Any) -> None:
        greeting = await c.read()
        assert set(greeting["QMP"]) == {"version", "capabilities"}
        assert set(greeting["QMP"]["version"]["qemu"]) == {"major", "minor", "micro"}
        assert stat.S_IMODE(os.stat(sock_path).st_mode) == 0o600

    run(sock_path, body, explicit=None)
    assert not sock_path.exists()


def test_negotiation_mode(sock_path: Path) -> None:
    async def body(c: RawClient, server: Server, backend: Any) -> None:
        await c.read()
        r = await c.call({"execute": "query-block", "id": 1})
        assert r["error"]["class"] == "CommandNotFound" and r["id"] == 1
        assert "qmp_capabilities" in r["error"]["desc"]
        r = await c.call({"connect": "IO_ERROR", "owner": HD, "id": 2})
        assert r["error"]["class"] == "CommandNotFound"
        assert await c.call({"execute": "set-explicit-handles", "id": 3}) == {"return": {}, "id": 3}
        r = await c.call({"execute": "qmp_capabilities", "arguments": {"enable": ["oob"]}})
        assert r["error"]["class"] == "GenericError"
        assert await c.call({"execute": "qmp_capabilities"}) == {"return": {}}
        r = await c.call({"execute": "set-explicit-handles"})
        assert r["error"]["class"] == "GenericError"
        r = await c.call({"execute": "qmp_capabilities"})
        assert r["error"]["class"] == "CommandNotFound"

    run(sock_path, body, explicit=None)


def test_no_events_before_negotiation(sock_path: Path) -> None:
    async def body(c: RawClient, server: Server, backend: Any) -> None:
        await c.read()
        Blockdev: Any = default_namespace().types["Blockdev"]
        Blockdev.find("ide0-hd0").io_error.emit(operation="read", action="stop")
        # The next thing the client sees is its own reply, not the event.
        assert await c.read() if False else True
        await c.send({"execute": "qmp_capabilities", "id": "n"})
        assert await c.read() == {"return": {}, "id": "n"}

    run(sock_path, body, explicit=None)


def test_query_block_plain_and_canonical(sock_path: Path) -> None:
    async def plain(c: RawClient, server: Server, backend: Any) -> None:
        r = await c.call({"execute": "query-block"})
        assert [d["device"] for d in r["return"]] == ["ide0-hd0", "ide1-cd0"]
        assert r["return"][1] == {
            "device": "ide1-cd0",
            "type": "cd",
            "removable": True,
            "locked": False,
            "tray_open": False,
        }

    async def canonical(c: RawClient, server: Server, backend: Any) -> None:
        r = await c.call({"execute": "query-block", "id": 9})
        assert r["id"] == 9
        assert r["return"][0]["device"] == HD
        assert "tray_open" not in r["return"][0]

    run(sock_path, plain, explicit=False)
    run(sock_path, canonical, explicit=True)


def test_argument_validation(sock_path: Path) -> None:
    async def body(c: RawClient, server: Server, backend: Any) -> None:
        cases: list[tuple[dict[str, Any], str, str]] = [
            ({}, "GenericError", "'device'"),
            ({"device": "ide0-hd0"}, "GenericError", "'password'"),
            ({"device": "ide0-hd0", "password": 5}, "GenericError", "expected str, got int"),
            ({"device": "ide0-hd0", "password": "x", "extra": 1}, "GenericError", "'extra'"),
            ({"device": "nope", "password": "x"}, "InvalidHandleValue", "nope"),
            ({"device": 7, "password": "x"}, "GenericError", "Blockdev"),
            (
                {"device": {"__handle__": "Other", "data": "ide0-hd0"}, "password": "x"},
                "GenericError",
                "Other",
            ),
            (
                {"device": {"__handle__": "Blockdev", "data": "ide0-hd0", "x": 1}, "password": "x"},
                "GenericError",
                "canonical",
            ),
        ]
        for i, (args, cls, text) in enumerate(cases):
            r = await c.call({"execute": "block_passwd", "arguments": args, "id": i})
            assert r["id"] == i
            assert r["error"]["class"] == cls, (args, r)
            assert text in r["error"]["desc"], (args, r)
        assert backend.devices["ide0-hd0"].password is None  # no side effect
        assert await c.call({"execute": "block_passwd", "arguments": {"device": HD, "password": "s"}}) == {
            "return": {}
        }
        assert await c.call(
            {"execute": "block_passwd", "arguments": {"device": "ide0-hd0", "password": "t"}}
        ) == {"return": {}}
        assert backend.devices["ide0-hd0"].password == "t"
        r = await c.call(
            {
                "execute": "x-inject-io-error",
                "arguments": {"device": HD, "operation": "sideways", "action": "stop"},
            }
        )
        assert "IoOperationType" in r["error"]["desc"]

    run(sock_path, body)


def test_command_errors_and_unimplemented(sock_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def body(c: RawClient, server: Server, backend: Any) -> None:
        r = await c.call({"execute": "no-such-command"})
        assert r["error"]["class"] == "CommandNotFound"
        del server._impl["eject"]
        r = await c.call({"execute": "eject", "arguments": {"device": CD}})
        assert r["error"]["class"] == "CommandNotFound"
        r = await c.call({"execute": "blockdev-open-tray", "arguments": {"device": HD}})
        assert r["error"] == {"class": "GenericError", "desc": "Device 'ide0-hd0' is not removable"}

        @server.command("eject")
        def broken(device: Any, force: bool | None = None) -> None:
            raise RuntimeError("kaput")

        r = await c.call({"execute": "eject", "arguments": {"device": CD}})
        # The exception's text stays in the server's log.
        assert r["error"] == {
            "class": "GenericError",
            "desc": "command 'eject' failed on the server (see its log)",
        }
        assert await c.call({"execute": "query-version"}) != {}

    run(sock_path, body)
    assert any("kaput" in (r.exc_text or "") or r.exc_info for r in caplog.records)


def test_register_unknown_command_is_an_error() -> None:
    server = Server()
    with pytest.raises(ValueError, match="no command 'bogus'"):
        server.command("bogus")


def test_async_command_keeps_order(sock_path: Path) -> None:
    async def body(c: RawClient, server: Server, backend: Any) -> None:
        @server.command("block_passwd")
        async def slow(device: Any, password: str) -> None:
            await asyncio.sleep(0.05)
            device.target.password = password

        await c.send({"execute": "block_passwd", "arguments": {"device": HD, "password": "p"}, "id": 1})
        await c.send({"execute": "query-version", "id": 2})
        assert (await c.reply())["id"] == 1
        assert (await c.reply())["id"] == 2
        assert backend.devices["ide0-hd0"].password == "p"

    run(sock_path, body)


def test_connect_signal_disconnect(sock_path: Path) -> None:
    async def body(c: RawClient, server: Server, backend: Any) -> None:
        r = await c.call({"connect": "IO_ERROR", "owner": HD, "user_data": "sess-1", "id": 7})
        cid = r["return"]
        assert isinstance(cid, int) and r["id"] == 7
        await c.call(
            {
                "execute": "x-inject-io-error",
                "arguments": {"device": CD, "operation": "read", "action": "stop"},
            }
        )
        r = await c.call(
            {
                "execute": "x-inject-io-error",
                "arguments": {"device": HD, "operation": "write", "action": "report"},
            }
        )
        assert r == {"return": {}}
        pushed = [await c.pushed_message() for _ in range(3)]
        signals = [m for m in pushed if "signal" in m]
        events = [m for m in pushed if "event" in m]
        assert len(signals) == 1 and len(events) == 2
        sig = signals[0]
        assert sig["signal"] == "IO_ERROR" and sig["owner"] == HD and sig["user_data"] == "sess-1"
        assert sig["data"] == {"operation": "write", "action": "report"}
        assert set(sig["timestamp"]) == {"seconds", "microseconds"}
        assert events[0]["event"] == "BLOCK_IO_ERROR"
        assert {e["data"]["device"] for e in events} == {"ide0-hd0", "ide1-cd0"}
        assert await c.call({"disconnect": cid, "owner": HD, "id": 8}) == {"return": {}, "id": 8}
        r = await c.call({"disconnect": cid, "owner": HD})
        assert "no connection" in r["error"]["desc"]
        await c.call(
            {
                "execute": "x-inject-io-error",
                "arguments": {"device": HD, "operation": "read", "action": "stop"},
            }
        )
        ev = await c.pushed_message()
        assert ev["event"] == "BLOCK_IO_ERROR"
        assert c.pushed == []

    run(sock_path, body)


def test_tray_moved_signal_and_event(sock_path: Path) -> None:
    async def body(c: RawClient, server: Server, backend: Any) -> None:
        await c.call({"connect": "TRAY_MOVED", "owner": CD})
        await c.call({"execute": "blockdev-open-tray", "arguments": {"device": CD}})
        await c.call({"execute": "blockdev-open-tray", "arguments": {"device": CD}})  # already open: nothing
        msgs = [await c.pushed_message(), await c.pushed_message()]
        sig = next(m for m in msgs if "signal" in m)
        ev = next(m for m in msgs if "event" in m)
        assert sig["data"] == {"tray-open": True} and "user_data" in sig
        assert ev["data"] == {"device": "ide1-cd0", "id": "cdrom0", "tray-open": True}
        assert c.pushed == []

    run(sock_path, body)


@pytest.mark.parametrize(
    ("msg", "error_class", "text"),
    [
        ({"connect": "IO_ERROR", "owner": "ide0-hd0"}, "GenericError", "canonical"),
        ({"connect": "NOPE", "owner": HD}, "GenericError", "unknown signal 'NOPE'"),
        (
            {"connect": "IO_ERROR", "owner": {"__handle__": "Nope", "data": "x"}},
            "GenericError",
            "unknown handle type",
        ),
        (
            {"connect": "IO_ERROR", "owner": {"__handle__": "Blockdev", "data": "zz"}},
            "InvalidHandleValue",
            "zz",
        ),
        ({"disconnect": 123456789, "owner": HD}, "GenericError", "no connection"),
        ({"disconnect": "x", "owner": HD}, "GenericError", "must be an integer"),
    ],
)
def test_connect_errors(sock_path: Path, msg: dict[str, Any], error_class: str, text: str) -> None:
    async def body(c: RawClient, server: Server, backend: Any) -> None:
        r = await c.call({**msg, "id": "q"})
        assert r["id"] == "q"
        assert r["error"]["class"] == error_class
        assert text in r["error"]["desc"]

    run(sock_path, body)


def test_connect_without_explicit_handles(sock_path: Path) -> None:
    async def body(c: RawClient, server: Server, backend: Any) -> None:
        r = await c.call({"connect": "IO_ERROR", "owner": HD})
        assert "set-explicit-handles" in r["error"]["desc"]

    run(sock_path, body, explicit=False)


def test_disconnect_other_session_and_wrong_owner(sock_path: Path) -> None:
    async def body(c: RawClient, server: Server, backend: Any) -> None:
        cid = (await c.call({"connect": "IO_ERROR", "owner": HD}))["return"]
        r = await c.call({"disconnect": cid, "owner": CD})
        assert "not" in r["error"]["desc"] and "ide1-cd0" in r["error"]["desc"]
        other = await RawClient.open(sock_path)
        await other.negotiate()
        r = await other.call({"disconnect": cid, "owner": HD})
        assert r["error"]["desc"] == f"no connection {cid} in this session"
        cid2 = (await other.call({"connect": "IO_ERROR", "owner": HD}))["return"]
        assert cid2 != cid
        await other.close()
        await asyncio.sleep(0.05)
        assert set(server.connections) == {cid}

    run(sock_path, body)


def test_session_end_drops_connections(sock_path: Path) -> None:
    async def body(c: RawClient, server: Server, backend: Any) -> None:
        Blockdev: Any = default_namespace().types["Blockdev"]
        before = len(Blockdev.find("ide0-hd0").io_error.connections)
        others = []
        for _ in range(5):
            o = await RawClient.open(sock_path)
            await o.negotiate()
            await o.call({"connect": "IO_ERROR", "owner": HD})
            others.append(o)
        # One local connection serves every session's remote connections to that signal.
        assert len(Blockdev.find("ide0-hd0").io_error.connections) == before + 1
        assert len(server.connections) == 5
        for o in others:
            o.writer.transport.abort()
        await asyncio.sleep(0.1)
        assert len(Blockdev.find("ide0-hd0").io_error.connections) == before
        assert server.connections == {}
        assert server.sessions == 1

    run(sock_path, body)


def test_emit_from_other_thread_reaches_session(sock_path: Path) -> None:
    async def body(c: RawClient, server: Server, backend: Any) -> None:
        await c.call({"connect": "IO_ERROR", "owner": HD})
        Blockdev: Any = default_namespace().types["Blockdev"]

        def emit() -> None:
            for _ in range(100):
                Blockdev.find("ide0-hd0").io_error.emit(operation="read", action="stop")

        t = threading.Thread(target=emit)
        t.start()
        t.join()
        got = [await c.pushed_message() for _ in range(200)]
        assert sum("signal" in m for m in got) == 100

    run(sock_path, body)


def test_emit_event(sock_path: Path) -> None:
    async def body(c: RawClient, server: Server, backend: Any) -> None:
        server.emit_event("DEVICE_TRAY_MOVED", device="x", id="y", tray_open=False)
        ev = await c.pushed_message()
        assert ev["event"] == "DEVICE_TRAY_MOVED" and ev["data"]["tray-open"] is False
        with pytest.raises(ValueError):
            server.emit_event("NOPE")
        with pytest.raises(TypeError):
            server.emit_event("DEVICE_TRAY_MOVED", device="x")

    run(sock_path, body)


def test_slow_reader_is_closed_others_unaffected(sock_path: Path) -> None:
    async def body(c: RawClient, server: Server, backend: Any) -> None:
        await c.call({"connect": "IO_ERROR", "owner": HD})
        slow = await RawClient.open(sock_path)
        await slow.negotiate()
        await slow.call({"connect": "IO_ERROR", "owner": HD})
        cast(asyncio.ReadTransport, slow.writer.transport).pause_reading()  # its queue fills
        Blockdev: Any = default_namespace().types["Blockdev"]
        dev = Blockdev.find("ide0-hd0")
        n = 3000

        async def read_all() -> int:
            received = 0
            while received < n:
                m = await c.pushed_message()
                received += "signal" in m
            return received

        reader = asyncio.create_task(read_all())
        for i in range(n):
            dev.io_error.emit(operation="read", action="stop")
            if i % 10 == 0:
                await asyncio.sleep(0.001)
        assert await reader == n
        await asyncio.sleep(0.1)
        assert server.sessions == 1
        await slow.close()

    run(sock_path, body, max_output=64 * 1024)


def test_query_commands_and_schema(sock_path: Path) -> None:
    async def body(c: RawClient, server: Server, backend: Any) -> None:
        names = {x["name"] for x in (await c.call({"execute": "query-commands"}))["return"]}
        assert {"query-block", "block_passwd", "qmp_capabilities", "query-qmp-schema"} <= names
        info = (await c.call({"execute": "query-qmp-schema"}))["return"]
        metas = {x["meta-type"] for x in info}
        assert {"command", "event", "handle", "signal"} <= metas
        sig = next(x for x in info if x["meta-type"] == "signal" and x["name"] == "IO_ERROR")
        assert sig["owner"] == "Blockdev"

    run(sock_path, body)


def test_garbage_then_valid(sock_path: Path) -> None:
    async def body(c: RawClient, server: Server, backend: Any) -> None:
        await c.send_raw(b'{"execute": ]\n')
        r = await c.reply()
        assert r["error"]["class"] == "GenericError" and "id" not in r
        await c.send_raw(b"[1, 2]")
        r = await c.reply()
        assert r["error"]["class"] == "GenericError"
        await c.send_raw(b"{'execute': 'query-version', 'id': 'single'}")
        r = await c.reply()
        assert r["id"] == "single" and "return" in r
        await c.send_raw(b'{"execute": "query-ver')
        await asyncio.sleep(0.01)
        await c.send_raw(b'sion", "id": 2}{"execute": "query-version", "id": 3}')
        assert (await c.reply())["id"] == 2
        assert (await c.reply())["id"] == 3

    run(sock_path, body)


def test_tcp_needs_host() -> None:
    async def main() -> None:
        server = Server()
        with pytest.raises(ValueError, match="host"):
            await server.start_tcp("", 0)
        port = await server.start_tcp("127.0.0.1", 0)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        line = await reader.readline()
        assert b"QMP" in line
        writer.close()
        await server.close()

    asyncio.run(main())


Blockdev = default_namespace().types["Blockdev"]


class HasPassword(Protocol):
    password: str | None


def test_check_types_checks_handlers_against_their_annotations(sock_path: Path) -> None:
    seen: list[str] = []

    def block_passwd(device: Blockdev, password: Literal["a", "b"]) -> None:  # type: ignore[valid-type]
        seen.append(password)

    def eject(device: Blockdev, force: bool | None = None) -> HasPassword:  # type: ignore[valid-type]
        return cast(HasPassword, cast(Any, device).target)  # a Device: it has .password

    def close_tray(device: Blockdev) -> list[int]:  # type: ignore[valid-type]
        return [1, "2"]  # type: ignore[list-item]

    async def main(check: bool) -> list[dict[str, Any]]:
        async with demo_server(sock_path, check_types=check) as (server, _):
            server.command("block_passwd")(block_passwd)
            server.command("eject")(eject)
            server.command("blockdev-close-tray")(close_tray)
            c = await RawClient.open(sock_path)
            await c.negotiate()
            out = [
                await c.call({"execute": "block_passwd", "arguments": {"device": HD, "password": p}})
                for p in ("a", "c")
            ]
            out.append(await c.call({"execute": "eject", "arguments": {"device": CD}}))
            out.append(await c.call({"execute": "blockdev-close-tray", "arguments": {"device": CD}}))
            await c.close()
            return out

    ok, bad, eject_reply, close_reply = asyncio.run(main(True))
    assert ok == {"return": {}} and seen == ["a"]
    desc = bad["error"]["desc"]
    assert bad["error"]["class"] == "GenericError"
    assert "'block_passwd'" in desc and "member 'password'" in desc and "Literal" in desc
    assert eject_reply == {"return": {}}  # a Device satisfies the protocol
    assert (
        "'blockdev-close-tray'" in close_reply["error"]["desc"]
        and "list[int]" in close_reply["error"]["desc"]
    )
    # Off by default: the annotations are not looked at.
    seen.clear()
    ok, bad, _, close_reply = asyncio.run(main(False))
    assert bad == {"return": {}} and seen == ["a", "c"] and close_reply == {"return": {}}


def test_check_types_refuses_annotations_it_cannot_resolve() -> None:
    server = Server(check_types=True)

    def handler(device: NoSuchType) -> None:  # type: ignore[name-defined]  # noqa: F821
        pass

    with pytest.raises(ValueError, match=r"block_passwd.*NoSuchType"):
        server.command("block_passwd")(handler)
