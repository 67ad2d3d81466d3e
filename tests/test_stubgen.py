"""The stub generator: up to date, deterministic, complete, and wired to the CLI."""

from __future__ import annotations

import argparse
import ast
import inspect
from pathlib import Path

import pytest

import qobjects
from qobjects.cli import main
from qobjects.qmp.client import AsyncSession, Session
from qobjects.schema import DEFAULT_SCHEMA, load_schema, parse_schema
from qobjects.stubgen import SESSION_NAMES, add_stubgen, generate, run_stubgen, write_stubs

ROOT = Path(__file__).resolve().parents[1]
CHECKED_IN = ROOT / "stubs" / "qobjects-stubs" / "__init__.pyi"


def default_stub() -> str:
    return generate(load_schema(DEFAULT_SCHEMA), package=True, source="block.json")


def test_checked_in_stubs_are_up_to_date() -> None:
    assert CHECKED_IN.read_text(encoding="utf-8") == default_stub(), (
        "stubs/ is out of date with the generator: run `make stubs`"
    )


def test_output_is_deterministic(tmp_path: Path) -> None:
    first = write_stubs(None, tmp_path / "a").read_text(encoding="utf-8")
    second = write_stubs(None, tmp_path / "b").read_text(encoding="utf-8")
    assert first == second == default_stub()
    assert str(tmp_path) not in first


def defined_names(text: str) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(text).body:
        if isinstance(node, ast.ImportFrom):
            names |= {a.asname or a.name for a in node.names}
        elif isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def test_package_stub_declares_the_public_api_and_the_schema_classes() -> None:
    names = defined_names(default_stub())
    assert set(qobjects.__all__) <= names
    assert set(qobjects.default_namespace().types) <= names


def class_members(text: str, cls: str) -> set[str]:
    for node in ast.parse(text).body:
        if isinstance(node, ast.ClassDef) and node.name == cls:
            out = set()
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    out.add(item.name)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    out.add(item.target.id)
            return out
    raise AssertionError(cls)


@pytest.mark.parametrize("real", [Session, AsyncSession])
def test_typed_sessions_keep_the_real_public_methods(real: type) -> None:
    stub = class_members(default_stub(), real.__name__)
    public = {n for n in dir(real) if not n.startswith("_")}
    init = inspect.signature(AsyncSession.__init__).parameters
    if real is AsyncSession:
        session = AsyncSession("unix:/nowhere", qobjects.default_namespace())
        public |= {n for n in vars(session) if not n.startswith("_")}
        assert list(init)[1:] == ["address", "namespace", "reconnect", "timeout", "ask_explicit", "ssl"]
    assert public <= stub, public - stub
    assert public <= SESSION_NAMES | {"session"}
    for cmd in qobjects.default_namespace().commands.values():
        assert cmd.py in stub


def test_connect_signatures_match() -> None:
    from qobjects.qmp import client

    text = default_stub()
    for fn in (client.connect, client.aconnect):
        params = list(inspect.signature(fn).parameters)
        node = next(
            n
            for n in ast.parse(text).body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == fn.__name__
        )
        stub_params = [a.arg for a in node.args.args + node.args.kwonlyargs]
        assert stub_params == params


def test_names_are_valid_python_and_clashes_are_reported() -> None:
    schema = parse_schema(
        "{ 'enum': 'Op', 'data': ['read', 'write', 'index', '1st', 'class'] }\n"
        "{ 'struct': 'Outer', 'data': { 'str': 'str', 'type': 'Op', '*to-json': 'int', 'class': 'Inner' } }\n"
        "{ 'struct': 'Inner', 'data': { 'x': 'str' } }\n"
        "{ 'command': 'do-it', 'data': { 'lambda': 'str' }, 'returns': 'Outer' }\n"
    )
    text = generate(schema)
    ast.parse(text)
    assert "    _1st = '1st'" in text
    assert "    class_ = 'class'" in text
    assert "str: builtins.str" in text
    assert "type: Op" in text and "class_: Inner" in text
    assert "def do_it(" in text and "lambda_: str," in text
    with pytest.raises(ValueError, match="Session"):
        generate(parse_schema("{ 'struct': 'Session', 'data': { 'a': 'str' } }"))


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_stubgen(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["stubgen", "-o", str(tmp_path)])
    assert run_stubgen(args) == 0
    assert (tmp_path / "qobjects-stubs" / "__init__.pyi").read_text(encoding="utf-8") == default_stub()
    assert (tmp_path / "qobjects-stubs" / "py.typed").read_text(encoding="utf-8") == "partial\n"
    schema = tmp_path / "my-schema.json"
    schema.write_text("{ 'enum': 'Op', 'data': ['a'] }\n", encoding="utf-8")
    assert main(["stubgen", str(schema), "-o", str(tmp_path)]) == 0
    assert "class Op(enum.StrEnum):" in (tmp_path / "my_schema.pyi").read_text(encoding="utf-8")
    assert main(["stubgen", str(schema), "-o", str(tmp_path), "--module", "ops"]) == 0
    assert (tmp_path / "ops.pyi").exists()
    assert main(["stubgen", str(tmp_path / "missing.json"), "-o", str(tmp_path)]) == 1
    assert "missing.json" in capsys.readouterr().err
