"""The shell proper: what the server speaks, running lines, completion."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qobjects.errors import InvalidHandleValue, QMPError, SchemaError
from qobjects.shell.output import Printer
from qobjects.shell.syntax import Builtin, ConnectSignal, DisconnectSignal, Execute, InputError, parse_line

if TYPE_CHECKING:
    from prompt_toolkit.completion import CompleteEvent, Completion
    from prompt_toolkit.document import Document

    from qobjects.objects import Handle, Namespace
    from qobjects.qmp.client import AsyncSession
    from qobjects.signals import BoundSignal, Connection

__all__ = [
    "BUILTINS",
    "HELP",
    "SchemaInfo",
    "Shell",
    "fetch_schema_info",
    "make_completer",
    "raw_namespace",
    "signal_namespace",
]

log = logging.getLogger("qobjects.shell")

BUILTINS = ("connect", "disconnect", "help", "quit")
HELP = """\
COMMAND arg=value ...             run a QMP command; values are JSON if they parse, else strings;
                                  a.b=1 nests; a handle is written as its plain value
{"execute": CMD, "arguments": {}} the same, as raw JSON
connect SIGNAL HANDLE             connect to SIGNAL of one object (qobjects servers); prints its id
disconnect ID                     drop a connection made with connect
help                              this text, and the signals the server has
quit                              leave (or Ctrl-D)"""

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.+-]*$")


@dataclass(slots=True)
class SchemaInfo:
    """Names from ``query-qmp-schema``: commands with their arguments, handles, signals.

    :ivar commands: command -> its argument names (union branches included).
    :ivar handles: handle type -> ``"string"`` or ``"int"``.
    :ivar signals: signal -> (owner handle type, member names).
    """

    commands: dict[str, list[str]] = field(default_factory=dict)
    handles: dict[str, str] = field(default_factory=dict)
    signals: dict[str, tuple[str, list[str]]] = field(default_factory=dict)

    @classmethod
    def from_introspection(cls, data: object) -> SchemaInfo:
        """Read the reply of ``query-qmp-schema`` (QEMU's or a qobjects server's)."""
        entries: dict[str, dict[str, Any]] = {}
        if isinstance(data, list):
            entries = {e["name"]: e for e in data if isinstance(e, dict) and isinstance(e.get("name"), str)}
        info = cls()
        for name, entry in entries.items():
            meta = entry.get("meta-type")
            if meta == "command":
                info.commands[name] = _members(entries, entry.get("arg-type"), set())
            elif meta == "handle":
                info.handles[name] = str(entry.get("json-type"))
            elif meta == "signal" and isinstance(entry.get("owner"), str):
                info.signals[name] = (entry["owner"], _members(entries, entry.get("arg-type"), set()))
        return info

    @classmethod
    def from_commands(cls, data: object) -> SchemaInfo:
        """Read the reply of ``query-commands`` (names only)."""
        info = cls()
        for entry in data if isinstance(data, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                info.commands[entry["name"]] = []
        return info


def _members(entries: dict[str, dict[str, Any]], type_name: object, seen: set[str]) -> list[str]:
    entry = entries.get(type_name) if isinstance(type_name, str) else None
    if entry is None or entry.get("meta-type") != "object" or entry["name"] in seen:
        return []
    seen.add(entry["name"])
    names = [m["name"] for m in entry.get("members", []) if isinstance(m, dict) and "name" in m]
    for variant in entry.get("variants", []):
        if isinstance(variant, dict):
            names += _members(entries, variant.get("type"), seen)
    return list(dict.fromkeys(names))


def signal_namespace(info: SchemaInfo) -> Namespace | None:
    """Classes for the server's handle types and signals, with every member ``any``.

    The shell connects through them and prints what arrives as it came.
    """
    from qobjects.objects import build
    from qobjects.schema import parse_schema

    lines = []
    for name, json_type in info.handles.items():
        if _NAME.match(name):
            lines.append(f"{{ 'handle': '{name}', 'data': '{'int' if json_type == 'int' else 'str'}' }}")
    for name, (owner, members) in info.signals.items():
        if _NAME.match(name) and owner in info.handles and all(_NAME.match(m) for m in members):
            data = ", ".join(f"'*{m}': 'any'" for m in members)
            lines.append(f"{{ 'signal': '{name}', 'owner': '{owner}', 'data': {{ {data} }} }}")
    try:
        return build(parse_schema("\n".join(lines), "<query-qmp-schema>"))
    except SchemaError as err:
        log.warning("cannot use the server's signals: %s", err)
        return None


def raw_namespace() -> Namespace:
    """A namespace without commands: every reply stays raw JSON."""
    from qobjects.objects import build
    from qobjects.schema import parse_schema

    return build(parse_schema("", "<raw>"))


# --- output ------------------------------------------------------------------------------


class Shell:
    """Runs input lines on a session and prints what comes back.

    :ivar failed: some line failed (bad input, an error reply).
    """

    def __init__(self, session: AsyncSession, info: SchemaInfo, printer: Printer) -> None:
        self.session = session
        self.info = info
        self.printer = printer
        self.failed = False
        self.signals = signal_namespace(info) if session.explicit and info.signals else None
        self.connections: dict[int, tuple[BoundSignal, Connection[Any]]] = {}

    def emulate(self, namespace: Namespace) -> None:
        """Offer the signals *namespace* emulates from a server's events (QEMU's, with its overlay)."""
        emulated = getattr(namespace, "emulated_signals", None)
        if not self.session.explicit and emulated is not None:
            self.signals = namespace
            self.info.signals.update(emulated())

    def _error(self, error_class: str, desc: str) -> None:
        self.failed = True
        self.printer.error(error_class, desc)

    async def run_line(self, line: str) -> bool:
        """Run one input line; False when the shell should stop.

        :raises ConnectionLost: the connection is gone.
        """
        try:
            request = parse_line(line)
        except InputError as err:
            self._error("InputError", str(err))
            return True
        if isinstance(request, Execute):
            await self.execute(request.command, request.arguments)
        elif isinstance(request, ConnectSignal):
            await self.connect(request.signal, request.owner)
        elif isinstance(request, DisconnectSignal):
            await self.disconnect(request.connection)
        elif isinstance(request, Builtin):
            if request.name == "quit":
                return False
            self.printer.help(self.help(), self.help_data())
        return True

    def help(self) -> str:
        """The help text: the input syntax, and the signals the server has."""
        if self.signals is None and not self.session.explicit:
            return HELP + "\n\nThis server has no signals (it does not accept set-explicit-handles)."
        sigs = ", ".join(f"{name} (of {owner})" for name, (owner, _) in self.info.signals.items())
        return HELP + f"\n\nSignals: {sigs or 'none'}"

    def help_data(self) -> dict[str, object]:
        """What ``help`` answers in a script: the text, the commands and the signals."""
        signals = self.info.signals if self.session.explicit or self.signals is not None else {}
        return {
            "help": self.help(),
            "commands": sorted(self.info.commands),
            "signals": {
                name: {"owner": owner, "members": members} for name, (owner, members) in signals.items()
            },
        }

    async def execute(self, command: str, arguments: dict[str, object]) -> None:
        try:
            if "command" in arguments:  # it would collide with execute()'s own parameter
                from qobjects.qmp.protocol import Execute as Request

                value = await self.session._call(Request(command, arguments, None, True))
            else:
                value = await self.session.execute(command, arguments)
        except QMPError as err:
            self._error(err.error_class, err.desc)
            return
        self.printer.reply(value)

    def _find_signal(self, name: str) -> str | None:
        if name in self.info.signals:
            return name
        wanted = name.upper().replace("-", "_")
        return next((n for n in self.info.signals if n.upper() == wanted), None)

    async def connect(self, signal_name: str, owner_value: object) -> None:
        if self.signals is None and not self.session.explicit:
            self._error(
                "NoSignals",
                "this server does not support signals (it does not accept set-explicit-handles)",
            )
            return
        name = self._find_signal(signal_name)
        if name is None or self.signals is None:
            known = ", ".join(self.info.signals) or "none"
            self._error("InputError", f"unknown signal {signal_name!r} (the server's signals: {known})")
            return
        owner_type, _members = self.info.signals[name]
        try:
            owner = self.session.get(self.signals.handles[owner_type], owner_value)
        except InvalidHandleValue as err:
            self._error(err.error_class, err.desc)
            return
        bound = self.signals.handles[owner_type]._signals[name].__get__(owner, type(owner))
        holder: list[Connection[Any]] = []
        conn = bound.connect(self._slot(name, holder))
        holder.append(conn)
        try:
            await self.session.flush()
        except QMPError as err:
            self._error(err.error_class, err.desc)
            return
        self.connections[conn.id] = (bound, conn)
        self.printer.connected(conn.id, name, {"__handle__": owner_type, "data": owner.value})

    def _slot(self, name: str, holder: list[Connection[Any]]) -> Any:
        printer = self.printer

        def slot(owner: Handle, **values: Any) -> None:
            conn = holder[0] if holder else None
            specs = conn.signal.specs if conn is not None else ()
            wire = {s.py: s.name for s in specs}
            data = {wire.get(k, k): v for k, v in values.items() if v is not None}
            owner_json = {"__handle__": type(owner).__handle_name__, "data": owner.value}
            printer.signal(name, owner_json, conn.id if conn is not None else -1, data)

        return slot

    async def disconnect(self, connection: int) -> None:
        entry = self.connections.pop(connection, None)
        if entry is None:
            mine = ", ".join(map(str, self.connections)) or "none"
            self._error("InputError", f"no connection {connection} in this shell (connections: {mine})")
            return
        bound, conn = entry
        bound.disconnect(conn)
        try:
            await self.session.flush()
        except QMPError as err:
            self._error(err.error_class, err.desc)
            return
        self.printer.reply({})

    def on_event(self, name: str, data: dict[str, Any] | None, timestamp: tuple[int, int]) -> None:
        self.printer.event(name, data, timestamp)


async def fetch_schema_info(session: AsyncSession) -> SchemaInfo:
    """The server's names: ``query-qmp-schema``, else ``query-commands``."""
    try:
        return SchemaInfo.from_introspection(await session.execute("query-qmp-schema"))
    except QMPError as err:
        log.info("no query-qmp-schema (%s); completing command names only", err)
    try:
        return SchemaInfo.from_commands(await session.execute("query-commands"))
    except QMPError:
        return SchemaInfo()


