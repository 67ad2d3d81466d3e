"""Structs and unions: the base classes of their generated classes, and their codec.

:class:`Struct` is the base of every struct and union class (keyword-only
constructor installed per class, equality by value, JSON in and out);
:class:`UnionBase` dispatches construction and decoding to the class of the
tag's branch; :class:`StructCodec` is a struct or union member.
"""

from __future__ import annotations

from typing import Any, ClassVar

from qobjects.codecs import (
    LOCAL,
    ClassCodec,
    DecodeContext,
    MemberSpec,
    decode_members,
    encode_members,
    type_name,
)
from qobjects.errors import WrongType

__all__ = ["Struct", "StructCodec", "UnionBase"]


class Struct:
    """Base of every struct and union class."""

    __slots__ = ()
    _specs: ClassVar[tuple[MemberSpec, ...]] = ()
    _where: ClassVar[str] = "Struct"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, s.py) == getattr(other, s.py) for s in self._specs)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        args = ", ".join(
            f"{s.py}={getattr(self, s.py)!r}"
            for s in self._specs
            if not (s.optional and getattr(self, s.py) is None)
        )
        return f"{type(self).__qualname__}({args})"

    def to_json(self, explicit: bool = False) -> dict[str, object]:
        """The JSON object; handles canonical when *explicit*."""
        return encode_members(self._specs, {s.py: getattr(self, s.py) for s in self._specs}, explicit)

    @classmethod
    def from_json(cls, data: object, ctx: DecodeContext = LOCAL) -> Struct:
        """Decode and check a JSON object.

        :raises ValidationError: the data does not match.
        :raises InvalidHandleValue: a handle names nothing.
        """
        values = decode_members(cls._specs, data, ctx, cls._where)
        obj = object.__new__(cls)
        for k, v in values.items():
            object.__setattr__(obj, k, v)
        return obj

    def as_dict(self) -> dict[str, Any]:
        """Members by Python name (nested values left as they are)."""
        return {s.py: getattr(self, s.py) for s in self._specs}


class UnionBase(Struct):
    """Base of union classes: dispatches construction to the branch's class."""

    __slots__ = ()
    _variants: ClassVar[dict[str, type[UnionBase]]] = {}
    _tag: ClassVar[str] = ""
    _tag_py: ClassVar[str] = ""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls._variants and not cls._is_branch():
            tag = kwargs.get(cls._tag_py)
            if tag is None:
                raise WrongType(cls._where, cls._tag, "a tag value", "nothing")
            branch = cls._variants.get(str(tag))
            if branch is None:
                raise WrongType(
                    cls._where, cls._tag, "one of " + ", ".join(map(repr, cls._variants)), repr(tag)
                )
            return object.__new__(branch)
        return object.__new__(cls)

    @classmethod
    def branches(cls) -> dict[str, type[UnionBase]]:
        """The class of each branch, by tag value."""
        return dict(cls._variants)

    @classmethod
    def _is_branch(cls) -> bool:
        return "_branch" in cls.__dict__

    @classmethod
    def from_json(cls, data: object, ctx: DecodeContext = LOCAL) -> Struct:
        if cls._variants and not cls._is_branch():
            if not isinstance(data, dict):
                raise WrongType(cls._where, "", "object", type_name(data))
            if cls._tag not in data:
                raise WrongType(cls._where, cls._tag, "a tag value", "nothing")
            branch = cls._variants.get(str(data[cls._tag]))
            if branch is None:
                raise WrongType(
                    cls._where,
                    cls._tag,
                    "one of " + ", ".join(map(repr, cls._variants)),
                    repr(data[cls._tag]),
                )
            return branch.from_json(data, ctx)
        return super().from_json(data, ctx)


class StructCodec(ClassCodec):
    json_kind = "object"

    def __init__(self, cls: type[Struct]) -> None:
        self.cls: type[Struct] = cls
        self.name = cls.__name__

    def encode(self, value: Any, explicit: bool) -> object:
        return value.to_json(explicit)

    def decode(self, data: object, ctx: DecodeContext, where: str, member: str) -> Any:
        if not isinstance(data, dict):
            raise self.wrong(data, where, member)
        return self.cls.from_json(data, ctx)


# Defined in qobjects.objects before the split, and still re-exported there:
# the module they report (class reprs, pickles, the generated stubs' imports).
Struct.__module__ = UnionBase.__module__ = StructCodec.__module__ = "qobjects.objects"
