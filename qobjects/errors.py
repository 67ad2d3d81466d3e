"""The exceptions qobjects raises.

Every exception has one root, :class:`QObjectsError`::

    QObjectsError
     +-- SchemaError                 a schema does not parse or check (.info = location)
     +-- ValidationError (TypeError) a value does not match the schema
     |    +-- MissingMember          a required member was not given
     |    +-- UnknownMember          a member the schema does not declare
     |    +-- WrongType              a member has the wrong type
     +-- SlotSignatureError (TypeError)  a slot cannot take what its signal delivers
     +-- NotConnected (LookupError)  disconnecting what is not connected
     +-- SlotError (ExceptionGroup)  one or more slots raised during an emit
     +-- SignalRecursionError (RecursionError)  slots re-emit a signal without end
     +-- QMPError                    an error reply (.error_class, .desc)
     |    +-- GenericError
     |    +-- CommandNotFound
     |    +-- InvalidHandleValue (LookupError)  no object behind a handle value
     |    +-- DeviceNotFound
     |    +-- DeviceNotActive
     |    +-- KVMMissingCap
     +-- ProtocolError               a peer broke the QMP protocol
     +-- StateError                  an operation is not possible in this state
     +-- ConnectionLost (ConnectionError)  the connection went away
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from qobjects.schema.source import SourceInfo

__all__ = [
    "CommandNotFound",
    "ConnectionLost",
    "DeviceNotActive",
    "DeviceNotFound",
    "GenericError",
    "InvalidHandleValue",
    "KVMMissingCap",
    "MissingMember",
    "NotConnected",
    "ProtocolError",
    "QMPError",
    "QObjectsError",
    "SchemaError",
    "SignalRecursionError",
    "SlotError",
    "SlotSignatureError",
    "StateError",
    "UnknownMember",
    "ValidationError",
    "WrongType",
    "qmp_error",
]


class QObjectsError(Exception):
    """Root of every exception qobjects raises."""


class SchemaError(QObjectsError):
    """A schema failed to parse or check.

    ``str(err)`` is the complete message in QEMU's format, context lines
    ("In file included from ...", "FILE: In command 'x':") included.

    :ivar info: where the problem is (file, line, column, include chain), or
        ``None`` when there is no location (an unreadable main file).
    :ivar msg: the message without location.
    """

    def __init__(self, info: SourceInfo | None, msg: str, col: int | None = None) -> None:
        super().__init__(msg)
        self.info = info
        self.msg = msg
        self.col = col

    def __str__(self) -> str:
        if self.info is None:
            return self.msg
        loc = self.info.location()
        if self.col is not None:
            loc = f"{loc}:{self.col}"
        return f"{self.info.context()}{loc}: {self.msg}"


class ValidationError(QObjectsError, TypeError):
    """A value does not match its schema type.

    :ivar where: what was being checked (``"BlockInfo"``, ``"signal IO_ERROR"``,
        ``"command 'eject'"``).
    :ivar member: the member's name (dotted for nested members), or ``""``.
    """

    def __init__(self, where: str, member: str, detail: str) -> None:
        super().__init__(detail)
        self.where = where
        self.member = member
        self.detail = detail

    def __str__(self) -> str:
        if self.member:
            return f"{self.where}: member '{self.member}': {self.detail}"
        return f"{self.where}: {self.detail}"


class MissingMember(ValidationError):
    """A required member was not given."""


class UnknownMember(ValidationError):
    """A member the schema does not declare was given."""


class WrongType(ValidationError):
    """A member's value has the wrong type.

    :ivar expected: the schema type expected.
    :ivar received: the Python type name received.
    """

    def __init__(self, where: str, member: str, expected: str, received: str) -> None:
        super().__init__(where, member, f"expected {expected}, got {received}")
        self.expected = expected
        self.received = received


class SlotSignatureError(QObjectsError, TypeError):
    """A slot's signature cannot accept what its signal delivers."""


class NotConnected(QObjectsError, LookupError):
    """Disconnecting a slot or connection that is not connected."""


