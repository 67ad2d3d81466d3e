"""Local signals: connect, emit, disconnect, slots, blocking, threads."""

from __future__ import annotations

import asyncio
import gc
import threading
from typing import Any

import pytest

import qobjects
from qobjects import (
    BoundSignal,
    Connection,
    MissingMember,
    NotConnected,
    Signal,
    SlotError,
    SlotSignatureError,
    ValidationError,
    WrongType,
)

SCHEMA = """
{ 'handle': 'Dev', 'data': 'str' }
{ 'handle': 'Port', 'data': 'int' }
{ 'enum': 'Op', 'data': ['read', 'write'] }
{ 'struct': 'Where', 'data': { 'sector': 'int', '*note': 'str' } }
{ 'signal': 'IO_ERROR', 'owner': 'Dev', 'data': { 'operation': 'Op', 'action': 'str' } }
{ 'signal': 'MOVED', 'owner': 'Dev', 'data': { 'tray-open': 'bool', '*where': 'Where' } }
{ 'signal': 'PING', 'owner': 'Dev' }
{ 'signal': 'IO_ERROR', 'owner': 'Port', 'data': { 'operation': 'Op', 'action': 'str' } }
"""


class Target:
    def __init__(self, name: str) -> None:
        self.name = name


@pytest.fixture
def ns() -> qobjects.Namespace:
    ns = qobjects.build(qobjects.parse_schema(SCHEMA))
    targets = {n: Target(n) for n in ("a", "b", "c")}
    ns.Dev.finder(targets.get)  # type: ignore[attr-defined]
    ns.Port.finder(lambda v: Target(str(v)) if v < 100 else None)  # type: ignore[attr-defined]
    return ns


def dev(ns: qobjects.Namespace, name: str = "a") -> Any:
    return ns.types["Dev"].find(name)  # type: ignore[attr-defined]


def test_class_attribute_is_signal_and_instance_attribute_is_bound(ns: qobjects.Namespace) -> None:
    Dev: Any = ns.types["Dev"]
    assert isinstance(Dev.io_error, Signal)
    d = dev(ns)
    assert isinstance(d.io_error, BoundSignal)
    assert d.io_error is d.io_error
    assert d.io_error.owner is d


def test_emit_calls_slot_with_owner_and_members(ns: qobjects.Namespace) -> None:
    d = dev(ns)
    got: list[tuple[Any, ...]] = []
    conn = d.io_error.connect(lambda owner, operation, action: got.append((owner, operation, action)))
    assert isinstance(conn, Connection)
    assert isinstance(conn.id, int)
    d.io_error.emit(operation="read", action="stop")
    assert got == [(d, "read", "stop")]
    assert type(got[0][1]) is ns.types["Op"]


def test_decorator_form_leaves_usable_function(ns: qobjects.Namespace) -> None:
    d = dev(ns)
    got: list[str] = []
    bound: BoundSignal = d.io_error

    @bound.connect
    def on_error(owner: Any, operation: str, action: str) -> str:
        got.append(action)
        return "direct"

    assert isinstance(on_error, Connection)
    assert on_error(d, operation="read", action="x") == "direct"
    d.io_error.emit(operation="write", action="report")
    assert got == ["x", "report"]


def test_connection_ids_are_unique(ns: qobjects.Namespace) -> None:
    d = dev(ns)
    ids = {d.io_error.connect(lambda o, **k: None).id for _ in range(100)}
    assert len(ids) == 100


def test_connection_order_and_optional_members_default_to_none(ns: qobjects.Namespace) -> None:
    d = dev(ns)
    order: list[Any] = []
    d.moved.connect(lambda o, tray_open, where: order.append(("first", tray_open, where)))
    d.moved.connect(lambda o, **kw: order.append(("second", kw)))
    d.moved.emit(tray_open=True)
    assert order == [("first", True, None), ("second", {"tray_open": True, "where": None})]


