"""Real peers against the demo server: the qemu.qmp client, and hostile input."""

from __future__ import annotations

import asyncio
import json
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
