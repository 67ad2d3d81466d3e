"""What both client sessions share: state, incoming messages, slots, listeners.

:class:`SessionBase` holds everything that does not depend on how bytes
move: the protocol object, the table of pending requests, the remote signal
registry, the event-fed signals, listeners and the command proxy. The
asyncio :class:`~qobjects.qmp.asession.AsyncSession` and the blocking
:class:`~qobjects.qmp.session.Session` add the I/O. Incoming data goes to
:meth:`SessionBase._feed`; what it delivers (signals, events) goes through
``_post``, which runs it at once (asyncio) or queues it for the dispatcher
thread (blocking).
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import traceback
from collections.abc import Callable, Generator
from json import JSONDecoder
from json import loads as _loads
from ssl import SSLContext
from typing import Any, TypeVar

from qobjects.codecs import decode_members
from qobjects.errors import (
    ConnectionLost,
    InvalidHandleValue,
    ProtocolError,
    QMPError,
    SlotError,
    StateError,
    ValidationError,
    WrongType,
    qmp_error,
)
from qobjects.objects import Handle, Namespace
from qobjects.qmp import compat
from qobjects.qmp.compat import EventSignals
from qobjects.qmp.listeners import EventMessage, _Listener
from qobjects.qmp.notify import StateChanged
from qobjects.qmp.protocol import (
    BadMessage,
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
from qobjects.qmp.proxy import ClientContext
from qobjects.qmp.remote_signals import Remote, RemoteSignals
from qobjects.qmp.runstate import Runstate, check_transition, require
from qobjects.qmp.transport import check_fds, parse_address
from qobjects.signals import BoundSignal, Connection, _raise_slot_error

__all__ = ["Request", "SessionBase"]

log = logging.getLogger("qobjects.qmp.client")

H = TypeVar("H", bound=Handle)
Request = Execute | Connect | Disconnect
EventCallback = Callable[[str, "dict[str, Any] | None", "tuple[int, int]"], Any]

_decode = JSONDecoder().decode

#: The largest message read from a server, in bytes.
MAX_MESSAGE_SIZE = 1 << 20

#: Decoded signal data kept for reuse (repeated pushes with the same scalars).
DECODE_CACHE_SIZE = 1024

_DEFAULT: Any = object()
_NOT_ASKED: Any = object()  # _discovery: the schema was not read with negotiation


class SessionBase:
    """The state and message handling shared by both kinds of session.

    :ivar namespace: the schema's classes the session decodes into.
    :ivar explicit: the server speaks handles and signals (not compatibility mode).
    :ivar greeting: the server's greeting (None before it arrived).
    :ivar timeout: the default time limit in seconds for connecting and for
        each command (None: no limit).
    :ivar state_changed: ``state_changed.connect(slot)`` calls
        ``slot(session, state)`` on ``"connected"``, ``"disconnected"``,
        ``"reconnected"`` and ``"closed"``.
    :ivar slot_error: None to report a failing remote slot on stderr (and
        log it), or a callable that takes the :class:`~qobjects.SlotError` instead.
    :ivar ssl: the TLS context the connection uses (None: plain).
    """

    def __init__(
        self,
        address: str | os.PathLike[str],
        namespace: Namespace,
        *,
        reconnect: bool = False,
        timeout: float | None = 10.0,
        ask_explicit: bool = True,
        ssl: SSLContext | None = None,
    ) -> None:
        if timeout is not None and timeout <= 0:
            raise ValueError(f"timeout must be positive (or None for no limit), not {timeout!r}")
        self.address = address
        self.ask_explicit = ask_explicit
        self._kind, self._where = parse_address(address)
        if ssl is not None:
            if not isinstance(ssl, SSLContext):
                raise TypeError(f"ssl must be an ssl.SSLContext, not {type(ssl).__name__}")
            if self._kind == "unix" and ssl.check_hostname:
                raise ValueError(
                    f"TLS to {os.fspath(address)}: a Unix socket has no host name to check; "
                    "set check_hostname = False on the SSLContext"
                )
        self.ssl = ssl
        self._text = os.fspath(address)
        self.namespace = namespace
        self.reconnect = reconnect
        self.timeout = timeout
        self.explicit = False
        self.greeting: Greeting | None = None
        self.state_changed = StateChanged(self)
        self.slot_error: Callable[[SlotError], Any] | None = None
        self._runstate = Runstate.IDLE
        self._oob = False
        self._ctx = ClientContext(self)
        self._ids = itertools.count(1)
        self._pending: dict[int, Any] = {}
        self._proto = QMPProtocol(Role.CLIENT)
        self._remote = RemoteSignals(self._collected)
        self._events = EventSignals(self, namespace, self._report)
        self._listeners: tuple[_Listener, ...] = ()
        self._callbacks: tuple[EventCallback, ...] = ()
        self._decoded: dict[object, dict[str, Any]] = {}
        # The start of a line not complete yet, as read (see _split).
        self._tail: list[bytes] = []
        self._tail_size = 0
        self._max_size = MAX_MESSAGE_SIZE
        # Set by connect()/aconnect() when given neither schema nor namespace.
        self._discover = False

    def __repr__(self) -> str:
        mode = "explicit handles" if self.explicit else "compatibility mode"
        return f"<{type(self).__name__} {self._text} {mode} {self._runstate.value}>"

    # --- state ------------------------------------------------------------------------

    @property
    def runstate(self) -> Runstate:
        """Where the session is in its life (see :class:`~qobjects.qmp.runstate.Runstate`)."""
        return self._runstate

    @property
    def connected(self) -> bool:
        """Whether commands can be sent now."""
        return self._runstate is Runstate.RUNNING

    @property
    def oob(self) -> bool:
        """Whether out-of-band execution was negotiated (the server offered ``oob``)."""
        return self._oob

    def _set_state(self, new: Runstate) -> None:
        check_transition(self._runstate, new)
        self._runstate = new

    def _notify(self, state: str) -> None:
        self.state_changed.send(state)

    # --- negotiation ------------------------------------------------------------------

    def _negotiation(self) -> Generator[Request | list[Request], object, None]:
        """The requests of capability negotiation (driven by the I/O layer).

        ``set-explicit-handles`` and ``qmp_capabilities`` go out together (the
        server answers in order), so negotiating costs one round trip; a plain
        QMP server refuses the first with ``CommandNotFound``. When the session
        is to learn a plain server's schema and the greeting looks like QEMU's,
        ``query-qmp-schema`` goes out in the same write (its reply is dropped
        if the server turns out to speak explicit handles after all).
        """
        self.explicit = False
        offered = self.greeting.capabilities if self.greeting is not None else []
        self._oob = "oob" in offered
        capabilities = Execute("qmp_capabilities", {"enable": ["oob"]} if self._oob else {}, None, True)
        schema: object = _NOT_ASKED
        if self.ask_explicit:
            batch: list[Request] = [Execute("set-explicit-handles", {}, None, True), capabilities]
            if self._discover and self._greeted_by_qemu():
                batch.append(Execute("query-qmp-schema", {}, None, True))
            outcomes = yield batch
            assert isinstance(outcomes, list)
            asked, answered = outcomes[:2]
            if len(outcomes) > 2:
                schema = outcomes[2]
            if isinstance(asked, QMPError):
                if asked.error_class != "CommandNotFound":
                    raise asked
            else:
                self.explicit = True
                self._proto.set_explicit_handles()
            if isinstance(answered, QMPError):
                raise answered
        else:
            yield capabilities
        self._proto.negotiated()
        if self._discover and not self.explicit:
            yield from self._discovery(schema)
        self._discover = False

    def _greeted_by_qemu(self) -> bool:
        """Whether the greeting looks like QEMU's: a ``qemu`` version, not a qobjects package.

        Only a guess to save a round trip; a wrong guess costs one schema query.
        """
        version = self.greeting.version if self.greeting is not None else {}
        package = version.get("package")
        ours = isinstance(package, str) and package.startswith("qobjects")
        return isinstance(version.get("qemu"), dict) and not ours

    def _discovery(self, schema: object) -> Generator[Request | list[Request], object, None]:
        """Speak a plain QMP server's own schema (``query-qmp-schema``, with the QEMU overlay).

        *schema* is the reply already read with negotiation, or ``_NOT_ASKED``.
        """
        from qobjects.errors import SchemaError
        from qobjects.qmp.introspect import server_namespace

        try:
            info = (yield Execute("query-qmp-schema", {}, None, True)) if schema is _NOT_ASKED else schema
            if isinstance(info, QMPError):
                raise info
            namespace = server_namespace(info)
        except (QMPError, SchemaError) as err:
            log.info("%s: keeping the bundled schema (%s)", self._text, err)
            return
        self.namespace = namespace
        self._events = EventSignals(self, namespace, self._report)

    def _restoration(self) -> Generator[Request | list[Request], object, None]:
        """The requests that re-establish every remote connection after a reconnect."""
        if not self.explicit:
            return
        for rem in self._remote.live():
            try:
                sid = yield Connect(rem.bound.signal.name, rem.owner_json(), rem.token, None, True)
            except QMPError as err:  # that owner is gone: drop only this connection
                log.warning("cannot restore %s of %s: %s", rem.bound.signal.describe(), rem.bound.owner, err)
                self._remote.pop(rem.conn)
                rem.bound._detach(rem.conn)
                continue
            if isinstance(sid, int):
                rem.server_id = sid
                rem.conn.id = sid

    # --- requests ---------------------------------------------------------------------

    def _check_request(self, oob: bool, fds: Any) -> None:
        """Whether a request may be sent now, with these fds and out-of-band.

        :raises StateError: the session is not running, or the server does
            not offer out-of-band execution.
        :raises ValueError: *fds* cannot be passed on this connection.
        """
        if self._runstate is not Runstate.RUNNING:
            require(self._runstate, self._text)
        if oob and not self._oob:
            offered = self.greeting.capabilities if self.greeting is not None else []
            raise StateError(
                f"{self._text} does not offer out-of-band execution "
                f"(its capabilities: {', '.join(map(str, offered)) or 'none'})"
            )
        if fds:
            check_fds(self._kind, fds, self._text, tls=self.ssl is not None)

    def _take_reply(self, ev: Return | ErrorReply) -> None:
        waiter = self._pending.pop(ev.id, None) if type(ev.id) is int else None
        if waiter is None:
            return  # unknown ids (a reply that came after its timeout) are dropped, as QMP advises
        if type(ev) is Return:
            waiter.set_result(ev.value)
        else:
            assert isinstance(ev, ErrorReply)
            waiter.set_exception(qmp_error(ev.error_class, ev.desc))

    def _fail_pending(self, err: BaseException) -> None:
        pending = self._pending
        self._pending = {}
        for waiter in pending.values():
            if not waiter.done():
                waiter.set_exception(err)

    def _lost_error(self, exc: BaseException | None) -> ConnectionLost:
        why = f": {exc}" if exc else ""
        if self.ssl is not None and self.greeting is None and not why:
            # A TLS server that refuses a client certificate closes after its
            # side of the handshake, often without saying why.
            why = " before the greeting (does the server require a client certificate?)"
        return ConnectionLost(f"connection to {self._text} lost{why}")

    # --- incoming ---------------------------------------------------------------------

    def _feed(
        self, data: bytes, post: Callable[[tuple[Callable[..., Any], tuple[Any, ...]]], None] | None
    ) -> None:
        """Handle *data* from the server: replies now, pushes through *post*
        (``post((fn, args))``; None: call at once)."""
        proto = self._proto
        # Events are only read when something uses them.
        skip_events = (
            self.explicit and not self._listeners and not self._callbacks and not self._events.class_level()
        )
        for value in self._split(data):
            if type(value) is dict:
                if "signal" in value:
                    token = value.get("user_data")
                    sdata = value.get("data")
                    if (
                        len(value) == 5
                        and type(token) is int
                        and type(sdata) is dict
                        and type(value.get("timestamp")) is dict
                        and "owner" in value
                    ):
                        # The hot path of remote signals: the protocol's shape
                        # checks, for the one form a push has.
                        self._signal(token, sdata, post)
                        continue
                elif skip_events and "event" in value:
                    continue
            ev = proto.interpret(value)
            tev = type(ev)
            if tev is Return or tev is ErrorReply:
                self._take_reply(ev)  # type: ignore[arg-type]
            elif tev is Event:
                if post is None:
                    self._event(ev)  # type: ignore[arg-type]
                else:
                    post((self._event, (ev,)))
            elif tev is SignalMessage:
                assert isinstance(ev, SignalMessage)
                self._signal(ev.user_data, ev.data, post)
            elif tev is Greeting:
                assert isinstance(ev, Greeting)
                self._greeted(ev)
            elif tev is BadMessage:
                assert isinstance(ev, BadMessage)
                log.warning("ignoring a message from %s: %s", self._text, ev.desc)

    def _split(self, data: bytes) -> list[object]:
        """The values in *data*: whole lines at once with the C decoder when it can.

        A server writes one message per line. When no message is half-read,
        the complete lines of a read are decoded as one JSON array; anything
        that is not plain JSON lines (or is over the size limit) goes to the
        protocol's QEMU-exact decoder instead, which then reports it.
        """
        proto = self._proto
        if proto._decoder.pending:  # a value split across reads: the decoder has its start
            return proto.split(data)
        # Only the new data is searched for the end of a line, and a long
        # message's reads are joined once, when its end arrives.
        nl = data.rfind(b"\n")
        tail = self._tail
        if nl < 0:
            tail.append(data)
            self._tail_size += len(data)
            if self._tail_size > self._max_size:
                buf = b"".join(tail)
                self._clear_tail()
                return proto.split(buf)
            return []
        if tail:
            tail.append(data)
            buf = b"".join(tail)
            cut = len(buf) - len(data) + nl + 1
            self._clear_tail()
        else:
            buf, cut = data, nl + 1
        try:
            if cut == len(buf) and buf.count(b"\n") == 1:  # one message: the common reply
                if cut > self._max_size:
                    raise ValueError("too long")
                values: list[object] = [_decode(buf.decode())]
            else:
                lines = buf[: cut - 1].split(b"\n")
                if max(map(len, lines)) > self._max_size:
                    raise ValueError("too long")
                values = _loads(b"[" + b",".join(lines) + b"]")
        except (ValueError, RecursionError):
            return proto.split(buf)
        if cut < len(buf):
            rest = buf[cut:]
            self._tail.append(rest)
            self._tail_size = len(rest)
        return values

    def _clear_tail(self) -> None:
        self._tail = []
        self._tail_size = 0

    def _greeted(self, greeting: Greeting) -> None:
        raise NotImplementedError

    def _report(self, err: SlotError) -> None:
        """A remote slot failed: hand it to ``slot_error``, or report it on stderr and log it."""
        handler = self.slot_error
        if handler is not None:
            try:
                handler(err)
            except Exception:
                log.exception("slot_error handler %r failed", handler)
            return
        log.error("a slot of %r raised", self, exc_info=err)
        try:
            print(f"Exception in a slot of {self!r}:", file=sys.stderr)
            traceback.print_exception(err, file=sys.stderr)
        except (OSError, ValueError):  # no usable stderr
            pass

    def _signal(self, token: object, data: dict[str, Any] | None, post: Any = None) -> None:
        """A pushed signal: delivered now, or through *post* (blocked() is
        checked here, on arrival, as a local emit checks it)."""
        rem = self._remote.by_token.get(token) if type(token) is int else None
        if rem is None:
            return  # a late push for a connection already gone
        bound = rem.bound
        if bound._blocked or bound.signal._blocked:
            return
        if post is None:
            self._deliver_remote(rem, data)
        else:
            post((self._deliver_remote, (rem, data)))

    def _deliver_remote(self, rem: Remote, data: dict[str, Any] | None) -> None:
        data = data or {}
        bound = rem.bound
        signal = bound.signal
        # Repeated data decodes to the same values: reuse them. Only for strings,
        # integers and nulls, whose equal values are equal on the wire (unlike
        # 1 == 1.0 == True, or -0.0 == 0.0).
        items = tuple(data.items())
        key: object = (signal, items)
        for _, v in items:
            t = type(v)
            if t is not str and t is not int and v is not None:
                key = None
                break
        values = self._decoded.get(key) if key is not None else None
        if values is None:
            try:
                values = decode_members(signal.specs, data, self._ctx, signal.describe())
            except (ValidationError, QMPError) as err:
                log.warning("dropping malformed %s: %s", signal.describe(), err)
                return
            if key is not None and len(self._decoded) < DECODE_CACHE_SIZE:
                self._decoded[key] = values
        conn = rem.conn
        try:
            if conn._fast:
                # The common case, as emit calls it: a plain slot.
                conn._slot(bound.owner, **values)  # type: ignore[misc]
            else:
                conn._deliver(bound.owner, values)
        except Exception as exc:
            try:
                _raise_slot_error([(conn, exc)])
            except SlotError as err:
                self._report(err)

    def _event(self, ev: Event) -> None:
        if self._listeners:
            message = self._event_message(ev)
            for listener in self._listeners:
                if listener.accepts(ev.event):
                    listener._put(message)
        for callback in self._callbacks:
            try:
                callback(ev.event, ev.data, ev.timestamp)
            except Exception:
                log.exception("event listener %r failed", callback)
        self._events.deliver(ev, self._ctx, per_owner=not self.explicit)

    def _event_message(self, ev: Event) -> EventMessage:
        spec = self.namespace.events.get(ev.event)
        raw = ev.data
        data: dict[str, Any] = dict(raw or {})
        if spec is not None:
            try:
                data = decode_members(spec.args, raw or {}, self._ctx, f"event '{ev.event}'")
            except (ValidationError, QMPError) as err:
                log.warning("event %s does not match the schema (kept as JSON): %s", ev.event, err)
        return EventMessage(ev.event, data, ev.timestamp, raw)

    # --- listeners --------------------------------------------------------------------

    def _add_listener(self, listener: _Listener) -> None:
        self._listeners = (*self._listeners, listener)

    def _remove_listener(self, listener: _Listener) -> None:
        self._listeners = tuple(x for x in self._listeners if x is not listener)

    def remove_listener(self, listener: _Listener | EventCallback) -> None:
        """Remove a listener made by ``listen`` or a callback given to ``add_event_listener``.

        :raises LookupError: it is not registered.
        """
        if isinstance(listener, _Listener):
            if listener not in self._listeners:
                raise LookupError(f"{listener!r} is not a listener of {self!r}")
            listener.remove()
            return
        if listener not in self._callbacks:
            raise LookupError(f"{listener!r} is not an event listener of {self!r}")
        self._callbacks = tuple(c for c in self._callbacks if c is not listener)

    def add_event_listener(self, listener: EventCallback) -> EventCallback:
        """Call ``listener(name, data, timestamp)`` for every QMP event received
        (with the raw JSON data); returns *listener*, for :meth:`remove_listener`."""
        if not callable(listener):
            raise TypeError(f"add_event_listener: {listener!r} is not callable")
        self._callbacks = (*self._callbacks, listener)
        return listener

    def _end_listeners(self) -> None:
        for listener in self._listeners:
            listener.remove()

    # --- handles and signals ----------------------------------------------------------

    def get(self, cls: type[H], value: object) -> H:
        """A handle of *cls* for *value* on this session (checked by the server on use).

        :raises InvalidHandleValue: *value* is not of the handle's scalar type.
        """
        try:
            value = cls._scalar.check(value, cls.__handle_name__, "")
        except WrongType as err:
            raise InvalidHandleValue(
                f"'{value}' is not a valid {cls.__handle_name__}: {err.detail}"
            ) from None
        return cls._make(value, None, self)

    def _connect(self, bound: BoundSignal, conn: Connection[Any]) -> None:
        """Called by BoundSignal.connect on a handle of this session."""
        if self._runstate is Runstate.CLOSED:
            raise ConnectionLost(f"the session to {self._text} is closed")
        if not self.explicit:
            self._events.connect(bound, conn, self._text)
            return
        bound._attach(conn)
        rem = self._remote.add(bound, conn)
        self._remote_connect(rem)

    def _connect_request(self, rem: Remote) -> Connect:
        return Connect(rem.bound.signal.name, rem.owner_json(), rem.token, None, True)

    def _connected(self, rem: Remote, sid: object) -> None:
        """The server answered a connect with *sid*."""
        if not isinstance(sid, int):
            self._connect_failed(rem)
            raise ProtocolError(f"connect returned {sid!r}, not a connection id")
        if rem.cancelled:
            # Disconnected while the connect was under way: undo it on the server.
            self._fire(Disconnect(sid, rem.owner_json(), None, True), "disconnect")
            return
        rem.server_id = sid
        rem.conn.id = sid

    def _connect_failed(self, rem: Remote) -> None:
        self._remote.pop(rem.conn)
        rem.bound._detach(rem.conn)

    def _disconnect(self, bound: BoundSignal, conn: Connection[Any]) -> None:
        """Called by BoundSignal.disconnect on a handle of this session."""
        if not self.explicit:
            self._events.disconnect(bound, conn)
            return
        bound._detach(conn)  # no delivery from here on
        rem = self._remote.pop(conn)
        if rem is None:
            return
        if rem.server_id is None:
            rem.cancelled = True  # the connect reply will undo it
            return
        if self._runstate is Runstate.RUNNING:
            self._remote_disconnect(Disconnect(rem.server_id, rem.owner_json(), None, True))

    def _collected(self, token: int) -> None:
        """A weakly held remote slot was collected (any thread, maybe inside the collector)."""
        raise NotImplementedError

    def _drop_collected(self, token: int) -> None:
        rem = self._remote.pop_token(token)
        if rem is None:
            return
        if rem.server_id is None:
            rem.cancelled = True
        elif self._runstate is Runstate.RUNNING:
            self._fire(Disconnect(rem.server_id, rem.owner_json(), None, True), "disconnect")

    def _remote_connect(self, rem: Remote) -> None:
        raise NotImplementedError

    def _remote_disconnect(self, request: Disconnect) -> None:
        raise NotImplementedError

    def _fire(self, request: Request, what: str) -> None:
        """Send *request* without waiting; a failure is logged."""
        raise NotImplementedError

    def _release(self) -> None:
        """Closing: drop every connection, listener and registration."""
        for rem in self._remote.clear():
            rem.bound._detach(rem.conn)
        self._events.close()
        compat.unregister(self._events)
        self._end_listeners()
