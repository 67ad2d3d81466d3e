"""Remote proxy mode: the schema's classes bound to a QMP connection.

Two sessions share one core (:mod:`qobjects.qmp.base`): :class:`AsyncSession`
(asyncio, :func:`aconnect`) and the blocking :class:`Session`
(:func:`connect`), which needs no event loop.

Negotiation asks for explicit handles (``set-explicit-handles`` before
``qmp_capabilities``). A server that does not know that command (a plain QMP
server such as QEMU) puts the session in *compatibility mode*: signals that
the schema maps to an event are emulated from that event, filtered by the
event's owner member; connection ids are then local.

The parts, one job each: :mod:`~qobjects.qmp.transport` (sockets, fds),
:mod:`~qobjects.qmp.runstate` (the session's life),
:mod:`~qobjects.qmp.reconnect`, :mod:`~qobjects.qmp.remote_signals` (signals
connected on the server), :mod:`~qobjects.qmp.compat` (signals heard through
events), :mod:`~qobjects.qmp.proxy` (the command methods),
:mod:`~qobjects.qmp.listeners` (``listen()``).
"""

from __future__ import annotations

from qobjects.qmp.asession import AsyncSession, aconnect
from qobjects.qmp.listeners import AsyncEventListener, EventListener, EventMessage
from qobjects.qmp.runstate import Runstate
from qobjects.qmp.session import Session, connect
from qobjects.qmp.transport import parse_address

__all__ = [
    "AsyncEventListener",
    "AsyncSession",
    "EventListener",
    "EventMessage",
    "Runstate",
    "Session",
    "aconnect",
    "connect",
    "parse_address",
]
