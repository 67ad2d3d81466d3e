"""Listening sockets and the accept loop of a server.

asyncio's own accept loop, once the process runs out of file descriptors,
logs a traceback for every pending connection and schedules as many retries
(up to the listen backlog each round), which floods the log and the loop.
This one stops accepting, writes at most one line a second while it cannot,
retries every :data:`ACCEPT_RETRY` seconds, and accepts again as soon as
descriptors are free; sessions already open are not affected.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import ssl as _ssl
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["ACCEPT_RETRY", "Listener", "tcp_sockets", "unix_socket"]

log = logging.getLogger("qobjects.qmp.server")

#: Seconds between accept attempts while the process has no descriptor to spare.
ACCEPT_RETRY = 0.1
#: At most one log line per this many seconds about failing accepts.
ACCEPT_LOG_INTERVAL = 1.0
# Connections accepted in one go before other work gets its turn.
_ACCEPT_BATCH = 64
_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


def unix_socket(path: Path, backlog: int) -> socket.socket:
    """A listening Unix socket at *path*, created mode 0600."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        old = os.umask(0o177)
        try:
            sock.bind(str(path))
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def tcp_sockets(host: str, port: int, backlog: int) -> list[socket.socket]:
    """Listening TCP sockets for every address of *host* (one port for all).

    :raises OSError: the host does not resolve, or an address cannot be bound.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    socks: list[socket.socket] = []
    try:
        for family, kind, proto, _, addr in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            socks.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(socks) > 1:  # every address on the port the first one got
                addr = (addr[0], socks[0].getsockname()[1], *addr[2:])
            sock.bind(addr)
            sock.listen(backlog)
            sock.setblocking(False)
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks


class Listener:
    """Accepts connections on one listening socket.

    :param sock: a listening, non-blocking socket.
    :param factory: makes the protocol of each new connection.
    :param ssl: a server TLS context, or None.
    """

    def __init__(
        self,
        sock: socket.socket,
        factory: Callable[[], asyncio.Protocol],
        ssl: _ssl.SSLContext | None = None,
    ) -> None:
        self.sock = sock
        self.factory = factory
        self.ssl = ssl
        self.loop = asyncio.get_running_loop()
        self.closed = False
        self._waiting = False  # out of descriptors, a retry is scheduled
        self._failures = 0  # accept failures not reported yet
        self._last_report = 0.0
        self._starting: set[asyncio.Task[object]] = set()
        self.loop.add_reader(sock.fileno(), self._accept)

    @property
    def address(self) -> object:
        return self.sock.getsockname()

    def _accept(self) -> None:
        for _ in range(_ACCEPT_BATCH):
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue
            except OSError as err:
                self._cannot_accept(err)
                return
            conn.setblocking(False)
            task: asyncio.Task[object] = self.loop.create_task(self._start(conn))
            self._starting.add(task)
            task.add_done_callback(self._starting.discard)

    async def _start(self, conn: socket.socket) -> object:
        """Make the session's transport (after the TLS handshake, with TLS)."""
        try:
            return await self.loop.connect_accepted_socket(self.factory, conn, ssl=self.ssl)
        except (TimeoutError, OSError, _ssl.SSLError) as err:
            log.info("connection refused before its session started: %s", err)
            conn.close()
            return None
        except BaseException:  # cancelled: the server is closing
            conn.close()
            raise

    def _cannot_accept(self, err: OSError) -> None:
        if err.errno not in _OUT_OF_RESOURCES:
            self._report(f"cannot accept a connection: {err}")
            return
        # Out of descriptors: stop reading the listening socket and retry later.
        self.loop.remove_reader(self.sock.fileno())
        self._waiting = True
        self._report(f"cannot accept new sessions: {err.strerror or err}; retrying every {ACCEPT_RETRY:g} s")
        self.loop.call_later(ACCEPT_RETRY, self._retry)

    def _report(self, what: str) -> None:
        self._failures += 1
        now = time.monotonic()
        if now - self._last_report >= ACCEPT_LOG_INTERVAL:
            more = f" ({self._failures - 1} more since the last report)" if self._failures > 1 else ""
            log.error("%s%s", what, more)
            self._last_report = now
            self._failures = 0

    def _retry(self) -> None:
        if self.closed or not self._waiting:
            return
        self._waiting = False
        self.loop.add_reader(self.sock.fileno(), self._accept)
        self._accept()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if not self._waiting:
            self.loop.remove_reader(self.sock.fileno())
        self._waiting = False
        for task in self._starting:
            task.cancel()
        self.sock.close()
