"""Python classes made from a checked schema.

:func:`build` turns a :class:`~qobjects.schema.Schema` into a
:class:`Namespace` of real classes, in memory:

========== ==================================================================
QAPI       Python
========== ==================================================================
enum       :class:`enum.StrEnum` subclass; member names map ``-`` to ``_``
           (``IoOperationType.read``); plain strings are accepted wherever a
           member is expected and turned into the member.
struct     slotted class with a keyword-only constructor that checks every
           member; a ``base`` is the Python base class; optional members
           default to ``None``; equality by value; readable repr.
union      a class for the common (base) members, with one subclass per
           branch in ``Union.branches()`` (keyed by tag value);
           ``Union(tag=..., ...)`` makes an instance of the branch's class,
           with the base and that branch's members as attributes.
alternate  no wrapper: the value is the branch's own value (``int``, a
           struct, ...). The class is an abstract type: ``isinstance(v, Alt)``
           says whether *v* is a valid value of one of its branches.
array      ``list``
handle     subclass of :class:`Handle`; its signals are :class:`Signal`
           descriptors named like the signal in lower case (``io_error``).
========== ==================================================================

Commands and events have no classes; their member lists are in
:attr:`Namespace.commands` and :attr:`Namespace.events`.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from qobjects.codecs import (
    LOCAL,
    AnyCodec,
    BoolCodec,
    Codec,
    DecodeContext,
    EnumCodec,
    IntCodec,
    ListCodec,
    MemberSpec,
    NullCodec,
    NumberCodec,
    StrCodec,
    decode_members,
    encode_members,
    py_name,
    type_name,
)
from qobjects.codegen import checker, initializer
from qobjects.errors import InvalidHandleValue, WrongType
from qobjects.signals import Signal

if TYPE_CHECKING:
    from qobjects import schema as qs

__all__ = [
    "Alternate",
    "CommandSpec",
    "Emulation",
    "EventSpec",
    "Handle",
    "HandleArgCodec",
    "Namespace",
    "OwnerOf",
    "Struct",
    "build",
    "owner_of",
]

log = logging.getLogger(__name__)

H = TypeVar("H", bound="Handle")


# --- handles ----------------------------------------------------------------


class Handle:
    """Base of every handle class: an object that travels as a simple value.

    Handles are made only by :meth:`find` (local, through the registered
    finder) or by a remote session; the constructor refuses. Two handles of
    one class with the same value (in the same session) are the same owner:
    equal, with one hash, sharing connections.
    """

    __handle_name__: ClassVar[str] = "Handle"
    _scalar: ClassVar[Codec]
    _finder: ClassVar[Callable[[Any], object | None] | None] = None
    _interned: ClassVar[weakref.WeakValueDictionary[object, Handle]]
    _signals: ClassVar[dict[str, Signal]] = {}

    _value: Any
    _target: object
    _session: Any
    _key: object

    def __init__(self, *args: object, **kwargs: object) -> None:
        cls = type(self).__name__
        raise TypeError(f"{cls} handles are made by {cls}.find(value), not by calling {cls}()")

    @property
    def value(self) -> Any:
        """The simple value that stands for the object on the wire."""
        return self._value

    @property
    def target(self) -> object:
        """The object the finder returned (None for a remote handle)."""
        return self._target

    @property
    def session(self) -> Any:
        """The remote session this handle belongs to, or None when local."""
        return self._session

    def __str__(self) -> str:
        return str(self._value)

    def __repr__(self) -> str:
        where = "" if self._session is None else " remote"
        return f"<{type(self).__name__}{where} {self._value!r}>"

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Handle)
        return self._key == other._key

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._value))

    def __reduce__(self) -> Any:
        raise TypeError(f"{type(self).__name__} handles cannot be pickled; send .value")

    @classmethod
    def finder(cls, fn: Callable[[Any], object | None]) -> Callable[[Any], object | None]:
        """Register the lookup ``value -> object | None`` for this handle type.

        One per type: registering again replaces it. Usable as a decorator.
        """
        cls._finder = fn
        return fn

    @classmethod
    def find(cls: type[H], value: object) -> H:
        """The handle for *value*, through the registered finder.

        :raises InvalidHandleValue: no finder is registered, the finder found
            nothing, or *value* is not of the handle's scalar type.
        """
        name = cls.__handle_name__
        if isinstance(value, cls) and value._session is None:
            return value
        try:
            value = cls._scalar.check(value, name, "")
        except WrongType:
            raise InvalidHandleValue(
                f"'{value}' is not a valid {name}: expected {cls._scalar.name}, got {type_name(value)}"
            ) from None
        finder = cls._finder
        if finder is None:
            raise InvalidHandleValue(f"'{value}' is not a valid {name}: no finder is registered")
        target = finder(value)
        if target is None:
            raise InvalidHandleValue(f"'{value}' is not a valid {name}")
        return cls._make(value, target, None)

    @classmethod
    def _make(cls: type[H], value: Any, target: object, session: Any) -> H:
        key = (session, value)
        table = cls._interned
        handle = table.get(key)
        if handle is None:
            handle = object.__new__(cls)
            handle._value = value
            handle._session = session
            handle._key = key
            handle._target = target
            handle = table.setdefault(key, handle)
        elif handle._target is not target and session is None:
            handle._target = target  # the finder may hand out a new object
        assert isinstance(handle, cls)
        return handle

    @classmethod
    def signals(cls) -> dict[str, Signal]:
        """This handle type's signals by QAPI name."""
        return dict(cls._signals)


