"""Every Python code block of README.md and docs/*.md runs as written.

Each page's ```` ```python ```` blocks run in order, in one namespace, as a
reader would run them top to bottom: in a fresh interpreter (``-W error``),
in a temporary working directory, so that the relative socket paths the docs
use (``qmp.sock``, ``qemu.sock``) are private to the run. A traceback points
at the markdown line that failed.

What a block needs is said in the markdown, visibly, by an HTML comment on
the line before its fence::

    <!-- doctest: KEY[=VALUE] ... -- why -->

``background=PATH``
    the block serves until interrupted: it runs in a thread, and the page
    goes on once the Unix socket ``PATH`` accepts connections (the blocks
    below are its clients).
``demo=PATH``
    ``qobjects serve --demo --unix PATH`` is running.
``qemu=PATH``
    QEMU is running, started with the page's ``qemu-system-x86_64`` command
    above the block, which creates the QMP socket ``PATH``; skipped, saying
    so, when QEMU is not installed.
``skip``
    the block cannot run here; the reason after ``--`` is required.

Console blocks whose ``$`` lines run ``qobjects`` are run too (against the
demo server on ``qmp.sock``), and what they print is compared with the lines
shown below them (``...`` stands for anything).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
QEMU = "qemu-system-x86_64"
KEYS = ("background", "demo", "qemu", "skip")
START_TIMEOUT = 30.0  # seconds a server or QEMU gets to create its socket
BLOCK_TIMEOUT = 60  # seconds one block may take (a block that hangs fails at the line it hangs on)
PAGE_TIMEOUT = 300.0  # seconds one page may take

_FENCE = re.compile(r"^(`{3,})\s*([\w+-]*)")
_DIRECTIVE = re.compile(r"^<!--\s*doctest:(.*?)-->\s*$")


class DocTestError(Exception):
    """A malformed page: a bad directive, an unterminated fence."""


@dataclass(frozen=True, slots=True)
class Block:
    """One fenced code block.

    :ivar line: the line number of the block's first line of code.
    :ivar options: the directive's keys (``{"demo": "qmp.sock"}``).
    :ivar reason: the directive's text after ``--``.
    """

    page: str
    line: int
    lang: str
    source: str
    options: dict[str, str] = field(default_factory=dict)
    reason: str = ""

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def parse_directive(text: str, where: str) -> tuple[dict[str, str], str]:
    """``"demo=qmp.sock -- why"`` -> ``({"demo": "qmp.sock"}, "why")``.

    :raises DocTestError: an unknown key, or ``skip`` without a reason.
    """
    spec, _, reason = text.partition("--")
    options: dict[str, str] = {}
    for word in spec.split():
        key, _, value = word.partition("=")
        if key not in KEYS:
            raise DocTestError(f"{where}: unknown doctest key {key!r} (valid: {', '.join(KEYS)})")
        if key != "skip" and not value:
            raise DocTestError(f"{where}: doctest key {key!r} needs a value ({key}=PATH)")
        options[key] = value
    if not options:
        raise DocTestError(f"{where}: empty doctest directive")
    if "skip" in options and not reason.strip():
        raise DocTestError(f"{where}: 'doctest: skip' needs a reason after '--'")
    return options, reason.strip()


def extract(path: Path, page: str | None = None) -> list[Block]:
    """The fenced code blocks of a markdown file, with their directives.

    :raises DocTestError: an unterminated fence, a malformed directive, or a
        directive that is not followed by a fence.
    """
    name = page or path.name
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    pending: tuple[dict[str, str], str, int] | None = None
    i = 0
    while i < len(lines):
        text = lines[i]
        directive = _DIRECTIVE.match(text.strip())
        if directive:
            options, reason = parse_directive(directive.group(1), f"{name}:{i + 1}")
            pending = (options, reason, i + 1)
            i += 1
            continue
        fence = _FENCE.match(text.strip())
        if not fence:
            if pending is not None and text.strip():
                raise DocTestError(f"{name}:{pending[2]}: a doctest directive must come right before a fence")
            i += 1
            continue
        ticks, lang = fence.group(1), fence.group(2)
        start = i + 1
        end = start
        while end < len(lines) and not lines[end].strip().startswith(ticks):
            end += 1
        if end == len(lines):
            raise DocTestError(f"{name}:{i + 1}: unterminated code block")
        options, reason = (pending[0], pending[1]) if pending else ({}, "")
        source = "\n".join(lines[start:end]) + "\n"
        blocks.append(Block(name, start + 1, lang, source, options, reason))
        pending = None
        i = end + 1
    if pending is not None:
        raise DocTestError(f"{name}:{pending[2]}: a doctest directive must come right before a fence")
    return blocks


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def page_name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def python_pages() -> list[Path]:
    return [p for p in pages() if any(b.lang == "python" for b in extract(p))]


def qemu_command(blocks: list[Block], before: Block) -> list[str]:
    """The last ``qemu-system-x86_64`` command line above *before*, as argv."""
    found: list[str] | None = None
    for block in blocks:
        if block.line >= before.line:
            break
        text = block.source.replace("\\\n", " ")
        for line in text.splitlines():
            if line.strip().startswith(QEMU):
                found = shlex.split(line)
    if found is None:
        raise DocTestError(f"{before.where}: 'qemu=' but no {QEMU} command above the block")
    return found


# --- the runner: executes one page in a fresh interpreter ------------------------------------


def _wait_for(path: Path, what: str, alive: Callable[[], bool]) -> None:
    """Wait until the Unix socket *path* accepts a connection (bound is not yet listening)."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if path.exists():
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                try:
                    probe.connect(str(path))
                    return
                except (ConnectionRefusedError, FileNotFoundError):
                    pass
        if not alive():
            raise RuntimeError(f"{what} ended before it listened on {path}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not listen on {path} within {START_TIMEOUT:g}s")
        time.sleep(0.02)


