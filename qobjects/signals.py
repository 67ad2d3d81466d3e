"""The dispatch core: :class:`Signal`, :class:`BoundSignal`, :class:`Connection`.

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
emit delivers to a consistent snapshot.

blinker carries the connect/disconnect notifications (:data:`connected`,
:data:`disconnected`, keyed by the class-level :class:`Signal` as sender), the
part of signalling it is good at; it stays off the emit path.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

import blinker

from qobjects.codecs import (
    MemberSpec,
    compile_function,
    compile_members,
    member_params,
)
from qobjects.errors import NotConnected, SlotError, SlotSignatureError, StateError

if TYPE_CHECKING:
    from qobjects.objects import Handle

__all__ = ["BoundSignal", "Connection", "Signal", "connected", "disconnected"]

log = logging.getLogger(__name__)

_notifications = blinker.Namespace()
connected = _notifications.signal("connected")
"""blinker signal sent after a connect; sender is the class-level Signal."""
disconnected = _notifications.signal("disconnected")
"""blinker signal sent after a disconnect; sender is the class-level Signal."""

F = TypeVar("F", bound=Callable[..., Any])

_ids = itertools.count(1)
_background: set[asyncio.Task[Any]] = set()


def next_connection_id() -> int:
    """A connection id unique in this process."""
    return next(_ids)


def _analyze(slot: Callable[..., Any], signal: Signal) -> tuple[bool, tuple[str, ...]]:
    """Which members a slot takes: (takes them all, their names).

    :raises SlotSignatureError: the slot cannot be called as
        ``slot(owner, **members)`` with the members it names.
    """
    members = [s.py for s in signal.specs]
    try:
        sig = inspect.signature(slot)
    except (TypeError, ValueError):
        # Built-ins without a signature: trust them with everything.
        return True, tuple(members)
    params = list(sig.parameters.values())
    P = inspect.Parameter
    if not params or params[0].kind not in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD, P.VAR_POSITIONAL):
        raise SlotSignatureError(
            f"slot {_slot_name(slot)} for {signal.describe()} must take the owner "
            f"({signal.owner_name}) as its first positional parameter"
        )
    annotations = _annotations(slot)
    if params[0].kind != P.VAR_POSITIONAL:
        _check_annotation(slot, signal, params[0].name, annotations, signal.owner_class, "the owner")
    rest = params if params[0].kind == P.VAR_POSITIONAL else params[1:]
    accepted: list[str] = []
    var_kw = False
    for p in rest:
        if p.kind == P.VAR_KEYWORD:
            var_kw = True
        elif p.kind == P.VAR_POSITIONAL:
            continue
        elif p.name in members and p.kind != P.POSITIONAL_ONLY:
            spec = signal.specs[members.index(p.name)]
            _check_annotation(slot, signal, p.name, annotations, spec.annotation(), f"member '{spec.name}'")
            accepted.append(p.name)
        elif p.default is P.empty:
            have = ", ".join(members) or "none"
            raise SlotSignatureError(
                f"slot {_slot_name(slot)} needs parameter '{p.name}', which "
                f"{signal.describe()} never provides (its members: {have})"
            )
    if var_kw or len(accepted) == len(members):
        return True, tuple(members)
    return False, tuple(m for m in members if m in accepted)


def _annotations(slot: Callable[..., Any]) -> dict[str, Any]:
    try:
        return inspect.get_annotations(slot, eval_str=True)
    except Exception:  # unresolvable names: nothing to compare
        return {}


def _check_annotation(
    slot: Callable[..., Any], signal: Signal, name: str, annotations: dict[str, Any], given: Any, what: str
) -> None:
    """Reject a parameter whose annotation cannot hold what the signal passes.

    Only plain classes are compared (as mypy would: the delivered type must
    be a subclass of the annotated one); anything else is trusted.
    """
    wanted = annotations.get(name)
    if not isinstance(wanted, type) or wanted is object or wanted is Any:
        return
    delivered = [a for a in getattr(given, "__args__", (given,)) if a is not type(None)]
    if not all(isinstance(d, type) for d in delivered):
        return
    if not all(issubclass(d, wanted) for d in delivered):
        names = " | ".join(d.__name__ for d in delivered)
        raise SlotSignatureError(
            f"slot {_slot_name(slot)}: parameter '{name}' is annotated {wanted.__name__}, "
            f"but {signal.describe()} passes {what} as {names}"
        )


def _slot_name(slot: object) -> str:
    return getattr(slot, "__qualname__", None) or repr(slot)


class Connection(Generic[F]):
    """One slot connected to one signal of one owner (or of every owner).

    Callable like the slot itself, so the decorator form leaves a usable
    function. ``id`` is unique in the process (for a remote connection it is
    the server's id).
    """

    __slots__ = (
        "__weakref__",
        "_active",
        "_fast",
        "_fired",
        "_ref",
        "_slot",
        "bound",
        "full",
        "id",
        "is_coroutine",
        "names",
        "once",
        "signal",
    )

    def __init__(
        self,
        signal: Signal,
        bound: BoundSignal | None,
        slot: F,
        *,
        once: bool = False,
    ) -> None:
        self.full, self.names = _analyze(slot, signal)
        self.id = next_connection_id()
        self.signal = signal
        self.bound = bound
        self.once = once
        self._fired = False
        self._active = True
        self.is_coroutine = inspect.iscoroutinefunction(slot)
        self._slot: Callable[..., Any] | None
        self._ref: weakref.WeakMethod[Callable[..., Any]] | None
        if inspect.ismethod(slot):
            # Bound methods are held weakly: the connection goes with the object.
            self._slot = None
            self._ref = weakref.WeakMethod(slot, self._collected)
        else:
            self._slot = slot
            self._ref = None
        self._fast = self._slot is not None and self.full and not once and not self.is_coroutine

    @property
    def slot(self) -> F | None:
        """The slot, or None once a weakly held slot was collected."""
        if self._slot is not None:
            return self._slot  # type: ignore[return-value]
        assert self._ref is not None
        return self._ref()  # type: ignore[return-value]

    @property
    def connected(self) -> bool:
        return self._active

    @property
    def owner(self) -> Handle | None:
        """The owner, or None for a connection to every owner."""
        return None if self.bound is None else self.bound.owner

    if TYPE_CHECKING:
        # Statically a Connection is called exactly like its slot.
        @property
        def __call__(self) -> F: ...
    else:

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            slot = self.slot
            if slot is None:
                raise ReferenceError("the slot's object was garbage-collected")
            return slot(*args, **kwargs)

    def disconnect(self, *, missing_ok: bool = False) -> None:
        """Disconnect this connection (see :meth:`BoundSignal.disconnect`)."""
        target: BoundSignal | Signal = self.bound if self.bound is not None else self.signal
        target.disconnect(self, missing_ok=missing_ok)

    def __repr__(self) -> str:
        state = "connected" if self._active else "disconnected"
        return f"<Connection {self.id} {self.signal.describe()} -> {_slot_name(self.slot)} {state}>"

    def _collected(self, ref: object) -> None:
        self._active = False
        self._fast = False
        self.signal._purge_later(self)

    def _deliver(self, owner: Handle, data: dict[str, Any]) -> None:
        """Call the slot the slow way: weak, once, partial or coroutine."""
        if not self._active:
            return
        slot = self.slot
        if slot is None:
            return
        if self.once:
            with self.signal._lock:
                if self._fired:
                    return
                self._fired = True
            self.disconnect(missing_ok=True)
        kwargs = data if self.full else {n: data[n] for n in self.names}
        result = slot(owner, **kwargs)
        if self.is_coroutine:
            _schedule(result, self)

    async def _deliver_async(self, owner: Handle, data: dict[str, Any]) -> None:
        if not self._active:
            return
        slot = self.slot
        if slot is None:
            return
        if self.once:
            with self.signal._lock:
                if self._fired:
                    return
                self._fired = True
            self.disconnect(missing_ok=True)
        kwargs = data if self.full else {n: data[n] for n in self.names}
        result = slot(owner, **kwargs)
        if inspect.isawaitable(result):
            await result


def _schedule(coro: Any, conn: Connection[Any]) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        coro.close()
        raise StateError(
            f"coroutine slot {_slot_name(conn.slot)} needs a running event loop: "
            "emit from a coroutine or use 'await ...emit_async(...)'"
        ) from None
    task = loop.create_task(coro)
    _background.add(task)
    task.add_done_callback(_task_done)


def _task_done(task: asyncio.Task[Any]) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("coroutine slot failed", exc_info=task.exception())


def _raise_slot_error(failures: list[tuple[Connection[Any], Exception]]) -> None:
    excs = []
    for conn, exc in failures:
        exc.add_note(f"raised by slot {_slot_name(conn.slot)} (connection {conn.id})")
        excs.append(exc)
    n = len(excs)
    raise SlotError(
        f"{n} slot{'s' if n > 1 else ''} of {failures[0][0].signal.describe()} raised",
        excs,
        [c.slot for c, _ in failures],
    )


class _Blocker:
    """State shared by what can be blocked: a count and the connections."""

    __slots__ = ("_blocked", "_conns")

    def __init__(self) -> None:
        self._conns: tuple[Connection[Any], ...] = ()
        self._blocked = 0


class BoundSignal(_Blocker):
    """A signal of one owner: ``dev.io_error``.

    :ivar owner: the handle that emits.
    :ivar signal: the class-level :class:`Signal`.
    :ivar emit: ``emit(**data)``: check *data* against the signal's members
        and call every slot as ``slot(owner, **data)``, per-owner slots first,
        then those connected on the class, in connection order.
        :raises ValidationError: wrong, missing or unknown members (before any slot runs).
        :raises SlotError: after all slots ran, if any raised.
    """

    __slots__ = ("__weakref__", "_plan", "emit", "owner", "signal")

    emit: Callable[..., None]

    def __init__(self, signal: Signal, owner: Handle) -> None:
        super().__init__()
        self.signal = signal
        self.owner = owner
        if owner._session is not None:
            self.emit = self._remote_emit
            self._plan: tuple[Any, Any] | None = None
        else:
            self.emit = emit = signal._factory(owner)
            # The cells emit reads: the slot to call directly when there is
            # exactly one plain target, and every target in order.
            cells = dict(zip(emit.__code__.co_freevars, emit.__closure__ or (), strict=False))
            self._plan = (cells["_q_s0"], cells["_q_targets"])
            self._rebuild()

    def __repr__(self) -> str:
        return f"<BoundSignal {self.signal.describe()} of {self.owner!r}>"

    def _remote_emit(self, **data: Any) -> None:
        raise StateError(f"{self.signal.describe()} of remote {self.owner.value!r} is emitted by its server")

    @property
    def connections(self) -> tuple[Connection[Any], ...]:
        """This owner's live connections, in order."""
        return tuple(c for c in self._conns if c._active)

    def _rebuild(self) -> None:
        sig = self.signal
        if self._blocked or sig._blocked:
            targets: tuple[Connection[Any], ...] = ()
        else:
            targets = self._conns + sig._conns
        if self._plan is None:  # remote: the server emits
            return
        s0_cell, targets_cell = self._plan
        # Targets before the shortcut: an emit that sees the new shortcut
        # also sees the new targets.
        targets_cell.cell_contents = targets
        s0_cell.cell_contents = targets[0]._slot if len(targets) == 1 and targets[0]._fast else None

    @overload
    def connect(self, slot: F, *, once: bool = False) -> Connection[F]: ...
    @overload
    def connect(self, slot: None = None, *, once: bool = False) -> Callable[[F], Connection[F]]: ...

    def connect(
        self, slot: F | None = None, *, once: bool = False
    ) -> Connection[F] | Callable[[F], Connection[F]]:
        """Connect *slot* to this owner's signal; usable as a decorator.

        :param once: disconnect after the first delivery.
        :raises SlotSignatureError: the slot cannot take the owner and the members it names.
        """
        if slot is None:
            return lambda f: self.connect(f, once=once)
        conn = Connection(self.signal, self, slot, once=once)
        session = self.owner._session
        if session is not None:
            session._connect(self, conn)
        else:
            self._attach(conn)
        return conn

    def _attach(self, conn: Connection[Any]) -> None:
        sig = self.signal
        with sig._lock:
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
        await self._deliver_all_async(values)

    async def _deliver_all_async(self, values: dict[str, Any]) -> None:
        failures: list[tuple[Connection[Any], Exception]] = []
        for conn in self._conns + self.signal._conns:
            try:
                await conn._deliver_async(self.owner, values)
            except Exception as exc:
                failures.append((conn, exc))
        if failures:
            _raise_slot_error(failures)

    def deliver(self, conn: Connection[Any], values: dict[str, Any]) -> None:
        """Deliver checked *values* to one connection (remote push), honouring blocked()."""
        if self.is_blocked():
            return
        try:
            conn._deliver(self.owner, values)
        except Exception as exc:
            _raise_slot_error([(conn, exc)])


def _find(
    conns: Sequence[Connection[Any]], key: Connection[Any] | int | Callable[..., Any]
) -> list[Connection[Any]]:
    if isinstance(key, Connection):
        return [c for c in conns if c is key and c._active]
    if isinstance(key, int) and not isinstance(key, bool):
        return [c for c in conns if c.id == key and c._active]
    return [c for c in conns if c._active and c.slot == key]


class Signal(_Blocker):
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

    @overload
    def __get__(self, instance: None, owner: type) -> Signal: ...
    @overload
    def __get__(self, instance: Handle, owner: type) -> BoundSignal: ...

    def __get__(self, instance: Handle | None, owner: type) -> Signal | BoundSignal:
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
        """Compile the emit factory and the data checker for these members."""
        where = self.describe()
        specs = self.specs
        ns: dict[str, Any] = {"_raise_slot_error": _raise_slot_error}
        checks = compile_members(specs, where, ns, indent="        ")
        params = member_params(specs)
        kw = ", ".join(f"{s.py}={s.py}" for s in specs)
        as_dict = "{" + ", ".join(f"{s.py!r}: {s.py}" for s in specs) + "}"
        call = f"_q_owner, {kw}" if kw else "_q_owner"
        # One emit per bound signal, made once. Its delivery plan lives in two
        # closure cells that BoundSignal._rebuild rewrites in place, so a saved
        # `emit` never goes stale and reading the plan costs no attribute
        # look-up. Local names start with _q_, which no QAPI name can.
        body = [
            "    _q_s0 = None",
            "    _q_targets = ()",
            f"    def emit({params}):",
            *checks,
            "        if _q_s0 is not None:",
            "            try:",
            f"                _q_s0({call})",
            "            except Exception as _q_e:",
            "                _raise_slot_error([(_q_targets[0], _q_e)])",
            "            return",
            "        _q_failures = None",
            "        for _q_c in _q_targets:",
            "            try:",
            f"                if _q_c._fast: _q_c._slot({call})",
            f"                else: _q_c._deliver(_q_owner, {as_dict})",
            "            except Exception as _q_e:",
            "                if _q_failures is None: _q_failures = []",
            "                _q_failures.append((_q_c, _q_e))",
            "        if _q_failures: _raise_slot_error(_q_failures)",
            "    return emit",
        ]
        self._factory: Callable[..., Callable[..., None]] = compile_function(
            "factory", "_q_owner", body, ns
        )
        ns2: dict[str, Any] = {}
        check_body = [*compile_members(specs, where, ns2), f"    return {as_dict}"]
        self._check: Callable[..., dict[str, Any]] = compile_function("check", params, check_body, ns2)

    def check(self, **data: Any) -> dict[str, Any]:
        """The checked data (Python names, absent optionals as None).

        :raises ValidationError: wrong, missing or unknown members.
        """
        return self._check(**data)

    def _rebuild_all(self) -> None:
        for bound in list(self._bound):
            bound._rebuild()

    @overload
    def connect(self, slot: F, *, once: bool = False) -> Connection[F]: ...
    @overload
    def connect(self, slot: None = None, *, once: bool = False) -> Callable[[F], Connection[F]]: ...

    def connect(
        self, slot: F | None = None, *, once: bool = False
    ) -> Connection[F] | Callable[[F], Connection[F]]:
        """Connect *slot* to this signal of every local owner; usable as a decorator.

        :raises SlotSignatureError: the slot cannot take the owner and the members it names.
        """
        if slot is None:
            return lambda f: self.connect(f, once=once)
        conn = Connection(self, None, slot, once=once)
        with self._lock:
            self._purge()
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
        bound = conn.bound
        if bound is None:
            self._conns = tuple(c for c in self._conns if c is not conn)
            self._rebuild_all()
        else:
            bound._conns = tuple(c for c in bound._conns if c is not conn)
            if not bound._conns:
                self._active.pop(bound.owner._key, None)
            bound._rebuild()
