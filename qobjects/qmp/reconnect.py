"""Reconnection: how long to wait between attempts.

A session made with ``reconnect=True`` that loses its connection goes to
:attr:`~qobjects.qmp.runstate.Runstate.RECONNECTING` and tries again after
:data:`FIRST_DELAY` seconds, doubling the wait up to :data:`MAX_DELAY`;
once negotiated again it re-establishes every remote signal connection
(:meth:`~qobjects.qmp.base.SessionBase._restoration`) and announces
``"reconnected"``.
"""

from __future__ import annotations

__all__ = ["FIRST_DELAY", "MAX_DELAY", "Backoff"]

#: Seconds before the first attempt.
FIRST_DELAY = 0.05
#: The longest wait between attempts, in seconds.
MAX_DELAY = 2.0


class Backoff:
    """Delays that double from *first* up to *limit*."""

    def __init__(self, first: float = FIRST_DELAY, limit: float = MAX_DELAY) -> None:
        if not 0 < first <= limit:
            raise ValueError(f"backoff needs 0 < first <= limit, not {first!r}, {limit!r}")
        self._delay = first
        self._limit = limit

    def next(self) -> float:
        """The delay before the next attempt."""
        delay = self._delay
        self._delay = min(delay * 2, self._limit)
        return delay
