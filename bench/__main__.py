"""``python -m bench``: run every benchmark, write ``bench/results.md`` and ``bench/results.png``.

Every module ``bench/bench_*.py`` with a ``main()`` runs in turn (each in this
process, one after another). A ``main()`` that returns markdown is recorded
as it is; one that only prints is recorded as a code block of what it
printed. Modules with a ``figures()`` function (chart title -> label ->
value) also feed the plot.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib
import io
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench.plot import plot

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.md"
FIGURE = HERE / "results.png"


def modules() -> list[str]:
    """The benchmark modules present, in name order."""
    return sorted(p.stem for p in HERE.glob("bench_*.py"))


def run(name: str) -> tuple[str, dict[str, dict[str, float]]]:
    """Run ``bench.<name>.main()``: its markdown, and its figures if it has any."""
    module: Any = importlib.import_module(f"bench.{name}")
    if not callable(getattr(module, "main", None)):
        return "", {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = module.main()
    if isinstance(result, str) and result.strip():
        text = result
    else:
        text = "```\n" + printed.getvalue().rstrip() + "\n```"
    figures = module.figures() if callable(getattr(module, "figures", None)) else {}
    return text, figures


def main() -> int:
    started = datetime.datetime.now().astimezone()
    sections = [
        "# Benchmark results",
        "",
        f"{started:%Y-%m-%d %H:%M %Z}; Python {platform.python_version()} on {platform.machine()}, "
        f"{platform.system()}. Medians; the machine may be shared, so compare the ratios.",
    ]
    figures: dict[str, dict[str, float]] = {}
    failed = 0
    for name in modules():
        print(f"== {name}", flush=True)
        t0 = time.perf_counter()
        try:
            text, figs = run(name)
        except Exception:
            failed += 1
            text, figs = "```\n" + traceback.format_exc().rstrip() + "\n```", {}
        if not text:
            continue
        print(text, f"\n({time.perf_counter() - t0:.0f} s)\n", flush=True)
        sections += ["", f"## {name}", "", text]
        figures.update(figs)
    RESULTS.write_text("\n".join(sections) + "\n")
    print(f"wrote {RESULTS}")
    if figures:
        if plot(figures, FIGURE):
            print(f"wrote {FIGURE}")
        else:
            print("matplotlib is not installed: no plot (pip install matplotlib)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
