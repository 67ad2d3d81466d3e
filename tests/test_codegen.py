"""The code generator: names, sources, identifiers, and both paths agreeing.

The suite as a whole also runs with ``QOBJECTS_NO_COMPILE=1`` (``make test``);
here both paths are built side by side in one process and compared.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import qobjects
from qobjects import SchemaError, SignalRecursionError, SlotError, ValidationError, WrongType, codegen
from qobjects.codecs import MemberSpec

SCHEMA = """
{ 'handle': 'Dev', 'data': 'str' }
{ 'enum': 'Op', 'data': ['read', 'write'] }
{ 'struct': 'Where', 'data': { 'sector': 'uint8', '*note': 'str', '*op': 'Op' } }
{ 'signal': 'IO_ERROR', 'owner': 'Dev', 'data': { 'operation': 'Op', '*sector': 'int', '*where': 'Where' } }
"""


@pytest.fixture(params=["compiled", "interpreted"])
def ns(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[Any]:
    monkeypatch.setattr(codegen, "COMPILE", request.param == "compiled")
    path = tmp_path / "s.json"
    path.write_text(SCHEMA)
    yield qobjects.build(path)


def _dev(ns: Any) -> Any:
    dev = ns.handles["Dev"]
    dev.finder(lambda value: object())
    return dev.find("sda")


def test_generated_functions_have_real_names_and_source(ns: Any) -> None:
    dev = _dev(ns)
    emit = dev.io_error.emit
    assert emit.__qualname__ == "Dev.io_error.emit"
    assert "def emit(" in inspect.getsource(emit)
    init = ns.types["Where"].__init__
    assert init.__qualname__ == "Where.__init__"
    assert "def __init__(" in inspect.getsource(init)


def test_a_traceback_shows_the_generated_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setattr(codegen, "COMPILE", True)
    path = tmp_path / "s.json"
    path.write_text(SCHEMA)
    ns = qobjects.build(path)
    dev = _dev(ns)
    with pytest.raises(WrongType) as info:
        dev.io_error.emit(operation="read", sector="seven")
    text = "".join(traceback.format_exception(info.value))
    assert '<qobjects generated Dev.io_error.emit ' in text
    assert "if sector is not None and (sector.__class__ is not int" in text  # the generated line itself


def test_a_bad_enum_value_is_not_chained_to_the_lookup(ns: Any) -> None:
    dev = _dev(ns)
    for bad in ("raed", ["read"]):  # a miss, and an unhashable value
        with pytest.raises(ValidationError) as info:
            dev.io_error.emit(operation=bad)
        assert info.value.__cause__ is None and info.value.__suppress_context__
        text = "".join(traceback.format_exception(info.value))
        assert "During handling of the above exception" not in text
        assert "member 'operation'" in str(info.value)


def _spec(name: str, py: str) -> MemberSpec:
    return MemberSpec(name, py, qobjects.codecs.StrCodec(), False)


@pytest.mark.parametrize("compile_", [True, False])
@pytest.mark.parametrize(
    ("pys", "message"),
    [
        (["a-b"], "'a-b' cannot be a Python parameter name"),
        (["class"], "'class' cannot be a Python parameter name"),
        (["_q_extra"], "'_q_extra' cannot be a Python parameter name"),
        (["match", "match"], "two members are called 'match' in Python"),
    ],
)
def test_bad_or_repeated_identifiers_are_schema_errors(
    monkeypatch: pytest.MonkeyPatch, compile_: bool, pys: list[str], message: str
) -> None:
    monkeypatch.setattr(codegen, "COMPILE", compile_)
    specs = [_spec(f"m{i}", py) for i, py in enumerate(pys)]
    for make in (
        lambda: codegen.checker(specs, "struct 'X'", "X.check"),
        lambda: codegen.initializer(specs, "struct 'X'", "X.__init__"),
    ):
        with pytest.raises(SchemaError, match=message):
            make()


def test_a_recursion_is_named_on_both_paths(ns: Any) -> None:
    dev = _dev(ns)
    dev.io_error.connect(lambda owner, operation, sector, where: dev.io_error.emit(operation=operation))
    with pytest.raises(SignalRecursionError, match=r"Dev\.IO_ERROR"):
        dev.io_error.emit(operation="read")


def _outcome(fn: Callable[..., Any], kwargs: dict[str, Any]) -> object:
    try:
        result = fn(**kwargs)
    except Exception as err:  # the type and message are what must agree
        return (type(err).__name__, str(err))
    return result if isinstance(result, dict) else repr(result)


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-300, 300),
    st.sampled_from(["read", "write", "raed", ""]),
    st.lists(st.integers(0, 3), max_size=2),
    st.floats(allow_nan=False),
)
KWARGS = st.dictionaries(st.sampled_from(["sector", "note", "op", "bogus", "tray-open"]), VALUES, max_size=4)


@pytest.fixture(scope="module")
def where_specs(tmp_path_factory: pytest.TempPathFactory) -> tuple[MemberSpec, ...]:
    path = tmp_path_factory.mktemp("schema") / "s.json"
    path.write_text(SCHEMA)
    where: Any = qobjects.build(path).types["Where"]
    specs: tuple[MemberSpec, ...] = where._specs
    return specs


@given(kwargs=KWARGS)
def test_both_paths_check_alike(where_specs: tuple[MemberSpec, ...], kwargs: dict[str, Any]) -> None:
    built = []
    for flag in (True, False):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(codegen, "COMPILE", flag)
            built.append(codegen.checker(where_specs, "struct 'Where'", "Where.check"))
    compiled, interpreted = built
    assert _outcome(compiled, kwargs) == _outcome(interpreted, kwargs)


def test_slot_errors_are_alike_on_both_paths(ns: Any) -> None:
    dev = _dev(ns)

    def bad(owner: Any, operation: Any, sector: Any, where: Any) -> None:
        raise ValueError("no")

    dev.io_error.connect(bad)
    with pytest.raises(SlotError, match=r"1 slot of signal Dev\.IO_ERROR raised"):
        dev.io_error.emit(operation="write")
    dev.io_error.connect(bad)
    with pytest.raises(SlotError, match=r"2 slots of signal Dev\.IO_ERROR raised"):
        dev.io_error.emit(operation="write")
