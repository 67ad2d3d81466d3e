"""Real peers against the demo server: the qemu.qmp client, and hostile input."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qemu.qmp import ExecuteError, QMPClient

from tests.qmp.conftest import RawClient, demo_server


def test_qemu_qmp_client_against_demo_server(sock_path: Path) -> None:
    async def main() -> None:
        async with demo_server(sock_path):
            qmp = QMPClient("test")
            await qmp.connect(str(sock_path))
            try:
                blocks: Any = await qmp.execute("query-block")
                assert [b["device"] for b in blocks] == ["ide0-hd0", "ide1-cd0"]
                with pytest.raises(ExecuteError) as exc:
                    await qmp.execute("block_passwd", {"device": "nope", "password": "x"})
                assert exc.value.error_class == "InvalidHandleValue"
                with pytest.raises(ExecuteError) as exc2:
                    await qmp.execute("block_passwd", {"device": "ide0-hd0"})
                assert exc2.value.error_class == "GenericError"
                with qmp.listener() as listener:
                    await qmp.execute(
                        "x-inject-io-error",
                        {"device": "ide0-hd0", "operation": "write", "action": "stop"},
                    )
                    await qmp.execute("blockdev-open-tray", {"device": "ide1-cd0"})
                    first = await asyncio.wait_for(listener.get(), 5)
                    second = await asyncio.wait_for(listener.get(), 5)
                assert first["event"] == "BLOCK_IO_ERROR"
                assert first["data"] == {"device": "ide0-hd0", "operation": "write", "action": "stop"}
                assert second["event"] == "DEVICE_TRAY_MOVED"
                assert second["data"] == {"device": "ide1-cd0", "id": "cdrom0", "tray-open": True}
            finally:
                await qmp.disconnect()

    asyncio.run(main())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
requests = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"execute": st.sampled_from(["query-block", "block_passwd", "eject", "x-inject-io-error", "nope"])},
        optional={"arguments": json_values, "id": json_values},
    ),
    st.fixed_dictionaries(
        {"connect": st.sampled_from(["IO_ERROR", "TRAY_MOVED", "NOPE"]), "owner": json_values},
        optional={"id": json_values, "user_data": json_values},
    ),
    st.fixed_dictionaries({"disconnect": json_values, "owner": json_values}, optional={"id": json_values}),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    messages=st.lists(requests, min_size=1, max_size=15),
    garbage=st.lists(st.binary(max_size=30), max_size=3),
)
def test_arbitrary_input_is_answered_and_server_survives(
    tmp_path: Path, messages: list[object], garbage: list[bytes]
) -> None:
    path = tmp_path / "fuzz.sock"
    if path.exists():
        path.unlink()

    async def main() -> None:
        async with demo_server(path) as (server, _):
            bystander = await RawClient.open(path)
            await bystander.negotiate()
            await bystander.call(
                {"connect": "TRAY_MOVED", "owner": {"__handle__": "Blockdev", "data": "ide1-cd0"}}
            )
            hostile = await RawClient.open(path)
            try:
                await hostile.negotiate()
                for msg in messages:
                    # A newline ends a bare number, which could otherwise still grow.
                    await hostile.send_raw(json.dumps(msg).encode() + b"\n")
                    reply = await hostile.reply()
                    assert ("return" in reply) != ("error" in reply), reply
                    if isinstance(msg, dict) and "id" in msg:
                        assert reply.get("id") == msg["id"]
                    if "error" in reply:
                        assert set(reply["error"]) == {"class", "desc"}
                for chunk in garbage:
                    # Raw bytes then a control character, which resets the parser.
                    await hostile.send_raw(chunk + b"\x01")
                await hostile.send_raw(b'{"execute": "query-version", "id": "after"}')
                while (reply := await hostile.reply()).get("id") != "after":
                    assert "error" in reply
                # The bystander still works and still gets its signal.
                r = await bystander.call(
                    {"execute": "blockdev-open-tray", "arguments": {"device": "ide1-cd0", "force": True}}
                )
                assert "return" in r
                await bystander.call({"execute": "blockdev-close-tray", "arguments": {"device": "ide1-cd0"}})
                kinds = [await bystander.pushed_message() for _ in range(4)]
                assert sum("signal" in m for m in kinds) == 2
            finally:
                await hostile.close()
                await bystander.close()

    asyncio.run(main())


# --- real QEMU: what its own clients rely on ------------------------------------------


def test_qemu_fds_getfd_closefd_and_add_fd(qemu: Path) -> None:
    import os

    import qobjects

    r, w = os.pipe()
    try:
        with qobjects.connect(qemu, namespace=qobjects.default_namespace()) as s:
            assert s.execute("getfd", {"fdname": "pipe0"}, fds=[r]) == {}
            assert s.execute("closefd", fdname="pipe0") == {}
            with pytest.raises(qobjects.QMPError, match="pipe0"):
                s.execute("closefd", fdname="pipe0")  # passed once, closed once
            added: Any = s.execute("add-fd", fds=[w])
            assert set(added) == {"fdset-id", "fd"}
            fdsets: Any = s.execute("query-fdsets")
            assert [f["fdset-id"] for f in fdsets] == [added["fdset-id"]]
            assert s.execute("remove-fd", {"fdset-id": added["fdset-id"]}) == {}
    finally:
        os.close(r)
        os.close(w)


def test_qemu_fds_async(qemu: Path) -> None:
    import os

    import qobjects

    async def main() -> None:
        r, w = os.pipe()
        try:
            async with await qobjects.aconnect(qemu, namespace=qobjects.default_namespace()) as s:
                assert await s.execute_raw("getfd", {"fdname": "a"}, fds=[r]) == {}
                assert await s.execute_raw("closefd", {"fdname": "a"}) == {}
        finally:
            os.close(r)
            os.close(w)

    asyncio.run(main())


def test_qemu_oob(qemu: Path) -> None:
    import qobjects

    with qobjects.connect(qemu, namespace=qobjects.default_namespace()) as s:
        assert s.oob  # QEMU offers it on a socket monitor; the session enabled it
        with pytest.raises(qobjects.QMPError, match="postcopy"):
            s.execute("migrate-pause", oob=True)  # accepted out of band, refused in this state
        with pytest.raises(qobjects.QMPError, match="does not support OOB"):
            s.execute_raw("query-status", oob=True)
        status: Any = s.execute("query-status")
        assert status["running"] is False


def test_qemu_listen_and_class_level_and_close(qemu: Path) -> None:
    import gc
    import weakref

    import qobjects

    Blockdev: Any = qobjects.default_namespace().types["Blockdev"]
    heard: list[tuple[str, bool]] = []
    s = qobjects.connect(qemu, namespace=qobjects.default_namespace())
    conn = Blockdev.tray_moved.connect(lambda owner, tray_open: heard.append((owner.value, tray_open)))
    try:
        cd0, cd1 = (i.device for i in s.query_block())
        per_owner = cd1.tray_moved.connect(lambda owner, tray_open: None)
        with s.listen("DEVICE_TRAY_MOVED") as trays:
            s.blockdev_open_tray(device=cd0)
            s.blockdev_open_tray(device=cd1)
            first = trays.get(10)
            assert first.name == "DEVICE_TRAY_MOVED" and first["tray_open"] is True
        for _ in range(200):
            if len(heard) == 2:
                break
            time.sleep(0.02)
        assert sorted(heard) == [("cd0", True), ("cd1", True)]  # every owner, class-level
    finally:
        Blockdev.tray_moved.disconnect(conn)
    ref = weakref.ref(s)
    s.close()
    assert not per_owner.connected  # compatibility mode: detached on close
    del s, cd0, cd1, per_owner, trays, first
    gc.collect()
    gc.collect()
    assert ref() is None


def test_qemu_qmp_legacy_client_against_demo_server(sock_path: Path) -> None:
    from qemu.qmp.legacy import QEMUMonitorProtocol

    from tests.qmp.test_client import ServerThread

    st = ServerThread(sock_path)
    try:
        qmp = QEMUMonitorProtocol(str(sock_path))
        qmp.connect()
        try:
            reply = qmp.cmd_obj({"execute": "query-block"})
            assert [b["device"] for b in reply["return"]] == ["ide0-hd0", "ide1-cd0"]
        finally:
            qmp.close()
            qmp._aloop.close()  # the legacy client makes an event loop it never closes
            asyncio.set_event_loop(None)
    finally:
        st.close()
