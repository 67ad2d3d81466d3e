"""TLS for the synchronous session: a blocking socket seen through an SSL object.

The synchronous :class:`~qobjects.qmp.session.Session` reads its socket in
one thread and writes it from others. OpenSSL does not allow one SSL
connection to be used by two threads at once, so :class:`TLSSocket` keeps
the TLS state in an :class:`ssl.SSLObject` over memory buffers: the raw
socket is read and written without a lock, and only the (short) encryption
and decryption steps take :attr:`TLSSocket._ssl_lock`. Encrypted bytes leave
in the order the SSL object produced them: whoever takes them out of the
outgoing buffer sends them while holding :attr:`TLSSocket._send_lock`.
Each message is followed by :data:`TLS_TRAILER` in a record of its own.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from typing import Final

from qobjects.errors import ConnectionLost

__all__ = ["TLSSocket", "describe_tls_error"]

#: Encrypted bytes asked of the kernel per read.
_RAW_READ = 1 << 16

#: Sent as a TLS record of its own after every message. QEMU's monitor (7.2
#: at least, and qemu.qmp hangs on it the same way) leaves the last record it
#: received unread until more bytes arrive on the socket, so a command alone
#: is never answered. Whitespace between JSON values means nothing, so what
#: waits there is harmless.
TLS_TRAILER: Final = b" "


def describe_tls_error(err: OSError) -> str:
    """A one-line reason for a TLS failure (``certificate verify failed: ...``)."""
    if isinstance(err, ssl.SSLCertVerificationError) and err.verify_message:
        return f"certificate verify failed: {err.verify_message}"
    if isinstance(err, ssl.SSLError) and err.reason:
        return err.reason.replace("_", " ").lower()
    return err.strerror or str(err)


class TLSSocket:
    """The parts of a socket the session uses (``recv``, ``sendall``,
    ``settimeout``, ``shutdown``, ``close``), over TLS.

    Make one with :meth:`handshake`.
    """

    __slots__ = ("_in", "_obj", "_out", "_send_lock", "_ssl_lock", "sock")

    def __init__(
        self, sock: socket.socket, obj: ssl.SSLObject, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO
    ) -> None:
        self.sock = sock
        self._obj = obj
        self._in = incoming
        self._out = outgoing
        self._ssl_lock = threading.Lock()
        self._send_lock = threading.Lock()

    @classmethod
    def handshake(
        cls,
        sock: socket.socket,
        context: ssl.SSLContext,
        hostname: str | None,
        address: str,
        timeout: float | None,
    ) -> TLSSocket:
        """Run the client's side of the TLS handshake on the connected *sock*.

        :raises ConnectionLost: the handshake failed (bad certificate, no TLS
            on the other side, connection closed), with the reason.
        :raises TimeoutError: no handshake within *timeout* seconds.
        """
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = context.wrap_bio(incoming, outgoing, server_side=False, server_hostname=hostname)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                try:
                    obj.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    pass
                if outgoing.pending:
                    sock.sendall(outgoing.read())
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError(f"no TLS handshake with {address} within {timeout:g} s")
                sock.settimeout(left)
                try:
                    data = sock.recv(_RAW_READ)
                except TimeoutError:
                    continue
                if not data:
                    raise ConnectionLost(
                        f"TLS handshake with {address} failed: the server closed the connection"
                    )
                incoming.write(data)
            if outgoing.pending:
                sock.sendall(outgoing.read())
        except ssl.SSLError as err:
            raise ConnectionLost(f"TLS handshake with {address} failed: {describe_tls_error(err)}") from err
        except ConnectionLost:
            raise
        except OSError as err:
            if isinstance(err, TimeoutError):
                raise
            raise ConnectionLost(f"TLS handshake with {address} failed: {err.strerror or err}") from err
        finally:
            sock.settimeout(None)
        return cls(sock, obj, incoming, outgoing)

    def recv(self, size: int) -> bytes:
        """Up to *size* bytes of plaintext; ``b""`` once the peer has closed.

        :raises OSError: the socket failed, or the TLS stream is corrupt.
        """
        obj, incoming = self._obj, self._in
        while True:
            with self._ssl_lock:
                try:
                    data = obj.read(size)
                except ssl.SSLWantReadError:
                    data = None
                except ssl.SSLZeroReturnError:
                    return b""  # the peer's close_notify
                reply = self._out.pending
            if reply:  # the read made a record to send (a key update)
                self._flush()
            if data is not None:
                return data
            raw = self.sock.recv(_RAW_READ)
            if not raw:
                return b""
            incoming.write(raw)

    def sendall(self, data: bytes) -> None:
        """Encrypt and send all of *data*.

        :raises OSError: the socket failed.
        """
        with self._send_lock:
            with self._ssl_lock:
                view, done = memoryview(data), 0
                while done < len(view):  # one record per write, at most
                    done += self._obj.write(view[done:])
                self._obj.write(TLS_TRAILER)
                out = self._out.read()
            self.sock.sendall(out)

    def _flush(self) -> None:
        with self._send_lock:
            with self._ssl_lock:
                out = self._out.read()
            if out:
                self.sock.sendall(out)

    def settimeout(self, timeout: float | None) -> None:
        self.sock.settimeout(timeout)

    def shutdown(self, how: int) -> None:
        self.sock.shutdown(how)

    def close(self) -> None:
        self.sock.close()
