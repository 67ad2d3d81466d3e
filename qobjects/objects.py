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

The code is in modules of one job each, each importing only modules above it
in this list; this module re-exports their names and stays their public home
(``Handle.__module__`` is ``qobjects.objects``):

- :mod:`qobjects.handles`: :class:`Handle` and the codecs of handle members;
- :mod:`qobjects.structs`: :class:`Struct`, :class:`UnionBase` and their codec;
- :mod:`qobjects.alternates`: :class:`Alternate` and its codec;
- :mod:`qobjects.specs`: :class:`CommandSpec` and :class:`EventSpec`;
- :mod:`qobjects.namespace`: :class:`Namespace`, :func:`owner_of`;
- :mod:`qobjects.builder`: :func:`build`, a schema -> its classes.
"""

from __future__ import annotations

import logging

# The classes below still name this module as theirs, and typing.get_type_hints()
# reads a class's annotations in that module: the names those annotations use.
import weakref  # noqa: F401
from collections.abc import Callable  # noqa: F401
from typing import Any, ClassVar  # noqa: F401

from qobjects.alternates import Alternate
from qobjects.alternates import AlternateCodec as AlternateCodec
from qobjects.alternates import _AlternateMeta as _AlternateMeta
from qobjects.builder import build
from qobjects.codecs import Codec, MemberSpec  # noqa: F401
from qobjects.handles import Handle, HandleArgCodec
from qobjects.handles import HandleCodec as HandleCodec
from qobjects.namespace import Emulation, Namespace, OwnerOf, owner_of
from qobjects.signals import Signal  # noqa: F401
from qobjects.specs import CommandSpec, EventSpec
from qobjects.structs import Struct
from qobjects.structs import StructCodec as StructCodec
from qobjects.structs import UnionBase as UnionBase

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
