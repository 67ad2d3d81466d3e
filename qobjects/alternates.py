"""Alternates: abstract types whose values are those of one of several branches.

:class:`Alternate` has no instances: ``isinstance(v, Alt)`` (through its
metaclass) says whether *v* is a valid value of a branch;
:class:`AlternateCodec` picks the branch of a value, or of JSON data by its
JSON kind.
"""

from __future__ import annotations

from typing import Any, ClassVar

from qobjects.codecs import Codec, DecodeContext
from qobjects.errors import WrongType

__all__ = ["Alternate", "AlternateCodec"]


class _AlternateMeta(type):
    _branches: tuple[tuple[str, Codec], ...]

    def __instancecheck__(cls, value: object) -> bool:
        return cls._branch_for(value) is not None  # type: ignore[attr-defined]


class Alternate(metaclass=_AlternateMeta):
    """Base of alternate types: a value of one of several branches.

    Alternates have no instances of their own; ``isinstance(v, Alt)`` is
    true for a valid value of any branch.
    """

    _branches: ClassVar[tuple[tuple[str, Codec], ...]] = ()

    def __new__(cls, *args: object, **kwargs: object) -> Any:
        raise TypeError(f"{cls.__name__} is an alternate: use a value of one of its branches")

    @classmethod
    def _branch_for(cls, value: object) -> Codec | None:
        for _, codec in cls._branches:
            try:
                codec.check(value, cls.__name__, "")
            except (WrongType, TypeError):
                continue
            return codec
        return None


class AlternateCodec(Codec):
    def __init__(self, cls: type[Alternate]) -> None:
        self.cls = cls
        self.name = cls.__name__

    def annotation(self) -> Any:
        anns = [c.annotation() for _, c in self.cls._branches]
        out = anns[0]
        for a in anns[1:]:
            out = out | a
        return out

    def check(self, value: object, where: str, member: str) -> Any:
        codec = self.cls._branch_for(value)
        if codec is None:
            raise self.wrong(value, where, member)
        return codec.check(value, where, member)

    def encode(self, value: Any, explicit: bool) -> object:
        codec = self.cls._branch_for(value)
        assert codec is not None
        return codec.encode(value, explicit)

    def decode(self, data: object, ctx: DecodeContext, where: str, member: str) -> Any:
        kind = _json_kind(data)
        for _, codec in self.cls._branches:
            if codec.json_kind == kind or (kind == "int" and codec.json_kind == "number"):
                return codec.decode(data, ctx, where, member)
        raise self.wrong(data, where, member)


def _json_kind(data: object) -> str:
    if isinstance(data, bool):
        return "boolean"
    if isinstance(data, int):
        return "int"
    if isinstance(data, float):
        return "number"
    if isinstance(data, str):
        return "string"
    if data is None:
        return "null"
    if isinstance(data, list):
        return "array"
    return "object"


# Defined in qobjects.objects before the split, and still re-exported there:
# the module they report (class reprs, pickles, the generated stubs' imports).
_AlternateMeta.__module__ = Alternate.__module__ = AlternateCodec.__module__ = "qobjects.objects"
