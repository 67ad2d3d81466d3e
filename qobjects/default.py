"""The classes of the bundled default schema, built once, on first use; and
the namespace that a server or a session given *schema* and *namespace* uses.

``qobjects.default_namespace`` and the ``from qobjects import Blockdev``
attributes come from here; the QMP server and client import it directly,
so that nothing below the package's top level imports the package itself.
"""

from __future__ import annotations

import os
import threading

from qobjects.builder import build
from qobjects.namespace import Namespace
from qobjects.schema import DEFAULT_SCHEMA, Schema

__all__ = ["default_namespace", "namespace_for"]

_default: Namespace | None = None
_default_lock = threading.Lock()


def default_namespace() -> Namespace:
    """The classes of the bundled default schema (built once, on first use)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = build(DEFAULT_SCHEMA)
    return _default


def namespace_for(schema: Schema | str | os.PathLike[str] | None, namespace: Namespace | None) -> Namespace:
    """The namespace to use: *namespace* if given, else built from *schema*, else the default."""
    if namespace is not None:
        return namespace
    if schema is None:
        return default_namespace()
    return build(schema)
