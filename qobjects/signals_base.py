"""What :class:`~qobjects.signals.BoundSignal` and :class:`~qobjects.signals.Signal` share.

The connect options (``connect``), temporary connections
(``connected_to``) and paused delivery (``paused``), written once for both:
each subclass says which signal it is, how it re-plans its emits and how one
slot connects.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar, overload

from qobjects.signals_hold import NO_INITIAL, Held, Reducer
from qobjects.signals_slots import Connection, SignalLike

__all__ = ["Loop", "SignalBase", "SignalCore"]

F = TypeVar("F", bound=Callable[..., Any])

Loop = asyncio.AbstractEventLoop


class SignalCore(SignalLike, Protocol):
    """What the shared code needs of the class-level signal."""

    attr: str
    _unique_lock: threading.Lock
    _held: Held | None

    def check(self, **data: Any) -> dict[str, Any]: ...


def _same_slot(conns: Sequence[Connection[Any]], slot: Callable[..., Any]) -> Connection[Any] | None:
    """The live connection of *slot* among *conns* (for ``unique=True``)."""
    for conn in conns:
        if conn._active and conn.slot == slot:
            return conn
    return None


_CONNECT_DOC = """\
Connect *slot*: to this owner's signal, or on the class to every local owner.

        Usable as a decorator: ``@sig.connect`` or ``@sig.connect(once=True)``.

        :param once: disconnect after the first delivery.
        :param loop: queue every delivery to this asyncio loop: the slot runs in
            the loop's thread (``call_soon_threadsafe``), emit returns at once,
            and deliveries keep their order per loop. A coroutine slot runs as a
            task of that loop. A slot that raises there is reported to the
            loop's exception handler. Emitting once the loop is closed removes
            the connection and raises :class:`StateError` (in a :class:`SlotError`).
        :param unique: if *slot* is already connected here, return that
            connection (with the options it was made with) instead of a new one.
        :param weak: hold the slot by a weak reference (any slot that takes one);
            the connection goes when the slot is collected. ``None`` (the
            default): bound methods weakly, everything else strongly.
        :param check_types: check every delivered value, and the owner, against
            the slot's own annotations with typeguard (unions, ``Literal``,
            generics, protocols); a mismatch raises :class:`WrongType` naming
            the slot and the member (in a :class:`SlotError`) and the slot is
            not called.
        :raises SlotSignatureError: the slot cannot take the owner and the
            members it names (or, with *check_types*, its annotations do not resolve).
        :raises StateError: *loop* is closed.
        :raises TypeError: *weak* is true for a slot that takes no weak reference
            (or in the decorator form, where nothing else would hold the function),
            or *loop* is not an asyncio event loop.
"""


class SignalBase:
    """What a bound signal and a class-level signal share: connections, options, pausing."""

    __slots__ = ("_blocked", "_conns", "_held")

    def __init__(self) -> None:
        self._conns: tuple[Connection[Any], ...] = ()
        self._blocked = 0
        self._held: Held | None = None

    # Each subclass says which signal it is, how it re-plans its emits, and how one slot connects.
    def _sig(self) -> SignalCore:
        raise NotImplementedError

    def _where(self) -> str:
        raise NotImplementedError

    def _replan(self) -> None:
        raise NotImplementedError

    def _new(
        self, slot: Callable[..., Any], once: bool, loop: Loop | None, weak: bool | None, check_types: bool
    ) -> Connection[Any]:
        raise NotImplementedError

    def _connect(
        self,
        slot: Callable[..., Any],
        once: bool,
        loop: Loop | None,
        unique: bool,
        weak: bool | None,
        check_types: bool,
    ) -> Connection[Any]:
        if not unique:
            return self._new(slot, once, loop, weak, check_types)
        # Check and connect as one step: two unique connects of one slot make one connection.
        with self._sig()._unique_lock:
            found = _same_slot(self._conns, slot)
            return found if found is not None else self._new(slot, once, loop, weak, check_types)

    @overload
    def connect(
        self,
        slot: F,
        *,
        once: bool = False,
        loop: Loop | None = None,
        unique: bool = False,
        weak: bool | None = None,
        check_types: bool = False,
    ) -> Connection[F]: ...
    @overload
    def connect(
        self,
        slot: None = None,
        *,
        once: bool = False,
        loop: Loop | None = None,
        unique: bool = False,
        weak: bool | None = None,
        check_types: bool = False,
    ) -> Callable[[F], Connection[F]]: ...

    def connect(
        self,
        slot: F | None = None,
        *,
        once: bool = False,
        loop: Loop | None = None,
        unique: bool = False,
        weak: bool | None = None,
        check_types: bool = False,
    ) -> Connection[F] | Callable[[F], Connection[F]]:
        if slot is None:
            if weak:
                # The decorator leaves the Connection in the function's place:
                # nothing would hold the function, and it would go at once.
                raise TypeError(
                    f"connect(weak=True) as a decorator of {self._where()}: the decorated "
                    "function would be collected at once; connect it with a call instead"
                )
            return lambda f: self._connect(f, once, loop, unique, weak, check_types)
        return self._connect(slot, once, loop, unique, weak, check_types)

    connect.__doc__ = _CONNECT_DOC

    @contextmanager
    def connected_to(
        self,
        slot: F,
        *,
        once: bool = False,
        loop: Loop | None = None,
        weak: bool | None = None,
        check_types: bool = False,
    ) -> Iterator[Connection[F]]:
        """Connect *slot* for the duration of a ``with`` block (the connection is yielded).

        Takes the options of ``connect`` except ``unique``.

        :raises SlotSignatureError: the slot cannot take the owner and the members it names.
        """
        conn = self._new(slot, once, loop, weak, check_types)
        try:
            yield conn
        finally:
            conn.disconnect(missing_ok=True)

    @contextmanager
    def paused(self, reducer: Reducer | None = None, initial: Any = NO_INITIAL) -> Iterator[None]:
        """Hold emissions inside the ``with`` block and deliver them when it ends.

        Emits are still checked when they happen; delivery waits. Without a
        *reducer* every held emission is delivered, in order. With one, each
        owner's held emissions become one: ``reducer(previous, new)`` is
        folded over their data (dicts of member values by Python name),
        starting from *initial* if given, or ``reducer(list_of_data)`` if it
        takes one argument; the result is emitted (and checked) once.
        Blocking wins over pausing: blocked emissions are dropped. Nested
        pauses of the same signal deliver when the outermost ends, with its
        reducer.

        :raises SlotError: when the block ends, if slots raised (every held
            emission was still delivered).
        """
        sig = self._sig()
        with sig._lock:
            held = self._held
            if held is None:
                held = self._held = Held(sig.attr, reducer, initial, self._where())
                self._replan()
            held.depth += 1
        try:
            yield
        finally:
            with sig._lock:
                held.depth -= 1
                last = held.depth == 0
                if last:
                    self._held = None
                    self._replan()
            if last:
                held.release(self._where(), sig.check)

    def is_paused(self) -> bool:
        """Inside a ``paused()`` block (of this signal or, for an owner, of its class)."""
        return self._held is not None or self._sig()._held is not None
