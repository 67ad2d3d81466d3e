"""Soak: the robustness runs of tests/robust at full size, as a markdown table.

``python -m bench.soak`` (``QOBJECTS_SCALE=full`` sizes; each run as in
tests/robust). Everything runs in this process except the restarted server.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from bench._util import table


def main() -> str:
    os.environ["QOBJECTS_SCALE"] = "full"
    from tests.robust import test_faults, test_fuzz, test_load
    from tests.robust.faults import run_burst, run_drops, run_restart, run_slow_readers
    from tests.robust.fuzz import run_fuzz
    from tests.robust.load import run_load
    from tests.robust.support import sized
    from tests.robust.threads import run_threads

    del test_faults  # the sizes below are the tests' full sizes
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        t0 = time.perf_counter()
        fz = run_fuzz(d / "fuzz.sock", test_fuzz.SEED, test_fuzz.MESSAGES)
        rows.append(
            [
                "wire fuzz",
                f"{fz.messages:,} messages ({fz.messages / fz.seconds:,.0f}/s), {fz.sessions} sessions, "
                f"{sum(fz.bystander_signals.values()):,} bystander signals",
                "0 model mismatches, server never failed",
            ]
        )
        ld = run_load(d / "load.sock", test_load.SESSIONS, test_load.EMISSIONS, test_load.RATE)
        rows.append(
            [
                "load",
                f"{ld.sessions} sessions x 3 connections, {ld.emissions:,} emissions at {ld.rate:.0f}/s: "
                f"{ld.deliveries:,} signals, {ld.signals_per_s:,.0f} signals/s",
                f"emit-to-handler p50 {ld.p50_ms:.1f} ms, p99 {ld.p99_ms:.1f} ms; "
                f"{ld.lost} lost, {len(ld.problems)} problems",
            ]
        )
        dr = run_drops(d / "drops.sock", sized(1_000, 10_000), rounds=sized(5, 20))
        rows.append(
            [
                "abrupt drops",
                f"{dr.sessions:,} sessions in {dr.rounds} rounds, "
                + ", ".join(f"{m} {n}" for m, n in dr.modes.items()),
                f"left: {dr.leftover_sessions} sessions, {dr.leftover_connections} connections; "
                "traced memory "
                f"{dr.memory_kib[0]:.0f} -> {dr.memory_kib[-1]:.0f} KiB (+{dr.growth_kib:.0f}); "
                f"bystander {'complete' if dr.bystander_ok else 'MISSED'}",
            ]
        )
        sl = run_slow_readers(d / "slow.sock", 100, 20, 30_000, rate=1000.0)
        rows.append(
            [
                "slow readers",
                f"{sl.healthy} healthy + {sl.slow} stopped readers, {sl.emissions:,} emissions",
                f"{sl.healthy_complete} healthy complete, {sl.slow_closed} closed at their limit",
            ]
        )
        bu = run_burst(d / "burst.sock", 100, 20, 100_000)
        rows.append(
            [
                "burst from one handler",
                f"{bu.signals:,} signals to {bu.healthy} reading + {bu.stopped} stopped sessions",
                f"{bu.healthy_complete} reading complete ({bu.rate:,.0f} signals/s), "
                f"{bu.stopped_cut} stopped cut at max_output",
            ]
        )
        rs = run_restart(d / "restart.sock", 20, 10)
        rows.append(
            [
                "server SIGKILL + restart",
                f"{rs.clients} reconnecting clients, {rs.restarts} restarts",
                f"every slot delivered after each ({rs.deliveries_per_round[-1]} per round); "
                f"reconnected in max {max(rs.reconnect_s):.2f} s",
            ]
        )
        th = run_threads(10.0)
        rows.append(
            [
                "8 threads",
                f"{th.seconds:.0f} s: {sum(th.emits.values()):,} emits, {th.churn_cycles:,} churn cycles, "
                f"{th.class_cycles:,} class-level, {th.weak_cycles:,} weak",
                f"{th.deliveries:,} deliveries = expected; {len(th.errors)} errors",
            ]
        )
        total = time.perf_counter() - t0
    return (
        table(["run (full size)", "what", "result"], rows)
        + f"\n\nTotal {total:.0f} s, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs.\n"
    )


if __name__ == "__main__":
    print(main())
