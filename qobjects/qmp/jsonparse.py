"""QEMU's JSON dialect, parsed exactly: the reference the fast paths must agree with.

:mod:`qobjects.qmp.framing` finds where each value ends and decodes ordinary
values with the C JSON decoder.  Whatever that decoder would read differently
from QEMU (single-quoted strings, the ``\\'`` escape, modified UTF-8, lone
surrogates and noncharacters, duplicate keys, ``0e5``) and every value that is
not valid comes here, to be decoded, or refused with the error QEMU's parser
reports first (``JSON parse error, duplicate key``, ``... expecting value``, ...).

The input is one complete value that is already known to be lexically valid
(QEMU's lexer accepted every token); the parser works without recursion, so
nesting is bounded only by the caller's depth limit.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["ParseError", "count_tokens", "parse_value", "qemu_int"]

_I64_MIN: Final = -(1 << 63)
_U64_END: Final = 1 << 64


class ParseError(ValueError):
    """A value QEMU's parser refuses; ``desc`` is QEMU's error text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.desc = f"JSON parse error, {message}"


def qemu_int(text: str) -> int | float:
    """A JSON integer as QEMU reads it: exact within 64 bits, else a double.

    QEMU keeps an integer that fits ``int64_t`` or ``uint64_t`` and turns any
    other into the nearest double (``inf`` past its range), so a long digit
    string never fails, and never costs quadratic time.
    """
    if len(text) < 19:
        return int(text)
    if len(text) <= 20:
        value = int(text)
        if _I64_MIN <= value < _U64_END:
            return value
    return float(text)


# One token of a lexically valid value, after optional whitespace.  The number
# pattern is maximal munch for QEMU's lexer (no exponent directly after a
# leading zero: "0e5" is three tokens there).
_TOKEN: Final = re.compile(
    rb"[ \t\r\n]*+(?:"
    rb"([{}\[\],:])"
    rb'|("(?:[^"\\]|\\.)*+"|\'(?:[^\'\\]|\\.)*+\')'
    rb"|(-?(?:0(?:\.[0-9]++(?:[eE][-+]?+[0-9]++)?+)?+|[1-9][0-9]*+(?:\.[0-9]++)?+(?:[eE][-+]?+[0-9]++)?+))"
    rb"|([a-z]++))",
    re.DOTALL,
)
_SPACE: Final = re.compile(rb"[ \t\r\n]*+")

_STRING, _NUMBER, _KEYWORD = "s", "n", "k"
_KEYWORDS: Final[dict[bytes, object]] = {b"true": True, b"false": False, b"null": None}


def count_tokens(data: bytes, start: int, end: int) -> int:
    """How many tokens the lexically valid ``data[start:end]`` holds."""
    return sum(1 for _ in _TOKEN.finditer(data, start, end))


def _tokens(raw: bytes) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    append = out.append
    for m in _TOKEN.finditer(raw):
        punct, string, number, keyword = m.groups()
        if punct is not None:
            append((punct.decode(), punct))
        elif string is not None:
            append((_STRING, string))
        elif number is not None:
            append((_NUMBER, number))
        else:
            append((_KEYWORD, keyword))
    return out


class _Object:
    __slots__ = ("items", "key")

    def __init__(self) -> None:
        self.items: dict[str, object] = {}
        self.key: str | None = None  # set while the member's value is parsed


def parse_value(raw: bytes) -> object:
    """Decode *raw*, one lexically valid JSON value in QEMU's dialect.

    Input that stops early (the stream ended) reads as QEMU reads it at a
    flush: ``premature EOI`` unless an earlier error comes first.

    :raises ParseError: with the first error QEMU's parser reports.
    """
    toks = _tokens(raw)
    ntoks = len(toks)
    i = 0
    stack: list[_Object | list[object]] = []  # the open containers
    while True:
        # A value starts at toks[i].
        if i >= ntoks:
            raise ParseError("premature EOI")
        kind, text = toks[i]
        i += 1
        value: object
        if kind == "{" or kind == "[":
            if i >= ntoks:
                raise ParseError("premature EOI")
            if toks[i][0] == ("}" if kind == "{" else "]"):
                i += 1
                value = {} if kind == "{" else []
            else:
                stack.append(_Object() if kind == "{" else [])
                continue
        elif kind == _STRING:
            value = _string(text)
        elif kind == _NUMBER:
            value = _number(text)
        elif kind == _KEYWORD:
            if text not in _KEYWORDS:
                raise ParseError(f"invalid keyword '{text.decode()}'")
            value = _KEYWORDS[text]
        else:
            raise ParseError("expecting value")
        # The value is complete: give it to the innermost open container,
        # closing containers as their last member completes.
        while stack:
            top = stack[-1]
            if type(top) is list:
                top.append(value)
                sep, close, what = ",", "]", "list"
            else:
                assert isinstance(top, _Object)
                if top.key is None:
                    if type(value) is not str:
                        raise ParseError("key is not a string in object")
                    if i >= ntoks:
                        raise ParseError("premature EOI")
                    if toks[i][0] != ":":
                        raise ParseError("missing : in object pair")
                    i += 1
                    top.key = value
                    break
                if top.key in top.items:
                    raise ParseError("duplicate key")
                top.items[top.key] = value
                top.key = None
                sep, close, what = ",", "}", "dict"
            if i >= ntoks:
                raise ParseError("premature EOI")
            found = toks[i][0]
            i += 1
            if found == sep:
                break
            if found != close:
                raise ParseError(f"expected separator in {what}")
            stack.pop()
            value = top if type(top) is list else top.items  # type: ignore[union-attr]
        else:
            return value


