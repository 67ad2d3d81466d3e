"""What a server session sends: queued, written once per loop pass, capped in bytes.

Output is limited by bytes, never by message count: a client that keeps
reading gets any burst in full, however many messages it has. Each session
may have ``max_output`` bytes unsent (queued here plus buffered in the
transport), and all sessions together ``max_output_total``. A session that
passes its cap is cut on a message boundary: nothing more is queued, what the
transport holds (whole messages) is still sent, then the connection closes.
Past the server-wide cap the session with the most unsent output is cut.

Emitters pace themselves with :meth:`OutputBudget.drain` (``Server.drain``):
it returns once no session has more than :data:`DRAIN_HIGH` bytes unsent.

``push`` is called from any thread. Its counters are plain attribute
updates, which the GIL makes atomic; the checks that act on them re-measure
on the event loop's thread before cutting anyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable

__all__ = ["DRAIN_HIGH", "DRAIN_LOW", "Output", "OutputBudget"]

log = logging.getLogger("qobjects.qmp.server")

#: A session with more than this unsent (or a quarter of its cap, if less)
#: keeps :meth:`OutputBudget.drain` waiting...
DRAIN_HIGH = 1 << 20
#: ... until its transport's buffer is down to this (or a quarter of that).
DRAIN_LOW = 256 << 10


class OutputBudget:
    """The server-wide cap on unsent output, and draining.

    :param limit: bytes all sessions together may have unsent.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.unsent = 0  # an upper bound: queued bytes + transport buffers when last measured
        self.outputs: set[Output] = set()
        self._relieving = False
        self.scheduled = False  # a call of over() is on its way to the loop

    def over(self) -> None:
        """Called when ``unsent`` passed the limit: re-measure, cut the largest until under."""
        self.scheduled = False
        if self._relieving:
            return
        self._relieving = True
        try:
            total = sum(out.measure() for out in self.outputs)
            self.unsent = total
            while total > self.limit and self.outputs:
                largest = max(self.outputs, key=lambda out: out.unsent())
                size = largest.unsent()
                largest.on_cut(
                    f"the server's unsent output passed max_output_total ({self.limit} bytes); "
                    f"this session had the most ({size} bytes)",
                    True,
                )
                largest.detach()
                total -= size
            self.unsent = sum(out.unsent() for out in self.outputs)
        finally:
            self._relieving = False

    async def drain(self, stall: float) -> None:
        """Wait until no session has more than :data:`DRAIN_HIGH` bytes unsent,
        except sessions that took nothing for *stall* seconds."""
        await asyncio.sleep(0)  # let the writes queued so far reach the transports
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            waiting = [
                out
                for out in list(self.outputs)
                if out.paused and not out.closed and now - out.paused_at < stall
            ]
            if not waiting:
                return
            out = waiting[0]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(out.writable(), out.paused_at + stall - now)


