"""Sockets: addresses, opening a connection, and passing file descriptors.

The blocking helpers serve the synchronous :class:`~qobjects.qmp.session.Session`
(which reads its socket in a thread of its own); :class:`AsyncLink` is the
asyncio protocol of an :class:`~qobjects.qmp.asession.AsyncSession`.
"""

from __future__ import annotations

import array
import asyncio
import os
import socket
import ssl
from collections.abc import Callable, Sequence
from typing import Any

from qobjects.errors import ConnectionLost, StateError
from qobjects.qmp.tls import TLSSocket, describe_tls_error

__all__ = ["AsyncLink", "open_socket", "parse_address", "send_fds"]

#: Bytes asked of the kernel per read.
READ_SIZE = 1 << 16


def parse_address(address: str | os.PathLike[str]) -> tuple[str, Any]:
    """``("unix", path)`` or ``("tcp", (host, port))`` for an address string.

    Accepts ``unix:PATH``, ``tcp:HOST:PORT`` (``tcp:[::1]:4444`` for IPv6)
    or a plain path.

    :raises ValueError: a malformed address, with what was wrong.
    """
    text = os.fspath(address)
    if text.startswith("unix:"):
        path = text[5:]
        if not path:
            raise ValueError(f"bad address {text!r}: 'unix:' needs a path")
        return "unix", path
    if text.startswith("tcp:"):
        rest = text[4:]
        host, sep, port = rest.rpartition(":")
        if not sep or not host:
            raise ValueError(f"bad address {text!r}: expected tcp:HOST:PORT")
        host = host.strip("[]")
        try:
            num = int(port)
        except ValueError:
            raise ValueError(f"bad address {text!r}: port {port!r} is not a number") from None
        if not 0 < num < 65536:
            raise ValueError(f"bad address {text!r}: port {num} out of range")
        return "tcp", (host, num)
    if not text:
        raise ValueError("empty address")
    return "unix", text


def open_socket(
    kind: str, where: Any, address: str, timeout: float | None, context: ssl.SSLContext | None = None
) -> socket.socket | TLSSocket:
    """A connected blocking socket (``kind``/``where`` from :func:`parse_address`),
    over TLS when *context* is given (the handshake done).

    :raises ConnectionLost: the server cannot be reached, or the TLS handshake failed.
    :raises TimeoutError: no connection or TLS handshake within *timeout*.
    """
    try:
        if kind == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout)
                sock.connect(where)
            except BaseException:
                sock.close()
                raise
        else:
            sock = socket.create_connection(where, timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except TimeoutError:
        raise TimeoutError(f"no connection to {address} within {timeout:g} s") from None
    except OSError as err:
        raise ConnectionLost(f"cannot connect to {address}: {err.strerror or err}") from err
    sock.settimeout(None)
    if context is None:
        return sock
    hostname = where[0] if kind == "tcp" else None
    try:
        return TLSSocket.handshake(sock, context, hostname, address, timeout)
    except BaseException:
        sock.close()
        raise


def check_fds(kind: str, fds: Sequence[int], address: str, *, tls: bool = False) -> None:
    """Refuse fds on a TCP or TLS connection, and anything that is not an open fd.

    :raises StateError: not a plain Unix socket.
    :raises ValueError: an fd that is not an open file descriptor.
    """
    if kind != "unix":
        raise StateError(f"file descriptors can only be passed over a Unix socket, not to {address}")
    if tls:
        raise StateError(f"file descriptors cannot be passed over TLS (to {address})")
    for fd in fds:
        if type(fd) is not int or fd < 0:
            raise ValueError(f"fds: {fd!r} is not a file descriptor")
        try:
            os.fstat(fd)
        except OSError:
            raise ValueError(f"fds: {fd} is not an open file descriptor") from None


def send_fds(sock: socket.socket, fds: Sequence[int]) -> None:
    """Send *fds* with one space byte (which JSON ignores), as QEMU expects:
    the fds are attached to the next command read.

    :raises OSError: the send failed.
    """
    sock.sendmsg([b" "], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])