class _Page:
    """Runs a page's blocks; owns the processes and threads it starts."""

    def __init__(self, spec: dict[str, object]) -> None:
        self.blocks: list[dict[str, object]] = spec["blocks"]  # type: ignore[assignment]
        self.results: list[dict[str, object]] = []
        self.processes: list[subprocess.Popen[bytes]] = []
        self.namespace: dict[str, object] = {"__name__": "__main__"}
        self.block_timeout = int(spec.get("block_timeout", BLOCK_TIMEOUT))  # type: ignore[call-overload]

    def start(self, argv: list[str], path: str, what: str) -> None:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        self.processes.append(proc)
        _wait_for(Path(path), what, lambda: proc.poll() is None)

    def stop(self) -> None:
        for proc in reversed(self.processes):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    def run_block(self, block: dict[str, object]) -> dict[str, object]:
        options: dict[str, str] = block["options"]  # type: ignore[assignment]
        line = int(block["line"])  # type: ignore[call-overload]
        if "skip" in options:
            return {"line": line, "status": "skipped", "reason": block["reason"]}
        if "qemu" in options:
            if shutil.which(QEMU) is None:
                return {"line": line, "status": "skipped", "reason": f"{QEMU} is not installed"}
            self.start(block["qemu_argv"], options["qemu"], QEMU)  # type: ignore[arg-type]
        if "demo" in options:
            self.start(
                [sys.executable, "-m", "qobjects", "serve", "--demo", "--unix", options["demo"]],
                options["demo"],
                "qobjects serve --demo",
            )
        # Leading newlines keep the markdown's line numbers in tracebacks.
        code = compile(
            "\n" * (line - 1) + str(block["source"]), str(block["path"]), "exec", dont_inherit=True
        )
        if "background" in options:
            failed: list[BaseException] = []

            def serve() -> None:
                try:
                    exec(code, self.namespace)
                except BaseException as err:  # reported by the main thread
                    failed.append(err)

            thread = threading.Thread(target=serve, daemon=True)
            thread.start()
            try:
                _wait_for(Path(options["background"]), "the block", thread.is_alive)
            except RuntimeError:
                if failed:
                    raise failed[0] from None
                raise
            return {"line": line, "status": "ok"}
        signal.alarm(self.block_timeout)
        try:
            exec(code, self.namespace)
        finally:
            signal.alarm(0)
        return {"line": line, "status": "ok"}

    def run(self) -> int:
        def hung(signum: int, frame: object) -> None:
            raise TimeoutError(f"the block did not finish within {self.block_timeout}s")

        signal.signal(signal.SIGALRM, hung)
        try:
            for block in self.blocks:
                try:
                    result = self.run_block(block)
                except BaseException as err:
                    tb = err.__traceback__
                    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
                        tb = tb.tb_next  # the runner's own frames
                    text = "".join(traceback.format_exception(type(err), err, tb))
                    result = {"line": block["line"], "status": "failed", "error": text}
                self.results.append(result)
                if result["status"] == "failed":
                    return 1
            return 0
        finally:
            self.stop()


