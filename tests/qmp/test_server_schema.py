"""connect() learns a plain QMP server's schema, and falls back to the bundled one when it cannot."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import qobjects
from qobjects.qmp.introspect import ServerNamespace
from qobjects.schema import parse_schema
from qobjects.schema.introspect import introspect

SCHEMA = introspect(
    parse_schema(
        """
{ 'struct': 'StatusInfo', 'data': { 'running': 'bool', 'status': 'str' } }
{ 'command': 'query-status', 'returns': 'StatusInfo' }
{ 'command': 'query-other', 'data': { 'n': 'int' }, 'returns': [ 'StatusInfo' ] }
{ 'event': 'DEVICE_TRAY_MOVED', 'data': { 'device': 'str', 'id': 'str', 'tray-open': 'bool' } }
""",
        "plain.json",
    )
)

def _plain_connect(address: Any, **options: Any) -> Any:
    """A session of the server's own schema: its commands are not in the default
    schema's stubs (``qobjects stubgen --from`` writes stubs for them)."""
    return qobjects.connect(address, **options)



class PlainServer:
    """A QMP server without qobjects' extensions, in a thread: *schema* answers query-qmp-schema."""

    def __init__(self, path: Path, schema: object) -> None:
        self.path = path
        self.schema = schema
        self.writers: set[asyncio.StreamWriter] = set()
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(10)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_unix_server(self._client, str(self.path)))
        ready.set()
        self.loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        greeting = {"QMP": {"version": {"qemu": {"major": 0, "minor": 0, "micro": 0}, "package": ""},
                            "capabilities": []}}  # fmt: skip
        writer.write(json.dumps(greeting).encode() + b"\r\n")
        while line := await reader.readline():
            msg = json.loads(line)
            cmd = msg.get("execute")
            reply: dict[str, Any]
            if cmd == "qmp_capabilities":
                reply = {"return": {}}
            elif cmd == "query-qmp-schema" and self.schema is not None:
                reply = {"return": self.schema}
            elif cmd == "query-status":
                reply = {"return": {"running": True, "status": "running"}}
            else:
                desc = f"The command {cmd} has not been found"
                reply = {"error": {"class": "CommandNotFound", "desc": desc}}
            if "id" in msg:
                reply["id"] = msg["id"]
            writer.write(json.dumps(reply).encode() + b"\r\n")
        writer.close()

    async def _shutdown(self) -> None:
        """Close the listener and every client connection before the loop stops."""
        self.server.close()
        for writer in self.writers:
            writer.close()
        for writer in self.writers:
            try:
                await writer.wait_closed()
            except OSError:
                pass
        tasks = [t for t in asyncio.all_tasks(self.loop) if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    servers: list[PlainServer] = []

    def start(schema: object) -> Path:
        path = tmp_path / f"plain{len(servers)}.sock"
        servers.append(PlainServer(path, schema))
        return path

    yield start
    for s in servers:
        s.close()


def test_plain_server_schema_is_used(serve: Any) -> None:
    with _plain_connect(serve(SCHEMA)) as s:
        assert isinstance(s.namespace, ServerNamespace)
        status = s.query_status()
        assert type(status).__name__ == "QueryStatusReturn" and status.running is True
        # Only what was used is built: one command of the server's schema.
        assert list(s.namespace.commands._made) == ["query-status"]  # type: ignore[attr-defined]


def test_without_query_qmp_schema_the_bundled_schema_stays(serve: Any) -> None:
    with qobjects.connect(serve(None)) as s:
        assert s.namespace is qobjects.default_namespace()


def test_malformed_schema_falls_back_and_says_why(serve: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO), qobjects.connect(serve({"not": "a list"})) as s:
        assert s.namespace is qobjects.default_namespace()
    assert "keeping the bundled schema" in caplog.text and "SchemaInfo" in caplog.text


def test_async_connect_learns_too(serve: Any) -> None:
    path = serve(SCHEMA)

    async def main() -> None:
        s: Any = await qobjects.aconnect(path)
        try:
            assert isinstance(s.namespace, ServerNamespace)
            assert (await s.query_status()).status == "running"
        finally:
            await s.close()

    asyncio.run(main())
