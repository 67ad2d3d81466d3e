"""Schema types -> the names and annotations a stub writes for them.

The lowest layer of the stub generator: the Python name of every schema
type, the annotation of produced and accepted values (``list``/``Sequence``,
``_X_In`` aliases for enums and alternates, ``Literal`` values of a server's
enums), names qualified where a member hides them, keyword parameters, and
docstrings quoted for a stub. It writes no class; it knows no session.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass

from qobjects.codecs import py_name
from qobjects.schema import (
    AlternateType,
    ArrayType,
    BuiltinType,
    Entity,
    EnumType,
    HandleType,
    ObjectMember,
    ObjectType,
    Schema,
    Type,
)

__all__ = ["Annotator", "Param", "entity_doc", "quote_doc"]

_INTS = {"int", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "size"}
_BUILTIN = {"str": "str", "number": "float", "bool": "bool", "null": "None", "any": "object"}
_BUILTIN_NAMES = {"str", "int", "float", "bool", "object", "type", "list", "None"}


def quote_doc(text: str, indent: str) -> list[str]:
    """*text* as the lines of a docstring at *indent*."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').rstrip()
    if text.endswith('"'):
        text += " "
    lines = text.split("\n")
    if len(lines) == 1:
        return [f'{indent}"""{lines[0]}"""']
    out = [f'{indent}"""{lines[0]}']
    out += [f"{indent}{line}" if line.strip() else "" for line in lines[1:]]
    out.append(f'{indent}"""')
    return out


def entity_doc(ent: Entity) -> str | None:
    """The docstring of *ent*, as :func:`qobjects.objects.build` makes it."""
    return None if ent.doc is None else ent.doc.docstring()


@dataclass(frozen=True, slots=True)
class Param:
    """A keyword parameter of a stub function."""

    py: str
    ann: str
    optional: bool

    def text(self) -> str:
        return f"{self.py}: {self.ann} = ..." if self.optional else f"{self.py}: {self.ann}"


class Annotator:
    """Names and annotations of the types of one schema, for one stub module.

    :attr:`aliases` collects the module-level type aliases the annotations
    refer to (``_X_In``, ``_X_Values``, ``_T_X``, alternates), in the order
    they are first needed; the module writes them before the classes.
    """

    def __init__(
        self,
        schema: Schema,
        *,
        reserved: Set[str],
        literal_enums: bool = False,
        private: Set[str] = frozenset(),
    ) -> None:
        """:param reserved: names the stub module defines besides the schema's types.
        :param private: QAPI names of types the module does not export at
            runtime: named ``_Name`` (type-check only), so importing one is a
            type error, as it is a runtime error.

        :raises ValueError: a type name of *schema* is one of *reserved*.
        """
        # A server's enums decode to plain strings (qobjects.qmp.introspect).
        self.literal_enums = literal_enums
        self.aliases: list[str] = []
        self.names: dict[str, str] = {}  # QAPI type name -> Python name
        for ent in schema.entities:
            if isinstance(ent, (EnumType, ObjectType, AlternateType, HandleType)):
                if isinstance(ent, EnumType) and ent.name == "QType":
                    self.names[ent.name] = "_QType"  # implicit: a codec at runtime, not exported
                elif ent.name in private:
                    self.names[ent.name] = "_" + py_name(ent.name)
                elif not ent.is_implicit():
                    self.names[ent.name] = py_name(ent.name)
        clash = sorted(n for n in self.names.values() if n in reserved)
        if clash:
            raise ValueError(f"schema type names clash with names of the stub module: {', '.join(clash)}")

    def ann(self, t: Type, *, inp: bool, shadow: frozenset[str] = frozenset()) -> str:
        """The annotation of values of *t*: accepted ones when *inp*, else produced ones."""
        if isinstance(t, ArrayType):
            elem = self.ann(t.element_type, inp=inp, shadow=shadow)
            seq = "Sequence" if inp else "list"
            return f"{self.qualify(seq, shadow)}[{elem}]"
        if isinstance(t, BuiltinType):
            name = "int" if t.name in _INTS else _BUILTIN[t.name]
            return self.qualify(name, shadow)
        if isinstance(t, EnumType):
            name = self.qualify(self.names[t.name], shadow)
            if self.literal_enums and not inp:
                return f"_{self.names[t.name].lstrip('_')}_Values"
            return f"_{self.names[t.name].lstrip('_')}_In" if inp else name
        if isinstance(t, AlternateType):
            py = self.names[t.name]
            if inp and self.alt_differs(t):
                return f"_{py}_In"
            return self.qualify(py, shadow)
        return self.qualify(self.names[t.name], shadow)

    def qualify(self, name: str, shadow: frozenset[str]) -> str:
        """*name*, qualified when a member of the class being written hides it."""
        if name not in shadow:
            return name
        if name in _BUILTIN_NAMES:
            return f"builtins.{name}"
        return f"_T_{name}"  # module-level alias, made by shadow_aliases()

    def shadow_aliases(self, shadow: frozenset[str]) -> None:
        """Add the ``_T_X`` aliases :meth:`qualify` uses for the type names in *shadow*."""
        for name in sorted(shadow & set(self.names.values())):
            alias = f"_T_{name}: TypeAlias = {name}"
            if alias not in self.aliases:
                self.aliases.append(alias)

    def alt_differs(self, t: AlternateType) -> bool:
        """Whether alternate *t* accepts more than it produces (it has an ``_X_In`` alias)."""
        return any(self.ann(v.type, inp=True) != self.ann(v.type, inp=False) for v in t.variants.variants)

    def enum_aliases(self, ent: EnumType) -> None:
        """Add the aliases of enum *ent*: accepted values, and produced ones if plain strings."""
        py = self.names[ent.name]
        values = ", ".join(repr(m.name) for m in ent.members)
        self.aliases.append(f"_{py.lstrip('_')}_In: TypeAlias = {py} | Literal[{values}]")
        if self.literal_enums:
            self.aliases.append(f"_{py.lstrip('_')}_Values: TypeAlias = Literal[{values}]")

    def alternate_aliases(self, ent: AlternateType) -> None:
        """Add alternate *ent*: an alias (two if it accepts more than it produces), with its doc."""
        py = self.names[ent.name]
        out = " | ".join(dict.fromkeys(self.ann(v.type, inp=False) for v in ent.variants.variants))
        self.aliases.append(f"{py}: TypeAlias = {out}")
        if self.alt_differs(ent):
            inp = " | ".join(dict.fromkeys(self.ann(v.type, inp=True) for v in ent.variants.variants))
            self.aliases.append(f"_{py}_In: TypeAlias = {inp}")
        text = entity_doc(ent) or f"QAPI alternate {ent.name}."
        self.aliases.append(f"# {py}: " + " ".join(text.split())[:200])

    def member_ann(self, m: ObjectMember, *, inp: bool, shadow: frozenset[str] = frozenset()) -> str:
        """The annotation of member *m* (``| None`` when optional)."""
        ann = self.ann(m.type, inp=inp, shadow=shadow)
        if m.optional and ann != "None":
            ann += " | None"
        return ann

    def params(self, members: Iterable[ObjectMember], shadow: frozenset[str] = frozenset()) -> list[Param]:
        """Keyword parameters taking *members* (the values accepted)."""
        return [
            Param(py_name(m.name), self.member_ann(m, inp=True, shadow=shadow), m.optional) for m in members
        ]
