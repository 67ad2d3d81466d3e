"""The QMP server: commands, handles and signals over Unix or TCP sockets.

One :class:`Server` serves many sessions at once. Each session is an
:class:`asyncio.Protocol` driving a sans-I/O :class:`QMPProtocol`.

Signals: a remote ``connect`` becomes an ordinary local connection whose
slot encodes the emission and queues it on the session, so a server-side
``emit`` (from any thread) reaches local slots and remote sessions alike and
never waits for the network. Output is queued per session and flushed by the
event loop; a session whose queue passes its limit (``max_queue`` messages,
default 10,000, or ``max_buffer`` bytes unsent in the socket, default 16 MiB)
is closed with a logged reason and its connections dropped, so a slow reader
never slows the emitter or the other sessions.

QMP has no authentication: anyone who can open the socket controls what the
server exposes. Prefer Unix sockets (created mode 0600); bind TCP servers to
loopback unless the network is trusted.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from qobjects import __version__
from qobjects.codecs import DecodeContext, encode_members
from qobjects.errors import InvalidHandleValue, QMPError, ValidationError
from qobjects.objects import CommandSpec, Handle, HandleCodec, Namespace, build
from qobjects.qmp.framing import encode_json
from qobjects.qmp.protocol import (
    BadMessage,
    Closed,
    Connect,
    Disconnect,
    ErrorReply,
    Event,
    Execute,
    Greeting,
    Mode,
    QMPProtocol,
    Return,
    Role,
)
from qobjects.schema import Schema
from qobjects.signals import BoundSignal, Connection, Signal

__all__ = ["Server"]

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

SERVER_CTX = DecodeContext(strict=True)
CONTROL_COMMANDS = ("qmp_capabilities", "set-explicit-handles")


def _cache_key(values: dict[str, Any], names: list[str]) -> object:
    """A key telling apart every value that encodes differently; raises TypeError if none.

    Floats (-0.0 == 0.0) and tuples ((1, True) == (1, 1)) compare equal across
    encodings, so they are never cached.
    """
    key = tuple([(type(v), v) for v in map(values.get, names)])
    if any(t is float or t is tuple for t, _ in key):
        raise TypeError("not cacheable")
    hash(key)
    return key


def _timestamp() -> tuple[int, int]:
    now = time.time()
    seconds = int(now)
    return seconds, int((now - seconds) * 1_000_000)


class Server:
    """A QMP server for the objects of one schema.

    :param schema: a checked :class:`Schema`, a schema file path, or None for
        the bundled default schema.
    :param max_queue: messages a session may have waiting before it is closed.
    :param max_buffer: unsent bytes a session may have before it is closed.
    :param max_message_size: the largest message a client may send.
    :param backlog: connections the kernel may queue before the server accepts
        them (asyncio's default, 100, is too few for bursts of clients: past
        it a non-blocking connect fails, and asyncio clients take that for a
        connection that never greets).
    """

    def __init__(
        self,
        schema: Schema | str | os.PathLike[str] | None = None,
        *,
        namespace: Namespace | None = None,
        max_queue: int = 10_000,
        max_buffer: int = 16 << 20,
        max_message_size: int = 1 << 20,
        backlog: int = socket.SOMAXCONN,
    ) -> None:
        if namespace is None:
            if schema is None:
                from qobjects import default_namespace

                namespace = default_namespace()
            else:
                namespace = build(schema)
        self.namespace = namespace
        self.max_queue = max_queue
        self.max_buffer = max_buffer
        self.max_message_size = max_message_size
        self.backlog = backlog
        self.version: dict[str, object] = {
            "qemu": {"major": 0, "minor": 1, "micro": 0},
            "package": f"qobjects {__version__}",
        }
        self._impl: dict[str, Callable[..., Any]] = {
            "query-commands": self._query_commands,
            "query-version": lambda: self.version,
            "query-qmp-schema": self._query_qmp_schema,
        }
        self._sessions: set[ServerSession] = set()
        self._servers: list[asyncio.base_events.Server] = []
        self._unix_paths: list[Path] = []
        self._schema_info: list[dict[str, object]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.connections: dict[int, tuple[ServerSession, Connection[Any]]] = {}
        self._mirrors: list[Connection[Any]] = []

    # --- commands -----------------------------------------------------------

    def command(self, name: str) -> Callable[[F], F]:
        """Decorator binding a Python function to the schema command *name*.

        The function gets the checked arguments by Python name (handles
        resolved); it may be ``async def``. What it returns is checked against
        the command's ``returns`` type.

        :raises ValueError: the schema has no such command.
        """
        if name not in self.namespace.commands:
            raise ValueError(f"the schema has no command {name!r}")

        def register(fn: F) -> F:
            self._impl[name] = fn
            return fn

        return register

    def _query_commands(self) -> list[dict[str, object]]:
        names = [*CONTROL_COMMANDS, *(n for n in self.namespace.commands if n in self._impl)]
        return [{"name": n} for n in dict.fromkeys(names)]

    def _query_qmp_schema(self) -> list[dict[str, object]]:
        if self._schema_info is None:
            from qobjects.schema.introspect import introspect

            self._schema_info = introspect(self.namespace.schema)
        return self._schema_info

    # --- events -------------------------------------------------------------

    def emit_event(self, name: str, **data: Any) -> None:
        """Send the schema event *name* to every session in command mode.

        Safe from any thread.

        :raises ValueError: the schema has no such event.
        :raises ValidationError: *data* does not match the event's members.
        """
        spec = self.namespace.events.get(name)
        if spec is None:
            raise ValueError(f"the schema has no event {name!r}")
        values = spec.check(**data)
        self._broadcast(name, spec.args, values)

    def _broadcast(self, name: str, specs: Any, values: dict[str, Any]) -> None:
        ts = _timestamp()

        def line_for(proto: QMPProtocol) -> bytes:
            payload = encode_members(specs, values, proto.explicit_handles)
            return proto.send(Event(name, payload or None, ts))

        self._push_event(line_for)

    def _push_event(self, line_for: Callable[[QMPProtocol], bytes]) -> None:
        """Push an event to every session in command mode.

        The line is made once per handle form (plain or canonical) by
        ``line_for(protocol)`` and shared by the sessions of that form.
        """
        lines: dict[bool, bytes] = {}
        for session in list(self._sessions):
            proto = session.proto
            if proto.mode is not Mode.COMMAND:
                continue
            explicit = proto.explicit_handles
            line = lines.get(explicit)
            if line is None:
                line = lines[explicit] = line_for(proto)
            session.push(line)

    def _mirror_signals(self) -> None:
        """Send each emission of a mapped signal as its QMP event too (while serving)."""
        if self._mirrors:
            return
        schema = self.namespace.schema
        for sig_ent in schema.signals():
            if sig_ent.event is None or sig_ent.owner_member is None:
                continue
            handle_cls = self.namespace.handles[sig_ent.owner.name]
            signal = handle_cls._signals[sig_ent.name]
            spec = self.namespace.events[sig_ent.event.name]
            slot = self._make_mirror(signal, spec.name, sig_ent.owner_member)
            self._mirrors.append(signal.connect(slot))

    def _make_mirror(self, signal: Signal, event: str, owner_member: str) -> Callable[..., None]:
        spec = self.namespace.events[event]
        provided = {s.py for s in signal.specs}
        owner_py = next(s.py for s in spec.args if s.name == owner_member)
        owner_is_handle = isinstance(next(s.codec for s in spec.args if s.name == owner_member), HandleCodec)
        extra = [s for s in spec.args if s.py not in provided and s.py != owner_py]
        pys = [s.py for s in spec.args]
        name_json = encode_json(event)
        tails: dict[object, str] = {}

        def mirror(owner: Handle, **values: Any) -> None:
            if not self._sessions:
                return
            values[owner_py] = owner if owner_is_handle else str(owner.value)
            if extra:
                for s in extra:
                    # Event members the signal does not carry come from the target.
                    v = getattr(owner.target, s.py, None)
                    if v is None and not s.optional:
                        log.error("event %s: owner %s has no %r; event not sent", event, owner, s.py)
                        return
                    values[s.py] = v
                try:
                    values = spec.check(**values)
                except ValidationError as err:
                    log.error("event %s not sent: %s", event, err)
                    return
                self._broadcast(event, spec.args, values)
                return
            # Every member is the signal's, which emit already checked; the
            # event's JSON after the timestamp depends only on the values.
            try:
                key: object = _cache_key(values, pys)
                hash(key)
            except TypeError:
                self._broadcast(event, spec.args, values)
                return
            sec, usec = _timestamp()
            head = f'{{"timestamp":{{"seconds":{sec},"microseconds":{usec}}}'

            def line_for(proto: QMPProtocol) -> bytes:
                explicit = proto.explicit_handles
                tail = tails.get((key, explicit))
                if tail is None:
                    payload = encode_members(spec.args, values, explicit)
                    tail = f',"event":{name_json},"data":{encode_json(payload)}}}\r\n'
                    if len(tails) < 1024:
                        tails[key, explicit] = tail
                return (head + tail).encode()

            self._push_event(line_for)

        return mirror

    # --- life cycle -----------------------------------------------------------

    async def start_unix(self, path: str | os.PathLike[str]) -> None:
        """Listen on a Unix socket at *path* (created mode 0600)."""
        self._loop = asyncio.get_running_loop()
        self._mirror_signals()
        path = Path(path)
        old = os.umask(0o177)
        try:
            srv = await self._loop.create_unix_server(self._new_session, str(path), backlog=self.backlog)
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        self._servers.append(srv)
        self._unix_paths.append(path)
        log.info("listening on unix:%s", path)

    async def start_tcp(self, host: str, port: int) -> int:
        """Listen on TCP *host*:*port* (port 0 picks one); returns the port.

        QMP has no authentication: bind to loopback unless the network is trusted.
        """
        if not host:
            raise ValueError("start_tcp needs an explicit host (e.g. '127.0.0.1')")
        self._loop = asyncio.get_running_loop()
        self._mirror_signals()
        srv = await self._loop.create_server(self._new_session, host, port, backlog=self.backlog)
        self._servers.append(srv)
        bound = srv.sockets[0].getsockname()[1]
        log.info("listening on tcp:%s:%d", host, bound)
        return int(bound)

    async def serve_forever(self) -> None:
        """Serve until cancelled (start_unix/start_tcp first)."""
        try:
            await asyncio.gather(*(s.serve_forever() for s in self._servers))
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop listening, end every session, remove Unix socket files."""
        for srv in self._servers:
            srv.close()
        for session in list(self._sessions):
            session.close("server closing")
        for srv in self._servers:
            with contextlib.suppress(Exception):
                await srv.wait_closed()
        self._servers.clear()
        for path in self._unix_paths:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self._unix_paths.clear()
        for conn in self._mirrors:
            conn.disconnect(missing_ok=True)
        self._mirrors.clear()

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def sessions(self) -> int:
        """How many sessions are open."""
        return len(self._sessions)

    def _new_session(self) -> ServerSession:
        return ServerSession(self)


