"""Running mypy on snippet files against the generated stubs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parents[2]
STUBS = ROOT / "stubs"

_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<kind>error|note): (?P<msg>.*)$")


@dataclass(frozen=True)
class Report:
    status: int
    errors: dict[tuple[str, int], list[str]]
    output: str


def run_mypy(tmp: Path, files: dict[str, str], mypy_path: list[Path] | None = None) -> Report:
    """Write *files* into *tmp* and check them with ``mypy --strict``.

    The stubs come first on ``mypy_path``, then the source tree (an editable
    install is invisible to mypy).
    """
    paths = [*(mypy_path or [STUBS]), ROOT]
    config = tmp / "mypy.ini"
    config.write_text(
        "[mypy]\nstrict = True\npython_version = 3.11\nshow_error_codes = True\n"
        f"mypy_path = {':'.join(str(p) for p in paths)}\n"
        f"cache_dir = {tmp / '.mypy_cache'}\n",
        encoding="utf-8",
    )
    for name, text in files.items():
        (tmp / name).write_text(text, encoding="utf-8")
    out, err, status = api.run(["--config-file", str(config), *(str(tmp / name) for name in files)])
    errors: dict[tuple[str, int], list[str]] = {}
    for line in out.splitlines():
        m = _LINE.match(line)
        if m and m["kind"] == "error":
            errors.setdefault((Path(m["file"]).name, int(m["line"])), []).append(m["msg"])
    return Report(status, errors, out + err)


def expected_errors(name: str, text: str) -> dict[tuple[str, int], str]:
    """``# E: fragment`` markers: the line of each and the message fragment expected there."""
    out = {}
    for i, line in enumerate(text.splitlines(), 1):
        if "# E: " in line:
            out[(name, i)] = line.split("# E: ", 1)[1].strip()
    return out
