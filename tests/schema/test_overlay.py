"""Overlays: handles and signals for a server known only through introspection."""

from __future__ import annotations

from typing import Any

import pytest

from qobjects.errors import SchemaError, ValidationError, WrongType
from qobjects.objects import owner_of
from qobjects.qmp.introspect import ServerNamespace, qemu_overlay, server_namespace
from qobjects.schema import introspect as _introspect_mod
from qobjects.schema import parse_schema

# A server schema without any qobjects extension, as QEMU's is.
SERVER = """
{ 'enum': 'State', 'data': [ 'on', 'off' ] }
{ 'struct': 'Thing', 'data': { 'name': 'str', '*id': 'str', 'size': 'int', 'state': 'State' } }
{ 'command': 'query-things', 'returns': [ 'Thing' ] }
{ 'command': 'query-first', 'returns': 'Thing' }
{ 'command': 'drop', 'data': { 'name': 'str', '*force': 'bool' } }
{ 'command': 'resize', 'data': { 'name': 'int' } }
{ 'event': 'THING_CHANGED', 'data': { 'name': 'str', 'id': 'str', 'state': 'State' } }
{ 'event': 'THING_GONE', 'data': { '*id': 'str', 'name': 'str' } }
{ 'event': 'HALT' }
"""

OVERLAY = """
{ 'handle': 'Thing', 'data': 'str',
  'named-by': [ 'query-things.returns.name|id', 'query-first.returns.name', 'drop.name' ] }
{ 'handle': 'Server', 'data': 'str' }
{ 'signal': 'CHANGED', 'owner': 'Thing', 'event': 'THING_CHANGED',
  'owner-member': 'name|id', 'data': [ 'state' ] }
{ 'signal': 'GONE', 'owner': 'Thing', 'event': 'THING_GONE', 'owner-member': 'id|name' }
{ 'signal': 'HALT', 'owner': 'Server', 'event': 'HALT' }
"""


def server_info() -> list[dict[str, Any]]:
    return _introspect_mod.introspect(parse_schema(SERVER, "server.json"))


def _overlay(text: str = OVERLAY) -> Any:
    return parse_schema(text, "o.json", overlay=True)


def make(overlay: str = OVERLAY, strict: bool = True) -> ServerNamespace:
    return server_namespace(server_info(), parse_schema(overlay, "o.json", overlay=True), strict=strict)


def test_commands_and_names() -> None:
    ns = make()
    drop = ns.command_by_py("drop")
    assert drop is not None and [a.name for a in drop.args] == ["name", "force"]
    things = ns.commands["query-things"].ret
    assert things is not None
    item = things.decode(
        [{"name": "", "id": "t1", "size": 2**64 - 1, "state": "on"}], _ctx(), "reply", ""
    )[0]
    # The list's element is named after the command; the name falls back to 'id'.
    assert type(item).__name__ == "QueryThingsItem"
    assert item.name.value == "t1" and type(item.name) is ns.Thing
    assert item.size == 2**64 - 1 and item.state == "on"
    assert ns.command_by_py("nope") is None
    assert "QueryThingsItem" in ns.types and "QueryThingsItemState" in ns.types
    state_enum: Any = ns.types["QueryThingsItemState"]
    assert [m.value for m in state_enum] == ["on", "off"] and state_enum.on == "on"


def _ctx() -> Any:
    from qobjects.codecs import LOCAL

    class Ctx(type(LOCAL)):  # type: ignore[misc]
        def handle(self, cls: Any, value: object) -> Any:
            return cls._make(value, None, "session")

    return Ctx(strict=False)


def test_enum_values_are_checked() -> None:
    ns = make()
    ret = ns.commands["query-first"].ret
    assert ret is not None
    with pytest.raises(WrongType, match="one of 'on', 'off'"):
        ret.decode({"name": "a", "size": 1, "state": "hmm"}, _ctx(), "reply", "")


def test_command_takes_handle_or_plain_value() -> None:
    ns = make()
    spec = ns.commands["drop"]
    assert spec.check(name="a") == {"name": "a", "force": None}
    with pytest.raises(WrongType, match="Thing or str"):
        spec.check(name=3)


