"""The session classes of a stub: ``Session``/``AsyncSession`` with a method per command.

The classes' own API is a fixed template (it mirrors
:class:`qobjects.qmp.client.Session` and ``AsyncSession``); each command of
the schema adds a typed method to both (``def`` and ``async def``), with
keyword parameters for its arguments and its return type. ``connect`` and
``aconnect`` follow the classes.
"""

from __future__ import annotations

from qobjects.codecs import py_name
from qobjects.schema import Command, HandleType, Schema
from qobjects.stubgen.annotate import Annotator, Param, entity_doc, quote_doc

__all__ = ["SESSION_NAMES", "SESSION_STUB_NAMES", "session_lines"]

#: Names the session part of a stub module defines at module level.
SESSION_STUB_NAMES = frozenset({"AsyncSession", "Session", "aconnect", "connect"})

_SESSIONS = '''\
class AsyncSession:
    """A QMP client session (asyncio), with a typed method per command of the schema.

    Made by :func:`aconnect`; see :class:`qobjects.qmp.client.AsyncSession`.
    """

    address: str | os.PathLike[str]
    ask_explicit: bool
    namespace: _Namespace
    reconnect: bool
    timeout: float | None
    ssl: _ssl.SSLContext | None
    explicit: bool
    greeting: _Greeting | None
    state_changed: _StateChanged
    slot_error: Callable[[_SlotError], Any] | None
    def __init__(
        self,
        address: str | os.PathLike[str],
        namespace: _Namespace,
        *,
        reconnect: bool = False,
        timeout: float | None = 10.0,
        ask_explicit: bool = True,
        ssl: _ssl.SSLContext | None = None,
    ) -> None: ...
    @property
    def connected(self) -> bool: ...
    @property
    def runstate(self) -> _Runstate: ...
    @property
    def oob(self) -> bool: ...
    def get(self, cls: type[_H], value: object) -> _H: ...
    def add_event_listener(
        self, listener: Callable[[str, dict[str, Any] | None, tuple[int, int]], Any]
    ) -> Callable[[str, dict[str, Any] | None, tuple[int, int]], Any]: ...
    def remove_listener(self, listener: Any) -> None: ...
    loop: asyncio.AbstractEventLoop | None
    async def close(self) -> None: ...
    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def execute(
        self,
        command: str,
        arguments: dict[str, Any] | None = None,
        /,
        *,
        timeout: float | None = ...,
        fds: Sequence[int] = (),
        oob: bool = False,
        **kwargs: Any,
    ) -> Any: ...
    async def execute_raw(
        self,
        command: str,
        arguments: dict[str, object] | None = None,
        *,
        timeout: float | None = ...,
        fds: Sequence[int] = (),
        oob: bool = False,
    ) -> object: ...
    def listen(self, *names: str, max_queued: int = ...) -> _AsyncEventListener: ...
    async def flush(self) -> None: ...
@@ASYNC@@

class Session:
    """A synchronous session, with a typed method per command of the schema.

    Made by :func:`connect`; see :class:`qobjects.qmp.client.Session`.
    """

    address: str | os.PathLike[str]
    ask_explicit: bool
    namespace: _Namespace
    reconnect: bool
    timeout: float | None
    ssl: _ssl.SSLContext | None
    explicit: bool
    greeting: _Greeting | None
    state_changed: _StateChanged
    slot_error: Callable[[_SlotError], Any] | None
    def __init__(
        self,
        address: str | os.PathLike[str],
        namespace: _Namespace,
        *,
        reconnect: bool = False,
        timeout: float | None = 10.0,
        ask_explicit: bool = True,
        ssl: _ssl.SSLContext | None = None,
    ) -> None: ...
    @property
    def connected(self) -> bool: ...
    @property
    def runstate(self) -> _Runstate: ...
    @property
    def oob(self) -> bool: ...
    def get(self, cls: type[_H], value: object) -> _H: ...
    def add_event_listener(
        self, listener: Callable[[str, dict[str, Any] | None, tuple[int, int]], Any]
    ) -> Callable[[str, dict[str, Any] | None, tuple[int, int]], Any]: ...
    def remove_listener(self, listener: Any) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> None: ...
    def execute(
        self,
        command: str,
        arguments: dict[str, Any] | None = None,
        /,
        *,
        timeout: float | None = ...,
        fds: Sequence[int] = (),
        oob: bool = False,
        **kwargs: Any,
    ) -> Any: ...
    def execute_raw(
        self,
        command: str,
        arguments: dict[str, object] | None = None,
        *,
        timeout: float | None = ...,
        fds: Sequence[int] = (),
        oob: bool = False,
    ) -> object: ...
    def listen(self, *names: str, max_queued: int = ...) -> _EventListener: ...
    def flush(self) -> None: ...
@@SYNC@@

async def aconnect(
    address: str | os.PathLike[str],
    schema: _Schema | str | os.PathLike[str] | None = None,
    reconnect: bool = False,
    *,
    namespace: _Namespace | None = None,
    timeout: float | None = 10.0,
    ssl: _ssl.SSLContext | None = None,
) -> AsyncSession:
    """Connect to a QMP server and negotiate; see :func:`qobjects.qmp.client.aconnect`."""

def connect(
    address: str | os.PathLike[str],
    schema: _Schema | str | os.PathLike[str] | None = None,
    reconnect: bool = False,
    *,
    namespace: _Namespace | None = None,
    timeout: float | None = 10.0,
    ssl: _ssl.SSLContext | None = None,
) -> Session:
    """Like :func:`aconnect`, for synchronous code; see :func:`qobjects.qmp.client.connect`."""
'''

