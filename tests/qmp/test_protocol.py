"""The sans-I/O QMP session: feed it bytes, check the events; send events, check the bytes."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

import qobjects.qmp
from qobjects.errors import ProtocolError, StateError
from qobjects.qmp import framing, protocol
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
    QMPEvent,
    QMPProtocol,
    Return,
    Role,
    SignalMessage,
)

NEGOTIATE_FIRST = "Expecting capabilities negotiation with 'qmp_capabilities'"
OWNER = {"__handle__": "Blockdev", "data": "ide0-hd0"}


def server(mode: Mode = Mode.COMMAND) -> QMPProtocol:
    proto = QMPProtocol(Role.SERVER)
    if mode is Mode.COMMAND:
        proto.negotiated()
    return proto


def client(mode: Mode = Mode.COMMAND) -> QMPProtocol:
    proto = QMPProtocol(Role.CLIENT)
    if mode is Mode.COMMAND:
        proto.negotiated()
    return proto


def one(proto: QMPProtocol, data: bytes) -> QMPEvent:
    events = proto.receive_data(data)
    assert len(events) == 1, events
    return events[0]


def generic(desc: str, id_: object = None, has_id: bool = False) -> BadMessage:
    return BadMessage("GenericError", desc, id_, has_id)


# --- the public surface --------------------------------------------------------------


def test_package_exports_are_sorted_and_complete() -> None:
    names = qobjects.qmp.__all__
    assert names == sorted(names)
    assert set(names) == set(protocol.__all__) | set(framing.__all__)
    for name in names:
        assert getattr(qobjects.qmp, name) is not None


@pytest.mark.parametrize(
    "event",
    [
        Greeting({}, []),
        Execute("x", {}, None, False),
        Connect("S", OWNER, None, 1, True),
        Disconnect(1, OWNER, None, False),
        Return({}, None, False),
        ErrorReply("GenericError", "d", None, False),
        Event("E", None, (1, 2)),
        SignalMessage("S", OWNER, None, None, (1, 2)),
        BadMessage("GenericError", "d", None, False),
        Closed(),
    ],
)
def test_events_are_frozen_and_slotted(event: QMPEvent) -> None:
    assert not hasattr(event, "__dict__")
    for field in dataclasses.fields(event):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(event, field.name, 5)


# --- server: requests ----------------------------------------------------------------


def test_execute_with_arguments_and_id() -> None:
    data = b'{"execute": "eject", "arguments": {"device": "ide0"}, "id": {"tag": [1]}}'
    assert one(server(), data) == Execute("eject", {"device": "ide0"}, {"tag": [1]}, True)


def test_execute_without_arguments_or_id() -> None:
    assert one(server(), b'{"execute": "stop"}') == Execute("stop", {}, None, False)


def test_null_id_is_an_id() -> None:
    assert one(server(), b'{"execute": "stop", "id": null}') == Execute("stop", {}, None, True)


def test_several_requests_split_across_reads() -> None:
    proto = server()
    data = b'{"execute": "a", "id": 1}{"execute": "b", "id": 2}\n{\'execute\': \'c\', \'id\': 3}'
    events: list[QMPEvent] = []
    for i in range(len(data)):
        events += proto.receive_data(data[i : i + 1])
    assert events == [Execute("a", {}, 1, True), Execute("b", {}, 2, True), Execute("c", {}, 3, True)]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"[1, 2]", generic("QMP input must be a JSON object")),
        (b'"execute"', generic("QMP input must be a JSON object")),
        (b"42 ", generic("QMP input must be a JSON object")),
        (b'{"id": 5}', generic("QMP input lacks member 'execute'", 5, True)),
        (b'{"execute": 1, "id": 5}', generic("QMP input member 'execute' must be a string", 5, True)),
        (
            b'{"execute": "x", "arguments": [], "id": 5}',
            generic("QMP input member 'arguments' must be an object", 5, True),
        ),
        (b'{"execute": "x", "arguments": null}', generic("QMP input member 'arguments' must be an object")),
        (
            b'{"execute": "x", "extra": 1, "id": "a"}',
            generic("QMP input member 'extra' is unexpected", "a", True),
        ),
        (b'{"extra": 1, "execute": "x"}', generic("QMP input member 'extra' is unexpected")),
        (b'{"execute": "x", "exec-oob": "y"}', generic("QMP input member 'exec-oob' is unexpected")),
        (b'{"execute": "x", "connect": "y"}', generic("QMP input member 'connect' clashes with 'execute'")),
        (b'{"execute": "x", "owner": {}}', generic("QMP input member 'owner' is unexpected")),
        (
            b'{"connect": "S", "owner": {}, "arguments": {}}',
            generic("QMP input member 'arguments' is unexpected"),
        ),
        (b'{"connect": 5, "owner": {}}', generic("QMP input member 'connect' must be a string")),
        (b'{"connect": "S", "id": 3}', generic("QMP input lacks member 'owner'", 3, True)),
        (b'{"disconnect": "24", "owner": {}}', generic("QMP input member 'disconnect' must be an integer")),
        (b'{"disconnect": true, "owner": {}}', generic("QMP input member 'disconnect' must be an integer")),
        (
            b'{"disconnect": 24, "owner": {}, "user_data": 1}',
            generic("QMP input member 'user_data' is unexpected"),
        ),
    ],
)
def test_request_shapes_are_checked_as_qemu_does(data: bytes, expected: BadMessage) -> None:
    assert one(server(), data) == expected


def test_parse_error_has_no_id_and_the_session_goes_on() -> None:
    proto = server()
    events = proto.receive_data(b'{"execute": "x", "id": 1,}{"execute": "y", "id": 2}')
    assert len(events) == 2
    bad = events[0]
    assert isinstance(bad, BadMessage)
    assert (bad.error_class, bad.id, bad.has_id) == ("GenericError", None, False)
    assert bad.desc.startswith("JSON parse error, ")
    assert events[1] == Execute("y", {}, 2, True)


def test_garbage_then_control_character_then_request() -> None:
    # A new line does not end an open value (QEMU counts brackets); a lexical error does.
    events = server().receive_data(b'{"execute": \n{"execute": "y"}\n\x01\n{"execute": "y"}')
    assert [type(e) for e in events] == [BadMessage, Execute]


def test_size_and_depth_limits() -> None:
    proto = QMPProtocol(Role.SERVER, max_message_size=100, max_depth=3)
    proto.negotiated()
    events = proto.receive_data(
        b'{"execute": "x", "arguments": {"a": "' + b"x" * 200 + b'"}}'
        b'{"execute": "x", "arguments": {"a": [[1]]}}'
        b'{"execute": "x", "arguments": {"a": [1]}}'
    )
    assert events == [
        generic("JSON token size limit exceeded (a message may have at most 100 bytes)"),
        generic("JSON nesting depth limit exceeded (at most 3 levels)"),
        Execute("x", {"a": [1]}, None, False),
    ]


def test_exec_oob_when_allowed() -> None:
    proto = server()
    proto.allow_oob = True
    assert one(proto, b'{"exec-oob": "x", "id": 1}') == Execute("x", {}, 1, True, oob=True)
    assert one(proto, b'{"exec-oob": "x", "execute": "y"}') == generic(
        "QMP input member 'execute' clashes with 'exec-oob'"
    )


def test_connect_and_disconnect() -> None:
    proto = server()
    data = b'{"connect": "IO_ERROR", "owner": {"__handle__": "Blockdev", "data": "ide0-hd0"}, '
    data += b'"user_data": "sess-23423", "id": 7}'
    assert one(proto, data) == Connect("IO_ERROR", OWNER, "sess-23423", 7, True)
    assert one(proto, b'{"connect": "IO_ERROR", "owner": 1}') == Connect("IO_ERROR", 1, None, None, False)
    data = b'{"disconnect": 24, "owner": {"__handle__": "Blockdev", "data": "ide0-hd0"}}'
    assert one(proto, data) == Disconnect(24, OWNER, None, False)


# --- server: negotiation -------------------------------------------------------------


@pytest.mark.parametrize("command", ["qmp_capabilities", "set-explicit-handles"])
def test_negotiation_commands_pass_in_negotiation_mode(command: str) -> None:
    data = json.dumps({"execute": command, "arguments": {"enable": []}, "id": 1}).encode()
    assert one(server(Mode.NEGOTIATION), data) == Execute(command, {"enable": []}, 1, True)


@pytest.mark.parametrize(
    "data",
    [
        b'{"execute": "query-block", "id": 1}',
        b'{"connect": "IO_ERROR", "owner": {}, "id": 1}',
        b'{"disconnect": 3, "owner": {}, "id": 1}',
    ],
)
def test_everything_else_waits_for_negotiation(data: bytes) -> None:
    assert one(server(Mode.NEGOTIATION), data) == BadMessage("CommandNotFound", NEGOTIATE_FIRST, 1, True)


def test_shape_errors_come_before_negotiation_errors() -> None:
    assert one(server(Mode.NEGOTIATION), b'{"execute": "x", "bad": 1}') == generic(
        "QMP input member 'bad' is unexpected"
    )


def test_qmp_capabilities_again_in_command_mode() -> None:
    assert one(server(), b'{"execute": "qmp_capabilities", "id": 2}') == BadMessage(
        "CommandNotFound", "Capabilities negotiation is already complete, command ignored", 2, True
    )


def test_set_explicit_handles_after_negotiation() -> None:
    assert one(server(), b'{"execute": "set-explicit-handles", "id": 2}') == BadMessage(
        "GenericError", "set-explicit-handles is only allowed before qmp_capabilities", 2, True
    )


def test_no_events_before_negotiation() -> None:
    proto = server(Mode.NEGOTIATION)
    proto.send(Greeting({"qemu": {"major": 9, "minor": 0, "micro": 0}, "package": ""}, []))
    proto.send(Return({}, 1, True))
    with pytest.raises(StateError, match=r"negotiation mode.*qmp_capabilities"):
        proto.send(Event("STOP", None, (1, 2)))
    with pytest.raises(StateError, match="negotiation mode"):
        proto.send(SignalMessage("IO_ERROR", OWNER, None, None, (1, 2)))
    with pytest.raises(StateError, match="negotiation mode"):
        proto.encode_signal("IO_ERROR", "{}", "null", None, (1, 2))
    proto.negotiated()
    assert (
        proto.send(Event("STOP", None, (1, 2)))
        == b'{"timestamp":{"seconds":1,"microseconds":2},"event":"STOP"}\r\n'
    )


# --- the state table -----------------------------------------------------------------


def test_state_transitions() -> None:
    proto = server(Mode.NEGOTIATION)
    assert (proto.mode, proto.explicit_handles) == (Mode.NEGOTIATION, False)
    proto.set_explicit_handles()
    assert (proto.mode, proto.explicit_handles) == (Mode.NEGOTIATION, True)
    proto.negotiated()
    assert (proto.mode, proto.explicit_handles) == (Mode.COMMAND, True)
    assert proto.receive_data(b"") == [Closed()]
    assert proto.mode is Mode.CLOSED
    assert proto.receive_data(b"") == []


def test_refused_transitions_say_what_to_do() -> None:
    proto = server()
    with pytest.raises(
        StateError, match="only allowed in negotiation mode, before qmp_capabilities; open a new"
    ):
        proto.set_explicit_handles()
    with pytest.raises(StateError, match="already negotiated"):
        proto.negotiated()
    assert proto.explicit_handles is False
    proto.receive_data(b"")
    with pytest.raises(StateError, match="closed; open a new one"):
        proto.negotiated()
    with pytest.raises(StateError, match="after EOF"):
        proto.receive_data(b"{}")


def test_require_names_both_modes() -> None:
    proto = server(Mode.NEGOTIATION)
    proto.require(Mode.NEGOTIATION)
    with pytest.raises(StateError) as info:
        proto.require(Mode.COMMAND)
    assert str(info.value) == (
        "the QMP session is in negotiation mode, but this needs command mode: "
        "negotiate capabilities with qmp_capabilities first"
    )


def test_eof_reports_an_unfinished_message_then_closes() -> None:
    proto = server()
    assert proto.receive_data(b'{"execute": "x"}{"execute"') == [Execute("x", {}, None, False)]
    assert proto.receive_data(b"") == [generic("JSON parse error, premature EOI"), Closed()]


def test_replies_can_still_be_sent_after_eof() -> None:
    proto = server()
    proto.receive_data(b"")
    assert proto.send(Return({}, 1, True)) == b'{"return":{},"id":1}\r\n'


# --- server: output ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "wire"),
    [
        (
            Greeting({"qemu": {"major": 9, "minor": 2, "micro": 0}, "package": "é"}, ["oob"]),
            b'{"QMP":{"version":{"qemu":{"major":9,"minor":2,"micro":0},"package":"\\u00e9"},"capabilities":["oob"]}}',
        ),
        (Return({}, None, False), b'{"return":{}}'),
        (Return([1, "\u20ac"], "x", True), b'{"return":[1,"\\u20ac"],"id":"x"}'),
        (Return(24, None, True), b'{"return":24,"id":null}'),
        (
            ErrorReply("GenericError", "bad", 5, True),
            b'{"error":{"class":"GenericError","desc":"bad"},"id":5}',
        ),
        (
            ErrorReply("CommandNotFound", "no", None, False),
            b'{"error":{"class":"CommandNotFound","desc":"no"}}',
        ),
        (
            Event("BLOCK_IO_ERROR", {"device": "ide0"}, (-1, -1)),
            b'{"timestamp":{"seconds":-1,"microseconds":-1},"event":"BLOCK_IO_ERROR","data":{"device":"ide0"}}',
        ),
        (
            SignalMessage("IO_ERROR", OWNER, "sess-23423", {"operation": "read", "action": "stop"}, (1, 2)),
            b'{"signal":"IO_ERROR","owner":{"__handle__":"Blockdev","data":"ide0-hd0"},"user_data":"sess-23423",'
            b'"data":{"operation":"read","action":"stop"},"timestamp":{"seconds":1,"microseconds":2}}',
        ),
    ],
)
def test_server_output_is_compact_ascii_crlf(event: QMPEvent, wire: bytes) -> None:
    out = server().send(event)
    assert out == wire + b"\r\n"
    assert out.isascii()


def test_encode_signal_matches_send() -> None:
    proto = server()
    data = {"operation": "read", "action": "stop"}
    for user_data, payload in (("sess", data), (None, None), ({"x": [1]}, {})):
        expected = proto.send(SignalMessage("IO_ERROR", OWNER, user_data, payload, (3, 4)))
        got = proto.encode_signal(
            "IO_ERROR",
            framing.encode_json(OWNER),
            framing.encode_json(user_data),
            None if payload is None else framing.encode_json(payload),
            (3, 4),
        )
        assert got == expected


@pytest.mark.parametrize(
    "event",
    [
        Execute("x", {}, None, False),
        Connect("S", OWNER, None, None, False),
        Disconnect(1, OWNER, None, False),
        BadMessage("GenericError", "d", None, False),
        Closed(),
    ],
)
def test_server_does_not_send_client_messages(event: QMPEvent) -> None:
    with pytest.raises(StateError, match=f"a QMP server does not send {type(event).__name__}"):
        server().send(event)


def test_unencodable_value_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="cannot encode Return"):
        server().send(Return(object(), None, False))
    with pytest.raises(ProtocolError):
        server().send(Return(float("nan"), None, False))


# --- client --------------------------------------------------------------------------


def test_client_output() -> None:
    proto = client(Mode.NEGOTIATION)
    assert (
        proto.send(Execute("qmp_capabilities", {}, 1, True)) == b'{"execute":"qmp_capabilities","id":1}\r\n'
    )
    assert proto.send(Execute("x", {"a": "\u00e9"}, None, False, oob=True)) == (
        b'{"exec-oob":"x","arguments":{"a":"\\u00e9"}}\r\n'
    )
    with pytest.raises(StateError, match="cannot send Connect in negotiation mode"):
        proto.send(Connect("S", OWNER, None, 1, True))
    proto.negotiated()
    assert proto.send(Connect("IO_ERROR", OWNER, "u", 7, True)) == (
        b'{"connect":"IO_ERROR","owner":{"__handle__":"Blockdev","data":"ide0-hd0"},"user_data":"u","id":7}\r\n'
    )
    assert proto.send(Disconnect(24, OWNER, None, False)) == (
        b'{"disconnect":24,"owner":{"__handle__":"Blockdev","data":"ide0-hd0"}}\r\n'
    )
    with pytest.raises(StateError, match="a QMP client does not send Return"):
        proto.send(Return({}, None, False))
    with pytest.raises(StateError, match="client does not send SignalMessage"):
        proto.encode_signal("S", "{}", "null", None, (1, 2))


def test_client_parses_what_a_server_sends() -> None:
    proto = client(Mode.NEGOTIATION)
    data = (
        b'{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 9}, "package": "v9.2.0"}, '
        b'"capabilities": ["oob"]}}\r\n'
        b'{"return": {}, "id": 1}\r\n'
        b'{"error": {"class": "CommandNotFound", "desc": "nope"}}\r\n'
        b'{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "STOP"}\r\n'
        b'{"event": "X", "data": {"a": 1}, "timestamp": {"seconds": 1, "microseconds": 2}}\r\n'
        b'{"signal": "IO_ERROR", "owner": {"__handle__": "Blockdev", "data": "ide0-hd0"}, "user_data": 5, '
        b'"data": {"operation": "read"}, "timestamp": {"seconds": 3, "microseconds": 4}}\r\n'
    )
    assert proto.receive_data(data) == [
        Greeting({"qemu": {"micro": 0, "minor": 2, "major": 9}, "package": "v9.2.0"}, ["oob"]),
        Return({}, 1, True),
        ErrorReply("CommandNotFound", "nope", None, False),
        Event("STOP", None, (1, 2)),
        Event("X", {"a": 1}, (1, 2)),
        SignalMessage("IO_ERROR", OWNER, 5, {"operation": "read"}, (3, 4)),
    ]
    assert proto.receive_data(b"") == [Closed()]
    assert proto.mode is Mode.CLOSED


@pytest.mark.parametrize(
    "data",
    [
        b'{"execute": "x"}',
        b'{"return": 1, "extra": 2}',
        b'{"error": "x"}',
        b'{"error": {"class": 1, "desc": "d"}}',
        b'{"event": "X", "timestamp": {"seconds": "1", "microseconds": 2}}',
        b'{"event": "X", "data": [], "timestamp": {"seconds": 1, "microseconds": 2}}',
        b'{"event": "X"}',
        b'{"signal": "S", "data": {}, "timestamp": {"seconds": 1, "microseconds": 2}}',
        b'{"QMP": {"version": "9"}}',
        b"[1]",
        b"{,}",
    ],
)
def test_client_refuses_what_a_server_does_not_send(data: bytes) -> None:
    assert isinstance(one(client(), data), BadMessage)


def test_client_bad_message_keeps_the_id() -> None:
    assert one(client(), b'{"return": 1, "extra": 2, "id": 9}') == BadMessage(
        "GenericError", 'malformed QMP message {"return":1,"extra":2,"id":9}', 9, True
    )


# --- round trips ---------------------------------------------------------------------

def _qemu_char(c: str) -> bool:
    """Not a noncharacter (U+FDD0..U+FDEF, U+xFFFE, U+xFFFF): QEMU's parser refuses those."""
    cp = ord(c)
    return not (0xFDD0 <= cp <= 0xFDEF or cp & 0xFFFE == 0xFFFE)