def test_shorter_slot_gets_only_what_it_names(ns: qobjects.Namespace) -> None:
    d = dev(ns)
    got: list[Any] = []
    d.io_error.connect(lambda owner, action: got.append(action))
    d.io_error.connect(lambda owner: got.append("owner only"))
    d.io_error.emit(operation="read", action="stop")
    assert got == ["stop", "owner only"]


@pytest.mark.parametrize(
    ("slot", "message"),
    [
        (lambda: None, "first positional parameter"),
        (lambda *, operation: None, "first positional parameter"),
        (lambda owner, bogus: None, "needs parameter 'bogus'"),
        (lambda owner, operation, extra, action: None, "needs parameter 'extra'"),
    ],
)
def test_bad_slot_signatures_are_rejected_at_connect(ns: qobjects.Namespace, slot: Any, message: str) -> None:
    d = dev(ns)
    with pytest.raises(SlotSignatureError, match=message):
        d.io_error.connect(slot)
    assert d.io_error.connections == ()


def test_slot_with_defaulted_unknown_parameter_is_accepted(ns: qobjects.Namespace) -> None:
    d = dev(ns)
    got: list[Any] = []
    d.io_error.connect(lambda owner, action, extra=5: got.append((action, extra)))
    d.io_error.emit(operation="read", action="stop")
    assert got == [("stop", 5)]


def test_emit_validates_data(ns: qobjects.Namespace) -> None:
    d = dev(ns)
    d.io_error.connect(lambda o, **k: pytest.fail("slot must not run"))
    with pytest.raises(WrongType) as exc:
        d.io_error.emit(operation="sideways", action="stop")
    assert exc.value.member == "operation"
    assert "Op" in str(exc.value) and "'sideways'" in str(exc.value)
    with pytest.raises(WrongType, match="member 'action': expected str, got int"):
        d.io_error.emit(operation="read", action=3)
    with pytest.raises(MissingMember, match="member 'action'"):
        d.io_error.emit(operation="read")
    # emit's members are its parameters: a keyword naming none is Python's
    # own TypeError, naming the function and the keyword (no **kwargs dict
    # on every emit); the same without compiling (QOBJECTS_NO_COMPILE=1).
    unexpected = r"^Dev\.io_error\.emit\(\) got an unexpected keyword argument"
    with pytest.raises(TypeError, match=unexpected + " 'colour'"):
        d.io_error.emit(operation="read", action="stop", colour="red")
    with pytest.raises(TypeError, match=unexpected + " 'tray-open'"):
        d.io_error.emit(**{"operation": "read", "action": "stop", "tray-open": True})
    with pytest.raises(TypeError, match=r"Dev\.io_error\.emit\(\) takes 0 positional arguments"):
        d.io_error.emit("read", "stop")
    with pytest.raises(WrongType, match="member 'where': expected Where, got dict"):
        d.moved.emit(tray_open=True, where={"sector": 1})
    with pytest.raises(WrongType, match="expected bool, got int"):
        d.moved.emit(tray_open=1)
    assert isinstance(WrongType("w", "m", "a", "b"), TypeError)
    assert issubclass(ValidationError, qobjects.QObjectsError)


def test_emit_with_struct_member(ns: qobjects.Namespace) -> None:
    d = dev(ns)
    got: list[Any] = []
    d.moved.connect(lambda o, where, tray_open: got.append(where))
    w = ns.types["Where"](sector=7)
    d.moved.emit(tray_open=False, where=w)
    assert got == [w]


def test_signal_without_data(ns: qobjects.Namespace) -> None:
    d = dev(ns)
    got: list[Any] = []
    d.ping.connect(got.append)
    d.ping.emit()
    assert got == [d]
    with pytest.raises(TypeError, match=r"^Dev\.ping\.emit\(\) got an unexpected keyword argument 'x'"):
        d.ping.emit(x=1)