def _main(spec_path: str, results_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    page = _Page(spec)
    try:
        return page.run()
    finally:
        Path(results_path).write_text(json.dumps(page.results))
        sys.stdout.flush()


# --- the tests -------------------------------------------------------------------------------


def run_page(
    path: Path, workdir: Path, name: str | None = None, block_timeout: int = BLOCK_TIMEOUT
) -> tuple[list[dict[str, object]], str]:
    """Run the python blocks of *path* in *workdir*; return the per-block results and the output."""
    blocks = extract(path, name)
    spec = {
        "block_timeout": block_timeout,
        "blocks": [
            {
                "line": b.line,
                "source": b.source,
                "path": str(path),
                "options": b.options,
                "reason": b.reason,
                "qemu_argv": qemu_command(blocks, b) if "qemu" in b.options else None,
            }
            for b in blocks
            if b.lang == "python"
        ],
    }
    spec_file = workdir.parent / f"{workdir.name}.spec.json"
    results_file = workdir.parent / f"{workdir.name}.results.json"
    spec_file.write_text(json.dumps(spec))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-P",
            "-W",
            "error",
            str(Path(__file__).resolve()),
            str(spec_file),
            str(results_file),
        ],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=PAGE_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the page's own process group: its servers and QEMU
        out, _ = proc.communicate()
        raise AssertionError(f"{name or path.name} did not finish within {PAGE_TIMEOUT:g}s:\n{out}") from None
    results: list[dict[str, object]] = json.loads(results_file.read_text()) if results_file.exists() else []
    if not results and spec["blocks"]:
        raise AssertionError(f"the runner crashed (exit {proc.returncode}):\n{out}")
    return results, out


def check_page(path: Path, workdir: Path) -> list[dict[str, object]]:
    name = page_name(path) if path.is_relative_to(ROOT) else path.name
    results, out = run_page(path, workdir, name)
    for result in results:
        if result["status"] == "failed":
            pytest.fail(
                f"{name}:{result['line']}: the block fails as written\n{result['error']}\noutput:\n{out}"
            )
    return results


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """A short working directory: Unix socket paths are limited to about 100 bytes."""
    path = tmp_path / "w"
    path.mkdir()
    yield path


@pytest.mark.parametrize("path", python_pages(), ids=page_name)
def test_page_runs_as_written(path: Path, workdir: Path) -> None:
    results = check_page(path, workdir)
    python = [b for b in extract(path) if b.lang == "python"]
    assert [r["line"] for r in results] == [b.line for b in python]
    skipped = [f"line {r['line']}: {r['reason']}" for r in results if r["status"] == "skipped"]
    if skipped:
        ran = sum(r["status"] == "ok" for r in results)
        pytest.skip(f"{ran} blocks ran; skipped {'; '.join(skipped)}")


def test_every_page_with_python_is_run() -> None:
    names = [page_name(p) for p in python_pages()]
    assert "README.md" in names and "docs/tutorial.md" in names


# --- the runner itself: it can fail, and it says where -----------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    page = tmp_path / "page.md"
    page.write_text(text)
    return page


def test_extract_reads_blocks_and_directives(tmp_path: Path) -> None:
    page = write(
        tmp_path,
        "Text.\n\n```python\nx = 1\n```\n\n<!-- doctest: skip -- needs a GPU -->\n"
        "```python\ny = 2\n```\n\n```console\n$ qobjects --version\n```\n",
    )
    blocks = extract(page)
    assert [(b.line, b.lang, b.source) for b in blocks] == [
        (4, "python", "x = 1\n"),
        (9, "python", "y = 2\n"),
        (13, "console", "$ qobjects --version\n"),
    ]
    assert blocks[1].options == {"skip": ""} and blocks[1].reason == "needs a GPU"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<!-- doctest: skip -->\n```python\n```\n", "needs a reason"),
        ("<!-- doctest: later -- why -->\n```python\n```\n", "unknown doctest key 'later'"),
        ("<!-- doctest: demo -- why -->\n```python\n```\n", "needs a value"),
        ("<!-- doctest: skip -- why -->\nSome text.\n```python\n```\n", "right before a fence"),
        ("```python\nx = 1\n", "page.md:1: unterminated code block"),
    ],
)
def test_extract_refuses_malformed_pages(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DocTestError, match=message):
        extract(write(tmp_path, text))


