"""Shared fixtures: the test data in ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "qemu-qapi"


@pytest.fixture(scope="session")
def qemu_schema() -> Path:
    path = SHARED / "schema" / "qapi-schema.json"
    if not path.exists():
        pytest.skip(f"QEMU's schema is not at {path}")
    return path
