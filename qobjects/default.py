"""The classes of the bundled default schema, built once, on first use.

``qobjects.default_namespace`` and the ``from qobjects import Blockdev``
attributes come from here; the QMP server and client import it directly,
so that nothing below the package's top level imports the package itself.
"""

from __future__ import annotations

import threading

from qobjects.builder import build
from qobjects.namespace import Namespace
from qobjects.schema import DEFAULT_SCHEMA

__all__ = ["default_namespace"]

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