class SlotError(ExceptionGroup[Exception], QObjectsError):
    """One or more slots raised while a signal was delivered.

    All slots ran; each failure is in ``exceptions``, with the slot that raised
    it in the exception's notes and in :attr:`slots` (same order).
    """

    slots: tuple[object, ...]

    def __new__(
        cls, message: str, exceptions: Sequence[Exception], slots: Sequence[object] = ()
    ) -> SlotError:
        self = super().__new__(cls, message, exceptions)
        self.slots = tuple(slots)
        return self

    def __init__(self, message: str, exceptions: Sequence[Exception], slots: Sequence[object] = ()) -> None:
        super().__init__(message, exceptions)

    def derive(self, excs: Sequence[Exception]) -> SlotError:  # type: ignore[override]
        return SlotError(self.message, excs)


class SignalRecursionError(QObjectsError, RecursionError):
    """Slots re-emitted a signal without end.

    Raised instead of a bare ``RecursionError`` from deep in the stack when
    nested emits of one signal reach the depth limit: the signal's
    ``max_depth`` if set (``Blockdev.io_error.max_depth = 50``), else
    Python's recursion limit (``sys.getrecursionlimit()``).

    :ivar signal: the signal, as ``"signal Blockdev.IO_ERROR"``.
    :ivar depth: how many of its emits were nested when the limit was reached.
    :ivar limit: the limit in force.
    :ivar limit_name: what that limit is (``"Blockdev.io_error.max_depth"``).
    """

    def __init__(
        self,
        signal: str,
        depth: int,
        limit: int,
        limit_name: str = "Python's recursion limit, sys.getrecursionlimit()",
    ) -> None:
        super().__init__(signal, depth, limit, limit_name)
        self.signal = signal
        self.depth = depth
        self.limit = limit
        self.limit_name = limit_name

    def __str__(self) -> str:
        return (
            f"{self.signal} was emitted from its own slots {self.depth} levels deep: a slot "
            f"re-emits it without end (nesting is bounded by {self.limit_name} = {self.limit})"
        )


class QMPError(QObjectsError):
    """An error reply from a QMP peer, or an error to send as one.

    :ivar error_class: QMP's error class (``"GenericError"``, ...).
    :ivar desc: the human-readable description.
    """

    error_class: ClassVar[str] = "GenericError"

    def __init__(self, desc: str, error_class: str | None = None) -> None:
        super().__init__(desc)
        self.desc = desc
        if error_class is not None:
            self.error_class = error_class  # type: ignore[misc]

    def __str__(self) -> str:
        return f"{self.error_class}: {self.desc}"


class GenericError(QMPError):
    """QMP's ``GenericError``."""

    error_class = "GenericError"


class CommandNotFound(QMPError):
    """QMP's ``CommandNotFound``."""

    error_class = "CommandNotFound"


class InvalidHandleValue(QMPError, LookupError):
    """No object stands behind a handle value (class ``InvalidHandleValue``)."""

    error_class = "InvalidHandleValue"


class DeviceNotFound(QMPError):
    """QMP's ``DeviceNotFound``."""

    error_class = "DeviceNotFound"


class DeviceNotActive(QMPError):
    """QMP's ``DeviceNotActive``."""

    error_class = "DeviceNotActive"


class KVMMissingCap(QMPError):
    """QMP's ``KVMMissingCap``."""

    error_class = "KVMMissingCap"


_QMP_CLASSES: dict[str, type[QMPError]] = {
    c.error_class: c
    for c in (
        GenericError,
        CommandNotFound,
        InvalidHandleValue,
        DeviceNotFound,
        DeviceNotActive,
        KVMMissingCap,
    )
}


def qmp_error(error_class: str, desc: str) -> QMPError:
    """The :class:`QMPError` subclass for *error_class*, or a plain QMPError."""
    cls = _QMP_CLASSES.get(error_class)
    if cls is None:
        return QMPError(desc, error_class)
    return cls(desc)


class ProtocolError(QObjectsError):
    """A peer sent something QMP does not allow."""


class StateError(QObjectsError):
    """An operation is not possible in the current state; the message says what to do."""


class ConnectionLost(QObjectsError, ConnectionError):
    """The connection to the peer was lost; pending calls fail with this."""
