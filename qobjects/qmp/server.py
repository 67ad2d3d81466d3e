"""The QMP server: commands, handles and signals over Unix or TCP sockets.

One :class:`Server` serves many sessions at once; each session is a
:class:`~qobjects.qmp._session.ServerSession` (reading and answering), with
its output (:mod:`qobjects.qmp._output`) and its signal connections
(:mod:`qobjects.qmp._remote`); commands run in :mod:`qobjects.qmp._commands`.

Signals: a remote ``connect`` is served by one local connection per owner's
signal and session, whose slot encodes each emission and queues it on the
session, so a server-side ``emit`` (from any thread) reaches local slots and
remote sessions alike and never waits for the network.

No client can take more than its share. Every limit is a parameter of
:class:`Server` (and an option of ``qobjects serve``); docs/protocol.md lists
them with their defaults and what a client sees at each.

QMP has no authentication: anyone who can open the socket controls what the
server exposes. Prefer Unix sockets (created mode 0600); bind TCP servers to
loopback, or use TLS with client certificates.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import os
import socket
import ssl as _ssl
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from qobjects._version import __version__
from qobjects.codecs import encode_members
from qobjects.default import namespace_for
from qobjects.errors import ProtocolError, ValidationError
from qobjects.objects import Handle, HandleCodec, Namespace
from qobjects.qmp._commands import CONTROL_COMMANDS, Commands
from qobjects.qmp._listen import Listener, tcp_sockets, unix_socket
from qobjects.qmp._output import OutputBudget
from qobjects.qmp._remote import Fanout, RemoteConnection, timestamp
from qobjects.qmp._session import ServerSession
from qobjects.qmp.protocol import Mode, cache_key, event_line, event_tail
from qobjects.schema import Schema
from qobjects.signals import BoundSignal, Connection, Signal

__all__ = ["LIMITS", "Server"]

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

#: Every limit of a server: parameter -> (default, what it limits). docs/protocol.md
#: says what a client sees at each; ``qobjects serve`` has an option for each.
LIMITS: dict[str, tuple[int, str]] = {
    "max_output": (64 << 20, "bytes a session may have unsent before it is cut for not reading"),
    "max_output_total": (1 << 30, "bytes all sessions together may have unsent"),
    "max_connections": (10_000, "signal connections per session"),
    "max_user_data": (64 << 10, "bytes of one connect's user_data, encoded"),
    "max_pending": (8, "requests waiting behind a running command before reading pauses"),
    "max_message_size": (1 << 20, "bytes of one message from a client"),
    "max_depth": (1024, "nesting levels of one message from a client"),
    "max_tokens": (2 << 20, "JSON tokens of one message from a client"),
    "backlog": (socket.SOMAXCONN, "connections waiting to be accepted"),
}


class Server:
    """A QMP server for the objects of one schema.

    :param schema: a checked :class:`Schema`, a schema file path, or None for
        the bundled default schema.
    :param check_types: check every handler's arguments and result against
        the handler's own annotations with typeguard (unions, ``Literal``,
        generics and protocols included); a mismatch is an error reply naming
        the command and the member. Off by default: it costs time per call.
    :param max_output: bytes a session may have unsent (queued or in its
        socket buffer) before it is cut, on a message boundary, for not reading.
    :param max_output_total: bytes all sessions together may have unsent;
        past it the session with the most is cut.
    :param max_connections: signal connections one session may hold.
    :param max_user_data: the largest ``user_data`` of a ``connect``, encoded, in bytes.
    :param max_pending: requests a session may have waiting behind a running
        ``async def`` handler before the server stops reading it (QEMU: 8).
    :param max_message_size: the largest message a client may send, in bytes.
    :param max_depth: the deepest nesting of a message a client may send.
    :param max_tokens: the most JSON tokens in a message a client may send.
    :param backlog: connections the kernel may queue before the server accepts
        them (asyncio's default, 100, is too few for bursts of clients: past
        it a non-blocking connect fails, and asyncio clients take that for a
        connection that never greets).
    :raises ValueError: a limit below 1.
    """

    def __init__(
        self,
        schema: Schema | str | os.PathLike[str] | None = None,
        *,
        namespace: Namespace | None = None,
        check_types: bool = False,
        max_output: int = LIMITS["max_output"][0],
        max_output_total: int = LIMITS["max_output_total"][0],
        max_connections: int = LIMITS["max_connections"][0],
        max_user_data: int = LIMITS["max_user_data"][0],
        max_pending: int = LIMITS["max_pending"][0],
        max_message_size: int = LIMITS["max_message_size"][0],
        max_depth: int = LIMITS["max_depth"][0],
        max_tokens: int = LIMITS["max_tokens"][0],
        backlog: int = LIMITS["backlog"][0],
    ) -> None:
        limits = {
            "max_output": max_output,
            "max_output_total": max_output_total,
            "max_connections": max_connections,
            "max_user_data": max_user_data,
            "max_pending": max_pending,
            "max_message_size": max_message_size,
            "max_depth": max_depth,
            "max_tokens": max_tokens,
            "backlog": backlog,
        }
        for what, value in limits.items():
            if type(value) is not int or value < 1:
                raise ValueError(f"{what} must be a positive integer, not {value!r}")
        self.namespace = namespace_for(schema, namespace)
        self.check_types = check_types
        self.max_output = max_output
        self.max_output_total = max_output_total
        self.max_connections = max_connections
        self.max_user_data = max_user_data
        self.max_pending = max_pending
        self.max_message_size = max_message_size
        self.max_depth = max_depth
        self.max_tokens = max_tokens
        self.backlog = backlog
        major, minor, micro = (int(part) for part in __version__.split(".")[:3])
        self.version: dict[str, object] = {
            "qemu": {"major": major, "minor": minor, "micro": micro},
            "package": f"qobjects {__version__}",
        }
        self._commands = Commands(self.namespace)
        self._impl = self._commands.impl
        self._impl.update(
            {
                "query-commands": self._query_commands,
                "query-version": lambda: self.version,
                "query-qmp-schema": self._query_qmp_schema,
            }
        )
        self._budget = OutputBudget(max_output_total)
        self._sessions: set[ServerSession] = set()
        self._lingering: set[ServerSession] = set()  # cut, still sending what they hold
        self._listeners: list[Listener] = []
        self._closed: asyncio.Event | None = None
        self._unix_paths: list[Path] = []
        self._schema_info: list[dict[str, object]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: every session's signal connections, by id
        self.connections: dict[int, RemoteConnection] = {}
        self._fanouts: dict[BoundSignal, Fanout] = {}  # one local connection per owner's signal
        self._mirrors: list[Connection[Any]] = []

    # --- commands -----------------------------------------------------------

    def command(self, name: str) -> Callable[[F], F]:
        """Decorator binding a Python function to the schema command *name*.

        The function gets the checked arguments by Python name (handles
        resolved); it may be ``async def``. What it returns is checked against
        the command's ``returns`` type.

        :raises ValueError: the schema has no such command, or (with
            ``check_types``) the function's annotations cannot be resolved.
        """
        if name not in self.namespace.commands:
            raise ValueError(f"the schema has no command {name!r}")

        def register(fn: F) -> F:
            self._commands.register(name, fn, self.check_types)
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

    def _broadcast(
        self,
        name: str,
        specs: Any,
        values: dict[str, Any],
        cache: dict[object, str] | None = None,
        key: object = None,
    ) -> None:
        """Push event *name* with checked *values* to every session in command mode.

        Its wire form after the timestamp is encoded once per handle form
        (plain or canonical), or taken from *cache* under ``(key, explicit)``.

        :raises ProtocolError: a value cannot be written as JSON (nothing is sent).
        """
        ts = timestamp()
        lines: dict[bool, bytes] = {}
        for session in list(self._sessions):
            proto = session.proto
            if proto.mode is not Mode.COMMAND:
                continue
            explicit = proto.explicit_handles
            line = lines.get(explicit)
            if line is None:
                tail = cache.get((key, explicit)) if cache is not None else None
                if tail is None:
                    tail = event_tail(name, encode_members(specs, values, explicit) or None)
                    if cache is not None and len(cache) < 1024:
                        cache[key, explicit] = tail
                line = lines[explicit] = event_line(ts, tail)
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
        tails: dict[object, str] = {}

        def mirror(owner: Handle, **values: Any) -> None:
            if not self._sessions or owner._session is not None:
                return  # a client's view of a remote owner is not this server's to mirror
            values[owner_py] = owner if owner_is_handle else str(owner.value)
            cache: dict[object, str] | None = None
            key: object = None
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
            else:
                # Every member is the signal's, which emit already checked; the
                # event's JSON after the timestamp depends only on the values.
                try:
                    key = cache_key(values, pys)
                    cache = tails
                except TypeError:
                    pass
            try:
                self._broadcast(event, spec.args, values, cache, key)
            except ProtocolError as err:
                log.error("event %s not sent: %s", event, err)

        return mirror

    # --- life cycle -----------------------------------------------------------

    async def start_unix(self, path: str | os.PathLike[str]) -> None:
        """Listen on a Unix socket at *path* (created mode 0600).

        A socket file nobody listens on (left by a server that died) is
        replaced; a path where a server answers, or that is not a socket, is refused.

        :raises OSError: the path is in use or not a socket (``EADDRINUSE``,
            ``EEXIST``), or cannot be listened on.
        """
        self._loop = asyncio.get_running_loop()
        path = Path(path)
        _check_unix_path(path)
        self._mirror_signals()
        self._listeners.append(Listener(unix_socket(path, self.backlog), self._new_session))
        self._unix_paths.append(path)
        log.info("listening on unix:%s", path)

    async def start_tcp(self, host: str, port: int, *, ssl: _ssl.SSLContext | None = None) -> int:
        """Listen on TCP *host*:*port* (port 0 picks one); returns the port.

        QMP has no authentication of its own: bind to loopback, or pass an
        *ssl* server context (with ``verify_mode = CERT_REQUIRED`` and a CA
        to require client certificates, as QEMU's ``tls-creds`` with
        ``verify-peer``). Any other host than a loopback address is logged as
        a warning.

        :raises ValueError: no host given.
        :raises OSError: the address cannot be listened on.
        """
        if not host:
            raise ValueError("start_tcp needs an explicit host (e.g. '127.0.0.1')")
        self._loop = asyncio.get_running_loop()
        self._mirror_signals()
        socks = tcp_sockets(host, port, self.backlog)
        self._listeners.extend(Listener(sock, self._new_session, ssl) for sock in socks)
        bound = socks[0].getsockname()[1]
        tls = " with TLS" if ssl is not None else ""
        if _is_loopback(host):
            log.info("listening on tcp:%s:%d%s", host, bound, tls)
        else:
            log.warning(
                "listening on tcp:%s:%d%s: reachable from other machines%s",
                host,
                bound,
                tls,
                "" if ssl is not None else "; QMP has no authentication (use TLS with client certificates)",
            )
        return int(bound)

    async def drain(self, *, stall: float = 1.0) -> None:
        """Wait until every session has sent most of its output.

        An emitter that makes many signals at once awaits this now and then
        (every few dozen emissions) to go at the pace of its readers instead
        of filling memory. A session that took nothing for *stall* seconds
        does not hold it back: it is left to reach ``max_output`` and be cut.
        """
        await self._budget.drain(stall)

    async def serve_forever(self) -> None:
        """Serve until cancelled or closed (start_unix/start_tcp first)."""
        if self._closed is None:
            self._closed = asyncio.Event()
        try:
            await self._closed.wait()
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop listening, end every session, remove Unix socket files."""
        for listener in self._listeners:
            listener.close()
        self._listeners.clear()
        for session in [*self._sessions, *self._lingering]:
            session.close("server closing")
        self._lingering.clear()
        for path in self._unix_paths:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self._unix_paths.clear()
        for conn in self._mirrors:
            conn.disconnect(missing_ok=True)
        self._mirrors.clear()
        if self._closed is not None:
            self._closed.set()
        await asyncio.sleep(0)  # let the aborted transports report connection_lost

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


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_unix_path(path: Path) -> None:
    """Refuse *path* if something is there; remove a socket nobody listens on.

    :raises OSError: the path is in use, or not a socket.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise OSError(
            errno.EEXIST, f"{path} already exists and is not a socket; remove it or pick another path"
        )
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except ConnectionRefusedError:
        log.info("removing the stale socket %s (no server listens on it)", path)
        path.unlink()
        return
    except OSError as err:
        raise OSError(err.errno, f"{path} cannot be checked: {err.strerror or err}") from err
    finally:
        probe.close()
    raise OSError(errno.EADDRINUSE, f"{path} is in use by a running server; pick another path")