# What QEMU's parser reads back as sent: strings without surrogates or noncharacters,
# integers in its exact range (beyond it JSON integers are read as doubles, as QEMU does).
TEXT = st.text(st.characters(exclude_categories=["Cs"]).filter(_qemu_char))
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=10,
)


@given(value=JSON, id_=JSON, has_id=st.booleans())
def test_reply_round_trip(value: object, id_: object, has_id: bool) -> None:
    sent = Return(value, id_ if has_id else None, has_id)
    assert client().receive_data(server().send(sent)) == [sent]


@given(command=TEXT.filter(bool), arguments=st.dictionaries(TEXT, JSON, max_size=3), id_=JSON)
def test_execute_round_trip(command: str, arguments: dict[str, object], id_: object) -> None:
    if command in ("qmp_capabilities", "set-explicit-handles"):
        command += "-not"
    sent = Execute(command, arguments, id_, True)
    assert server().receive_data(client().send(sent)) == [sent]


@given(
    data=st.binary(max_size=120)
    | st.lists(
        st.sampled_from([b"{", b"}", b'"execute"', b":", b'"x"', b",", b"'", b"\n", b"\x01", b"[1]"])
    ).map(b"".join),
    cuts=st.lists(st.integers(min_value=1, max_value=20), max_size=6),
    role=st.sampled_from(Role),
    negotiated=st.booleans(),
)
def test_any_bytes_never_raise(data: bytes, cuts: list[int], role: Role, negotiated: bool) -> None:
    proto = QMPProtocol(role, max_message_size=50, max_depth=3)
    if negotiated:
        proto.negotiated()
    events: list[QMPEvent] = []
    pos = 0
    for size in [*cuts, len(data)]:
        if data[pos : pos + size]:
            events += proto.receive_data(data[pos : pos + size])
        pos += size
    events += proto.receive_data(b"")
    assert events[-1] == Closed()


