"""QMP: the sans-I/O protocol core (server and client live in their own modules)."""

from qobjects.qmp.framing import DecodeError, JSONStreamDecoder, encode_json
from qobjects.qmp.protocol import (
    BadMessage,
    Closed,
    Connect,
    Disconnect,
    ErrorReply,
    Event,
    Execute,
    Greeting,
    Mode,
    QMPEvent,
    QMPProtocol,
    Return,
    Role,
    SignalMessage,
)

__all__ = [
    "BadMessage",
    "Closed",
    "Connect",
    "DecodeError",
    "Disconnect",
    "ErrorReply",
    "Event",
    "Execute",
    "Greeting",
    "JSONStreamDecoder",
    "Mode",
    "QMPEvent",
    "QMPProtocol",
    "Return",
    "Role",
    "SignalMessage",
    "encode_json",
]
