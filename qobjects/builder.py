"""The builder: a checked schema -> a :class:`~qobjects.objects.Namespace` of classes.

:func:`build` makes, in memory, an enum class per enum and a subclass of
:class:`~qobjects.objects.Handle`, :class:`~qobjects.objects.Struct` (or
:class:`~qobjects.objects.UnionBase`, with a class per branch) or
:class:`~qobjects.objects.Alternate` per type, with its codec; then the
signals of each handle and the command and event specs. The table of what
each QAPI kind becomes is in :mod:`qobjects.objects`.
"""

from __future__ import annotations

import dataclasses
import enum
import weakref
from collections.abc import Callable
from os import PathLike
from typing import TYPE_CHECKING, Any

from qobjects.alternates import Alternate, AlternateCodec
from qobjects.codecs import (
    AnyCodec,
    BoolCodec,
    Codec,
    EnumCodec,
    IntCodec,
    ListCodec,
    MemberSpec,
    NullCodec,
    NumberCodec,
    StrCodec,
    py_name,
)
from qobjects.codegen import checker, initializer
from qobjects.handles import Handle, HandleArgCodec, HandleCodec
from qobjects.namespace import Namespace
from qobjects.signals import Signal
from qobjects.specs import CommandSpec, EventSpec
from qobjects.structs import Struct, StructCodec, UnionBase

if TYPE_CHECKING:
    from qobjects import schema as qs

__all__ = ["build"]


def build(schema: qs.Schema | str | PathLike[str]) -> Namespace:
    """Make the classes of *schema* (a checked Schema or a schema file path).

    :raises SchemaError: the file does not parse or check.
    """
    from qobjects.schema import Schema, load_schema

    if not isinstance(schema, Schema):
        schema = load_schema(schema)
    return _Builder(schema).build()


_BUILTIN_CODECS: dict[str, Callable[[], Codec]] = {
    "str": StrCodec,
    "number": NumberCodec,
    "bool": BoolCodec,
    "null": NullCodec,
    "any": AnyCodec,
}


