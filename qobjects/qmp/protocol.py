"""The QMP session, sans I/O: bytes in, events out; events in, bytes out.

One :class:`QMPProtocol` per connection, used by the server and the client
alike (the :class:`Role` says which side it plays)::

    proto = QMPProtocol(Role.SERVER)
    transport.write(proto.send(Greeting(version, [])))
    for event in proto.receive_data(data):      # b"" at EOF
        ...                                     # Execute, Connect, BadMessage, ...
    transport.write(proto.send(Return({}, event.id, event.has_id)))

:meth:`QMPProtocol.receive_data` checks the shape of each message as QEMU
does and turns what it cannot accept into :class:`BadMessage`, which a server
answers with an :class:`ErrorReply`.  Nothing here raises on bad input.

The session's :class:`Mode` changes only through the transition table
``_TRANSITIONS``: :meth:`~QMPProtocol.negotiated` (negotiation -> command),
:meth:`~QMPProtocol.set_explicit_handles` (negotiation only) and EOF (-> closed).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final, TypeAlias

from qobjects.errors import ProtocolError, StateError
from qobjects.qmp.framing import DecodeError, JSONStreamDecoder, encode_json

__all__ = [
    "BadMessage",
    "Closed",
    "Connect",
    "Disconnect",
    "ErrorReply",
    "Event",
    "Execute",
    "Greeting",
    "Mode",
    "QMPEvent",
    "QMPProtocol",
    "Return",
    "Role",
    "SignalMessage",
]


# --- events ----------------------------------------------------------------------------
#
# ``id`` is any JSON value; ``has_id`` tells "no id" apart from ``"id": null``.


@dataclass(frozen=True, slots=True)
class Greeting:
    """The server's greeting, ``{"QMP": {"version": ..., "capabilities": [...]}}``."""

    version: dict[str, Any]
    capabilities: list[Any]


@dataclass(frozen=True, slots=True)
class Execute:
    """A command: ``{"execute": command, "arguments": {...}, "id": ...}``.

    With ``oob`` set the wire key is ``exec-oob``.
    """

    command: str
    arguments: dict[str, Any]
    id: object
    has_id: bool
    oob: bool = False


@dataclass(frozen=True, slots=True)
class Connect:
    """``{"connect": signal, "owner": {...}, "user_data": ..., "id": ...}``."""

    signal: str
    owner: object
    user_data: object
    id: object
    has_id: bool


@dataclass(frozen=True, slots=True)
class Disconnect:
    """``{"disconnect": connection, "owner": {...}, "id": ...}``."""

    connection: object
    owner: object
    id: object
    has_id: bool


@dataclass(frozen=True, slots=True)
class Return:
    """A success reply, ``{"return": value, "id": ...}``."""

    value: object
    id: object
    has_id: bool


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """An error reply, ``{"error": {"class": ..., "desc": ...}, "id": ...}``."""

    error_class: str
    desc: str
    id: object
    has_id: bool


@dataclass(frozen=True, slots=True)
class Event:
    """A QMP event; ``timestamp`` is ``(seconds, microseconds)``."""

    event: str
    data: dict[str, Any] | None
    timestamp: tuple[int, int]


@dataclass(frozen=True, slots=True)
class SignalMessage:
    """A signal pushed for a ``connect``, with the connection's ``user_data``."""

    signal: str
    owner: object
    user_data: object
    data: dict[str, Any] | None
    timestamp: tuple[int, int]


@dataclass(frozen=True, slots=True)
class BadMessage:
    """Input the receiving side cannot accept.

    A server answers it with ``ErrorReply(error_class, desc, id, has_id)``: the
    id is echoed when the input was a readable object, and absent otherwise.
    """

    error_class: str
    desc: str
    id: object
    has_id: bool


@dataclass(frozen=True, slots=True)
class Closed:
    """The peer closed its end of the stream (EOF)."""


QMPEvent: TypeAlias = (
    Greeting
    | Execute
    | Connect
    | Disconnect
    | Return
    | ErrorReply
    | Event
    | SignalMessage
    | BadMessage
    | Closed
)


class Role(Enum):
    """Which end of the connection a :class:`QMPProtocol` plays."""

    SERVER = "server"
    CLIENT = "client"


class Mode(Enum):
    """The state of a QMP session."""

    NEGOTIATION = "negotiation"  # until qmp_capabilities: no commands, no events
    COMMAND = "command"
    CLOSED = "closed"  # the peer sent EOF


