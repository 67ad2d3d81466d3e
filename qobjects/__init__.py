"""qobjects: Qt-style signals and slots generated from a QAPI schema.

The classes of the bundled default schema are attributes of this module,
built on first access (``from qobjects import Blockdev``); ``import qobjects``
itself stays cheap.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from qobjects._version import __version__ as __version__
from qobjects.errors import (
    CommandNotFound,
    ConnectionLost,
    DeviceNotActive,
    DeviceNotFound,
    GenericError,
    InvalidHandleValue,
    KVMMissingCap,
    MissingMember,
    NotConnected,
    ProtocolError,
    QMPError,
    QObjectsError,
    SchemaError,
    SignalRecursionError,
    SlotError,
    SlotSignatureError,
    StateError,
    UnknownMember,
    ValidationError,
    WrongType,
)
from qobjects.schema import Schema, load_schema, parse_schema

if TYPE_CHECKING:
    from qobjects.default import default_namespace
    from qobjects.objects import Alternate, Handle, Namespace, Struct, build
    from qobjects.qmp.client import (
        AsyncEventListener,
        AsyncSession,
        EventListener,
        EventMessage,
        Runstate,
        Session,
        aconnect,
        connect,
    )
    from qobjects.qmp.server import Server
    from qobjects.signals import BoundSignal, Connection, Signal

__all__ = [
    "Alternate",
    "AsyncEventListener",
    "AsyncSession",
    "BoundSignal",
    "CommandNotFound",
    "Connection",
    "ConnectionLost",
    "DeviceNotActive",
    "DeviceNotFound",
    "EventListener",
    "EventMessage",
    "GenericError",
    "Handle",
    "InvalidHandleValue",
    "KVMMissingCap",
    "MissingMember",
    "Namespace",
    "NotConnected",
    "ProtocolError",
    "QMPError",
    "QObjectsError",
    "Runstate",
    "Schema",
    "SchemaError",
    "Server",
    "Session",
    "Signal",
    "SignalRecursionError",
    "SlotError",
    "SlotSignatureError",
    "StateError",
    "Struct",
    "UnknownMember",
    "ValidationError",
    "WrongType",
    "aconnect",
    "build",
    "connect",
    "default_namespace",
    "load_schema",
    "parse_schema",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())

# Loaded on first use, so that `import qobjects` (and `qobjects check`) stays cheap.
_LAZY = {
    "Alternate": "qobjects.objects",
    "Handle": "qobjects.objects",
    "Namespace": "qobjects.objects",
    "Struct": "qobjects.objects",
    "build": "qobjects.objects",
    "BoundSignal": "qobjects.signals",
    "Connection": "qobjects.signals",
    "Signal": "qobjects.signals",
    "Server": "qobjects.qmp.server",
    "Session": "qobjects.qmp.client",
    "AsyncSession": "qobjects.qmp.client",
    "AsyncEventListener": "qobjects.qmp.client",
    "EventListener": "qobjects.qmp.client",
    "EventMessage": "qobjects.qmp.client",
    "Runstate": "qobjects.qmp.client",
    "connect": "qobjects.qmp.client",
    "aconnect": "qobjects.qmp.client",
    "default_namespace": "qobjects.default",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        import importlib

        return getattr(importlib.import_module(module), name)
    if name[:1].isupper():
        from qobjects.default import default_namespace

        types = default_namespace().types
        if name in types:
            return types[name]
    raise AttributeError(f"module 'qobjects' has no attribute {name!r}")
