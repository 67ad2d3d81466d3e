"""The asyncio session: :class:`AsyncSession` and :func:`aconnect`.

Everything runs on the event loop that opened the session: replies resolve
futures, pushed signals call their slots right in the read callback (a
coroutine slot becomes a task), events fill the listeners.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Coroutine, Generator, Sequence
from ssl import SSLContext
from typing import Any

from qobjects.default import namespace_for
from qobjects.errors import ConnectionLost, QMPError
from qobjects.objects import CommandSpec, Namespace
from qobjects.qmp import compat
from qobjects.qmp.base import _DEFAULT, Request, SessionBase
from qobjects.qmp.listeners import MAX_QUEUED, AsyncEventListener
from qobjects.qmp.protocol import Connect, Disconnect, Execute, Greeting, QMPProtocol, Role
from qobjects.qmp.proxy import command_by_py, decode_reply, encode_args
from qobjects.qmp.reconnect import Backoff
from qobjects.qmp.remote_signals import Remote
from qobjects.qmp.runstate import Runstate
from qobjects.qmp.tls import TLS_TRAILER
from qobjects.qmp.transport import AsyncLink, open_link
from qobjects.schema import Schema

__all__ = ["AsyncSession", "aconnect"]

log = logging.getLogger("qobjects.qmp.client")


class AsyncSession(SessionBase):
    """A QMP client session (asyncio). Make one with :func:`aconnect`.

    Commands: ``await session.execute("query-block")`` or the generated
    ``await session.query_block()``. Handles in replies are bound to the
    session; their signals connect over the wire.

    :ivar loop: the event loop the session runs on (set by :func:`aconnect`).
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
        self.loop: asyncio.AbstractEventLoop | None = None
        self._link: AsyncLink | None = None
        self._greeting_fut: asyncio.Future[Greeting] | None = None
        self._reconnector: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._deadlines: dict[int, tuple[float, asyncio.Future[Any], str, float]] = {}
        self._watchdog: asyncio.TimerHandle | None = None

    # --- connection ---------------------------------------------------------------

    async def _open(self) -> None:
        self.loop = loop = asyncio.get_running_loop()
        self._proto = QMPProtocol(Role.CLIENT)
        self._clear_tail()
        self._greeting_fut = loop.create_future()
        self._link = await open_link(
            self._kind, self._where, self._text, self._data, self._lost, self.ssl, self.timeout
        )
        try:
            self.greeting = await asyncio.wait_for(self._greeting_fut, self.timeout)
        except TimeoutError:
            raise TimeoutError(f"no greeting from {self._text} within {self.timeout:g} s") from None
        await self._drive(self._negotiation())

    async def _drive(self, steps: Generator[Request | list[Request], object, None]) -> None:
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
                posted = [self._post(r) for r in request]
                outcomes: list[object] = []
                for waiting in posted:
                    try:
                        outcomes.append(await waiting)
                    except QMPError as err:
                        outcomes.append(err)
                reply, error = outcomes, None
                continue
            try:
                reply, error = await self._call(request), None
            except QMPError as err:
                reply, error = None, err

    def _greeted(self, greeting: Greeting) -> None:
        fut = self._greeting_fut
        if fut is not None and not fut.done():
            fut.set_result(greeting)

    def _data(self, link: AsyncLink, data: bytes) -> None:
        if link is self._link:
            self._feed(data, None)

    def _lost(self, link: AsyncLink, exc: Exception | None) -> None:
        if link is not self._link:
            return
        self._link = None
        err = self._lost_error(exc)
        self._fail_pending(err)
        fut = self._greeting_fut
        if fut is not None and not fut.done():
            fut.set_exception(err)
        if self._runstate is not Runstate.RUNNING:
            return  # connecting, reconnecting (the attempt reports it) or closed
        self._remote.forget_server_ids()
        if self.reconnect and self.loop is not None:
            self._set_state(Runstate.RECONNECTING)
            self._notify("disconnected")
            self._reconnector = self.loop.create_task(self._reconnect_loop())
        else:
            self._set_state(Runstate.DISCONNECTED)
            self._notify("disconnected")

    async def _reconnect_loop(self) -> None:
        backoff = Backoff()
        while self._runstate is Runstate.RECONNECTING:
            await asyncio.sleep(backoff.next())
            try:
                await self._open()
                await self._drive(self._restoration())
            except (TimeoutError, ConnectionLost, OSError, QMPError) as err:
                log.info("reconnect to %s failed: %s", self._text, err)
                link, self._link = self._link, None
                if link is not None and link.transport is not None:
                    link.transport.abort()
                continue
            self._set_state(Runstate.RUNNING)
            self._notify("reconnected")
            return

    async def close(self) -> None:
        """Close the connection; pending calls fail with ConnectionLost. Idempotent."""
        if self._runstate is Runstate.CLOSED:
            return
        was = self._runstate
        self._set_state(Runstate.CLOSED)
        if self._reconnector is not None:
            self._reconnector.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reconnector
        link, self._link = self._link, None
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        self._fail_pending(ConnectionLost(f"the session to {self._text} is closed"))
        if link is not None:
            await link.shut()
        self._release()
        if was is not Runstate.IDLE:
            self._notify("closed")

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- commands -------------------------------------------------------------------

    async def _call(self, request: Request, timeout: float | None = _DEFAULT, fds: Sequence[int] = ()) -> Any:
        """Send *request* (its id is set here) and wait for the reply.

        :raises TimeoutError: no reply within *timeout* (the session's by default).
        """
        link, cid, data, what = self._prepare(request)
        return await self._send(link, cid, data, what, timeout, fds)

    def _prepare(self, request: Request) -> tuple[AsyncLink, int, bytes, str]:
        """*request* with its id set, encoded; with the link and what to call it in errors."""
        link = self._link
        if link is None or not link.ready:
            raise ConnectionLost(f"not connected to {self._text}")
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
        return link, cid, self._proto.send(request), what

    def _post(self, request: Request) -> Coroutine[Any, Any, Any]:
        """Send *request* now (ahead of anything sent later); the wait for its reply.

        A failure to send is raised by the returned coroutine.
        """
        try:
            link, cid, data, what = self._prepare(request)
            fut = self._transmit(link, cid, data, what, _DEFAULT)
        except Exception as err:
            return _raise(err)
        return self._reply(cid, fut)

    async def _send(
        self, link: AsyncLink, cid: int, data: bytes, what: str, timeout: float | None, fds: Sequence[int]
    ) -> Any:
        if fds:
            transport = link.transport
            assert transport is not None
            while transport.get_write_buffer_size():
                await asyncio.sleep(0.001)  # the fds must not land inside an earlier message
            link.send_fds(fds)
        return await self._reply(cid, self._transmit(link, cid, data, what, timeout))

    def _transmit(
        self, link: AsyncLink, cid: int, data: bytes, what: str, timeout: float | None
    ) -> asyncio.Future[Any]:
        """Write *data*; the future of its reply, failed by the watchdog after *timeout*."""
        loop = self.loop
        assert loop is not None
        fut = loop.create_future()
        self._pending[cid] = fut
        transport = link.transport
        assert transport is not None
        transport.write(data)
        if link.tls:
            transport.write(TLS_TRAILER)
        if timeout is _DEFAULT:
            timeout = self.timeout
        if timeout is not None:
            # One watchdog timer for every pending call, not one timer per call.
            deadline = loop.time() + timeout
            self._deadlines[cid] = (deadline, fut, what, timeout)
            watchdog = self._watchdog
            if watchdog is None or deadline < watchdog.when():
                if watchdog is not None:
                    watchdog.cancel()
                self._watchdog = loop.call_at(deadline, self._watch)
        return fut

    async def _reply(self, cid: int, fut: asyncio.Future[Any]) -> Any:
        try:
            return await fut
        finally:
            self._deadlines.pop(cid, None)

    def _watch(self) -> None:
        """Fail the calls past their deadline; wake again at the next one."""
        loop = self.loop
        assert loop is not None
        self._watchdog = None
        now = loop.time()
        earliest: float | None = None
        for cid, (deadline, fut, what, timeout) in list(self._deadlines.items()):
            if deadline <= now:
                del self._deadlines[cid]
                self._expire(fut, cid, what, timeout)
            elif earliest is None or deadline < earliest:
                earliest = deadline
        if earliest is not None and not loop.is_closed():
            self._watchdog = loop.call_at(earliest, self._watch)

    def _expire(self, fut: asyncio.Future[Any], cid: int, what: str, timeout: float) -> None:
        if self._pending.pop(cid, None) is not None and not fut.done():
            # The late reply, if it comes, has an id nobody waits for: dropped.
            fut.set_exception(TimeoutError(f"no reply to '{what}' from {self._text} within {timeout:g} s"))

    async def execute(
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
        """Run *command*; arguments as a dict and/or keywords, by Python or QAPI name.

        Commands the schema knows are checked before anything is sent and
        their replies decoded into the schema's classes; other commands are
        sent as they are and return the raw JSON reply.

        :param timeout: seconds to wait for the reply (default: the session's;
            None: no limit).
        :param fds: file descriptors to pass with the command (Unix sockets only).
        :param oob: execute out of band (``exec-oob``; the server must offer ``oob``).
        :raises ValidationError: the arguments do not match the schema.
        :raises QMPError: the server answered with an error (a subclass named by class).
        :raises TimeoutError: no reply in time; the session stays usable.
        :raises ConnectionLost: the connection is gone.
        """
        if arguments:
            kwargs = {**arguments, **kwargs}
        spec = self.namespace.commands.get(command)
        if spec is None:
            return await self.execute_raw(command, kwargs, timeout=timeout, fds=fds, oob=oob)
        return await self._execute(spec, kwargs, timeout, fds, oob)

    async def execute_raw(
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
        return await self._call(Execute(command, dict(arguments or {}), None, True, oob), timeout, fds)

    async def _execute(
        self,
        spec: CommandSpec,
        arguments: dict[str, Any],
        timeout: float | None = _DEFAULT,
        fds: Sequence[int] = (),
        oob: bool = False,
    ) -> Any:
        args = encode_args(spec, arguments, self.explicit, self)  # checked even when not connected
        self._check_request(oob, fds)
        link = self._link
        if link is None or not link.ready:
            raise ConnectionLost(f"not connected to {self._text}")
        cid = next(self._ids)
        data = self._proto.send(Execute(spec.name, args, cid, True, oob))
        reply = await self._send(link, cid, data, spec.name, timeout, fds)
        return decode_reply(spec, reply, self._ctx)

    def __getattr__(self, name: str) -> Callable[..., Coroutine[Any, Any, Any]]:
        spec = command_by_py(self.namespace, name)
        execute = self._execute

        def method(**arguments: Any) -> Coroutine[Any, Any, Any]:
            return execute(spec, arguments)  # the coroutine itself: one frame less per call

        method.__name__ = name
        method.__doc__ = spec.doc
        self.__dict__[name] = method  # later look-ups are plain attribute reads
        return method

    def listen(self, *names: str, max_queued: int = MAX_QUEUED) -> AsyncEventListener:
        """A listener for the events called *names* (every event without names).

        ``async with session.listen("BLOCK_IO_ERROR") as events: async for event in events: ...``

        :raises ValueError: *max_queued* below 1.
        """
        listener = AsyncEventListener(names, self._remove_listener, max_queued)
        self._add_listener(listener)
        return listener

    # --- remote signals -------------------------------------------------------------

    # Each request is written when it is made, so that a command sent after
    # ``connect()`` reaches the server after the connection it may rely on.

    def _remote_connect(self, rem: Remote) -> None:
        self._spawn(self._connect_remote(rem, self._post(self._connect_request(rem))))

    async def _connect_remote(self, rem: Remote, reply: Coroutine[Any, Any, Any]) -> None:
        try:
            sid = await reply
        except BaseException:
            self._connect_failed(rem)
            raise
        self._connected(rem, sid)

    def _remote_disconnect(self, request: Disconnect) -> None:
        self._spawn(self._post(request))

    def _fire(self, request: Request, what: str) -> None:
        self._spawn(self._post(request))

    def _collected(self, token: int) -> None:
        loop = self.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._drop_collected, token)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        assert self.loop is not None
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # Also raised by flush(); logged for callers that never flush.
            log.warning("remote signal request failed: %s", task.exception())

    async def flush(self) -> None:
        """Wait until every pending remote connect/disconnect got its reply.

        :raises QMPError: one of them failed.
        """
        tasks = [t for t in self._tasks if not t.done()]
        if tasks:
            await asyncio.gather(*tasks)


async def _raise(err: Exception) -> Any:
    raise err


async def aconnect(
    address: str | os.PathLike[str],
    schema: Schema | str | os.PathLike[str] | None = None,
    reconnect: bool = False,
    *,
    namespace: Namespace | None = None,
    timeout: float | None = 10.0,
    ssl: SSLContext | None = None,
) -> AsyncSession:
    """Connect to a QMP server and negotiate; returns an :class:`AsyncSession`.

    :param schema: the schema the server speaks. Default: the bundled one for a
        qobjects server; a plain QMP server's own (``query-qmp-schema``, with
        the bundled QEMU overlay).
    :param reconnect: after a lost connection, retry with backoff and
        re-establish every signal connection.
    :param timeout: seconds allowed for the greeting and negotiation, and the
        session's default limit for each command (None: no limit).
    :param ssl: speak TLS with this context (``ssl.create_default_context(cafile=...)``,
        plus ``load_cert_chain`` when the server asks for a client certificate).
        Over ``tcp:HOST:PORT`` the certificate must name HOST. No file
        descriptors can be passed over TLS.
    :raises ConnectionLost: the server cannot be reached, or the TLS handshake failed.
    :raises TimeoutError: no greeting or negotiation within *timeout*.
    :raises ValueError: a malformed address or timeout.
    """
    session = AsyncSession(
        address, namespace_for(schema, namespace), reconnect=reconnect, timeout=timeout, ssl=ssl
    )
    session._discover = schema is None and namespace is None
    session._set_state(Runstate.CONNECTING)
    try:
        await session._open()
    except BaseException:
        session._set_state(Runstate.IDLE)  # a failed connect leaves the session idle
        link, session._link = session._link, None
        if link is not None and link.transport is not None:
            link.transport.abort()
        raise
    session._set_state(Runstate.RUNNING)
    compat.register(session._events, stacklevel=2)
    session._notify("connected")
    return session

