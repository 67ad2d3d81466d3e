"""The qobjects extensions: ``handle`` and ``signal`` definitions."""

from __future__ import annotations

import pytest

from qobjects.errors import SchemaError
from qobjects.schema import Command, HandleType, ObjectType, Schema, SchemaSignal, parse_schema
from qobjects.schema.dump import dump

BASE = """\
{ 'handle': 'Blockdev', 'data': 'str' }
{ 'enum': 'Op', 'data': [ 'read', 'write' ] }
{ 'event': 'BLOCK_IO_ERROR',
  'data': { 'device': 'str', 'operation': 'Op', '*reason': 'str' } }
"""
BASE_LINES = BASE.count("\n")


def load(text: str) -> Schema:
    return parse_schema(text, "t.json")


def error(text: str) -> SchemaError:
    with pytest.raises(SchemaError) as info:
        load(text)
    return info.value


def check_error(extra: str, msg: str, line: int, context: str | None = None) -> None:
    """*extra* appended to BASE fails with *msg* at *line* of *extra*."""
    err = error(BASE + extra)
    assert err.msg == msg
    assert err.info is not None
    assert err.info.line == BASE_LINES + line
    if context is not None:
        assert str(err).startswith(f"t.json: In {context}:\nt.json:{BASE_LINES + line}: ")


def test_handle_model() -> None:
    schema = load(BASE + "{ 'handle': 'Fd', 'data': 'int32' }\n")
    h = schema.lookup_type("Blockdev")
    assert isinstance(h, HandleType)
    assert h.meta == "handle"
    assert h.data.name == "str"
    assert h.json_type() == "string"
    fd = schema.lookup_type("Fd")
    assert isinstance(fd, HandleType)
    assert fd.json_type() == "int"
    assert list(schema.handles()) == [h, fd]


@pytest.mark.parametrize("data", ["str", "int", "int8", "uint64", "size"])
def test_handle_data_ok(data: str) -> None:
    load(f"{{ 'handle': 'Hh', 'data': '{data}' }}")


@pytest.mark.parametrize(
    ("data", "what"),
    [
        ("bool", "built-in type 'bool'"),
        ("number", "built-in type 'number'"),
        ("any", "built-in type 'any'"),
        ("Op", "enum type 'Op'"),
    ],
)
def test_handle_bad_data(data: str, what: str) -> None:
    err = error(BASE + f"{{ 'handle': 'Hh', 'data': '{data}' }}\n")
    assert err.msg.startswith(f"handle's 'data' cannot take {what}\nValid types are 'str', 'int'")
    assert err.info is not None and err.info.line == BASE_LINES + 1
    assert str(err).startswith("t.json: In handle 'Hh':\n")


def test_handle_errors() -> None:
    check_error("{ 'handle': 'Hh', 'data': 'Nope' }", "handle's 'data' uses unknown type 'Nope'", 1)
    check_error("{ 'handle': 'Hh', 'data': ['str'] }", "'data' should be a type name", 1)
    check_error("{ 'handle': 'Hh' }", "handle misses key 'data'", 1)
    check_error("{ 'handle': 'lower', 'data': 'str' }", "name of handle must use CamelCase", 1)
    check_error(
        "{ 'handle': 'Hh', 'data': 'str', 'x': 1 }".replace("1", "true"),
        "handle has unknown key 'x'\nValid keys are 'data', 'features', 'handle', 'if', 'named-by'.",
        1,
    )
    check_error(
        "{ 'handle': 'Job', 'data': 'str', 'named-by': [ 'query-jobs.returns.id' ] }",
        "'named-by' is only allowed in an overlay, which is merged with a server's schema",
        1,
    )
    check_error(
        "{ 'handle': 'Job', 'data': 'str', 'named-by': [ 'query-jobs' ] }",
        "'named-by' path 'query-jobs' names no member\n"
        "A path is a command or event, then member names: 'eject.id', 'query-jobs.returns.id'.",
        1,
    )
    check_error(
        "{ 'handle': 'Job', 'data': 'str', 'named-by': [ 'a|b.c' ] }",
        "'named-by' path 'a|b.c' has an invalid name 'a|b'",
        1,
    )
    check_error(
        "{ 'handle': 'Job', 'data': 'str', 'named-by': 'x.y' }",
        "'named-by' must be a non-empty array of member paths",
        1,
    )
    check_error(
        "{ 'struct': 'Blockdev', 'data': {} }",
        "'Blockdev' is already defined\nt.json: In handle 'Blockdev':\n"
        "t.json:1: previous definition",
        1,
    )