def _number(text: bytes) -> int | float:
    s = text.decode()
    if b"." in text or b"e" in text or b"E" in text:
        return float(s)
    return qemu_int(s)


# --- strings ---------------------------------------------------------------------------

_ESCAPES: Final[dict[int, str]] = {
    ord('"'): '"',
    ord("'"): "'",
    ord("\\"): "\\",
    ord("/"): "/",
    ord("b"): "\b",
    ord("f"): "\f",
    ord("n"): "\n",
    ord("r"): "\r",
    ord("t"): "\t",
}
_HEX4: Final = re.compile(rb"[0-9a-fA-F]{4}")
# Code points QEMU refuses in a string: noncharacters (surrogates never survive
# strict UTF-8 decoding, and escapes are checked one by one).
_NONCHAR: Final = re.compile(
    "[\ufdd0-\ufdef\ufffe\uffff"
    + "".join(f"{chr(p << 16 | 0xFFFE)}{chr(p << 16 | 0xFFFF)}" for p in range(1, 17))
    + "]"
)
_PLAIN_RUN: Final = re.compile(rb"[^\\]++")


def _valid_codepoint(cp: int) -> bool:
    return (
        0 <= cp <= 0x10FFFF
        and not 0xD800 <= cp <= 0xDFFF
        and not 0xFDD0 <= cp <= 0xFDEF
        and (cp & 0xFFFE) != 0xFFFE
    )


def _text(run: bytes) -> str:
    # QEMU reads modified UTF-8: an overlong two-byte NUL is a NUL, and
    # noncharacters are refused.
    try:
        text = run.replace(b"\xc0\x80", b"\x00").decode()
    except UnicodeDecodeError:
        raise ParseError("invalid UTF-8 sequence in string") from None
    if _NONCHAR.search(text):
        raise ParseError("invalid UTF-8 sequence in string")
    return text


def _string(token: bytes) -> str:
    """The text of a string token (quotes included), as QEMU's parse_string reads it."""
    body = token[1:-1]
    if b"\\" not in body:
        return _text(body)
    parts: list[str] = []
    pos = 0
    n = len(body)
    while pos < n:
        m = _PLAIN_RUN.match(body, pos)
        if m is not None:
            parts.append(_text(m[0]))
            pos = m.end()
            continue
        # body[pos] is a backslash, and the lexer saw a character after it.
        c = body[pos + 1]
        if c != ord("u"):
            if c not in _ESCAPES:
                raise ParseError("invalid escape sequence in string")
            parts.append(_ESCAPES[c])
            pos += 2
            continue
        beg = pos
        h = _HEX4.match(body, pos + 2)
        cp = int(h[0], 16) if h else -1
        pos += 6
        if 0xD800 <= cp <= 0xDBFF and body[pos : pos + 2] == b"\\u":
            low = _HEX4.match(body, pos + 2)
            trailing = int(low[0], 16) if low else -1
            if 0xDC00 <= trailing <= 0xDFFF:
                cp = 0x10000 + ((cp & 0x3FF) << 10) + (trailing & 0x3FF)
                pos += 6
            else:
                cp = -1
        if not _valid_codepoint(cp):
            # QEMU quotes what it read: the escape, cut where the token ends.
            shown = token[1 + beg : 1 + pos].decode(errors="replace")
            raise ParseError(f"{shown} is not a valid Unicode character")
        parts.append(chr(cp))
    return "".join(parts)