# --- the state table -----------------------------------------------------------------
#
# (mode, trigger) -> next mode.  A pair that is missing is refused with the hint
# in _REFUSALS (or a generic one).
_NEGOTIATED: Final = "negotiated"
_EXPLICIT: Final = "set_explicit_handles"
_EOF: Final = "eof"

_TRANSITIONS: Final[dict[tuple[Mode, str], Mode]] = {
    (Mode.NEGOTIATION, _NEGOTIATED): Mode.COMMAND,
    (Mode.NEGOTIATION, _EXPLICIT): Mode.NEGOTIATION,
    (Mode.NEGOTIATION, _EOF): Mode.CLOSED,
    (Mode.COMMAND, _EOF): Mode.CLOSED,
    (Mode.CLOSED, _EOF): Mode.CLOSED,
}

_REFUSALS: Final[dict[tuple[Mode, str], str]] = {
    (Mode.COMMAND, _NEGOTIATED): "capabilities are already negotiated (the session is in command mode)",
    (Mode.COMMAND, _EXPLICIT): (
        "set-explicit-handles is only allowed in negotiation mode, before qmp_capabilities; "
        "open a new session to use explicit handles"
    ),
    (Mode.CLOSED, _NEGOTIATED): "the session is closed; open a new one",
    (Mode.CLOSED, _EXPLICIT): "the session is closed; open a new one",
}

# What to do to reach a mode (for require()).
_HOW: Final[dict[Mode, str]] = {
    Mode.NEGOTIATION: "that is only possible before qmp_capabilities; open a new session",
    Mode.COMMAND: "negotiate capabilities with qmp_capabilities first",
    Mode.CLOSED: "wait for the peer to close the connection",
}


# --- QEMU's descriptions of bad input -------------------------------------------------

_NOT_OBJECT: Final = "QMP input must be a JSON object"
_NEGOTIATE_FIRST: Final = "Expecting capabilities negotiation with 'qmp_capabilities'"
_ALREADY_NEGOTIATED: Final = "Capabilities negotiation is already complete, command ignored"
_EXPLICIT_TOO_LATE: Final = "set-explicit-handles is only allowed before qmp_capabilities"
_NEGOTIATION_COMMANDS: Final = frozenset({"qmp_capabilities", "set-explicit-handles"})

# The members each kind of request may have, besides its verb.
_MEMBERS: Final[dict[str, frozenset[str]]] = {
    "execute": frozenset({"execute", "arguments", "id"}),
    "exec-oob": frozenset({"exec-oob", "arguments", "id"}),
    "connect": frozenset({"connect", "owner", "user_data", "id"}),
    "disconnect": frozenset({"disconnect", "owner", "id"}),
}
_EXECUTE_MEMBERS: Final = _MEMBERS["execute"]
_NO_ARGUMENTS: Final = object()
_KNOWN_MEMBERS: Final = frozenset(key for keys in _MEMBERS.values() for key in keys)
# Ids that need no check before they are echoed.
_PLAIN_IDS: Final = frozenset({int, str, type(None)})
_NOT_FINITE: Final = (
    "QMP input member '{}' holds a number too large to be finite (JSON output has no infinity)"
)


def finite(value: object) -> bool:
    """Whether *value* (decoded JSON) holds no infinite or NaN number, so that it can be sent back."""
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return True
    if t is float:
        return math.isfinite(value)  # type: ignore[arg-type]
    todo: list[Iterable[object]] = []
    if t is list:
        todo.append(value)  # type: ignore[arg-type]
    elif t is dict:
        todo.append(value.values())  # type: ignore[attr-defined]
    else:
        return True
    while todo:  # no recursion: values nest up to the decoder's depth limit
        for item in todo.pop():
            t = type(item)
            if t is float:
                if not math.isfinite(item):  # type: ignore[arg-type]
                    return False
            elif t is list:
                todo.append(item)  # type: ignore[arg-type]
            elif t is dict:
                todo.append(item.values())  # type: ignore[attr-defined]
    return True


def _timestamp(value: object) -> tuple[int, int] | None:
    if type(value) is dict and len(value) == 2:
        s = value.get("seconds")
        us = value.get("microseconds")
        if type(s) is int and type(us) is int:
            return (s, us)
    return None


# --- encoding ------------------------------------------------------------------------


def _greeting_msg(ev: Greeting) -> dict[str, object]:
    return {"QMP": {"version": ev.version, "capabilities": ev.capabilities}}