def test_per_owner_delivery(ns: qobjects.Namespace) -> None:
    a, b = dev(ns, "a"), dev(ns, "b")
    got: list[str] = []
    a.io_error.connect(lambda o, **k: got.append(f"a:{o}"))
    b.io_error.connect(lambda o, **k: got.append(f"b:{o}"))
    a.io_error.emit(operation="read", action="stop")
    assert got == ["a:a"]


def test_same_value_is_same_owner(ns: qobjects.Namespace) -> None:
    Dev: Any = ns.types["Dev"]
    a1 = Dev.find("a")
    got: list[Any] = []
    a1.io_error.connect(lambda o, **k: got.append(o))
    del a1
    gc.collect()
    a2 = Dev.find("a")
    a3 = Dev.find("a")
    assert a2 == a3 and hash(a2) == hash(a3)
    a3.io_error.emit(operation="read", action="stop")
    assert got == [a2]
    assert a2 != Dev.find("b")


def test_class_level_connection_reaches_every_owner_after_per_owner(ns: qobjects.Namespace) -> None:
    Dev: Any = ns.types["Dev"]
    a, b = dev(ns, "a"), dev(ns, "b")
    got: list[str] = []
    a.io_error.connect(lambda o, **k: got.append("owner"))
    conn = Dev.io_error.connect(lambda o, **k: got.append(f"class:{o}"))
    a.io_error.emit(operation="read", action="stop")
    b.io_error.emit(operation="read", action="stop")
    assert got == ["owner", "class:a", "class:b"]
    Dev.io_error.disconnect(conn)
    a.io_error.emit(operation="read", action="stop")
    assert got[-1] == "owner"


def test_other_handle_type_has_own_signal_namespace(ns: qobjects.Namespace) -> None:
    Dev: Any = ns.types["Dev"]
    Port: Any = ns.types["Port"]
    got: list[str] = []
    Dev.io_error.connect(lambda o, **k: got.append("dev"))
    Port.find(5).io_error.emit(operation="read", action="x")
    assert got == []


def test_disconnect_by_connection_id_or_slot(ns: qobjects.Namespace) -> None:
    d = dev(ns)
    got: list[int] = []

    def slot(owner: Any, **kw: Any) -> None:
        got.append(1)

    c1 = d.io_error.connect(slot)
    c2 = d.io_error.connect(slot)
    c3 = d.io_error.connect(lambda o, **k: got.append(3))
    d.io_error.disconnect(c3.id)
    d.io_error.emit(operation="read", action="stop")
    assert got == [1, 1]
    d.io_error.disconnect(slot)  # every connection of that slot
    assert not c1.connected and not c2.connected
    d.io_error.emit(operation="read", action="stop")
    assert got == [1, 1]
    with pytest.raises(NotConnected):
        d.io_error.disconnect(c1)
    with pytest.raises(NotConnected):
        d.io_error.disconnect(99999999)
    d.io_error.disconnect(c1, missing_ok=True)
    c4 = d.io_error.connect(slot)
    c4.disconnect()
    with pytest.raises(NotConnected):
        c4.disconnect()


def test_once(ns: qobjects.Namespace) -> None:
    d = dev(ns)
    got: list[str] = []
    conn = d.io_error.connect(lambda o, action: got.append(action), once=True)
    d.io_error.emit(operation="read", action="1")
    d.io_error.emit(operation="read", action="2")
    assert got == ["1"]
    assert not conn.connected


def test_blocked_per_owner_and_per_class(ns: qobjects.Namespace) -> None:
    Dev: Any = ns.types["Dev"]
    a, b = dev(ns, "a"), dev(ns, "b")
    got: list[str] = []
    a.io_error.connect(lambda o, **k: got.append("a"))
    b.io_error.connect(lambda o, **k: got.append("b"))
    with a.io_error.blocked():
        a.io_error.emit(operation="read", action="stop")
        b.io_error.emit(operation="read", action="stop")
        with pytest.raises(WrongType):  # data is still checked while blocked
            a.io_error.emit(operation="nope", action="stop")
    assert got == ["b"]
    with Dev.io_error.blocked():
        a.io_error.emit(operation="read", action="stop")
        b.io_error.emit(operation="read", action="stop")
    assert got == ["b"]
    a.io_error.emit(operation="read", action="stop")
    assert got == ["b", "a"]


