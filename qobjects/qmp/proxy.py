"""The command proxy: ``session.query_block()`` and the checks behind ``execute``.

Commands the schema knows are checked before anything is sent and their
replies decoded into the schema's classes; the method for a command is made
once per session and kept on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qobjects.codecs import DecodeContext, encode_members
from qobjects.errors import StateError, ValidationError
from qobjects.objects import CommandSpec, Handle, Namespace, StructCodec

if TYPE_CHECKING:
    from qobjects.owner import OwnerT

__all__ = ["ClientContext", "command_by_py", "decode_reply", "encode_args"]


class ClientContext(DecodeContext):
    """Replies are decoded leniently; handles are bound to the session."""

    __slots__ = ("session",)

    def __init__(self, session: object) -> None:
        super().__init__(strict=False)
        self.session = session

    def handle(self, cls: type[OwnerT], value: object) -> OwnerT:
        return cls._make(value, None, self.session)


def command_by_py(namespace: Namespace, name: str) -> CommandSpec:
    """The command whose Python name is *name*.

    :raises AttributeError: the schema has no such command.
    """
    spec = namespace.command_by_py(name)  # a server's namespace builds only this command
    if spec is None or name.startswith("_"):
        raise AttributeError(f"the schema has no command {name!r}")
    return spec


def encode_args(
    spec: CommandSpec, arguments: dict[str, Any], explicit: bool, session: object
) -> dict[str, object]:
    """The JSON arguments of *spec* for Python or QAPI-named *arguments*.

    :raises ValidationError: they do not match the schema, or a handle
        belongs to another session.
    :raises StateError: a command with boxed alternate arguments (use ``execute_raw``).
    """
    if not arguments and not spec.args and spec.arg_codec is None:
        return {}
    arguments = {k.replace("-", "_"): v for k, v in arguments.items()}
    for name, value in arguments.items():
        if isinstance(value, Handle) and value._session not in (None, session):
            raise ValidationError(f"command '{spec.name}'", name, "handle belongs to another session")
    if spec.arg_codec is not None:
        if isinstance(spec.arg_codec, StructCodec):
            value = spec.arg_codec.cls(**arguments)
            return value.to_json(explicit)
        raise StateError(f"command '{spec.name}' takes a boxed alternate: use execute_raw")
    checked = spec.check(**arguments)
    return encode_members(spec.args, checked, explicit)


def decode_reply(spec: CommandSpec, reply: object, ctx: DecodeContext) -> Any:
    """The reply of *spec* in the schema's classes (None for commands without a result).

    :raises ValidationError: the reply does not match the schema.
    """
    if spec.ret is None:
        return None
    return spec.ret.decode(reply, ctx, f"reply to '{spec.name}'", "")