def _return_msg(ev: Return) -> dict[str, object]:
    if ev.has_id:
        return {"return": ev.value, "id": ev.id}
    return {"return": ev.value}


def _error_msg(ev: ErrorReply) -> dict[str, object]:
    err = {"class": ev.error_class, "desc": ev.desc}
    if ev.has_id:
        return {"error": err, "id": ev.id}
    return {"error": err}


def _event_msg(ev: Event) -> dict[str, object]:
    s, us = ev.timestamp
    msg: dict[str, object] = {"timestamp": {"seconds": s, "microseconds": us}, "event": ev.event}
    if ev.data is not None:
        msg["data"] = ev.data
    return msg


def _signal_msg(ev: SignalMessage) -> dict[str, object]:
    s, us = ev.timestamp
    msg: dict[str, object] = {"signal": ev.signal, "owner": ev.owner, "user_data": ev.user_data}
    if ev.data is not None:
        msg["data"] = ev.data
    msg["timestamp"] = {"seconds": s, "microseconds": us}
    return msg


def _execute_msg(ev: Execute) -> dict[str, object]:
    msg: dict[str, object] = {"exec-oob" if ev.oob else "execute": ev.command}
    if ev.arguments:
        msg["arguments"] = ev.arguments
    if ev.has_id:
        msg["id"] = ev.id
    return msg


def _connect_msg(ev: Connect) -> dict[str, object]:
    msg: dict[str, object] = {"connect": ev.signal, "owner": ev.owner}
    if ev.user_data is not None:
        msg["user_data"] = ev.user_data
    if ev.has_id:
        msg["id"] = ev.id
    return msg


def _disconnect_msg(ev: Disconnect) -> dict[str, object]:
    msg: dict[str, object] = {"disconnect": ev.connection, "owner": ev.owner}
    if ev.has_id:
        msg["id"] = ev.id
    return msg


# Role -> event type -> (wire form, needs command mode).
_SENDS: Final[dict[Role, dict[type, tuple[Callable[[Any], dict[str, object]], bool]]]] = {
    Role.SERVER: {
        Greeting: (_greeting_msg, False),
        Return: (_return_msg, False),
        ErrorReply: (_error_msg, False),
        Event: (_event_msg, True),
        SignalMessage: (_signal_msg, True),
    },
    Role.CLIENT: {
        Execute: (_execute_msg, False),
        Connect: (_connect_msg, True),
        Disconnect: (_disconnect_msg, True),
    },
}


