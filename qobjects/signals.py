"""The dispatch core: :class:`Signal`, :class:`BoundSignal` (and :class:`Connection`).

A :class:`Signal` is a descriptor on a handle class. On the class it is the
signal itself (connecting there reaches every owner); on a handle it gives a
:class:`BoundSignal` for that owner, cached in the handle's ``__dict__`` so
that later look-ups are plain attribute reads.

Speed: ``emit`` is the hot path. Each bound signal holds an ``emit`` function
compiled for its signal's members and rebuilt whenever its connections or
blocked state change, so an emit validates its data with one class
comparison per member and calls slots with plain keywords; it never takes a
lock and never looks at other owners. Connect and disconnect (rare) take the
signal's lock and publish a new immutable tuple of connections, so every
emit delivers to a consistent snapshot. Connection options (``once``,
``weak``, ``loop``, ``check_types``; see :mod:`qobjects.signals_slots` and
:mod:`qobjects.signals_base`), pauses and ``max_depth``
(:mod:`qobjects.signals_hold`) only ever take the slower path of the
connections and signals that use them; by default the recursion guard costs
emit nothing (it reads the stack only once a ``RecursionError`` is on its way).

blinker carries the connect/disconnect notifications (:data:`connected`,
:data:`disconnected`, keyed by the class-level :class:`Signal` as sender), the
part of signalling it is good at; it stays off the emit path.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

import blinker

from qobjects.codecs import MemberSpec
from qobjects.codegen import Update, checker, emitter
from qobjects.errors import NotConnected, StateError
from qobjects.signals_base import Loop, SignalBase
from qobjects.signals_hold import DepthGuard
from qobjects.signals_slots import (
    Connection,
    next_connection_id,
    raise_if_recursion,
    raise_slot_error,
)

if TYPE_CHECKING:
    from qobjects.owner import Owner

__all__ = ["BoundSignal", "Connection", "Signal", "connected", "disconnected", "next_connection_id"]

# The remote session modules call these by their older names.
_raise_slot_error = raise_slot_error

_notifications = blinker.Namespace()
connected = _notifications.signal("connected")
"""blinker signal sent after a connect; sender is the class-level Signal."""
disconnected = _notifications.signal("disconnected")
"""blinker signal sent after a disconnect; sender is the class-level Signal."""

F = TypeVar("F", bound=Callable[..., Any])

# Every signal ever connected on its class (held weakly): sessions look for
# class-level slots they cannot serve (qobjects.qmp.compat.register).
_with_class_connections: weakref.WeakSet[Signal] = weakref.WeakSet()


def class_connected() -> list[Signal]:
    """The signals that have class-level connections now."""
    return [sig for sig in list(_with_class_connections) if sig._conns]


class BoundSignal(SignalBase):
    """A signal of one owner: ``dev.io_error``.

    :ivar owner: the handle that emits.
    :ivar signal: the class-level :class:`Signal`.
    :ivar emit: ``emit(**data)``: check *data* against the signal's members
        and call every slot as ``slot(owner, **data)``, per-owner slots first,
        then those connected on the class, in connection order.
        :raises ValidationError: wrong or missing members (before any slot runs).
        :raises TypeError: a keyword that names no member (Python's own
            error: the members are emit's keyword parameters).
        :raises SlotError: after all slots ran, if any raised.
        :raises SignalRecursionError: slots re-emit the signal without end.
    """

    __slots__ = ("__weakref__", "_update", "emit", "owner", "signal")

    emit: Callable[..., None]

    def __init__(self, signal: Signal, owner: Owner) -> None:
        super().__init__()
        self.signal = signal
        self.owner = owner
        self._update: Update | None = None
        if owner._session is not None:
            self.emit = self._remote_emit
        else:
            self.emit, self._update = signal._make_emit(owner)
            self._rebuild()

    def __repr__(self) -> str:
        return f"<BoundSignal {self.signal.describe()} of {self.owner!r}>"

    # Shared with the other class; named here too, so the API reference lists them.
    connect = SignalBase.connect
    connected_to = SignalBase.connected_to
    paused = SignalBase.paused
    is_paused = SignalBase.is_paused

    def _remote_emit(self, **data: Any) -> None:
        raise StateError(f"{self.signal.describe()} of remote {self.owner.value!r} is emitted by its server")

    @property
    def connections(self) -> tuple[Connection[Any], ...]:
        """This owner's live connections, in order."""
        return tuple(c for c in self._conns if c._active)

    def _sig(self) -> Signal:
        return self.signal

    def _where(self) -> str:
        return f"{self.signal.describe()} of {self.owner}"

    def _rebuild(self) -> None:
        sig = self.signal
        targets: tuple[Any, ...]
        if self._blocked or sig._blocked:
            targets = ()
        elif self._held is not None or sig._held is not None:
            targets = (self._held or sig._held,)  # emit hands every emission to the pause
        else:
            targets = self._conns + sig._conns
            if sig._max_depth is not None and targets:
                name = f"{sig.owner_name}.{sig.attr}.max_depth"
                targets = (DepthGuard(sig, sig._max_depth, name, targets),)
        if self._update is None:  # remote: the server emits
            return
        self._update(targets, targets[0]._slot if len(targets) == 1 and targets[0]._fast else None)

    def _mark_held(self) -> None:
        """Tell this owner's connections whether a pause holds them (for pushed deliveries)."""
        held = self._held or self.signal._held
        for conn in self._conns:
            conn._hold = held
            conn._fast = held is None and conn._direct()

    def _replan(self) -> None:
        self._mark_held()
        self._rebuild()

    def _new(
        self, slot: Callable[..., Any], once: bool, loop: Loop | None, weak: bool | None, check_types: bool
    ) -> Connection[Any]:
        conn = Connection(self.signal, self, slot, once=once, loop=loop, weak=weak, check_types=check_types)
        session = self.owner._session
        if session is not None:
            session._connect(self, conn)
        else:
            self._attach(conn)
        return conn

    def _attach(self, conn: Connection[Any]) -> None:
        sig = self.signal
        with sig._lock:
            held = self._held or sig._held
            if held is not None:
                conn._hold = held
                conn._fast = False
            self._conns = self._conns + (conn,)
            sig._active[self.owner._key] = self
            self._rebuild()
        connected.send(sig, connection=conn, owner=self.owner)

    def _detach(self, conn: Connection[Any]) -> None:
        sig = self.signal
        with sig._lock:
            conn._active = False
            conn._fast = False
            self._conns = tuple(c for c in self._conns if c is not conn)
            if not self._conns:
                sig._active.pop(self.owner._key, None)
            self._rebuild()
        disconnected.send(sig, connection=conn, owner=self.owner)

    def disconnect(
        self, connection: Connection[Any] | int | Callable[..., Any], *, missing_ok: bool = False
    ) -> None:
        """Disconnect a Connection, a connection id, or every connection of a slot.

        :raises NotConnected: nothing matched (unless *missing_ok*).
        """
        found = _find(self._conns, connection)
        if not found:
            if missing_ok:
                return
            raise NotConnected(f"{connection!r} is not connected to {self.signal.describe()} of {self.owner}")
        session = self.owner._session
        for conn in found:
            if session is not None:
                session._disconnect(self, conn)
            else:
                self._detach(conn)

    @contextmanager
    def blocked(self) -> Iterator[None]:
        """Suppress delivery for this owner inside the ``with`` block."""
        with self.signal._lock:
            self._blocked += 1
            self._rebuild()
        try:
            yield
        finally:
            with self.signal._lock:
                self._blocked -= 1
                self._rebuild()

    def is_blocked(self) -> bool:
        return bool(self._blocked or self.signal._blocked)

    async def emit_async(self, **data: Any) -> None:
        """Like ``emit``, but await coroutine slots one after another."""
        values = self.signal.check(**data)
        if self.is_blocked():
            return
        held = self._held or self.signal._held
        if held is not None:
            held._deliver(self.owner, values)
            return
        await self._deliver_all_async(values)

    async def _deliver_all_async(self, values: dict[str, Any]) -> None:
        failures: list[tuple[Connection[Any], Exception]] = []
        for conn in self._conns + self.signal._conns:
            try:
                await conn._deliver_async(self.owner, values)
            except Exception as exc:
                if isinstance(exc, RecursionError):
                    raise_if_recursion(exc)
                failures.append((conn, exc))
        if failures:
            raise_slot_error(failures)

    def deliver(self, conn: Connection[Any], values: dict[str, Any]) -> None:
        """Deliver checked *values* to one connection (remote push), honouring blocked() and paused()."""
        if self.is_blocked():
            return
        try:
            conn._deliver(self.owner, values)
        except Exception as exc:
            raise_slot_error([(conn, exc)])


def _find(
    conns: Sequence[Connection[Any]], key: Connection[Any] | int | Callable[..., Any]
) -> list[Connection[Any]]:
    if isinstance(key, Connection):
        return [c for c in conns if c is key and c._active]
    if isinstance(key, int) and not isinstance(key, bool):
        return [c for c in conns if c.id == key and c._active]
    return [c for c in conns if c._active and c.slot == key]


class Signal(SignalBase):
    """A signal declared in the schema, as a descriptor on its owner's class.

    ``Blockdev.io_error`` is the Signal; ``dev.io_error`` the :class:`BoundSignal`.
    Connecting on the class reaches every owner of that type.

    :ivar name: the QAPI name (``IO_ERROR``).
    :ivar specs: the data members.
    """

    def __init__(self, name: str, specs: Sequence[MemberSpec], doc: str | None = None) -> None:
        super().__init__()
        self.name = name
        self.specs = tuple(specs)
        self.__doc__ = doc
        self.owner_name = "?"
        self.owner_class: type = object
        self.attr = ""
        self._lock = threading.Lock()
        self._active: dict[object, BoundSignal] = {}  # owners with connections
        self._bound: weakref.WeakSet[BoundSignal] = weakref.WeakSet()
        self._dead: list[Connection[Any]] = []
        self._unique_lock = threading.Lock()  # connect(unique=True): check and connect as one
        self._max_depth: int | None = None
        # Compiled by __set_name__, once the owner class (named in errors) is known.

    def describe(self) -> str:
        return f"signal {self.owner_name}.{self.name}"

    def __repr__(self) -> str:
        return f"<Signal {self.owner_name}.{self.name}>"

    def __set_name__(self, owner: type, name: str) -> None:
        self.owner_name = owner.__name__
        self.owner_class = owner
        self.attr = name
        self._compile()

    # Shared with the other class; named here too, so the API reference lists them.
    connect = SignalBase.connect
    connected_to = SignalBase.connected_to
    paused = SignalBase.paused
    is_paused = SignalBase.is_paused

    @overload
    def __get__(self, instance: None, owner: type) -> Signal: ...
    @overload
    def __get__(self, instance: Owner, owner: type) -> BoundSignal: ...

    def __get__(self, instance: Owner | None, owner: type) -> Signal | BoundSignal:
        if instance is None:
            return self
        # Under the lock: two threads' first look-ups make one BoundSignal, and
        # a class-level connect cannot slip between its creation and its plan.
        with self._lock:
            bound = instance.__dict__.get(self.attr)
            if bound is None:
                bound = BoundSignal(self, instance)
                self._bound.add(bound)
                instance.__dict__[self.attr] = bound
        return bound

    def _compile(self) -> None:
        """Generate the emit maker and the data checker for these members."""
        where = self.describe()
        qualname = f"{self.owner_name}.{self.attr}"
        # _q_signal (a global of each generated emit) marks its frames for the recursion guard.
        self._make_emit = emitter(
            self.specs, where, f"{qualname}.emit", self, raise_slot_error, raise_if_recursion
        )
        self._check: Callable[..., dict[str, Any]] = checker(self.specs, where, f"{qualname}.check")

    @property
    def max_depth(self) -> int | None:
        """How deeply emits of this signal may nest in one thread (a slot emitting it again).

        ``None`` (the default): Python's recursion limit bounds them, and the
        guard costs emit nothing. An int: a nested emit past it raises
        :class:`SignalRecursionError`; each emit of this signal with slots
        then counts its depth (a little slower).

        :raises ValueError: not a positive int or None.
        """
        return self._max_depth

    @max_depth.setter
    def max_depth(self, value: int | None) -> None:
        if value is not None and (type(value) is not int or value < 1):
            raise ValueError(f"max_depth of {self.describe()} must be a positive int or None, not {value!r}")
        with self._lock:
            self._max_depth = value
            self._rebuild_all()

    def check(self, **data: Any) -> dict[str, Any]:
        """The checked data (Python names, absent optionals as None).

        :raises ValidationError: wrong, missing or unknown members.
        """
        return self._check(**data)

    def _rebuild_all(self) -> None:
        for bound in list(self._bound):
            bound._rebuild()

    def _sig(self) -> Signal:
        return self

    def _where(self) -> str:
        return self.describe()

    def _replan(self) -> None:
        for conn in self._conns:
            conn._hold = self._held
        for bound in list(self._bound):
            bound._replan()

    def _new(
        self, slot: Callable[..., Any], once: bool, loop: Loop | None, weak: bool | None, check_types: bool
    ) -> Connection[Any]:
        conn = Connection(self, None, slot, once=once, loop=loop, weak=weak, check_types=check_types)
        _with_class_connections.add(self)
        with self._lock:
            self._purge()
            conn._hold = self._held
            self._conns = self._conns + (conn,)
            self._rebuild_all()
        connected.send(self, connection=conn, owner=None)
        return conn

    def disconnect(
        self, connection: Connection[Any] | int | Callable[..., Any], *, missing_ok: bool = False
    ) -> None:
        """Disconnect a class-level connection (by Connection, id or slot).

        :raises NotConnected: nothing matched (unless *missing_ok*).
        """
        found = _find(self._conns, connection)
        if not found:
            if missing_ok:
                return
            raise NotConnected(f"{connection!r} is not connected to {self.describe()}")
        with self._lock:
            for conn in found:
                conn._active = False
                conn._fast = False
            self._conns = tuple(c for c in self._conns if c not in found)
            self._rebuild_all()
        for conn in found:
            disconnected.send(self, connection=conn, owner=None)

    @contextmanager
    def blocked(self) -> Iterator[None]:
        """Suppress delivery for every owner inside the ``with`` block."""
        with self._lock:
            self._blocked += 1
            self._rebuild_all()
        try:
            yield
        finally:
            with self._lock:
                self._blocked -= 1
                self._rebuild_all()

    @property
    def connections(self) -> tuple[Connection[Any], ...]:
        """The class-level connections (to every owner)."""
        return tuple(c for c in self._conns if c._active)

    def connection_count(self) -> int:
        """Connections of this signal, per owner and class-level."""
        return len(self._conns) + sum(len(b._conns) for b in list(self._active.values()))

    def _purge_later(self, conn: Connection[Any]) -> None:
        # Called from a weakref callback, possibly inside a locked section of
        # this thread (garbage collection can run anywhere): never block.
        if self._lock.acquire(blocking=False):
            try:
                self._remove_dead(conn)
            finally:
                self._lock.release()
        else:
            self._dead.append(conn)

    def _purge(self) -> None:
        while self._dead:
            self._remove_dead(self._dead.pop())

    def _remove_dead(self, conn: Connection[Any]) -> None:
        bound = cast("BoundSignal | None", conn.bound)
        if bound is None:
            self._conns = tuple(c for c in self._conns if c is not conn)
            self._rebuild_all()
        else:
            bound._conns = tuple(c for c in bound._conns if c is not conn)
            if not bound._conns:
                self._active.pop(bound.owner._key, None)
            bound._rebuild()