class HandleCodec(Codec):
    json_kind = "string"

    def __init__(self, cls: type[Handle]) -> None:
        self.cls = cls
        self.name = cls.__handle_name__
        self.json_kind = cls._scalar.json_kind

    def annotation(self) -> Any:
        return self.cls

    def check(self, value: object, where: str, member: str) -> Any:
        if isinstance(value, self.cls):
            return value
        raise self.wrong(value, where, member)

    def encode(self, value: Any, explicit: bool) -> object:
        if explicit:
            return {"__handle__": self.name, "data": value._value}
        return value._value

    def decode(self, data: object, ctx: DecodeContext, where: str, member: str) -> Any:
        if isinstance(data, dict):
            if set(data) != {"__handle__", "data"}:
                raise WrongType(
                    where,
                    member,
                    f"{self.name} (canonical form has exactly '__handle__' and 'data')",
                    "object with keys " + ", ".join(sorted(map(str, data))),
                )
            if data["__handle__"] != self.name:
                raise WrongType(where, member, self.name, f"handle of type {data['__handle__']!r}")
            data = data["data"]
        try:
            data = self.cls._scalar.check(data, where, member)
        except WrongType:
            raise WrongType(
                where, member, f"{self.name} ({self.cls._scalar.name})", type_name(data)
            ) from None
        return ctx.handle(self.cls, data)


class HandleArgCodec(HandleCodec):
    """A handle as a command argument: the handle, or its plain value.

    A plain value is sent as it is; the server looks it up as it would the
    handle's own value.
    """

    def annotation(self) -> Any:
        return self.cls | self.cls._scalar.annotation()

    def check(self, value: object, where: str, member: str) -> Any:
        if isinstance(value, self.cls):
            return value
        try:
            return self.cls._scalar.check(value, where, member)
        except WrongType:
            raise WrongType(
                where, member, f"{self.name} or {self.cls._scalar.name}", type_name(value)
            ) from None

    def encode(self, value: Any, explicit: bool) -> object:
        if isinstance(value, Handle):
            return super().encode(value, explicit)
        return {"__handle__": self.name, "data": value} if explicit else value


# --- structs and unions -----------------------------------------------------


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


class StructCodec(Codec):
    json_kind = "object"

    def __init__(self, cls: type[Struct]) -> None:
        self.cls = cls
        self.name = cls.__name__

    def annotation(self) -> Any:
        return self.cls

    def check(self, value: object, where: str, member: str) -> Any:
        if isinstance(value, self.cls):
            return value
        raise self.wrong(value, where, member)

    def encode(self, value: Any, explicit: bool) -> object:
        return value.to_json(explicit)

    def decode(self, data: object, ctx: DecodeContext, where: str, member: str) -> Any:
        if not isinstance(data, dict):
            raise self.wrong(data, where, member)
        return self.cls.from_json(data, ctx)