class QMPProtocol:
    """One end of a QMP session, without I/O.

    :param role: :attr:`Role.SERVER` or :attr:`Role.CLIENT`.
    :param max_message_size: the largest message accepted, in bytes.
    :param max_depth: the deepest nesting accepted in a message.
    :param max_tokens: the most JSON tokens accepted in a message.
    :raises ValueError: if a limit is below 1.

    :ivar allow_oob: accept ``exec-oob`` requests (set it when the client
        enabled the ``oob`` capability); without it ``exec-oob`` is an
        unexpected member, as in QEMU.
    """

    def __init__(
        self, role: Role, *, max_message_size: int = 1 << 20, max_depth: int = 1024, max_tokens: int = 2 << 20
    ) -> None:
        self.role: Final = role
        self.allow_oob = False
        self._mode = Mode.NEGOTIATION
        self._explicit = False
        self._decoder = JSONStreamDecoder(max_message_size, max_depth, max_tokens)
        self._parse = self._parse_request if role is Role.SERVER else self._parse_reply
        self._sends = _SENDS[role]

    def __repr__(self) -> str:
        explicit = ", explicit handles" if self._explicit else ""
        return f"<QMPProtocol {self.role.value} {self._mode.value}{explicit}>"

    # --- state ---------------------------------------------------------------------

    @property
    def mode(self) -> Mode:
        """The session's current mode."""
        return self._mode

    @property
    def explicit_handles(self) -> bool:
        """Whether handles travel in canonical form (``set-explicit-handles`` succeeded)."""
        return self._explicit

    def require(self, mode: Mode) -> None:
        """Check that the session is in *mode*.

        :raises StateError: naming the current and the required mode, and what to do.
        """
        if self._mode is not mode:
            raise StateError(
                f"the QMP session is in {self._mode.value} mode, but this needs {mode.value} mode: "
                + _HOW[mode]
            )

    def negotiated(self) -> None:
        """Enter command mode: the server's ``qmp_capabilities`` succeeded (server
        side: call it after sending that reply; client side: on receiving it).

        :raises StateError: if the session is not in negotiation mode.
        """
        self._transition(_NEGOTIATED)

    def set_explicit_handles(self) -> None:
        """Record that ``set-explicit-handles`` succeeded.

        :raises StateError: if the session is not in negotiation mode.
        """
        self._transition(_EXPLICIT)
        self._explicit = True

    def _transition(self, trigger: str) -> None:
        new = _TRANSITIONS.get((self._mode, trigger))
        if new is None:
            hint = _REFUSALS.get((self._mode, trigger), f"not possible in {self._mode.value} mode")
            raise StateError(f"{trigger.replace('_', '-')}: {hint}")
        self._mode = new

    # --- input ---------------------------------------------------------------------

    def receive_data(self, data: bytes) -> list[QMPEvent]:
        """Take bytes from the peer; ``b""`` means EOF.

        :returns: the events *data* completes, in order; after EOF, a final :class:`Closed`.
        :raises StateError: for data after EOF.
        """
        if not data:
            if self._mode is Mode.CLOSED:
                return []
            parse = self._parse
            events = [parse(value) for value in self._decoder.close()]
            self._transition(_EOF)
            events.append(Closed())
            return events
        if self._mode is Mode.CLOSED:
            raise StateError("data received after EOF: the peer already closed the stream")
        parse = self._parse
        return [parse(value) for value in self._decoder.feed(data)]

    def split(self, data: bytes) -> list[object]:
        """The JSON values (or decode errors) completed by *data*, not yet interpreted.

        ``receive_data`` in two steps, for a caller whose handling of one
        value changes how the next is read (``qmp_capabilities`` in the same
        read as the first commands), or that can skip values it has no use for.
        Pass each value to :meth:`interpret`. EOF still goes to ``receive_data``.

        :raises StateError: data after EOF.
        """
        if self._mode is Mode.CLOSED:
            raise StateError("data received after EOF: the peer already closed the stream")
        return self._decoder.feed(data)

    def interpret(self, value: object) -> QMPEvent:
        """The event for one value from :meth:`split`, in the current mode."""
        return self._parse(value)

    def _parse_request(self, msg: object) -> QMPEvent:
        """A server's view of one decoded value."""
        if type(msg) is dict:
            # The common case first: a command in command mode.
            command = msg.get("execute")
            if (
                type(command) is str
                and self._mode is Mode.COMMAND
                and msg.keys() <= _EXECUTE_MEMBERS
                and command not in _NEGOTIATION_COMMANDS
            ):
                args = msg.get("arguments", _NO_ARGUMENTS)
                id_ = msg.get("id")
                if type(id_) in _PLAIN_IDS:
                    if type(args) is dict:
                        return Execute(command, args, id_, "id" in msg)
                    if args is _NO_ARGUMENTS:
                        return Execute(command, {}, id_, "id" in msg)
        return self._parse_other_request(msg)

    def _parse_other_request(self, msg: object) -> QMPEvent:
        if type(msg) is not dict:
            if isinstance(msg, DecodeError):
                return BadMessage("GenericError", msg.desc, None, False)
            return BadMessage("GenericError", _NOT_OBJECT, None, False)
        has_id = "id" in msg
        id_ = msg.get("id")
        if has_id and type(id_) not in _PLAIN_IDS and not finite(id_):
            # The reply could not echo it: JSON has no infinity.
            return BadMessage("GenericError", _NOT_FINITE.format("id"), None, False)
        kind = self._request_kind(msg)
        if kind not in _MEMBERS:
            return BadMessage("GenericError", kind, id_, has_id)
        mode = self._mode
        if kind == "execute" or kind == "exec-oob":
            command: str = msg[kind]
            if mode is Mode.NEGOTIATION:
                if command not in _NEGOTIATION_COMMANDS:
                    return BadMessage("CommandNotFound", _NEGOTIATE_FIRST, id_, has_id)
            elif command in _NEGOTIATION_COMMANDS:
                if command == "qmp_capabilities":
                    return BadMessage("CommandNotFound", _ALREADY_NEGOTIATED, id_, has_id)
                return BadMessage("GenericError", _EXPLICIT_TOO_LATE, id_, has_id)
            return Execute(command, msg.get("arguments", {}), id_, has_id, kind == "exec-oob")
        if mode is Mode.NEGOTIATION:
            return BadMessage("CommandNotFound", _NEGOTIATE_FIRST, id_, has_id)
        if kind == "connect":
            user_data = msg.get("user_data")
            if not finite(user_data):
                return BadMessage("GenericError", _NOT_FINITE.format("user_data"), id_, has_id)
            return Connect(msg["connect"], msg["owner"], user_data, id_, has_id)
        return Disconnect(msg["disconnect"], msg["owner"], id_, has_id)

    def _request_kind(self, msg: dict[str, object]) -> str:
        """The verb of request *msg* (a key of ``_MEMBERS``), or what is wrong with it.

        Like QEMU, check the members in input order and report the first problem.
        """
        kind = None
        for key, value in msg.items():
            if key == "execute" or key == "connect" or (key == "exec-oob" and self.allow_oob):
                if type(value) is not str:
                    return f"QMP input member '{key}' must be a string"
            elif key == "disconnect":
                if type(value) is not int:
                    return "QMP input member 'disconnect' must be an integer"
            elif key == "arguments":
                if type(value) is not dict:
                    return "QMP input member 'arguments' must be an object"
                continue
            elif key in _KNOWN_MEMBERS and key != "exec-oob":
                continue
            else:
                return f"QMP input member '{key}' is unexpected"
            if kind is not None:
                return f"QMP input member '{key}' clashes with '{kind}'"
            kind = key
        if kind is None:
            return "QMP input lacks member 'execute'"
        allowed = _MEMBERS[kind]
        for key in msg:
            if key not in allowed:
                return f"QMP input member '{key}' is unexpected"
        if kind in ("connect", "disconnect") and "owner" not in msg:
            return "QMP input lacks member 'owner'"
        return kind

    def _parse_reply(self, msg: object) -> QMPEvent:
        """A client's view of one decoded value."""
        if type(msg) is not dict:
            if isinstance(msg, DecodeError):
                return BadMessage("GenericError", msg.desc, None, False)
            return BadMessage("GenericError", "QMP output must be a JSON object", None, False)
        has_id = "id" in msg
        id_ = msg.get("id")
        size = len(msg) - has_id
        if "return" in msg:
            if size == 1:
                return Return(msg["return"], id_, has_id)
        elif "error" in msg:
            err = msg["error"]
            if size == 1 and type(err) is dict:
                cls = err.get("class")
                desc = err.get("desc")
                if type(cls) is str and type(desc) is str:
                    return ErrorReply(cls, desc, id_, has_id)
        elif "event" in msg:
            name = msg["event"]
            data = msg.get("data")
            ts = _timestamp(msg.get("timestamp"))
            if not has_id and size == 2 + ("data" in msg) and type(name) is str and ts is not None:
                if data is None or type(data) is dict:
                    return Event(name, data, ts)
        elif "signal" in msg:
            name = msg["signal"]
            data = msg.get("data")
            ts = _timestamp(msg.get("timestamp"))
            expected = 3 + ("data" in msg) + ("user_data" in msg)
            if not has_id and size == expected and type(name) is str and ts is not None and "owner" in msg:
                if data is None or type(data) is dict:
                    return SignalMessage(name, msg["owner"], msg.get("user_data"), data, ts)
        elif "QMP" in msg:
            body = msg["QMP"]
            if not has_id and size == 1 and type(body) is dict:
                version = body.get("version")
                caps = body.get("capabilities")
                if type(version) is dict and type(caps) is list:
                    return Greeting(version, caps)
        else:
            return BadMessage("GenericError", f"unknown QMP message with members {sorted(msg)}", id_, has_id)
        return BadMessage("GenericError", f"malformed QMP message {encode_json(msg)[:200]}", id_, has_id)

    # --- output --------------------------------------------------------------------

    def send(self, event: QMPEvent) -> bytes:
        """The wire form of *event*: compact ASCII-only JSON, CRLF-terminated.

        A server sends :class:`Greeting`, :class:`Return`, :class:`ErrorReply`,
        :class:`Event` and :class:`SignalMessage`; a client sends
        :class:`Execute`, :class:`Connect` and :class:`Disconnect`.  Events,
        signals, connect and disconnect need command mode.  Replies may still
        be sent after EOF (the peer may only have closed its sending side).

        :raises StateError: if this role may not send *event*, or not in this mode.
        :raises ProtocolError: if a value in *event* cannot be written as JSON.
        """
        rule = self._sends.get(type(event))
        if rule is None:
            raise StateError(f"a QMP {self.role.value} does not send {type(event).__name__} messages")
        to_msg, needs_command = rule
        if needs_command and self._mode is Mode.NEGOTIATION:
            raise StateError(
                f"cannot send {type(event).__name__} in negotiation mode: "
                "negotiate capabilities with qmp_capabilities first"
            )
        try:
            return (encode_json(to_msg(event)) + "\r\n").encode()
        except (TypeError, ValueError, RecursionError) as err:
            raise ProtocolError(f"cannot encode {type(event).__name__} as JSON: {err}") from err

    def encode_signal(
        self,
        signal: str,
        owner_json: str,
        user_data_json: str,
        data_json: str | None,
        timestamp: tuple[int, int],
    ) -> bytes:
        """The wire form of a :class:`SignalMessage`, from parts already encoded
        with :func:`~qobjects.qmp.framing.encode_json`.

        The same as ``send(SignalMessage(...))``, but a server pushing one emission
        to many sessions encodes the owner and user_data once per connection
        and the data once per emission (see :func:`signal_head` and
        :func:`signal_line`, which it is made of).

        :raises StateError: if this is not a server in command mode.
        """
        if self.role is not Role.SERVER or self._mode is Mode.NEGOTIATION:
            self.send(SignalMessage(signal, None, None, None, timestamp))  # raises the right StateError
        head = f'{{"signal":{encode_json(signal)},"owner":{owner_json},"user_data":{user_data_json}'
        return head.encode() + signal_line(data_json, timestamp)