class Output:
    """One session's outgoing bytes.

    :param budget: the server-wide budget it counts against.
    :param limit: bytes this session may have unsent.
    :param on_cut: called on the loop's thread as ``on_cut(reason, abort)``
        when the session must end because of its output: gracefully (what the
        transport holds is still sent) or, with *abort*, at once.
    """

    __slots__ = (
        "_loop",
        "_loop_thread",
        "_waiters",
        "budget",
        "buffered",
        "checking",
        "closed",
        "flush_pending",
        "limit",
        "on_cut",
        "paused",
        "paused_at",
        "queue",
        "queued",
        "transport",
    )

    def __init__(self, budget: OutputBudget, limit: int, on_cut: Callable[[str, bool], None]) -> None:
        self.budget = budget
        self.limit = limit
        self.on_cut = on_cut
        self.queue: deque[bytes] = deque()
        self.queued = 0  # bytes in queue
        self.buffered = 0  # bytes in the transport's buffer, when last measured (never less)
        self.transport: asyncio.Transport | None = None
        self.flush_pending = False
        self.checking = False  # a check of the limit is on its way to the loop
        self.closed = False
        self.paused = False
        self.paused_at = 0.0
        self._waiters: list[asyncio.Future[None]] = []
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()

    def attach(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        # drain() must hold emitters back well before a session reaches its cap.
        high = min(DRAIN_HIGH, self.limit // 4)
        transport.set_write_buffer_limits(high=high, low=min(DRAIN_LOW, high // 4))
        self.budget.outputs.add(self)

    def unsent(self) -> int:
        return self.queued + self.buffered

    def measure(self) -> int:
        """Re-read the transport's buffer; the bytes unsent now."""
        transport = self.transport
        now = transport.get_write_buffer_size() if transport is not None else 0
        self.budget.unsent += now - self.buffered
        self.buffered = now
        return self.queued + now

    # --- any thread ----------------------------------------------------------------------

    def push(self, data: bytes) -> None:
        """Queue *data*, one whole message; never blocks."""
        if self.closed:
            return
        n = len(data)
        if self.queued + self.buffered + n > self.limit:
            if not self.checking:  # once, however many pushes another thread makes meanwhile
                self.checking = True
                self._schedule(self._check_limit, n)
            if self.closed or self.queued + n > self.limit:
                return  # over even without the transport's share: not queued
        self.queue.append(data)
        self.queued += n
        budget = self.budget
        budget.unsent += n
        if budget.unsent > budget.limit and not budget.scheduled:
            budget.scheduled = True
            self._schedule(budget.over)
        if not self.flush_pending:
            self.flush_pending = True
            self._schedule(self.flush, later=True)

    def _schedule(self, fn: Callable[..., None], *args: object, later: bool = False) -> None:
        """Run *fn* on the loop's thread: now if this is it (or soon, with *later*)."""
        if threading.get_ident() == self._loop_thread:
            if later:
                self._loop.call_soon(fn, *args)
            else:
                fn(*args)
        else:
            try:
                self._loop.call_soon_threadsafe(fn, *args)
            except RuntimeError:  # the loop is closed: the session is gone
                self.closed = True

    # --- the loop's thread ----------------------------------------------------------------

    def _check_limit(self, n: int) -> None:
        self.checking = False
        if not self.closed and self.measure() + n > self.limit:
            self.on_cut(
                f"its unsent output passed max_output ({self.limit} bytes): the client does not read", False
            )

    def flush(self) -> None:
        """Hand everything queued to the transport (one write)."""
        self.flush_pending = False
        transport = self.transport
        queue = self.queue
        if transport is None or self.closed or not queue:
            return
        chunks = []
        n = 0
        while queue:
            chunk = queue.popleft()
            n += len(chunk)
            chunks.append(chunk)
        self.queued -= n
        self.budget.unsent -= n
        transport.write(b"".join(chunks))
        self.measure()

    def pause(self) -> None:
        self.paused = True
        self.paused_at = self._loop.time()

    def resume(self) -> None:
        self.paused = False
        self.measure()
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def writable(self) -> asyncio.Future[None]:
        """A future done when the transport's buffer is low again (or the session ended)."""
        fut = self._loop.create_future()
        if self.paused and not self.closed:
            self._waiters.append(fut)
        else:
            fut.set_result(None)
        return fut

    def stop(self) -> None:
        """Queue nothing more and drop what is queued (whole messages); the
        transport's buffer is still counted until :meth:`detach`."""
        if not self.closed:
            self.closed = True
            self.budget.unsent -= self.queued
            self.queue.clear()
            self.queued = 0

    def detach(self) -> None:
        """The connection is gone: stop counting against the budget."""
        self.closed = True
        self.budget.unsent -= self.queued + self.buffered
        self.queue.clear()
        self.queued = self.buffered = 0
        self.transport = None
        self.budget.outputs.discard(self)
        self.resume()