class _Builder:
    """Two passes: create every class (so references can be cyclic), then fill members."""

    def __init__(self, schema: qs.Schema) -> None:
        self.schema = schema
        self.ns = Namespace(schema)
        self.types: dict[str, type] = {}
        self.commands: dict[str, CommandSpec] = {}
        self.events: dict[str, EventSpec] = {}
        self.handles: dict[str, type[Handle]] = {}
        self.ns.types, self.ns.commands, self.ns.events = self.types, self.commands, self.events
        self.ns.handles = self.handles
        self.codecs: dict[str, Codec] = {}
        self.pending: list[Callable[[], None]] = []
        self.pending_alternates: list[Callable[[], None]] = []
        self.module = "qobjects.generated"

    def build(self) -> Namespace:
        from qobjects import schema as qs

        schema = self.schema
        for ent in schema.entities:
            if isinstance(ent, qs.EnumType):
                self._enum(ent)
            elif isinstance(ent, qs.HandleType):
                self._handle(ent)
            elif isinstance(ent, qs.ObjectType):
                self._object(ent)
            elif isinstance(ent, qs.AlternateType):
                self._alternate(ent)
        # Alternates first: struct annotations need their branches.
        for fill in self.pending_alternates + self.pending:
            fill()
        for ent in schema.entities:
            if isinstance(ent, qs.SchemaSignal):
                self._signal(ent)
            elif isinstance(ent, qs.Command):
                self._command(ent)
            elif isinstance(ent, qs.SchemaEvent):
                self._event(ent)
        self.ns.codecs = self.codecs
        return self.ns

    def _export(self, ent: qs.Entity, cls: type) -> None:
        if not ent.is_implicit():
            self.types[ent.name] = cls

    def codec(self, t: qs.Type) -> Codec:
        from qobjects import schema as qs

        found = self.codecs.get(t.name)
        if found is not None:
            return found
        if isinstance(t, qs.ArrayType):
            codec: Codec = ListCodec(self.codec(t.element_type))
        elif isinstance(t, qs.BuiltinType):
            factory = _BUILTIN_CODECS.get(t.name)
            codec = factory() if factory is not None else IntCodec(t.name)
        else:
            raise AssertionError(f"no codec for {t.name}")
        self.codecs[t.name] = codec
        return codec

    def _doc(self, ent: qs.Entity) -> str | None:
        return None if ent.doc is None else ent.doc.docstring()

    def _member_doc(self, ent: qs.Entity, name: str) -> str | None:
        if ent.doc is None:
            return None
        return ent.doc.args.get(name)

    def specs(self, t: qs.ObjectType | None, doc_ent: qs.Entity | None = None) -> tuple[MemberSpec, ...]:
        if t is None:
            return ()
        doc_ent = doc_ent or t
        return tuple(
            MemberSpec(
                m.name, py_name(m.name), self.codec(m.type), m.optional, self._member_doc(doc_ent, m.name)
            )
            for m in t.members
        )

    # enums

    def _enum(self, ent: qs.EnumType) -> None:
        cls = enum.StrEnum(  # type: ignore[misc]
            ent.name, [(py_name(m.name), m.name) for m in ent.members], module=self.module
        )
        cls.__doc__ = self._doc(ent) or f"QAPI enum {ent.name}."
        self.codecs[ent.name] = EnumCodec(cls)
        self._export(ent, cls)

    # handles

    def _handle(self, ent: qs.HandleType) -> None:
        cls = type(
            ent.name,
            (Handle,),
            {
                "__module__": self.module,
                "__doc__": self._doc(ent) or f"QAPI handle {ent.name}.",
                "__handle_name__": ent.name,
                "_scalar": self.codec(ent.data),
                "_interned": weakref.WeakValueDictionary(),
                "_signals": {},
            },
        )
        self.codecs[ent.name] = HandleCodec(cls)
        self.handles[ent.name] = cls
        self._export(ent, cls)

    def _signal(self, ent: qs.SchemaSignal) -> None:
        cls = self.handles[ent.owner.name]
        sig = Signal(ent.name, self.specs(ent.arg_type, ent), self._doc(ent))
        attr = py_name(ent.name.lower())
        setattr(cls, attr, sig)
        sig.__set_name__(cls, attr)
        cls._signals[ent.name] = sig

    # structs, unions

    def _object(self, ent: qs.ObjectType) -> None:
        if ent.name in self.codecs:
            return
        bases: tuple[type[Struct], ...] = (UnionBase,) if ent.variants is not None else (Struct,)
        if ent.base is not None and not ent.base.is_implicit():
            base = self.codecs.get(ent.base.name)
            if base is None:
                self._object(ent.base)
                base = self.codecs[ent.base.name]
            assert isinstance(base, StructCodec)
            bases = (UnionBase, base.cls) if ent.variants is not None else (base.cls,)
        inherited = {s for b in bases for k in b.__mro__ for s in getattr(k, "__slots__", ())}
        own = tuple(py_name(m.name) for m in ent.members if py_name(m.name) not in inherited)
        cls = type(
            ent.name,
            bases,
            {
                "__module__": self.module,
                "__slots__": own,
                "__doc__": self._doc(ent) or f"QAPI {ent.meta} {ent.name}.",
                "_where": ent.name,
            },
        )
        codec = StructCodec(cls)
        self.codecs[ent.name] = codec
        self._export(ent, cls)
        self.pending.append(lambda: self._fill_object(ent, cls))

    def _fill_object(self, ent: qs.ObjectType, cls: type[Struct]) -> None:
        specs = self.specs(ent)
        new = cls
        self._install_init(new, specs, ent.name)
        new.__annotations__ = {s.py: s.annotation() for s in specs}
        if ent.variants is not None:
            self._fill_union(ent, new, specs)

    def _install_init(self, cls: type[Struct], specs: tuple[MemberSpec, ...], where: str) -> None:
        init = initializer(specs, where, f"{cls.__qualname__}.__init__")
        setattr(cls, "__init__", init)  # noqa: B010 (mypy forbids assigning methods)
        cls._specs = specs

    def _fill_union(self, ent: qs.ObjectType, cls: type[Struct], base_specs: tuple[MemberSpec, ...]) -> None:
        from qobjects.schema import ObjectType

        assert ent.variants is not None
        tag = ent.variants.tag_member
        variants: dict[str, type[UnionBase]] = {}
        by_case = {v.name: v for v in ent.variants.variants}
        tag_type = tag.type
        cases = [m.name for m in tag_type.members] if hasattr(tag_type, "members") else list(by_case)
        for case in cases:
            v = by_case.get(case)
            extra = self.specs(v.type) if v is not None and isinstance(v.type, ObjectType) else ()
            names = {s.py for s in base_specs}
            own = tuple(s.py for s in extra if s.py not in names)
            where = f"{cls.__name__} (branch '{case}')"
            branch: type[UnionBase] = type(
                f"{cls.__name__}_{py_name(case)}",
                (cls,),
                {
                    "__module__": self.module,
                    "__slots__": own,
                    "__doc__": f"Branch '{case}' of union {cls.__name__}.",
                    "_branch": case,
                    "_where": where,
                    "_variants": {},
                },
            )
            branch.__qualname__ = f"{cls.__name__}.{py_name(case)}"
            specs = base_specs + tuple(s for s in extra if s.py not in names)
            self._install_init(branch, specs, where)
            branch.__annotations__ = {s.py: s.annotation() for s in specs}
            variants[case] = branch
        cls._variants = variants  # type: ignore[attr-defined]
        cls._tag = tag.name  # type: ignore[attr-defined]
        cls._tag_py = py_name(tag.name)  # type: ignore[attr-defined]

    # alternates

    def _alternate(self, ent: qs.AlternateType) -> None:
        cls: type[Alternate] = type(
            ent.name,
            (Alternate,),
            {
                "__module__": self.module,
                "__doc__": self._doc(ent) or f"QAPI alternate {ent.name}.",
            },
        )
        self.codecs[ent.name] = AlternateCodec(cls)
        self._export(ent, cls)

        def fill() -> None:
            branches = tuple((v.name, self.codec(v.type)) for v in ent.variants.variants)
            cls._branches = branches

        self.pending_alternates.append(fill)

    # commands, events

    def _command(self, ent: qs.Command) -> None:
        from qobjects import schema as qs

        arg_codec: Codec | None = None
        args: tuple[MemberSpec, ...] = ()
        if ent.arg_type is not None:
            if isinstance(ent.arg_type, qs.ObjectType) and ent.arg_type.variants is None:
                args = tuple(_handle_arg(s) for s in self.specs(ent.arg_type, ent))
            else:
                arg_codec = self.codec(ent.arg_type)
        ret = self.codec(ent.ret_type) if ent.ret_type is not None else None
        self.commands[ent.name] = CommandSpec(
            ent.name,
            py_name(ent.name),
            args,
            arg_codec,
            ret,
            self._doc(ent),
            ent.success_response,
            _checker(args, f"command '{ent.name}'"),
        )

    def _event(self, ent: qs.SchemaEvent) -> None:
        from qobjects import schema as qs

        args = self.specs(ent.arg_type, ent) if isinstance(ent.arg_type, qs.ObjectType) else ()
        self.events[ent.name] = EventSpec(
            ent.name, args, self._doc(ent), _checker(args, f"event '{ent.name}'")
        )


def _handle_arg(spec: MemberSpec) -> MemberSpec:
    """*spec* as a command argument: a handle member also takes its plain value."""
    if type(spec.codec) is HandleCodec:
        return dataclasses.replace(spec, codec=HandleArgCodec(spec.codec.cls))
    return spec


def _checker(specs: tuple[MemberSpec, ...], where: str) -> Callable[..., dict[str, Any]]:
    return checker(specs, where, f"<check of {where}>")


# Defined in qobjects.objects before the split, and still re-exported there:
# the module they report (class reprs, pickles, the generated stubs' imports).
build.__module__ = "qobjects.objects"
