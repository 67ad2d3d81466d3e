"""Connections: one slot of one signal, and how it is called.

A :class:`Connection` knows at connect time how its slot is called: which
members it takes (its signature is checked against the signal's members
once, here), whether it is held weakly, whether it is queued to an asyncio
loop (``loop=``) and whether its values are checked against its annotations
(``check_types=``). A connection with none of these options is *direct*:
emit calls its slot itself; every other one goes through
:meth:`Connection._deliver`.

This module knows signals only through :class:`SignalLike` and
:class:`BoundLike`, so it does not import :mod:`qobjects.signals`.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import sys
import threading
import weakref
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from qobjects.codecs import MemberSpec
from qobjects.errors import SignalRecursionError, SlotError, SlotSignatureError, StateError, WrongType

if TYPE_CHECKING:
    from qobjects.owner import Owner

__all__ = [
    "BoundLike",
    "Connection",
    "HoldLike",
    "SignalLike",
    "next_connection_id",
    "raise_if_recursion",
    "raise_slot_error",
]

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

_ids = itertools.count(1)
_background: set[asyncio.Task[Any]] = set()

class SignalLike(Protocol):
    """What a connection needs of its class-level signal."""

    specs: tuple[MemberSpec, ...]
    owner_name: str
    owner_class: type
    _lock: threading.Lock

    def describe(self) -> str: ...

    def _purge_later(self, conn: Connection[Any]) -> None: ...

    def disconnect(
        self, connection: Connection[Any] | int | Callable[..., Any], *, missing_ok: bool = False
    ) -> None: ...


class BoundLike(Protocol):
    """What a connection needs of its owner's bound signal."""

    owner: Owner

    def disconnect(
        self, connection: Connection[Any] | int | Callable[..., Any], *, missing_ok: bool = False
    ) -> None: ...


class HoldLike(Protocol):
    """A pause that holds a connection's deliveries (see :mod:`qobjects.signals_hold`)."""

    def hold(self, owner: Owner, conn: Connection[Any], data: dict[str, Any]) -> bool: ...


def next_connection_id() -> int:
    """A connection id unique in this process."""
    return next(_ids)


def slot_name(slot: object) -> str:
    return getattr(slot, "__qualname__", None) or repr(slot)


def analyze(slot: Callable[..., Any], signal: SignalLike) -> tuple[bool, tuple[str, ...]]:
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
            f"slot {slot_name(slot)} for {signal.describe()} must take the owner "
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
                f"slot {slot_name(slot)} needs parameter '{p.name}', which "
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
    slot: Callable[..., Any],
    signal: SignalLike,
    name: str,
    annotations: dict[str, Any],
    given: Any,
    what: str,
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
    try:
        fits = all(issubclass(d, wanted) for d in delivered)
    except TypeError:  # a class that refuses subclass checks (a protocol): trusted
        return
    if not fits:
        names = " | ".join(d.__name__ for d in delivered)
        raise SlotSignatureError(
            f"slot {slot_name(slot)}: parameter '{name}' is annotated {wanted.__name__}, "
            f"but {signal.describe()} passes {what} as {names}"
        )


# (key in the slot's keyword arguments, or None for the owner; QAPI member name; annotation)
TypeChecks = tuple[tuple[str | None, str, Any], ...]


def type_checks(slot: Callable[..., Any], signal: SignalLike) -> TypeChecks:
    """What ``check_types=True`` checks: every annotated parameter the signal fills.

    :raises SlotSignatureError: the slot's annotations do not resolve.
    """
    try:
        sig = inspect.signature(slot, eval_str=True)
    except (TypeError, ValueError):
        return ()  # no signature (a built-in): nothing is annotated
    except Exception as err:
        raise SlotSignatureError(
            f"slot {slot_name(slot)} for {signal.describe()}: check_types=True needs its "
            f"annotations, and they do not resolve ({type(err).__name__}: {err})"
        ) from err
    P = inspect.Parameter
    params = list(sig.parameters.values())
    checks: list[tuple[str | None, str, Any]] = []
    if params and params[0].kind != P.VAR_POSITIONAL:
        if _checkable(params[0].annotation):
            checks.append((None, "", params[0].annotation))
        params = params[1:]
    by_py = {s.py: s for s in signal.specs}
    named: set[str] = set()
    var_kw: Any = P.empty
    for p in params:
        if p.kind == P.VAR_KEYWORD:
            var_kw = p.annotation
        elif p.name in by_py and p.kind in (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY):
            named.add(p.name)
            if _checkable(p.annotation):
                checks.append((p.name, by_py[p.name].name, p.annotation))
    if _checkable(var_kw):
        checks += [(s.py, s.name, var_kw) for s in signal.specs if s.py not in named]
    return tuple(checks)