def test_a_failing_block_fails_at_its_markdown_line(tmp_path: Path, workdir: Path) -> None:
    page = write(tmp_path, "```python\nx = 1\n```\n\n```python\nprint(x)\ny = x +\n```\n")
    results, _ = run_page(page, workdir)
    assert results[0] == {"line": 2, "status": "ok"}
    assert results[1]["status"] == "failed"
    assert f'File "{page}", line 7' in str(results[1]["error"])
    page.write_text("```python\nx = 1\n```\n\n```python\nprint(x)\nundefined_name\n```\n")
    results, out = run_page(page, workdir)
    assert out == "1\n"  # one namespace: the second block sees the first one's x
    assert "NameError: name 'undefined_name' is not defined" in str(results[1]["error"])
    assert f'File "{page}", line 7' in str(results[1]["error"])


def test_blocks_do_not_inherit_the_runners_future_imports(tmp_path: Path, workdir: Path) -> None:
    page = write(tmp_path, "```python\ndef f() -> Undefined: ...\n```\n")
    results, _ = run_page(page, workdir)
    assert "NameError: name 'Undefined' is not defined" in str(results[0]["error"])


def test_warnings_are_errors(tmp_path: Path, workdir: Path) -> None:
    page = write(tmp_path, "```python\nimport warnings\nwarnings.warn('old', DeprecationWarning)\n```\n")
    results, _ = run_page(page, workdir)
    assert "DeprecationWarning: old" in str(results[0]["error"])


def test_a_hanging_block_fails_where_it_hangs(tmp_path: Path, workdir: Path) -> None:
    page = write(tmp_path, "```python\nimport time\n\ntime.sleep(60)\n```\n")
    results, _ = run_page(page, workdir, block_timeout=1)
    assert "TimeoutError: the block did not finish within 1s" in str(results[0]["error"])
    assert f'File "{page}", line 4' in str(results[0]["error"])


BACKGROUND_PAGE = """\
<!-- doctest: background=echo.sock -- serves until interrupted -->
```python
import socket

server = socket.socket(socket.AF_UNIX)
server.bind("echo.sock")
server.listen()
while True:
    conn, _ = server.accept()
    data = conn.recv(100)
    if data:  # not the runner's probe
        conn.sendall(data.upper())
    conn.close()
```

<!-- doctest: skip -- shows a failure on purpose -->
```python
raise SystemExit("never run")
```

```python
client = socket.socket(socket.AF_UNIX)
client.connect("echo.sock")
client.sendall(b"hello")
print(client.recv(100).decode())
client.close()
```
"""


def test_background_blocks_serve_the_blocks_below(tmp_path: Path, workdir: Path) -> None:
    page = write(tmp_path, BACKGROUND_PAGE)
    results, out = run_page(page, workdir)
    assert [r["status"] for r in results] == ["ok", "skipped", "ok"]
    assert results[1]["reason"] == "shows a failure on purpose"
    assert out == "HELLO\n"


def test_a_background_block_that_fails_is_reported(tmp_path: Path, workdir: Path) -> None:
    page = write(
        tmp_path, "<!-- doctest: background=x.sock -- why -->\n```python\nraise ValueError('bad')\n```\n"
    )
    results, _ = run_page(page, workdir)
    assert "ValueError: bad" in str(results[0]["error"])


def test_demo_directive_starts_the_demo_server(tmp_path: Path, workdir: Path) -> None:
    page = write(
        tmp_path,
        "<!-- doctest: demo=qmp.sock -- the demo server -->\n```python\n"
        "import qobjects\n\nwith qobjects.connect('qmp.sock') as s:\n"
        "    print([b.device.value for b in s.query_block()])\n```\n",
    )
    results, out = run_page(page, workdir)
    assert results == [{"line": 3, "status": "ok"}], results
    assert out.splitlines() == [
        "qobjects serve: serving the demo on unix:qmp.sock",
        "['ide0-hd0', 'ide1-cd0']",
    ]
    assert not (workdir / "qmp.sock").exists()  # the server was stopped and removed its socket