def test_failing_slot_does_not_stop_others(ns: qobjects.Namespace) -> None:
    d = dev(ns)
    got: list[str] = []

    def bad(owner: Any, **kw: Any) -> None:
        raise ValueError("boom")

    d.io_error.connect(bad)
    d.io_error.connect(lambda o, **k: got.append("ran"))
    with pytest.raises(SlotError) as exc:
        d.io_error.emit(operation="read", action="stop")
    assert got == ["ran"]
    assert isinstance(exc.value, ExceptionGroup)
    assert isinstance(exc.value, qobjects.QObjectsError)
    assert [type(e) for e in exc.value.exceptions] == [ValueError]
    assert exc.value.slots == (bad,)
    assert "bad" in exc.value.exceptions[0].__notes__[0]


def test_single_failing_slot_raises_slot_error(ns: qobjects.Namespace) -> None:
    d = dev(ns)

    def bad(owner: Any, **kw: Any) -> None:
        raise KeyError("k")

    d.io_error.connect(bad)
    with pytest.raises(SlotError) as exc:
        d.io_error.emit(operation="read", action="stop")
    assert isinstance(exc.value.exceptions[0], KeyError)


def test_bound_methods_are_held_weakly(ns: qobjects.Namespace) -> None:
    d = dev(ns)
    got: list[str] = []

    class Listener:
        def on_error(self, owner: Any, action: str) -> None:
            got.append(action)

    listener = Listener()
    conn = d.io_error.connect(listener.on_error)
    d.io_error.emit(operation="read", action="1")
    del listener
    gc.collect()
    d.io_error.emit(operation="read", action="2")
    assert got == ["1"]
    assert not conn.connected
    assert d.io_error.connections == ()


def test_plain_functions_and_lambdas_are_held_strongly(ns: qobjects.Namespace) -> None:
    d = dev(ns)
    got: list[int] = []
    d.io_error.connect(lambda o, **k: got.append(1))
    gc.collect()
    d.io_error.emit(operation="read", action="stop")
    assert got == [1]


def test_connected_owner_is_kept_alive(ns: qobjects.Namespace) -> None:
    Dev: Any = ns.types["Dev"]
    got: list[Any] = []
    Dev.find("c").io_error.connect(lambda o, **k: got.append(o.value))
    gc.collect()
    Dev.find("c").io_error.emit(operation="read", action="stop")
    assert got == ["c"]


def test_coroutine_slots(ns: qobjects.Namespace) -> None:
    d = dev(ns)
    got: list[str] = []

    async def slot(owner: Any, action: str) -> None:
        await asyncio.sleep(0)
        got.append(action)

    d.io_error.connect(slot)

    async def main() -> None:
        d.io_error.emit(operation="read", action="scheduled")
        assert got == []
        await asyncio.sleep(0.01)
        assert got == ["scheduled"]
        await d.io_error.emit_async(operation="read", action="awaited")
        assert got == ["scheduled", "awaited"]

    asyncio.run(main())
    with pytest.raises(SlotError) as exc:
        d.io_error.emit(operation="read", action="no loop")
    assert "running event loop" in str(exc.value.exceptions[0])


def test_emit_async_collects_failures(ns: qobjects.Namespace) -> None:
    d = dev(ns)

    async def bad(owner: Any) -> None:
        raise RuntimeError("async boom")

    d.io_error.connect(bad)
    with pytest.raises(SlotError):
        asyncio.run(d.io_error.emit_async(operation="read", action="stop"))


