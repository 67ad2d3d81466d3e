"""The run state of a client session: one enum and one transition table.

::

    IDLE --connect--> CONNECTING --negotiated--> RUNNING --close--> CLOSED
                          |                        |
                          +--failed--> IDLE        +--lost--> DISCONNECTED
                                                   |             (or, with reconnect=True)
                                                   +--lost--> RECONNECTING --negotiated--> RUNNING

A session's commands need :attr:`Runstate.RUNNING`; :func:`require` says
what to do otherwise.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

from qobjects.errors import ConnectionLost, StateError

__all__ = ["Runstate", "check_transition", "require"]


class Runstate(Enum):
    """Where a session is in its life."""

    IDLE = "idle"  # not connected (yet, or after a failed connect)
    CONNECTING = "connecting"  # greeting and negotiation under way
    RUNNING = "running"  # negotiated: commands and signals work
    RECONNECTING = "reconnecting"  # lost; reconnect=True keeps trying
    DISCONNECTED = "disconnected"  # lost, and no reconnect
    CLOSED = "closed"  # close() was called: final


_NEXT: Final[dict[Runstate, frozenset[Runstate]]] = {
    Runstate.IDLE: frozenset({Runstate.CONNECTING, Runstate.CLOSED}),
    Runstate.CONNECTING: frozenset({Runstate.RUNNING, Runstate.IDLE, Runstate.CLOSED}),
    Runstate.RUNNING: frozenset({Runstate.RECONNECTING, Runstate.DISCONNECTED, Runstate.CLOSED}),
    Runstate.RECONNECTING: frozenset({Runstate.RUNNING, Runstate.CLOSED}),
    Runstate.DISCONNECTED: frozenset({Runstate.CLOSED}),
    Runstate.CLOSED: frozenset({Runstate.CLOSED}),
}

_HOW: Final[dict[Runstate, str]] = {
    Runstate.IDLE: "the session is not connected: use connect()/aconnect()",
    Runstate.CONNECTING: "the session is still negotiating",
    Runstate.RECONNECTING: "the connection was lost; the session is reconnecting, try again later",
    Runstate.DISCONNECTED: "the connection was lost; connect again (or pass reconnect=True)",
    Runstate.CLOSED: "the session is closed; open a new one",
}


def check_transition(old: Runstate, new: Runstate) -> None:
    """Refuse a transition the table does not have.

    :raises StateError: naming both states.
    """
    if new not in _NEXT[old]:
        raise StateError(f"a session cannot go from {old.value} to {new.value}")


def require(state: Runstate, where: str) -> None:
    """Check that a session in *state* can run commands.

    :raises ConnectionLost: not running, with what to do about it.
    """
    if state is not Runstate.RUNNING:
        raise ConnectionLost(f"not connected to {where}: {_HOW[state]}")
