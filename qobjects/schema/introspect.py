"""Introspection: the schema as ``query-qmp-schema`` returns it.

:func:`introspect` produces the list of SchemaInfo objects QEMU's
``query-qmp-schema`` returns: one entry per command and event, then one per
type they use, in order of first use. Type names are masked as numbers
("0", "1", ...) in order of first use, except the names of built-in types;
arrays are named ``[ELEMENT]``; every integer type shows as ``int``.

qobjects has no build configuration: every ``if`` condition counts as true,
so conditional entities, members and features are always listed.

Two meta-types extend QEMU's:

``handle``
    ``{"name": "Blockdev", "meta-type": "handle", "json-type": "string"}``.
    ``json-type`` is ``"string"`` or ``"int"``. Handle types keep their
    real names, since clients need them to decode canonical handles
    (``{"__handle__": "Blockdev", "data": ...}``).

``signal``
    ``{"name": "IO_ERROR", "meta-type": "signal", "owner": "Blockdev",
    "arg-type": "5", "event": "BLOCK_IO_ERROR", "owner-member": "device"}``;
    ``event`` is present when the signal maps to an event, with
    ``owner-member`` unless the event names no owner (``a|b``: the first
    present, non-empty member of the two). Signal entries follow the commands and events, in schema order;
    the owner's handle type is listed like any used type.
"""

from __future__ import annotations

from qobjects.schema.entities import (
    AlternateType,
    ArrayType,
    BuiltinType,
    Command,
    EnumType,
    ObjectType,
    SchemaEvent,
    Type,
)
from qobjects.schema.handles import HandleType, SchemaSignal
from qobjects.schema.members import EnumMember, Feature, ObjectMember
from qobjects.schema.model import Schema

__all__ = ["introspect"]

SchemaInfo = dict[str, object]


class _Introspector:
    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.trees: list[SchemaInfo] = []
        self.used: list[Type] = []
        self.names: dict[str, str] = {}

    def name(self, name: str) -> str:
        masked = self.names.get(name)
        if masked is None:
            masked = self.names[name] = str(len(self.names))
        return masked

    def use(self, typ: Type) -> str:
        if not isinstance(typ, HandleType):
            if typ.json_type() == "int":
                found = self.schema.lookup_type("int")
                assert found is not None
                typ = found
            elif (
                isinstance(typ, ArrayType)
                and not isinstance(typ.element_type, HandleType)
                and typ.element_type.json_type() == "int"
            ):
                found = self.schema.lookup_type("intList")
                assert found is not None
                typ = found
        if typ not in self.used:
            self.used.append(typ)
        if isinstance(typ, (BuiltinType, HandleType)):
            return typ.name
        if isinstance(typ, ArrayType):
            return "[" + self.use(typ.element_type) + "]"
        return self.name(typ.name)

    def tree(
        self, name: str, meta: str, obj: SchemaInfo, features: list[Feature] | None = None
    ) -> None:
        if meta not in ("command", "event", "signal", "builtin", "array", "handle"):
            name = self.name(name)
        entry: SchemaInfo = {"name": name, "meta-type": meta}
        entry.update(obj)
        if features:
            entry["features"] = [f.name for f in features]
        self.trees.append(entry)

    @staticmethod
    def enum_member(m: EnumMember) -> SchemaInfo:
        obj: SchemaInfo = {"name": m.name}
        if m.features:
            obj["features"] = [f.name for f in m.features]
        return obj

    def object_member(self, m: ObjectMember) -> SchemaInfo:
        obj: SchemaInfo = {"name": m.name, "type": self.use(m.type)}
        if m.optional:
            obj["default"] = None
        if m.features:
            obj["features"] = [f.name for f in m.features]
        return obj

    def run(self) -> list[SchemaInfo]:
        schema = self.schema
        empty = schema.the_empty_object_type
        for ent in schema.entities:
            if isinstance(ent, Command):
                obj: SchemaInfo = {
                    "arg-type": self.use(ent.arg_type or empty),
                    "ret-type": self.use(ent.ret_type or empty),
                }
                if ent.allow_oob:
                    obj["allow-oob"] = True
                self.tree(ent.name, "command", obj, ent.features)
            elif isinstance(ent, SchemaEvent):
                self.tree(
                    ent.name, "event", {"arg-type": self.use(ent.arg_type or empty)}, ent.features
                )
            elif isinstance(ent, SchemaSignal):
                obj = {
                    "owner": self.use(ent.owner),
                    "arg-type": self.use(ent.arg_type or empty),
                }
                if ent.event is not None:
                    obj["event"] = ent.event.name
                    if ent.owner_members:
                        obj["owner-member"] = "|".join(ent.owner_members)
                self.tree(ent.name, "signal", obj, ent.features)
        i = 0
        while i < len(self.used):
            self.type_tree(self.used[i])
            i += 1
        return self.trees

    def type_tree(self, typ: Type) -> None:
        if isinstance(typ, BuiltinType):
            self.tree(typ.name, "builtin", {"json-type": typ.json_type()})
        elif isinstance(typ, HandleType):
            self.tree(typ.name, "handle", {"json-type": typ.json_type()}, typ.features)
        elif isinstance(typ, EnumType):
            self.tree(
                typ.name,
                "enum",
                {
                    "members": [self.enum_member(m) for m in typ.members],
                    "values": [m.name for m in typ.members],
                },
                typ.features,
            )
        elif isinstance(typ, ArrayType):
            element = self.use(typ.element_type)
            self.tree("[" + element + "]", "array", {"element-type": element})
        elif isinstance(typ, ObjectType):
            obj: SchemaInfo = {"members": [self.object_member(m) for m in typ.members]}
            if typ.variants is not None:
                obj["tag"] = typ.variants.tag_member.name
                obj["variants"] = [
                    {"case": v.name, "type": self.use(v.type)} for v in typ.variants.variants
                ]
            self.tree(typ.name, "object", obj, typ.features)
        elif isinstance(typ, AlternateType):
            self.tree(
                typ.name,
                "alternate",
                {"members": [{"type": self.use(v.type)} for v in typ.variants.variants]},
                typ.features,
            )


def introspect(schema: Schema) -> list[dict[str, object]]:
    """The ``query-qmp-schema`` data of *schema* (see the module docstring)."""
    return _Introspector(schema).run()
