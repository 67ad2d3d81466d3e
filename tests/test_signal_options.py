"""Connect options and delivery control, local mode: queued (loop=), unique,
connected_to, paused, weak, check_types, and the recursion guard."""

from __future__ import annotations

import asyncio
import operator
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, Literal, Protocol

import pytest

import qobjects
from qobjects import (
    BoundSignal,
    Connection,
    Signal,
    SignalRecursionError,
    SlotError,
    SlotSignatureError,
    StateError,
    UnknownMember,
    WrongType,
)

SCHEMA = """
{ 'handle': 'Dev', 'data': 'str' }
{ 'enum': 'Op', 'data': ['read', 'write'] }
{ 'signal': 'IO_ERROR', 'owner': 'Dev', 'data': { 'operation': 'Op', 'action': 'str' } }
{ 'signal': 'BATCH', 'owner': 'Dev', 'data': { 'sizes': ['int'], '*label': 'str' } }
{ 'signal': 'PING', 'owner': 'Dev', 'data': { 'n': 'int' } }
{ 'signal': 'PONG', 'owner': 'Dev', 'data': { 'n': 'int' } }
"""

NS = qobjects.build(qobjects.parse_schema(SCHEMA))
Dev: Any = NS.types["Dev"]
Op: Any = NS.types["Op"]
Dev.finder(lambda v: v)  # every name is a device; its target is the name
_names = iter(range(1_000_000))


@pytest.fixture
def d() -> Any:
    """A device of its own for each test (class-level connections are removed after)."""
    dev = Dev.find(f"dev{next(_names)}")
    yield dev
    for sig in Dev.signals().values():
        for conn in sig.connections:
            conn.disconnect()


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def run_pending(loop: asyncio.AbstractEventLoop) -> None:
    """Run what is queued to *loop* (in this thread)."""
    loop.run_until_complete(asyncio.sleep(0))


# --- queued connections --------------------------------------------------------------


def test_queued_slot_runs_in_the_loop_thread_in_order(d: Any) -> None:
    loop = asyncio.new_event_loop()
    got: list[tuple[int, str]] = []
    done = threading.Event()

    def slot(owner: Any, action: str) -> None:
        got.append((threading.get_ident(), action))
        if len(got) == 200:
            done.set()

    conn = d.io_error.connect(slot, loop=loop)
    assert conn.loop is loop and not conn._fast
    for i in range(100):
        d.io_error.emit(operation="read", action=f"a{i}")  # returns at once: nothing ran yet
    assert got == []
    thread = threading.Thread(target=loop.run_forever)
    thread.start()
    try:
        worker = threading.Thread(
            target=lambda: [d.io_error.emit(operation="write", action=f"b{i}") for i in range(100)]
        )
        worker.start()
        worker.join()
        assert done.wait(5)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
    assert {ident for ident, _ in got} == {thread.ident}
    assert [a for _, a in got] == [f"a{i}" for i in range(100)] + [f"b{i}" for i in range(100)]


def test_queued_class_level_and_decorator_forms(d: Any, loop: asyncio.AbstractEventLoop) -> None:
    got: list[str] = []
    cls_sig: Signal = Dev.io_error
    bound: BoundSignal = d.io_error

    @cls_sig.connect(loop=loop)
    def on_any(owner: Any, action: str) -> None:
        got.append(f"class {owner.value == d.value} {action}")

    @bound.connect(loop=loop, once=True)
    def on_mine(owner: Any, action: str) -> None:
        got.append(f"once {action}")

    assert isinstance(on_any, Connection) and on_any.loop is loop
    d.io_error.emit(operation="read", action="x")
    d.io_error.emit(operation="read", action="y")
    assert got == []
    assert not on_mine.connected  # once: used up at the emit, delivered later
    run_pending(loop)
    assert got == ["once x", "class True x", "class True y"]


def test_queued_coroutine_slot_runs_as_a_task_of_its_loop(d: Any, loop: asyncio.AbstractEventLoop) -> None:
    got: list[str] = []

    async def slot(owner: Any, action: str) -> None:
        await asyncio.sleep(0)
        got.append(action)

    d.io_error.connect(slot, loop=loop)
    d.io_error.emit(operation="read", action="stop")  # no running loop needed here
    loop.run_until_complete(asyncio.sleep(0.01))
    assert got == ["stop"]


