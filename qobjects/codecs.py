"""Values: checking Python values against schema types, and the JSON codec.

A :class:`Codec` stands for one schema type. It checks a Python value
(``check``), turns it into JSON (``encode``) and back (``decode``).

Member lists (struct constructors, signal emission, command arguments) are
checked by functions compiled from the schema with :func:`compile_members`:
the common case (a value of exactly the expected class) costs one class
comparison per member, everything else falls back to the codec's ``check``.
Compiling keeps ``emit`` within a small factor of a plain function call; the
fallbacks and the typeguard-based tests keep both paths in agreement.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qobjects.errors import MissingMember, UnknownMember, WrongType
from qobjects.schema.expr import py_name

if TYPE_CHECKING:
    from qobjects.owner import OwnerT

__all__ = [
    "MISSING",
    "AnyCodec",
    "BoolCodec",
    "Codec",
    "DecodeContext",
    "ClassCodec",
    "EnumCodec",
    "IntCodec",
    "ListCodec",
    "MemberSpec",
    "NullCodec",
    "NumberCodec",
    "StrCodec",
    "py_name",
    "type_name",
]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""Default of a member that was not given (told apart from ``None``)."""


def type_name(value: object) -> str:
    """How a received value is named in messages."""
    if value is None:
        return "None"
    return type(value).__name__


class DecodeContext:
    """How JSON is turned into values on one side of a connection.

    :ivar strict: unknown members are errors (servers) rather than ignored
        (clients, so that a newer server does not break an older client).
    """

    __slots__ = ("strict",)

    def __init__(self, *, strict: bool) -> None:
        self.strict = strict

    def handle(self, cls: type[OwnerT], value: object) -> OwnerT:
        """The handle of *cls* for *value*.

        :raises InvalidHandleValue: when nothing stands behind *value*.
        """
        return cls.find(value)


LOCAL = DecodeContext(strict=True)


class Codec:
    """One schema type: check Python values, convert to and from JSON."""

    name: str = "?"
    fast_class: type | None = None
    json_kind: str = "value"

    def annotation(self) -> Any:
        """The Python type annotation of the values this codec accepts."""
        return object

    def check(self, value: object, where: str, member: str) -> Any:
        """Return *value* (normalized) or raise :class:`WrongType`."""
        raise NotImplementedError

    def encode(self, value: Any, explicit: bool) -> object:
        """JSON for a checked value; handles canonical when *explicit*."""
        return value

    def decode(self, data: object, ctx: DecodeContext, where: str, member: str) -> Any:
        """The Python value for JSON *data*, checked."""
        return self.check(data, where, member)

    def wrong(self, value: object, where: str, member: str) -> WrongType:
        return WrongType(where, member, self.name, type_name(value))


class StrCodec(Codec):
    name = "str"
    fast_class = str
    json_kind = "string"

    def annotation(self) -> Any:
        return str

    def check(self, value: object, where: str, member: str) -> Any:
        if isinstance(value, str):
            return value
        raise self.wrong(value, where, member)


_INT_RANGES: dict[str, tuple[int, int]] = {
    "int": (-(2**63), 2**63 - 1),
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint8": (0, 2**8 - 1),
    "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
    "size": (0, 2**64 - 1),
}


class IntCodec(Codec):
    json_kind = "int"

    def __init__(self, name: str) -> None:
        self.name = name
        self.lo, self.hi = _INT_RANGES[name]

    def annotation(self) -> Any:
        return int

    def check(self, value: object, where: str, member: str) -> Any:
        # bool is an int subclass in Python but not a JSON number.
        if isinstance(value, int) and not isinstance(value, bool):
            if self.lo <= value <= self.hi:
                return int(value)
            raise WrongType(where, member, f"{self.name} in [{self.lo}, {self.hi}]", str(value))
        raise self.wrong(value, where, member)


class NumberCodec(Codec):
    name = "number"
    json_kind = "number"

    def annotation(self) -> Any:
        return float | int

    def check(self, value: object, where: str, member: str) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if isinstance(value, float) and not math.isfinite(value):
                raise WrongType(where, member, "finite number", repr(value))
            return value
        raise self.wrong(value, where, member)


class BoolCodec(Codec):
    name = "bool"
    fast_class = bool
    json_kind = "boolean"

    def annotation(self) -> Any:
        return bool

    def check(self, value: object, where: str, member: str) -> Any:
        if isinstance(value, bool):
            return value
        raise self.wrong(value, where, member)


class NullCodec(Codec):
    name = "null"
    json_kind = "null"

    def annotation(self) -> Any:
        return None

    def check(self, value: object, where: str, member: str) -> Any:
        if value is None:
            return None
        raise self.wrong(value, where, member)


