"""``qobjects demo``: the whole story in a few seconds, on the bundled default schema.

The scripted demo that ``make demo`` runs: it starts the demo server
(:mod:`qobjects.demo`) on a temporary Unix socket, connects a plain QMP client
and a session with explicit handles, connects slots per owner, emits, and
prints each step and what arrives where.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any, TextIO

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Tell the whole story in a few seconds, on the bundled default schema: start the "
        "demo server on a temporary Unix socket, connect a session with explicit handles, "
        "list the devices, connect slots to one device's IO_ERROR and the other's "
        "TRAY_MOVED, inject an error and move a tray, and show what arrives where, "
        "including what a plain QMP client sees."
    )


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    story = _Story(out)
    print("qobjects demo: handles, signals and per-owner delivery on the bundled schema", file=out)
    with tempfile.TemporaryDirectory(prefix="qobjects-demo-") as tmp:
        path = Path(tmp) / "demo.sock"
        asyncio.run(_demo(path, story))
        left = path.exists()
    story.step("done: the server is closed and its socket removed" if not left else "socket left behind")
    return 1 if left else 0


class _Story:
    """Numbered steps, indented details, and the slot deliveries."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.step_no = 0
        self.deliveries = 0

    def step(self, text: str) -> None:
        self.step_no += 1
        print(f"\n[{self.step_no}] {text}", file=self.out, flush=True)

    def say(self, text: str) -> None:
        print(f"    {text}", file=self.out, flush=True)

    def delivered(self, text: str) -> None:
        self.deliveries += 1
        self.say(f"delivered: {text}")

    def expect_none(self, before: int, why: str) -> None:
        if self.deliveries == before:
            self.say(f"no delivery: {why}")
        else:  # pragma: no cover - the server would be broken
            self.say(f"UNEXPECTED: {self.deliveries - before} deliveries")


class _PlainClient:
    """A plain QMP client, as QEMU's own tools are: JSON lines, no explicit handles."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.events: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, path: Path) -> _PlainClient:
        reader, writer = await asyncio.open_unix_connection(str(path))
        client = cls(reader, writer)
        await client.read()  # the greeting
        await client.call({"execute": "qmp_capabilities"})
        return client

    async def read(self) -> dict[str, Any]:
        line = await asyncio.wait_for(self.reader.readline(), 5)
        msg: dict[str, Any] = json.loads(line)
        return msg

    async def call(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send *request*; its reply, keeping the events that come first."""
        self.writer.write(json.dumps(request).encode() + b"\n")
        while True:
            msg = await self.read()
            if "event" in msg:
                self.events.append(msg)
            else:
                return msg

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass


def _wire(msg: object) -> str:
    return json.dumps(msg, separators=(", ", ": "))


async def _demo(path: Path, story: _Story) -> None:
    import qobjects
    from qobjects.demo import make_demo_server

    server, _backend = make_demo_server()
    await server.start_unix(path)
    try:
        story.step(f"the demo server listens on unix:{path}")
        story.say("it serves two block devices, ide0-hd0 (a disk) and ide1-cd0 (a CD drive with a tray)")
        story.say("each is a Blockdev *handle*: an object on the server, a simple value on the wire")

        plain = await _PlainClient.open(path)
        story.step("a plain QMP client connects (no explicit handles, as QEMU's tools)")
        request = {"execute": "query-block"}
        reply = await plain.call(request)
        story.say(f"> {_wire(request)}")
        story.say(f"< {_wire(reply)}")
        story.say("handles travel as plain strings: backward compatible, but nothing says they are objects")

        async with await qobjects.aconnect(path) as session:
            story.step("a qobjects session connects and asks for explicit handles")
            story.say('> {"execute": "set-explicit-handles"}   (before qmp_capabilities)')
            story.say(f"session: {session!r}")

            story.step("query-block again: handles now arrive canonical and decode to Blockdev objects")
            story.say('on the wire: "device": {"__handle__": "Blockdev", "data": "ide0-hd0"}')
            infos = await session.query_block()
            for info in infos:
                story.say(f"{info!r}")
            hd, cd = infos[0].device, infos[1].device
            story.say(f"hd = {hd!r}, cd = {cd!r}: bound to the session, isinstance(hd, Blockdev) holds")

            def on_io_error(owner: Any, operation: Any, action: Any) -> None:
                story.delivered(
                    f"IO_ERROR -> on_io_error(owner={owner}, operation={operation}, action={action})"
                )

            def on_tray(owner: Any, tray_open: bool) -> None:
                story.delivered(f"TRAY_MOVED -> on_tray(owner={owner}, tray_open={tray_open})")

            story.step("connect slots: hd.io_error.connect(on_io_error), cd.tray_moved.connect(on_tray)")
            c1 = hd.io_error.connect(on_io_error)
            c2 = cd.tray_moved.connect(on_tray)
            await session.flush()
            story.say(f'> {{"connect": "IO_ERROR", "owner": <hd, canonical>, ...}}    < connection {c1.id}')
            story.say(f'> {{"connect": "TRAY_MOVED", "owner": <cd, canonical>, ...}}  < connection {c2.id}')
            story.say("connection ids are the server's; each connection is to one owner")

            story.step("inject an I/O error on ide1-cd0 (x-inject-io-error device=ide1-cd0)")
            before = story.deliveries
            await session.x_inject_io_error(device=cd, operation="read", action="report")
            # Signals are pushed before the command's reply: once it returned, they arrived.
            story.expect_none(before, "nobody connected to IO_ERROR of ide1-cd0 (signals are per owner)")

            story.step("inject an I/O error on ide0-hd0")
            await session.x_inject_io_error(device=hd, operation="write", action="stop")

            story.step("open the tray of ide1-cd0, then close it")
            await session.blockdev_open_tray(device=cd)
            await session.blockdev_close_tray(device=cd)

            story.step("hd.io_error.disconnect(c1); another error on ide0-hd0 is not delivered")
            hd.io_error.disconnect(c1)
            await session.flush()
            before = story.deliveries
            await session.x_inject_io_error(device=hd, operation="read", action="stop")
            story.expect_none(before, "the connection is gone")

        story.step("meanwhile the plain client saw every emission mirrored as a QMP event:")
        await plain.call({"execute": "query-version"})  # a round trip: the events came before it
        for event in plain.events:
            shown = {k: v for k, v in event.items() if k != "timestamp"}
            story.say(f"< {_wire(shown)}")
        story.say(f"{len(plain.events)} events, of every device: a plain client filters by 'device' itself")
        await plain.close()
    finally:
        await server.close()