# --- console blocks: `$ qobjects ...` runs and prints what the page shows ---------------------

SHELLS = ("console", "sh", "shell", "bash", "")


@dataclass(frozen=True, slots=True)
class Command:
    """A ``$`` line of a console block and the lines shown below it."""

    where: str
    command: str
    expected: list[str]


def commands() -> list[Command]:
    found = []
    for path in pages():
        for block in extract(path, page_name(path)):
            if block.lang not in SHELLS or "skip" in block.options:
                continue
            current: Command | None = None
            for offset, line in enumerate(block.source.splitlines()):
                if line.startswith("$ "):
                    current = None
                    if "qobjects" in line:
                        current = Command(f"{block.page}:{block.line + offset}", line[2:], [])
                        found.append(current)
                elif current is not None:
                    current.expected.append(line)
    return found


def matches(expected: str, line: str) -> bool:
    """*line* as shown in the docs, with ``...`` for anything."""
    pattern = ".*".join(re.escape(part) for part in expected.split("..."))
    return re.fullmatch(pattern, line) is not None


@pytest.fixture
def demo_dir(workdir: Path) -> Iterator[Path]:
    """A working directory where ``qobjects serve --demo --unix qmp.sock`` runs."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "qobjects", "serve", "--demo", "--unix", "qmp.sock"],
        cwd=workdir,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        assert "serving the demo" in proc.stderr.readline()
        yield workdir
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)


def test_console_examples_are_found() -> None:
    assert any("qobjects shell qmp.sock" in c.command for c in commands())
    assert matches('{"return": [..., "type": "hd", ...]}', '{"return": [{"a": 1}, "type": "hd", "x": 2]}')
    assert not matches('{"return": [...]}', '{"error": {}}')


@pytest.mark.parametrize("example", commands(), ids=lambda c: c.where)
def test_console_example_runs_as_shown(example: Command, demo_dir: Path) -> None:
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    proc = subprocess.run(
        ["bash", "-c", example.command],
        cwd=demo_dir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, f"{example.where}: {example.command}\n{proc.stderr}"
    lines = proc.stdout.splitlines()
    assert len(lines) == len(example.expected), f"{example.where}: printed\n{proc.stdout}"
    for want, got in zip(example.expected, lines, strict=True):
        assert matches(want, got), f"{example.where}: shows {want!r}, prints {got!r}"



def client_blocks(path: Path) -> list[Block]:
    """The blocks after a page's background server: its clients, on its socket."""
    blocks = [b for b in extract(path, page_name(path)) if b.lang == "python"]
    server = next(i for i, b in enumerate(blocks) if "background" in b.options)
    socket_path = blocks[server].options["background"]
    return [b for b in blocks[server + 1 :] if f'"{socket_path}"' in b.source and "qemu" not in b.options]


@pytest.mark.parametrize("name", ["README.md", "docs/tutorial.md"])
def test_clients_work_against_the_demo_server_too(name: str, tmp_path: Path, workdir: Path) -> None:
    """The pages say their clients work against ``qobjects serve --demo`` as well."""
    clients = client_blocks(ROOT / name)
    assert clients
    # The client blocks alone, in their places, with the demo server instead of the page's.
    page = tmp_path / "clients.md"
    lines = [""] * (max(b.line + b.source.count("\n") for b in clients) + 1)
    for i, block in enumerate(clients):
        if i == 0:
            lines[block.line - 3] = "<!-- doctest: demo=qmp.sock -- the demo server -->"
        lines[block.line - 2] = "```python"
        lines[block.line - 1 : block.line - 1 + block.source.count("\n")] = block.source.splitlines()
        lines[block.line - 1 + block.source.count("\n")] = "```"
    page.write_text("\n".join(lines) + "\n")
    results, out = run_page(page, workdir, name)
    failed = [r for r in results if r["status"] != "ok"]
    assert not failed, f"{failed}\n{out}"
    assert len(results) == len(clients)


if __name__ == "__main__":  # the runner, in the page's own interpreter
    sys.exit(_main(sys.argv[1], sys.argv[2]))