class ServerSession(asyncio.Protocol):
    """One client connection."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.proto = QMPProtocol(Role.SERVER, max_message_size=server.max_message_size)
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()
        self.out: deque[bytes] = deque()
        self.flush_pending = False
        self.closing = False
        self.busy = False
        self.backlog: deque[object] = deque()
        self.conns: dict[int, Connection[Any]] = {}
        self.peer = "?"

    # --- transport callbacks ---------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = str(peer) if peer else "unix"
        self.server._sessions.add(self)
        log.info("session %x opened (%s)", id(self), self.peer)
        greeting = Greeting(self.server.version, [])
        self.push(self.proto.send(greeting))

    def data_received(self, data: bytes) -> None:
        # Split the bytes into JSON values now, but read each value as a request
        # only when its turn comes: what a request means depends on the mode,
        # which the requests before it in the same read may change
        # (qmp_capabilities written together with the first commands).
        try:
            values = self.proto.split(data)
        except Exception:  # the protocol must not fail; if it does, end this session only
            log.exception("session %x: protocol failure", id(self))
            self.close("protocol failure")
            return
        # Replies to this read are written at its end, in this pass of the
        # loop, rather than one pass later.
        flush_here = not self.flush_pending
        self.flush_pending = True
        for value in values:
            if self.busy:
                self.backlog.append(value)
            else:
                self._handle_value(value)
        if flush_here:
            self._flush()

    def _handle_value(self, value: object) -> None:
        if self.closing:
            return
        try:
            ev = self.proto.interpret(value)
            self._handle(ev)
        except Exception:  # never let one request end the read loop; end this session only
            log.exception("session %x: protocol failure", id(self))
            self.close("protocol failure")

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._drop_connections()
        self.server._sessions.discard(self)
        self.closing = True
        log.info("session %x closed (%s)", id(self), exc or "EOF")

    # --- output ------------------------------------------------------------------

    def push(self, data: bytes) -> None:
        """Queue *data* for sending; safe from any thread, never blocks."""
        if self.closing:
            return
        self.out.append(data)
        if len(self.out) > self.server.max_queue:
            self._schedule(self._overflow)
            return
        if not self.flush_pending:
            self.flush_pending = True
            self._schedule(self._flush)

    def _schedule(self, fn: Callable[[], None]) -> None:
        if threading.get_ident() == self.loop_thread:
            self.loop.call_soon(fn)
        else:
            try:
                self.loop.call_soon_threadsafe(fn)
            except RuntimeError:  # loop closed: the session is gone
                self.closing = True

    def _flush(self) -> None:
        self.flush_pending = False
        transport = self.transport
        if transport is None or self.closing:
            return
        out = self.out
        chunks = []
        while out:
            chunks.append(out.popleft())
        if chunks:
            transport.write(b"".join(chunks))
        if transport.get_write_buffer_size() > self.server.max_buffer:
            self.close(f"slow reader: over {self.server.max_buffer} bytes unsent")

    def _overflow(self) -> None:
        if not self.closing:
            self.close(f"slow reader: over {self.server.max_queue} messages queued")

    def close(self, reason: str) -> None:
        """End the session and drop its connections."""
        if self.closing:
            return
        log.warning("session %x closed: %s", id(self), reason) if reason.startswith("slow") else log.info(
            "session %x closing: %s", id(self), reason
        )
        self.closing = True
        self.out.clear()
        self._drop_connections()
        if self.transport is not None:
            self.transport.abort()

    def _drop_connections(self) -> None:
        for cid, conn in list(self.conns.items()):
            self.server.connections.pop(cid, None)
            bound = conn.bound
            if bound is not None:
                bound._detach(conn)
        self.conns.clear()

    def reply(self, value: object, ev: Any) -> None:
        self.push(self.proto.send(Return(value, ev.id, ev.has_id)))

    def error(self, error_class: str, desc: str, ev: Any) -> None:
        self.push(self.proto.send(ErrorReply(error_class, desc, ev.id, ev.has_id)))

    # --- dispatch ----------------------------------------------------------------

    def _handle(self, ev: object) -> None:
        if isinstance(ev, Execute):
            self._execute(ev)
        elif isinstance(ev, Connect):
            self._connect(ev)
        elif isinstance(ev, Disconnect):
            self._disconnect(ev)
        elif isinstance(ev, BadMessage):
            self.error(ev.error_class, ev.desc, ev)
        elif isinstance(ev, Closed):
            if self.transport is not None:
                self.transport.close()

    def _execute(self, ev: Execute) -> None:
        name = ev.command
        if name == "qmp_capabilities":
            self._qmp_capabilities(ev)
            return
        if name == "set-explicit-handles":
            if ev.arguments:
                self.error("GenericError", "set-explicit-handles takes no arguments", ev)
                return
            self.proto.set_explicit_handles()
            self.reply({}, ev)
            return
        server = self.server
        spec = server.namespace.commands.get(name)
        fn = server._impl.get(name)
        if fn is None or spec is None:
            self.error("CommandNotFound", f"The command {name} has not been found", ev)
            return
        try:
            args = spec.decode_args(ev.arguments, SERVER_CTX)
        except InvalidHandleValue as err:
            self.error(err.error_class, err.desc, ev)
            return
        except ValidationError as err:
            self.error("GenericError", str(err), ev)
            return
        if inspect.iscoroutinefunction(fn):
            self.busy = True
            task = self.loop.create_task(self._run_async(fn, args, spec, ev))
            task.add_done_callback(lambda _: None)
            return
        try:
            result = fn(**args)
        except Exception as err:
            self._command_failed(name, err, ev)
            return
        self._send_result(spec, result, ev)

    async def _run_async(
        self, fn: Callable[..., Any], args: dict[str, Any], spec: CommandSpec, ev: Execute
    ) -> None:
        try:
            result = await fn(**args)
        except Exception as err:
            self._command_failed(spec.name, err, ev)
        else:
            self._send_result(spec, result, ev)
        finally:
            self.busy = False
            while self.backlog and not self.busy:
                self._handle_value(self.backlog.popleft())

    def _command_failed(self, name: str, err: Exception, ev: Execute) -> None:
        if isinstance(err, QMPError):
            self.error(err.error_class, err.desc, ev)
            return
        log.error("command %s failed", name, exc_info=err)
        self.error("GenericError", str(err) or type(err).__name__, ev)

    def _send_result(self, spec: CommandSpec, result: object, ev: Execute) -> None:
        if spec.ret is None:
            if not spec.success_response:
                return
            self.reply({}, ev)
            return
        if spec.name in ("query-qmp-schema", "query-version", "query-commands"):
            self.reply(result, ev)  # built-ins return JSON directly
            return
        try:
            value = spec.ret.check(result, f"result of '{spec.name}'", "")
            encoded = spec.ret.encode(value, self.proto.explicit_handles)
        except ValidationError as err:
            log.error("command %s returned a bad value: %s", spec.name, err)
            self.error("GenericError", f"internal error: {err}", ev)
            return
        self.reply(encoded, ev)

    def _qmp_capabilities(self, ev: Execute) -> None:
        args = ev.arguments
        unknown = set(args) - {"enable"}
        if unknown:
            self.error("GenericError", f"Parameter '{sorted(unknown)[0]}' is unexpected", ev)
            return
        enable = args.get("enable", [])
        if not isinstance(enable, list) or not all(isinstance(c, str) for c in enable):
            self.error("GenericError", "Parameter 'enable' expects an array of capability names", ev)
            return
        if enable:
            self.error("GenericError", f"Capability '{enable[0]}' not available", ev)
            return
        self.proto.negotiated()
        self.reply({}, ev)

    # --- signals -------------------------------------------------------------------

    def _owner(self, owner: object) -> tuple[type[Handle], Handle] | str:
        """Resolve a canonical owner; an error desc on failure (InvalidHandleValue raised)."""
        if not (isinstance(owner, dict) and set(owner) == {"__handle__", "data"}):
            return '\'owner\' must be a handle in canonical form {"__handle__": TYPE, "data": VALUE}'
        tname = owner["__handle__"]
        cls = self.server.namespace.handles.get(tname) if isinstance(tname, str) else None
        if cls is None:
            known = ", ".join(self.server.namespace.handles) or "none"
            return f"unknown handle type {tname!r} (handle types: {known})"
        return cls, cls.find(owner["data"])

    def _connect(self, ev: Connect) -> None:
        if not self.proto.explicit_handles:
            self.error(
                "GenericError",
                "connect needs explicit handles: execute 'set-explicit-handles' before 'qmp_capabilities'",
                ev,
            )
            return
        try:
            found = self._owner(ev.owner)
        except InvalidHandleValue as err:
            self.error(err.error_class, err.desc, ev)
            return
        if isinstance(found, str):
            self.error("GenericError", found, ev)
            return
        cls, owner = found
        signal = cls._signals.get(ev.signal)
        if signal is None:
            owners = [n for n, h in self.server.namespace.handles.items() if ev.signal in h._signals]
            mine = ", ".join(cls._signals) or "none"
            if owners:
                desc = (
                    f"signal '{ev.signal}' belongs to {', '.join(owners)}, "
                    f"not {cls.__name__} (its signals: {mine})"
                )
            else:
                desc = f"unknown signal '{ev.signal}' (signals of {cls.__name__}: {mine})"
            self.error("GenericError", desc, ev)
            return
        bound: BoundSignal = getattr(owner, signal.attr)
        conn = bound.connect(self._make_pusher(signal, owner, ev.user_data))
        self.conns[conn.id] = conn
        self.server.connections[conn.id] = (self, conn)
        self.reply(conn.id, ev)

    def _make_pusher(self, signal: Signal, owner: Handle, user_data: object) -> Callable[..., None]:
        specs = signal.specs
        pys = [s.py for s in specs]
        owner_json = {"__handle__": type(owner).__handle_name__, "data": owner.value}
        # The message up to the timestamp depends only on the data: encode the
        # rest once per connection and each distinct data once.
        prefix = (
            f'{{"signal":{encode_json(signal.name)},"owner":{encode_json(owner_json)},'
            f'"user_data":{encode_json(user_data)}'
        )
        bodies: dict[object, str] = {}
        push = self.push

        def body_for(values: dict[str, Any]) -> str:
            data = encode_members(specs, values, True)
            return prefix + (f',"data":{encode_json(data)}' if data else "") + ',"timestamp":'

        def pusher(_owner: Handle, **values: Any) -> None:
            try:
                key = _cache_key(values, pys)
                body = bodies.get(key)
            except TypeError:  # unhashable data (lists, structs): no caching
                key, body = None, None
            if body is None:
                body = body_for(values)
                if key is not None and len(bodies) < 1024:
                    bodies[key] = body
            s, us = _timestamp()
            push(f'{body}{{"seconds":{s},"microseconds":{us}}}}}\r\n'.encode())

        return pusher

    def _disconnect(self, ev: Disconnect) -> None:
        cid = ev.connection
        conn = self.conns.get(cid) if isinstance(cid, int) and not isinstance(cid, bool) else None
        if conn is None:
            other = self.server.connections.get(cid) if isinstance(cid, int) else None
            if other is not None:
                desc = f"connection {cid} belongs to another session"
            else:
                desc = f"no connection {cid!r} in this session"
            self.error("GenericError", desc, ev)
            return
        try:
            found = self._owner(ev.owner)
        except InvalidHandleValue as err:
            self.error(err.error_class, err.desc, ev)
            return
        if isinstance(found, str):
            self.error("GenericError", found, ev)
            return
        _, owner = found
        if conn.owner != owner:
            self.error(
                "GenericError",
                f"connection {cid} is on owner {conn.owner}, not {owner}",
                ev,
            )
            return
        assert isinstance(cid, int) and conn.bound is not None
        del self.conns[cid]
        self.server.connections.pop(cid, None)
        conn.bound._detach(conn)
        self.reply({}, ev)
