"""Remote signal connections: what a session connected on its server.

Each per-owner connection made through a session with explicit handles is
a :class:`Remote`: a local token (sent as ``user_data`` and echoed in every
push) and, once the server answered, the server's connection id. The
registry closes three gaps:

- a ``disconnect`` issued before the ``connect`` reply arrived marks the
  entry cancelled, and the reply then triggers the server-side disconnect;
- a slot held weakly (a bound method) whose object is collected drops its
  server connection too (the session is told from the collector's thread and
  does the rest on its own);
- after a reconnect, :meth:`RemoteSignals.live` lists what to connect again.
"""

from __future__ import annotations

import inspect
import itertools
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qobjects.objects import Handle
from qobjects.signals import BoundSignal, Connection

__all__ = ["Remote", "RemoteSignals"]


@dataclass(slots=True, eq=False)
class Remote:
    """A remote connection: local token (sent as user_data) and server id."""

    token: int
    bound: BoundSignal
    conn: Connection[Any]
    server_id: int | None = None
    cancelled: bool = False  # disconnected before the connect reply came

    def owner_json(self) -> dict[str, object]:
        owner = self.bound.owner
        assert isinstance(owner, Handle)
        return {"__handle__": type(owner).__handle_name__, "data": owner.value}


class RemoteSignals:
    """The remote connections of one session, by token.

    :param collected: called (from any thread) with the token of a remote
        connection whose weakly held slot was garbage-collected.
    """

    def __init__(self, collected: Callable[[int], None]) -> None:
        self._tokens = itertools.count(1)
        self._lock = threading.Lock()
        self.by_token: dict[int, Remote] = {}
        self._by_conn: dict[Connection[Any], Remote] = {}
        self._collected = collected

    def __len__(self) -> int:
        return len(self.by_token)

    def add(self, bound: BoundSignal, conn: Connection[Any]) -> Remote:
        """Register a new remote connection (before its connect is sent)."""
        rem = Remote(next(self._tokens), bound, conn)
        with self._lock:
            self.by_token[rem.token] = rem
            self._by_conn[conn] = rem
        slot = conn._ref() if conn._ref is not None else None
        if slot is not None and inspect.ismethod(slot):
            # The connection holds the method weakly; when its object goes,
            # the server connection must go too.
            weakref.finalize(slot.__self__, self._collected, rem.token)
        return rem

    def pop(self, conn: Connection[Any]) -> Remote | None:
        """Remove the entry of *conn* (None if it has none)."""
        with self._lock:
            rem = self._by_conn.pop(conn, None)
            if rem is not None:
                self.by_token.pop(rem.token, None)
        return rem

    def pop_token(self, token: int) -> Remote | None:
        with self._lock:
            rem = self.by_token.pop(token, None)
            if rem is not None:
                self._by_conn.pop(rem.conn, None)
        return rem

    def live(self) -> list[Remote]:
        """The entries to restore after a reconnect."""
        with self._lock:
            return [rem for rem in self.by_token.values() if rem.conn.connected]

    def forget_server_ids(self) -> None:
        """The connection is gone, and the server's ids with it."""
        with self._lock:
            for rem in self.by_token.values():
                rem.server_id = None

    def clear(self) -> list[Remote]:
        with self._lock:
            out = list(self.by_token.values())
            self.by_token.clear()
            self._by_conn.clear()
        return out