def test_queued_slot_errors_go_to_the_loop_exception_handler(d: Any, loop: asyncio.AbstractEventLoop) -> None:
    seen: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda lp, ctx: seen.append(ctx))

    def bad(owner: Any) -> None:
        raise ValueError("boom")

    conn = d.io_error.connect(bad, loop=loop)
    d.io_error.emit(operation="read", action="stop")  # the emitter does not wait, so does not raise
    run_pending(loop)
    assert len(seen) == 1
    assert isinstance(seen[0]["exception"], ValueError)
    assert seen[0]["connection"] is conn
    assert "slot test_queued_slot_errors_go_to_the_loop_exception_handler.<locals>.bad" in seen[0]["message"]
    assert "signal Dev.IO_ERROR" in seen[0]["message"]


def test_queued_delivery_after_disconnect_is_dropped(d: Any, loop: asyncio.AbstractEventLoop) -> None:
    got: list[str] = []
    conn = d.io_error.connect(lambda o, action: got.append(action), loop=loop)
    d.io_error.emit(operation="read", action="stop")
    conn.disconnect()
    run_pending(loop)
    assert got == []


def test_queued_to_a_closed_loop(d: Any) -> None:
    loop = asyncio.new_event_loop()
    loop.close()
    with pytest.raises(StateError, match="closed event loop"):
        d.io_error.connect(lambda o: None, loop=loop)
    with pytest.raises(TypeError, match="asyncio event loop, not str"):
        d.io_error.connect(lambda o: None, loop="main")

    loop = asyncio.new_event_loop()
    got: list[str] = []
    conn = d.io_error.connect(lambda o: got.append("queued"), loop=loop)
    d.io_error.connect(lambda o: got.append("direct"))
    loop.close()
    with pytest.raises(SlotError) as exc:
        d.io_error.emit(operation="read", action="stop")
    (err,) = exc.value.exceptions
    assert isinstance(err, StateError)
    assert "closed" in str(err) and "connection was removed" in str(err) and "signal Dev.IO_ERROR" in str(err)
    assert not conn.connected and conn not in d.io_error.connections
    d.io_error.emit(operation="read", action="stop")  # the other slot only, no error now
    assert got == ["direct", "direct"]


# --- unique and temporary connections -------------------------------------------------


class Listener:
    def __init__(self) -> None:
        self.got: list[str] = []

    def on_error(self, owner: Any, action: str) -> None:
        self.got.append(action)


def test_unique_returns_the_existing_connection(d: Any) -> None:
    got: list[str] = []

    def slot(owner: Any, action: str) -> None:
        got.append(action)

    first = d.io_error.connect(slot, unique=True)
    assert d.io_error.connect(slot, unique=True) is first
    assert d.io_error.connect(slot, unique=True, once=True) is first  # its options are the first's
    listener = Listener()
    m1 = d.io_error.connect(listener.on_error, unique=True)
    assert d.io_error.connect(listener.on_error, unique=True) is m1  # equal bound methods
    other = d.io_error.connect(lambda o: None, unique=True)
    assert len({first.id, m1.id, other.id}) == 3
    d.io_error.emit(operation="read", action="stop")
    assert got == ["stop"] and listener.got == ["stop"]
    twice = d.io_error.connect(slot)  # without unique: a second connection
    assert twice is not first
    first.disconnect()
    twice.disconnect()
    assert d.io_error.connect(slot, unique=True) not in (first, twice)


def test_unique_on_the_class_and_as_decorator(d: Any) -> None:
    def slot(owner: Any) -> None:
        pass

    c1 = Dev.io_error.connect(slot, unique=True)
    c2 = Dev.io_error.connect(unique=True)(slot)
    assert c1 is c2 and Dev.io_error.connections == (c1,)


def test_unique_from_many_threads_makes_one_connection(d: Any) -> None:
    def slot(owner: Any) -> None:
        pass

    conns: list[Connection[Any]] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        conns.append(d.io_error.connect(slot, unique=True))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in conns}) == 1 and len(d.io_error.connections) == 1


