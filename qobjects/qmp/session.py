"""The synchronous session: :class:`Session` and :func:`connect`.

No event loop: the session owns a blocking socket and two threads.

- The **reader** thread reads the socket, resolves replies (a caller blocked
  in a command wakes at once) and queues what was pushed.
- The **dispatcher** thread runs what was pushed in arrival order: remote
  slots, ``add_event_listener`` callbacks, listeners, ``state_changed``.
  Since it is not the reader, a slot may call the session's commands.

A command is written by the calling thread itself, under a lock, and
waits for its reply on a lock of its own: one thread hand-off per call.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Generator, Sequence
from ssl import SSLContext
from typing import Any

from qobjects.default import namespace_for
from qobjects.errors import ConnectionLost, QMPError
from qobjects.objects import CommandSpec, Namespace
from qobjects.qmp import compat
from qobjects.qmp.base import _DEFAULT, Request, SessionBase
from qobjects.qmp.listeners import MAX_QUEUED, EventListener
from qobjects.qmp.protocol import Connect, Disconnect, Execute, Greeting, QMPProtocol, Role
from qobjects.qmp.proxy import command_by_py, decode_reply, encode_args
from qobjects.qmp.reconnect import Backoff
from qobjects.qmp.remote_signals import Remote
from qobjects.qmp.runstate import Runstate
from qobjects.qmp.tls import TLSSocket
from qobjects.qmp.transport import READ_SIZE, open_socket, send_fds
from qobjects.schema import Schema

__all__ = ["Session", "connect"]

log = logging.getLogger("qobjects.qmp.client")

#: Seconds close() waits for each of the session's threads to end.
JOIN_TIMEOUT = 5.0

Batch = list[tuple[Callable[..., Any], tuple[Any, ...]]]


class Waiter:
    """A pending request's reply, delivered by ``set_result``/``set_exception``.

    The blocking session's waiter: a lock its caller blocks on.
    """

    __slots__ = ("_exc", "_lock", "_result", "done_flag")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self._result: object = None
        self._exc: BaseException | None = None
        self.done_flag = False

    def done(self) -> bool:
        return self.done_flag

    def set_result(self, value: object) -> None:
        if not self.done_flag:
            self._result = value
            self.done_flag = True
            self._lock.release()

    def set_exception(self, exc: BaseException) -> None:
        if not self.done_flag:
            self._exc = exc
            self.done_flag = True
            self._lock.release()

    def wait(self, timeout: float | None) -> bool:
        """Block until done; False on timeout."""
        if self.done_flag:
            return True
        return self._lock.acquire(timeout=-1 if timeout is None else timeout)

    def result(self) -> object:
        if self._exc is not None:
            raise self._exc
        return self._result


class Reported(Waiter):
    """A waiter nobody waits for: an error reply is logged."""

    __slots__ = ("what",)

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def set_exception(self, exc: BaseException) -> None:
        super().set_exception(exc)
        if not isinstance(exc, ConnectionLost):
            log.warning("%s failed: %s", self.what, exc)


class Session(SessionBase):
    """A synchronous QMP client session. Make one with :func:`connect`.

    The same names as :class:`~qobjects.qmp.asession.AsyncSession`, without
    ``await``: ``s.execute("query-block")``, ``s.query_block()``,
    ``s.execute_raw(...)``, ``s.listen(...)``. Slots of remote signals run
    on the session's dispatcher thread, one at a time, in arrival order.
    """

    def __init__(
        self,
        address: str | os.PathLike[str],
        namespace: Namespace,
        *,
        reconnect: bool = False,
        timeout: float | None = 10.0,
        ask_explicit: bool = True,
        ssl: SSLContext | None = None,
    ) -> None:
        super().__init__(
            address, namespace, reconnect=reconnect, timeout=timeout, ask_explicit=ask_explicit, ssl=ssl
        )
        self._sock: socket.socket | TLSSocket | None = None
        self._wlock = threading.Lock()
        self._queue: queue.SimpleQueue[Batch | None] = queue.SimpleQueue()
        self._reader: threading.Thread | None = None
        self._dispatcher: threading.Thread | None = None
        self._reader_ident: int | None = None
        self._stop = threading.Event()
        self._fired: set[Waiter] = set()

    # --- connection ---------------------------------------------------------------

    def _start(self) -> None:
        """Connect, negotiate inline, then start the threads."""
        self._set_state(Runstate.CONNECTING)
        try:
            self._open()
        except BaseException:
            self._set_state(Runstate.IDLE)  # a failed connect leaves the session idle
            with self._wlock:
                sock, self._sock = self._sock, None
            if sock is not None:
                sock.close()
            raise
        self._set_state(Runstate.RUNNING)
        compat.register(self._events, stacklevel=3)
        self._dispatcher = threading.Thread(target=self._dispatch_loop, name="qobjects-dispatch", daemon=True)
        self._dispatcher.start()
        self._reader = threading.Thread(target=self._read_loop, name="qobjects-reader", daemon=True)
        self._reader.start()
        self._notify("connected")

    def _open(self) -> None:
        """Open the socket, read the greeting and negotiate, in this thread."""
        self._reader_ident = threading.get_ident()
        self._proto = QMPProtocol(Role.CLIENT)
        self._clear_tail()
        self.greeting = None
        self._sock = open_socket(self._kind, self._where, self._text, self.timeout, self.ssl)
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        self._pump(lambda: self.greeting is not None, deadline, "greeting")
        self._drive(self._negotiation())

    def _greeted(self, greeting: Greeting) -> None:
        self.greeting = greeting

    def _drive(self, steps: Generator[Request | list[Request], object, None]) -> None:
        """Send the requests *steps* yields, feeding it each reply (or error).

        A list of requests is written at once; *steps* gets the list of their
        replies (a :class:`QMPError` in place of each refused one).
        """
        reply: object = None
        error: QMPError | None = None
        while True:
            try:
                request = steps.send(reply) if error is None else steps.throw(error)
            except StopIteration:
                return
            if isinstance(request, list):
                posted = [self._submit(r, ()) for r in request]
                outcomes: list[object] = []
                for cid, waiter, what in posted:
                    try:
                        outcomes.append(self._await_reply(cid, waiter, what, _DEFAULT))
                    except QMPError as err:
                        outcomes.append(err)
                reply, error = outcomes, None
                continue
            try:
                reply, error = self._call(request), None
            except QMPError as err:
                reply, error = None, err

    def _pump(self, done: Callable[[], bool], deadline: float | None, what: str) -> None:
        """Read in this thread until *done*.

        :raises TimeoutError: not done by *deadline*.
        :raises ConnectionLost: the connection went away.
        """
        sock = self._sock
        if sock is None:
            raise ConnectionLost(f"not connected to {self._text}")
        batch: Batch = []
        try:
            while not done():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError(f"no {what} from {self._text} within {self.timeout:g} s")
                sock.settimeout(left)
                try:
                    data = sock.recv(READ_SIZE)
                except TimeoutError:
                    continue
                except OSError as err:
                    raise self._lost_error(err) from err
                if not data:
                    raise self._lost_error(None)
                self._feed(data, batch.append)
        finally:
            if self._sock is sock:
                sock.settimeout(None)
            if batch:
                self._queue.put(batch)

    def _read_loop(self) -> None:
        self._reader_ident = threading.get_ident()
        try:
            while True:
                self._read_until_lost()
                if not self._after_loss():
                    return
        except Exception as err:  # a bug: say so rather than die silently, and fail the callers
            log.exception("the reader thread of %r failed", self)
            self._lost(err)

    def _read_until_lost(self) -> None:
        sock = self._sock
        assert sock is not None
        recv = sock.recv
        feed = self._feed
        put = self._queue.put
        exc: BaseException | None = None
        while True:
            try:
                data = recv(READ_SIZE)
            except OSError as err:
                exc, data = err, b""
            if not data:
                break
            batch: Batch = []
            feed(data, batch.append)
            if batch:
                put(batch)
        self._lost(exc)

    def _lost(self, exc: BaseException | None) -> None:
        with self._wlock:
            sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
        self._fail_pending(self._lost_error(exc))

    def _after_loss(self) -> bool:
        """After a lost connection: True when reconnected (read on)."""
        if self._runstate is not Runstate.RUNNING:
            return False  # closed
        self._remote.forget_server_ids()
        if not self.reconnect:
            self._set_state(Runstate.DISCONNECTED)
            self._post(self._notify, "disconnected")
            return False
        self._set_state(Runstate.RECONNECTING)
        self._post(self._notify, "disconnected")
        backoff = Backoff()
        while not self._stop.wait(backoff.next()):
            try:
                self._open()
                self._drive(self._restoration())
            except (TimeoutError, ConnectionLost, OSError, QMPError) as err:
                log.info("reconnect to %s failed: %s", self._text, err)
                self._lost(err)
                continue
            if self.runstate is Runstate.CLOSED:  # closed meanwhile: drop the new socket
                self._lost(None)
                return False
            self._set_state(Runstate.RUNNING)
            self._post(self._notify, "reconnected")
            return True
        return False

    def _post(self, fn: Callable[..., Any], *args: Any) -> None:
        self._queue.put([(fn, args)])

    def _dispatch_loop(self) -> None:
        get = self._queue.get
        while True:
            batch = get()
            if batch is None:
                return
            for fn, args in batch:
                try:
                    fn(*args)
                except Exception:  # each delivery reports its own slot errors
                    log.exception("delivery of %s failed", getattr(fn, "__name__", fn))

    def close(self) -> None:
        """Close the connection and stop the session's threads. Idempotent.

        Calls waiting for a reply fail with ConnectionLost.
        """
        if self._runstate is Runstate.CLOSED:
            return
        was = self._runstate
        self._set_state(Runstate.CLOSED)
        self._stop.set()
        with self._wlock:
            sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        me = threading.get_ident()
        reader = self._reader
        if reader is not None and reader.ident != me:
            reader.join(JOIN_TIMEOUT)
        self._fail_pending(ConnectionLost(f"the session to {self._text} is closed"))
        self._release()
        if was is not Runstate.IDLE:
            self._post(self._notify, "closed")
        self._queue.put(None)
        dispatcher = self._dispatcher
        if dispatcher is not None and dispatcher.ident != me:
            dispatcher.join(JOIN_TIMEOUT)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- commands -------------------------------------------------------------------

    def _write(self, data: bytes, fds: Sequence[int] = ()) -> None:
        with self._wlock:
            sock = self._sock
            if sock is None:
                raise ConnectionLost(f"not connected to {self._text}")
            try:
                if fds:
                    assert isinstance(sock, socket.socket)  # check_fds refuses fds over TLS
                    send_fds(sock, fds)
                sock.sendall(data)
            except OSError as err:
                raise ConnectionLost(f"cannot send to {self._text}: {err}") from err

    def _call(self, request: Request, timeout: float | None = _DEFAULT, fds: Sequence[int] = ()) -> Any:
        """Send *request* (its id is set here) and wait for the reply."""
        cid, waiter, what = self._submit(request, fds)
        return self._await_reply(cid, waiter, what, timeout)

    def _submit(self, request: Request, fds: Sequence[int]) -> tuple[int, Waiter, str]:
        """Write *request* with a fresh id; its id, the waiter of its reply and its name."""
        cid = next(self._ids)
        tr = type(request)
        if tr is Execute:
            assert isinstance(request, Execute)
            what = request.command
            request = Execute(request.command, request.arguments, cid, True, request.oob)
        elif tr is Connect:
            assert isinstance(request, Connect)
            what = "connect"
            request = Connect(request.signal, request.owner, request.user_data, cid, True)
        else:
            assert isinstance(request, Disconnect)
            what = "disconnect"
            request = Disconnect(request.connection, request.owner, cid, True)
        return cid, self._write_request(cid, self._proto.send(request), fds), what

    def _send(self, cid: int, data: bytes, what: str, timeout: float | None, fds: Sequence[int]) -> Any:
        return self._await_reply(cid, self._write_request(cid, data, fds), what, timeout)

    def _write_request(self, cid: int, data: bytes, fds: Sequence[int]) -> Waiter:
        waiter = Waiter()
        self._pending[cid] = waiter
        try:
            self._write(data, fds)
        except BaseException:
            self._pending.pop(cid, None)
            raise
        return waiter

    def _await_reply(self, cid: int, waiter: Waiter, what: str, timeout: float | None) -> Any:
        if timeout is _DEFAULT:
            timeout = self.timeout
        if threading.get_ident() == self._reader_ident:
            # Connecting or reconnecting: nobody else reads; read here.
            deadline = None if timeout is None else time.monotonic() + timeout
            try:
                self._pump(waiter.done, deadline, f"reply to '{what}'")
            except TimeoutError:
                self._pending.pop(cid, None)
                raise
        elif not waiter.wait(timeout) and self._pending.pop(cid, None) is not None:
            # The late reply, if it comes, has an id nobody waits for: dropped.
            raise TimeoutError(f"no reply to '{what}' from {self._text} within {timeout:g} s")
        return waiter.result()

    def execute(
        self,
        command: str,
        arguments: dict[str, Any] | None = None,
        /,
        *,
        timeout: float | None = _DEFAULT,
        fds: Sequence[int] = (),
        oob: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Run *command*; see :meth:`AsyncSession.execute <qobjects.qmp.asession.AsyncSession.execute>`.

        :raises ValidationError: the arguments do not match the schema.
        :raises QMPError: the server answered with an error.
        :raises TimeoutError: no reply in time; the session stays usable.
        :raises ConnectionLost: the connection is gone.
        """
        if arguments:
            kwargs = {**arguments, **kwargs}
        spec = self.namespace.commands.get(command)
        if spec is None:
            return self.execute_raw(command, kwargs, timeout=timeout, fds=fds, oob=oob)
        return self._execute(spec, kwargs, timeout, fds, oob)

    def execute_raw(
        self,
        command: str,
        arguments: dict[str, object] | None = None,
        *,
        timeout: float | None = _DEFAULT,
        fds: Sequence[int] = (),
        oob: bool = False,
    ) -> object:
        """Send *command* with JSON *arguments* as they are; the raw JSON reply.

        :raises QMPError: the server answered with an error.
        :raises TimeoutError: no reply in time.
        :raises ConnectionLost: the connection is gone.
        """
        self._check_request(oob, fds)
        return self._call(Execute(command, dict(arguments or {}), None, True, oob), timeout, fds)

    def _execute(
        self,
        spec: CommandSpec,
        arguments: dict[str, Any],
        timeout: float | None = _DEFAULT,
        fds: Sequence[int] = (),
        oob: bool = False,
    ) -> Any:
        args = encode_args(spec, arguments, self.explicit, self)  # checked even when not connected
        self._check_request(oob, fds)
        cid = next(self._ids)
        data = self._proto.send(Execute(spec.name, args, cid, True, oob))
        return decode_reply(spec, self._send(cid, data, spec.name, timeout, fds), self._ctx)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        spec = command_by_py(self.namespace, name)
        execute = self._execute

        def method(**arguments: Any) -> Any:
            return execute(spec, arguments)

        method.__name__ = name
        method.__doc__ = spec.doc
        self.__dict__[name] = method  # later look-ups are plain attribute reads
        return method

    def listen(self, *names: str, max_queued: int = MAX_QUEUED) -> EventListener:
        """A listener for the events called *names* (every event without names).

        ``with session.listen("BLOCK_IO_ERROR") as events: for event in events: ...``
        (``events.get(timeout)`` waits for one).

        :raises ValueError: *max_queued* below 1.
        """
        listener = EventListener(names, self._remove_listener, max_queued)
        self._add_listener(listener)
        return listener

    def flush(self) -> None:
        """Wait until every request sent without waiting (disconnects of collected slots) got its reply."""
        for waiter in list(self._fired):
            waiter.wait(self.timeout)
        self._fired = {w for w in self._fired if not w.done()}

    # --- remote signals -------------------------------------------------------------

    def _remote_connect(self, rem: Remote) -> None:
        try:
            sid = self._call(self._connect_request(rem))
        except BaseException:
            self._connect_failed(rem)
            raise
        self._connected(rem, sid)

    def _remote_disconnect(self, request: Disconnect) -> None:
        self._call(request)

    def _fire(self, request: Request, what: str) -> None:
        cid = next(self._ids)
        assert isinstance(request, Disconnect)
        data = self._proto.send(Disconnect(request.connection, request.owner, cid, True))
        waiter = Reported(f"remote signal request ({what})")
        self._pending[cid] = waiter
        self._fired.add(waiter)
        try:
            self._write(data)
        except ConnectionLost:
            self._pending.pop(cid, None)

    def _collected(self, token: int) -> None:
        # SimpleQueue.put is safe from a weakref callback, in any thread.
        self._queue.put([(self._drop_collected, (token,))])


def connect(
    address: str | os.PathLike[str],
    schema: Schema | str | os.PathLike[str] | None = None,
    reconnect: bool = False,
    *,
    namespace: Namespace | None = None,
    timeout: float | None = 10.0,
    ssl: SSLContext | None = None,
) -> Session:
    """Like :func:`~qobjects.qmp.asession.aconnect`, for synchronous code: returns a :class:`Session`.

    :raises ConnectionLost: the server cannot be reached, or the TLS handshake failed.
    :raises TimeoutError: no greeting or negotiation within *timeout*.
    :raises ValueError: a malformed address or timeout.
    """
    session = Session(
        address, namespace_for(schema, namespace), reconnect=reconnect, timeout=timeout, ssl=ssl
    )
    session._discover = schema is None and namespace is None
    session._start()
    return session