# --- alternates -------------------------------------------------------------


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


# --- commands and events ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A command's member lists and result type, for servers and clients."""

    name: str
    py: str
    args: tuple[MemberSpec, ...]
    arg_codec: Codec | None  # boxed union/alternate arguments
    ret: Codec | None
    doc: str | None
    success_response: bool = True
    check: Callable[..., dict[str, Any]] = field(repr=False, compare=False, default=dict)

    def decode_args(self, data: object, ctx: DecodeContext) -> dict[str, Any]:
        """Checked arguments by Python name.

        :raises ValidationError: missing, unknown or mistyped arguments.
        """
        where = f"command '{self.name}'"
        if self.arg_codec is not None:
            value = self.arg_codec.decode(data, ctx, where, "")
            return value.as_dict() if isinstance(value, Struct) else {"arg": value}
        return decode_members(self.args, data, ctx, where)


@dataclass(frozen=True, slots=True)
class EventSpec:
    """An event's members."""

    name: str
    args: tuple[MemberSpec, ...]
    doc: str | None
    check: Callable[..., dict[str, Any]] = field(repr=False, compare=False, default=dict)


# --- the namespace ----------------------------------------------------------


#: How a client finds the owner of an emulated signal in an event's data:
#: the owner's plain value, or None when the event names none.
OwnerOf = Callable[[dict[str, Any]], object]
#: One emulated signal: the owner's class, the signal, and its OwnerOf.
Emulation = tuple[type[Handle], Signal, OwnerOf]


def owner_of(members: Sequence[str], empty: object = "") -> OwnerOf:
    """The :data:`OwnerOf` that tries *members* in turn (the first present,
    non-empty one names the owner); with no *members*, the owner is *empty*."""
    if not members:
        return lambda data: empty
    names = tuple(members)

    def find(data: dict[str, Any]) -> object:
        for name in names:
            value = data.get(name)
            if isinstance(value, dict):  # a canonical handle
                value = value.get("data")
            if value is not None and value != "":
                return value
        return None

    return find


class Namespace:
    """The classes of one schema, by QAPI type name (``ns.Blockdev``).

    :ivar schema: the checked schema.
    :ivar types: classes by QAPI name (enums, structs, unions, alternates, handles).
    :ivar commands: :class:`CommandSpec` by command name.
    :ivar events: :class:`EventSpec` by event name.
    """

    def __init__(self, schema: qs.Schema) -> None:
        self.schema = schema
        self.types: Mapping[str, type] = {}
        self.commands: Mapping[str, CommandSpec] = {}
        self.events: Mapping[str, EventSpec] = {}
        self.handles: Mapping[str, type[Handle]] = {}
        self.codecs: dict[str, Codec] = {}

    def command_by_py(self, name: str) -> CommandSpec | None:
        """The command whose Python name is *name* (``query_block``)."""
        table: dict[str, CommandSpec] | None = self.__dict__.get("_by_py")
        if table is None:
            table = self.__dict__["_by_py"] = {c.py: c for c in self.commands.values()}
        return table.get(name)

    def emulation_table(self) -> dict[str, list[Emulation]]:
        """For each event, the signals a client emulates from it (compatibility mode).

        The table may grow as classes are built, but never gains keys.
        """
        table: dict[str, list[Emulation]] = {}
        for sig in self.schema.signals():
            if sig.event is not None:
                cls = self.handles[sig.owner.name]
                empty: object = "" if sig.owner.data.name == "str" else 0
                table.setdefault(sig.event.name, []).append(
                    (cls, cls._signals[sig.name], owner_of(sig.owner_members, empty))
                )
        return table

    def __getattr__(self, name: str) -> type:
        try:
            return self.types[name]
        except KeyError:
            raise AttributeError(f"schema has no type {name!r}") from None

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self.types))

    def __iter__(self) -> Iterator[str]:
        return iter(self.types)

    def __repr__(self) -> str:
        return f"<Namespace of {len(self.types)} types, {len(self.commands)} commands>"


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
