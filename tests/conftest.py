"""Shared fixtures: the test data in ../shared; the hypothesis profiles.

``make test`` runs the property tests with a fixed seed (profile ``repeatable``)
so that a run is the same on every machine; ``make fuzz`` (profile ``fuzz``)
draws new examples on every run, many more of them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("fuzz", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("QOBJECTS_HYPOTHESIS", "repeatable"))

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "qemu-qapi"


@pytest.fixture(scope="session")
def qemu_schema() -> Path:
    path = SHARED / "schema" / "qapi-schema.json"
    if not path.exists():
        pytest.skip(f"QEMU's schema is not at {path}")
    return path