def test_handle_used_as_type() -> None:
    schema = load(
        BASE
        + """
{ 'struct': 'Info', 'data': { 'dev': 'Blockdev', 'all': ['Blockdev'] } }
{ 'command': 'get', 'data': { 'dev': 'Blockdev' }, 'returns': 'Blockdev' }
{ 'command': 'list', 'returns': ['Blockdev'] }
{ 'event': 'EV', 'data': { 'dev': 'Blockdev' } }
{ 'alternate': 'DevOrInfo', 'data': { 'dev': 'Blockdev', 'i': 'Info' } }
"""
    )
    info = schema.lookup_type("Info")
    assert isinstance(info, ObjectType)
    assert [m.type.name for m in info.members] == ["Blockdev", "BlockdevList"]
    cmd = schema.lookup_entity("get")
    assert isinstance(cmd, Command)
    assert cmd.ret_type is h if (h := schema.lookup_type("Blockdev")) else False


def test_handle_misuse_as_type() -> None:
    check_error(
        "{ 'struct': 'Ss', 'base': 'Blockdev', 'data': {} }",
        "'base' requires a struct type, handle type 'Blockdev' isn't",
        1,
    )
    check_error(
        "{ 'command': 'c', 'data': 'Blockdev' }",
        "command's 'data' cannot take handle type 'Blockdev'",
        1,
    )
    check_error(
        "{ 'alternate': 'Alt', 'data': { 'dev': 'Blockdev', 's': 'str' } }",
        "branch 's' can't be distinguished from 'dev'",
        1,
    )


SIGNAL = """\
{ 'signal': 'IO_ERROR', 'owner': 'Blockdev',
  'data': { 'operation': 'Op' },
  'event': 'BLOCK_IO_ERROR', 'owner-member': 'device' }
"""


def test_signal_model() -> None:
    schema = load(BASE + SIGNAL)
    (sig,) = schema.signals()
    assert isinstance(sig, SchemaSignal)
    assert sig.meta == "signal"
    assert sig.owner is schema.lookup_type("Blockdev")
    assert sig.arg_type is not None
    assert sig.arg_type.name == "q_obj_Blockdev-IO_ERROR-arg"
    assert sig.arg_type.is_implicit()
    assert [m.name for m in sig.arg_type.members] == ["operation"]
    assert sig.event is schema.lookup_entity("BLOCK_IO_ERROR")
    assert sig.owner_member == "device"
    assert schema.signals_of(sig.owner) == [sig]
    assert schema.lookup_signal("Blockdev", "IO_ERROR") is sig
    assert schema.lookup_entity("IO_ERROR") is None
    assert "signal IO_ERROR Blockdev q_obj_Blockdev-IO_ERROR-arg\n" in dump(schema)
    assert "    event BLOCK_IO_ERROR owner-member device\n" in dump(schema)


def test_signal_struct_data_and_no_event() -> None:
    schema = load(
        BASE
        + """{ 'struct': 'Args', 'data': { 'n': 'int' } }
{ 'signal': 'CHANGED', 'owner': 'Blockdev', 'data': 'Args' }
{ 'signal': 'GONE', 'owner': 'Blockdev', 'if': 'X', 'features': [ 'f' ] }
"""
    )
    changed, gone = schema.signals()
    assert changed.arg_type is schema.lookup_type("Args")
    assert changed.event is None and changed.owner_member is None
    assert gone.arg_type is None
    assert gone.ifcond.ifcond == "X"
    text = dump(schema)
    assert "signal CHANGED Blockdev Args\n" in text
    assert "signal GONE Blockdev None\n    if X\n    feature f\n" in text


def test_signal_namespaces() -> None:
    schema = load(
        BASE
        + """{ 'handle': 'Chardev', 'data': 'str' }
{ 'signal': 'IO_ERROR', 'owner': 'Blockdev' }
{ 'signal': 'IO_ERROR', 'owner': 'Chardev' }
{ 'command': 'io-error' }
"""
    )
    bd, cd = schema.signals()
    assert (bd.owner.name, cd.owner.name) == ("Blockdev", "Chardev")
    assert schema.signals_of("Chardev") == [cd]