def _is_json(value: object, depth: int = 0) -> bool:
    if depth > 1000:
        return False
    if value is None or isinstance(value, (str, bool, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(_is_json(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v, depth + 1) for k, v in value.items())
    return False


class AnyCodec(Codec):
    """``any``: any JSON value (plain Python JSON data)."""

    name = "any"

    def annotation(self) -> Any:
        return object

    def check(self, value: object, where: str, member: str) -> Any:
        if _is_json(value):
            return value
        raise WrongType(where, member, "JSON value", type_name(value))


class ClassCodec(Codec):
    """A codec whose values are the instances of one class (enums, structs, handles)."""

    cls: type

    def annotation(self) -> Any:
        return self.cls

    def check(self, value: object, where: str, member: str) -> Any:
        if isinstance(value, self.cls):
            return value
        raise self.wrong(value, where, member)


class EnumCodec(ClassCodec):
    json_kind = "string"

    def __init__(self, cls: type[enum.Enum]) -> None:
        self.cls = cls
        self.name = cls.__name__
        self.fast_class = cls
        # Plain strings are accepted and turned into members.
        self.by_value: dict[str, enum.Enum] = {str(m.value): m for m in cls}

    def check(self, value: object, where: str, member: str) -> Any:
        if isinstance(value, self.cls):
            return value
        if isinstance(value, str):
            found = self.by_value.get(str.__str__(value))
            if found is not None:
                return found
            choices = ", ".join(repr(v) for v in self.by_value)
            raise WrongType(where, member, f"{self.name} (one of {choices})", repr(value))
        raise self.wrong(value, where, member)

    def encode(self, value: Any, explicit: bool) -> object:
        return value.value


class ListCodec(Codec):
    json_kind = "array"

    def __init__(self, element: Codec) -> None:
        self.element = element
        self.name = f"[{element.name}]"

    def annotation(self) -> Any:
        return list[self.element.annotation()]  # type: ignore[misc]

    def check(self, value: object, where: str, member: str) -> Any:
        if not isinstance(value, (list, tuple)):
            raise self.wrong(value, where, member)
        check = self.element.check
        return [check(v, where, f"{member}[{i}]") for i, v in enumerate(value)]

    def encode(self, value: Any, explicit: bool) -> object:
        enc = self.element.encode
        return [enc(v, explicit) for v in value]

    def decode(self, data: object, ctx: DecodeContext, where: str, member: str) -> Any:
        if not isinstance(data, list):
            raise self.wrong(data, where, member)
        dec = self.element.decode
        return [dec(v, ctx, where, f"{member}[{i}]") for i, v in enumerate(data)]


@dataclass(frozen=True, slots=True)
class MemberSpec:
    """One member of a member list: struct, signal data or command arguments."""

    name: str  # QAPI (wire) name
    py: str  # Python name
    codec: Codec
    optional: bool
    doc: str | None = None

    def annotation(self) -> Any:
        ann = self.codec.annotation()
        return ann | None if self.optional else ann


def encode_members(
    specs: Sequence[MemberSpec], values: Mapping[str, Any], explicit: bool
) -> dict[str, object]:
    """JSON object for checked member values keyed by Python name; None optionals left out."""
    out: dict[str, object] = {}
    for spec in specs:
        v = values.get(spec.py)
        if v is None and spec.optional:
            continue
        out[spec.name] = spec.codec.encode(v, explicit)
    return out


def decode_members(
    specs: Sequence[MemberSpec],
    data: object,
    ctx: DecodeContext,
    where: str,
    prefix: str = "",
    allowed_extra: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Checked Python values, keyed by Python name, for a JSON object.

    :raises WrongType: *data* is not an object, or a member has the wrong type.
    :raises MissingMember: a required member is absent.
    :raises UnknownMember: an undeclared member, when ``ctx.strict``.
    """
    if not isinstance(data, dict):
        raise WrongType(where, prefix.rstrip("."), "object", type_name(data))
    out: dict[str, Any] = {}
    seen = 0
    for spec in specs:
        raw = data.get(spec.name, MISSING)
        if raw is MISSING:
            if not spec.optional:
                raise MissingMember(
                    where, prefix + spec.name, f"required member of type {spec.codec.name} missing"
                )
            out[spec.py] = None
            continue
        seen += 1
        if raw is None and spec.optional and spec.codec.json_kind != "null":
            out[spec.py] = None
            continue
        out[spec.py] = spec.codec.decode(raw, ctx, where, prefix + spec.name)
    if ctx.strict and seen != len(data):
        names = {s.name for s in specs} | allowed_extra
        for key in data:
            if key not in names:
                raise UnknownMember(where, prefix + str(key), _unknown_detail(specs))
    return out


def _unknown_detail(specs: Sequence[MemberSpec]) -> str:
    if not specs:
        return "no members are accepted"
    return "unknown member; valid members: " + ", ".join(s.name for s in specs)
