"""Load: 200 sessions, connections on both devices, continuous emission (tests/robust/load.py)."""

from __future__ import annotations

from pathlib import Path

from tests.robust.load import run_load
from tests.robust.support import sized

SESSIONS = 200
RATE = sized(150.0, 200.0)  # emissions per second, each reaching every session
EMISSIONS = sized(450, 12_000)  # 3 s in CI, 60 s at full size


def test_every_session_gets_every_signal_once_in_order(tmp_path: Path) -> None:
    r = run_load(tmp_path / "load.sock", SESSIONS, EMISSIONS, RATE)
    assert r.problems == []
    assert r.deliveries == SESSIONS * EMISSIONS
    assert r.lost == 0
    assert r.p99_ms < 2000, r