def test_threads_lose_and_duplicate_nothing(ns: qobjects.Namespace) -> None:
    d = dev(ns)
    counts: dict[int, int] = {}
    lock = threading.Lock()
    stable: list[Connection[Any]] = []
    for i in range(4):

        def slot(owner: Any, i: int = i, **kw: Any) -> None:
            with lock:
                counts[i] = counts.get(i, 0) + 1

        stable.append(d.io_error.connect(slot))
    emits_per_thread = 2000
    errors: list[BaseException] = []

    def emitter() -> None:
        try:
            for _ in range(emits_per_thread):
                d.io_error.emit(operation="read", action="stop")
        except BaseException as err:
            errors.append(err)

    def churner() -> None:
        try:
            for _ in range(500):
                c = d.io_error.connect(lambda o, **k: None)
                d.io_error.disconnect(c)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=emitter) for _ in range(4)]
    threads += [threading.Thread(target=churner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert counts == {i: 4 * emits_per_thread for i in range(4)}
    assert len(d.io_error.connections) == 4


def test_blinker_notifications(ns: qobjects.Namespace) -> None:
    from qobjects.signals import connected, disconnected

    Dev: Any = ns.types["Dev"]
    seen: list[tuple[str, int]] = []

    def on_connect(sender: Any, connection: Connection[Any], owner: Any) -> None:
        seen.append(("connected", connection.id))

    def on_disconnect(sender: Any, connection: Connection[Any], owner: Any) -> None:
        seen.append(("disconnected", connection.id))

    connected.connect(on_connect, sender=Dev.io_error)
    disconnected.connect(on_disconnect, sender=Dev.io_error)
    try:
        c = dev(ns).io_error.connect(lambda o, **k: None)
        c.disconnect()
    finally:
        connected.disconnect(on_connect, sender=Dev.io_error)
        disconnected.disconnect(on_disconnect, sender=Dev.io_error)
    assert seen == [("connected", c.id), ("disconnected", c.id)]


def test_slot_annotations_are_checked_at_connect(ns: qobjects.Namespace) -> None:
    d = dev(ns)
    Dev: Any = ns.types["Dev"]
    Op: Any = ns.types["Op"]

    def wrong_member(owner: Any, operation: int) -> None: ...

    def wrong_owner(owner: int, operation: str) -> None: ...

    def fine(owner: qobjects.Handle, operation: str, action: str) -> None: ...

    with pytest.raises(SlotSignatureError, match="'operation' is annotated int"):
        d.io_error.connect(wrong_member)
    with pytest.raises(SlotSignatureError, match="passes the owner as Dev"):
        d.io_error.connect(wrong_owner)
    d.io_error.connect(fine)  # wider types are fine, as for mypy
    fine.__annotations__["operation"] = Op
    d.io_error.connect(fine)
    assert Dev.io_error.owner_class is Dev


def test_saved_emit_reaches_later_connections(ns: qobjects.Namespace) -> None:
    d = dev(ns)
    emit = d.io_error.emit  # saved before any connection
    got: list[str] = []
    emit(operation="read", action="none yet")
    c1 = d.io_error.connect(lambda o, action: got.append(f"1:{action}"))
    emit(operation="read", action="a")
    d.io_error.connect(lambda o, action: got.append(f"2:{action}"))
    emit(operation="read", action="b")
    c1.disconnect()
    with d.io_error.blocked():
        emit(operation="read", action="blocked")
    emit(operation="read", action="c")
    assert got == ["1:a", "1:b", "2:b", "2:c"]


def test_member_names_cannot_shadow_emit_internals() -> None:
    ns = qobjects.build(
        qobjects.parse_schema(
            "{ 'handle': 'Hh', 'data': 'str' }\n"
            "{ 'signal': 'ODD', 'owner': 'Hh',"
            "  'data': { 'owner': 'str', 'c': 'int', 'e': 'int', 'self': 'str' } }"
        )
    )
    Hh: Any = ns.types["Hh"]
    Hh.finder(lambda v: v)
    h = Hh.find("x")
    got: list[Any] = []
    h.odd.connect(lambda o, **kw: got.append((o, kw)))
    h.odd.emit(owner="o", c=1, e=2, self="s")
    assert got == [(h, {"owner": "o", "c": 1, "e": 2, "self": "s"})]
