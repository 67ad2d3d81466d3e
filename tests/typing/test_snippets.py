"""The typing suite: the generated stubs accept correct use and reject wrong use."""

from __future__ import annotations

from pathlib import Path

from tests.typing.mypy_run import expected_errors, run_mypy
from tests.typing.snippets import BAD, GOOD


def test_correct_use_passes_strict(tmp_path: Path) -> None:
    report = run_mypy(tmp_path, {"good.py": GOOD})
    assert report.status == 0, report.output


def test_wrong_use_fails_at_the_expected_lines(tmp_path: Path) -> None:
    report = run_mypy(tmp_path, {"bad.py": BAD})
    expected = expected_errors("bad.py", BAD)
    assert set(report.errors) == set(expected), report.output
    for where, fragment in expected.items():
        assert any(fragment in msg for msg in report.errors[where]), (where, fragment, report.errors[where])
