"""Schema entities -> the classes of a stub: enums, structs, unions, handles, signals.

Each method writes the stub of one entity, following the rules of
:func:`qobjects.objects.build` (names, members, branches): an enum as an
``enum.StrEnum``, a struct with its keyword ``__init__``, a union with a
``__new__`` overload and a class per branch, a handle with its signals, and
for each signal the slot protocols and the typed ``connect``/``emit``.
Alternates are type aliases, written by :class:`~.annotate.Annotator`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from qobjects.codecs import py_name
from qobjects.schema import (
    AlternateType,
    Entity,
    EnumType,
    HandleType,
    ObjectMember,
    ObjectType,
    Schema,
    SchemaSignal,
)
from qobjects.stubgen.annotate import Annotator, Param, entity_doc, quote_doc

__all__ = ["MAX_SUBSET_MEMBERS", "ClassWriter"]

#: Signals with at most this many data members get an overload for every
#: subset of members (shorter slots); larger ones only owner-only and full.
MAX_SUBSET_MEMBERS = 3

_STR_METHODS = frozenset(n for n in dir(str) if not n.startswith("_"))

# The keyword options of Signal.connect and BoundSignal.connect (qobjects.signals).
_CONNECT_OPTIONS = (
    ", *, once: bool = ..., loop: asyncio.AbstractEventLoop | None = ..., unique: bool = ...,"
    " weak: bool | None = ..., check_types: bool = ..."
)

_STRUCT_ATTRS = frozenset({"as_dict", "from_json", "to_json"})

#: Enum's own properties: a member so named hides them (mypy allows it).
_ENUM_PROPERTIES = frozenset({"name", "value"})

#: Comments for a name that hides an inherited one: pyright/basedpyright
#: read only their own; mypy objects to hiding a method, not Enum's properties.
_PYRIGHT_HIDES = "  # pyright: ignore[reportAssignmentType, reportIncompatibleMethodOverride]"
_HIDES_METHOD = "  # type: ignore[assignment]" + _PYRIGHT_HIDES
_HIDES_PROPERTY = _PYRIGHT_HIDES
#: A typed override of a generic method (emit_async, a signal's __get__).
_PYRIGHT_OVERRIDE = "  # pyright: ignore[reportIncompatibleMethodOverride]"
_OVERRIDE = "  # type: ignore[override]" + _PYRIGHT_OVERRIDE


def _clash(m: ObjectMember, union: bool) -> str:
    """An ignore comment for a member that hides an attribute of the Struct/UnionBase classes."""
    name = py_name(m.name)
    if (name == "branches" and union) or name in _STRUCT_ATTRS:  # UnionBase.branches(), Struct's methods
        return _HIDES_METHOD
    return ""


class ClassWriter:
    """The class stubs of the types of one schema, as lines in :attr:`out`."""

    def __init__(self, schema: Schema, names: Annotator) -> None:
        self.schema = schema
        self.names = names
        self.out: list[str] = []

    def emit(self, *lines: str) -> None:
        self.out.extend(lines)

    def doc(self, ent: Entity | None, indent: str, fallback: str) -> None:
        text = entity_doc(ent) if ent is not None else None
        self.emit(*quote_doc(text or fallback, indent))

    def write(self, ent: Entity) -> None:
        """Write the stub of *ent*, if it is a named type (else nothing)."""
        if ent.name not in self.names.names:
            return
        if isinstance(ent, EnumType):
            self._enum(ent)
        elif isinstance(ent, HandleType):
            self._handle(ent)
        elif isinstance(ent, ObjectType):
            self._object(ent)
        elif isinstance(ent, AlternateType):
            self.names.alternate_aliases(ent)

    def _init(self, params: Sequence[Param], head: str, ret: str, indent: str = "    ") -> None:
        func, first = head.split("(")
        # BoundSignal.emit_async takes **data: a signal's own members narrow it.
        note = _OVERRIDE if func.endswith("emit_async") else ""
        if not params:
            self.emit(f"{indent}{head}) -> {ret}: ...{note}")
            return
        self.emit(f"{indent}{func}({note}", f"{indent}    {first},", f"{indent}    *,")
        self.emit(*(f"{indent}    {p.text()}," for p in params))
        self.emit(f"{indent}) -> {ret}: ...")

    # -- enums ---------------------------------------------------------------------

    def _enum(self, ent: EnumType) -> None:
        py = self.names.names[ent.name]
        self.names.enum_aliases(ent)
        self.emit("", *(["@type_check_only"] if py.startswith("_") else []), f"class {py}(enum.StrEnum):")
        self.doc(ent, "    ", f"QAPI enum {ent.name}.")
        for m in ent.members:
            name = py_name(m.name)
            # A member named like a str method (QKeyCode.index) hides it, at
            # runtime too; one named like Enum's properties hides those.
            note = ""
            if name in _STR_METHODS:
                note = _HIDES_METHOD
            elif name in _ENUM_PROPERTIES:
                note = _HIDES_PROPERTY
            self.emit(f"    {name} = {m.name!r}{note}")

    # -- structs and unions --------------------------------------------------------

    def _object(self, ent: ObjectType) -> None:
        names = self.names
        py = names.names[ent.name]
        base = ent.base if ent.base is not None and not ent.base.is_implicit() else None
        inherited = {m.name for m in base.members} if base is not None else set()
        bases = [names.names[base.name]] if base is not None else []
        if ent.variants is not None:
            bases.insert(0, "_UnionBase")
        elif not bases:
            bases = ["_Struct"]
        own = [m for m in ent.members if m.name not in inherited]
        union = ent.variants is not None
        shadow = frozenset(py_name(m.name) for m in ent.members)
        names.shadow_aliases(shadow)
        self.emit("", f"class {py}({', '.join(bases)}):")
        self.doc(ent, "    ", f"QAPI {ent.meta} {ent.name}.")
        for m in own:
            self.emit(
                f"    {py_name(m.name)}: {names.member_ann(m, inp=False, shadow=shadow)}{_clash(m, union)}"
            )
        if ent.variants is None:
            self._init(names.params(ent.members, shadow), "def __init__(self", "None")
            return
        branches = self._branches(ent)
        tag = ent.variants.tag_member
        tag_py = py_name(tag.name)
        assert isinstance(tag.type, EnumType)
        enum_py = names.qualify(names.names[tag.type.name], shadow)
        many = len(branches) > 1
        for case, members in branches:
            params = [
                Param(tag_py, f"Literal[{enum_py}.{py_name(case)}, {case!r}]", False) if p.py == tag_py else p
                for p in names.params(ent.members, shadow)
            ]
            params += names.params(members, shadow)
            if many:
                self.emit("    @overload")
            self._init(params, "def __new__(cls", f"_{py}_{py_name(case)}")
        for case, members in branches:
            branch_shadow = frozenset(py_name(m.name) for m in members) | shadow
            names.shadow_aliases(branch_shadow)
            self.emit("", "@type_check_only", f"class _{py}_{py_name(case)}({py}):")
            self.emit(*quote_doc(f"Branch '{case}' of union {ent.name}.", "    "))
            for m in members:
                ann = names.member_ann(m, inp=False, shadow=branch_shadow)
                self.emit(f"    {py_name(m.name)}: {ann}{_clash(m, True)}")

    def _branches(self, ent: ObjectType) -> list[tuple[str, list[ObjectMember]]]:
        assert ent.variants is not None
        tag_type = ent.variants.tag_member.type
        by_case = {v.name: v for v in ent.variants.variants}
        cases = [m.name for m in tag_type.members] if isinstance(tag_type, EnumType) else list(by_case)
        names = {m.name for m in ent.members}
        out = []
        for case in cases:
            v = by_case.get(case)
            extra = v.type.members if v is not None and isinstance(v.type, ObjectType) else []
            out.append((case, [m for m in extra if m.name not in names]))
        return out

    # -- handles and signals -------------------------------------------------------

    def _handle(self, ent: HandleType) -> None:
        py = self.names.names[ent.name]
        signals = [s for s in self.schema.signals() if s.owner is ent]
        for sig in signals:
            self._signal(py, sig)
        self.emit("", f"class {py}(_Handle):")
        self.doc(ent, "    ", f"QAPI handle {ent.name}.")
        scalar = "str" if ent.data.name == "str" else "int"
        self.emit("    @property", f"    def value(self) -> {scalar}: ...")
        for sig in signals:
            self.emit(f"    {py_name(sig.name.lower())}: _{py}_{sig.name}")

    def _signal(self, owner: str, sig: SchemaSignal) -> None:
        p = f"_{owner}_{sig.name}"
        members = sig.arg_type.members if sig.arg_type is not None else []
        full = [Param(py_name(m.name), self.names.member_ann(m, inp=False), False) for m in members]
        shapes: list[tuple[str, list[Param]]] = [("", full)]
        if full:
            shapes.append(("0", []))
        if 1 < len(full) <= MAX_SUBSET_MEMBERS:
            n = 1
            for size in range(1, len(full)):
                for combo in itertools.combinations(full, size):
                    shapes.append((str(n), list(combo)))
                    n += 1
        what = f"signal {owner}.{sig.name}"
        for suffix, params in shapes:
            kw = "".join(f", {q.py}: {q.ann}" for q in params)
            star = ", *" if params else ""
            self.emit(
                "",
                "@type_check_only",
                f"class {p}_Slot{suffix}(Protocol):",
                *quote_doc(f"A slot for {what}: ``slot(owner{', **data' if params else ''})``.", "    "),
                f"    def __call__(self, owner: {owner}, /{star}{kw}) -> object: ...",
            )
        for suffix, _params in shapes:
            self.emit(f'{p}_F{suffix} = TypeVar("{p}_F{suffix}", bound={p}_Slot{suffix})')
        overloads = [(f"{p}_F{s}", "") for s, _ in shapes]
        self.emit("", "@type_check_only", f"class {p}_Connector(Protocol):")
        self.emit(*quote_doc(f"``connect()`` of {what} used as a decorator.", "    "))
        self._connect_overloads("__call__", overloads, ", /", decorator=False)
        emit_params = [
            Param(py_name(m.name), self.names.member_ann(m, inp=True), m.optional) for m in members
        ]
        for cls, base in ((f"{p}_Bound", "_BoundSignal"), (p, "_Signal")):
            self.emit("", "@type_check_only", f"class {cls}({base}):")
            self.doc(sig, "    ", f"QAPI {what}.")
            if cls == p:
                self.emit(
                    # mypy reads an overload's ignore on its first line, pyright on its last def
                    "    @overload  # type: ignore[override]",
                    f"    def __get__(self, instance: None, owner: type) -> {p}: ...",
                    "    @overload",
                    f"    def __get__(self, instance: {owner}, owner: type) -> {p}_Bound: ..."
                    + _PYRIGHT_OVERRIDE,
                )
            else:
                self.emit(f"    owner: {owner}")
                self._init(emit_params, "def emit(self", "None")
                self._init(emit_params, "async def emit_async(self", "None")
            self._connect_overloads("connect", overloads, _CONNECT_OPTIONS, decorator=True)

    def _connect_overloads(
        self, name: str, typevars: list[tuple[str, str]], tail: str, *, decorator: bool
    ) -> None:
        # One slot shape (a signal without data) and no decorator form: no overloads.
        single = len(typevars) == 1 and not decorator
        for tv, _ in typevars:
            if not single:
                self.emit("    @overload")
            self.emit(f"    def {name}(self, slot: {tv}{tail}) -> _Connection[{tv}]: ...")
        if decorator:
            connector = typevars[0][0].removesuffix("_F") + "_Connector"
            self.emit("    @overload", f"    def {name}(self, slot: None = ...{tail}) -> {connector}: ...")
