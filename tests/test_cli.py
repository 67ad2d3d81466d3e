"""The ``qobjects`` command: help, exit status, logging flags, one-line errors."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qobjects.cli import COMMANDS, main

NETWORKED = ("serve", "demo", "shell")


def qobjects(*args: str, stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m qobjects ARGS`` in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "qobjects", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def one_line_error(proc: subprocess.CompletedProcess[str], prefix: str) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(prefix), lines[0]
    return lines[0]


def test_every_subcommand_is_registered() -> None:
    assert {"check", *NETWORKED} <= set(COMMANDS)


def test_top_level_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name, (help_text, _configure, _run) in COMMANDS.items():
        assert name in out
        assert help_text.split()[0] in out
    assert "-v, --verbose" in out


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_subcommand_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([name, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: qobjects {name}")
    assert "-v, --verbose" in out and "-q, --quiet" in out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["nonsense"]) == 2
    assert main(["check"]) == 2
    assert main(["serve", "--unix", "x"]) == 2  # --demo is required
    assert main(["shell"]) == 2
    assert main(["demo", "--bogus"]) == 2
    err = capsys.readouterr().err
    assert "usage: qobjects" in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("qobjects ")


def test_check_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.json"
    good.write_text("{ 'handle': 'Blockdev', 'data': 'str' }\n")
    bad = tmp_path / "bad.json"
    bad.write_text("{ 'handle': 'Blockdev', 'data': 'bool' }\n")
    assert main(["check", str(good)]) == 0
    assert main(["-v", "check", str(bad)]) == 1
    assert main(["check", "-v", str(good), str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:1:" in err and "handle's 'data' cannot take" in err


def test_bad_schema_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{ 'handle': 'Blockdev', 'data': 'str' }\n{ 'signal': @ }\n")
    proc = qobjects("check", str(bad))
    assert proc.returncode == 1
    line = one_line_error(proc, f"{bad}:2:")
    assert "stray '@'" in line
    # Errors inside a definition get QEMU's context line first, as QEMU prints them.
    bad.write_text("{ 'command': 'x', 'data': { 'a': 'Nope' } }\n")
    proc = qobjects("check", str(bad))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [
        f"{bad}: In command 'x':",
        f"{bad}:1: parameter 'a' uses unknown type 'Nope'",
    ]
    proc = qobjects("check", str(tmp_path / "missing.json"))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "missing.json" in proc.stderr


def test_check_does_not_import_the_network_stack(tmp_path: Path) -> None:
    schema = tmp_path / "s.json"
    schema.write_text("{ 'handle': 'Blockdev', 'data': 'str' }\n")
    heavy = ("asyncio", "qobjects.objects", *(f"qobjects.cli.{name}" for name in NETWORKED))
    code = (
        "import sys; from qobjects.cli import main; status = main(['check', sys.argv[1]]); "
        f"heavy = [m for m in {heavy!r} if m in sys.modules]; "
        "print(status, heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(schema)], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "0 []"


def _imports(path: Path) -> set[str]:
    """The modules *path* imports, anywhere in it (``from qobjects.cli import x``: ``qobjects.cli.x``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and node.module is not None, f"{path.name}: a relative import"
            if node.module == "qobjects.cli":
                found |= {f"qobjects.cli.{alias.name}" for alias in node.names}
            else:
                found.add(node.module)
    return found


def test_cli_modules_import_one_way() -> None:
    """``qobjects.cli`` -> one module per subcommand -> ``qobjects.cli._common``, in plain imports."""
    package = Path(__file__).resolve().parent.parent / "qobjects" / "cli"
    modules = {path.stem: path for path in package.glob("*.py")}
    assert set(modules) == {*COMMANDS, "__init__", "__main__", "_common"}
    for stem, path in modules.items():
        imported = _imports(path)
        assert "importlib" not in imported, path.name
        own = {name for name in imported if name.startswith("qobjects.cli")}
        if stem == "_common":
            assert own == set(), f"_common imports {own}"
        elif stem in COMMANDS:
            assert own <= {"qobjects.cli._common"}, f"{path.name} imports {own}"


def test_shell_bad_address_exits_2() -> None:
    proc = qobjects("shell", "tcp:localhost")
    assert proc.returncode == 2
    line = one_line_error(proc, "qobjects shell: ")
    assert "expected tcp:HOST:PORT" in line


def test_shell_missing_socket_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.sock"
    proc = qobjects("shell", str(path), stdin="query-block\n")
    assert proc.returncode == 1
    line = one_line_error(proc, "qobjects shell: ")
    assert str(path) in line and "No such file or directory" in line
    assert proc.stdout == ""


def test_shell_refused_tcp_exits_1() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = qobjects("shell", f"tcp:127.0.0.1:{port}", stdin="")
    assert proc.returncode == 1
    one_line_error(proc, "qobjects shell: cannot connect")


def test_serve_errors(tmp_path: Path) -> None:
    taken = tmp_path / "taken.sock"
    taken.touch()
    proc = qobjects("serve", "--demo", "--unix", str(taken))
    assert proc.returncode == 1
    one_line_error(proc, f"qobjects serve: {taken} already exists")
    proc = qobjects("serve", "--demo", "--unix", str(tmp_path / "no" / "such" / "dir.sock"))
    assert proc.returncode == 1
    one_line_error(proc, "qobjects serve: cannot listen")
    proc = qobjects("serve", "--demo", "--tcp", "localhost")
    assert proc.returncode == 2
    one_line_error(proc, "qobjects serve: bad --tcp value")


def test_serve_stops_on_sigterm_and_removes_its_socket(tmp_path: Path) -> None:
    import signal
    import time

    path = tmp_path / "qmp.sock"
    proc = subprocess.Popen(
        [sys.executable, "-m", "qobjects", "serve", "--demo", "--unix", str(path)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert line.strip() == f"qobjects serve: serving the demo on unix:{path}"
        assert path.exists() and (os.stat(path).st_mode & 0o777) == 0o600
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        time.sleep(0)
        assert not path.exists()
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def test_serve_replaces_a_dead_servers_socket(tmp_path: Path) -> None:
    import signal
    import socket

    from tests.qmp.conftest import serve_demo

    path = tmp_path / "stale.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))  # bound, never listening: what a killed server leaves
    dead.close()
    proc = serve_demo(path)
    try:
        busy = qobjects("serve", "--demo", "--unix", str(path))
        assert busy.returncode == 1
        one_line_error(busy, f"qobjects serve: {path} is in use by a running server")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    assert proc.returncode == 0
