"""The ``qobjects check`` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from qobjects.cli import main
from qobjects.schema import DEFAULT_SCHEMA

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
TESTS = SHARED / "qemu-qapi" / "tests"


def test_check_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", DEFAULT_SCHEMA]) == 0
    assert capsys.readouterr() == ("", "")


def test_check_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{ 'command': 'foo' }\n{ 'command': 'foo' }\n")
    assert main(["check", str(bad)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"{bad}: In command 'foo':\n{bad}:2: 'foo' is already defined\n"
        f"{bad}: In command 'foo':\n{bad}:1: previous definition\n"
    )


def test_check_syntax_error_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{ 'command': 'foo',\n\t'data' 'x' }\n")
    assert main(["check", str(bad)]) == 1
    assert capsys.readouterr().err == f"{bad}:2:16: expected ':'\n"


def test_check_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "/nonexistent/x.json"]) == 1
    assert capsys.readouterr().err == (
        "can't read schema file '/nonexistent/x.json': No such file or directory\n"
    )


def test_check_several_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.json"
    good.write_text("{ 'enum': 'Ee', 'data': [] }\n")
    assert main(["check", str(good), "/nonexistent.json", str(good)]) == 1
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize("argv", [[], ["check"], ["nope"], ["check", "--bogus", "x.json"]])
def test_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage:" in capsys.readouterr().err


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "check" in capsys.readouterr().out


@pytest.mark.skipif(not TESTS.is_dir(), reason="QEMU tests not found")
def test_dump(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--dump", str(TESTS / "qapi-schema-test.json")]) == 0
    assert capsys.readouterr().out == (TESTS / "qapi-schema-test.out").read_text()


def test_dump_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-v", "check", "--dump", DEFAULT_SCHEMA]) == 0
    out = capsys.readouterr().out
    assert "handle Blockdev str\n" in out
    assert "signal IO_ERROR Blockdev q_obj_Blockdev-IO_ERROR-arg\n" in out
    assert "    event BLOCK_IO_ERROR owner-member device\n" in out


def test_introspect_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--introspect", DEFAULT_SCHEMA]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"name": "Blockdev", "meta-type": "handle", "json-type": "string"} in data


def test_module_entry_point(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{ 'struct': 'Xy' }\n")
    proc = subprocess.run(
        [sys.executable, "-m", "qobjects.cli", "check", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr == f"{bad}: In struct 'Xy':\n{bad}:1: struct misses key 'data'\n"
    assert "Traceback" not in proc.stderr