def _checkable(annotation: Any) -> bool:
    return annotation is not inspect.Parameter.empty and annotation is not Any and annotation is not object


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__qualname__
    return repr(annotation).replace("typing.", "")


def _weak_ref(
    slot: Callable[..., Any], callback: Callable[[Any], None], signal: SignalLike
) -> weakref.ref[Callable[..., Any]]:
    try:
        if inspect.ismethod(slot):
            return weakref.WeakMethod(slot, callback)
        return weakref.ref(slot, callback)
    except TypeError:
        raise TypeError(
            f"slot {slot_name(slot)} for {signal.describe()} cannot be held weakly "
            f"({type(slot).__name__} objects take no weak references): connect it with weak=False"
        ) from None


class Connection(Generic[F]):
    """One slot connected to one signal of one owner (or of every owner).

    Callable like the slot itself, so the decorator form leaves a usable
    function. ``id`` is unique in the process (for a remote connection it is
    the server's id).

    :ivar once: disconnected after its first delivery.
    :ivar loop: the asyncio loop the slot runs in (a queued connection), or None.
    """

    __slots__ = (
        "__weakref__",
        "_active",
        "_checks",
        "_fast",
        "_fired",
        "_hold",
        "_ref",
        "_slot",
        "bound",
        "full",
        "id",
        "is_coroutine",
        "loop",
        "names",
        "once",
        "signal",
    )

    def __init__(
        self,
        signal: SignalLike,
        bound: BoundLike | None,
        slot: F,
        *,
        once: bool = False,
        loop: asyncio.AbstractEventLoop | None = None,
        weak: bool | None = None,
        check_types: bool = False,
    ) -> None:
        self.full, self.names = analyze(slot, signal)
        if loop is not None:
            if not isinstance(loop, asyncio.AbstractEventLoop):
                raise TypeError(f"loop must be an asyncio event loop, not {type(loop).__name__}")
            if loop.is_closed():
                raise StateError(
                    f"cannot queue slot {slot_name(slot)} of {signal.describe()} to a closed event loop"
                )
        if weak is not None and not isinstance(weak, bool):
            raise TypeError(f"weak must be True, False or None, not {weak!r}")
        self._checks: TypeChecks | None = type_checks(slot, signal) if check_types else None
        self.id = next_connection_id()
        self.signal = signal
        self.bound = bound
        self.once = once
        self.loop = loop
        self._fired = False
        self._active = True
        self._hold: HoldLike | None = None  # set while a pause holds this connection's deliveries
        self.is_coroutine = inspect.iscoroutinefunction(slot)
        # Bound methods are held weakly unless asked otherwise: the
        # connection goes with the object.
        self._slot: Callable[..., Any] | None
        self._ref: weakref.ref[Callable[..., Any]] | None
        if inspect.ismethod(slot) if weak is None else weak:
            self._slot = None
            self._ref = _weak_ref(slot, self._collected, signal)
        else:
            self._slot = slot
            self._ref = None
        self._fast = self._direct()

    def _direct(self) -> bool:
        """Whether emit may call the slot itself (``_fast`` says whether it may now)."""
        return (
            self._slot is not None
            and self.full
            and not self.once
            and not self.is_coroutine
            and self.loop is None
            and not self._checks
            and self._active
        )

    @property
    def weak(self) -> bool:
        """The slot is held by a weak reference."""
        return self._ref is not None

    @property
    def check_types(self) -> bool:
        """Delivered values are checked against the slot's annotations."""
        return self._checks is not None
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
    def owner(self) -> Owner | None:
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
        target: BoundLike | SignalLike = self.bound if self.bound is not None else self.signal
        target.disconnect(self, missing_ok=missing_ok)

    def __repr__(self) -> str:
        state = "connected" if self._active else "disconnected"
        opts = [n for n, on in (("once", self.once), ("weak", self.weak), ("queued", self.loop),
                                ("check_types", self.check_types)) if on]
        extra = f" ({', '.join(opts)})" if opts else ""
        return f"<Connection {self.id} {self.signal.describe()} -> {slot_name(self.slot)} {state}{extra}>"

    def _where(self) -> str:
        return f"slot {slot_name(self.slot)} (connection {self.id}) of {self.signal.describe()}"

    def _collected(self, ref: object) -> None:
        self._active = False
        self._fast = False
        self.signal._purge_later(self)

    def _fire_once(self) -> bool:
        """Claim the one delivery of a ``once`` connection (False: already claimed)."""
        with self.signal._lock:
            if self._fired:
                return False
            self._fired = True
        self.disconnect(missing_ok=True)
        return True

    def _deliver(self, owner: Owner, data: dict[str, Any]) -> None:
        """Call the slot the slow way: held, weak, once, partial, queued, checked or coroutine."""
        if not self._active:
            return
        hold = self._hold
        if hold is not None and hold.hold(owner, self, data):
            return
        call = self._prepare(owner, data)
        if call is None:
            return
        slot, kwargs = call
        result = slot(owner, **kwargs)
        if self.is_coroutine:
            _schedule(result, self)

    async def _deliver_async(self, owner: Owner, data: dict[str, Any]) -> None:
        if not self._active:
            return
        call = self._prepare(owner, data)
        if call is None:
            return
        slot, kwargs = call
        result = slot(owner, **kwargs)
        if inspect.isawaitable(result):
            await result

    def _prepare(self, owner: Owner, data: dict[str, Any]) -> tuple[Any, dict[str, Any]] | None:
        """The slot and its keyword arguments for *data*; None when it is not to be called
        here: gone, its one delivery used up, or handed to its loop (queued)."""
        slot = self.slot
        if slot is None:
            return None
        kwargs = data if self.full else {n: data[n] for n in self.names}
        if self._checks:
            self._check_types(owner, kwargs)  # before once: a refused value uses nothing up
        if self.once and not self._fire_once():
            return None
        loop = self.loop
        if loop is not None:
            # A module function, not a bound method: one object fewer per emit
            # to allocate and (while it waits in the queue) to garbage-collect.
            try:
                loop.call_soon_threadsafe(_run_once if self.once else _run_queued, self, owner, kwargs)
            except RuntimeError:
                self._loop_failed(loop)
            return None
        return slot, kwargs

    def _check_types(self, owner: Owner, kwargs: dict[str, Any]) -> None:
        """Check the values against the slot's annotations (``check_types=True``).

        :raises WrongType: a value does not match, naming the slot and the member.
        """
        from typeguard import CollectionCheckStrategy, TypeCheckError, check_type

        for key, member, annotation in self._checks or ():
            value = owner if key is None else kwargs[key]
            try:
                check_type(value, annotation, collection_check_strategy=CollectionCheckStrategy.ALL_ITEMS)
            except TypeCheckError as err:
                where = self._where() + (": the owner" if key is None else "")
                got = repr(value)
                got = got if len(got) <= 60 else got[:57] + "..."
                raise WrongType(where, member, _type_name(annotation), f"{got} ({err})") from err

    # --- queued connections (loop=...) -------------------------------------------

    def _loop_failed(self, loop: asyncio.AbstractEventLoop) -> None:
        """``call_soon_threadsafe`` raised RuntimeError: re-raise it, unless the loop is closed.

        :raises StateError: the loop is closed (the connection is removed: it
            can never deliver again).
        """
        if not loop.is_closed():
            raise
        self.disconnect(missing_ok=True)
        raise StateError(
            f"{self._where()} is queued to an event loop that is closed; the connection was removed"
        ) from None

    def _run_queued(self, owner: Owner, kwargs: dict[str, Any]) -> None:
        """In the loop's thread: call the slot."""
        slot = self.slot
        loop = self.loop
        if slot is None or loop is None:
            return
        try:
            result = slot(owner, **kwargs)
            if self.is_coroutine:
                task = loop.create_task(result)
                _background.add(task)
                task.add_done_callback(self._queued_task_done)
        except Exception as exc:
            self._report(exc)

    def _queued_task_done(self, task: asyncio.Task[Any]) -> None:
        _background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            assert isinstance(exc, Exception)
            self._report(exc)

    def _report(self, exc: Exception) -> None:
        """A queued slot raised: nobody waits for it, so the loop's exception handler hears it."""
        assert self.loop is not None
        self.loop.call_exception_handler(
            {"message": f"{self._where()} raised", "exception": exc, "connection": self}
        )