def test_signals_and_emulation_table() -> None:
    ns = make()
    table = ns.emulation_table()
    assert set(table) == {"THING_CHANGED", "THING_GONE", "HALT"}
    assert all(not entries for entries in table.values())  # no class built yet
    thing = ns.handles["Thing"]
    [(cls, signal, find)] = table["THING_CHANGED"]
    assert cls is thing and signal is thing._signals["CHANGED"]
    assert [s.name for s in signal.specs] == ["state"]
    assert find({"name": "", "id": "x"}) == "x" and find({"name": "n", "id": "x"}) == "n"
    ns.handles["Server"]
    [(_, halt, find_server)] = table["HALT"]
    assert halt.specs == () and find_server({}) == ""


def test_emulated_signals() -> None:
    assert make().emulated_signals() == {
        "CHANGED": ("Thing", ["state"]),
        "GONE": ("Thing", []),
        "HALT": ("Server", []),
    }


def test_owner_of() -> None:
    assert owner_of(["a", "b"])({"a": {"__handle__": "X", "data": "v"}}) == "v"
    assert owner_of(["a"])({"a": ""}) is None
    assert owner_of([], 0)({"a": 1}) == 0


@pytest.mark.parametrize(
    ("overlay", "msg"),
    [
        (
            "{ 'handle': 'Tt', 'data': 'str', 'named-by': [ 'nope.x' ] }",
            "'named-by' path 'nope.x': the server has no command or event 'nope'",
        ),
        (
            "{ 'handle': 'Tt', 'data': 'str', 'named-by': [ 'query-first.returns.nope' ] }",
            "'named-by' path 'query-first.returns.nope': no member 'nope'",
        ),
        (
            "{ 'handle': 'Tt', 'data': 'str', 'named-by': [ 'resize.name' ] }",
            "'named-by' path 'resize.name': member 'name' is of type int, but Tt is a string",
        ),
        (
            "{ 'handle': 'Tt', 'data': 'str' }\n"
            "{ 'signal': 'S', 'owner': 'Tt', 'event': 'NOPE' }",
            "signal Tt.S: the server has no event 'NOPE'",
        ),
        (
            "{ 'handle': 'Tt', 'data': 'str' }\n"
            "{ 'signal': 'S', 'owner': 'Tt', 'event': 'HALT', 'owner-member': 'x|y' }",
            "signal Tt.S: event 'HALT' has no member 'x' or 'y'",
        ),
        (
            "{ 'handle': 'Tt', 'data': 'str' }\n"
            "{ 'signal': 'S', 'owner': 'Tt', 'event': 'THING_CHANGED', 'data': [ 'size' ] }",
            "signal Tt.S: event 'THING_CHANGED' has no member 'size'",
        ),
    ],
)
def test_overlay_does_not_fit(overlay: str, msg: str) -> None:
    with pytest.raises(SchemaError) as exc:
        make(overlay)
    assert exc.value.msg == msg
    assert str(exc.value).startswith("o.json: In ")  # located at the definition
    lenient = make(overlay, strict=False)
    assert lenient.problems == [msg]


def test_bundled_qemu_overlay_parses() -> None:
    overlay = qemu_overlay()
    assert [h.name for h in overlay.handles()] == ["Blockdev", "Job", "Device", "Machine"]
    stop = next(s for s in overlay.signals() if s.name == "STOP")
    assert stop.event_name == "STOP" and stop.owner_members == ()
    tray = next(s for s in overlay.signals() if s.name == "TRAY_MOVED")
    assert tray.owner_members == ("device", "id") and tray.data_names == ["tray-open"]


def test_introspection_reply_must_be_a_list() -> None:
    with pytest.raises(SchemaError, match="did not return a list of SchemaInfo"):
        server_namespace({"x": 1})
    with pytest.raises(SchemaError, match="did not return a list of SchemaInfo"):
        server_namespace([{"nameless": 1}])