def test_connected_to(d: Any) -> None:
    got: list[str] = []
    with d.io_error.connected_to(lambda o, action: got.append(action)) as conn:
        assert isinstance(conn, Connection) and conn in d.io_error.connections
        d.io_error.emit(operation="read", action="inside")
    d.io_error.emit(operation="read", action="after")
    assert got == ["inside"] and not conn.connected
    with pytest.raises(KeyError):
        with Dev.io_error.connected_to(lambda o, action: got.append("class " + action)):
            d.io_error.emit(operation="read", action="x")
            raise KeyError("leaves the block")
    d.io_error.emit(operation="read", action="y")
    assert got == ["inside", "class x"] and Dev.io_error.connections == ()
    with d.io_error.connected_to(lambda o, action: got.append("once " + action), once=True) as c:
        d.io_error.emit(operation="read", action="1")
        d.io_error.emit(operation="read", action="2")
        assert not c.connected
    assert got[-1] == "once 1"


# --- paused delivery -------------------------------------------------------------------


def test_paused_holds_and_delivers_in_order(d: Any) -> None:
    got: list[str] = []
    d.io_error.connect(lambda o, action: got.append(action))
    Dev.io_error.connect(lambda o, action: got.append("class " + action))
    with d.io_error.paused():
        assert d.io_error.is_paused()
        d.io_error.emit(operation="read", action="1")
        d.io_error.emit(operation="write", action="2")
        with pytest.raises(WrongType):
            d.io_error.emit(operation="read", action=3)  # still checked at once
        assert got == []
    assert not d.io_error.is_paused()
    assert got == ["1", "class 1", "2", "class 2"]


