"""The generated stubs type the connect options: loop, unique, weak, check_types,
connected_to and paused, per owner, on the class and in the decorator form."""

from __future__ import annotations

from pathlib import Path

from tests.typing.mypy_run import expected_errors, run_mypy

GOOD = '''\
import asyncio
from typing import Any

from qobjects import Blockdev, Connection


def on_error(owner: Blockdev, operation: str, action: str) -> None: ...


def run(dev: Blockdev, loop: asyncio.AbstractEventLoop) -> None:
    c1: Connection[Any] = dev.io_error.connect(on_error, loop=loop, unique=True, weak=True, check_types=True)
    c2 = Blockdev.io_error.connect(on_error, once=True, weak=False, loop=None)

    @dev.io_error.connect(loop=loop, check_types=True)
    def queued(owner: Blockdev, action: str) -> None: ...

    @Blockdev.io_error.connect(unique=True)
    def everywhere(owner: Blockdev) -> None: ...

    with dev.io_error.connected_to(on_error, loop=loop) as c3:
        c3.disconnect()
    with Blockdev.io_error.paused(lambda a, b: b), dev.io_error.paused(initial={}):
        dev.io_error.emit(operation="read", action="stop")
    print(c1, c2, queued, everywhere, dev.io_error.is_paused())
'''

BAD = '''\
from qobjects import Blockdev


def on_error(owner: Blockdev, operation: str, action: str) -> None: ...


def run(dev: Blockdev) -> None:
    dev.io_error.connect(on_error, loop="main")  # E: No overload variant
    Blockdev.io_error.connect(on_error, unique="yes")  # E: No overload variant
    dev.io_error.connect(on_error, weak=1.5)  # E: No overload variant
    dev.io_error.connect(on_error, check_type=True)  # E: No overload variant
'''


def test_connect_options_are_typed(tmp_path: Path) -> None:
    report = run_mypy(tmp_path, {"good.py": GOOD})
    assert report.status == 0, report.output


def test_wrong_connect_options_are_errors(tmp_path: Path) -> None:
    report = run_mypy(tmp_path, {"bad.py": BAD})
    expected = expected_errors("bad.py", BAD)
    assert set(report.errors) == set(expected), report.output
    for where, fragment in expected.items():
        assert any(fragment in msg for msg in report.errors[where]), (where, fragment, report.errors[where])
