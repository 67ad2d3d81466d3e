"""The entities of a checked schema: types, commands and events.

Handle types and signals are in :mod:`qobjects.schema.handles`, members in
:mod:`qobjects.schema.members`.

Entities are built in two phases: the :class:`~qobjects.schema.model.Schema`
constructs them from the checked expressions (type references are still
names), then calls :meth:`Entity.check`, which resolves the names and runs
the checks that need the whole schema. After that an entity does not change.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from qobjects.errors import SchemaError
from qobjects.schema.expr import c_name
from qobjects.schema.members import (
    _NO_COND,
    INTEGER_TYPES,
    EnumMember,
    Feature,
    IfCond,
    Implicit,
    Member,
    ObjectMember,
    Variant,
    seen_members,
)

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
    "EnumType",
    "SchemaEvent",
    "Include",
    "ObjectType",
    "Type",
    "Variants",
]

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
        members = [m for m in seen_members(seen) if isinstance(m, ObjectMember)]
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
                if not isinstance(typ, ObjectType) and typ.meta != "handle":
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


class SchemaEvent(Entity):
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
