"""The JSON stream decoder: bytes in any chunking, values and errors out, as QEMU splits them."""

from __future__ import annotations

import itertools
import json
import math
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from qobjects.qmp.framing import MAX_DEPTH, MAX_SIZE, MAX_TOKENS, DecodeError, JSONStreamDecoder, encode_json
from qobjects.qmp.jsonparse import ParseError, parse_value
from qobjects.qmp.protocol import BadMessage, Execute, QMPProtocol, Role

SAMPLE = (
    b'{"execute": "query-block", "id": 1}'
    b'{"execute":"x","arguments":{"name":"h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80","esc":"a\\"b\\\\c\\u00e9\\n"}}\r\n'
    b"{'execute': 'it\\'s \"quoted\"', 'arguments': {'k': [1, 2.5, -3e2, true, false, null]}}\n"
    b'  [ {"deep": [[{"x": {}}]]} ]  {"a\'b": "don\\\'t"}\n'
)
SAMPLE_VALUES: list[object] = [
    {"execute": "query-block", "id": 1},
    {"execute": "x", "arguments": {"name": "hé€😀", "esc": 'a"b\\cé\n'}},
    {"execute": 'it\'s "quoted"', "arguments": {"k": [1, 2.5, -300.0, True, False, None]}},
    [{"deep": [[{"x": {}}]]}],
    {"a'b": "don't"},
]


def feed_all(chunks: list[bytes], **limits: int) -> list[object]:
    decoder = JSONStreamDecoder(**limits)
    out: list[object] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out + decoder.close()


def every_split(data: bytes, **limits: int) -> list[object]:
    """What *data* decodes to, checked to be the same in one read, byte by byte, and cut anywhere."""
    whole = feed_all([data], **limits)
    assert feed_all([data[i : i + 1] for i in range(len(data))], **limits) == whole
    for at in range(1, len(data)):
        assert feed_all([data[:at], data[at:]], **limits) == whole, at
    return whole


def errors(items: list[object]) -> list[str]:
    return [item.desc for item in items if isinstance(item, DecodeError)]


def values(items: list[object]) -> list[object]:
    return [item for item in items if not isinstance(item, DecodeError)]


def err(desc: str) -> DecodeError:
    return DecodeError(f"JSON parse error, {desc}")


# --- splitting -----------------------------------------------------------------------


def test_sample_in_any_chunking() -> None:
    assert every_split(SAMPLE) == SAMPLE_VALUES


def test_split_inside_multibyte_character_and_escape() -> None:
    msg = '{"s": "€\\u20ac\\\\"}'.encode()
    euro = msg.index(b"\xe2")
    for at in (euro + 1, euro + 2, msg.index(b"\\u") + 1, msg.index(b"\\u") + 3):
        decoder = JSONStreamDecoder()
        assert decoder.feed(msg[:at]) == []
        assert decoder.feed(msg[at:]) == [{"s": "€€\\"}]


def test_several_per_read_with_and_without_separators() -> None:
    data = b'{"a":1}{"b":2} {"c":3}\n{"d":4}\r\n[5]"six"'
    assert feed_all([data]) == [{"a": 1}, {"b": 2}, {"c": 3}, {"d": 4}, [5], "six"]


def test_nothing_is_held_back_after_complete_values() -> None:
    decoder = JSONStreamDecoder()
    assert decoder.feed(b'{"a": 1}\r\n') == [{"a": 1}]
    assert decoder.pending == 0


def test_top_level_numbers_and_keywords_end_at_a_delimiter() -> None:
    decoder = JSONStreamDecoder()
    assert decoder.feed(b"12") == []
    assert decoder.feed(b"3 true nu") == [123, True]
    assert decoder.feed(b"ll") == []
    assert decoder.close() == [None]
    # QEMU's lexer reads letters up to the first non-letter: "nulltrue" is one keyword.
    assert feed_all([b"nulltrue 4.5"]) == [err("invalid keyword 'nulltrue'"), 4.5]


# --- one value until the brackets balance, as QEMU's streamer counts them ---------------

SMUGGLE = (
    b'{"execute":"query-block","arguments":\n'
    b'{"execute":"blockdev-open-tray","arguments":{"device":"ide1-cd0"}}}\n'
)


