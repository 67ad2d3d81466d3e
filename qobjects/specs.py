"""Commands and events: their member lists and result type, for servers and clients.

A :class:`CommandSpec` or :class:`EventSpec` is what a schema's command or
event becomes (they have no classes); a :class:`~qobjects.objects.Namespace`
holds them by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from qobjects.codecs import Codec, DecodeContext, MemberSpec, decode_members
from qobjects.structs import Struct

__all__ = ["CommandSpec", "EventSpec"]


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


# Defined in qobjects.objects before the split, and still re-exported there:
# the module they report (class reprs, pickles, the generated stubs' imports).
CommandSpec.__module__ = EventSpec.__module__ = "qobjects.objects"
