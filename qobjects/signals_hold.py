"""Delivery control in the emit plan: paused delivery, and the depth guard.

Both are put in a bound signal's emit plan in place of its slots, so they
cost nothing to signals that do not use them.

Paused delivery: emissions held while a signal is paused, delivered on release.

``paused()`` (on one owner's signal or on the class) puts one :class:`Held`
in the emit plan in place of the slots: emit, still validating, hands it
each emission. Deliveries that do not go through emit (a remote owner's
pushed signals) are held by the connection itself, which the pause marks
(``Connection._hold``). When the outermost ``paused()`` block ends,
:meth:`Held.release` delivers what was held, in order, or reduced to one
emission per owner (and per connection, for pushed deliveries) by the
reducer, with psygnal's semantics: a reducer of two arguments is folded
over the held data with :func:`functools.reduce` (from *initial* if given),
one of one argument gets the whole list.

The depth guard (:class:`DepthGuard`, for a signal with a ``max_depth``)
counts nested emits of its signal per thread and raises
:class:`SignalRecursionError` past the limit.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from qobjects.errors import SignalRecursionError, SlotError
from qobjects.signals_slots import Connection, SignalLike, raise_if_recursion, raise_slot_error, slot_name

if TYPE_CHECKING:
    from qobjects.owner import Owner

__all__ = ["NO_INITIAL", "DepthGuard", "Held", "Reducer"]

NO_INITIAL: Any = object()
"""``paused(initial=...)`` not given: the reducer starts from the first emission."""

Reducer = Callable[..., Mapping[str, Any]]
"""``reducer(previous, new) -> data`` or ``reducer([data, ...]) -> data`` (member values by name)."""


class Held:
    """Emissions held by one pause, in order: (owner, connection or None, data)."""

    __slots__ = ("_closed", "_lock", "_one_arg", "attr", "depth", "initial", "items", "reducer")

    _fast = False  # for emit's plan: not a slot it may call directly

    def __init__(self, attr: str, reducer: Reducer | None, initial: Any, where: str) -> None:
        if reducer is not None and not callable(reducer):
            raise TypeError(f"the reducer for {where} must be callable, not {type(reducer).__name__}")
        self.attr = attr
        self.reducer = reducer
        self.initial = initial
        self.depth = 0
        self.items: list[tuple[Owner, Connection[Any] | None, dict[str, Any]]] = []
        self._closed = False
        self._lock = threading.Lock()
        self._one_arg = False
        if reducer is not None:
            try:
                self._one_arg = len(inspect.signature(reducer).parameters) == 1
            except (TypeError, ValueError):  # no signature: folded, as psygnal does
                pass

    def _deliver(self, owner: Owner, data: dict[str, Any]) -> None:
        """What emit calls while paused."""
        if not self.hold(owner, None, data):
            # The pause ended between the emit reading its plan and now.
            getattr(owner, self.attr).emit(**data)

    def hold(self, owner: Owner, conn: Connection[Any] | None, data: dict[str, Any]) -> bool:
        """Hold one emission (for one connection, if given); False once released."""
        with self._lock:
            if self._closed:
                return False
            self.items.append((owner, conn, dict(data)))
            return True

    def release(self, where: str, check: Callable[..., dict[str, Any]]) -> None:
        """Deliver what was held (the pause is over: plans no longer lead here).

        :param check: the signal's data checker, for reduced pushed deliveries.
        :raises SlotError: slots raised; all held emissions were still delivered.
        """
        with self._lock:
            self._closed = True
            items, self.items = self.items, []
        batches: list[tuple[Owner, Connection[Any] | None, list[dict[str, Any]]]]
        if self.reducer is None:
            batches = [(owner, conn, [data]) for owner, conn, data in items]
        else:
            groups: dict[tuple[Owner, int], tuple[Owner, Connection[Any] | None, list[dict[str, Any]]]] = {}
            for owner, conn, data in items:
                groups.setdefault((owner, id(conn)), (owner, conn, []))[2].append(data)
            batches = list(groups.values())
        errors: list[Exception] = []
        for owner, conn, datas in batches:
            try:
                # A reducer's result is checked here, so a member it invents is
                # an UnknownMember of the signal, not a TypeError of emit().
                data = datas[0] if self.reducer is None else check(**self._reduce(datas, where))
                bound = getattr(owner, self.attr)
                if conn is None:
                    bound.emit(**data)
                elif not bound.is_blocked():
                    values = check(**data)
                    try:
                        conn._deliver(owner, values)
                    except Exception as exc:
                        raise_slot_error([(conn, exc)])
            except Exception as exc:
                errors.append(exc)
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise SlotError(f"{len(errors)} held emissions of {where} failed", errors)

    def _reduce(self, datas: list[dict[str, Any]], where: str) -> dict[str, Any]:
        reducer = self.reducer
        assert reducer is not None
        if self._one_arg:
            result = reducer(datas)
        elif self.initial is NO_INITIAL:
            result = functools.reduce(reducer, datas)
        else:
            result = functools.reduce(reducer, datas, self.initial)
        if not isinstance(result, Mapping):
            raise TypeError(
                f"reducer {slot_name(reducer)} for {where} returned {type(result).__name__}, "
                "not a mapping of member names to values"
            )
        return dict(result)


_nesting = threading.local()  # per thread: signal -> how many of its emits are running


class DepthGuard:
    """What emit calls instead of its slots when its signal has a ``max_depth``."""

    __slots__ = ("limit", "name", "signal", "targets")

    _fast = False  # for emit's plan: not a slot it may call directly

    def __init__(
        self, signal: SignalLike, limit: int, name: str, targets: tuple[Connection[Any], ...]
    ) -> None:
        self.signal = signal
        self.limit = limit
        self.name = name
        self.targets = targets

    def _deliver(self, owner: Owner, data: dict[str, Any]) -> None:
        """Deliver one emission as emit would, one level deeper.

        :raises SignalRecursionError: this thread already runs ``limit`` nested emits of the signal.
        :raises SlotError: after all slots ran, if any raised.
        """
        depths: dict[SignalLike, int] = _nesting.__dict__.setdefault("depths", {})
        signal = self.signal
        depth = depths.get(signal, 0)
        if depth >= self.limit:
            raise SignalRecursionError(signal.describe(), depth + 1, self.limit, self.name)
        depths[signal] = depth + 1
        failures: list[tuple[Connection[Any], Exception]] = []
        try:
            for conn in self.targets:
                try:
                    if conn._fast:
                        conn._slot(owner, **data)  # type: ignore[misc]
                    else:
                        conn._deliver(owner, data)
                except Exception as exc:
                    if isinstance(exc, RecursionError):
                        raise_if_recursion(exc)
                    failures.append((conn, exc))
        finally:
            depths[signal] = depth
        if failures:
            raise_slot_error(failures)