#: Seconds :meth:`AsyncLink.shut` waits for a TLS peer's close_notify before cutting the socket.
CLOSE_GRACE = 1.0


class AsyncLink(asyncio.Protocol):
    """One asyncio connection; hands data and loss to its session's callbacks."""

    def __init__(
        self,
        on_data: Callable[[AsyncLink, bytes], None],
        on_lost: Callable[[AsyncLink, Exception | None], None],
    ) -> None:
        self.on_data = on_data
        self.on_lost = on_lost
        self.transport: asyncio.Transport | None = None
        self._gone: asyncio.Future[None] | None = None
        #: Speaking TLS: each message is followed by :data:`~qobjects.qmp.tls.TLS_TRAILER`.
        self.tls = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._gone = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.on_data(self, data)

    def connection_lost(self, exc: Exception | None) -> None:
        gone = self._gone
        if gone is not None and not gone.done():
            gone.set_result(None)
        self.on_lost(self, exc)

    async def shut(self, grace: float = CLOSE_GRACE) -> None:
        """Close the connection and wait until its socket is closed.

        A TLS connection first sends its close_notify and waits for the
        peer's; after *grace* seconds without it, the socket is cut.
        """
        transport, gone = self.transport, self._gone
        if transport is None or gone is None:
            return
        transport.close()
        if gone.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(gone), grace)
        except TimeoutError:
            transport.abort()
            await asyncio.sleep(0)  # abort() reports connection_lost on the next iteration

    def send_fds(self, fds: Sequence[int]) -> None:
        """Send *fds* ahead of the next write (the write buffer must be empty).

        :raises ConnectionLost: the socket is gone.
        """
        transport = self.transport
        if transport is None or transport.is_closing():
            raise ConnectionLost("the connection is closed")
        fd = transport.get_extra_info("socket").fileno()
        # A second socket object on a duplicate of the descriptor: the same
        # connection, without touching the transport's own socket object.
        with socket.socket(fileno=os.dup(fd)) as dup:
            try:
                send_fds(dup, fds)
            except OSError as err:
                raise ConnectionLost(f"cannot pass file descriptors: {err}") from err

    @property
    def ready(self) -> bool:
        transport = self.transport
        return transport is not None and not transport.is_closing()


async def open_link(
    kind: str,
    where: Any,
    address: str,
    on_data: Callable[[AsyncLink, bytes], None],
    on_lost: Callable[[AsyncLink, Exception | None], None],
    context: ssl.SSLContext | None = None,
    timeout: float | None = None,
) -> AsyncLink:
    """Connect an :class:`AsyncLink`, over TLS when *context* is given.

    :raises ConnectionLost: the server cannot be reached, or the TLS handshake failed.
    :raises TimeoutError: no connection or TLS handshake within *timeout*.
    """
    loop = asyncio.get_running_loop()
    tls: dict[str, Any] = {}
    if context is not None:
        tls = {"ssl": context}
        if kind == "unix":
            tls["server_hostname"] = ""
    try:
        async with asyncio.timeout(timeout):
            if kind == "unix":
                _, link = await loop.create_unix_connection(lambda: AsyncLink(on_data, on_lost), where, **tls)
            else:
                host, port = where
                _, link = await loop.create_connection(lambda: AsyncLink(on_data, on_lost), host, port, **tls)
    except TimeoutError:
        what = "connection or TLS handshake" if context is not None else "connection"
        raise TimeoutError(f"no {what} to {address} within {timeout:g} s") from None
    except ssl.SSLError as err:
        raise ConnectionLost(f"TLS handshake with {address} failed: {describe_tls_error(err)}") from err
    except OSError as err:
        raise ConnectionLost(f"cannot connect to {address}: {err.strerror or err}") from err
    link.tls = context is not None
    return link
