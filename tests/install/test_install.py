"""Types out of the box: the wheel and the editable install, each under mypy and basedpyright.

Each case installs qobjects into a fresh venv, writes a user program outside
the checkout with no configuration at all, and runs a checker against that
venv's interpreter. A correct program has no errors; a wrong one has exactly
the errors marked ``# E:``, in both checkers.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.install.programs import BAD, GOOD

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
_MYPY_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: (?P<msg>.*)$")


def _env() -> dict[str, str]:
    """The environment without anything that points checkers at the checkout."""
    env = {k: v for k, v in os.environ.items() if k not in {"MYPYPATH", "PYTHONPATH", "VIRTUAL_ENV"}}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout, check=False
    )


def _pip(venv: Path, *args: str) -> None:
    proc = _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *args], venv)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)], out)
    assert proc.returncode == 0, proc.stderr
    (path,) = out.glob("qobjects-*.whl")
    return path


@pytest.fixture(scope="session", params=["wheel", "editable"])
def venv(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    where = tmp_path_factory.mktemp(f"venv-{request.param}")
    proc = _run([sys.executable, "-m", "venv", str(where)], where)
    assert proc.returncode == 0, proc.stderr
    if request.param == "wheel":
        _pip(where, str(request.getfixturevalue("wheel")))
    else:
        _pip(where, "-e", str(ROOT))
    yield where


def _user_dir(tmp_path: Path, text: str) -> Path:
    user = tmp_path / "user"
    user.mkdir()
    (user / "prog.py").write_text(text, encoding="utf-8")
    assert not user.resolve().is_relative_to(ROOT)
    return user


def _expected(text: str) -> set[int]:
    return {i for i, line in enumerate(text.splitlines(), 1) if "# E: " in line}


def _mypy_errors(venv: Path, user: Path) -> tuple[set[int], str]:
    proc = _run(
        [sys.executable, "-m", "mypy", "--strict", "--python-executable", str(venv / "bin" / "python"),
         "--cache-dir", str(user / ".mypy_cache"), "prog.py"],
        user,
    )
    lines = {int(m["line"]) for m in map(_MYPY_LINE.match, proc.stdout.splitlines()) if m}
    return lines, proc.stdout + proc.stderr


def _pyright_errors(venv: Path, user: Path) -> tuple[set[int], str]:
    proc = _run(
        [str(BIN / "basedpyright"), "--outputjson", "--pythonpath", str(venv / "bin" / "python"), "prog.py"],
        user,
    )
    report = json.loads(proc.stdout)
    errors = [d for d in report["generalDiagnostics"] if d["severity"] == "error"]
    return {d["range"]["start"]["line"] + 1 for d in errors}, json.dumps(errors, indent=1)


CHECKERS = {"mypy": _mypy_errors, "basedpyright": _pyright_errors}


@pytest.mark.parametrize("checker", sorted(CHECKERS))
def test_correct_program_has_no_errors(venv: Path, checker: str, tmp_path: Path) -> None:
    found, output = CHECKERS[checker](venv, _user_dir(tmp_path, GOOD))
    assert found == set(), output


@pytest.mark.parametrize("checker", sorted(CHECKERS))
def test_wrong_uses_are_flagged_at_their_lines(venv: Path, checker: str, tmp_path: Path) -> None:
    found, output = CHECKERS[checker](venv, _user_dir(tmp_path, BAD))
    assert found == _expected(BAD), output


def test_checkers_see_the_stubs_not_any(venv: Path, tmp_path: Path) -> None:
    """``reveal_type`` proves the name is the stub's class, not ``Any`` from ``__getattr__``."""
    user = _user_dir(
        tmp_path,
        "from qobjects import Blockdev, connect\n"
        "reveal_type(Blockdev.find('x').io_error)\n"
        "reveal_type(connect('unix:x').query_block())\n",
    )
    _, out = _mypy_errors(venv, user)
    assert 'Revealed type is "qobjects._Blockdev_IO_ERROR_Bound"' in out, out
    assert 'Revealed type is "list[qobjects.BlockInfo]"' in out, out


def test_installed_package_runs(venv: Path, tmp_path: Path) -> None:
    """The demo and the shell work after a plain install, from outside the checkout."""
    demo = _run([str(venv / "bin" / "qobjects"), "demo"], tmp_path, timeout=120)
    assert demo.returncode == 0, demo.stderr
    assert "IO_ERROR" in demo.stdout
    check = _run([str(venv / "bin" / "python"), "-c", "import prompt_toolkit, typeguard, blinker"], tmp_path)
    assert check.returncode == 0, check.stderr


def test_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "qobjects-stubs/__init__.pyi" in names
    assert "qobjects/py.typed" in names
    assert "qobjects/schemas/block.json" in names
    partial = zipfile.ZipFile(wheel).read("qobjects-stubs/py.typed").decode()
    assert partial == "partial\n"
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "License-Expression: MIT" in meta
    assert any(n.endswith("licenses/LICENSE") for n in names)


def test_build_is_clean_and_sdist_complete(tmp_path: Path) -> None:
    """``python -m build`` warns about nothing; the sdist carries what a packager needs."""
    import tarfile

    proc = _run([sys.executable, "-m", "build", "-o", str(tmp_path), str(ROOT)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    output = proc.stdout + proc.stderr
    noise = "Location 'file:"  # this machine's pip configuration, not the project
    warnings = [ln for ln in output.splitlines() if "warn" in ln.lower() and noise not in ln]
    assert warnings == [], output
    (sdist,) = tmp_path.glob("qobjects-*.tar.gz")
    with tarfile.open(sdist) as tar:
        tops = {name.split("/", 2)[1] for name in tar.getnames() if name.count("/") >= 1}
    assert {"LICENSE", "CHANGELOG.md", "README.md", "docs", "tests", "stubs", "qobjects"} <= tops
