"""The namespace: the classes and command/event specs of one schema, by name.

:class:`Namespace` is what :func:`~qobjects.objects.build` returns;
:func:`owner_of` and the :data:`Emulation` table say which handle's signal a
client emulates from an event (compatibility mode).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from qobjects.codecs import Codec
from qobjects.handles import Handle
from qobjects.signals import Signal
from qobjects.specs import CommandSpec, EventSpec

if TYPE_CHECKING:
    from qobjects import schema as qs

__all__ = ["Emulation", "Namespace", "OwnerOf", "owner_of"]


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


# Defined in qobjects.objects before the split, and still re-exported there:
# the module they report (class reprs, pickles, the generated stubs' imports).
Namespace.__module__ = owner_of.__module__ = "qobjects.objects"
