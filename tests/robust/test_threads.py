"""Threads: emit/connect/disconnect from 8 threads (tests/robust/threads.py)."""

from __future__ import annotations

from tests.robust.support import sized
from tests.robust.threads import run_threads


def test_eight_threads_emit_connect_disconnect() -> None:
    r = run_threads(sized(3.0, 10.0))
    assert r.errors == []
    assert r.stable_calls == r.emits  # exactly one call per emission of the owner
    assert r.churn_own_delivered == r.churn_own_expected > 0
    assert r.churn_late == 0
    assert r.once_violations == 0 and r.once_cycles > 0
    assert r.class_cycles > 0 and r.weak_cycles > 0
    assert r.leftover_connections == r.stable_connections
