"""Benchmark: ``qobjects check`` on QEMU's real QAPI schema.

Times the whole process (``python -m qobjects.cli check FILE``, interpreter
start-up and imports included) and, in process, parse + check alone. QEMU's
own frontend (scripts/qapi, parse + check of the same schema) takes about
380 ms; that figure is quoted as a reference, not measured here.

Run as ``python -m bench.bench_schema [RUNS]``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / ".." / "shared" / "qemu-qapi" / "schema" / "qapi-schema.json"
QEMU_REFERENCE_MS = 380.0


def _process_ms(runs: int) -> float:
    times = []
    cmd = [sys.executable, "-m", "qobjects.cli", "check", str(SCHEMA)]
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=ROOT)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _in_process_ms(runs: int) -> float:
    from qobjects.schema import load_schema

    times = []
    for _ in range(runs):
        start = time.perf_counter()
        load_schema(SCHEMA)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main(runs: int = 15) -> str:
    """Run the benchmark; return (and print) a markdown table."""
    process = _process_ms(runs)
    in_process = _in_process_ms(runs)
    rows = [
        "| what | median (ms) | vs QEMU (380 ms) |",
        "|---|---:|---:|",
        f"| QEMU frontend (reference, not measured) | {QEMU_REFERENCE_MS:.0f} | 1.00 |",
        f"| `qobjects check` whole process | {process:.0f} | "
        f"{process / QEMU_REFERENCE_MS:.2f} |",
        f"| parse + check in process | {in_process:.0f} | "
        f"{in_process / QEMU_REFERENCE_MS:.2f} |",
    ]
    table = "\n".join(rows)
    print(f"QEMU schema: {SCHEMA.resolve()} ({runs} runs each)\n")
    print(table)
    return table


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