# --- pushes encoded in parts ------------------------------------------------------------
#
# A server sends one emission to many sessions and connections: these build the
# same bytes as ``send(Event(...))`` and ``send(SignalMessage(...))`` from parts
# that are encoded once and reused (tests check that both ways agree).


def cache_key(values: dict[str, Any], names: Iterable[str]) -> object:
    """A hashable key telling apart every member *values* that encodes differently.

    The one caching rule of the wire encoders: floats (``-0.0 == 0.0``) and
    tuples (``(1, True) == (1, 1)``) compare equal across different encodings,
    so values holding them are never cached.

    :raises TypeError: when *values* cannot be cached (unhashable, floats, tuples).
    """
    key = tuple([(type(v), v) for v in map(values.get, names)])
    for t, _ in key:
        if t is float or t is tuple:
            raise TypeError("not cacheable")
    hash(key)
    return key


def _encode_part(value: object, what: str) -> str:
    try:
        return encode_json(value)
    except (TypeError, ValueError, RecursionError) as err:
        raise ProtocolError(f"cannot encode {what} as JSON: {err}") from err


def signal_head(signal: str, owner: object, user_data: object) -> bytes:
    """The start of every push of one connection: signal, owner and user_data.

    :raises ProtocolError: a value cannot be written as JSON.
    """
    return (
        f'{{"signal":{_encode_part(signal, "the signal")},"owner":{_encode_part(owner, "the owner")},'
        f'"user_data":{_encode_part(user_data, "user_data")}'
    ).encode()


