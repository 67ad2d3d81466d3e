"""The bundled default schema and introspection."""

from __future__ import annotations

from pathlib import Path

import pytest

import qobjects.schema as qs
from qobjects.schema import DEFAULT_SCHEMA, load_schema
from qobjects.schema.introspect import introspect

SCHEMA = Path(__file__).resolve().parents[2] / ".." / "shared" / "qemu-qapi" / "schema"


@pytest.fixture(scope="module")
def schema() -> qs.Schema:
    return load_schema(DEFAULT_SCHEMA)


def test_all_exported() -> None:
    assert qs.__all__ == sorted(qs.__all__, key=lambda n: (not n.isupper(), n))
    for name in qs.__all__:
        assert hasattr(qs, name), name


def test_default_schema_contents(schema: qs.Schema) -> None:
    blockdev = schema.lookup_type("Blockdev")
    assert isinstance(blockdev, qs.HandleType)
    assert blockdev.data.name == "str"
    assert [s.name for s in schema.signals_of(blockdev)] == ["IO_ERROR", "TRAY_MOVED"]
    commands = {c.name for c in schema.commands()}
    assert commands == {
        "qmp_capabilities",
        "set-explicit-handles",
        "query-commands",
        "query-qmp-schema",
        "query-version",
        "query-block",
        "block_passwd",
        "eject",
        "blockdev-open-tray",
        "blockdev-close-tray",
        "x-inject-io-error",
    }
    assert {e.name for e in schema.events()} == {"BLOCK_IO_ERROR", "DEVICE_TRAY_MOVED"}
    info = schema.lookup_type("BlockInfo")
    assert isinstance(info, qs.ObjectType)
    assert [(m.name, m.type.name, m.optional) for m in info.members] == [
        ("device", "Blockdev", False),
        ("type", "str", False),
        ("removable", "bool", False),
        ("locked", "bool", False),
        ("tray_open", "bool", True),
    ]
    io_error = schema.lookup_signal("Blockdev", "IO_ERROR")
    assert io_error is not None and io_error.arg_type is not None
    assert [m.name for m in io_error.arg_type.members] == ["operation", "action"]
    assert io_error.event is schema.lookup_entity("BLOCK_IO_ERROR")
    assert io_error.owner_member == "device"
    ver = schema.lookup_entity("query-version")
    assert isinstance(ver, qs.Command)
    assert ver.ret_type is schema.lookup_type("VersionInfo")
    op = schema.lookup_type("IoOperationType")
    assert isinstance(op, qs.EnumType) and op.member_names() == ["read", "write"]


def test_default_schema_docs(schema: qs.Schema) -> None:
    for ent in schema.entities:
        if not ent.is_implicit():
            assert ent.doc is not None, ent.name
            assert ent.doc.summary(), ent.name
    eject = schema.lookup_entity("eject")
    assert eject is not None and eject.doc is not None
    assert eject.doc.text_for("force") is not None
    assert eject.doc.section("Since") == "0.1"
    assert ("Since", "0.1") in eject.doc.sections


def test_visitor(schema: qs.Schema) -> None:
    seen: list[str] = []

    class V(qs.Visitor):
        def visit_handle_type(self, h: qs.HandleType) -> None:
            seen.append(f"handle {h.name}")

        def visit_signal(self, s: qs.SchemaSignal) -> None:
            seen.append(f"signal {s.name}")

        def visit_needed(self, entity: qs.Entity) -> bool:
            return not entity.is_implicit()

    schema.visit(V())
    assert seen == ["handle Blockdev", "signal IO_ERROR", "signal TRAY_MOVED"]


def test_introspect(schema: qs.Schema) -> None:
    data = introspect(schema)
    by_name = {(d["name"], d["meta-type"]): d for d in data}
    assert by_name[("Blockdev", "handle")] == {
        "name": "Blockdev",
        "meta-type": "handle",
        "json-type": "string",
    }
    sig = by_name[("IO_ERROR", "signal")]
    assert sig["owner"] == "Blockdev"
    assert sig["event"] == "BLOCK_IO_ERROR"
    assert sig["owner-member"] == "device"
    arg = next(d for d in data if d["name"] == sig["arg-type"])
    assert arg["meta-type"] == "object"
    members = arg["members"]
    assert isinstance(members, list)
    assert [m["name"] for m in members] == ["operation", "action"]
    eject = by_name[("eject", "command")]
    eject_arg = next(d for d in data if d["name"] == eject["arg-type"])
    assert eject_arg["members"] == [
        {"name": "device", "type": "Blockdev"},
        {"name": "force", "type": "bool", "default": None},
    ]
    # masked names are numbers, in order of first use
    masked = [d["name"] for d in data if str(d["name"]).isdigit()]
    assert masked == sorted(masked, key=lambda n: int(str(n)))
    assert by_name[("int", "builtin")]["json-type"] == "int"
    assert ("int32", "builtin") not in by_name


def test_introspect_int_handle() -> None:
    schema = qs.parse_schema(
        "{ 'handle': 'Fd', 'data': 'int32' }\n"
        "{ 'command': 'get', 'data': { 'fd': 'Fd', 'fds': ['Fd'], 'n': 'uint8' } }\n"
    )
    data = introspect(schema)
    assert {"name": "Fd", "meta-type": "handle", "json-type": "int"} in data
    assert {"name": "[Fd]", "meta-type": "array", "element-type": "Fd"} in data


@pytest.mark.skipif(not (SCHEMA / "qapi-schema.json").exists(), reason="QEMU schema not found")
def test_introspect_real_schema() -> None:
    schema = load_schema(SCHEMA / "qapi-schema.json")
    data = introspect(schema)
    assert sum(1 for d in data if d["meta-type"] == "command") == 243
    names = [d["name"] for d in data]
    assert len(names) == len(set(names))
