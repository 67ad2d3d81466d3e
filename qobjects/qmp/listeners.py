"""Event listeners: ``session.listen(*names)`` and the events they hold.

A listener is a queue of :class:`EventMessage` that the session fills with
the QMP events whose name it accepts. It is a context manager (removed on
exit) and an iterator: ``for event in listener`` (a synchronous session) or
``async for event in listener`` (an asynchronous one). Iteration ends when
the listener is removed or its session closes.

A listener holds at most ``max_queued`` events (:data:`MAX_QUEUED` by
default): when it is full, the oldest event is dropped and a warning logged.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_QUEUED", "AsyncEventListener", "EventListener", "EventMessage"]

log = logging.getLogger(__name__)

#: Events a listener holds before it drops the oldest.
MAX_QUEUED = 10_000


@dataclass(frozen=True, slots=True)
class EventMessage:
    """One QMP event as a listener sees it.

    :ivar name: the event's name (``BLOCK_IO_ERROR``).
    :ivar data: the members by Python name, decoded into the schema's values
        (enums, handles of the session, structs) when the schema knows the
        event; the raw JSON object otherwise.
    :ivar timestamp: ``(seconds, microseconds)``.
    :ivar raw: the ``data`` member as it came over the wire (None if absent).
    """

    name: str
    data: dict[str, Any]
    timestamp: tuple[int, int]
    raw: dict[str, Any] | None

    def __getitem__(self, key: str) -> Any:
        return self.data[key]


class _Listener:
    """What both kinds of listener share: a name filter and a bounded queue."""

    def __init__(
        self, names: Iterable[str], remove: Callable[[Any], None], max_queued: int = MAX_QUEUED
    ) -> None:
        if max_queued < 1:
            raise ValueError(f"max_queued must be at least 1, not {max_queued}")
        self.names: frozenset[str] | None = frozenset(names) or None
        self.max_queued = max_queued
        self._remove = remove
        self._queue: collections.deque[EventMessage | None] = collections.deque()
        self._closed = False
        self.dropped = 0

    def accepts(self, name: str) -> bool:
        """Whether this listener takes events called *name* (every one without a filter)."""
        return self.names is None or name in self.names

    @property
    def closed(self) -> bool:
        return self._closed

    def _push(self, item: EventMessage | None) -> None:
        queue = self._queue
        if item is not None and len(queue) >= self.max_queued:
            queue.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning(
                    "event listener full (%d events): dropped %d so far", self.max_queued, self.dropped
                )
        queue.append(item)

    def remove(self) -> None:
        """Stop receiving events; iteration ends after the queued ones."""
        if not self._closed:
            self._remove(self)
            self._closed = True
            self._put(None)

    def _put(self, item: EventMessage | None) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        names = "every event" if self.names is None else ", ".join(sorted(self.names))
        return f"<{type(self).__name__} {names}, {len(self._queue)} queued>"


class EventListener(_Listener):
    """A listener for a synchronous session: ``with s.listen("X") as events: for e in events``."""

    def __init__(
        self, names: Iterable[str], remove: Callable[[Any], None], max_queued: int = MAX_QUEUED
    ) -> None:
        super().__init__(names, remove, max_queued)
        self._ready = threading.Condition(threading.Lock())

    def _put(self, item: EventMessage | None) -> None:
        with self._ready:
            self._push(item)
            self._ready.notify()

    def get(self, timeout: float | None = None) -> EventMessage:
        """The next event, waiting up to *timeout* seconds (None: no limit).

        :raises TimeoutError: none arrived in time.
        :raises StopIteration: the listener was removed and its queue is empty.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._ready:
            while not self._queue:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError(f"no event within {timeout:g} s")
                self._ready.wait(left)
            item = self._queue[0]
            if item is None:  # the end marker stays, for later calls
                raise StopIteration
            self._queue.popleft()
            return item

    def __iter__(self) -> EventListener:
        return self

    def __next__(self) -> EventMessage:
        return self.get()

    def __enter__(self) -> EventListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class AsyncEventListener(_Listener):
    """A listener for an asynchronous session: ``async with s.listen("X") as events: async for e in events``.

    Filled on the session's event loop.
    """

    def __init__(
        self, names: Iterable[str], remove: Callable[[Any], None], max_queued: int = MAX_QUEUED
    ) -> None:
        super().__init__(names, remove, max_queued)
        self._waiter: asyncio.Future[None] | None = None

    def _put(self, item: EventMessage | None) -> None:
        self._push(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> EventMessage:
        """The next event (wrap in ``asyncio.wait_for`` for a time limit).

        :raises StopAsyncIteration: the listener was removed and its queue is empty.
        """
        while not self._queue:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self._queue[0]
        if item is None:
            raise StopAsyncIteration
        self._queue.popleft()
        return item

    def __aiter__(self) -> AsyncEventListener:
        return self

    async def __anext__(self) -> EventMessage:
        return await self.get()

    async def __aenter__(self) -> AsyncEventListener:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.remove()

    def __enter__(self) -> AsyncEventListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()
