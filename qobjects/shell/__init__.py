"""``qobjects shell``: a QMP shell for people, and a JSON-lines one for scripts.

The shell speaks raw QMP through an :class:`~qobjects.qmp.client.AsyncSession`
whose namespace has no commands, so every reply comes back as the server sent
it. Input, one command a line, as QEMU's ``qmp-shell`` takes it::

    query-block
    blockdev-open-tray device=ide1-cd0 force=true     (values are JSON if they parse, else strings)
    set-foo a.b=1 a.c="x y"                           (dotted names nest: {"a": {"b": 1, "c": "x y"}})
    {"execute": "query-block"}                        (raw JSON)
    connect IO_ERROR ide0-hd0                         (a signal of one object; prints its id)
    disconnect 24

The session asks for explicit handles, so against a qobjects server replies
carry canonical handles and ``connect``/``disconnect`` work; the signal and
handle names come from the server's ``query-qmp-schema``, which also feeds the
completion of command and argument names. Against QEMU (no
``set-explicit-handles``) it is a plain QMP shell.

Interactive use (a terminal) prompts with history and completion, prints
replies readably (``Blockdev("ide0-hd0")`` for a canonical handle), errors in
colour, and signals and events live above the prompt. Otherwise each reply is
one JSON line on stdout (``{"return": ...}`` or ``{"error": {"class": ...,
"desc": ...}}``), and so is each signal (``{"signal": ..., "owner": ...,
"connection": ID, "data": ...}``); ``help`` answers ``{"return": {"help":
TEXT, "commands": [...], "signals": {...}}}``. The exit status is 1 if any
line failed.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from ssl import SSLContext
from typing import TYPE_CHECKING, Any, TextIO

from qobjects.errors import ConnectionLost, QMPError, QObjectsError
from qobjects.shell.core import SchemaInfo, Shell, fetch_schema_info, make_completer, raw_namespace
from qobjects.shell.output import JsonPrinter, PrettyPrinter, Printer, pretty
from qobjects.shell.syntax import (
    Builtin,
    ConnectSignal,
    DisconnectSignal,
    Execute,
    InputError,
    parse_line,
    split_words,
)

if TYPE_CHECKING:
    from prompt_toolkit.history import History
    from prompt_toolkit.input import Input
    from prompt_toolkit.output import Output

__all__ = [
    "Builtin",
    "ConnectSignal",
    "DisconnectSignal",
    "Execute",
    "InputError",
    "JsonPrinter",
    "PrettyPrinter",
    "SchemaInfo",
    "Shell",
    "fetch_schema_info",
    "make_completer",
    "parse_line",
    "pretty",
    "raw_namespace",
    "run",
    "split_words",
]

log = logging.getLogger(__name__)

PROMPT = "qmp> "


def run(
    address: str,
    *,
    interactive: bool,
    events: bool = False,
    history: str | None = None,
    timeout: float = 10.0,
    ssl: SSLContext | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    stdin: TextIO | None = None,
    prompt_input: Input | None = None,
    prompt_output: Output | None = None,
) -> int:
    """Run the shell on *address*; return the exit status (0, or 1 when something failed).

    *prompt_input*/*prompt_output* replace the terminal (tests use
    prompt_toolkit's pipe input and a plain-text output).
    """
    return asyncio.run(
        _main(
            address,
            interactive=interactive,
            events=events,
            history=history,
            timeout=timeout,
            ssl=ssl,
            out=out or sys.stdout,
            err=err or sys.stderr,
            stdin=stdin or sys.stdin,
            prompt_input=prompt_input,
            prompt_output=prompt_output,
        )
    )


async def _main(
    address: str,
    *,
    interactive: bool,
    events: bool,
    history: str | None,
    timeout: float,
    ssl: SSLContext | None,
    out: TextIO,
    err: TextIO,
    stdin: TextIO,
    prompt_input: Input | None,
    prompt_output: Output | None,
) -> int:
    from qobjects.qmp.client import aconnect

    try:
        session = await aconnect(address, timeout=timeout, ssl=ssl)
        learned, session.namespace = session.namespace, raw_namespace()  # replies as the server sent them
    except TimeoutError as exc:
        print(f"qobjects shell: {exc}", file=err)
        return 1
    except (QObjectsError, OSError) as exc:
        print(f"qobjects shell: {exc}", file=err)
        return 1
    quiet = _ReportedHere()
    client_log = logging.getLogger("qobjects.qmp.client")
    client_log.addFilter(quiet)
    try:
        info = await fetch_schema_info(session)
        printer: Printer = PrettyPrinter(prompt_output) if interactive else JsonPrinter(out)
        shell = Shell(session, info, printer)
        shell.emulate(learned)
        if events:
            session.add_event_listener(shell.on_event)
        try:
            if interactive:
                await _interactive(shell, address, history, prompt_input, prompt_output)
            else:
                await _script(shell, stdin)
        except ConnectionLost as exc:
            print(f"qobjects shell: {exc}", file=err)
            return 1
    finally:
        await session.close()
        client_log.removeFilter(quiet)
    return 1 if shell.failed else 0


class _ReportedHere(logging.Filter):
    """Drops the client's log line for a failed remote connect: the shell prints the error reply."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("remote signal request failed")


async def _script(shell: Shell, stdin: TextIO) -> None:
    loop = asyncio.get_running_loop()
    while True:
        # In a thread, so that signals keep arriving while we wait for input.
        line = await loop.run_in_executor(None, stdin.readline)
        if not line or not await shell.run_line(line):
            return


def _history(path: str | None) -> History:
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    if path is None:
        return InMemoryHistory()
    try:
        Path(path).touch()
    except OSError as err:
        log.warning("history not saved: %s", err)
        return InMemoryHistory()
    return FileHistory(path)


async def _interactive(
    shell: Shell, address: str, history: str | None, prompt_input: Input | None, prompt_output: Output | None
) -> None:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
    from prompt_toolkit.patch_stdout import patch_stdout

    session = shell.session
    version: object = None
    try:
        version = await session.execute("query-version")
    except QMPError:
        pass
    package = version.get("package") if isinstance(version, dict) else None
    mode = "signals available" if session.explicit else "plain QMP, no signals"
    shell.printer.info(f"connected to {address} ({package or 'QMP server'}; {mode}). Type 'help'.")
    prompt: PromptSession[str] = PromptSession(
        completer=make_completer(shell.info),
        history=_history(history),
        auto_suggest=AutoSuggestFromHistory(),
        complete_while_typing=False,
        key_bindings=_tab_completes_now(),
        input=prompt_input,
        output=prompt_output,
    )
    with patch_stdout(raw=True) if prompt_output is None else _nothing():
        while True:
            try:
                line = await prompt.prompt_async(PROMPT)
            except KeyboardInterrupt:
                continue
            except EOFError:
                return
            if not await shell.run_line(line):
                return


def _tab_completes_now() -> Any:
    """Tab inserts a single completion (or the common part) before the next key is read.

    prompt_toolkit's own Tab completes in a task, so a quick Tab-Enter would
    run the uncompleted text; the completer is cheap enough to run inline.
    """
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.completion.base import get_common_complete_suffix
    from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

    bindings = KeyBindings()

    @bindings.add("tab")
    def _tab(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        if buffer.complete_state is not None or buffer.completer is None:
            buffer.complete_next()
            return
        asked = CompleteEvent(completion_requested=True)
        found = list(buffer.completer.get_completions(buffer.document, asked))
        if len(found) == 1:
            buffer.apply_completion(found[0])
        elif found:
            buffer.insert_text(get_common_complete_suffix(buffer.document, found))
            buffer.start_completion(select_first=False)

    return bindings


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
