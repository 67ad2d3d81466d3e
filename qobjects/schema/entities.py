"""The entities of a checked schema: types, commands, events, handles, signals.

Entities are built in two phases: the :class:`~qobjects.schema.model.Schema`
constructs them from the checked expressions (type references are still
names), then calls :meth:`Entity.check`, which resolves the names and runs
the checks that need the whole schema. After that an entity does not change.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from qobjects.errors import SchemaError
from qobjects.schema.expr import c_name

if TYPE_CHECKING:
    from qobjects.schema.doc import Doc
    from qobjects.schema.model import Schema, Visitor
    from qobjects.schema.source import SourceInfo

__all__ = [
    "AlternateType",
    "ArrayType",
    "BuiltinType",
    "Command",
    "Entity",
    "EnumMember",
    "EnumType",
    "Event",
    "Feature",
    "HandleType",
    "IfCond",
    "Include",
    "Member",
    "ObjectMember",
    "ObjectType",
    "Signal",
    "Type",
    "Variant",
    "Variants",
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


class Variants:
    """The branches of a union or alternate.

    :ivar tag_member: the union's discriminator, or an alternate's implicit
        ``type`` member of type QType.
    :ivar variants: the branches.
    """

    __slots__ = ("_tag_name", "info", "tag_member", "variants")

    tag_member: ObjectMember

    def __init__(
        self,
        info: SourceInfo | None,
        variants: list[Variant],
        tag_name: str | None = None,
        tag_member: ObjectMember | None = None,
    ) -> None:
        self.info = info
        self.variants = variants
        self._tag_name = tag_name
        if tag_member is not None:
            self.tag_member = tag_member

    def set_defined_in(self, name: str) -> None:
        for v in self.variants:
            v.set_defined_in(name)

    def check_union(self, schema: Schema, seen: dict[str, Member]) -> None:
        assert self._tag_name is not None
        tag = seen.get(c_name(self._tag_name))
        base = "'base'"
        if not isinstance(tag, ObjectMember) or tag.name != self._tag_name:
            raise SchemaError(
                self.info, f"discriminator '{self._tag_name}' is not a member of {base}"
            )
        self.tag_member = tag
        base_type = schema.lookup_type(tag.defined_in)
        if base_type is not None and not base_type.is_implicit():
            base = f"base type '{tag.defined_in}'"
        tag_type = tag.type
        if not isinstance(tag_type, EnumType):
            raise SchemaError(
                self.info,
                f"discriminator member '{self._tag_name}' of {base} must be of enum type",
            )
        if tag.optional:
            raise SchemaError(
                self.info, f"discriminator member '{self._tag_name}' of {base} must not be optional"
            )
        if tag.ifcond.is_present():
            raise SchemaError(
                self.info,
                f"discriminator member '{self._tag_name}' of {base} must not be conditional",
            )
        cases = {v.name for v in self.variants}
        for m in tag_type.members:
            if m.name not in cases:
                v = Variant(m.name, self.info, "q_empty", m.ifcond)
                v.set_defined_in(tag.defined_in, tag.implicit)
                self.variants.append(v)
        if not self.variants:
            raise SchemaError(self.info, "union has no branches")
        names = tag_type.member_names()
        for v in self.variants:
            v.check(schema)
            if v.name not in names:
                raise SchemaError(
                    self.info, f"branch '{v.name}' is not a value of {tag_type.describe()}"
                )
            if not isinstance(v.type, ObjectType):
                raise SchemaError(
                    self.info, f"{v.describe(self.info)} cannot use {v.type.describe()}"
                )
            v.type.check(schema)

    def check_clash(self, info: SourceInfo | None, seen: dict[str, Member]) -> None:
        for v in self.variants:
            assert isinstance(v.type, ObjectType)
            v.type.check_clash(info, dict(seen))


# -- entities ------------------------------------------------------------------


class Entity:
    """A definition: a type, command, event or signal.

    :ivar name: its name.
    :ivar info: where it is defined (``None`` for built-ins).
    :ivar doc: its doc comment.
    :ivar ifcond: its condition.
    :ivar features: its features.
    :ivar meta: its kind (``"enum"``, ``"struct"``, ``"union"``, ``"alternate"``,
        ``"command"``, ``"event"``, ``"handle"``, ``"signal"``, ``"built-in"``,
        ``"array"``).
    """

    __slots__ = ("_checked", "doc", "features", "ifcond", "info", "meta", "module", "name")

    def __init__(
        self,
        meta: str,
        name: str,
        info: SourceInfo | None,
        doc: Doc | None = None,
        ifcond: IfCond | None = None,
        features: list[Feature] | None = None,
    ) -> None:
        self.meta = meta
        self.name = name
        self.info = info
        self.doc = doc
        self.ifcond = ifcond or _NO_COND
        self.features = features or []
        for f in self.features:
            f.set_defined_in(name)
        self.module = ""
        self._checked = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    def is_implicit(self) -> bool:
        """Whether the schema made this entity rather than a definition."""
        return self.info is None

    def describe(self) -> str:
        return f"{self.meta} '{self.name}'"

    def check(self, schema: Schema) -> None:
        self._checked = True
        seen: dict[str, Member] = {}
        for f in self.features:
            f.check_clash(self.info, seen)

    def connect_doc(self, schema: Schema, doc: Doc | None = None) -> None:
        doc = doc or self.doc
        if doc is not None:
            for f in self.features:
                doc.connect_feature(f.name, f.info)

    def visit(self, visitor: Visitor) -> None:
        raise NotImplementedError


class Include:
    """An ``include`` directive (kept for the dump's module structure)."""

    __slots__ = ("info", "module", "sub_module")

    def __init__(self, sub_module: str, info: SourceInfo) -> None:
        self.sub_module = sub_module
        self.info = info
        self.module = ""


class Type(Entity):
    """A type: something a member, argument or return value can have."""

    __slots__ = ()

    def json_type(self) -> str:
        """The JSON type of values: string, int, number, boolean, null,
        object, array or value."""
        raise NotImplementedError

    def alternate_qtype(self) -> str | None:
        return _JSON2QTYPE.get(self.json_type())

    def check(self, schema: Schema) -> None:
        super().check(schema)
        for f in self.features:
            if f.is_special():
                raise SchemaError(self.info, f"feature '{f.name}' is not supported for types")

    def describe(self) -> str:
        return f"{self.meta} type '{self.name}'"


_JSON2QTYPE = {
    "null": "QTYPE_QNULL",
    "string": "QTYPE_QSTRING",
    "number": "QTYPE_QNUM",
    "int": "QTYPE_QNUM",
    "boolean": "QTYPE_QBOOL",
    "array": "QTYPE_QLIST",
    "object": "QTYPE_QDICT",
}


class BuiltinType(Type):
    """A built-in type: str, number, int..., size, bool, null, any."""

    __slots__ = ("_json_type",)

    def __init__(self, name: str, json_type: str) -> None:
        super().__init__("built-in", name, None)
        self._json_type = json_type

    def json_type(self) -> str:
        return self._json_type

    def is_integer(self) -> bool:
        return self.name in INTEGER_TYPES

    def visit(self, visitor: Visitor) -> None:
        visitor.visit_builtin_type(self)


class EnumType(Type):
    """An enumeration.

    :ivar members: its values.
    :ivar prefix: the C prefix override, if any.
    """

    __slots__ = ("members", "prefix")

    def __init__(
        self,
        name: str,
        info: SourceInfo | None,
        doc: Doc | None,
        ifcond: IfCond | None,
        features: list[Feature] | None,
        members: list[EnumMember],
        prefix: str | None,
    ) -> None:
        super().__init__("enum", name, info, doc, ifcond, features)
        for m in members:
            m.set_defined_in(name)
        self.members = members
        self.prefix = prefix

    def check(self, schema: Schema) -> None:
        super().check(schema)
        seen: dict[str, Member] = {}
        for m in self.members:
            m.check_clash(self.info, seen)

    def connect_doc(self, schema: Schema, doc: Doc | None = None) -> None:
        super().connect_doc(schema, doc)
        doc = doc or self.doc
        if doc is not None:
            for m in self.members:
                doc.connect_member(
                    m.name, m.role, m.info, schema.pragma.documentation_exceptions
                )
                for f in m.features:
                    doc.connect_feature(f.name, f.info)

    def is_implicit(self) -> bool:
        return self.name == "QType"

    def member_names(self) -> list[str]:
        return [m.name for m in self.members]

    def json_type(self) -> str:
        return "string"

    def visit(self, visitor: Visitor) -> None:
        visitor.visit_enum_type(self)


class ArrayType(Type):
    """An array type (``['T']``, named ``TList``).

    :ivar element_type: the type of the elements.
    """

    __slots__ = ("_element_type_name", "element_type")

    element_type: Type

    def __init__(self, name: str, info: SourceInfo | None, element_type: str) -> None:
        super().__init__("array", name, info)
        self._element_type_name = element_type

    def check(self, schema: Schema) -> None:
        super().check(schema)
        self.element_type = schema.resolve_type(
            self._element_type_name, self.info, self.info.defn_meta if self.info else None
        )
        self.ifcond = self.element_type.ifcond

    def is_implicit(self) -> bool:
        return True

    def json_type(self) -> str:
        return "array"

    def describe(self) -> str:
        return f"{self.meta} type ['{self._element_type_name}']"

    def visit(self, visitor: Visitor) -> None:
        visitor.visit_array_type(self)


class ObjectType(Type):
    """A struct, a union, or an implicit object type (``q_empty``, ``q_obj_*``).

    :ivar base: the base type, if any.
    :ivar local_members: the members defined here.
    :ivar members: all members, base members first (set by the check).
    :ivar variants: a union's branches, else ``None``.
    """

    __slots__ = ("_base_name", "_check_complete", "base", "local_members", "members", "variants")

    members: list[ObjectMember]

    def __init__(
        self,
        name: str,
        info: SourceInfo | None,
        doc: Doc | None,
        ifcond: IfCond | None,
        features: list[Feature] | None,
        base: str | None,
        local_members: list[ObjectMember],
        variants: Variants | None,
        implicit: Implicit | None = None,
    ) -> None:
        super().__init__("union" if variants else "struct", name, info, doc, ifcond, features)
        for m in local_members:
            m.set_defined_in(name, implicit)
        if variants is not None:
            variants.set_defined_in(name)
        self._base_name = base
        self.base: ObjectType | None = None
        self.local_members = local_members
        self.variants = variants
        self._check_complete = False

    def check(self, schema: Schema) -> None:
        if self._check_complete:
            return
        if self._checked:
            raise SchemaError(self.info, f"object {self.name} contains itself")
        super().check(schema)
        seen: dict[str, Member] = {}
        if self._base_name:
            base = schema.resolve_type(self._base_name, self.info, "'base'")
            if not isinstance(base, ObjectType) or base.variants:
                raise SchemaError(
                    self.info, f"'base' requires a struct type, {base.describe()} isn't"
                )
            self.base = base
            base.check(schema)
            base.check_clash(self.info, seen)
        for m in self.local_members:
            m.check(schema)
            m.check_clash(self.info, seen)
        members = [m for m in seen.values() if isinstance(m, ObjectMember)]
        if self.variants is not None:
            self.variants.check_union(schema, seen)
            self.variants.check_clash(self.info, seen)
        self.members = members
        self._check_complete = True

    def check_clash(self, info: SourceInfo | None, seen: dict[str, Member]) -> None:
        for m in self.members:
            m.check_clash(info, seen)
        if self.variants is not None:
            self.variants.check_clash(info, seen)

    def connect_doc(self, schema: Schema, doc: Doc | None = None) -> None:
        super().connect_doc(schema, doc)
        doc = doc or self.doc
        if self.base is not None and self.base.is_implicit():
            self.base.connect_doc(schema, doc)
        for m in self.local_members:
            m.connect_doc(doc, schema)

    def is_implicit(self) -> bool:
        return self.name.startswith("q_")

    def is_empty(self) -> bool:
        return not self.members and not self.variants

    def is_union(self) -> bool:
        return self.variants is not None

    def has_conditional_members(self) -> bool:
        return any(m.ifcond.is_present() for m in self.members)

    def json_type(self) -> str:
        return "object"

    def visit(self, visitor: Visitor) -> None:
        visitor.visit_object_type(self)


class AlternateType(Type):
    """An alternate: a value of one of several types, told apart by JSON type.

    :ivar variants: its branches; the tag member is the implicit ``type``.
    """

    __slots__ = ("variants",)

    def __init__(
        self,
        name: str,
        info: SourceInfo,
        doc: Doc | None,
        ifcond: IfCond | None,
        features: list[Feature] | None,
        variants: Variants,
    ) -> None:
        super().__init__("alternate", name, info, doc, ifcond, features)
        variants.set_defined_in(name)
        variants.tag_member.set_defined_in(name)
        self.variants = variants

    def check(self, schema: Schema) -> None:
        super().check(schema)
        self.variants.tag_member.check(schema)
        for v in self.variants.variants:
            v.check(schema)
        seen: dict[str, Member] = {}
        types_seen: dict[str, str] = {}
        for v in self.variants.variants:
            v.check_clash(self.info, seen)
            qtype = v.type.alternate_qtype()
            if not qtype:
                raise SchemaError(
                    self.info, f"{v.describe(self.info)} cannot use {v.type.describe()}"
                )
            conflicting = {qtype}
            if qtype == "QTYPE_QSTRING":
                if isinstance(v.type, EnumType):
                    for m in v.type.members:
                        if m.name in ("on", "off"):
                            conflicting.add("QTYPE_QBOOL")
                        if re.match(r"[-+0-9.]", m.name):
                            conflicting.add("QTYPE_QNUM")
                else:
                    conflicting.add("QTYPE_QNUM")
                    conflicting.add("QTYPE_QBOOL")
            for qt in sorted(conflicting):
                if qt in types_seen:
                    raise SchemaError(
                        self.info,
                        f"{v.describe(self.info)} can't be distinguished from '{types_seen[qt]}'",
                    )
                types_seen[qt] = v.name

    def connect_doc(self, schema: Schema, doc: Doc | None = None) -> None:
        super().connect_doc(schema, doc)
        doc = doc or self.doc
        for v in self.variants.variants:
            v.connect_doc(doc, schema)

    def json_type(self) -> str:
        return "value"

    def visit(self, visitor: Visitor) -> None:
        visitor.visit_alternate_type(self)


class HandleType(Type):
    """A handle: an object type that travels on the wire as a scalar.

    :ivar data: the scalar's built-in type (``str`` or an integer type).
    """

    __slots__ = ("_data_name", "data")

    data: BuiltinType

    def __init__(
        self,
        name: str,
        info: SourceInfo,
        doc: Doc | None,
        ifcond: IfCond | None,
        features: list[Feature] | None,
        data: str,
    ) -> None:
        super().__init__("handle", name, info, doc, ifcond, features)
        self._data_name = data

    @property
    def data_name(self) -> str:
        return self._data_name

    def check(self, schema: Schema) -> None:
        super().check(schema)
        data = schema.resolve_type(self._data_name, self.info, "handle's 'data'")
        if not isinstance(data, BuiltinType) or not (data.name == "str" or data.is_integer()):
            valid = ", ".join(f"'{n}'" for n in ("str", *INTEGER_TYPES))
            raise SchemaError(
                self.info,
                f"handle's 'data' cannot take {data.describe()}\nValid types are {valid}.",
            )
        self.data = data

    def json_type(self) -> str:
        return self.data.json_type()

    def visit(self, visitor: Visitor) -> None:
        visitor.visit_handle_type(self)


class Command(Entity):
    """A command.

    :ivar arg_type: its arguments (``None`` when it takes none).
    :ivar ret_type: its return type (``None`` when it returns nothing).
    """

    __slots__ = (
        "_arg_type_name",
        "_ret_type_name",
        "allow_oob",
        "allow_preconfig",
        "arg_type",
        "boxed",
        "coroutine",
        "gen",
        "ret_type",
        "success_response",
    )

    def __init__(
        self,
        name: str,
        info: SourceInfo,
        doc: Doc | None,
        ifcond: IfCond | None,
        features: list[Feature] | None,
        arg_type: str | None,
        ret_type: str | None,
        gen: bool,
        success_response: bool,
        boxed: bool,
        allow_oob: bool,
        allow_preconfig: bool,
        coroutine: bool,
    ) -> None:
        super().__init__("command", name, info, doc, ifcond, features)
        self._arg_type_name = arg_type
        self._ret_type_name = ret_type
        self.arg_type: ObjectType | None = None
        self.ret_type: Type | None = None
        self.gen = gen
        self.success_response = success_response
        self.boxed = boxed
        self.allow_oob = allow_oob
        self.allow_preconfig = allow_preconfig
        self.coroutine = coroutine

    def check(self, schema: Schema) -> None:
        super().check(schema)
        if self._arg_type_name:
            arg_type = schema.resolve_type(self._arg_type_name, self.info, "command's 'data'")
            if not isinstance(arg_type, ObjectType):
                raise SchemaError(self.info, f"command's 'data' cannot take {arg_type.describe()}")
            self.arg_type = arg_type
            if arg_type.variants and not self.boxed:
                raise SchemaError(
                    self.info,
                    f"command's 'data' can take {arg_type.describe()} only with 'boxed': true",
                )
            arg_type.check(schema)
            if arg_type.has_conditional_members() and not self.boxed:
                raise SchemaError(
                    self.info, "conditional command arguments require 'boxed': true"
                )
        if self._ret_type_name:
            ret = schema.resolve_type(self._ret_type_name, self.info, "command's 'returns'")
            self.ret_type = ret
            assert self.info is not None
            if self.name not in schema.pragma.command_returns_exceptions:
                typ = ret.element_type if isinstance(ret, ArrayType) else ret
                # qobjects extension: a handle is an object, so it may be returned
                if not isinstance(typ, (ObjectType, HandleType)):
                    raise SchemaError(
                        self.info, f"command's 'returns' cannot take {ret.describe()}"
                    )

    def connect_doc(self, schema: Schema, doc: Doc | None = None) -> None:
        super().connect_doc(schema, doc)
        doc = doc or self.doc
        if doc is not None and self.arg_type is not None and self.arg_type.is_implicit():
            self.arg_type.connect_doc(schema, doc)

    def visit(self, visitor: Visitor) -> None:
        visitor.visit_command(self)


class Event(Entity):
    """An event.

    :ivar arg_type: its data (``None`` when it has none).
    """

    __slots__ = ("_arg_type_name", "arg_type", "boxed")

    def __init__(
        self,
        name: str,
        info: SourceInfo,
        doc: Doc | None,
        ifcond: IfCond | None,
        features: list[Feature] | None,
        arg_type: str | None,
        boxed: bool,
    ) -> None:
        super().__init__("event", name, info, doc, ifcond, features)
        self._arg_type_name = arg_type
        self.arg_type: ObjectType | None = None
        self.boxed = boxed

    def check(self, schema: Schema) -> None:
        super().check(schema)
        if self._arg_type_name:
            typ = schema.resolve_type(self._arg_type_name, self.info, "event's 'data'")
            if not isinstance(typ, ObjectType):
                raise SchemaError(self.info, f"event's 'data' cannot take {typ.describe()}")
            self.arg_type = typ
            if typ.variants and not self.boxed:
                raise SchemaError(
                    self.info,
                    f"event's 'data' can take {typ.describe()} only with 'boxed': true",
                )
            typ.check(schema)
            if typ.has_conditional_members() and not self.boxed:
                raise SchemaError(self.info, "conditional event arguments require 'boxed': true")

    def connect_doc(self, schema: Schema, doc: Doc | None = None) -> None:
        super().connect_doc(schema, doc)
        doc = doc or self.doc
        if doc is not None and self.arg_type is not None and self.arg_type.is_implicit():
            self.arg_type.connect_doc(schema, doc)

    def visit(self, visitor: Visitor) -> None:
        visitor.visit_event(self)


class Signal(Entity):
    """A signal that every object of a handle type has.

    :ivar owner: the handle type that owns the signal.
    :ivar arg_type: the signal's data (``None`` when it has none).
    :ivar event: the QMP event a client can emulate the signal from.
    :ivar owner_member: the member of :attr:`event` that names the owner.
    """

    __slots__ = (
        "_arg_type_name",
        "_event_name",
        "_owner_name",
        "arg_type",
        "event",
        "owner",
        "owner_member",
    )

    owner: HandleType

    def __init__(
        self,
        name: str,
        info: SourceInfo,
        doc: Doc | None,
        ifcond: IfCond | None,
        features: list[Feature] | None,
        owner: str,
        arg_type: str | None,
        event: str | None,
        owner_member: str | None,
    ) -> None:
        super().__init__("signal", name, info, doc, ifcond, features)
        self._owner_name = owner
        self._arg_type_name = arg_type
        self._event_name = event
        self.arg_type: ObjectType | None = None
        self.event: Event | None = None
        self.owner_member = owner_member

    @property
    def owner_name(self) -> str:
        return self._owner_name

    @property
    def event_name(self) -> str | None:
        return self._event_name

    def check(self, schema: Schema) -> None:
        super().check(schema)
        owner = schema.lookup_entity(self._owner_name)
        if owner is None:
            raise SchemaError(
                self.info, f"signal's 'owner' uses unknown type '{self._owner_name}'"
            )
        if not isinstance(owner, HandleType):
            raise SchemaError(
                self.info, f"signal's 'owner' must be a handle type, {owner.describe()} isn't"
            )
        self.owner = owner
        if self._arg_type_name:
            typ = schema.resolve_type(self._arg_type_name, self.info, "signal's 'data'")
            if not isinstance(typ, ObjectType) or typ.variants:
                raise SchemaError(self.info, f"signal's 'data' cannot take {typ.describe()}")
            self.arg_type = typ
            typ.check(schema)

    def check_event(self, schema: Schema) -> None:
        """Check the mapping to an event (after every entity is checked).

        :raises SchemaError: the event or its owner member does not fit.
        """
        if self._event_name is None or self.owner_member is None:
            return
        ev = schema.lookup_entity(self._event_name)
        if ev is None:
            raise SchemaError(
                self.info, f"signal's 'event' uses unknown event '{self._event_name}'"
            )
        if not isinstance(ev, Event):
            raise SchemaError(
                self.info, f"signal's 'event' must be an event, {ev.describe()} isn't"
            )
        ev_members = {m.name: m for m in ev.arg_type.members} if ev.arg_type else {}
        names = ", ".join(f"'{n}'" for n in ev_members) or "none"
        om = ev_members.get(self.owner_member)
        if om is None:
            raise SchemaError(
                self.info,
                f"'owner-member' '{self.owner_member}' is not a member of event "
                f"'{ev.name}'\nIts members are {names}.",
            )
        owner = self.owner
        if not (om.type is owner or om.type.name == "str" or om.type is owner.data):
            raise SchemaError(
                self.info,
                f"'owner-member' '{self.owner_member}' of event '{ev.name}' has type "
                f"'{om.type.name}', but must have type 'str' or '{owner.name}'",
            )
        if om.optional:
            raise SchemaError(
                self.info,
                f"'owner-member' '{self.owner_member}' of event '{ev.name}' must not be optional",
            )
        for m in self.arg_type.members if self.arg_type else []:
            if m.name == self.owner_member:
                raise SchemaError(
                    self.info,
                    f"member '{m.name}' is the 'owner-member' of event '{ev.name}'; "
                    "the owner is passed separately",
                )
            em = ev_members.get(m.name)
            if em is None:
                raise SchemaError(
                    self.info,
                    f"member '{m.name}' is not a member of event '{ev.name}'\n"
                    f"Its members are {names}.",
                )
            if em.type is not m.type:
                raise SchemaError(
                    self.info,
                    f"member '{m.name}' has type '{m.type.name}', but type "
                    f"'{em.type.name}' in event '{ev.name}'",
                )
            if em.optional and not m.optional:
                raise SchemaError(
                    self.info,
                    f"member '{m.name}' is required, but optional in event '{ev.name}'",
                )
        self.event = ev

    def connect_doc(self, schema: Schema, doc: Doc | None = None) -> None:
        super().connect_doc(schema, doc)
        doc = doc or self.doc
        if doc is not None and self.arg_type is not None and self.arg_type.is_implicit():
            self.arg_type.connect_doc(schema, doc)

    def visit(self, visitor: Visitor) -> None:
        visitor.visit_signal(self)
