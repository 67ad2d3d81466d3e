"""Classes built from a schema: enums, structs, unions, alternates, handles."""

from __future__ import annotations

import enum
import subprocess
import sys
from typing import Any

import pytest
import typeguard
from hypothesis import given, settings
from hypothesis import strategies as st

import qobjects
from qobjects import InvalidHandleValue, MissingMember, UnknownMember, WrongType

SCHEMA = """
{ 'handle': 'Dev', 'data': 'str' }
{ 'handle': 'Slot', 'data': 'uint8' }
{ 'enum': 'Op', 'data': ['read', 'write', 'x-odd-one'] }
{ 'struct': 'Base', 'data': { 'name': 'str' } }
{ 'struct': 'Info', 'base': 'Base',
  'data': { 'dev': 'Dev', 'size': 'int', '*ro': 'bool', 'ops': ['Op'], '*ratio': 'number',
            '*extra': 'any', 'small': 'int8' } }
{ 'struct': 'Disk', 'data': { 'sectors': 'int' } }
{ 'struct': 'Net', 'data': { 'mac': 'str', '*mtu': 'uint16' } }
{ 'enum': 'Kind', 'data': ['disk', 'net', 'none'] }
{ 'union': 'Device', 'base': { 'id': 'str', 'kind': 'Kind' }, 'discriminator': 'kind',
  'data': { 'disk': 'Disk', 'net': 'Net' } }
{ 'alternate': 'SizeOrName', 'data': { 'size': 'int', 'name': 'Op', 'info': 'Info' } }
{ 'struct': 'Holder', 'data': { 'value': 'SizeOrName', 'devs': ['Dev'] } }
"""


@pytest.fixture(scope="module")
def ns() -> qobjects.Namespace:
    ns = qobjects.build(qobjects.parse_schema(SCHEMA))
    Dev: Any = ns.types["Dev"]
    Dev.finder({"a": "target-a", "b": "target-b"}.get)
    return ns


def T(ns: qobjects.Namespace, name: str) -> Any:
    return ns.types[name]


def test_enum_is_str_enum(ns: qobjects.Namespace) -> None:
    Op = T(ns, "Op")
    assert issubclass(Op, enum.Enum) and issubclass(Op, str)
    assert Op.read == "read"
    assert Op.x_odd_one.value == "x-odd-one"
    assert str(Op.write) == "write"


def test_struct_construction_equality_repr(ns: qobjects.Namespace) -> None:
    Info, Dev, Base = T(ns, "Info"), T(ns, "Dev"), T(ns, "Base")
    a = Dev.find("a")
    info = Info(name="n", dev=a, size=5, ops=["read", T(ns, "Op").write], small=-3)
    assert isinstance(info, Base)
    assert info.ro is None and info.extra is None
    assert info.ops == [T(ns, "Op").read, T(ns, "Op").write]
    assert info == Info(name="n", dev=a, size=5, ops=["read", "write"], small=-3)
    assert info != Info(name="n", dev=a, size=6, ops=["read", "write"], small=-3)
    assert "Info(name='n'" in repr(info) and "size=5" in repr(info)
    assert not hasattr(info, "__dict__")
    with pytest.raises(AttributeError):
        info.colour = 1


def test_struct_json_round_trip(ns: qobjects.Namespace) -> None:
    Info, Dev = T(ns, "Info"), T(ns, "Dev")
    info = Info(name="n", dev=Dev.find("a"), size=5, ops=["read"], small=1, extra={"k": [1]})
    plain = info.to_json()
    assert plain == {"name": "n", "dev": "a", "size": 5, "ops": ["read"], "small": 1, "extra": {"k": [1]}}
    assert info.to_json(explicit=True)["dev"] == {"__handle__": "Dev", "data": "a"}
    assert Info.from_json(plain) == info
    assert Info.from_json(info.to_json(explicit=True)) == info


@pytest.mark.parametrize(
    ("kwargs", "error", "member", "text"),
    [
        ({"size": "5"}, WrongType, "size", "expected int, got str"),
        ({"size": True}, WrongType, "size", "expected int, got bool"),
        ({"small": 300}, WrongType, "small", "int8 in [-128, 127]"),
        ({"ops": ["sideways"]}, WrongType, "ops[0]", "'sideways'"),
        ({"ops": "read"}, WrongType, "ops", "expected [Op], got str"),
        ({"dev": "a"}, WrongType, "dev", "expected Dev, got str"),
        ({"ro": "yes"}, WrongType, "ro", "expected bool, got str"),
        ({"ratio": float("nan")}, WrongType, "ratio", "finite number"),
        ({"extra": object()}, WrongType, "extra", "JSON value"),
        ({"colour": "red"}, UnknownMember, "colour", "unknown member"),
    ],
)
def test_struct_validation(
    ns: qobjects.Namespace, kwargs: dict[str, Any], error: type[Exception], member: str, text: str
) -> None:
    Info, Dev = T(ns, "Info"), T(ns, "Dev")
    good: dict[str, Any] = {"name": "n", "dev": Dev.find("a"), "size": 1, "ops": [], "small": 0}
    with pytest.raises(error) as exc:
        Info(**{**good, **kwargs})
    assert isinstance(exc.value, TypeError)
    assert exc.value.member == member  # type: ignore[attr-defined]
    assert text in str(exc.value)
    assert "Info" in str(exc.value)


