"""A server session's signal connections: ``connect``, ``disconnect``, pushes.

The server holds one local connection per owner's signal that any session
connected to (a :class:`Fanout`), however many remote connections there are:
each emission's data is encoded once and pushed once per remote connection,
and ending a session only removes its own entries, so dropping any number of
remote connections is linear.

A remote connection remembers its owner's canonical form: ``disconnect``
compares it, and never looks the owner up again (it may be gone).
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from qobjects.errors import GenericError, ProtocolError, QMPError
from qobjects.objects import Handle
from qobjects.qmp.framing import encode_json
from qobjects.qmp.protocol import cache_key, signal_data, signal_head, signal_line
from qobjects.signals import BoundSignal, Connection, Signal

if TYPE_CHECKING:
    from qobjects.objects import Namespace
    from qobjects.owner import OwnerT

__all__ = ["Fanout", "RemoteConnection", "RemoteConnections", "RemoteHost", "find_handle", "timestamp"]

log = logging.getLogger("qobjects.qmp.server")

# Connection ids: unique in the process, so that no two sessions share one.
_ids = itertools.count(1)

_CACHE_SIZE = 1024


def timestamp() -> tuple[int, int]:
    now = time.time()
    seconds = int(now)
    return seconds, int((now - seconds) * 1_000_000)


def find_handle(cls: type[OwnerT], value: object) -> OwnerT:
    """``cls.find(value)``, with a finder's unexpected exception logged and
    turned into a neutral error reply.

    :raises InvalidHandleValue: nothing stands behind *value*.
    :raises GenericError: the finder raised something else.
    """
    try:
        return cls.find(value)
    except QMPError:
        raise
    except Exception:
        log.exception("the finder of %s failed for %r", cls.__handle_name__, value)
        raise GenericError(
            f"cannot look up {cls.__handle_name__} {encode_json(value)[:100]}: "
            "the server failed (see its log)"
        ) from None


class RemoteConnection:
    """One ``connect`` of one session."""

    __slots__ = ("fanout", "head", "id", "owner_key")

    def __init__(self, id: int, fanout: Fanout, head: bytes, owner_key: str) -> None:
        self.id = id
        self.fanout = fanout
        self.head = head  # the encoded start of each push
        self.owner_key = owner_key  # the owner's canonical form, encoded

    def __repr__(self) -> str:
        return f"<RemoteConnection {self.id} {self.fanout.signal.name} of {self.owner_key}>"


class Fanout:
    """The server's one local connection to one owner's signal.

    Each emission's data and timestamp are encoded once, then pushed to every
    remote connection on that signal and owner, of every session.
    """

    __slots__ = ("bound", "local", "signal", "table", "targets")

    def __init__(self, bound: BoundSignal, table: dict[BoundSignal, Fanout]) -> None:
        self.bound = bound
        self.signal: Signal = bound.signal
        self.table = table  # the server's fanouts, by bound signal
        # remote id -> (the session's push, the connection's encoded head), in connection order
        self.targets: dict[int, tuple[Callable[[bytes], None], bytes]] = {}
        self.local: Connection[Any] = bound.connect(self._pusher())

    def _pusher(self) -> Callable[..., None]:
        specs = self.signal.specs
        pys = [s.py for s in specs]
        targets = self.targets
        datas: dict[object, str | None] = {}
        from qobjects.codecs import encode_members

        def pusher(_owner: Handle, **values: Any) -> None:
            try:
                key: object = cache_key(values, pys)
                data = datas.get(key, _MISSING)
            except TypeError:  # unhashable or uncacheable values
                key, data = None, _MISSING
            if data is _MISSING:
                try:
                    data = signal_data(encode_members(specs, values, True))
                except ProtocolError as err:
                    log.error("%s not pushed: %s", self.signal.describe(), err)
                    return
                if key is not None and len(datas) < _CACHE_SIZE:
                    datas[key] = data
            tail = signal_line(data, timestamp())
            # A copy: a push may cut a session, which drops its connections.
            for push, head in list(targets.values()):
                push(head + tail)

        return pusher

    def remove(self, cid: int) -> None:
        """Drop remote connection *cid*; the last one takes the local connection along."""
        del self.targets[cid]
        if not self.targets:
            self.close()

    def close(self) -> None:
        self.targets.clear()
        if self.table.get(self.bound) is self:
            del self.table[self.bound]
        self.local.disconnect(missing_ok=True)


_MISSING: Any = object()


def owner_key(owner: object) -> str | None:
    """The canonical form *owner* as one comparable string, or None if it is not one."""
    if not (type(owner) is dict and len(owner) == 2 and "__handle__" in owner and "data" in owner):
        return None
    try:
        return encode_json([owner["__handle__"], owner["data"]])
    except (TypeError, ValueError):
        return None


def _shown(key: str) -> str:
    tname, value = json.loads(key)
    return f"{tname} {encode_json(value)}"


class RemoteHost(Protocol):
    """What the remote connections of a session read of their server
    (:class:`~qobjects.qmp.server.Server`): its namespace, its limits and the
    tables shared by all sessions."""

    namespace: Namespace
    max_connections: int
    max_user_data: int
    #: every session's signal connections, by id
    connections: dict[int, RemoteConnection]
    #: one local connection per owner's signal, shared by the sessions
    _fanouts: dict[BoundSignal, Fanout]


class RemoteConnections:
    """The signal connections of one session.

    :param server: the server (its namespace, limits and connection table).
    :param push: the session's output.
    """

    def __init__(self, server: RemoteHost, push: Callable[[bytes], None]) -> None:
        self.server = server
        self.push = push
        self.conns: dict[int, RemoteConnection] = {}

    def __len__(self) -> int:
        return len(self.conns)

    def _owner(self, owner: object) -> tuple[type[Handle], Handle]:
        """Resolve a canonical owner.

        :raises QMPError: not canonical, an unknown type, or nothing behind it.
        """
        if owner_key(owner) is None:
            raise GenericError(
                '\'owner\' must be a handle in canonical form {"__handle__": TYPE, "data": VALUE}'
            )
        assert isinstance(owner, dict)
        tname = owner["__handle__"]
        handles = self.server.namespace.handles
        cls = handles.get(tname) if isinstance(tname, str) else None
        if cls is None:
            known = ", ".join(handles) or "none"
            raise GenericError(f"unknown handle type {tname!r} (handle types: {known})")
        return cls, find_handle(cls, owner["data"])

    def connect(self, signal_name: str, owner_json: object, user_data: object) -> int:
        """A new remote connection; its id.

        :raises QMPError: what the client sees (every problem, and the limits).
        """
        server = self.server
        if len(self.conns) >= server.max_connections:
            raise GenericError(
                f"too many signal connections: a session may have at most {server.max_connections} "
                "connections (max_connections); disconnect some first"
            )
        try:
            user_json = encode_json(user_data)
        except (TypeError, ValueError) as err:  # the protocol let it through: cannot happen from JSON
            raise GenericError(f"'user_data' cannot be sent back as JSON: {err}") from None
        if len(user_json) > server.max_user_data:
            raise GenericError(
                f"'user_data' is {len(user_json)} bytes encoded; at most {server.max_user_data} bytes "
                "are allowed (max_user_data)"
            )
        cls, owner = self._owner(owner_json)
        signal = cls._signals.get(signal_name)
        if signal is None:
            handles = server.namespace.handles
            owners = [n for n, h in handles.items() if signal_name in h._signals]
            mine = ", ".join(cls._signals) or "none"
            if owners:
                desc = (
                    f"signal '{signal_name}' belongs to {', '.join(owners)}, "
                    f"not {cls.__name__} (its signals: {mine})"
                )
            else:
                desc = f"unknown signal '{signal_name}' (signals of {cls.__name__}: {mine})"
            raise GenericError(desc)
        bound: BoundSignal = getattr(owner, signal.attr)
        fanouts = server._fanouts
        fanout = fanouts.get(bound)
        if fanout is None:
            fanout = fanouts[bound] = Fanout(bound, fanouts)
        canonical = {"__handle__": cls.__handle_name__, "data": owner.value}
        cid = next(_ids)
        key = owner_key(canonical)
        assert key is not None
        rc = RemoteConnection(cid, fanout, signal_head(signal.name, canonical, user_data), key)
        fanout.targets[cid] = (self.push, rc.head)
        self.conns[cid] = rc
        server.connections[cid] = rc
        return cid

    def disconnect(self, cid: object, owner_json: object) -> None:
        """Drop remote connection *cid* of this session, on *owner_json*.

        :raises QMPError: no such connection in this session (another
            session's id gets the same answer), or another owner.
        """
        rc = self.conns.get(cid) if type(cid) is int else None
        if rc is None:
            raise GenericError(f"no connection {encode_json(cid)[:40]} in this session")
        key = owner_key(owner_json)
        if key is None:
            raise GenericError(
                '\'owner\' must be a handle in canonical form {"__handle__": TYPE, "data": VALUE}'
            )
        if key != rc.owner_key:
            raise GenericError(f"connection {rc.id} is on owner {_shown(rc.owner_key)}, not {_shown(key)}")
        self._drop(rc)

    def _drop(self, rc: RemoteConnection) -> None:
        del self.conns[rc.id]
        self.server.connections.pop(rc.id, None)
        rc.fanout.remove(rc.id)

    def drop_all(self) -> None:
        """End every connection of the session (linear in their number)."""
        table = self.server.connections
        emptied: dict[int, Fanout] = {}
        for cid, rc in self.conns.items():
            table.pop(cid, None)
            fanout = rc.fanout
            fanout.targets.pop(cid, None)
            if not fanout.targets:
                emptied[id(fanout)] = fanout
        self.conns.clear()
        for fanout in emptied.values():
            if not fanout.targets:
                fanout.close()