def test_a_line_starting_with_a_brace_inside_an_open_value_does_not_split_it() -> None:
    # The inner object is an argument of query-block, not a command of its own.
    assert every_split(SMUGGLE) == [
        {
            "execute": "query-block",
            "arguments": {"execute": "blockdev-open-tray", "arguments": {"device": "ide1-cd0"}},
        }
    ]


def test_pretty_printed_json_with_braces_in_the_first_column() -> None:
    text = json.dumps({"execute": "x", "arguments": {"a": [{"b": 1}, {"c": [2]}]}}, indent=2)
    text = text.replace("\n    {", "\n{")
    assert every_split(text.encode()) == [json.loads(text)]


def test_unbalanced_input_waits_for_its_closing_bracket() -> None:
    decoder = JSONStreamDecoder()
    assert decoder.feed(b'{"execute": \n{"execute": "y"}\n') == []
    assert decoder.feed(b"}") == [{"execute": {"execute": "y"}}]


# --- what QEMU's parser refuses, with its words (checked against QEMU 7.2) --------------

QEMU_CASES: list[tuple[bytes, list[object]]] = [
    (b'{"execute":"query-status","execute":"x"}', [err("duplicate key")]),
    (b'{"a":{"b":1,"c":2,"b":3}}', [err("duplicate key")]),
    (b'[{"a":1},{"a":1,"a":1}]', [err("duplicate key")]),
    (b'{"a":1,}', [err("expecting value")]),
    (b"[1 2]", [err("expected separator in list")]),
    (b'{"a" 1}', [err("missing : in object pair")]),
    (b'{"a":1 "b":2}', [err("expected separator in dict")]),
    (b"{1:2}", [err("key is not a string in object")]),
    (b'{"a":[1}, 2]', [err("expected separator in list")]),
    (b'{"a": tru}', [err("invalid keyword 'tru'")]),
    (b"[}", [err("expecting value")]),
    (b"{]", [err("expecting value")]),
    (b"}", [err("expecting value")]),
    (b'"\\q"', [err("invalid escape sequence in string")]),
    (b'{"id":"\\uFFFF"}', [err("\\uFFFF is not a valid Unicode character")]),
    (b'{"id":"\\uD800"}', [err("\\uD800 is not a valid Unicode character")]),
    (b'{"id":"\\ud800\\u0041"}', [err("\\ud800 is not a valid Unicode character")]),
    (b'{"id":"\\u12"}', [err('\\u12" is not a valid Unicode character')]),
    (b'{"id":"\xef\xbf\xbf"}', [err("invalid UTF-8 sequence in string")]),
    (b'{"a": "\xc3\x28"}', [err("invalid UTF-8 sequence in string")]),
    (b"[0e5]", [err("expected separator in list")]),
    # Lexical errors: reported, then input is skipped to a structural or control character.
    (b"\xff", [err("stray '\ufffd'")]),
    (b'{"execute":"query-status"}\x04', [{"execute": "query-status"}, err("stray '\x04'")]),
    (
        b'GARBAGE\x04{"execute":"query-status"}',
        [err("stray 'G'"), err("stray '\x04'"), {"execute": "query-status"}],
    ),
    (b'{"a": NaN}\n', [err("stray 'N'"), err("expecting value")]),
    (b'{"a": 01}\n', [err("stray '01'"), err("expecting value")]),
    (
        b'{"a": "x\x01y"}\n{"execute":"query-status"}',
        [err("stray '\"x\x01'"), err("expecting value"), {"execute": "query-status"}],
    ),
    (b"[1, -x]", [err("stray '-x'"), err("expecting value")]),
    (b"[1.e5]", [err("stray '1.e'"), err("expecting value")]),
    # What QEMU accepts and a strict JSON decoder would not, or would read otherwise.
    (b'{"id":"\xc0\x80"}', [{"id": "\x00"}]),
    (b'{"id":"\\ud83d\\ude00"}', [{"id": "😀"}]),
    (b"{'s': 'it\\'s'}", [{"s": "it's"}]),
    (b'{"execute":"query-status","id":1e400}', [{"execute": "query-status", "id": math.inf}]),
    (b'{"id":18446744073709551616}', [{"id": 1.8446744073709552e19}]),
    (b'{"id":18446744073709551615}', [{"id": 18446744073709551615}]),
    (b'{"id":-9223372036854775808}', [{"id": -9223372036854775808}]),
    (b'{"id":-9223372036854775809}', [{"id": -9.223372036854776e18}]),
    (b'{"id":' + b"9" * 400 + b"}", [{"id": math.inf}]),
    (b'{"a": "tcp:host:4444", "b": 1}', [{"a": "tcp:host:4444", "b": 1}]),
]


