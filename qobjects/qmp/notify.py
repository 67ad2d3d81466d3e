"""``session.state_changed``: a notification with qobjects' connection rules.

Plain functions (lambdas too) are held strongly, bound methods weakly, as
for every other qobjects connect. Slots are called as ``slot(session, state)``
with ``state`` one of ``"connected"``, ``"disconnected"``, ``"reconnected"``
and ``"closed"``.
"""

from __future__ import annotations

import inspect
import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar, overload

__all__ = ["StateChanged"]

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


class StateChanged:
    """The session's state notification; connect with ``state_changed.connect(slot)``."""

    def __init__(self, session: object) -> None:
        self._session = weakref.ref(session)
        self._lock = threading.Lock()
        self._slots: list[tuple[int, Callable[..., Any] | weakref.WeakMethod[Any]]] = []
        self._next = 0

    @overload
    def connect(self, slot: F) -> F: ...
    @overload
    def connect(self, slot: None = None) -> Callable[[F], F]: ...

    def connect(self, slot: F | None = None) -> F | Callable[[F], F]:
        """Call ``slot(session, state)`` on every change; usable as a decorator.

        :raises TypeError: *slot* is not callable.
        """
        if slot is None:
            return self.connect
        if not callable(slot):
            raise TypeError(f"state_changed.connect: {slot!r} is not callable")
        ref: Callable[..., Any] | weakref.WeakMethod[Any]
        ref = weakref.WeakMethod(slot) if inspect.ismethod(slot) else slot
        with self._lock:
            self._next += 1
            self._slots = [*self._slots, (self._next, ref)]
        return slot

    def disconnect(self, slot: Callable[..., Any]) -> None:
        """Disconnect every connection of *slot*.

        :raises LookupError: *slot* is not connected.
        """
        with self._lock:
            keep = [(i, r) for i, r in self._slots if _resolve(r) != slot]
            if len(keep) == len(self._slots):
                raise LookupError(f"{slot!r} is not connected to state_changed")
            self._slots = keep

    def __len__(self) -> int:
        return sum(1 for _, r in self._slots if _resolve(r) is not None)

    def send(self, state: str) -> None:
        """Call every slot; a slot that raises is logged, the others still run."""
        session = self._session()
        if session is None:
            return
        for _, ref in self._slots:
            slot = _resolve(ref)
            if slot is None:
                continue
            try:
                slot(session, state)
            except Exception:
                log.exception("state_changed slot %r failed", slot)


def _resolve(ref: Callable[..., Any] | weakref.WeakMethod[Any]) -> Callable[..., Any] | None:
    if isinstance(ref, weakref.WeakMethod):
        return ref()
    return ref
