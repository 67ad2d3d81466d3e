"""``qobjects shell``: parsing, completion, scripts against the demo server and QEMU,
and the interactive prompt driven through prompt_toolkit's pipe input."""

from __future__ import annotations

import io
import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from shutil import which
from typing import Any

import pytest

from qobjects.shell import (
    Builtin,
    ConnectSignal,
    DisconnectSignal,
    Execute,
    InputError,
    SchemaInfo,
    make_completer,
    parse_line,
    pretty,
    split_words,
)

QEMU = "qemu-system-x86_64"


# --- input and completion, no server -------------------------------------------------------


def test_parse_line() -> None:
    assert parse_line("  ") is None
    assert parse_line("# a comment") is None
    assert parse_line("query-block") == Execute("query-block", {})
    assert parse_line("eject device=ide1-cd0 force=true") == Execute(
        "eject", {"device": "ide1-cd0", "force": True}
    )
    assert parse_line('x a=1 b="1" c=\'it is\' d=[1, 2] e.f=null e.g={"h": "i j"}') == Execute(
        "x", {"a": 1, "b": "1", "c": "it is", "d": [1, 2], "e": {"f": None, "g": {"h": "i j"}}}
    )
    assert parse_line('{"execute": "eject", "arguments": {"device": "ide1-cd0"}}') == Execute(
        "eject", {"device": "ide1-cd0"}
    )
    assert parse_line("connect IO_ERROR ide0-hd0") == ConnectSignal("IO_ERROR", "ide0-hd0")
    assert parse_line("connect IO_ERROR 7") == ConnectSignal("IO_ERROR", 7)
    assert parse_line("disconnect 24") == DisconnectSignal(24)
    assert parse_line("help") == Builtin("help")
    assert parse_line("exit") == Builtin("quit")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("eject ide1-cd0", "expected ARG=VALUE"),
        ("eject a=1 a=2", "given twice"),
        ("eject a=1 a.b=2", "already a value"),
        ('eject a="x', "unterminated"),
        ("eject a=[1,", "bad JSON value"),
        ("{not json", "bad JSON"),
        ('{"connect": "IO_ERROR"}', "raw JSON must be"),
        ('{"execute": "x", "id": 1, "oob": true}', "unexpected key 'oob'"),
        ("connect IO_ERROR", "usage: connect SIGNAL HANDLE"),
        ("disconnect x", "usage: disconnect ID"),
        ("quit now", "takes no arguments"),
    ],
)
def test_parse_errors(line: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_line(line)


def test_split_words_keeps_json_together() -> None:
    assert split_words('a b={"c": [1, 2]} d="e f"') == ["a", 'b={"c": [1, 2]}', 'd="e f"']


def test_pretty_shows_handles_readably() -> None:
    value = [{"device": {"__handle__": "Blockdev", "data": "ide0-hd0"}, "removable": False}]
    text = "".join(t for _, t in pretty(value))
    assert text == '[{"device": Blockdev("ide0-hd0"), "removable": false}]'
    long = {"x" * 60: list(range(30))}
    assert "\n" in "".join(t for _, t in pretty(long))


def default_info() -> SchemaInfo:
    from qobjects.schema import DEFAULT_SCHEMA, load_schema
    from qobjects.schema.introspect import introspect

    return SchemaInfo.from_introspection(introspect(load_schema(DEFAULT_SCHEMA)))


def test_schema_info_from_introspection() -> None:
    info = default_info()
    assert info.commands["blockdev-open-tray"] == ["device", "force"]
    assert info.commands["query-block"] == []
    assert info.handles == {"Blockdev": "string"}
    assert info.signals == {
        "IO_ERROR": ("Blockdev", ["operation", "action"]),
        "TRAY_MOVED": ("Blockdev", ["tray-open"]),
    }


def completions(text: str, info: SchemaInfo | None = None) -> list[str]:
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    completer = make_completer(info or default_info())
    event = CompleteEvent(completion_requested=True)
    return [c.text for c in completer.get_completions(Document(text), event)]


def test_completer() -> None:
    assert completions("query-b") == ["query-block"]
    assert "disconnect" in completions("dis")
    assert completions("blockdev-open-tray ") == ["device=", "force="]
    assert completions("blockdev-open-tray device=ide1-cd0 f") == ["force="]
    assert completions("blockdev-open-tray device=i") == []
    assert completions("connect T") == ["TRAY_MOVED"]
    assert completions("connect io") == ["IO_ERROR"]
    assert completions('{"execute": "q') == []


# --- scripts against the demo server ------------------------------------------------------


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[Path]:
    """``qobjects serve --demo`` in a subprocess; stops with SIGTERM."""
    path = tmp_path / "qmp.sock"
    proc = subprocess.Popen(
        [sys.executable, "-m", "qobjects", "serve", "--demo", "--unix", str(path)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        assert "serving the demo" in proc.stderr.readline()
        yield path
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()
    assert proc.returncode == 0
    assert not path.exists()


class ScriptShell:
    """``qobjects shell ADDRESS`` with stdin and stdout pipes, one line at a time."""

    def __init__(self, address: Path | str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "qobjects", "shell", str(address), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, self.proc.stderr.read() if self.proc.stderr else "EOF"
        msg: dict[str, Any] = json.loads(line)
        return msg

    def call(self, line: str) -> dict[str, Any]:
        self.send(line)
        return self.read()

    def finish(self) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, out, err


def hd(value: str = "ide0-hd0") -> dict[str, str]:
    return {"__handle__": "Blockdev", "data": value}


def test_script_against_demo_server(demo_server: Path) -> None:
    sh = ScriptShell(demo_server)
    reply = sh.call("query-block")
    assert [b["device"] for b in reply["return"]] == [hd("ide0-hd0"), hd("ide1-cd0")]
    reply = sh.call("connect IO_ERROR ide0-hd0")
    conn = reply["return"]
    assert isinstance(conn, int)
    tray = sh.call("connect tray_moved ide1-cd0")["return"]
    # Per owner: the CD's error is not delivered to the disk's connection.
    assert sh.call("x-inject-io-error device=ide1-cd0 operation=read action=report") == {"return": {}}
    sh.send("x-inject-io-error device=ide0-hd0 operation=write action=stop")
    assert sh.read() == {
        "signal": "IO_ERROR",
        "owner": hd(),
        "connection": conn,
        "data": {"operation": "write", "action": "stop"},
    }
    assert sh.read() == {"return": {}}
    # Raw JSON, with the handle in canonical form this time.
    sh.send(json.dumps({"execute": "blockdev-open-tray", "arguments": {"device": hd("ide1-cd0")}}))
    assert sh.read() == {
        "signal": "TRAY_MOVED",
        "owner": hd("ide1-cd0"),
        "connection": tray,
        "data": {"tray-open": True},
    }
    assert sh.read() == {"return": {}}
    assert sh.call(f"disconnect {conn}") == {"return": {}}
    assert sh.call("x-inject-io-error device=ide0-hd0 operation=read action=stop") == {"return": {}}
    sh.send("query-version")
    status, out, err = sh.finish()
    assert json.loads(out)["return"]["package"].startswith("qobjects")
    assert status == 0, err
    assert err == ""


def test_script_errors(demo_server: Path) -> None:
    lines = [
        "blockdev-open-tray device=ide0-hd0",
        "eject device=nope",
        "no-such-command",
        "eject ide1-cd0",
        "connect WOBBLE ide0-hd0",
        "connect IO_ERROR nope",
        "disconnect 99",
        "query-block",
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "qobjects", "shell", str(demo_server)],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 1
    replies = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(replies) == len(lines)
    classes = [r["error"]["class"] if "error" in r else None for r in replies]
    assert classes == [
        "GenericError",
        "InvalidHandleValue",
        "CommandNotFound",
        "InputError",
        "InputError",
        "InvalidHandleValue",
        "InputError",
        None,
    ]
    assert "not removable" in replies[0]["error"]["desc"]
    assert "IO_ERROR" in replies[4]["error"]["desc"]  # the valid choices are listed
    assert "Traceback" not in proc.stderr


def test_script_help(demo_server: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "qobjects", "shell", str(demo_server)],
        input="help\nquery-version\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    first, second = (json.loads(line) for line in proc.stdout.splitlines())
    answer = first["return"]
    assert "connect SIGNAL HANDLE" in answer["help"]
    assert "Signals: IO_ERROR (of Blockdev), TRAY_MOVED (of Blockdev)" in answer["help"]
    assert "query-block" in answer["commands"] and "x-inject-io-error" in answer["commands"]
    assert answer["signals"] == {
        "IO_ERROR": {"owner": "Blockdev", "members": ["operation", "action"]},
        "TRAY_MOVED": {"owner": "Blockdev", "members": ["tray-open"]},
    }
    assert "return" in second  # the shell goes on after help


def test_script_events_flag(demo_server: Path) -> None:
    sh = ScriptShell(demo_server, "--events")
    sh.send("blockdev-open-tray device=ide1-cd0")
    first, second = sh.read(), sh.read()
    assert first["event"] == "DEVICE_TRAY_MOVED"
    assert first["data"] == {"device": "ide1-cd0", "id": "cdrom0", "tray-open": True}
    assert set(first["timestamp"]) == {"seconds", "microseconds"}
    assert second == {"return": {}}
    status, _out, _err = sh.finish()
    assert status == 0


# --- the interactive shell, through prompt_toolkit's pipe input ---------------------------


def test_interactive_completes_and_runs(demo_server: Path) -> None:
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output.plain_text import PlainTextOutput

    from qobjects.shell import run

    printed = io.StringIO()
    result: list[int] = []
    with create_pipe_input() as pipe:

        def shell() -> None:
            result.append(
                run(
                    str(demo_server),
                    interactive=True,
                    events=True,
                    history=None,
                    prompt_input=pipe,
                    prompt_output=PlainTextOutput(printed),
                )
            )

        thread = threading.Thread(target=shell)
        thread.start()
        try:
            for keys in ["query-b", "\t", "\r", "connect IO_ERROR ide0-hd0\r",
                         "x-inject-io-error device=ide0-hd0 operation=read action=stop\r",
                         "eject device=ide0-hd0\r", "quit\r"]:
                time.sleep(0.4)
                pipe.send_text(keys)
            thread.join(20)
        finally:
            if thread.is_alive():
                pipe.send_text("\x04")
                thread.join(5)
    out = printed.getvalue()
    assert "connected to" in out and "signals available" in out
    # query-b<Tab> became query-block: its reply shows the handles readably.
    assert '"device": Blockdev("ide0-hd0")' in out
    assert 'signal IO_ERROR Blockdev("ide0-hd0")' in out
    assert 'event BLOCK_IO_ERROR {"device": "ide0-hd0"' in out
    assert "error (GenericError): Device 'ide0-hd0' is not removable" in out
    assert result == [1]  # the eject failed


def cli_transcript() -> list[str]:
    """The interactive session shown in docs/cli.md."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text()
    blocks: list[str] = re.findall(r"^```[a-z]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    return next(b for b in blocks if b.startswith("qmp> ")).splitlines()


def test_the_documented_session_runs_as_shown(demo_server: Path) -> None:
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output.plain_text import PlainTextOutput

    from qobjects.shell import run

    transcript = cli_transcript()
    keys: list[str] = []
    for line in transcript:
        if line.startswith("qmp> "):
            typed = line[len("qmp> ") :]
            if keys and keys[-1] == "\t":  # the line Tab completed: just Enter
                keys.append("\r")
            elif typed.endswith("<Tab>"):
                keys += [typed.removesuffix("<Tab>"), "\t"]
            else:
                keys.append(typed + "\r")
    printed = io.StringIO()
    result: list[int] = []
    with create_pipe_input() as pipe:
        thread = threading.Thread(
            target=lambda: result.append(
                run(str(demo_server), interactive=True, events=True,  # events: as on a terminal
                    prompt_input=pipe,
                    prompt_output=PlainTextOutput(printed))
            )
        )
        thread.start()
        try:
            for key in [*keys, "quit\r"]:
                time.sleep(0.4)
                pipe.send_text(key)
            thread.join(20)
        finally:
            if thread.is_alive():
                pipe.send_text("\x04")
                thread.join(5)
    assert result == [0], printed.getvalue()
    out = [line.strip() for line in printed.getvalue().splitlines()]
    position = 0
    for want in transcript:
        if want.startswith("qmp> ") or want.strip() == "...":
            continue
        pattern = ".*".join(re.escape(part) for part in want.strip().split("..."))
        found = next((i for i in range(position, len(out)) if re.fullmatch(pattern, out[i])), None)
        assert found is not None, f"docs/cli.md shows {want!r}; the shell printed:\n" + "\n".join(out)
        position = found + 1


# --- against QEMU ---------------------------------------------------------------------------


@pytest.fixture
def qemu(tmp_path: Path) -> Iterator[Path]:
    if which(QEMU) is None:
        pytest.skip(f"{QEMU} is not installed (apt-get install qemu-system-x86)")
    path = tmp_path / "qemu.sock"
    proc = subprocess.Popen(
        [
            QEMU, "-machine", "pc,accel=tcg", "-nodefaults", "-display", "none", "-S",
            "-qmp", f"unix:{path},server=on,wait=off",
            "-drive", "if=none,id=cd0,media=cdrom", "-device", "ide-cd,drive=cd0,id=cdrom0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not path.exists():
            assert time.monotonic() < deadline, "QEMU did not create its QMP socket"
            time.sleep(0.02)
        yield path
    finally:
        proc.kill()
        proc.wait(10)
        assert proc.stderr is not None
        proc.stderr.close()


def test_script_against_qemu(qemu: Path) -> None:
    lines = [
        "query-status",
        "query-block",
        "blockdev-open-tray id=cdrom0",
        "query-nothing",
        "connect TRAY_MOVED cd0",
        "help",
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "qobjects", "shell", f"unix:{qemu}"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    replies = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(replies) == len(lines), proc.stdout + proc.stderr
    assert replies[0]["return"]["status"] == "prelaunch"
    assert replies[1]["return"][0]["device"] == "cd0"  # plain values: QEMU has no handles
    assert replies[2] == {"return": {}}
    assert replies[3]["error"]["class"] == "CommandNotFound"
    assert replies[4] == {"return": 1}  # emulated from DEVICE_TRAY_MOVED (the QEMU overlay)
    assert replies[5]["return"]["signals"]["TRAY_MOVED"] == {"owner": "Blockdev", "members": ["tray-open"]}
    assert "blockdev-open-tray" in replies[5]["return"]["commands"]
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr


def test_qemu_completion_from_its_schema(qemu: Path) -> None:
    import asyncio

    from qobjects.qmp.client import aconnect
    from qobjects.shell import fetch_schema_info, raw_namespace

    async def main() -> SchemaInfo:
        session = await aconnect(qemu, namespace=raw_namespace())
        try:
            return await fetch_schema_info(session)
        finally:
            await session.close()

    info = asyncio.run(main())
    assert "query-block" in completions("query-b", info)
    assert "id=" in completions("blockdev-open-tray ", info)
    assert info.signals == {}
