"""Running mypy on snippet files against the generated stubs."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parents[2]
STUB_PACKAGE = ROOT / "stubs" / "qobjects-stubs"

_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<kind>error|note): (?P<msg>.*)$")


@dataclass(frozen=True)
class Report:
    status: int
    errors: dict[tuple[str, int], list[str]]
    output: str


def run_mypy(tmp: Path, files: dict[str, str], mypy_path: list[Path] | None = None) -> Report:
    """Write *files* into *tmp* and check them with ``mypy --strict``.

    The shipped stub package comes first on ``mypy_path`` (copied under the
    name ``qobjects``, since ``mypy_path`` knows no ``-stubs`` packages), then
    the source tree for every other module. The install tests check the same
    stubs as users get them, from a wheel and from an editable install.
    """
    if mypy_path is None:
        stubs = tmp / "stubs" / "qobjects"
        stubs.mkdir(parents=True, exist_ok=True)
        shutil.copy(STUB_PACKAGE / "__init__.pyi", stubs / "__init__.pyi")
        mypy_path = [stubs.parent]
    paths = [*mypy_path, ROOT]
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