def _run_queued(conn: Connection[Any], owner: Owner, kwargs: dict[str, Any]) -> None:
    """A queued delivery, in the loop's thread (dropped if disconnected since the emit)."""
    if conn._active:
        conn._run_queued(owner, kwargs)


def _run_once(conn: Connection[Any], owner: Owner, kwargs: dict[str, Any]) -> None:
    """A queued ``once`` delivery: its connection went at the emit, as it should."""
    conn._run_queued(owner, kwargs)


def _schedule(coro: Any, conn: Connection[Any]) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        coro.close()
        raise StateError(
            f"coroutine slot {slot_name(conn.slot)} needs a running event loop: "
            "emit from a coroutine, use 'await ...emit_async(...)', or connect it with loop=..."
        ) from None
    task = loop.create_task(coro)
    _background.add(task)
    task.add_done_callback(_task_done)


def _task_done(task: asyncio.Task[Any]) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("coroutine slot failed", exc_info=task.exception())


EMIT_SHARE = 8
"""A RecursionError is a signal's when at least one frame in this many is an emit."""


def raise_if_recursion(exc: RecursionError) -> None:
    """Turn a RecursionError from nested emits into a :class:`SignalRecursionError`.

    Only called on the error path, so the guard costs emit nothing: the
    stack is read for emit frames (each signal's generated ``emit`` has its
    :class:`Signal` as ``_q_signal``, see :func:`qobjects.codegen.emitter`). It is ours when one
    signal's emits are nested and emits make up a good part of all the
    frames (the stack above and the traceback below); a deep recursion of
    a slot's own, under an emit or two, is left alone.

    :raises SignalRecursionError: *exc* is one, or the stack shows nested emits.
    """
    if isinstance(exc, SignalRecursionError):
        raise exc
    counts: dict[int, list[Any]] = {}
    frames = 0
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        frames += 1
        if frame.f_code.co_name == "emit":
            # A compiled emit has its signal as a global, an interpreted one as a local.
            sig = frame.f_globals.get("_q_signal")
            if sig is None:
                sig = frame.f_locals.get("_q_signal")
            if sig is not None:
                counts.setdefault(id(sig), [sig, 0])[1] += 1
        frame = frame.f_back
    tb = exc.__traceback__
    while tb is not None:
        frames += 1
        tb = tb.tb_next
    if not counts:
        return
    sig, depth = max(counts.values(), key=lambda entry: entry[1])
    emits = sum(entry[1] for entry in counts.values())
    if depth >= 2 and EMIT_SHARE * emits >= frames:
        raise SignalRecursionError(sig.describe(), depth, sys.getrecursionlimit()) from None


def raise_slot_error(failures: list[tuple[Connection[Any], Exception]]) -> None:
    """Raise the failures of one delivery as a :class:`SlotError`.

    :raises SignalRecursionError: a failure is one (or a RecursionError of nested emits).
    :raises SlotError: always otherwise.
    """
    for _, exc in failures:
        if isinstance(exc, RecursionError):
            raise_if_recursion(exc)
    excs = []
    for conn, exc in failures:
        exc.add_note(f"raised by slot {slot_name(conn.slot)} (connection {conn.id})")
        excs.append(exc)
    n = len(excs)
    raise SlotError(
        f"{n} slot{'s' if n > 1 else ''} of {failures[0][0].signal.describe()} raised",
        excs,
        [c.slot for c, _ in failures],
    )
