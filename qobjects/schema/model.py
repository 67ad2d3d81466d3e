"""The checked schema model: :class:`Schema` and :class:`Visitor`.

A :class:`Schema` is built from parsed expressions in two phases, as QEMU's
QAPI generator does: first every definition becomes an entity (implicit
array and argument types included), then every entity is checked in
definition order, which resolves type names and applies the rules that need
the whole schema. Doc comments are connected to what they describe, and
descriptions of nothing are reported.

Signals live in their own namespace, one per owner handle type.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from qobjects.errors import SchemaError
from qobjects.schema.doc import Doc
from qobjects.schema.entities import (
    AlternateType,
    ArrayType,
    BuiltinType,
    Command,
    Entity,
    EnumType,
    Include,
    ObjectType,
    SchemaEvent,
    Type,
    Variants,
)
from qobjects.schema.expr import check_exprs
from qobjects.schema.handles import HandleType, SchemaSignal
from qobjects.schema.members import (
    EnumMember,
    Feature,
    IfCond,
    Implicit,
    ObjectMember,
    Variant,
    _ifcond,
)
from qobjects.schema.parser import Expression, ParseResult, Pragma
from qobjects.schema.source import SourceInfo

__all__ = ["BUILTIN_MODULE", "Schema", "Visitor"]

BUILTIN_MODULE = "./builtin"

_BUILTINS = (
    ("str", "string"),
    ("number", "number"),
    ("int", "int"),
    ("int8", "int"),
    ("int16", "int"),
    ("int32", "int"),
    ("int64", "int"),
    ("uint8", "int"),
    ("uint16", "int"),
    ("uint32", "int"),
    ("uint64", "int"),
    ("size", "int"),
    ("bool", "boolean"),
    ("any", "value"),
    ("null", "null"),
)
_QTYPES = ("none", "qnull", "qnum", "qstring", "qdict", "qlist", "qbool")
_MAX_FEATURES = 64


class Visitor:
    """Walks a schema module by module; override what you need.

    Every ``visit_*`` method takes the entity itself.
    """

    def visit_begin(self, schema: Schema) -> None:
        """Called first."""

    def visit_end(self) -> None:
        """Called last."""

    def visit_needed(self, entity: Entity) -> bool:
        """Whether to visit *entity* (default: everything)."""
        return True

    def visit_module(self, name: str) -> None:
        """A new module (``./builtin``, then files relative to the main one)."""

    def visit_include(self, name: str, info: SourceInfo | None) -> None:
        """The current module includes module *name*."""

    def visit_builtin_type(self, t: BuiltinType) -> None: ...

    def visit_enum_type(self, t: EnumType) -> None: ...

    def visit_array_type(self, t: ArrayType) -> None: ...

    def visit_object_type(self, t: ObjectType) -> None: ...

    def visit_alternate_type(self, t: AlternateType) -> None: ...

    def visit_command(self, c: Command) -> None: ...

    def visit_event(self, e: SchemaEvent) -> None: ...

    def visit_handle_type(self, h: HandleType) -> None: ...

    def visit_signal(self, s: SchemaSignal) -> None: ...


def _features(features: object, info: SourceInfo | None) -> list[Feature]:
    if not features:
        return []
    assert isinstance(features, list)
    return [Feature(f["name"], info, _ifcond(f.get("if"))) for f in features]


class Schema:
    """A checked schema.

    :ivar fname: the main file's name.
    :ivar docs: every doc comment, in textual order.
    :ivar pragma: the pragma settings.
    """

    def __init__(self, parsed: ParseResult, fname: str, *, overlay: bool = False) -> None:
        """Build and check the model of *parsed*.

        An *overlay* declares handles and signals for a server whose own
        schema comes from introspection: its signals' events and its
        ``named-by`` paths are checked when it is merged with that schema
        (:mod:`qobjects.qmp.introspect`), not here.

        :raises SchemaError: the schema is invalid.
        """
        self.fname = fname
        self.overlay = overlay
        self.docs: list[Doc] = parsed.docs
        self.pragma: Pragma = parsed.pragma
        check_exprs(parsed.exprs, self.pragma)
        self._all: list[Entity | Include] = []
        self._entities: list[Entity] = []
        self._entity_dict: dict[str, Entity] = {}
        self._signal_dict: dict[tuple[str, str], SchemaSignal] = {}
        self._modules: dict[str, list[Entity | Include]] = {}
        self._feature_names: dict[str, Feature] = {
            n: Feature(n, None) for n in ("deprecated", "unstable")
        }
        self._schema_dir = os.path.dirname(fname) or "."
        self._module_cache: dict[str, str] = {}
        self._make_module(BUILTIN_MODULE)
        self._make_module(fname)
        self._def_predefineds()
        for expr in parsed.exprs:
            self._def_expr(expr)
        self._check()

    # -- public API --------------------------------------------------------------

    @property
    def entities(self) -> list[Entity]:
        """Every definition (built-in and implicit ones included), in definition order."""
        return self._entities

    def lookup_entity(self, name: str) -> Entity | None:
        """The type, command or event called *name* (signals are per owner)."""
        return self._entity_dict.get(name)

    def lookup_type(self, name: str) -> Type | None:
        ent = self._entity_dict.get(name)
        return ent if isinstance(ent, Type) else None

    def lookup_signal(self, owner: str, name: str) -> SchemaSignal | None:
        """Signal *name* of handle type *owner*."""
        return self._signal_dict.get((owner, name))

    def resolve_type(
        self,
        name: str,
        info: SourceInfo | None,
        what: str | Callable[[SourceInfo | None], str] | None,
    ) -> Type:
        """:raises SchemaError: *name* is not a type."""
        typ = self.lookup_type(name)
        if typ is None:
            if callable(what):
                what = what(info)
            raise SchemaError(info, f"{what} uses unknown type '{name}'")
        return typ

    def types(self) -> Iterator[Type]:
        return (e for e in self._entities if isinstance(e, Type))

    def commands(self) -> Iterator[Command]:
        return (e for e in self._entities if isinstance(e, Command))

    def events(self) -> Iterator[SchemaEvent]:
        return (e for e in self._entities if isinstance(e, SchemaEvent))

    def handles(self) -> Iterator[HandleType]:
        return (e for e in self._entities if isinstance(e, HandleType))

    def signals(self) -> Iterator[SchemaSignal]:
        return (e for e in self._entities if isinstance(e, SchemaSignal))

    def signals_of(self, handle: HandleType | str) -> list[SchemaSignal]:
        """The signals owned by *handle*, in definition order."""
        name = handle if isinstance(handle, str) else handle.name
        return [s for s in self.signals() if s.owner_name == name]

    def definitions(self) -> list[Entity]:
        """The explicit definitions (what QEMU counts as the schema's size)."""
        return [e for e in self._entities if not e.is_implicit()]

    def qemu_entity_count(self) -> int:
        """The length of QEMU's entity list: definitions, built-in and
        implicit types, and one entity per ``include`` directive."""
        return len(self._all)

    def visit(self, visitor: Visitor) -> None:
        """Walk the schema module by module."""
        visitor.visit_begin(self)
        for name, ents in self._modules.items():
            visitor.visit_module(name)
            for ent in ents:
                if isinstance(ent, Include):
                    visitor.visit_include(ent.sub_module, ent.info)
                elif visitor.visit_needed(ent):
                    ent.visit(visitor)
        visitor.visit_end()

    def __repr__(self) -> str:
        return f"<Schema {self.fname!r}: {len(self._entities)} entities>"

    # -- construction ----------------------------------------------------------------

    def _module_name(self, fname: str) -> str:
        name = self._module_cache.get(fname)
        if name is None:
            is_system = fname.startswith("./")
            name = fname if is_system else os.path.relpath(fname, self._schema_dir)
            self._module_cache[fname] = name
        return name

    def _make_module(self, fname: str) -> str:
        name = self._module_name(fname)
        self._modules.setdefault(name, [])
        return name

    def _def_entity(self, ent: Entity) -> None:
        self._all.append(ent)
        self._entities.append(ent)
        other = self._entity_dict.get(ent.name)
        if other is not None:
            if other.info is not None:
                where = SchemaError(other.info, "previous definition")
                raise SchemaError(ent.info, f"'{ent.name}' is already defined\n{where}")
            raise SchemaError(ent.info, f"{other.describe()} is already defined")
        self._entity_dict[ent.name] = ent

    def _def_signal(self, sig: SchemaSignal) -> None:
        key = (sig.owner_name, sig.name)
        other = self._signal_dict.get(key)
        if other is not None:
            where = SchemaError(other.info, "previous definition")
            raise SchemaError(
                sig.info,
                f"signal '{sig.name}' of '{sig.owner_name}' is already defined\n{where}",
            )
        self._signal_dict[key] = sig
        self._all.append(sig)
        self._entities.append(sig)

    def _def_predefineds(self) -> None:
        for name, json_type in _BUILTINS:
            self._def_entity(BuiltinType(name, json_type))
            self._make_array_type(name, None)
        self.the_empty_object_type = ObjectType("q_empty", None, None, None, None, None, [], None)
        self._def_entity(self.the_empty_object_type)
        members = [EnumMember(n, None) for n in _QTYPES]
        self._def_entity(EnumType("QType", None, None, None, None, members, None))

    def _make_features(self, features: object, info: SourceInfo | None) -> list[Feature]:
        made = _features(features, info)
        for f in made:
            if f.name not in self._feature_names:
                self._feature_names[f.name] = f
        return made

    def _make_array_type(self, element_type: str, info: SourceInfo | None) -> str:
        name = element_type + "List"
        if self.lookup_type(name) is None:
            self._def_entity(ArrayType(name, info, element_type))
        return name

    def _make_member(self, name: str, value: dict[str, Any], info: SourceInfo) -> ObjectMember:
        optional = name.startswith("*")
        if optional:
            name = name[1:]
        typ = value["type"]
        if isinstance(typ, list):
            typ = self._make_array_type(typ[0], info)
        return ObjectMember(
            name,
            info,
            typ,
            optional,
            _ifcond(value.get("if")),
            self._make_features(value.get("features"), info),
        )

    def _make_members(self, data: dict[str, Any], info: SourceInfo) -> list[ObjectMember]:
        return [self._make_member(key, value, info) for key, value in data.items()]

    def _make_implicit_object_type(
        self,
        name: str,
        info: SourceInfo,
        ifcond: IfCond,
        members: list[ObjectMember],
        implicit: Implicit,
    ) -> str | None:
        if not members:
            return None
        if self.lookup_entity(name) is None:
            self._def_entity(
                ObjectType(name, info, None, ifcond, None, None, members, None, implicit)
            )
        return name

    def _make_variant(self, case: str, value: dict[str, Any], info: SourceInfo) -> Variant:
        typ = value["type"]
        if isinstance(typ, list):
            typ = self._make_array_type(typ[0], info)
        return Variant(case, info, typ, _ifcond(value.get("if")))

    def _def_expr(self, expr: Expression) -> None:
        data: dict[str, Any] = expr.data
        info = expr.info
        if "include" in data:
            inc = Include(self._make_module(data["include"]), info)
            self._all.append(inc)
            return
        meta = info.defn_meta
        doc = expr.doc
        ifcond = _ifcond(data.get("if"))
        features = self._make_features(data.get("features"), info)
        if meta == "enum":
            name = data["enum"]
            members = [
                EnumMember(
                    m["name"],
                    info,
                    _ifcond(m.get("if")),
                    self._make_features(m.get("features"), info),
                )
                for m in data["data"]
            ]
            self._def_entity(
                EnumType(name, info, doc, ifcond, features, members, data.get("prefix"))
            )
        elif meta == "struct":
            name = data["struct"]
            self._def_entity(
                ObjectType(
                    name,
                    info,
                    doc,
                    ifcond,
                    features,
                    data.get("base"),
                    self._make_members(data["data"], info),
                    None,
                )
            )
        elif meta == "union":
            name = data["union"]
            base = data["base"]
            if isinstance(base, dict):
                base = self._make_implicit_object_type(
                    f"q_obj_{name}-base",
                    info,
                    ifcond,
                    self._make_members(base, info),
                    ("base", name),
                )
            variants = [self._make_variant(k, v, info) for k, v in data["data"].items()]
            self._def_entity(
                ObjectType(
                    name,
                    info,
                    doc,
                    ifcond,
                    features,
                    base,
                    [],
                    Variants(info, variants, tag_name=data["discriminator"]),
                )
            )
        elif meta == "alternate":
            name = data["alternate"]
            variants = [self._make_variant(k, v, info) for k, v in data["data"].items()]
            tag = ObjectMember("type", info, "QType", False)
            self._def_entity(
                AlternateType(
                    name, info, doc, ifcond, features, Variants(info, variants, tag_member=tag)
                )
            )
        elif meta == "command":
            name = data["command"]
            args = data.get("data")
            if isinstance(args, dict):
                args = self._make_implicit_object_type(
                    f"q_obj_{name}-arg", info, ifcond, self._make_members(args, info), ("arg", name)
                )
            rets = data.get("returns")
            if isinstance(rets, list):
                rets = self._make_array_type(rets[0], info)
            self._def_entity(
                Command(
                    name,
                    info,
                    doc,
                    ifcond,
                    features,
                    args,
                    rets,
                    data.get("gen", True),
                    data.get("success-response", True),
                    data.get("boxed", False),
                    data.get("allow-oob", False),
                    data.get("allow-preconfig", False),
                    data.get("coroutine", False),
                )
            )
        elif meta == "event":
            name = data["event"]
            args = data.get("data")
            if isinstance(args, dict):
                args = self._make_implicit_object_type(
                    f"q_obj_{name}-arg", info, ifcond, self._make_members(args, info), ("arg", name)
                )
            self._def_entity(
                SchemaEvent(name, info, doc, ifcond, features, args, data.get("boxed", False))
            )
        elif meta == "handle":
            self._def_entity(
                HandleType(
                    data["handle"], info, doc, ifcond, features, data["data"], data.get("named-by")
                )
            )
        else:
            name = data["signal"]
            owner = data["owner"]
            args = data.get("data")
            data_names = None
            if isinstance(args, list):
                data_names, args = list(args), None
            if isinstance(args, dict):
                args = self._make_implicit_object_type(
                    f"q_obj_{owner}-{name}-arg",
                    info,
                    ifcond,
                    self._make_members(args, info),
                    ("signal", name),
                )
            self._def_signal(
                SchemaSignal(
                    name,
                    info,
                    doc,
                    ifcond,
                    features,
                    owner,
                    args,
                    data.get("event"),
                    data.get("owner-member"),
                    data_names,
                )
            )

    # -- checking ----------------------------------------------------------------------

    def _check(self) -> None:
        for ent in self._entities:
            try:
                ent.check(self)
            except RecursionError:
                # a very long chain of base types or union branches
                raise SchemaError(
                    ent.info, f"{ent.describe()} nests types too deeply"
                ) from None
            ent.connect_doc(self)
        for ent in self._entities:
            if isinstance(ent, SchemaSignal):
                ent.check_event(self)
        for item in self._all:
            if isinstance(item, Include):
                assert item.info is not None
                mod = self._module_name(item.info.fname)
            elif isinstance(item, ArrayType):
                info = item.element_type.info
                mod = self._module_name(info.fname) if info else BUILTIN_MODULE
            else:
                mod = self._module_name(item.info.fname) if item.info else BUILTIN_MODULE
            item.module = mod
            self._modules[mod].append(item)
        for doc in self.docs:
            doc.check()
        features = list(self._feature_names.values())
        if len(features) > _MAX_FEATURES:
            raise SchemaError(
                features[_MAX_FEATURES].info,
                f"Maximum of {_MAX_FEATURES} schema features is permitted",
            )