@pytest.mark.parametrize(("data", "expected"), QEMU_CASES, ids=[repr(c[0])[:40] for c in QEMU_CASES])
def test_as_qemu_reads_it(data: bytes, expected: list[object]) -> None:
    assert every_split(data) == expected


def test_top_level_integers_past_64_bits_are_doubles() -> None:
    assert every_split(b"18446744073709551616 -9223372036854775809 18446744073709551615 ") == [
        1.8446744073709552e19,
        -9.223372036854776e18,
        18446744073709551615,
    ]


def test_an_over_long_integer_is_a_double_not_a_python_error() -> None:
    # 5000 digits is past Python's int() limit; QEMU reads it as a double (inf).
    (value,) = every_split(b'{"execute":"query-version","id":' + b"1" * 5000 + b"}")
    assert value == {"execute": "query-version", "id": math.inf}
    out = feed_all([b"[" + b"7" * 5000 + b"] {}"])
    assert out == [[math.inf], {}]


def test_lexical_error_in_a_value_resynchronises_at_the_next_control_character() -> None:
    out = every_split(b'{"execute": "x", "arguments": {\x04{"execute": "y"}')
    assert out == [err("stray '\x04'"), {"execute": "y"}]


def test_premature_end_of_input() -> None:
    decoder = JSONStreamDecoder()
    assert decoder.feed(b'{"a": [1, ') == []
    assert decoder.close() == [err("premature EOI")]
    assert decoder.feed(b'{"b": 2}') == [{"b": 2}]
    assert feed_all([b'"unterminated']) == [err("stray '\"unterminated'")]
    assert feed_all([b"-"]) == [err("stray '-'")]
    assert feed_all([b'{"a" 1, "b": ']) == [err("missing : in object pair")]


def test_long_stray_token_is_cut_in_the_error() -> None:
    (error,) = feed_all([b'"' + b"x" * 500 + b"\x01"])
    assert isinstance(error, DecodeError)
    assert error.desc == "JSON parse error, stray '\"" + "x" * 63 + "...'"


# --- limits --------------------------------------------------------------------------


def test_default_limits_are_qemus() -> None:
    decoder = JSONStreamDecoder()
    assert (decoder.max_size, decoder.max_tokens, decoder.max_depth) == (MAX_SIZE, MAX_TOKENS, MAX_DEPTH)
    assert (MAX_SIZE, MAX_TOKENS, MAX_DEPTH) == (64 << 20, 2 << 20, 1024)


def test_size_limit_boundary() -> None:
    exact = b'{"a": "' + b"x" * 50 + b'"}'
    assert feed_all([exact], max_size=len(exact)) == [{"a": "x" * 50}]
    out = feed_all([exact], max_size=len(exact) - 1)
    assert errors(out) == [
        f"JSON token size limit exceeded (a message may have at most {len(exact) - 1} bytes)"
    ]


@pytest.mark.parametrize("chunk", [1, 7, 100, 10_000])
def test_oversized_value_is_skipped_without_storing_it(chunk: int) -> None:
    big = b'{"execute": "x", "arguments": {"blob": "' + b"y{[" * 3000 + b'", "l": [[1], {"z": 2}]}}'
    data = big + b'{"execute": "next"}'
    decoder = JSONStreamDecoder(max_size=1000)
    out: list[object] = []
    peak = 0
    for i in range(0, len(data), chunk):
        out += decoder.feed(data[i : i + chunk])
        peak = max(peak, decoder.pending)
    assert errors(out) == ["JSON token size limit exceeded (a message may have at most 1000 bytes)"]
    assert values(out) == [{"execute": "next"}]
    assert peak <= 1000 + chunk


