"""Remote proxy mode: the schema's classes bound to a QMP connection.

There is one implementation, :class:`AsyncSession` (asyncio). The
synchronous :class:`Session` runs an AsyncSession on an event loop in a
background thread and waits for its results; the slots of a synchronous
session therefore run in that background thread.

Negotiation asks for explicit handles (``set-explicit-handles`` before
``qmp_capabilities``). A server that does not know that command (a plain QMP
server such as QEMU) puts the session in *compatibility mode*: signals that
the schema maps to an event are emulated from that event, filtered by the
event's owner member; connection ids are then local.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import blinker

from qobjects.codecs import DecodeContext, decode_members, encode_members
from qobjects.errors import (
    ConnectionLost,
    ProtocolError,
    QMPError,
    SlotError,
    StateError,
    ValidationError,
    qmp_error,
)
from qobjects.objects import CommandSpec, Handle, Namespace, StructCodec, build
from qobjects.qmp.protocol import (
    BadMessage,
    Closed,
    Connect,
    Disconnect,
    ErrorReply,
    Event,
    Execute,
    Greeting,
    QMPProtocol,
    Return,
    Role,
    SignalMessage,
)
from qobjects.schema import Schema
from qobjects.signals import BoundSignal, Connection, Signal, _raise_slot_error

__all__ = ["AsyncSession", "Session", "aconnect", "connect", "parse_address"]

log = logging.getLogger(__name__)

T = TypeVar("T")
H = TypeVar("H", bound=Handle)


def parse_address(address: str | os.PathLike[str]) -> tuple[str, Any]:
    """``("unix", path)`` or ``("tcp", (host, port))`` for an address string.

    Accepts ``unix:PATH``, ``tcp:HOST:PORT`` (``tcp:[::1]:4444`` for IPv6)
    or a plain path.

    :raises ValueError: a malformed address, with what was wrong.
    """
    text = os.fspath(address)
    if text.startswith("unix:"):
        path = text[5:]
        if not path:
            raise ValueError(f"bad address {text!r}: 'unix:' needs a path")
        return "unix", path
    if text.startswith("tcp:"):
        rest = text[4:]
        host, sep, port = rest.rpartition(":")
        if not sep or not host:
            raise ValueError(f"bad address {text!r}: expected tcp:HOST:PORT")
        host = host.strip("[]")
        try:
            num = int(port)
        except ValueError:
            raise ValueError(f"bad address {text!r}: port {port!r} is not a number") from None
        if not 0 < num < 65536:
            raise ValueError(f"bad address {text!r}: port {num} out of range")
        return "tcp", (host, num)
    if not text:
        raise ValueError("empty address")
    return "unix", text


class _ClientContext(DecodeContext):
    """Replies are decoded leniently; handles are bound to the session."""

    __slots__ = ("session",)

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(strict=False)
        self.session = session

    def handle(self, cls: type[Handle], value: object) -> Handle:
        return cls._make(value, None, self.session)


@dataclass(slots=True)
class _Remote:
    """A remote connection: local token (sent as user_data) and server id."""

    token: int
    bound: BoundSignal
    conn: Connection[Any]
    server_id: int | None = None


class _ClientProtocol(asyncio.Protocol):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.session._data(self, data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.session._lost(self, exc)


class AsyncSession:
    """A QMP client session (asyncio). Make one with :func:`aconnect`.

    Commands: ``await session.execute("query-block")`` or the generated
    ``await session.query_block()``. Handles in replies are bound to the
    session; their signals connect over the wire.

    :ivar explicit: the server speaks handles and signals (not compatibility mode).
    :ivar state_changed: a blinker signal sent with ``state="connected"``,
        ``"disconnected"`` or ``"reconnected"``.
    """

    def __init__(
        self,
        address: str | os.PathLike[str],
        namespace: Namespace,
        *,
        reconnect: bool = False,
        timeout: float = 10.0,
        ask_explicit: bool = True,
    ) -> None:
        self.address = address
        self.ask_explicit = ask_explicit
        self._kind, self._where = parse_address(address)
        self.namespace = namespace
        self.reconnect = reconnect
        self.timeout = timeout
        self.explicit = False
        self.greeting: Greeting | None = None
        self.state_changed = blinker.Signal("state_changed")
        self._ctx = _ClientContext(self)
        self._ids = itertools.count(1)
        self._tokens = itertools.count(1)
        self._pending: dict[object, asyncio.Future[Any]] = {}
        self._remote: dict[int, _Remote] = {}
        self._emulated: dict[str, list[tuple[type[Handle], Signal, str]]] = {}
        self._event_listeners: list[Callable[[str, dict[str, Any] | None, tuple[int, int]], Any]] = []
        self._proto = QMPProtocol(Role.CLIENT)
        self._link: _ClientProtocol | None = None
        self._greeted: asyncio.Future[Greeting] | None = None
        self._closed = False
        self._reconnector: asyncio.Task[None] | None = None
        self._sync = False  # set by Session: remote connect/disconnect block
        self._loop_thread: int | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._established = False  # set once aconnect succeeded
        self._decoded: dict[object, dict[str, Any]] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        for sig in namespace.schema.signals():
            if sig.event is not None and sig.owner_member is not None:
                cls = namespace.handles[sig.owner.name]
                self._emulated.setdefault(sig.event.name, []).append(
                    (cls, cls._signals[sig.name], sig.owner_member)
                )

    def __repr__(self) -> str:
        mode = "explicit handles" if self.explicit else "compatibility mode"
        return f"<AsyncSession {os.fspath(self.address)} {mode}>"

    # --- connection ---------------------------------------------------------------

    async def _open(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._proto = QMPProtocol(Role.CLIENT)
        self._greeted = self.loop.create_future()
        try:
            if self._kind == "unix":
                _, link = await self.loop.create_unix_connection(lambda: _ClientProtocol(self), self._where)
            else:
                host, port = self._where
                _, link = await self.loop.create_connection(lambda: _ClientProtocol(self), host, port)
        except OSError as err:
            raise ConnectionLost(
                f"cannot connect to {os.fspath(self.address)}: {err.strerror or err}"
            ) from err
        self._link = link
        self.greeting = await asyncio.wait_for(self._greeted, self.timeout)
        await self._negotiate()

    async def _negotiate(self) -> None:
        self.explicit = False
        try:
            if not self.ask_explicit:
                raise QMPError("not asked", "CommandNotFound")
            await self._call(Execute("set-explicit-handles", {}, None, True))
            self.explicit = True
            self._proto.set_explicit_handles()
        except QMPError as err:
            if err.error_class != "CommandNotFound":
                raise
            self.explicit = False
        await self._call(Execute("qmp_capabilities", {}, None, True))
        self._proto.negotiated()

    def _data(self, link: _ClientProtocol, data: bytes) -> None:
        if link is not self._link:
            return
        proto = self._proto
        # Events are only read when something uses them: listeners, or signals
        # emulated from events in compatibility mode.
        skip_events = self.explicit and not self._event_listeners
        for value in proto.split(data):
            if type(value) is dict:
                if skip_events and "event" in value:
                    continue
                if "signal" in value and self._signal_fast(value):
                    continue
            ev = proto.interpret(value)
            if type(ev) is SignalMessage:
                self._signal(ev.user_data, ev.data)
            elif isinstance(ev, (Return, ErrorReply)):
                fut = self._pending.pop(ev.id, None) if type(ev.id) is int else None
                if fut is None or fut.done():
                    continue  # replies with unknown ids are dropped, as QMP advises
                if isinstance(ev, Return):
                    fut.set_result(ev.value)
                else:
                    fut.set_exception(qmp_error(ev.error_class, ev.desc))
            elif isinstance(ev, Event):
                self._event(ev)
            elif isinstance(ev, Greeting):
                if self._greeted is not None and not self._greeted.done():
                    self._greeted.set_result(ev)
            elif isinstance(ev, BadMessage):
                log.warning("ignoring a message from the server: %s", ev.desc)
            elif isinstance(ev, Closed):
                pass

    def _lost(self, link: _ClientProtocol, exc: Exception | None) -> None:
        if link is not self._link:
            return
        self._link = None
        err = ConnectionLost(f"connection to {os.fspath(self.address)} lost" + (f": {exc}" if exc else ""))
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(err)
        self._pending.clear()
        if self._greeted is not None and not self._greeted.done():
            self._greeted.set_exception(err)
        if self._closed:
            return
        self._send_state("disconnected")
        for rem in self._remote.values():
            rem.server_id = None  # the old ids died with the connection
        # One reconnector at a time, and only for a session that was established.
        if (
            self.reconnect
            and self.loop is not None
            and self._established
            and (self._reconnector is None or self._reconnector.done())
        ):
            self._reconnector = self.loop.create_task(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        delay = 0.05
        while not self._closed:
            await asyncio.sleep(delay)
            try:
                await self._open()
                await self._restore()
            except (TimeoutError, ConnectionLost, OSError, QMPError) as err:
                log.info("reconnect to %s failed: %s", os.fspath(self.address), err)
                if self._link is not None:
                    self._link.transport and self._link.transport.abort()  # type: ignore[func-returns-value]
                    self._link = None
                delay = min(delay * 2, 2.0)
                continue
            self._send_state("reconnected")
            return

    async def _restore(self) -> None:
        """Re-establish every remote connection after a reconnect."""
        if not self.explicit:
            return
        for rem in list(self._remote.values()):
            if not rem.conn.connected:
                continue
            try:
                rem.server_id = await self._send_connect(rem)
            except ConnectionLost:
                raise
            except QMPError as err:  # that owner is gone: drop only this connection
                log.warning("cannot restore %s of %s: %s", rem.bound.signal.describe(), rem.bound.owner, err)
                self._remote.pop(rem.token, None)
                rem.bound._detach(rem.conn)
                continue
            rem.conn.id = rem.server_id

    def _send_state(self, state: str) -> None:
        try:
            self.state_changed.send(self, state=state)
        except Exception:
            log.exception("state_changed receiver failed")

    async def close(self) -> None:
        """Close the connection; pending calls fail with ConnectionLost."""
        self._closed = True
        if self._reconnector is not None:
            self._reconnector.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reconnector
        link = self._link
        if link is not None and link.transport is not None:
            link.transport.close()
            self._lost(link, None)
        for rem in list(self._remote.values()):
            rem.bound._detach(rem.conn)
        self._remote.clear()

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def connected(self) -> bool:
        return self._link is not None

    # --- commands -------------------------------------------------------------------

    async def _call(self, request: Execute | Connect | Disconnect) -> Any:
        link = self._link
        if link is None or link.transport is None or link.transport.is_closing():
            raise ConnectionLost(f"not connected to {os.fspath(self.address)}")
        cid = next(self._ids)
        request = type(request)(**{**_fields(request), "id": cid, "has_id": True})
        assert self.loop is not None
        fut: asyncio.Future[Any] = self.loop.create_future()
        self._pending[cid] = fut
        link.transport.write(self._proto.send(request))
        return await fut

    async def execute(self, command: str, **arguments: Any) -> Any:
        """Run *command*; arguments by Python or QAPI name.

        Commands the schema knows are checked before anything is sent and
        their replies decoded into the schema's classes; other commands are
        sent as they are and return the raw JSON reply.

        :raises ValidationError: the arguments do not match the schema.
        :raises QMPError: the server answered with an error (a subclass named by class).
        :raises ConnectionLost: the connection is gone.
        """
        spec = self.namespace.commands.get(command)
        if spec is None:
            return await self._call(Execute(command, arguments, None, True))
        return await self._execute(spec, arguments)

    async def execute_raw(self, command: str, arguments: dict[str, object] | None = None) -> object:
        """Send *command* with JSON *arguments* as they are; the raw JSON reply.

        :raises QMPError: the server answered with an error.
        :raises ConnectionLost: the connection is gone.
        """
        return await self._call(Execute(command, dict(arguments or {}), None, True))

    async def _execute(self, spec: CommandSpec, arguments: dict[str, Any]) -> Any:
        args = self._encode_args(spec, arguments)
        reply = await self._call(Execute(spec.name, args, None, True))
        if spec.ret is None:
            return None
        return spec.ret.decode(reply, self._ctx, f"reply to '{spec.name}'", "")

    def _encode_args(self, spec: CommandSpec, arguments: dict[str, Any]) -> dict[str, object]:
        arguments = {k.replace("-", "_"): v for k, v in arguments.items()}
        for name, value in arguments.items():
            if isinstance(value, Handle) and value._session not in (None, self):
                raise ValidationError(f"command '{spec.name}'", name, "handle belongs to another session")
        if spec.arg_codec is not None:
            if isinstance(spec.arg_codec, StructCodec):
                value = spec.arg_codec.cls(**arguments)
                return value.to_json(self.explicit)
            raise StateError(f"command '{spec.name}' takes a boxed alternate: use execute_raw")
        checked = spec.check(**arguments)
        return encode_members(spec.args, checked, self.explicit)

    def __getattr__(self, name: str) -> Callable[..., Coroutine[Any, Any, Any]]:
        spec = self._command_by_py(name)

        async def method(**arguments: Any) -> Any:
            return await self._execute(spec, arguments)

        method.__name__ = name
        method.__doc__ = spec.doc
        return method

    def _command_by_py(self, name: str) -> CommandSpec:
        if name.startswith("_"):
            raise AttributeError(name)
        for spec in self.namespace.commands.values():
            if spec.py == name:
                return spec
        raise AttributeError(f"the schema has no command {name!r}")

    def get(self, cls: type[H], value: object) -> H:
        """A handle of *cls* for *value* on this session (checked by the server on use).

        :raises InvalidHandleValue: *value* is not of the handle's scalar type.
        """
        from qobjects.errors import InvalidHandleValue, WrongType

        try:
            value = cls._scalar.check(value, cls.__handle_name__, "")
        except WrongType as err:
            raise InvalidHandleValue(
                f"'{value}' is not a valid {cls.__handle_name__}: {err.detail}"
            ) from None
        return cls._make(value, None, self)

    def add_event_listener(
        self, listener: Callable[[str, dict[str, Any] | None, tuple[int, int]], Any]
    ) -> None:
        """Call ``listener(name, data, timestamp)`` for every QMP event received."""
        self._event_listeners.append(listener)

    # --- signals ----------------------------------------------------------------------

    def _connect(self, bound: BoundSignal, conn: Connection[Any]) -> None:
        """Called by BoundSignal.connect on a handle of this session."""
        if self._closed:
            raise ConnectionLost(f"the session to {os.fspath(self.address)} is closed")
        if not self.explicit and self._mapping(bound.signal) is None:
            raise StateError(
                f"{bound.signal.describe()} has no event mapping, and {os.fspath(self.address)} "
                "does not support signals (compatibility mode)"
            )
        bound._attach(conn)
        if not self.explicit:
            return
        rem = _Remote(next(self._tokens), bound, conn)
        self._remote[rem.token] = rem
        self._run(self._remote_connect(rem), "connect")

    async def _remote_connect(self, rem: _Remote) -> None:
        try:
            rem.server_id = await self._send_connect(rem)
        except BaseException:
            self._remote.pop(rem.token, None)
            rem.bound._detach(rem.conn)
            raise
        rem.conn.id = rem.server_id

    async def _send_connect(self, rem: _Remote) -> int:
        owner = {"__handle__": type(rem.bound.owner).__handle_name__, "data": rem.bound.owner.value}
        sid = await self._call(Connect(rem.bound.signal.name, owner, rem.token, None, True))
        if not isinstance(sid, int):
            raise ProtocolError(f"connect returned {sid!r}, not a connection id")
        return sid

    def _disconnect(self, bound: BoundSignal, conn: Connection[Any]) -> None:
        bound._detach(conn)  # no delivery from here on
        rem = next((r for r in self._remote.values() if r.conn is conn), None)
        if rem is None:
            return
        del self._remote[rem.token]
        if rem.server_id is not None and self.connected:
            self._run(self._remote_disconnect(rem), "disconnect")

    async def _remote_disconnect(self, rem: _Remote) -> None:
        owner = {"__handle__": type(rem.bound.owner).__handle_name__, "data": rem.bound.owner.value}
        await self._call(Disconnect(rem.server_id, owner, None, True))

    def _run(self, coro: Coroutine[Any, Any, None], what: str) -> None:
        """Run a remote connect/disconnect: wait for it in sync sessions."""
        assert self.loop is not None
        if self._sync and threading.get_ident() != self._loop_thread:
            asyncio.run_coroutine_threadsafe(coro, self.loop).result(self.timeout)
            return
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # Also raised by flush(); logged for callers that never flush.
            log.warning("remote signal request failed: %s", task.exception())

    async def flush(self) -> None:
        """Wait until every pending remote connect/disconnect got its reply.

        :raises QMPError: one of them failed (the connection is then dropped).
        """
        tasks = [t for t in self._tasks if not t.done()]
        if tasks:
            await asyncio.gather(*tasks)

    def _mapping(self, signal: Signal) -> str | None:
        for name, entries in self._emulated.items():
            if any(sig is signal for _, sig, _ in entries):
                return name
        return None

    def _signal_fast(self, msg: dict[str, Any]) -> bool:
        """Deliver a well-formed signal push without building its event; False otherwise.

        The hot path of remote signals: the same shape checks as the
        protocol's, for the one message form a signal push has.
        """
        token = msg.get("user_data")
        data = msg.get("data")
        if (
            len(msg) != 5
            or type(token) is not int
            or type(data) is not dict
            or type(msg.get("timestamp")) is not dict
            or "owner" not in msg
        ):
            return False
        self._signal(token, data)
        return True

    def _signal(self, token: object, data: dict[str, Any] | None) -> None:
        rem = self._remote.get(token) if type(token) is int else None
        if rem is None:
            return  # a late push for a connection already gone
        data = data or {}
        bound = rem.bound
        signal = bound.signal
        # Repeated data decodes to the same values: reuse them (scalars only).
        try:
            items = tuple([(k, type(v), v) for k, v in data.items()])
            if any(t is float for _, t, _ in items):
                raise TypeError("floats are not cached (-0.0 == 0.0)")
            key: object = (signal, items)
            values = self._decoded.get(key)
        except TypeError:
            key, values = None, None
        if values is None:
            try:
                values = decode_members(signal.specs, data, self._ctx, signal.describe())
            except (ValidationError, QMPError) as err:
                log.warning("dropping malformed %s: %s", signal.describe(), err)
                return
            if key is not None and len(self._decoded) < 1024:
                self._decoded[key] = values
        conn = rem.conn
        try:
            if conn._fast and not (bound._blocked or signal._blocked):
                # The common case, as emit calls it: a plain slot, not blocked.
                try:
                    conn._slot(bound.owner, **values)  # type: ignore[misc]
                except Exception as exc:
                    _raise_slot_error([(conn, exc)])
            else:
                bound.deliver(conn, values)
        except SlotError as err:
            log.error("slot failed", exc_info=err)

    def _event(self, ev: Event) -> None:
        for listener in self._event_listeners:
            try:
                listener(ev.event, ev.data, ev.timestamp)
            except Exception:
                log.exception("event listener failed")
        if self.explicit:
            return
        for cls, signal, member in self._emulated.get(ev.event, ()):
            data = ev.data or {}
            owner_value = data.get(member)
            if isinstance(owner_value, dict):
                owner_value = owner_value.get("data")
            handle = cls._interned.get((self, owner_value))
            if handle is None:
                continue
            bound = handle.__dict__.get(signal.attr)
            if not isinstance(bound, BoundSignal) or not bound._conns:
                continue
            try:
                values = decode_members(signal.specs, data, self._ctx, signal.describe())
            except (ValidationError, QMPError) as err:
                log.warning("event %s does not carry %s: %s", ev.event, signal.describe(), err)
                continue
            for conn in bound._conns:
                try:
                    bound.deliver(conn, values)
                except SlotError as err:
                    log.error("slot failed", exc_info=err)


def _fields(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}


async def aconnect(
    address: str | os.PathLike[str],
    schema: Schema | str | os.PathLike[str] | None = None,
    reconnect: bool = False,
    *,
    namespace: Namespace | None = None,
    timeout: float = 10.0,
) -> AsyncSession:
    """Connect to a QMP server and negotiate; returns an :class:`AsyncSession`.

    :param schema: the schema the server speaks (default: the bundled one).
    :param reconnect: after a lost connection, retry with backoff and
        re-establish every signal connection.
    :raises ConnectionLost: the server cannot be reached.
    :raises ValueError: a malformed address.
    """
    session = AsyncSession(address, _namespace(schema, namespace), reconnect=reconnect, timeout=timeout)
    try:
        await session._open()
    except BaseException:
        await session.close()
        raise
    session._established = True
    session._send_state("connected")
    return session


def _namespace(schema: Schema | str | os.PathLike[str] | None, namespace: Namespace | None) -> Namespace:
    if namespace is not None:
        return namespace
    if schema is None:
        from qobjects import default_namespace

        return default_namespace()
    return build(schema)


class Session:
    """A synchronous session: an :class:`AsyncSession` on a background thread.

    Every method waits for its result. Slots run in the background thread.
    """

    def __init__(
        self, inner: AsyncSession, loop: asyncio.AbstractEventLoop, thread: threading.Thread
    ) -> None:
        self._inner = inner
        self._loop = loop
        self._thread = thread

    @property
    def session(self) -> AsyncSession:
        """The asynchronous session this one wraps."""
        return self._inner

    @property
    def explicit(self) -> bool:
        return self._inner.explicit

    @property
    def state_changed(self) -> blinker.Signal:
        return self._inner.state_changed

    def _wait(self, coro: Coroutine[Any, Any, T]) -> T:
        if threading.get_ident() == self._thread.ident:
            coro.close()
            raise StateError("a synchronous Session cannot wait for itself from one of its slots")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def execute(self, command: str, **arguments: Any) -> Any:
        """See :meth:`AsyncSession.execute`."""
        return self._wait(self._inner.execute(command, **arguments))

    def __getattr__(self, name: str) -> Callable[..., Any]:
        spec = self._inner._command_by_py(name)

        def method(**arguments: Any) -> Any:
            return self._wait(self._inner._execute(spec, arguments))

        method.__name__ = name
        method.__doc__ = spec.doc
        return method

    def get(self, cls: type[H], value: object) -> H:
        """See :meth:`AsyncSession.get`."""
        return self._inner.get(cls, value)

    def add_event_listener(
        self, listener: Callable[[str, dict[str, Any] | None, tuple[int, int]], Any]
    ) -> None:
        """See :meth:`AsyncSession.add_event_listener` (runs in the background thread)."""
        self._inner.add_event_listener(listener)

    def close(self) -> None:
        """Close the session and stop its thread."""
        if self._loop.is_closed():
            return
        if threading.get_ident() == self._thread.ident:
            raise StateError("close a synchronous Session from outside its slots")
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._inner.close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return repr(self._inner).replace("AsyncSession", "Session", 1)


def connect(
    address: str | os.PathLike[str],
    schema: Schema | str | os.PathLike[str] | None = None,
    reconnect: bool = False,
    *,
    namespace: Namespace | None = None,
    timeout: float = 10.0,
) -> Session:
    """Like :func:`aconnect`, for synchronous code: returns a :class:`Session`."""
    ns = _namespace(schema, namespace)
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="qobjects-session", daemon=True)
    thread.start()
    ready.wait()
    try:
        inner = asyncio.run_coroutine_threadsafe(
            aconnect(address, reconnect=reconnect, namespace=ns, timeout=timeout), loop
        ).result()
    except BaseException:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        raise
    inner._sync = True
    inner._loop_thread = thread.ident
    return Session(inner, loop, thread)
