"""The documentation builds with ``mkdocs build --strict`` (what ``make test`` runs)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_docs_build_strict(tmp_path: Path) -> None:
    mkdocs = Path(sys.executable).with_name("mkdocs")
    if not mkdocs.exists():
        pytest.skip("mkdocs is not installed (pip install -e '.[test]' installs mkdocs-material)")
    proc = subprocess.run(
        [str(mkdocs), "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    for name in ("AsyncSession", "Server", "InvalidHandleValue", "aconnect"):
        assert name in api
    for page in ("tutorial", "protocol", "schema", "cli"):
        assert (tmp_path / "site" / page / "index.html").exists()


def test_api_page_lists_every_public_name() -> None:
    import importlib

    sys.path.insert(0, str(ROOT / "docs"))
    try:
        gen_api: Any = importlib.import_module("gen_api")
    finally:
        sys.path.pop(0)
    import qobjects

    text = gen_api.generate()
    for name in qobjects.__all__:
        assert f"## {name}\n" in text


def test_index_links_every_page_of_the_nav() -> None:
    nav = re.findall(r"^  - [^:]+: (\S+\.md)$", (ROOT / "mkdocs.yml").read_text(), re.MULTILINE)
    assert "typing.md" in nav
    index = (ROOT / "docs" / "index.md").read_text()
    missing = [page for page in nav if page != "index.md" and f"]({page})" not in index]
    assert not missing, f"docs/index.md does not link {missing}"
