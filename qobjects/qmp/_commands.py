"""Running one ``execute`` on the server: arguments in, handler, reply out.

Handlers get checked arguments by Python name (handles resolved) and may be
``async def``. A :class:`~qobjects.errors.QMPError` a handler raises is the
client's answer as it stands; any other exception is logged and answered
with a neutral ``GenericError``, so that no private detail (a path, a
stack) reaches a client.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from qobjects.codecs import DecodeContext
from qobjects.errors import QMPError, ValidationError
from qobjects.objects import CommandSpec
from qobjects.qmp._remote import find_handle
from qobjects.qmp._typecheck import HandlerCheck, ReturnMismatch
from qobjects.qmp.protocol import Execute

if TYPE_CHECKING:
    from qobjects.objects import Namespace
    from qobjects.owner import OwnerT
    from qobjects.qmp._session import ServerSession

__all__ = ["CONTROL_COMMANDS", "BUILTIN_COMMANDS", "Commands"]

log = logging.getLogger("qobjects.qmp.server")

CONTROL_COMMANDS = ("qmp_capabilities", "set-explicit-handles")
BUILTIN_COMMANDS = frozenset({"query-qmp-schema", "query-version", "query-commands"})


class _ServerContext(DecodeContext):
    """How the server reads arguments: strictly, with finders' failures contained."""

    __slots__ = ()

    def handle(self, cls: type[OwnerT], value: object) -> OwnerT:
        return find_handle(cls, value)


SERVER_CTX = _ServerContext(strict=True)


class Commands:
    """The server's command handlers, and how a request runs.

    :param namespace: the server's namespace (its commands and types).
    """

    def __init__(self, namespace: Namespace) -> None:
        self.namespace = namespace
        self.impl: dict[str, Callable[..., Any]] = {}
        self.checks: dict[str, HandlerCheck] = {}
        self._running: set[asyncio.Task[None]] = set()
        self._is_async: dict[str, bool] = {}  # inspect's answer, per command (reset by register)

    def register(self, name: str, fn: Callable[..., Any], check_types: bool) -> None:
        self.impl[name] = fn
        self._is_async.pop(name, None)
        self.checks.pop(name, None)
        if check_types:
            check = HandlerCheck(name, fn)
            spec = self.namespace.commands[name]
            check.names = {s.py: s.name for s in spec.args}
            self.checks[name] = check

    def execute(self, session: ServerSession, ev: Execute) -> None:
        name = ev.command
        if name == "qmp_capabilities":
            self._qmp_capabilities(session, ev)
            return
        if name == "set-explicit-handles":
            if ev.arguments:
                session.error("GenericError", "set-explicit-handles takes no arguments", ev)
                return
            session.proto.set_explicit_handles()
            session.reply({}, ev)
            return
        spec = self.namespace.commands.get(name)
        fn = self.impl.get(name)
        if fn is None or spec is None:
            session.error("CommandNotFound", f"The command {name} has not been found", ev)
            return
        try:
            args = spec.decode_args(ev.arguments, SERVER_CTX)
            check = self.checks.get(name)
            if check is not None:
                check.arguments(args)
        except QMPError as err:
            session.error(err.error_class, err.desc, ev)
            return
        except ValidationError as err:
            session.error("GenericError", str(err), ev)
            return
        is_async = self._is_async.get(name)
        if is_async is None:
            is_async = self._is_async[name] = inspect.iscoroutinefunction(fn)
        if is_async:
            session.busy = True
            task = asyncio.get_running_loop().create_task(self._run_async(session, fn, args, spec, ev))
            self._running.add(task)  # held until done: the loop keeps only a weak reference
            task.add_done_callback(self._running.discard)
            return
        try:
            result = fn(**args)
        except Exception as err:
            self._failed(session, name, err, ev)
            return
        self._send_result(session, spec, result, ev)

    async def _run_async(
        self,
        session: ServerSession,
        fn: Callable[..., Any],
        args: dict[str, Any],
        spec: CommandSpec,
        ev: Execute,
    ) -> None:
        try:
            result = await fn(**args)
        except Exception as err:
            self._failed(session, spec.name, err, ev)
        else:
            self._send_result(session, spec, result, ev)
        finally:
            session.done_waiting()

    def _failed(self, session: ServerSession, name: str, err: Exception, ev: Execute) -> None:
        if isinstance(err, QMPError):
            session.error(err.error_class, err.desc, ev)
            return
        log.error("command %s failed", name, exc_info=err)
        session.error("GenericError", f"command '{name}' failed on the server (see its log)", ev)

    def _send_result(self, session: ServerSession, spec: CommandSpec, result: object, ev: Execute) -> None:
        check = self.checks.get(spec.name)
        if check is not None:
            try:
                check.result(result)
            except ReturnMismatch as err:
                log.error("%s", err)
                session.error("GenericError", str(err), ev)
                return
        if spec.ret is None:
            if spec.success_response:
                session.reply({}, ev)
            return
        what = f"the result of '{spec.name}'"
        if spec.name in BUILTIN_COMMANDS:
            session.reply(result, ev, what)  # built-ins return JSON directly
            return
        try:
            value = spec.ret.check(result, f"result of '{spec.name}'", "")
            encoded = spec.ret.encode(value, session.proto.explicit_handles)
        except ValidationError as err:
            log.error("command %s returned a bad value: %s", spec.name, err)
            session.error("GenericError", f"internal error: {err}", ev)
            return
        session.reply(encoded, ev, what)

    def _qmp_capabilities(self, session: ServerSession, ev: Execute) -> None:
        args = ev.arguments
        unknown = set(args) - {"enable"}
        if unknown:
            session.error("GenericError", f"Parameter '{sorted(unknown)[0]}' is unexpected", ev)
            return
        enable = args.get("enable", [])
        if not isinstance(enable, list) or not all(isinstance(c, str) for c in enable):
            session.error("GenericError", "Parameter 'enable' expects an array of capability names", ev)
            return
        if enable:
            session.error("GenericError", f"Capability '{enable[0]}' not available", ev)
            return
        session.proto.negotiated()
        session.reply({}, ev)