def test_a_value_past_a_limit_smuggles_nothing() -> None:
    # QEMU would parse what follows the limit as new input; the rest of the value is skipped.
    inner = b'{"execute": "blockdev-open-tray", "arguments": {"device": "ide1-cd0"}}'
    data = b'{"execute": "query-block", "arguments": {"pad": "' + b"p" * 200 + b'", "x": ' + inner + b"}}"
    assert every_split(data + b" [1]", max_size=100) == [
        DecodeError("JSON token size limit exceeded (a message may have at most 100 bytes)"),
        [1],
    ]


def test_oversized_top_level_token() -> None:
    out = feed_all([b"1" * 50, b"1" * 50, b' {"a": 1}'], max_size=64)
    assert out == [
        DecodeError("JSON token size limit exceeded (a message may have at most 64 bytes)"),
        {"a": 1},
    ]


def test_depth_limit_default_is_1024() -> None:
    ok = b"[" * 1024 + b"]" * 1024
    too_deep = b"[" * 1025 + b"]" * 1025
    out = feed_all([ok, too_deep, b'{"after": 1}'])
    assert isinstance(out[0], list)
    assert out[1:] == [DecodeError("JSON nesting depth limit exceeded (at most 1024 levels)"), {"after": 1}]


def test_depth_limit_configured_and_skipped_in_pieces() -> None:
    data = b'{"a": {"b": {"c": "}}}}"}}}' + b'{"ok": {"b": 1}}'
    assert every_split(data, max_depth=2) == [
        DecodeError("JSON nesting depth limit exceeded (at most 2 levels)"),
        {"ok": {"b": 1}},
    ]


def test_token_limit() -> None:
    exact = b'{"a": [1, 2]}'  # 9 tokens
    assert every_split(exact, max_tokens=9) == [{"a": [1, 2]}]
    assert every_split(exact + b'{"b": 1}', max_tokens=8) == [
        DecodeError("JSON token count limit exceeded (at most 8 tokens)"),
        {"b": 1},
    ]
    # Counted in values longer than the limit in bytes, token by token.
    long = b'{"k": "' + b"v" * 40 + b'", "l": [1, 2, 3, 4, 5, 6]}'
    assert every_split(long, max_tokens=21) == [json.loads(long)]  # 21 tokens
    assert every_split(long, max_tokens=20) == [
        DecodeError("JSON token count limit exceeded (at most 20 tokens)")
    ]


def test_the_first_limit_crossed_is_reported() -> None:
    data = b"[" * 5 + b'"' + b"x" * 30 + b'"' + b"]" * 5
    assert every_split(data, max_depth=3, max_size=20) == [
        DecodeError("JSON nesting depth limit exceeded (at most 3 levels)")
    ]
    assert every_split(data, max_depth=5, max_size=20) == [
        DecodeError("JSON token size limit exceeded (a message may have at most 20 bytes)")
    ]


def test_deep_nesting_does_not_depend_on_the_stack() -> None:
    # 1000 levels is past what the C decoder manages under the default recursion limit.
    data = b'{"a": ' * 1000 + b"1" + b"}" * 1000
    (value,) = feed_all([data])
    for _ in range(1000):
        assert isinstance(value, dict)
        value = value["a"]
    assert value == 1


@pytest.mark.parametrize("name", ["max_size", "max_depth", "max_tokens"])
def test_limits_must_be_positive(name: str) -> None:
    with pytest.raises(ValueError, match=f"{name} must be at least 1, not 0"):
        JSONStreamDecoder(**{name: 0})


# --- encoding ------------------------------------------------------------------------


def test_encode_json_is_compact_ascii() -> None:
    assert encode_json({"a": ["é", 1, None]}) == '{"a":["\\u00e9",1,null]}'
    with pytest.raises(ValueError):
        encode_json(float("nan"))


# --- real QEMU -----------------------------------------------------------------------

QEMU = "qemu-system-x86_64"