# --- completion --------------------------------------------------------------------------


def make_completer(info: SchemaInfo) -> Any:
    """A prompt_toolkit completer for command names, argument names and signals."""
    from prompt_toolkit.completion import Completer, Completion

    class QMPCompleter(Completer):
        def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
            return iter(list(_complete(info, document.text_before_cursor, Completion)))

    return QMPCompleter()


def _complete(info: SchemaInfo, text: str, make: type[Completion]) -> Iterable[Completion]:
    if text.lstrip().startswith("{"):
        return
    words = text.split()
    current = "" if not words or text[-1:].isspace() else words[-1]
    done = words[:-1] if current else words
    if not done:
        for name in sorted([*info.commands, *BUILTINS]):
            if name.startswith(current):
                yield make(name, start_position=-len(current))
        return
    command = done[0]
    if command == "connect":
        if len(done) == 1:
            for name, (owner, _members) in info.signals.items():
                if name.startswith(current.upper()):
                    yield make(name, start_position=-len(current), display_meta=f"signal of {owner}")
        return
    if "=" in current:
        return
    given = {w.partition("=")[0] for w in done[1:]}
    for arg in info.commands.get(command, []):
        if arg.startswith(current) and arg not in given:
            yield make(arg + "=", start_position=-len(current), display=arg)


# --- running ------------------------------------------------------------------------------
