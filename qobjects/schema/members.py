"""Members of definitions: object members, enum values, branches, features.

Also :class:`IfCond`, the condition of an entity or member.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from qobjects.errors import SchemaError
from qobjects.schema.expr import c_name, py_name

if TYPE_CHECKING:
    from qobjects.schema.doc import Doc
    from qobjects.schema.entities import Type
    from qobjects.schema.model import Schema
    from qobjects.schema.source import SourceInfo

__all__ = [
    "INTEGER_TYPES",
    "SPECIAL_FEATURES",
    "EnumMember",
    "Feature",
    "IfCond",
    "Implicit",
    "Member",
    "ObjectMember",
    "Variant",
]

#: ``(kind, owner)`` for members of implicit types: kind is ``"arg"``
#: (command/event arguments), ``"base"`` (inline union base) or ``"signal"``.
Implicit = tuple[Literal["arg", "base", "signal"], str]

INTEGER_TYPES = (
    "int",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "size",
)
SPECIAL_FEATURES = ("deprecated", "unstable")


class IfCond:
    """A condition: ``None``, a name, or ``{'all'|'any': [..]}`` / ``{'not': C}``.

    qobjects has no build configuration, so every condition counts as true;
    conditions are kept for the dump and for documentation.

    :ivar ifcond: the raw value.
    """

    __slots__ = ("ifcond",)

    def __init__(self, ifcond: str | dict[str, object] | None = None) -> None:
        self.ifcond = ifcond

    def is_present(self) -> bool:
        return bool(self.ifcond)

    def __str__(self) -> str:
        return str(self.ifcond)

    def __repr__(self) -> str:
        return f"IfCond({self.ifcond!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IfCond) and other.ifcond == self.ifcond

    def __hash__(self) -> int:
        return hash(repr(self.ifcond))


_NO_COND = IfCond()


# Keys of a clash-check ``seen`` dict are C names; Python names share the dict
# under this prefix, which no C name can start with.
_PY_KEY = "\0py "


def seen_members(seen: dict[str, Member]) -> list[Member]:
    """The members recorded in a clash-check *seen* dict, each once, in order."""
    return [m for key, m in seen.items() if not key.startswith(_PY_KEY)]


def _ifcond(value: object) -> IfCond:
    if value is None:
        return _NO_COND
    assert isinstance(value, (str, dict))
    return IfCond(value)


# -- members -------------------------------------------------------------------


class Member:
    """Something with a name inside a definition: a member, value, branch or feature."""

    role = "member"
    __slots__ = ("defined_in", "ifcond", "implicit", "info", "name")

    def __init__(self, name: str, info: SourceInfo | None, ifcond: IfCond | None = None) -> None:
        self.name = name
        self.info = info
        self.ifcond = ifcond or _NO_COND
        self.defined_in = ""
        self.implicit: Implicit | None = None

    def set_defined_in(self, name: str, implicit: Implicit | None = None) -> None:
        self.defined_in = name
        self.implicit = implicit

    def describe(self, info: SourceInfo | None) -> str:
        role = self.role
        meta = "type"
        where = self.defined_in
        if self.implicit is not None:
            kind, where = self.implicit
            if kind == "arg":
                role = "parameter"
                meta = "command"
            elif kind == "base":
                role = "base " + role
            else:
                meta = "signal"
        if info is None or where != info.defn_name:
            return f"{role} '{self.name}' of {meta} '{where}'"
        return f"{role} '{self.name}'"

    def check_clash(self, info: SourceInfo | None, seen: dict[str, Member]) -> None:
        cname = c_name(self.name)
        other = seen.get(cname)
        if other is not None:
            raise SchemaError(info, f"{self.describe(info)} collides with {other.describe(info)}")
        seen[cname] = self
        # Distinct C names can still meet in Python ('class' and 'class_').
        pykey = _PY_KEY + py_name(self.name)
        other = seen.get(pykey)
        if other is not None:
            raise SchemaError(
                info,
                f"{self.describe(info)} collides with {other.describe(info)}"
                f" (both are '{py_name(self.name)}' in Python)",
            )
        seen[pykey] = self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class Feature(Member):
    """A feature of a definition, member or enum value."""

    role = "feature"
    __slots__ = ()

    def is_special(self) -> bool:
        return self.name in SPECIAL_FEATURES


class EnumMember(Member):
    """One value of an enum."""

    role = "value"
    __slots__ = ("features",)

    def __init__(
        self,
        name: str,
        info: SourceInfo | None,
        ifcond: IfCond | None = None,
        features: list[Feature] | None = None,
    ) -> None:
        super().__init__(name, info, ifcond)
        self.features = features or []
        for f in self.features:
            f.set_defined_in(name)


class ObjectMember(Member):
    """A member of an object type.

    :ivar type: the member's type (resolved by the check phase).
    :ivar optional: whether the member may be absent.
    """

    __slots__ = ("_type_name", "features", "optional", "type")

    type: Type

    def __init__(
        self,
        name: str,
        info: SourceInfo | None,
        typ: str,
        optional: bool,
        ifcond: IfCond | None = None,
        features: list[Feature] | None = None,
    ) -> None:
        super().__init__(name, info, ifcond)
        self._type_name = typ
        self.optional = optional
        self.features = features or []
        for f in self.features:
            f.set_defined_in(name)

    @property
    def type_name(self) -> str:
        return self._type_name

    def check(self, schema: Schema) -> None:
        self.type = schema.resolve_type(self._type_name, self.info, self.describe)
        seen: dict[str, Member] = {}
        for f in self.features:
            f.check_clash(self.info, seen)

    def connect_doc(self, doc: Doc | None, schema: Schema) -> None:
        if doc is not None:
            doc.connect_member(
                self.name, self.role, self.info, schema.pragma.documentation_exceptions
            )
            for f in self.features:
                doc.connect_feature(f.name, f.info)


class Variant(ObjectMember):
    """A branch of a union or alternate."""

    role = "branch"
    __slots__ = ()

    def __init__(self, name: str, info: SourceInfo | None, typ: str, ifcond: IfCond) -> None:
        super().__init__(name, info, typ, False, ifcond)
