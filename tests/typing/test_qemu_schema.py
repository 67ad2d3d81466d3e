"""Scale: stubs for QEMU's real schema are accepted by ``mypy --strict``."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from qobjects.stubgen import write_stubs
from tests.typing.mypy_run import ROOT, run_mypy

QEMU_SCHEMA = ROOT.parent / "shared" / "qemu-qapi" / "schema" / "qapi-schema.json"

USE = """\
from typing import assert_type

import qapi_schema as q


def use(session: q.Session, node: q.BlockdevOptions) -> None:
    infos = session.query_block()
    assert_type(infos, list[q.BlockInfo])
    assert_type(session.query_version().qemu.major, int)
    session.block_resize(node_name="disk0", size=1 << 30)
    key = q.KeyValue(type="qcode", data="ctrl")
    assert_type(key.data, q.QKeyCode)
    session.send_key(keys=[key, q.KeyValue(type=q.KeyValueKind.number, data=29)], hold_time=10)


async def use_async(session: q.AsyncSession) -> None:
    assert_type(await session.query_status(), q.StatusInfo)


def wrong(session: q.Session) -> None:
    session.block_resize(node_name=1, size=1)  # E
    session.send_key(keys=[{"type": "qcode", "data": "ctrl"}])  # E
    q.KeyValue(type="qcode", data=29)  # E
"""


@pytest.mark.skipif(not QEMU_SCHEMA.exists(), reason="QEMU's schema is not checked out")
def test_qemu_stubs_pass_mypy(tmp_path: Path) -> None:
    start = time.monotonic()
    target = write_stubs(str(QEMU_SCHEMA), tmp_path / "out")
    generated = time.monotonic() - start
    assert target.name == "qapi_schema.pyi"
    start = time.monotonic()
    report = run_mypy(tmp_path, {"use.py": USE}, mypy_path=[tmp_path / "out"])
    checked = time.monotonic() - start
    lines = [i for i, line in enumerate(USE.splitlines(), 1) if line.endswith("# E")]
    assert set(report.errors) == {("use.py", n) for n in lines}, report.output
    assert generated < 10 and checked < 120, (generated, checked)
