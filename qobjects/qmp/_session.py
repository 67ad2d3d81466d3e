"""One server session: reading requests in order, answering them, ending cleanly.

The session is an :class:`asyncio.Protocol` around a sans-I/O
:class:`~qobjects.qmp.protocol.QMPProtocol`; what it sends goes through its
:class:`~qobjects.qmp._output.Output`, its signal connections live in
:class:`~qobjects.qmp._remote.RemoteConnections`, and commands run in
:mod:`qobjects.qmp._commands`.

Requests are answered in order. While an ``async def`` handler runs, later
requests wait; once more than ``max_pending`` wait, the session stops
reading the socket (as QEMU suspends a monitor with 8 requests queued) and
resumes when the queue is down to half of that.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any, Protocol

from qobjects.errors import ProtocolError, QMPError
from qobjects.qmp._output import Output, OutputBudget
from qobjects.qmp._remote import RemoteConnections, RemoteHost
from qobjects.qmp.protocol import (
    BadMessage,
    Closed,
    Connect,
    Disconnect,
    ErrorReply,
    Execute,
    Greeting,
    QMPProtocol,
    Return,
    Role,
)

__all__ = ["CommandRunner", "ServerSession", "SessionHost"]

log = logging.getLogger("qobjects.qmp.server")


class CommandRunner(Protocol):
    """Runs one ``execute`` of a session (:class:`~qobjects.qmp._commands.Commands`)."""

    def execute(self, session: ServerSession, ev: Execute) -> None: ...


class SessionHost(RemoteHost, Protocol):
    """What a session reads of its server (:class:`~qobjects.qmp.server.Server`):
    its greeting, its limits, the output budget and the session tables."""

    version: dict[str, object]
    max_output: int
    max_pending: int
    max_message_size: int
    max_depth: int
    max_tokens: int
    _budget: OutputBudget
    _sessions: set[ServerSession]
    _lingering: set[ServerSession]  # cut, still sending what they hold

    @property
    def _commands(self) -> CommandRunner: ...


class ServerSession(asyncio.Protocol):
    """One client connection."""

    def __init__(self, server: SessionHost) -> None:
        self.server = server
        self.proto = QMPProtocol(
            Role.SERVER,
            max_message_size=server.max_message_size,
            max_depth=server.max_depth,
            max_tokens=server.max_tokens,
        )
        self.transport: asyncio.Transport | None = None
        self.output = Output(server._budget, server.max_output, self._output_cut)
        self.push = self.output.push
        self.remote = RemoteConnections(server, self.push)
        self.closing = False
        self.busy = False  # an async handler is running: later requests wait
        self.backlog: deque[object] = deque()
        self.reading_paused = False
        self.peer = "?"

    def __repr__(self) -> str:
        return f"<ServerSession {id(self):x} {self.peer} {self.proto.mode.value}>"

    @property
    def pending(self) -> int:
        """Requests read but not yet handled."""
        return len(self.backlog)

    # --- transport callbacks ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.output.attach(transport)
        peer = transport.get_extra_info("peername")
        self.peer = str(peer) if peer else "unix"
        self.server._sessions.add(self)
        log.info("session %x opened (%s)", id(self), self.peer)
        try:
            greeting = self.proto.send(Greeting(self.server.version, []))
        except ProtocolError as err:  # the server's version is not JSON: nobody can use it
            log.error("session %x: no greeting: %s", id(self), err)
            self.close("no greeting")
            return
        self.push(greeting)

    def data_received(self, data: bytes) -> None:
        # Split the bytes into JSON values now, but read each value as a request
        # only when its turn comes: what a request means depends on the mode,
        # which the requests before it in the same read may change
        # (qmp_capabilities written together with the first commands).
        if self.closing:
            return
        try:
            values = self.proto.split(data)
        except Exception:  # the protocol must not fail; if it does, end this session only
            log.exception("session %x: protocol failure", id(self))
            self.close("protocol failure", abort=False, flush=True)
            return
        # Replies to this read are written at its end, in this pass of the loop.
        output = self.output
        flush_here = not output.flush_pending
        output.flush_pending = True
        for value in values:
            if self.busy:
                self.backlog.append(value)
            else:
                self.handle_value(value)
        if len(self.backlog) > self.server.max_pending and not self.reading_paused:
            self.reading_paused = True
            self.transport.pause_reading()  # type: ignore[union-attr]
        if flush_here:
            output.flush()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.remote.drop_all()
        self.output.detach()
        self.server._sessions.discard(self)
        self.server._lingering.discard(self)
        self.backlog.clear()
        log.info("session %x closed (%s)", id(self), exc or "EOF")

    def pause_writing(self) -> None:
        self.output.pause()

    def resume_writing(self) -> None:
        self.output.resume()

    # --- requests --------------------------------------------------------------------------

    def handle_value(self, value: object) -> None:
        if self.closing:
            return
        try:
            ev = self.proto.interpret(value)
            if type(ev) is Execute:
                self.server._commands.execute(self, ev)
            elif isinstance(ev, Connect):
                self._connect(ev)
            elif isinstance(ev, Disconnect):
                self._disconnect(ev)
            elif isinstance(ev, BadMessage):
                self.error(ev.error_class, ev.desc, ev)
            elif isinstance(ev, Closed):
                if self.transport is not None:
                    self.transport.close()
        except Exception:  # never let one request end the read loop; end this session only
            log.exception("session %x: protocol failure", id(self))
            self.close("protocol failure", abort=False, flush=True)  # the replies before it still go

    def done_waiting(self) -> None:
        """An async handler finished: handle what waited, resume reading."""
        self.busy = False
        backlog = self.backlog
        flush_here = not self.output.flush_pending
        self.output.flush_pending = True
        while backlog and not self.busy and not self.closing:
            self.handle_value(backlog.popleft())
        if self.reading_paused and len(backlog) <= self.server.max_pending // 2 and not self.closing:
            self.reading_paused = False
            assert self.transport is not None
            self.transport.resume_reading()
        if flush_here:
            self.output.flush()

    def _connect(self, ev: Connect) -> None:
        if not self.proto.explicit_handles:
            self.error(
                "GenericError",
                "connect needs explicit handles: execute 'set-explicit-handles' before 'qmp_capabilities'",
                ev,
            )
            return
        try:
            cid = self.remote.connect(ev.signal, ev.owner, ev.user_data)
        except QMPError as err:
            self.error(err.error_class, err.desc, ev)
            return
        self.reply(cid, ev)

    def _disconnect(self, ev: Disconnect) -> None:
        try:
            self.remote.disconnect(ev.connection, ev.owner)
        except QMPError as err:
            self.error(err.error_class, err.desc, ev)
            return
        self.reply({}, ev)

    # --- replies ---------------------------------------------------------------------------

    def reply(self, value: object, ev: Any, what: str = "the reply") -> None:
        """Send a success reply to request *ev*; a value JSON cannot carry
        becomes an error reply (logged)."""
        try:
            data = self.proto.send(Return(value, ev.id, ev.has_id))
        except ProtocolError as err:
            log.error("session %x: %s not sent: %s", id(self), what, err)
            self.error("GenericError", f"internal error: {what} cannot be sent as JSON", ev)
            return
        self.push(data)

    def error(self, error_class: str, desc: str, ev: Any) -> None:
        self.push(self.proto.send(ErrorReply(error_class, desc, ev.id, ev.has_id)))

    # --- the end -----------------------------------------------------------------------------

    def _output_cut(self, reason: str, abort: bool) -> None:
        log.warning("session %x (%s) cut: %s", id(self), self.peer, reason)
        self.close(reason, abort=abort, quiet=True)

    def close(self, reason: str, *, abort: bool = True, quiet: bool = False, flush: bool = False) -> None:
        """End the session and drop its connections.

        :param abort: drop what the transport still holds; else it is sent
            (whole messages) before the connection closes.
        :param flush: send what is queued too (else it is dropped).
        """
        transport = self.transport
        if self.closing:
            if abort and transport is not None:
                self.output.detach()
                transport.abort()
            return
        if not quiet:
            log.info("session %x closing: %s", id(self), reason)
        self.closing = True
        self.backlog.clear()
        self.remote.drop_all()
        self.server._sessions.discard(self)
        if transport is None:
            return
        if abort:
            self.output.detach()
            transport.abort()
        else:
            if flush:
                self.output.flush()
            self.output.stop()
            self.server._lingering.add(self)
            transport.close()
