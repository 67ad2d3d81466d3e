"""The QAPI schema language, with the qobjects ``handle`` and ``signal`` definitions.

:func:`load_schema` reads a schema file (and what it includes),
:func:`parse_schema` takes text; both return a checked :class:`Schema` and
raise :class:`~qobjects.errors.SchemaError` for any problem, with a message
in the format of QEMU's QAPI generator.
"""

from __future__ import annotations

import os

from qobjects.errors import SchemaError
from qobjects.schema.doc import Doc
from qobjects.schema.entities import (
    AlternateType,
    ArrayType,
    BuiltinType,
    Command,
    Entity,
    EnumType,
    ObjectType,
    SchemaEvent,
    Type,
    Variants,
)
from qobjects.schema.handles import HandleType, SchemaSignal
from qobjects.schema.members import EnumMember, Feature, IfCond, ObjectMember, Variant
from qobjects.schema.model import Schema, Visitor
from qobjects.schema.parser import Reader, parse, read_text
from qobjects.schema.source import SourceInfo

__all__ = [
    "DEFAULT_SCHEMA",
    "QEMU_OVERLAY",
    "AlternateType",
    "ArrayType",
    "BuiltinType",
    "Command",
    "Doc",
    "Entity",
    "EnumMember",
    "EnumType",
    "Feature",
    "HandleType",
    "IfCond",
    "ObjectMember",
    "ObjectType",
    "Schema",
    "SchemaEvent",
    "SchemaSignal",
    "SourceInfo",
    "Type",
    "Variant",
    "Variants",
    "Visitor",
    "load_schema",
    "parse_schema",
]

#: The bundled default schema (block devices, with the protocol's own commands).
DEFAULT_SCHEMA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "schemas", "block.json")


#: The bundled overlay for QEMU: handles and signals for its objects.
QEMU_OVERLAY = os.path.join(os.path.dirname(os.path.dirname(__file__)), "schemas", "qemu.json")


def parse_schema(
    text: str, filename: str = "<string>", reader: Reader = read_text, *, overlay: bool = False
) -> Schema:
    """Parse and check schema *text*, which is said to come from *filename*.

    ``include`` paths are relative to the directory of *filename*. An
    *overlay* may name commands and events it does not define (see
    :class:`Schema`).

    :raises SchemaError: the schema is invalid.
    """
    return Schema(parse(text, filename, reader), filename, overlay=overlay)


def load_schema(
    path: str | os.PathLike[str], *, overlay: bool = False, reader: Reader = read_text
) -> Schema:
    """Read, parse and check the schema file *path* (an *overlay*: see :class:`Schema`).

    :param reader: reads *path* and every file it includes.
    :raises SchemaError: the file cannot be read or the schema is invalid.
    """
    fname = os.fspath(path)
    try:
        text = reader(fname)
    except OSError as err:
        raise SchemaError(None, f"can't read schema file '{fname}': {err.strerror or err}") from err
    except (UnicodeError, ValueError) as err:
        raise SchemaError(None, f"can't read schema file '{fname}': {err}") from err
    return parse_schema(text, fname, reader, overlay=overlay)