def test_plain_schema_signal_without_owner_member() -> None:
    schema = parse_schema(
        SERVER
        + """
{ 'handle': 'Machine', 'data': 'str' }
{ 'signal': 'HALTED', 'owner': 'Machine', 'event': 'HALT' }
{ 'handle': 'Tt', 'data': 'str' }
{ 'signal': 'GONE', 'owner': 'Tt', 'event': 'THING_GONE', 'owner-member': 'id|name' }
""",
        "s.json",
    )
    halted = next(s for s in schema.signals() if s.name == "HALTED")
    assert halted.event is not None and halted.owner_member is None
    gone = next(s for s in schema.signals() if s.name == "GONE")
    assert gone.owner_members == ("id", "name")
    from qobjects.objects import build

    table = build(schema).emulation_table()
    [(_, _, find)] = table["HALT"]
    assert find({}) == ""
    [(_, _, find_gone)] = table["THING_GONE"]
    assert find_gone({"name": "n"}) == "n"


def test_plain_schema_last_owner_alternative_must_be_required() -> None:
    with pytest.raises(SchemaError, match="'owner-member' 'id' of event 'THING_GONE' must not be optional"):
        parse_schema(
            SERVER
            + "{ 'handle': 'Tt', 'data': 'str' }\n"
            "{ 'signal': 'GONE', 'owner': 'Tt', 'event': 'THING_GONE', 'owner-member': 'name|id' }",
            "s.json",
        )


def _build_together(ns: ServerNamespace, n: int) -> list[tuple[object, ...]]:
    import threading

    barrier = threading.Barrier(n)
    got: list[tuple[object, ...]] = []

    def build() -> None:
        barrier.wait()
        ret = ns.commands["query-first"].ret
        got.append((ret, ns.handles["Thing"], ns.types["QueryThingsItem"]))

    threads = [threading.Thread(target=build) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return got


def test_one_class_per_type_across_threads() -> None:
    for _ in range(20):
        got = _build_together(make(), 6)
        assert len(got) == 6
        for i in range(3):
            assert len({id(g[i]) for g in got}) == 1


@pytest.mark.parametrize("drop", ["arg-type", "ret-type", "members", "meta-type", "element-type", "values"])
def test_malformed_introspection_gives_clear_errors(drop: str) -> None:
    """A server whose SchemaInfo lacks a key: only SchemaError or ValidationError, never a KeyError."""
    info = server_info()
    for entry in info:
        entry.pop(drop, None)
    try:
        ns = server_namespace(info, _overlay(), strict=False)
    except SchemaError:
        return  # the overlay's paths already met the gap
    samples = {"query-things": [{"name": "a", "size": 1, "state": "on"}], "query-first": {"name": "a"}}
    for name in ("query-things", "query-first", "drop"):
        try:
            spec = ns.commands.get(name)  # None: without meta-types there are no commands
            if spec is not None and spec.ret is not None:
                spec.ret.decode(samples[name], _ctx(), "reply", "")
        except (SchemaError, ValidationError):
            continue


def test_malformed_command_is_refused_clearly() -> None:
    info = [e for e in server_info() if e["meta-type"] == "command"]  # the types are missing
    ns = server_namespace(info)
    with pytest.raises(SchemaError, match="the server's schema does not describe 'drop' correctly"):
        ns.commands["drop"]
    assert ns.commands.get("nope") is None


def test_alternate_with_an_enum_branch_takes_its_strings() -> None:
    # A server's enum is a string on the wire: an alternate picks that branch for a string.
    schema = parse_schema(
        SERVER
        + """
{ 'alternate': 'Level', 'data': { 'named': 'State', 'number': 'int' } }
{ 'struct': 'Dimmer', 'data': { 'level': 'Level' } }
{ 'command': 'query-dimmer', 'returns': 'Dimmer' }
""",
        "s.json",
    )
    ns = server_namespace(_introspect_mod.introspect(schema))
    ret = ns.commands["query-dimmer"].ret
    assert ret is not None
    assert ret.decode({"level": "on"}, _ctx(), "reply", "").level == "on"
    assert ret.decode({"level": 3}, _ctx(), "reply", "").level == 3
    with pytest.raises(ValidationError):
        ret.decode({"level": "dim"}, _ctx(), "reply", "")