def test_signal_redefined() -> None:
    check_error(
        "{ 'signal': 'IO_ERROR', 'owner': 'Blockdev' }\n"
        "{ 'signal': 'IO_ERROR', 'owner': 'Blockdev' }",
        "signal 'IO_ERROR' of 'Blockdev' is already defined\n"
        f"t.json: In signal 'IO_ERROR':\nt.json:{BASE_LINES + 1}: previous definition",
        2,
        "signal 'IO_ERROR'",
    )


@pytest.mark.parametrize(
    ("extra", "msg", "line"),
    [
        (
            "{ 'signal': 'S', 'owner': 'Nope' }",
            "signal's 'owner' uses unknown type 'Nope'",
            1,
        ),
        (
            "{ 'signal': 'S', 'owner': 'Op' }",
            "signal's 'owner' must be a handle type, enum type 'Op' isn't",
            1,
        ),
        (
            "{ 'signal': 'S', 'owner': 'BLOCK_IO_ERROR' }",
            "signal's 'owner' must be a handle type, event 'BLOCK_IO_ERROR' isn't",
            1,
        ),
        ("{ 'signal': 'S', 'owner': ['Blockdev'] }", "'owner' should be a type name", 1),
        ("{ 'signal': 'S' }", "signal misses key 'owner'", 1),
        ("{ 'signal': 'lower', 'owner': 'Blockdev' }", "name of signal must not use lowercase or '-'", 1),
        (
            "{ 'signal': 'S', 'owner': 'Blockdev', 'owner-member': 'device' }",
            "'owner-member' needs an 'event'",
            1,
        ),
        (
            "{ 'signal': 'S', 'owner': 'Blockdev', 'event': 'BLOCK_IO_ERROR', 'owner-member': 'a.b' }",
            "'owner-member' should be a member name, or names separated by '|'",
            1,
        ),
        (
            "{ 'signal': 'S', 'owner': 'Blockdev', 'event': 'BLOCK_IO_ERROR',\n"
            "  'owner-member': 'device|nope' }",
            "'owner-member' 'nope' is not a member of event 'BLOCK_IO_ERROR'\n"
            "Its members are 'device', 'operation', 'reason'.",
            1,
        ),
        (
            "{ 'signal': 'S', 'owner': 'Blockdev', 'event': 'BLOCK_IO_ERROR', 'data': ['operation'] }",
            "'data' as a list of member names is only allowed in an overlay; "
            "give the members and their types",
            1,
        ),
        (
            "{ 'signal': 'S', 'owner': 'Blockdev', 'data': ['operation'] }",
            "'data' as a list of member names needs an 'event'",
            1,
        ),
        (
            "\n{ 'signal': 'S', 'owner': 'Blockdev',\n"
            "  'event': 'NOPE', 'owner-member': 'device' }",
            "signal's 'event' uses unknown event 'NOPE'",
            2,
        ),
        (
            "{ 'signal': 'S', 'owner': 'Blockdev', 'event': 'Op', 'owner-member': 'x' }",
            "signal's 'event' must be an event, enum type 'Op' isn't",
            1,
        ),
        (
            "{ 'signal': 'S', 'owner': 'Blockdev',\n"
            "  'event': 'BLOCK_IO_ERROR', 'owner-member': 'dev' }",
            "'owner-member' 'dev' is not a member of event 'BLOCK_IO_ERROR'\n"
            "Its members are 'device', 'operation', 'reason'.",
            1,
        ),
        (
            "{ 'signal': 'S', 'owner': 'Blockdev',\n"
            "  'event': 'BLOCK_IO_ERROR', 'owner-member': 'operation' }",
            "'owner-member' 'operation' of event 'BLOCK_IO_ERROR' has type 'Op', "
            "but must have type 'str' or 'Blockdev'",
            1,
        ),
        (
            "{ 'signal': 'S', 'owner': 'Blockdev',\n"
            "  'event': 'BLOCK_IO_ERROR', 'owner-member': 'reason' }",
            "'owner-member' 'reason' of event 'BLOCK_IO_ERROR' must not be optional",
            1,
        ),
        (
            "{ 'signal': 'S', 'owner': 'Blockdev', 'data': { 'size': 'int' },\n"
            "  'event': 'BLOCK_IO_ERROR', 'owner-member': 'device' }",
            "member 'size' is not a member of event 'BLOCK_IO_ERROR'\n"
            "Its members are 'device', 'operation', 'reason'.",
            1,
        ),
        (
            "{ 'signal': 'S', 'owner': 'Blockdev', 'data': { 'operation': 'str' },\n"
            "  'event': 'BLOCK_IO_ERROR', 'owner-member': 'device' }",
            "member 'operation' has type 'str', but type 'Op' in event 'BLOCK_IO_ERROR'",
            1,
        ),
        (
            "{ 'signal': 'S', 'owner': 'Blockdev', 'data': { 'reason': 'str' },\n"
            "  'event': 'BLOCK_IO_ERROR', 'owner-member': 'device' }",
            "member 'reason' is required, but optional in event 'BLOCK_IO_ERROR'",
            1,
        ),
        (
            "{ 'signal': 'S', 'owner': 'Blockdev', 'data': { 'device': 'str' },\n"
            "  'event': 'BLOCK_IO_ERROR', 'owner-member': 'device' }",
            "member 'device' is the 'owner-member' of event 'BLOCK_IO_ERROR'; "
            "the owner is passed separately",
            1,
        ),
        (
            "{ 'signal': 'S', 'owner': 'Blockdev', 'data': 'Op' }",
            "signal's 'data' cannot take enum type 'Op'",
            1,
        ),
        (
            "{ 'signal': 'S', 'owner': 'Blockdev', 'data': { 'x': 'Nope' } }",
            "member 'x' uses unknown type 'Nope'",
            1,
        ),
        (
            "{ 'signal': 'S', 'owner': 'Blockdev', 'data': { 'A': 'str' } }",
            "name of 'data' member 'A' must not use uppercase or '_'",
            1,
        ),
    ],
)
def test_signal_errors(extra: str, msg: str, line: int) -> None:
    check_error(extra, msg, line, "signal '" + extra.split("'signal': '")[1].split("'")[0] + "'")


