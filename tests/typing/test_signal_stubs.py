"""Stubs for signals without data (QEMU's STOP, RESUME) and for handle arguments pass mypy --strict."""

from __future__ import annotations

from pathlib import Path

from qobjects.schema import parse_schema
from qobjects.stubgen import generate
from tests.typing.mypy_run import expected_errors, run_mypy

SCHEMA = """
{ 'handle': 'Machine', 'data': 'str' }
{ 'event': 'STOP' }
{ 'signal': 'STOP', 'owner': 'Machine', 'event': 'STOP' }
{ 'signal': 'RESUME', 'owner': 'Machine' }
{ 'signal': 'MOVED', 'owner': 'Machine', 'data': { 'x': 'int' } }
{ 'command': 'halt', 'data': { 'machine': 'Machine', '*other': 'Machine' } }
"""

PROGRAM = """\
from machines import Machine, Session


def stopped(owner: Machine) -> None:
    print(owner.value)


def use(m: Machine, s: Session) -> None:
    m.stop.connect(stopped)
    m.resume.connect(lambda owner: None)
    Machine.stop.connect(stopped, once=True)

    @m.stop.connect
    def decorated(owner: Machine) -> None: ...

    m.stop.emit()
    m.moved.emit(x=1)
    s.halt(machine=m)
    s.halt(machine="vm", other=m)
    m.stop.connect(lambda owner, x: None)  # E: No overload variant of "connect"
    m.stop.emit(x=1)  # E: Unexpected keyword argument "x"
    s.halt(machine=1)  # E: Argument "machine" to "halt" of "Session" has incompatible type "int"
"""


def test_signals_without_data_and_handle_arguments(tmp_path: Path) -> None:
    stub = generate(parse_schema(SCHEMA, "machines.json"))
    report = run_mypy(tmp_path, {"machines.pyi": stub, "use.py": PROGRAM}, mypy_path=[tmp_path])
    expected = expected_errors("use.py", PROGRAM)
    assert set(report.errors) == set(expected), report.output
    for key, fragment in expected.items():
        assert any(fragment in msg for msg in report.errors[key]), (key, report.errors[key])
