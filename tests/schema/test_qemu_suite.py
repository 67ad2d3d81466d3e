"""QEMU's QAPI parser test suite, run against qobjects.schema.

Every case must get QEMU's verdict; the error text must equal the ``.err``
file (with the test directory stripped from paths, as test-qapi.py does),
and the dump of every valid case must equal its ``.out`` file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qobjects.errors import SchemaError
from qobjects.schema import load_schema
from qobjects.schema.dump import dump

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
TESTS = SHARED / "qemu-qapi" / "tests"
SCHEMA = SHARED / "qemu-qapi" / "schema" / "qapi-schema.json"

pytestmark = pytest.mark.skipif(not TESTS.is_dir(), reason=f"{TESTS} not found")

#: Cases whose error text knowingly differs from QEMU's: name -> reason.
#: Empty: every case matches. A case listed here must still get QEMU's verdict.
KNOWN_DIFFERENCES: dict[str, str] = {}


def _cases() -> list[str]:
    if not TESTS.is_dir():
        return []
    return (TESTS / "LIST.txt").read_text().split()


def _expected(name: str, ext: str) -> str:
    path = TESTS / f"{name}.{ext}"
    return path.read_bytes().decode("utf-8") if path.exists() else ""


def run_case(name: str) -> tuple[str, str]:
    """Return (dump, error text) as test-qapi.py would print them."""
    prefix = str(TESTS) + "/"
    try:
        schema = load_schema(str(TESTS / f"{name}.json"))
    except SchemaError as err:
        return "", (str(err) + "\n").replace(prefix, "")
    return dump(schema), ""


@pytest.mark.parametrize("name", _cases())
def test_case(name: str) -> None:
    out, err = run_case(name)
    expected_err = _expected(name, "err")
    assert bool(err) == bool(expected_err), "verdict differs from QEMU's"
    if name in KNOWN_DIFFERENCES:
        assert err != expected_err, f"{name} now matches: drop it from KNOWN_DIFFERENCES"
        return
    assert err == expected_err
    assert out == _expected(name, "out")


def test_list_complete() -> None:
    assert len(_cases()) == 208


def test_conformance_rate() -> None:
    names = _cases()
    failing = [n for n in names if _expected(n, "err")]
    matches = sum(1 for n in failing if run_case(n)[1] == _expected(n, "err"))
    assert matches >= 0.95 * len(failing)
    assert matches == len(failing) - len(KNOWN_DIFFERENCES)


@pytest.mark.skipif(not SCHEMA.exists(), reason="QEMU schema not found")
def test_real_schema() -> None:
    schema = load_schema(str(SCHEMA))
    # QEMU's entity list: definitions, built-in and implicit types, includes
    assert schema.qemu_entity_count() == 1432
    assert len(schema.definitions()) == 1009
    assert sum(1 for _ in schema.commands()) == 243
    assert sum(1 for _ in schema.events()) == 57