def signal_data(data: dict[str, Any] | None) -> str | None:
    """The encoded data of one emission, for :func:`signal_line`.

    :raises ProtocolError: a value cannot be written as JSON.
    """
    return None if not data else _encode_part(data, "the signal's data")


def signal_line(data_json: str | None, timestamp: tuple[int, int]) -> bytes:
    """The rest of a signal push after :func:`signal_head`: data and timestamp."""
    s, us = timestamp
    data = "" if data_json is None else f',"data":{data_json}'
    return f'{data},"timestamp":{{"seconds":{s:d},"microseconds":{us:d}}}}}\r\n'.encode()


def event_tail(event: str, data: dict[str, Any] | None) -> str:
    """An event's wire form after its timestamp, for :func:`event_line`.

    :raises ProtocolError: a value cannot be written as JSON.
    """
    data_part = "" if data is None else f',"data":{_encode_part(data, f"the data of event {event}")}'
    return f',"event":{_encode_part(event, "the event name")}{data_part}}}\r\n'


def event_line(timestamp: tuple[int, int], tail: str) -> bytes:
    """The wire form of an event, from its timestamp and :func:`event_tail`."""
    s, us = timestamp
    return f'{{"timestamp":{{"seconds":{s:d},"microseconds":{us:d}}}{tail}'.encode()