@pytest.fixture(scope="module")
def qemu_socket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if shutil.which(QEMU) is None:
        pytest.skip(f"{QEMU} is not installed")
    path = tmp_path_factory.mktemp("qemu") / "qmp.sock"
    proc = subprocess.Popen(
        [
            QEMU,
            "-machine",
            "none",
            "-nodefaults",
            "-display",
            "none",
            "-qmp",
            f"unix:{path},server=on,wait=off",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            if path.exists():
                break
            time.sleep(0.05)
        yield path
    finally:
        proc.terminate()
        proc.wait()


def qemu_reads(path: Path, data: bytes) -> list[object]:
    """QEMU's parse errors for *data*, and "value" for each value it read (its reply to it)."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(30)
        sock.connect(str(path))
        stream = sock.makefile("rb")
        stream.readline()  # greeting
        sock.sendall(b'{"execute": "qmp_capabilities"}\n')
        stream.readline()
        sock.sendall(data + b'\n{"execute": "query-status", "id": "end"}\n')
        seen: list[object] = []
        while True:
            line = stream.readline()
            if b": inf" in line:  # QEMU writes a non-finite id as it is: a reply to a value
                seen.append("value")
                continue
            reply = json.loads(line)
            if reply.get("id") == "end":
                return seen
            desc = reply.get("error", {}).get("desc", "")
            seen.append(desc if desc.startswith("JSON ") else "value")


@pytest.mark.parametrize("data", [c[0] for c in QEMU_CASES if c[0][-1:] in b"}]\n\x04\xff"] + [SMUGGLE])
def test_real_qemu_agrees(qemu_socket: Path, data: bytes) -> None:
    ours = [item.desc if isinstance(item, DecodeError) else "value" for item in feed_all([data])]
    assert qemu_reads(qemu_socket, data) == ours


# --- properties ----------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)
INTERESTING_BYTES = st.lists(
    st.sampled_from(list(b"{}[]\"'\\:,\n\r\t \x00\x01\xff\xc3\xa9\xc0\x80ab1-0eE.u")), max_size=60
).map(bytes)
ANY_BYTES = st.binary(max_size=200) | INTERESTING_BYTES


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(data=ANY_BYTES, cuts=st.lists(st.integers(min_value=0, max_value=300), max_size=8))
@example(data=b'{"a":"\\', cuts=[6])
@example(data=b"\n{", cuts=[1])
@example(data=b"[1e", cuts=[2])
def test_any_bytes_any_chunking_never_raise_and_agree(data: bytes, cuts: list[int]) -> None:
    limits = {"max_size": 40, "max_depth": 4, "max_tokens": 12}
    whole = feed_all([data], **limits)  # raises nothing: bad input is DecodeError items
    assert all(
        isinstance(item, (DecodeError, dict, list, str, int, float, bool)) or item is None for item in whole
    )
    assert feed_all(chunked(data, cuts), **limits) == whole
    assert feed_all([data[i : i + 1] for i in range(len(data))], **limits) == whole


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    garbage=ANY_BYTES,
    resync=st.sampled_from([b"\xff", b"\x01", b"\x1b", b"\x00"]),
    cuts=st.lists(st.integers(0, 300), max_size=5),
)
def test_a_valid_message_after_a_lexical_error_is_never_lost(
    garbage: bytes, resync: bytes, cuts: list[int]
) -> None:
    msg = b'{"execute": "query-status", "id": "after garbage"}'
    out = feed_all(chunked(garbage + resync + b"\n" + msg, cuts))
    assert out[-1] == {"execute": "query-status", "id": "after garbage"}


def parsed_or_error(data: bytes) -> object:
    try:
        return parse_value(data)
    except ParseError:
        return DecodeError


@settings(max_examples=200)
@given(value=JSON_VALUES, cuts=st.lists(st.integers(min_value=0, max_value=300), max_size=5))
@example(value={"\ufffe": ["\U0001ffff", "\ufdd0"]}, cuts=[])
def test_encoded_values_decode_in_any_chunking(value: object, cuts: list[int]) -> None:
    encoded = encode_json(value).encode()
    raw = json.dumps(value, ensure_ascii=False).encode()
    data = encoded + b"\r\n" + raw
    if not isinstance(value, (dict, list, str)):
        data += b" "  # a top-level number or keyword ends at a delimiter
    # What encode_json writes always decodes (integers past 64 bits become
    # doubles); raw UTF-8 with a noncharacter is an error, as in QEMU.
    expected = [parse_value(encoded), parsed_or_error(raw)]
    out = feed_all(chunked(data, cuts))
    assert [type(x) if isinstance(x, DecodeError) else x for x in out] == expected


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("\ufffe", "\\ufffd"),
        ("a\uffffb", "a\\ufffdb"),
        ("\ufdd0\ufdef", "\\ufffd\\ufffd"),
        ("\U0001fffe", "\\ufffd"),
        ("\U0010ffff", "\\ufffd"),
        ("\ud800x", "\\ufffdx"),
        ("x\udfff", "x\\ufffd"),
        ("\\ufffe", "\\\\ufffe"),  # a backslash and the letters: kept
        ("\U0001f600", "\\ud83d\\ude00"),
        ("\ufdcf\ufdf0\ufffd", "\\ufdcf\\ufdf0\\ufffd"),
    ],
)
def test_encode_json_writes_what_qemu_refuses_as_a_replacement_character(text: str, written: str) -> None:
    assert encode_json(text) == f'"{written}"'
    assert encode_json({text: [text]}) == f'{{"{written}":["{written}"]}}'
    assert parse_value(encode_json(text).encode()) == json.loads(f'"{written}"')


# Objects written out by hand, so that keys may repeat and escapes vary.
KEYS = st.sampled_from(['"a"', '"b"', '"a\\u0062"', '"ab"', "'a'", '"\\ud800"', '"\\uDBFF\\uDFFF"', '"c:d"'])
SCALARS = st.sampled_from(
    ["1", "-0", "0e5", "0.5e1", "18446744073709551616", "1e400", "true", '"x"', '"\\uFFFE"']
)
TEXTS = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]")
        | st.lists(st.tuples(KEYS, inner), max_size=3).map(
            lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"
        )
    ),
    max_leaves=8,
)


@settings(max_examples=400)
@given(text=TEXTS)
def test_fast_paths_agree_with_the_exact_parser(text: str) -> None:
    raw = text.encode()
    try:
        expected: object = parse_value(raw)
    except ParseError as error:
        expected = DecodeError(error.desc)
    wrapped = b"[" + raw + b"]"
    try:
        expected_wrapped: object = parse_value(wrapped)
    except ParseError as error:
        expected_wrapped = DecodeError(error.desc)
    if raw[:1] in b"[{":  # a top-level scalar such as 0e5 can be several values
        assert feed_all([raw]) == [expected]
    assert feed_all([wrapped * 3]) == [expected_wrapped] * 3
    assert feed_all([wrapped[:5], wrapped[5:]]) == [expected_wrapped]


def test_the_protocol_passes_its_limits_to_the_decoder() -> None:
    proto = QMPProtocol(Role.SERVER, max_tokens=5)
    proto.negotiated()
    assert proto.receive_data(b'{"execute": "x", "arguments": {"a": 1}} {"execute": "y"}') == [
        BadMessage("GenericError", "JSON token count limit exceeded (at most 5 tokens)", None, False),
        Execute("y", {}, None, False),
    ]


def test_duplicate_keys_among_values_with_colons_in_strings() -> None:
    data = (
        b'{"a": "x:y", "b": 1}{"a": "x:y", "a": 1}{"c": "p:q"} {"k:1": 2, "k:1": 3}[{"a":"::"},{"a":1,"a":2}]'
    )
    dup = err("duplicate key")
    assert every_split(data) == [{"a": "x:y", "b": 1}, dup, {"c": "p:q"}, dup, dup]


# --- the client's reading: lines joined across reads -------------------------------

MESSAGES = st.lists(
    st.dictionaries(
        st.sampled_from(["return", "id", "event", "data"]),
        st.one_of(st.integers(), st.text(max_size=300), st.lists(st.text(max_size=50), max_size=40)),
        min_size=1,
    ),
    min_size=1,
    max_size=6,
)


@given(messages=MESSAGES, cuts=st.lists(st.integers(0, 10_000), max_size=12))
def test_client_reads_lines_in_any_chunking(messages: list[dict[str, object]], cuts: list[int]) -> None:
    from qobjects import default_namespace
    from qobjects.qmp.asession import AsyncSession

    session = AsyncSession("unix:/nowhere", default_namespace())
    session._proto = QMPProtocol(Role.CLIENT)
    data = b"".join(json.dumps(m).encode() + b"\r\n" for m in messages)
    bounds = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    got: list[object] = []
    for start, end in itertools.pairwise(bounds):
        got += session._split(data[start:end])
    assert got == messages
    assert session._tail == [] and session._tail_size == 0