def test_struct_missing_member(ns: qobjects.Namespace) -> None:
    with pytest.raises(MissingMember, match="member 'size'"):
        T(ns, "Info")(name="n", dev=T(ns, "Dev").find("a"), ops=[], small=0)


def test_from_json_rejects_bad_data(ns: qobjects.Namespace) -> None:
    Info = T(ns, "Info")
    with pytest.raises(UnknownMember, match="'bogus'"):
        Info.from_json({"name": "n", "dev": "a", "size": 1, "ops": [], "small": 0, "bogus": 1})
    with pytest.raises(InvalidHandleValue, match="'zz' is not a valid Dev"):
        Info.from_json({"name": "n", "dev": "zz", "size": 1, "ops": [], "small": 0})
    with pytest.raises(WrongType, match="handle of type 'Other'"):
        Info.from_json(
            {"name": "n", "dev": {"__handle__": "Other", "data": "a"}, "size": 1, "ops": [], "small": 0}
        )
    with pytest.raises(WrongType, match="canonical form"):
        Info.from_json(
            {"name": "n", "dev": {"__handle__": "Dev", "data": "a", "x": 1}, "size": 1, "ops": [], "small": 0}
        )


def test_union(ns: qobjects.Namespace) -> None:
    Device = T(ns, "Device")
    d = Device(id="d0", kind="disk", sectors=8)
    assert isinstance(d, Device)
    assert type(d) is Device.branches()["disk"]
    assert d.sectors == 8 and d.kind == "disk"
    n = Device(id="n0", kind="net", mac="aa")
    assert n.mtu is None
    empty = Device(id="x", kind="none")
    assert type(empty) is Device.branches()["none"]
    assert Device.from_json(d.to_json()) == d
    assert d.to_json() == {"id": "d0", "kind": "disk", "sectors": 8}
    with pytest.raises(UnknownMember):
        Device(id="d0", kind="disk", mac="aa")
    with pytest.raises(WrongType, match="kind"):
        Device(id="d0", kind="floppy")


def test_alternate(ns: qobjects.Namespace) -> None:
    SizeOrName, Holder = T(ns, "SizeOrName"), T(ns, "Holder")
    assert isinstance(5, SizeOrName) and isinstance("read", SizeOrName)
    assert not isinstance("x", SizeOrName)
    assert not isinstance(1.5, SizeOrName) and not isinstance(True, SizeOrName)
    with pytest.raises(TypeError):
        SizeOrName(5)
    h = Holder(value=5, devs=[])
    assert Holder.from_json({"value": "write", "devs": ["a"]}).value is T(ns, "Op").write
    assert Holder.from_json({"value": 3, "devs": []}) == Holder(value=3, devs=[])
    with pytest.raises(WrongType, match="SizeOrName"):
        Holder(value=1.5, devs=[])
    assert h.to_json() == {"value": 5, "devs": []}


def test_handles(ns: qobjects.Namespace) -> None:
    Dev = T(ns, "Dev")
    a = Dev.find("a")
    assert a.value == "a" and str(a) == "a" and a.target == "target-a"
    assert Dev.find("a") is a
    with pytest.raises(TypeError, match=r"Dev.find"):
        Dev("a")
    with pytest.raises(InvalidHandleValue, match="'nope' is not a valid Dev") as exc:
        Dev.find("nope")
    assert exc.value.error_class == "InvalidHandleValue"
    with pytest.raises(InvalidHandleValue, match="expected str, got int"):
        Dev.find(3)


def test_handle_without_finder_and_integer_handles(ns: qobjects.Namespace) -> None:
    Slot = T(ns, "Slot")
    with pytest.raises(InvalidHandleValue, match="no finder is registered"):
        Slot.find(1)
    Slot.finder(lambda v: f"slot{v}")
    assert Slot.find(3).target == "slot3"
    with pytest.raises(InvalidHandleValue):
        Slot.find(256)
    with pytest.raises(InvalidHandleValue):
        Slot.find(True)
    Slot.finder(lambda v: "replaced")
    assert Slot.find(4).target == "replaced"


def test_default_schema_classes() -> None:
    from qobjects import Blockdev, BlockErrorAction, BlockInfo, IoOperationType

    assert issubclass(Blockdev, qobjects.Handle)
    assert IoOperationType.read == "read"
    assert BlockErrorAction.stop == "stop"
    assert "tray_open" in BlockInfo.__slots__ or hasattr(BlockInfo, "tray_open")
    assert isinstance(Blockdev.io_error, qobjects.Signal)
    assert isinstance(Blockdev.tray_moved, qobjects.Signal)
    with pytest.raises(AttributeError):
        qobjects.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018


