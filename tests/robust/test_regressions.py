"""Bugs the robustness runs found, each shown on its own."""

from __future__ import annotations

import threading
from pathlib import Path

from tests.robust.support import LineClient, ServerThread


def test_pipelined_negotiation_in_one_write(tmp_path: Path) -> None:
    """Requests written together with qmp_capabilities run in command mode, as in QEMU.

    The server used to check every request of one read against the mode at the
    start of the read, so a client that pipelined its negotiation got
    "Expecting capabilities negotiation" for the command after it.
    """
    with ServerThread(tmp_path / "s.sock") as st:
        c = LineClient(st.path)
        assert "QMP" in c.read()
        c.send_raw(
            b'{"execute": "set-explicit-handles", "id": 1}'
            b'{"execute": "qmp_capabilities", "id": 2}'
            b'{"execute": "query-version", "id": 3}'
            b'{"connect": "IO_ERROR", "owner": {"__handle__": "Blockdev", "data": "ide0-hd0"}, "id": 4}'
            b'{"execute": "qmp_capabilities", "id": 5}'
        )
        replies = [c.reply() for _ in range(5)]
        assert [r.get("id") for r in replies] == [1, 2, 3, 4, 5]
        assert replies[0] == {"return": {}, "id": 1}
        assert replies[1] == {"return": {}, "id": 2}
        assert "return" in replies[2], replies[2]
        assert isinstance(replies[3].get("return"), int), replies[3]
        assert replies[4]["error"]["class"] == "CommandNotFound"
        c.close()


def test_connection_burst_beyond_default_backlog(tmp_path: Path) -> None:
    """300 clients connecting while the server's loop is busy all get their greeting.

    With asyncio's default listen backlog (100), a non-blocking connect past
    the backlog fails with EAGAIN, which asyncio's ``create_unix_connection``
    takes for success: the client then waits forever for a greeting.
    """
    import asyncio
    import time

    n = 300
    with ServerThread(tmp_path / "s.sock") as st:
        busy = threading.Event()

        def block() -> None:
            busy.set()
            time.sleep(0.5)

        st.loop.call_soon_threadsafe(block)
        assert busy.wait(5)

        async def main() -> int:
            async def one() -> bytes:
                reader, writer = await asyncio.open_unix_connection(str(st.path))
                try:
                    return await asyncio.wait_for(reader.readline(), 20)
                finally:
                    writer.close()

            lines = await asyncio.gather(*(one() for _ in range(n)))
            return sum(b"QMP" in line for line in lines)

        assert asyncio.run(main()) == n