def test_signal_optional_member_ok() -> None:
    schema = load(
        BASE
        + "{ 'signal': 'S', 'owner': 'Blockdev', 'data': { '*reason': 'str', '*operation': 'Op' },\n"
        "  'event': 'BLOCK_IO_ERROR', 'owner-member': 'device' }\n"
    )
    (sig,) = schema.signals()
    assert sig.event is not None


def test_owner_member_of_handle_type() -> None:
    schema = load(
        BASE
        + "{ 'event': 'EV', 'data': { 'dev': 'Blockdev' } }\n"
        "{ 'signal': 'S', 'owner': 'Blockdev', 'event': 'EV', 'owner-member': 'dev' }\n"
    )
    (sig,) = schema.signals()
    assert sig.owner_member == "dev"


def test_signal_in_included_file(tmp_path: object) -> None:
    import pathlib

    assert isinstance(tmp_path, pathlib.Path)
    (tmp_path / "sub.json").write_text("\n{ 'signal': 'S', 'owner': 'Nope' }\n")
    main = tmp_path / "main.json"
    main.write_text("{ 'include': 'sub.json' }\n")
    from qobjects.schema import load_schema

    with pytest.raises(SchemaError) as info:
        load_schema(main)
    assert str(info.value) == (
        f"In file included from {main}:1:\n"
        f"{tmp_path}/sub.json: In signal 'S':\n"
        f"{tmp_path}/sub.json:2: signal's 'owner' uses unknown type 'Nope'"
    )


def test_signal_doc_connected() -> None:
    schema = load(
        BASE
        + """##
# @IO_ERROR:
#
# An error.
#
# @operation: the operation
##
""" + SIGNAL
    )
    (sig,) = schema.signals()
    assert sig.doc is not None
    assert sig.doc.text_for("operation") == "the operation"
    assert sig.doc.summary() == "An error."
    check_error(
        "##\n# @IO_ERROR:\n#\n# @operation: x\n#\n# @nope: x\n##\n" + SIGNAL,
        "documented member 'nope' does not exist",
        6,
    )
