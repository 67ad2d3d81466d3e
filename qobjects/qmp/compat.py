"""Signals heard through QMP events: compatibility mode and class-level slots.

The schema maps some signals to an event (``IO_ERROR`` of a ``Blockdev`` is
``BLOCK_IO_ERROR``, whose ``device`` member names the owner). A session uses
that mapping twice:

- in *compatibility mode* (a server without signals, such as QEMU), a
  per-owner connection is local and hears the matching events of its owner;
- in every mode, a class-level connection (``Blockdev.io_error.connect(slot)``)
  hears the events of every owner, since a qobjects server mirrors each
  emission of a mapped signal as its event.

A class-level connect to a signal that has no event, while a session of
its namespace is open, cannot hear remote owners: it is refused
(:func:`check_class_connect`); one made before such a session opens is
named in a warning when it opens (:func:`register`).
"""

from __future__ import annotations

import logging
import threading
import warnings
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from qobjects.codecs import DecodeContext, decode_members
from qobjects.errors import QMPError, SlotError, StateError, ValidationError
from qobjects.objects import Emulation, Handle, Namespace
from qobjects.qmp.protocol import Event
from qobjects.signals import (
    BoundSignal,
    Connection,
    Signal,
    _raise_slot_error,
    class_connected,
    connected,
)

if TYPE_CHECKING:
    pass

__all__ = ["EventSignals", "check_class_connect"]

log = logging.getLogger(__name__)

# Every open session, for the class-level connect check.
_open: weakref.WeakSet[Any] = weakref.WeakSet()
_open_lock = threading.Lock()


class EventSignals:
    """The signals one session hears through events.

    :param session: the session (handles are made for it).
    :param report: called with the :class:`SlotError` of a failing slot.
    """

    def __init__(self, session: object, namespace: Namespace, report: Callable[[SlotError], None]) -> None:
        self._session = session
        self.namespace = namespace
        self._report = report
        # event name -> (owner class, signal, how the event names the owner); the
        # namespace may add entries as it builds classes, never new events.
        self.by_event: dict[str, list[Emulation]] = namespace.emulation_table()
        self.emulated: dict[Connection[Any], BoundSignal] = {}

    def mapped(self, signal: Signal) -> bool:
        """Whether *signal* is heard through an event."""
        return any(sig is signal for entries in self.by_event.values() for _, sig, _ in entries)

    def knows(self, signal: Signal) -> bool:
        """Whether *signal* belongs to this session's namespace."""
        cls = self.namespace.handles.get(signal.owner_name)
        return cls is not None and cls._signals.get(signal.name) is signal

    def class_level(self) -> bool:
        """Whether a class-level slot listens to a mapped signal (events are then read)."""
        return any(sig._conns for entries in self.by_event.values() for _, sig, _ in entries)

    # --- compatibility mode ---------------------------------------------------------

    def connect(self, bound: BoundSignal, conn: Connection[Any], where: str) -> None:
        """A per-owner connection in compatibility mode: local, fed by events.

        :raises StateError: the signal has no event mapping.
        """
        if not self.mapped(bound.signal):
            raise StateError(
                f"{bound.signal.describe()} has no event mapping, and {where} "
                "does not support signals (compatibility mode)"
            )
        bound._attach(conn)
        self.emulated[conn] = bound

    def disconnect(self, bound: BoundSignal, conn: Connection[Any]) -> None:
        bound._detach(conn)
        self.emulated.pop(conn, None)

    def close(self) -> None:
        """Detach every emulated connection (their ``connected`` turns False)."""
        for conn, bound in list(self.emulated.items()):
            bound._detach(conn)
        self.emulated.clear()

    # --- delivery --------------------------------------------------------------------

    def deliver(self, ev: Event, ctx: DecodeContext, per_owner: bool) -> None:
        """Call the slots *ev* stands for: class-level ones, and per-owner ones when *per_owner*."""
        entries = self.by_event.get(ev.event)
        if not entries:
            return
        data = ev.data or {}
        for cls, signal, owner_of in entries:
            targets: list[Connection[Any]] = []
            owner_value = owner_of(data)
            if owner_value is None:
                continue
            handle: Handle | None = None
            if per_owner:
                handle = cls._interned.get((self._session, owner_value))
                bound = handle.__dict__.get(signal.attr) if handle is not None else None
                if isinstance(bound, BoundSignal) and bound._conns and not bound.is_blocked():
                    targets += bound._conns
            if signal._conns and not signal._blocked:
                targets += signal._conns
            if not targets:
                continue
            try:
                values = decode_members(signal.specs, data, ctx, signal.describe())
                if handle is None:
                    handle = ctx.handle(cls, owner_value)
            except (ValidationError, QMPError) as err:
                log.warning("event %s does not carry %s: %s", ev.event, signal.describe(), err)
                continue
            for conn in targets:
                try:
                    conn._deliver(handle, values)
                except Exception as exc:
                    try:
                        _raise_slot_error([(conn, exc)])
                    except SlotError as err:
                        self._report(err)


def register(session: EventSignals, stacklevel: int) -> None:
    """Count *session* as open; warn of class-level slots it cannot serve.

    A class-level connect made before any session was open could not be
    refused: when a session opens whose namespace has that signal without an
    event, a :class:`RuntimeWarning` names it (*stacklevel* points the warning
    at the caller of ``connect``). Only signals with class-level connections
    are looked at, so a lazily built namespace stays unbuilt.
    """
    with _open_lock:
        _open.add(session)
    for signal in class_connected():
        if session.knows(signal) and not session.mapped(signal):
            warnings.warn(
                f"{len(signal._conns)} class-level slot(s) on {signal.describe()} cannot hear "
                f"the owners of this session: the signal has no QMP event; connect to each "
                f"owner instead (owner.{signal.attr}.connect(slot))",
                RuntimeWarning,
                stacklevel=stacklevel + 1,
            )


def unregister(session: EventSignals) -> None:
    with _open_lock:
        _open.discard(session)


def check_class_connect(signal: Signal) -> None:
    """Refuse a class-level connect that no open session can serve.

    :raises StateError: an open session's namespace has *signal*, and the
        signal has no event to hear remote owners through.
    """
    with _open_lock:
        sessions = list(_open)
    for events in sessions:
        if events.knows(signal) and not events.mapped(signal):
            raise StateError(
                f"class-level connect to {signal.describe()}: the signal has no QMP event, so a "
                f"slot connected on the class cannot hear the owners of an open session; "
                f"connect to each owner instead (owner.{signal.attr}.connect(slot))"
            )


def _on_connect(signal: Signal, *, connection: Connection[Any], owner: Handle | None) -> None:
    if owner is not None:
        return
    try:
        check_class_connect(signal)
    except StateError:
        signal.disconnect(connection, missing_ok=True)
        raise


connected.connect(_on_connect, weak=False)
