"""The JSON stream decoder: bytes in any chunking, values and errors out."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from qobjects.qmp.framing import DecodeError, JSONStreamDecoder, encode_json

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


def errors(items: list[object]) -> list[str]:
    return [item.desc for item in items if isinstance(item, DecodeError)]


def values(items: list[object]) -> list[object]:
    return [item for item in items if not isinstance(item, DecodeError)]


# --- splitting -----------------------------------------------------------------------


def test_sample_in_one_read() -> None:
    assert feed_all([SAMPLE]) == SAMPLE_VALUES


@pytest.mark.parametrize("at", range(1, len(SAMPLE)))
def test_sample_split_at_every_point(at: int) -> None:
    assert feed_all([SAMPLE[:at], SAMPLE[at:]]) == SAMPLE_VALUES


def test_sample_byte_by_byte() -> None:
    assert feed_all([SAMPLE[i : i + 1] for i in range(len(SAMPLE))]) == SAMPLE_VALUES


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


def test_top_level_keywords_end_where_they_are_spelt_out() -> None:
    decoder = JSONStreamDecoder()
    assert decoder.feed(b"nu") == []
    assert decoder.feed(b"lltrue") == [None, True]
    assert decoder.feed(b"falsey") == [False]
    assert decoder.close() == [DecodeError("JSON parse error, stray 'y'")]


def test_top_level_numbers_wait_for_a_delimiter() -> None:
    decoder = JSONStreamDecoder()
    assert decoder.feed(b"12") == []
    assert decoder.feed(b"3 true 4.5") == [123, True]
    assert decoder.close() == [4.5]


# --- single quotes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "value"),
    [
        (b"{'execute': 'stop'}", {"execute": "stop"}),
        (b"{'s': 'it\\'s'}", {"s": "it's"}),
        (b"{'s': 'say \"hi\"'}", {"s": 'say "hi"'}),
        (b"{'s': 'esc \\\" \\\\ \\n \\u00e9'}", {"s": 'esc " \\ \n é'}),
        (b'{"s": "it\\\'s"}', {"s": "it's"}),
        (b'{"s": "it\'s", \'t\': "\'"}', {"s": "it's", "t": "'"}),
        (b"'top'", "top"),
    ],
)
def test_single_quoted_strings(data: bytes, value: object) -> None:
    assert feed_all([data]) == [value]
    assert feed_all([data[i : i + 1] for i in range(len(data))]) == [value]


# --- bad input -----------------------------------------------------------------------


def test_malformed_value_is_one_error_then_the_next_value() -> None:
    out = feed_all([b'{"a" 1}{"execute": "x"}'])
    assert len(out) == 2
    assert isinstance(out[0], DecodeError)
    assert out[0].desc.startswith("JSON parse error, ")
    assert out[1] == {"execute": "x"}


@pytest.mark.parametrize(
    "garbage",
    [b"abc", b"}", b"]]]", b",", b"'unterminated", b'{"a": ', b'{"a": "unterminated', b"[[[", b"\\"],
)
def test_garbage_then_newline_recovers(garbage: bytes) -> None:
    out = feed_all([garbage + b'\n{"execute": "x"}'])
    assert len(errors(out)) == 1
    assert values(out) == [{"execute": "x"}]


def test_stray_token_skips_to_the_next_brace() -> None:
    out = feed_all([b'abc def {"execute": "x"} junk'])
    assert values(out) == [{"execute": "x"}]
    assert errors(out) == ["JSON parse error, stray 'abc'", "JSON parse error, stray 'junk'"]


def test_control_character_resets_a_value_in_progress() -> None:
    out = feed_all([b'{"execute": "x", "arguments": {\x04{"execute": "y"}'])
    assert errors(out) == ["JSON parse error, stray '\\x04'"]
    assert values(out) == [{"execute": "y"}]


def test_control_character_between_values_is_silent() -> None:
    assert feed_all([b'\x00{"a": 1}\x1b\xff{"b": 2}']) == [{"a": 1}, {"b": 2}]


def test_control_character_inside_string() -> None:
    out = feed_all([b'{"a": "x\x01y"}\n{"b": 2}'])
    assert len(errors(out)) == 1
    assert values(out) == [{"b": 2}]


def test_tab_inside_string_recovers_at_the_next_brace() -> None:
    out = feed_all([b'{"a": "x\ty", "b": [1]} junk {"c": 1}\n{"d": 2}'])
    assert errors(out) == ["JSON parse error, stray '\\x09' in string"]
    assert values(out) == [{"c": 1}, {"d": 2}]


def test_escaped_newline_is_an_error_not_an_escape() -> None:
    out = feed_all([b'{"a": "x\\\n{"b": 2}'])
    assert errors(out) == ["JSON parse error, invalid escape '\\\\\\x0a' in string"]
    assert values(out) == [{"b": 2}]


def test_indented_json_is_not_garbage() -> None:
    text = json.dumps({"execute": "x", "arguments": {"a": [{"b": 1}, {"c": [2]}]}}, indent=2)
    assert feed_all([text.encode()]) == [json.loads(text)]


@pytest.mark.parametrize("data", [b'{"n": NaN}', b"[Infinity]", b"[-Infinity]", b"NaN "])
def test_non_json_constants_are_refused(data: bytes) -> None:
    out = feed_all([data])
    assert len(out) == 1
    assert isinstance(out[0], DecodeError)


def test_invalid_utf8_is_an_error() -> None:
    out = feed_all([b'{"a": "\xc3\x28"}{"b": 1}'])
    assert errors(out) == ["JSON parse error, invalid UTF-8 sequence"]
    assert values(out) == [{"b": 1}]


def test_premature_end_of_input() -> None:
    decoder = JSONStreamDecoder()
    assert decoder.feed(b'{"a": [1, ') == []
    assert decoder.close() == [DecodeError("JSON parse error, premature end of input")]
    assert decoder.feed(b'{"b": 2}') == [{"b": 2}]


# --- limits --------------------------------------------------------------------------


def test_size_limit_boundary() -> None:
    exact = b'{"a": "' + b"x" * 50 + b'"}'
    assert feed_all([exact], max_size=len(exact)) == [{"a": "x" * 50}]
    out = feed_all([exact], max_size=len(exact) - 1)
    assert errors(out) == [f"JSON message size limit exceeded (at most {len(exact) - 1} bytes)"]


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
    assert errors(out) == ["JSON message size limit exceeded (at most 1000 bytes)"]
    assert values(out) == [{"execute": "next"}]
    assert peak <= max(1000 + chunk, len(data) if chunk > len(data) else 0)


def test_oversized_top_level_token() -> None:
    out = feed_all([b"1" * 50, b"1" * 50, b' {"a": 1}'], max_size=64)
    assert errors(out) == ["JSON message size limit exceeded (at most 64 bytes)"]
    assert values(out) == [{"a": 1}]


def test_depth_limit_default_is_1024() -> None:
    ok = b"[" * 1024 + b"]" * 1024
    too_deep = b"[" * 1025 + b"]" * 1025
    out = feed_all([ok, too_deep, b'{"after": 1}'])
    assert isinstance(out[0], list)
    assert out[1:] == [DecodeError("JSON nesting depth limit exceeded"), {"after": 1}]


def test_depth_limit_configured_and_skipped_in_pieces() -> None:
    data = b'{"a": {"b": {"c": "}}}}"}}}' + b'{"ok": {"b": 1}}'
    out = feed_all([data[i : i + 3] for i in range(0, len(data), 3)], max_depth=2)
    assert out == [DecodeError("JSON nesting depth limit exceeded"), {"ok": {"b": 1}}]


def test_deep_nesting_does_not_depend_on_the_stack() -> None:
    # 1000 levels is past what json.loads manages under the default recursion limit.
    data = b'{"a": ' * 1000 + b"1" + b"}" * 1000
    (value,) = feed_all([data])
    for _ in range(1000):
        assert isinstance(value, dict)
        value = value["a"]
    assert value == 1


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        JSONStreamDecoder(max_size=0)


# --- encoding ------------------------------------------------------------------------


def test_encode_json_is_compact_ascii() -> None:
    assert encode_json({"a": ["é", 1, None]}) == '{"a":["\\u00e9",1,null]}'
    with pytest.raises(ValueError):
        encode_json(float("nan"))


# --- properties ----------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)
INTERESTING_BYTES = st.lists(
    st.sampled_from(list(b"{}[]\"'\\:,\n\r\t \x00\x01\xff\xc3\xa9ab1-")), max_size=60
).map(bytes)
ANY_BYTES = st.binary(max_size=200) | INTERESTING_BYTES


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(data=ANY_BYTES, cuts=st.lists(st.integers(min_value=0, max_value=300), max_size=8))
@example(data=b'{"a":"\\', cuts=[6])
@example(data=b"\n{", cuts=[1])
def test_any_bytes_any_chunking_never_raise_and_agree(data: bytes, cuts: list[int]) -> None:
    whole = feed_all([data], max_size=40, max_depth=4)
    assert feed_all(chunked(data, cuts), max_size=40, max_depth=4) == whole
    assert feed_all([data[i : i + 1] for i in range(len(data))], max_size=40, max_depth=4) == whole


@settings(max_examples=300)
@given(garbage=ANY_BYTES, cuts=st.lists(st.integers(min_value=0, max_value=300), max_size=5))
def test_valid_message_after_garbage_and_newline(garbage: bytes, cuts: list[int]) -> None:
    msg = b'{"execute": "query-status", "id": "after garbage"}'
    out = feed_all(chunked(garbage + b"\n" + msg, cuts))
    assert out[-1] == {"execute": "query-status", "id": "after garbage"}


@settings(max_examples=200)
@given(value=JSON_VALUES, cuts=st.lists(st.integers(min_value=0, max_value=300), max_size=5))
def test_encoded_values_decode_in_any_chunking(value: object, cuts: list[int]) -> None:
    data = (encode_json(value) + "\r\n" + json.dumps(value, ensure_ascii=False)).encode()
    if not isinstance(value, (dict, list, str)):
        data += b" "  # a top-level number or keyword ends at a delimiter
    assert feed_all(chunked(data, cuts)) == [value, value]