#: Names the session templates define (commands of these names are shadowed at runtime too).
SESSION_NAMES = frozenset(
    {
        "address", "ask_explicit", "namespace", "reconnect", "timeout", "explicit", "greeting",
        "state_changed", "loop", "connected", "close", "execute", "get", "add_event_listener",
        "flush", "execute_raw", "listen", "remove_listener", "runstate", "oob", "slot_error", "ssl",
    }
)  # fmt: skip


def session_lines(schema: Schema, names: Annotator) -> list[str]:
    """The lines of the session classes and ``connect``/``aconnect`` for *schema*."""
    sync, asyn = _commands(schema, names)
    sessions = _SESSIONS.replace("@@ASYNC@@", "\n".join(asyn)).replace("@@SYNC@@", "\n".join(sync))
    return sessions.splitlines()


def _commands(schema: Schema, names: Annotator) -> tuple[list[str], list[str]]:
    """The methods of the commands: for ``Session``, for ``AsyncSession``."""
    sync: list[str] = []
    asyn: list[str] = []
    for cmd in schema.commands():
        py = py_name(cmd.name)
        if py in SESSION_NAMES or py.startswith("_"):
            continue  # unreachable as a method at runtime: the attribute wins
        ret = names.ann(cmd.ret_type, inp=False) if cmd.ret_type is not None else "None"
        params = _command_params(cmd, names)
        doc = quote_doc(entity_doc(cmd) or f"QAPI command {cmd.name}.", "        ")
        for out, head in ((sync, "def"), (asyn, "async def")):
            if params is None:
                out.append(f"    {head} {py}(self, **arguments: Any) -> {ret}:")
            elif not params:
                out.append(f"    {head} {py}(self) -> {ret}:")
            else:
                out += [f"    {head} {py}(", "        self,", "        *,"]
                out += [f"        {p.text()}," for p in params]
                out.append(f"    ) -> {ret}:")
            out += doc
    return sync, asyn


def _command_params(cmd: Command, names: Annotator) -> list[Param] | None:
    """Keyword parameters; None for a boxed union argument (``**arguments: Any``)."""
    if cmd.arg_type is None:
        return []
    if cmd.arg_type.variants is not None:
        return None
    params = names.params(cmd.arg_type.members)
    for i, m in enumerate(cmd.arg_type.members):
        if isinstance(m.type, HandleType):
            # A command takes a handle or its plain value.
            scalar = "str" if m.type.data.name == "str" else "int"
            ann = f"{names.names[m.type.name]} | {scalar}" + (" | None" if m.optional else "")
            params[i] = Param(params[i].py, ann, m.optional)
    return params
