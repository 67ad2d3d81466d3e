"""``qobjects demo`` tells the story and its deliveries are right."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def demo() -> str:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "qobjects", "demo"], capture_output=True, text=True, timeout=60, check=False
    )
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert elapsed < 20, f"the demo took {elapsed:.1f}s"
    return proc.stdout


def delivered(out: str, signal: str) -> list[str]:
    return [line.strip() for line in out.splitlines() if line.strip().startswith(f"delivered: {signal} ")]


def test_io_error_is_delivered_per_owner(demo: str) -> None:
    lines = delivered(demo, "IO_ERROR")
    # Three errors are injected (cd, hd, hd after disconnect): only the connected owner's arrives.
    assert lines == ["delivered: IO_ERROR -> on_io_error(owner=ide0-hd0, operation=write, action=stop)"]
    assert not any("ide1-cd0" in line for line in lines)
    assert "no delivery: nobody connected to IO_ERROR of ide1-cd0" in demo
    assert "no delivery: the connection is gone" in demo


def test_tray_moved_open_then_close(demo: str) -> None:
    assert delivered(demo, "TRAY_MOVED") == [
        "delivered: TRAY_MOVED -> on_tray(owner=ide1-cd0, tray_open=True)",
        "delivered: TRAY_MOVED -> on_tray(owner=ide1-cd0, tray_open=False)",
    ]


def test_plain_client_sees_mirrored_events(demo: str) -> None:
    prefix = '< {"event": '
    events = [json.loads(line.strip()[2:]) for line in demo.splitlines() if line.strip().startswith(prefix)]
    io_error, tray = "BLOCK_IO_ERROR", "DEVICE_TRAY_MOVED"
    assert events == [
        {"event": io_error, "data": {"device": "ide1-cd0", "operation": "read", "action": "report"}},
        {"event": io_error, "data": {"device": "ide0-hd0", "operation": "write", "action": "stop"}},
        {"event": tray, "data": {"device": "ide1-cd0", "id": "cdrom0", "tray-open": True}},
        {"event": tray, "data": {"device": "ide1-cd0", "id": "cdrom0", "tray-open": False}},
        {"event": io_error, "data": {"device": "ide0-hd0", "operation": "read", "action": "stop"}},
    ]


def test_handles_are_shown_in_both_forms(demo: str) -> None:
    assert '"device": "ide0-hd0"' in demo  # the plain client's query-block
    assert "Blockdev remote 'ide0-hd0'" in demo  # decoded handles of the session
    assert "explicit handles" in demo


def test_socket_is_removed(demo: str) -> None:
    match = re.search(r"listens on unix:(\S+)", demo)
    assert match is not None
    path = Path(match.group(1))
    assert not path.exists()
    assert not path.parent.exists()
    assert demo.rstrip().endswith("done: the server is closed and its socket removed")