def test_paused_with_a_reducer(d: Any) -> None:
    got: list[tuple[Any, str]] = []
    d.io_error.connect(lambda o, operation, action: got.append((operation, action)))

    def join(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        return {"operation": b["operation"], "action": a["action"] + "+" + b["action"]}

    with d.io_error.paused(join):
        for a in "xyz":
            d.io_error.emit(operation="read", action=a)
    assert got == [(Op.read, "x+y+z")]
    with d.io_error.paused(join, initial={"operation": "write", "action": "start"}):
        d.io_error.emit(operation="read", action="x")
    assert got[-1] == (Op.read, "start+x")
    with d.io_error.paused(lambda held: held[-1]):  # one argument: the whole list
        d.io_error.emit(operation="read", action="first")
        d.io_error.emit(operation="write", action="last")
    assert got[-1] == (Op.write, "last")
    with d.io_error.paused(join):
        pass  # nothing held: nothing delivered
    assert len(got) == 3


def test_paused_on_the_class_reduces_per_owner(d: Any) -> None:
    e = Dev.find(d.value + "-e")
    got: list[tuple[str, str]] = []
    Dev.io_error.connect(lambda o, action: got.append((o.value, action)))
    with Dev.io_error.paused(lambda a, b: {**b, "action": a["action"] + b["action"]}):
        assert d.io_error.is_paused() and e.io_error.is_paused()
        d.io_error.emit(operation="read", action="a")
        e.io_error.emit(operation="read", action="b")
        d.io_error.emit(operation="read", action="c")
    assert got == [(d.value, "ac"), (e.value, "b")]


def test_paused_nested_blocked_and_bad_reducers(d: Any) -> None:
    got: list[str] = []
    d.io_error.connect(lambda o, action: got.append(action))
    with d.io_error.paused():
        with d.io_error.paused(lambda a, b: b):  # inner: delivers with the outer, unreduced
            d.io_error.emit(operation="read", action="1")
        d.io_error.emit(operation="read", action="2")
        with d.io_error.blocked():
            d.io_error.emit(operation="read", action="dropped")  # blocking wins
        assert got == []
    assert got == ["1", "2"]
    with pytest.raises(TypeError, match="returned int, not a mapping"):
        with d.io_error.paused(lambda a, b: 3):
            d.io_error.emit(operation="read", action="x")
            d.io_error.emit(operation="read", action="y")
    with pytest.raises(UnknownMember):
        with d.io_error.paused(lambda a, b: {**b, "colour": "red"}):
            d.io_error.emit(operation="read", action="x")
            d.io_error.emit(operation="read", action="y")
    with pytest.raises(TypeError, match=r"reducer for signal Dev\.IO_ERROR of .* must be callable"):
        with d.io_error.paused("last"):
            pass
    assert got == ["1", "2"]


def test_paused_release_delivers_everything_then_raises(d: Any) -> None:
    got: list[str] = []

    def slot(owner: Any, action: str) -> None:
        got.append(action)
        if action == "bad":
            raise ValueError(action)

    d.io_error.connect(slot)
    with pytest.raises(SlotError) as exc:
        with d.io_error.paused():
            for a in ("ok", "bad", "ok2", "bad"):
                d.io_error.emit(operation="read", action=a)
    assert got == ["ok", "bad", "ok2", "bad"]
    assert "2 held emissions of signal Dev.IO_ERROR" in str(exc.value)


def test_emit_async_is_held_too(d: Any) -> None:
    got: list[str] = []
    d.io_error.connect(lambda o, action: got.append(action))

    async def main() -> None:
        with d.io_error.paused():
            await d.io_error.emit_async(operation="read", action="async")
            assert got == []

    asyncio.run(main())
    assert got == ["async"]


# --- weak and strong slots -------------------------------------------------------------


def test_weak_true_holds_any_slot_weakly(d: Any) -> None:
    got: list[str] = []

    def slot(owner: Any, action: str) -> None:
        got.append(action)

    class Callback:
        def __call__(self, owner: Any, action: str) -> None:
            got.append("object " + action)

    cb = Callback()
    c1 = d.io_error.connect(slot, weak=True)
    c2 = d.io_error.connect(cb, weak=True)
    assert c1.weak and c2.weak
    d.io_error.emit(operation="read", action="1")
    del slot, cb
    # (freed by reference counting: no gc.collect(), which would finalize other tests' garbage here)
    d.io_error.emit(operation="read", action="2")
    assert got == ["1", "object 1"]
    assert not c1.connected and not c2.connected and d.io_error.connections == ()


def test_weak_on_the_class_and_not_as_decorator(d: Any) -> None:
    got: list[str] = []

    def on_any(owner: Any, action: str) -> None:
        got.append(action)

    conn = Dev.io_error.connect(on_any, weak=True)
    assert conn.weak
    d.io_error.emit(operation="read", action="1")
    del on_any
    d.io_error.emit(operation="read", action="2")
    assert got == ["1"] and Dev.io_error.connections == ()
    # As a decorator nothing but the weak reference would hold the function.
    with pytest.raises(TypeError, match=r"weak=True\) as a decorator of signal Dev\.IO_ERROR"):
        Dev.io_error.connect(weak=True)
    with pytest.raises(TypeError, match="connect it with a call instead"):
        d.io_error.connect(weak=True)


def test_weak_false_holds_a_bound_method_strongly(d: Any) -> None:
    listener = Listener()
    conn = d.io_error.connect(listener.on_error, weak=False)
    default = d.io_error.connect(Listener().on_error)  # the default: bound methods weakly
    assert not conn.weak and default.weak
    del listener
    d.io_error.emit(operation="read", action="kept")
    assert conn.connected and conn.slot is not None
    assert conn.slot.__self__.got == ["kept"]
    assert not default.connected


def test_weak_errors(d: Any) -> None:
    with pytest.raises(TypeError, match=r"cannot be held weakly.*weak=False"):
        d.io_error.connect(operator.itemgetter(0), weak=True)
    with pytest.raises(TypeError, match="weak must be True, False or None"):
        d.io_error.connect(lambda o: None, weak="yes")
    assert d.io_error.connections == ()


# --- recursion guard -------------------------------------------------------------------


def test_a_slot_that_re_emits_without_end_gets_a_clear_error(d: Any) -> None:
    d.ping.connect(lambda o, n: o.ping.emit(n=n + 1))
    with pytest.raises(SignalRecursionError) as exc:
        d.ping.emit(n=0)
    err = exc.value
    assert isinstance(err, RecursionError) and isinstance(err, qobjects.QObjectsError)
    assert err.signal == "signal Dev.PING" and err.limit == sys.getrecursionlimit()
    assert err.depth > 50
    assert "signal Dev.PING" in str(err) and "sys.getrecursionlimit()" in str(err)
    d.ping.emit  # the signal still works afterwards  # noqa: B018


def test_recursion_through_a_class_level_slot(d: Any) -> None:
    Dev.ping.connect(lambda o, n: o.ping.emit(n=n + 1))
    with pytest.raises(SignalRecursionError, match=r"signal Dev\.PING"):
        d.ping.emit(n=0)


def test_recursion_through_other_owners_and_signals(d: Any) -> None:
    e = Dev.find(d.value + "-e")
    d.ping.connect(lambda o, n: e.ping.emit(n=n))  # ping-pong between two owners
    e.ping.connect(lambda o, n: d.ping.emit(n=n))
    with pytest.raises(SignalRecursionError, match=r"signal Dev\.PING"):
        d.ping.emit(n=0)
    d.pong.connect(lambda o, n: o.ping.emit(n=n))
    with pytest.raises(SignalRecursionError):
        d.pong.emit(n=0)


def test_the_depth_limit_is_the_recursion_limit(d: Any) -> None:
    d.ping.connect(lambda o, n: o.ping.emit(n=n + 1))
    d.ping.connect(lambda o, n: o.ping.emit(n=n + 1))  # two re-emitting slots: still one error, fast
    old = sys.getrecursionlimit()
    depth = {}
    for limit in (old, 400):
        sys.setrecursionlimit(limit)
        try:
            t0 = time.monotonic()
            with pytest.raises(SignalRecursionError) as exc:
                d.ping.emit(n=0)
            assert time.monotonic() - t0 < 5
        finally:
            sys.setrecursionlimit(old)
        assert exc.value.limit == limit
        depth[limit] = exc.value.depth
    assert depth[400] < depth[old]


def test_max_depth_is_a_named_configurable_limit(d: Any) -> None:
    seen: list[int] = []

    def again(owner: Any, n: int) -> None:
        seen.append(n)
        if n < stop:
            owner.ping.emit(n=n + 1)

    d.ping.connect(again)
    assert Dev.ping.max_depth is None
    Dev.ping.max_depth = 10
    try:
        stop = 9  # ten nested emits: within the limit
        d.ping.emit(n=0)
        assert seen == list(range(10))
        stop = 1_000
        seen.clear()
        with pytest.raises(SignalRecursionError) as exc:
            d.ping.emit(n=0)
        assert seen == list(range(10))
        err = exc.value
        assert (err.depth, err.limit, err.limit_name) == (11, 10, "Dev.ping.max_depth")
        assert "signal Dev.PING" in str(err) and "Dev.ping.max_depth = 10" in str(err)
        stop = 3
        d.ping.emit(n=0)  # the count went back to zero
    finally:
        Dev.ping.max_depth = None
    for bad in (0, -1, True, "10", 2.5):
        with pytest.raises(ValueError, match=r"max_depth of signal Dev\.PING must be a positive int or None"):
            Dev.ping.max_depth = bad
    assert Dev.ping.max_depth is None


def test_other_recursion_errors_stay_slot_errors(d: Any) -> None:
    def deep(k: int) -> int:
        return deep(k + 1)

    d.ping.connect(lambda o, n: deep(0))
    with pytest.raises(SlotError) as exc:
        d.ping.emit(n=0)
    (err,) = exc.value.exceptions
    assert type(err) is RecursionError
    # Under a few legitimately nested emits, still the slot's own recursion.
    d.pong.connect(lambda o, n: o.pong.emit(n=n + 1) if n < 3 else o.ping.emit(n=n))
    with pytest.raises(SlotError) as exc:
        d.pong.emit(n=0)
    inner: BaseException = exc.value
    while isinstance(inner, SlotError):
        inner = inner.exceptions[0]
    assert type(inner) is RecursionError


# --- check_types ---------------------------------------------------------------------------


class Named(Protocol):
    value: str


class HasColour(Protocol):
    colour: str


def read_only(owner: Named, operation: Literal[Op.read], action: Literal["stop", "report"]) -> None:  # type: ignore[valid-type]
    calls.append(("read_only", operation, action))


def small_sizes(owner: Any, sizes: list[Literal[1, 2, 3]], label: str | None) -> None:
    calls.append(("small_sizes", sizes, label))


def all_ints(owner: Any, **members: int | list[int] | None) -> None:
    calls.append(("all_ints", members))


calls: list[Any] = []


def members(err: SlotError) -> list[str]:
    """The members named by the type errors in *err*."""
    return [e.member for e in err.exceptions if isinstance(e, WrongType)]


@pytest.fixture(autouse=True)
def _clear_called() -> None:
    calls.clear()


def test_check_types_passes_matching_values(d: Any) -> None:
    d.io_error.connect(read_only, check_types=True)
    d.batch.connect(small_sizes, check_types=True)
    d.batch.connect(all_ints, check_types=True)
    d.io_error.emit(operation="read", action="stop")
    d.batch.emit(sizes=[1, 2, 3])
    assert calls == [
        ("read_only", Op.read, "stop"),
        ("small_sizes", [1, 2, 3], None),
        ("all_ints", {"sizes": [1, 2, 3], "label": None}),
    ]


def test_check_types_names_the_slot_and_member(d: Any) -> None:
    conn = d.io_error.connect(read_only, check_types=True)
    seen: list[str] = []
    d.io_error.connect(lambda o, action: seen.append(action))  # other slots still run
    with pytest.raises(SlotError) as exc:
        d.io_error.emit(operation="write", action="stop")
    (err,) = exc.value.exceptions
    assert isinstance(err, WrongType) and err.member == "operation"
    assert f"slot read_only (connection {conn.id}) of signal Dev.IO_ERROR" in str(err)
    assert "Literal[<Op.read: 'read'>]" in str(err)
    assert calls == [] and seen == ["stop"]
    with pytest.raises(SlotError, match="1 slot") as exc:
        d.io_error.emit(operation="read", action="ignore")
    assert members(exc.value) == ["action"]


def test_check_types_generics_unions_protocols(d: Any) -> None:
    d.batch.connect(small_sizes, check_types=True)
    with pytest.raises(SlotError) as exc:
        d.batch.emit(sizes=[1, 2, 3, 4])  # every item is checked, not only the first
    assert members(exc.value) == ["sizes"]
    assert "list[Literal[1, 2, 3]]" in str(exc.value.exceptions[0])

    def labelled(owner: Any, label: int | None) -> None:
        calls.append(label)

    d.batch.connect(labelled, check_types=True)
    with pytest.raises(SlotError) as exc:
        d.batch.emit(sizes=[1], label="tag")
    assert members(exc.value) == ["label"]
    d.batch.disconnect(labelled)
    d.batch.connect(all_ints, check_types=True)
    with pytest.raises(SlotError) as exc:
        d.batch.emit(sizes=[1], label="tag")
    assert members(exc.value) == ["label"]

    def wants_colour(owner: HasColour) -> None:
        calls.append("colour")

    d.io_error.connect(wants_colour, check_types=True)
    with pytest.raises(SlotError) as exc:
        d.io_error.emit(operation="read", action="stop")
    assert "the owner" in str(exc.value.exceptions[0])
    assert "colour" not in calls


def test_check_types_off_by_default_and_on_the_class(d: Any) -> None:
    plain = d.io_error.connect(read_only)  # annotations not checked at delivery
    assert plain._fast
    d.io_error.emit(operation="write", action="whatever")
    assert calls == [("read_only", Op.write, "whatever")]
    plain.disconnect()

    def slot(owner: Any, action: Literal["stop"]) -> None:
        calls.append(action)

    on_any: Connection[Any] = Dev.io_error.connect(check_types=True, once=True)(slot)

    assert on_any.check_types and not on_any._fast
    with pytest.raises(SlotError):
        d.io_error.emit(operation="read", action="report")
    d.io_error.emit(operation="read", action="stop")
    assert calls[-1] == "stop" and not on_any.connected


def test_check_types_needs_resolvable_annotations(d: Any) -> None:
    def slot(owner: Any, action: NoSuchType) -> None:  # type: ignore[name-defined]  # noqa: F821
        pass

    d.io_error.connect(slot)  # unresolvable annotations are trusted without check_types
    with pytest.raises(SlotSignatureError, match=r"check_types=True needs its annotations.*NoSuchType"):
        d.io_error.connect(slot, check_types=True)
