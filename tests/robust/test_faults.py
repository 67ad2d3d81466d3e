"""Faults: abrupt drops, slow readers, a killed server (tests/robust/faults.py)."""

from __future__ import annotations

from pathlib import Path

from tests.robust.faults import run_burst, run_drops, run_restart, run_slow_readers
from tests.robust.support import sized


def test_abrupt_drops_leave_nothing_behind(tmp_path: Path) -> None:
    sessions = sized(1_000, 10_000)
    r = run_drops(tmp_path / "drops.sock", sessions, rounds=sized(5, 20))
    assert r.sessions == sessions
    assert all(n > 0 for n in r.modes.values()), r.modes
    assert (r.leftover_sessions, r.leftover_connections, r.leftover_signal_connections) == (0, 0, 0)
    assert r.bystander_ok, "the healthy bystander missed or reordered signals"
    # Traced memory after each round does not grow with the number of sessions
    # (the first round warms up caches and free lists).
    assert r.growth_kib < 512, r.memory_kib


def test_slow_readers_closed_healthy_lose_nothing(tmp_path: Path) -> None:
    healthy, slow = sized((20, 5), (100, 20))
    emissions = sized(5_000, 30_000)
    r = run_slow_readers(tmp_path / "slow.sock", healthy, slow, emissions, rate=1000.0)
    assert r.healthy_complete == healthy
    assert r.slow_closed == slow
    assert (r.sessions_left, r.connections_left) == (healthy, 3 * healthy)


def test_killed_server_every_slot_delivers_again(tmp_path: Path) -> None:
    clients, restarts = sized((5, 2), (20, 10))
    r = run_restart(tmp_path / "restart.sock", clients, restarts)
    assert r.deliveries_per_round == [2 * clients] * (restarts + 1)


def test_burst_reaches_every_reader_stopped_ones_are_cut(tmp_path: Path) -> None:
    healthy, stopped = sized((10, 3), (100, 20))
    signals = sized(20_000, 100_000)
    r = run_burst(tmp_path / "burst.sock", healthy, stopped, signals)
    assert r.healthy_complete == healthy, r
    assert r.stopped_cut == stopped, r
    assert r.sessions_left == healthy