def test_import_does_not_build_default_schema() -> None:
    code = (
        "import qobjects, sys; "
        "assert not {'qobjects.default', 'qobjects.builder'} & set(sys.modules), sorted(sys.modules); "
        "print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_build_from_path(tmp_path: Any) -> None:
    path = tmp_path / "s.json"
    path.write_text("{ 'enum': 'Colour', 'data': ['red'] }\n")
    ns = qobjects.build(path)
    assert ns.types["Colour"]("red") == "red"
    with pytest.raises(AttributeError, match="no type"):
        ns.Nope  # noqa: B018


# Both checkers agree: the compiled member checks and typeguard over the
# members' annotations.

_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=5),
    st.lists(st.sampled_from(["read", "write", "bad"])),
    st.sampled_from(["read", "write"]),
)


@settings(max_examples=300, deadline=None)
@given(size=_values, ro=_values, ops=_values, name=_values)
def test_compiled_checks_agree_with_typeguard(
    ns: qobjects.Namespace, size: Any, ro: Any, ops: Any, name: Any
) -> None:
    Info, Op = T(ns, "Info"), T(ns, "Op")
    anns = Info.__annotations__
    kwargs = {"name": name, "dev": T(ns, "Dev").find("a"), "size": size, "ro": ro, "ops": ops, "small": 0}
    try:
        Info(**kwargs)
        ours = True
    except TypeError:
        ours = False
    # typeguard sees enums strictly; strings convert to members first.
    if isinstance(ops, list):
        kwargs["ops"] = [Op(v) if v in ("read", "write") else v for v in ops]
    theirs = True
    for key in ("name", "size", "ro", "ops"):
        try:
            typeguard.check_type(
                kwargs[key], anns[key], collection_check_strategy=typeguard.CollectionCheckStrategy.ALL_ITEMS
            )
        except typeguard.TypeCheckError:
            theirs = False
    if isinstance(size, int) and not isinstance(size, bool) and not -(2**63) <= size < 2**63:
        theirs = False  # ranges are beyond what annotations say
    if isinstance(size, bool):
        theirs = False  # JSON has no bool-as-int; typeguard follows Python here
    assert ours == theirs, kwargs


def test_build_qemu_schema(qemu_schema: Any) -> None:
    ns = qobjects.build(qemu_schema)
    assert len(ns.commands) > 200
    BlockdevOptions: Any = ns.types["BlockdevOptions"]
    opts = BlockdevOptions.from_json({"driver": "file", "node-name": "n0", "filename": "/x"})
    assert opts.filename == "/x" and opts.node_name == "n0"
    assert opts.to_json() == {"driver": "file", "node-name": "n0", "filename": "/x"}
    assert isinstance({"driver": "null-co"}, ns.types["BlockdevRef"]) is False
    assert isinstance("node0", ns.types["BlockdevRef"])


def test_optional_enum_member_checks() -> None:
    ns = qobjects.build(
        qobjects.parse_schema(
            "{ 'enum': 'Ee', 'data': ['a', 'b-c'] }\n{ 'struct': 'Ss', 'data': { '*e': 'Ee', 'f': 'Ee' } }"
        )
    )
    S: Any = ns.types["Ss"]
    E: Any = ns.types["Ee"]
    assert S(f="a").e is None
    assert S(f="a", e=None).e is None
    assert S(f=E.b_c, e="b-c").e is E.b_c
    with pytest.raises(WrongType, match="member 'e'"):
        S(f="a", e="z")
    with pytest.raises(WrongType, match="member 'f'"):
        S(f=["a"])
    with pytest.raises(MissingMember, match="member 'f'"):
        S()


def test_unknown_keyword_names_python_spellings() -> None:
    """Python keywords are listed by their Python names; a QAPI spelling is pointed at its own."""
    from qobjects.schema import DEFAULT_SCHEMA

    ns = qobjects.build(DEFAULT_SCHEMA)  # its own classes: the finder stays in this test
    Blockdev, BlockInfo = T(ns, "Blockdev"), T(ns, "BlockInfo")
    Blockdev.finder(lambda name: name)
    dev = Blockdev.find("ide0-hd0")
    with pytest.raises(UnknownMember) as info:
        Blockdev.tray_moved.check(**{"tray-open": True})
    assert str(info.value).endswith("'tray-open': unknown member; in Python 'tray-open' is spelt 'tray_open'")
    with pytest.raises(TypeError, match="unexpected keyword argument 'tray-open'"):
        dev.tray_moved.emit(**{"tray-open": True})  # emit's are its parameters: Python's own error
    with pytest.raises(UnknownMember) as info:
        BlockInfo(device=dev, type="hd", removable=True, locked=False, trayopen=True)
    assert str(info.value).endswith("valid members: device, type, removable, locked, tray_open")