# --- pushes encoded in parts, and the one caching rule ---------------------------------------

_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=5)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)


@given(
    user_data=_json_values,
    data=st.none() | st.dictionaries(st.text(min_size=1, max_size=4), _json_values, min_size=1, max_size=3),
    ts=st.tuples(st.integers(0, 2**40), st.integers(0, 999_999)),
)
def test_push_parts_make_the_bytes_send_makes(
    user_data: object, data: dict[str, object] | None, ts: tuple[int, int]
) -> None:
    proto = server()
    whole = proto.send(SignalMessage("IO_ERROR", OWNER, user_data, data, ts))
    parts = protocol.signal_head("IO_ERROR", OWNER, user_data) + protocol.signal_line(
        protocol.signal_data(data), ts
    )
    assert parts == whole
    assert proto.send(Event("E", data, ts)) == protocol.event_line(ts, protocol.event_tail("E", data))


def test_push_parts_refuse_what_json_cannot_carry() -> None:
    with pytest.raises(ProtocolError, match="user_data"):
        protocol.signal_head("S", OWNER, [float("inf")])
    with pytest.raises(ProtocolError, match="event E"):
        protocol.event_tail("E", {"x": float("nan")})


def test_cache_key_tells_apart_what_encodes_differently() -> None:
    key = protocol.cache_key
    assert key({"a": 1}, ["a"]) != key({"a": True}, ["a"])  # 1 == True, but "1" != "true"
    assert key({"a": "x", "b": None}, ["a", "b"]) == key({"b": None, "a": "x"}, ["a", "b"])
    for uncacheable in (0.0, -0.0, (1, True), [1], {"x": 1}):
        with pytest.raises(TypeError):
            key({"a": uncacheable}, ["a"])


@pytest.mark.parametrize(
    "raw",
    [b'{"execute":"q","id":1e400}', b'{"execute":"q","id":[-1e400]}', b'{"execute":"q","id":{"a":[2e308]}}'],
)
def test_non_finite_id_is_refused_without_echo(raw: bytes) -> None:
    (ev,) = server().receive_data(raw)
    assert isinstance(ev, BadMessage) and not ev.has_id
    assert "'id'" in ev.desc and "finite" in ev.desc


def test_non_finite_user_data_is_refused_with_the_id() -> None:
    (ev,) = server().receive_data(b'{"connect":"S","owner":{},"user_data":{"a":[1e999]},"id":3}')
    assert isinstance(ev, BadMessage) and ev.id == 3 and "'user_data'" in ev.desc
    (ok,) = server().receive_data(b'{"connect":"S","owner":{},"user_data":{"a":[1.5e300]},"id":4}')
    assert isinstance(ok, Connect)
