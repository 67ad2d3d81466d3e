"""A minimal QMP server: the reference for "the server is not the bottleneck".

It does no validation and no dispatch: it sends the greeting, answers every
request with a canned reply (the same bytes the qobjects demo server sends
for ``query-version`` and ``query-block``, ``{}`` for anything else), answers
``connect`` with a connection id, and answers ``x-bench-emit`` by writing
``count`` pre-encoded signal and ``BLOCK_IO_ERROR`` event lines (the bytes the
qobjects server sends) to every session in chunks (signals to the sessions
that connected, events to all), waiting for a socket whenever its client
falls behind.

Run it with ``python -m bench.servers minimal --unix PATH``.
"""

from __future__ import annotations

import asyncio
import json
import time

from bench.servers import EMIT_BATCH, HIGH_WATER

GREETING = (
    b'{"QMP":{"version":{"qemu":{"major":0,"minor":1,"micro":0},'
    b'"package":"qobjects 0.1.0"},"capabilities":[]}}\r\n'
)
VERSION = '{"qemu":{"major":0,"minor":1,"micro":0},"package":"qobjects 0.1.0"}'


def _blocks(explicit: bool) -> str:
    def dev(name: str) -> str:
        return f'{{"__handle__":"Blockdev","data":"{name}"}}' if explicit else f'"{name}"'

    return (
        f'[{{"device":{dev("ide0-hd0")},"type":"hd","removable":false,"locked":false}},'
        f'{{"device":{dev("ide1-cd0")},"type":"cd","removable":true,"locked":false,"tray_open":false}}]'
    )


_raw_decode = json.JSONDecoder().raw_decode
OWNER = '{"__handle__":"Blockdev","data":"ide0-hd0"}'


def _timestamp() -> str:
    now = time.time()
    s = int(now)
    return f'{{"seconds":{s},"microseconds":{int((now - s) * 1_000_000)}}}'


SESSIONS: set[MinimalSession] = set()


class MinimalSession(asyncio.Protocol):
    """One client: canned replies, bulk emission with flow control."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = ""
        self.explicit = False
        self.user_data: list[str] = []  # encoded user_data of each connect
        self.can_write: asyncio.Future[None] | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.next_id = 1

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=HIGH_WATER)  # as x-bench-emit on the qobjects server
        transport.write(GREETING)
        SESSIONS.add(self)

    def pause_writing(self) -> None:
        self.can_write = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self.can_write is not None and not self.can_write.done():
            self.can_write.set_result(None)
        self.can_write = None

    def connection_lost(self, exc: Exception | None) -> None:
        SESSIONS.discard(self)
        self.transport = None
        self.resume_writing()
        for task in self.tasks:
            task.cancel()

    def data_received(self, data: bytes) -> None:
        # QMP is a stream of JSON values, not of lines: qemu.qmp sends no line endings.
        text = self.buf + data.decode()
        pos, n = 0, len(text)
        while True:
            while pos < n and text[pos] in " \t\r\n":
                pos += 1
            if pos == n:
                break
            try:
                msg, pos = _raw_decode(text, pos)
            except json.JSONDecodeError:
                break  # incomplete: wait for more
            self.request(msg)
        self.buf = text[pos:]

    def reply(self, result: str, msg: dict[str, object]) -> None:
        assert self.transport is not None
        tail = f',"id":{json.dumps(msg["id"])}}}\r\n' if "id" in msg else "}\r\n"
        self.transport.write(f'{{"return":{result}{tail}'.encode())

    def request(self, msg: dict[str, object]) -> None:
        command = msg.get("execute")
        if command == "query-version":
            self.reply(VERSION, msg)
        elif command == "query-block":
            self.reply(_blocks(self.explicit), msg)
        elif command == "set-explicit-handles":
            self.explicit = True
            self.reply("{}", msg)
        elif command == "x-bench-emit":
            args = msg.get("arguments")
            count = args.get("count", 0) if isinstance(args, dict) else 0
            task = asyncio.get_running_loop().create_task(self.emit(count, msg))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        elif "connect" in msg:
            self.user_data.append(json.dumps(msg.get("user_data"), separators=(",", ":")))
            self.reply(str(self.next_id), msg)
            self.next_id += 1
        else:
            self.reply("{}", msg)

    def _chunk(self, n: int) -> bytes:
        ts = _timestamp()
        pair = "".join(
            f'{{"signal":"IO_ERROR","owner":{OWNER},"user_data":{ud},'
            f'"data":{{"operation":"read","action":"stop"}},"timestamp":{ts}}}\r\n'
            for ud in self.user_data
        )
        pair += (
            f'{{"timestamp":{ts},"event":"BLOCK_IO_ERROR",'
            '"data":{"device":"ide0-hd0","operation":"read","action":"stop"}}\r\n'
        )
        return pair.encode() * n

    async def emit(self, count: int, msg: dict[str, object]) -> None:
        sessions = list(SESSIONS)
        full = {session: session._chunk(EMIT_BATCH) for session in sessions}
        for _ in range(count // EMIT_BATCH):
            for session in sessions:
                if session.transport is not None:
                    session.transport.write(full[session])
            await asyncio.sleep(0)
            for session in sessions:
                if session.can_write is not None:
                    await session.can_write
        if count % EMIT_BATCH:
            for session in sessions:
                if session.transport is not None:
                    session.transport.write(session._chunk(count % EMIT_BATCH))
        self.reply("{}", msg)


async def serve(path: str) -> asyncio.Server:
    """Listen on Unix socket *path*."""
    return await asyncio.get_running_loop().create_unix_server(MinimalSession, path)
