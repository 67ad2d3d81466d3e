"""What the dispatch core and the codecs need of a handle, as protocols.

Signals and codecs sit below the handle classes (``qobjects.handles``
imports them), so they name an owner only through these protocols;
:class:`qobjects.handles.Handle` satisfies both. This module imports
nothing from qobjects.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, Self, TypeVar

__all__ = ["HandleClass", "Owner", "OwnerT"]


class Owner(Protocol):
    """A signal's owner: hashable, with its wire value and the session it belongs to."""

    _session: Any  # the remote session, or None when local
    _key: object  # (session, value): equal keys are one owner

    @property
    def value(self) -> Any: ...

    def __hash__(self) -> int: ...


class HandleClass(Owner, Protocol):
    """A handle as the codecs decode it: its class finds or makes one for a value."""

    __handle_name__: ClassVar[str]

    @classmethod
    def find(cls, value: object) -> Self: ...

    @classmethod
    def _make(cls, value: Any, target: object, session: Any) -> Self: ...


OwnerT = TypeVar("OwnerT", bound=HandleClass)
