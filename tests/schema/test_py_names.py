"""Python names derived from schema names: the same on every interpreter, never two alike."""

from __future__ import annotations

import pytest

from qobjects import build
from qobjects.errors import SchemaError
from qobjects.schema import parse_schema
from qobjects.schema.expr import py_name

PRAGMA = "{ 'pragma': { 'member-name-exceptions': [ 'Thing', 'Light' ] } }\n"


@pytest.mark.parametrize("name", ["type", "match", "case", "_", "soft-kw", "print"])
def test_soft_keywords_and_builtins_stay(name: str) -> None:
    assert py_name(name) == name.replace("-", "_")


@pytest.mark.parametrize(("name", "ident"), [("class", "class_"), ("if", "if_"), ("None", "None_"),
                                             ("async", "async_"), ("1x", "_1x"), ("a.b-c", "a_b_c")])
def test_hard_keywords_and_digits(name: str, ident: str) -> None:
    assert py_name(name) == ident


def test_soft_keyword_members_build() -> None:
    ns = build(parse_schema(PRAGMA + "{ 'struct': 'Thing', 'data': { 'match': 'str', 'match_': 'int',"
                            " 'type': 'str', 'case': 'int' } }\n", "t.json"))
    thing = ns.types["Thing"](match="m", match_=1, type="t", case=2)
    assert (thing.match, thing.match_, thing.type, thing.case) == ("m", 1, "t", 2)


@pytest.mark.parametrize(
    ("text", "line", "msg"),
    [
        (
            "{ 'struct': 'Thing',\n  'data': { 'class': 'str', 'class_': 'int' } }\n",
            2,
            "member 'class_' collides with member 'class' (both are 'class_' in Python)",
        ),
        (
            "{ 'enum': 'Light', 'data': [ 'if', 'if_' ] }\n",
            2,
            "value 'if_' collides with value 'if' (both are 'if_' in Python)",
        ),
        (
            "{ 'struct': 'Base', 'data': { 'lambda': 'str' } }\n"
            "{ 'struct': 'Thing', 'base': 'Base',\n  'data': { 'lambda_': 'str' } }\n",
            3,
            "member 'lambda_' collides with member 'lambda' of type 'Base' (both are 'lambda_' in Python)",
        ),
    ],
)
def test_python_name_clash_is_a_located_schema_error(text: str, line: int, msg: str) -> None:
    with pytest.raises(SchemaError) as info:
        parse_schema(PRAGMA + text, "t.json")
    assert info.value.msg == msg
    assert info.value.info is not None
    assert info.value.info.line == line
    assert str(info.value).splitlines()[-1].startswith(f"t.json:{line}")
