"""Property: no input makes the schema frontend raise anything but SchemaError."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qobjects.errors import SchemaError
from qobjects.schema import DEFAULT_SCHEMA, parse_schema

TESTS = Path(__file__).resolve().parents[2] / ".." / "shared" / "qemu-qapi" / "tests"

_SEEDS = [Path(DEFAULT_SCHEMA).read_text(), (Path(DEFAULT_SCHEMA).parent / "control.json").read_text()]
for _name in ("qapi-schema-test", "doc-good", "alternate-array", "comments"):
    if (TESTS / f"{_name}.json").exists():
        _SEEDS.append((TESTS / f"{_name}.json").read_text())
_SEEDS.append(
    "{ 'handle': 'Hd', 'data': 'str' }\n"
    "{ 'event': 'EV', 'data': { 'dev': 'str', 'n': 'int' } }\n"
    "{ 'signal': 'SIG', 'owner': 'Hd', 'data': { 'n': 'int' },\n"
    "  'event': 'EV', 'owner-member': 'dev' }\n"
    "{ 'union': 'Un', 'base': { 'k': 'Kind' }, 'discriminator': 'k', 'data': { 'a': 'St' } }\n"
    "{ 'enum': 'Kind', 'data': [ 'a', { 'name': 'b', 'if': { 'not': 'X' } } ] }\n"
    "{ 'struct': 'St', 'data': { '*m': { 'type': ['Hd'], 'features': [ 'f' ] } } }\n"
    "{ 'alternate': 'Alt', 'data': { 'h': 'Hd', 's': 'St' } }\n"
    "{ 'include': 'sub.json' }\n"
)

_TOKENS = [
    "{", "}", "[", "]", ":", ",", "'", "''", "#", "##", "\n", "\t", " ", "true", "false",
    "'data'", "'type'", "'base'", "'if'", "'features'", "'*x'", "'str'", "'int'", "['str']",
    "'handle'", "'signal'", "'owner'", "'event'", "'owner-member'", "'Hd'", "'EV'", "'SIG'",
    "'include'", "'pragma'", "'boxed'", "'returns'", "'discriminator'", "'all'", "'not'",
    "{ 'all': [] }", "# @x:", "# Features:", "# Since:", "# Returns:", "\\", "\\\\", "\x00",
    "é", "'q_x'", "'has-x'", "'u'", "'XList'", "'doc-required'", "'*'", "@", "::", ". A",
]
_TOKEN_RE = re.compile(r"'[^'\n]*'|\S")


def _reader(path: str) -> str:
    if path.endswith("sub.json"):
        return "{ 'enum': 'Sub', 'data': [ 'a' ] }\n{ 'include': 'sub.json' }\n"
    raise FileNotFoundError(2, "No such file or directory", path)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(_SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["del_char", "ins", "rep_char", "del_tok", "rep_tok", "dup"]))
        if not text:
            text = draw(st.sampled_from(_TOKENS))
            continue
        i = draw(st.integers(0, len(text) - 1))
        if op == "del_char":
            text = text[:i] + text[i + 1 :]
        elif op == "ins":
            text = text[:i] + draw(st.sampled_from(_TOKENS)) + text[i:]
        elif op == "rep_char":
            text = text[:i] + draw(st.characters(max_codepoint=0x2100)) + text[i + 1 :]
        elif op == "dup":
            j = draw(st.integers(i, min(len(text), i + 200)))
            text = text[:j] + text[i:j] + text[j:]
        else:
            toks = list(_TOKEN_RE.finditer(text))
            if not toks:
                continue
            m = toks[draw(st.integers(0, len(toks) - 1))]
            repl = "" if op == "del_tok" else draw(st.sampled_from(_TOKENS))
            text = text[: m.start()] + repl + text[m.end() :]
    return text


def _check(text: str) -> None:
    try:
        parse_schema(text, "fuzz/main.json", reader=_reader)
    except SchemaError as err:
        assert str(err)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_schemas_raise_only_schema_error(text: str) -> None:
    _check(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS), max_size=60).map("".join))
def test_token_soup(text: str) -> None:
    _check(text)


def test_deep_nesting() -> None:
    for text in ("[" * 5000, "{ 'a': " * 3000, "{ 'enum': 'Ee', 'data': " + "[" * 400 + "]" * 400 + "}"):
        _check(text)


def test_long_base_chain() -> None:
    n = 2000
    text = "".join(f"{{ 'struct': 'Sa{i}', 'base': 'Sa{i + 1}', 'data': {{}} }}\n" for i in range(n))
    text += f"{{ 'struct': 'Sa{n}', 'data': {{}} }}\n"
    _check(text)
