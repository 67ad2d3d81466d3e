"""QMP framing: bytes in, JSON values out; JSON values in, bytes out.

QMP is a stream of JSON values, not of lines: a value may arrive split
anywhere (inside a UTF-8 sequence or an escape), several may arrive in one
read, with or without whitespace between them.  :class:`JSONStreamDecoder`
splits the stream exactly where QEMU's JSON streamer does:

- a lexer reads tokens (QEMU's dialect: single-quoted strings and the
  ``\\'`` escape are accepted); the value ends when its ``{``/``}`` and
  ``[``/``]`` counts balance, or when either count drops below zero.  Line
  ends mean nothing: a line that begins with ``{`` inside an open value is
  part of that value;
- a lexical error (a character no token starts with, such as a control
  character, 0xFE/0xFF or a capital letter, a control character inside a
  string, a malformed number) is reported as ``JSON parse error, stray
  '...'``, drops the value in progress, and input is skipped up to the next
  ``{`` ``}`` ``[`` ``]`` ``:`` ``,`` or control character other than TAB;
- a complete value QEMU's parser refuses is one error with QEMU's text
  (``JSON parse error, duplicate key``, ``... expecting value``, ...); an
  integer beyond 64 bits becomes a float, as QEMU makes it a double;
- three limits, QEMU's by default: ``max_size`` bytes in a value,
  ``max_tokens`` tokens in a value, ``max_depth`` levels of nesting.  Past
  one, the value is one error and the rest of it is skipped by counting
  brackets (QEMU would parse the rest as new input, so a value past a limit
  could smuggle the values it contains; a lexical error still resynchronises).

Ordinary values go through compiled regular expressions and the C JSON
decoder; anything that decoder would read differently from QEMU is decoded by
:mod:`qobjects.qmp.jsonparse`.  Errors come out in order with the values, as
:class:`DecodeError` items, and nothing depends on how the input was split
into reads.
"""

from __future__ import annotations

import json
import re
from _json import make_scanner
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, cast

from qobjects.qmp.jsonparse import ParseError, count_tokens, parse_value, qemu_int

__all__ = ["DecodeError", "JSONStreamDecoder", "encode_json"]

#: QEMU's limits (``qobject/json-streamer.c``), the defaults of :class:`JSONStreamDecoder`.
MAX_SIZE: Final = 64 << 20
MAX_TOKENS: Final = 2 << 20
MAX_DEPTH: Final = 1024


@dataclass(frozen=True, slots=True)
class DecodeError:
    """Input that did not decode to a JSON value.

    :ivar desc: QEMU's description (``"JSON parse error, ..."``, ...).
    """

    desc: str


# --- the lexer -------------------------------------------------------------------------
#
# A run of tokens that need no attention inside a value: whitespace, commas,
# colons, complete strings, and numbers and keywords followed by a character that
# ends them.  Brackets, anything unusual and anything cut by the end of the data
# stop it.
_STR_DQ = rb'"(?:[^"\\\x00-\x1f\xfe\xff]++|\\[\x20-\xfd])*+"'
_STR_SQ = rb"'(?:[^'\\\x00-\x1f\xfe\xff]++|\\[\x20-\xfd])*+'"
_NUM = rb"-?+(?:[1-9][0-9]*+(?:\.[0-9]++)?+(?:[eE][-+]?+[0-9]++)?+|0(?:\.[0-9]++(?:[eE][-+]?+[0-9]++)?+)?+)"
_RUN_RE = re.compile(
    rb"(?:[ \t\r\n,:]++|"
    + _STR_DQ
    + rb"|"
    + _STR_SQ
    + rb"|"
    + _NUM
    + rb"(?=[^0-9.eE+\-])|[a-z]++(?=[^a-z]))*+",
    re.DOTALL,
)

_Matcher = Callable[..., "re.Match[bytes]"]


def _always(pattern: bytes) -> _Matcher:
    """The ``match`` of *pattern*, which matches (maybe empty) everywhere."""
    return cast(_Matcher, re.compile(pattern, re.DOTALL).match)


_run: Final = cast(_Matcher, _RUN_RE.match)
_space: Final = _always(rb"[ \t\r\n]*+")
_dq_rest: Final = _always(rb'(?:[^"\\\x00-\x1f\xfe\xff]++|\\[\x20-\xfd])*+')
_sq_rest: Final = _always(rb"(?:[^'\\\x00-\x1f\xfe\xff]++|\\[\x20-\xfd])*+")
_digits: Final = _always(rb"[0-9]*+")
_letters: Final = _always(rb"[a-z]*+")
# After a lexical error: skip to a structural character, or a control character
# other than TAB, or 0xFE/0xFF.
_recover: Final = _always(rb"[^\x00-\x08\x0a-\x1f\xfe\xff\[\]{}:,]*+")

# Partial-token states of the lexer (0: between tokens).
_L_START, _L_DQ, _L_SQ, _L_SIGN, _L_ZERO, _L_DIGITS = 1, 2, 3, 4, 5, 6
_L_MANT, _L_MANT_D, _L_EXP_E, _L_EXP_S, _L_EXP_D, _L_WORD = 7, 8, 9, 10, 11, 12
# States in which the token read so far is complete if the input ends.
_L_FINAL: Final = frozenset({_L_ZERO, _L_DIGITS, _L_MANT_D, _L_EXP_D, _L_WORD})
_DONE, _ERROR = 0, -1
_DIGIT: Final = frozenset(b"0123456789")
_EXP: Final = frozenset(b"eE")
_SPACE_BYTES: Final = frozenset(b" \t\r\n")
_DQUOTE, _SQUOTE, _BACKSLASH = b"\"'\\"


def _lex(buf: bytes, pos: int, n: int, state: int) -> tuple[int, int]:
    """Go on with the token in *state* at ``buf[pos]``, as QEMU's lexer does.

    :returns: ``(_DONE, end)`` for a complete token, ``(_ERROR, end)`` for a
        lexical error (the bad character consumed), or ``(state, resume)``
        when the data ends first.
    """
    while True:
        if state in (_L_DQ, _L_SQ):
            end = (_dq_rest if state == _L_DQ else _sq_rest)(buf, pos).end()
            if end == n:
                return state, end
            c = buf[end]
            if c == (_DQUOTE if state == _L_DQ else _SQUOTE):
                return _DONE, end + 1
            if c == _BACKSLASH:
                return (state, end) if end + 1 == n else (_ERROR, end + 2)
            return _ERROR, end + 1
        if state in (_L_DIGITS, _L_MANT_D, _L_EXP_D, _L_WORD):
            pos = (_letters if state == _L_WORD else _digits)(buf, pos).end()
        if pos == n:
            return state, n
        c = buf[pos]
        if state == _L_START:
            if c == _DQUOTE:
                state = _L_DQ
            elif c == _SQUOTE:
                state = _L_SQ
            elif c == 0x2D:  # '-'
                state = _L_SIGN
            elif c == 0x30:
                state = _L_ZERO
            elif c in _DIGIT:
                state = _L_DIGITS
            elif 0x61 <= c <= 0x7A:
                state = _L_WORD
            else:
                return _ERROR, pos + 1
        elif state == _L_SIGN:
            if c not in _DIGIT:
                return _ERROR, pos + 1
            state = _L_ZERO if c == 0x30 else _L_DIGITS
        elif state == _L_ZERO:
            if c in _DIGIT:
                return _ERROR, pos + 1
            if c != 0x2E:
                return _DONE, pos
            state = _L_MANT
        elif state == _L_DIGITS:
            if c == 0x2E:
                state = _L_MANT
            elif c in _EXP:
                state = _L_EXP_E
            else:
                return _DONE, pos
        elif state in (_L_MANT, _L_EXP_S):
            if c not in _DIGIT:
                return _ERROR, pos + 1
            state = _L_MANT_D if state == _L_MANT else _L_EXP_D
        elif state == _L_MANT_D:
            if c not in _EXP:
                return _DONE, pos
            state = _L_EXP_E
        elif state == _L_EXP_E:
            if c == 0x2B or c == 0x2D:
                state = _L_EXP_S
            elif c in _DIGIT:
                state = _L_EXP_D
            else:
                return _ERROR, pos + 1
        else:  # _L_EXP_D, _L_WORD: the character ends the token
            return _DONE, pos
        pos += 1


def _stray(token: bytes) -> DecodeError:
    # QEMU prints the token as a C string: it ends at a NUL.
    text = token.split(b"\x00", 1)[0].decode(errors="replace")
    if len(text) > 64:
        text = text[:64] + "..."
    return DecodeError(f"JSON parse error, stray '{text}'")


# --- decoding complete values -----------------------------------------------------------


def _no_constant(name: str) -> object:
    raise ValueError(f"invalid token '{name}'")


def _unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
    d = dict(pairs)
    if len(d) != len(pairs):
        raise ValueError("duplicate key")
    return d


# The C scanner itself: JSONDecoder.decode() adds two regex calls and two frames.
# Integers are Python's (a hook per integer would cost a third of the time);
# one QEMU reads as a double makes the value go to the exact parser.
_scan: Final[Callable[[str, int], tuple[object, int]]] = make_scanner(
    cast(Any, json.JSONDecoder(parse_constant=_no_constant))
)
_I64_MIN: Final = -(1 << 63)
_U64_END: Final = 1 << 64
_scan_unique: Final[Callable[[str, int], tuple[object, int]]] = make_scanner(
    cast(Any, json.JSONDecoder(parse_constant=_no_constant, parse_int=qemu_int, object_pairs_hook=_unique))
)
# Where the C decoder and QEMU may disagree on valid JSON: escapes of surrogates
# and noncharacters, "0e5" (an exponent straight after a leading zero).
_bad_escape: Final = re.compile(r"\\u(?:[dD][89a-fA-F]|[fF][dD][dDeE]|[fF]{3}[eEfF])").search
_zero_exp: Final = re.compile(r'"(?:[^"\\]|\\.)*+"|(?<![0-9.])(-?0[eE])', re.DOTALL).finditer
_NONCHAR_UTF8: Final = re.compile(
    rb"\xef\xb7[\x90-\xaf]|\xef\xbf[\xbe\xbf]|[\xf0-\xf4][\x8f\x9f\xaf\xbf]\xbf[\xbe\xbf]"
)


class _Disagree(Exception):
    """The C decoder read a value differently from QEMU."""


# Digits as "0" and "E" as "e": "0e" is then any exponent, and 19 zeros an integer
# that may not fit 64 bits.
_NUMERIC: Final = bytes.maketrans(b"123456789E", b"000000000e")
_LONG_INT: Final = b"0" * 19


def _suspicious(buf: bytes) -> bool:
    """Whether the C decoder may read a value in *buf* otherwise than QEMU:
    escapes (surrogates, noncharacters), exponents (``0e5``), long integers."""
    if b"\\u" in buf:
        return True
    numeric = buf.translate(_NUMERIC)
    return b"0e" in numeric or _LONG_INT in numeric


def _members(value: object) -> int:
    """How many members the objects in *value* (a dict or list) have, nested ones included.

    A loop over a stack, not recursion: values may nest as deep as the
    framing allows, beyond Python's recursion limit.

    :raises _Disagree: for an integer QEMU reads as a double.
    """
    n = 0
    stack = [value]
    while stack:
        top = stack.pop()
        if type(top) is dict:
            n += len(top)
            items = top.values()
        else:
            items = top  # type: ignore[assignment]
        for v in items:
            t = type(v)
            if t is dict or t is list:
                if v:
                    stack.append(v)
            elif t is int and not _I64_MIN <= v < _U64_END:
                raise _Disagree
    return n


def _agrees(text: str, start: int, end: int, value: object, suspect: bool) -> bool:
    """Whether *value*, decoded by the C decoder from ``text[start:end]``, is what QEMU reads.

    The C decoder keeps the last of duplicate keys, accepts escapes of
    surrogates and noncharacters, and reads ``0e5``: all errors for QEMU;
    and it keeps integers QEMU reads as doubles.
    """
    if suspect and (
        _bad_escape(text, start, end) is not None or any(m[1] for m in _zero_exp(text, start, end))
    ):
        return False
    try:
        keys = _members(value if type(value) in (dict, list) else [value])
    except _Disagree:
        return False
    colons = text.count(":", start, end)
    if keys == colons:
        return True  # as many members as colons: no key was dropped
    if not suspect:  # no escapes: the colons of the text are in its strings or between members
        return keys + _string_colons(value) == colons
    try:
        _scan_unique(text, start)
    except ValueError:
        return False  # a duplicate key
    return True


def _string_colons(value: object) -> int:
    """How many colons the strings (keys included) in *value* hold."""
    if type(value) is str:
        return value.count(":")
    n = 0
    if type(value) is dict:
        for k, v in value.items():
            if ":" in k:
                n += k.count(":")
            if type(v) is str:
                if ":" in v:
                    n += v.count(":")
            elif type(v) is dict or type(v) is list:
                n += _string_colons(v)
    elif type(value) is list:
        for v in value:
            if type(v) is str:
                if ":" in v:
                    n += v.count(":")
            elif type(v) is dict or type(v) is list:
                n += _string_colons(v)
    return n


# Single quotes: strings of either kind, and inside them escapes and bare '"'.
_any_string: Final = re.compile(rb"\"[^\"\\]*+(?:\\.[^\"\\]*+)*+\"|'[^'\\]*+(?:\\.[^'\\]*+)*+'", re.DOTALL)
_string_part: Final = re.compile(rb'\\.|"', re.DOTALL)


def _requote_part(m: re.Match[bytes]) -> bytes:
    part = m[0]
    if part == b'"':
        return b'\\"'
    return b"'" if part == b"\\'" else part


def _requote_string(m: re.Match[bytes]) -> bytes:
    string = m[0]
    if string[0] == 0x22 and b"\\'" not in string:
        return string
    return b'"' + _string_part.sub(_requote_part, string[1:-1]) + b'"'


def _decode(raw: bytes) -> object:
    """The complete, lexically valid value *raw* as QEMU reads it, or its error."""
    try:
        # Strings in single quotes, or with the \' escape, in the form the C decoder reads.
        text = (_any_string.sub(_requote_string, raw) if b"'" in raw else raw).decode()
        value, end = _scan(text, 0)
    except (ValueError, StopIteration, RecursionError):
        pass  # the exact parser says what is wrong
    else:
        suspect = _suspicious(raw)
        if (
            end == len(text)
            and (raw.isascii() or not _NONCHAR_UTF8.search(raw))
            and _agrees(text, 0, end, value, suspect)
        ):
            return value
    try:
        return parse_value(raw)
    except ParseError as err:
        return DecodeError(err.desc)


def _not_json(value: object) -> object:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# The C encoder built once: JSONEncoder.encode builds a new one on every call.
# No circular-reference markers (a shared dict could keep stale entries after
# an error); the values encoded here come from checked data.
_c_encode: Final = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
    None, _not_json, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, False
)
_encode_str: Final = json.encoder.encode_basestring_ascii

# In the encoder's output (lowercase hex): an escaped backslash, to step over;
# a surrogate pair; an escape QEMU's parser refuses (a lone surrogate, U+FDD0
# to U+FDEF, U+FFFE, U+FFFF).
_SUSPECT_ESCAPE: Final = re.compile(
    r"(\\\\)|\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})|\\u(?:d[89a-f][0-9a-f]{2}|fd[de][0-9a-f]|fff[ef])"
)


def _replace_invalid(m: re.Match[str]) -> str:
    if m[1] is not None:
        return m[1]
    if m[2] is not None:
        cp = 0x10000 + ((int(m[2], 16) & 0x3FF) << 10) + (int(m[3], 16) & 0x3FF)
        if cp & 0xFFFE != 0xFFFE:
            return m[0]
    return "\\ufffd"


def encode_json(value: object) -> str:
    """*value* as compact, ASCII-only JSON (QMP's output form).

    As QEMU's JSON writer does, a character its parser refuses (a lone
    surrogate or a noncharacter such as U+FFFE) is written as U+FFFD, so that
    every output is input QEMU, and this module, accept.

    :raises TypeError: for a value JSON cannot represent.
    :raises ValueError: for NaN or infinity, or a circular structure.
    """
    out: str = _encode_str(value) if type(value) is str else "".join(_c_encode(value, 0))
    if "\\ud" in out or "\\uf" in out:
        return _SUSPECT_ESCAPE.sub(_replace_invalid, out)
    return out


# --- the stream -----------------------------------------------------------------------

# Decoder modes.
_TOP, _VALUE, _SKIP, _RECOVER = range(4)
_OPEN: Final = frozenset(b"{[")
_CLOSE: Final = frozenset(b"}]")
_LBRACE, _RBRACE, _LBRACKET, _RBRACKET = 0x7B, 0x7D, 0x5B, 0x5D


class JSONStreamDecoder:
    """Split a byte stream into JSON values, as QEMU's JSON streamer does.

    ``feed(data)`` returns the values completed by *data*, in order, with a
    :class:`DecodeError` in place of each piece of input that was not a
    value; ``close()`` does the same at the end of the stream.

    :param max_size: the most bytes a value may have (whitespace included).
    :param max_depth: the deepest nesting accepted (``{"a": [1]}`` is 2).
    :param max_tokens: the most tokens a value may have (``{"a": [1]}`` has 7).
    :raises ValueError: if a limit is below 1.
    """

    __slots__ = (
        "_braces",
        "_brackets",
        "_buf",
        "_lex",
        "_mode",
        "_ntok",
        "_pos",
        "_quick",
        "_start",
        "_tok",
        "_tried",
        "max_depth",
        "max_size",
        "max_tokens",
    )

    def __init__(
        self, max_size: int = MAX_SIZE, max_depth: int = MAX_DEPTH, max_tokens: int = MAX_TOKENS
    ) -> None:
        for name, limit in (("max_size", max_size), ("max_depth", max_depth), ("max_tokens", max_tokens)):
            if limit < 1:
                raise ValueError(f"{name} must be at least 1, not {limit}")
        self.max_size = max_size
        self.max_depth = max_depth
        self.max_tokens = max_tokens
        # A value this short is within every limit (depth d takes 2d bytes).
        self._quick = min(max_size, max_tokens, 2 * max_depth)
        self._reset()

    def _reset(self) -> None:
        self._buf = b""  # unconsumed input; the positions below index into it
        self._pos = 0  # where scanning resumes
        self._start = 0  # where the value in progress starts
        self._tok = 0  # where the token in progress starts
        self._mode = _TOP
        self._lex = 0  # the lexer state of the token in progress, 0 for none
        self._braces = self._brackets = 0
        self._ntok = -1  # tokens of the value so far, once it is long enough to count
        self._tried = False  # whether the C decoder was tried on the value in progress

    @property
    def pending(self) -> int:
        """Bytes held back, waiting for the rest of a value."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[object]:
        """Decode what *data* completes.

        :returns: decoded values and :class:`DecodeError` items, in input order.
        """
        if (
            data
            and data[0] in _OPEN
            and not self._buf
            and self._mode == _TOP
            and not self._lex
            and data.isascii()
        ):
            # The usual case: between values, a read that starts with one.  Nothing
            # of the decoder's state is looked at unless a value is left unfinished.
            text = data.decode("ascii")
            n = len(data)
            last_close = n - 1 if data[-1] in _CLOSE else max(data.rfind(b"}"), data.rfind(b"]"))
            if last_close < 0:  # a value begins, none ends
                return self._feed(data)
            out: list[object] = []
            pos = self._fast(data, text, 0, last_close, _suspicious(data), out)
            if pos < n and _space(data, pos).end() < n:
                out += self._feed(data[pos:])
            return out
        return self._feed(data)

    def _feed(self, data: bytes) -> list[object]:
        buf = self._buf + data if self._buf else data
        n = len(buf)
        out: list[object] = []
        append = out.append
        pos = self._pos
        start = self._start
        tok = self._tok
        mode = self._mode
        lex = self._lex
        braces = self._braces
        brackets = self._brackets
        ntok = self._ntok
        max_size = self.max_size
        max_tokens = self.max_tokens
        max_depth = self.max_depth
        text: str | None = None  # buf as ASCII text, for the C decoder's fast path
        suspect = False
        last_close = -2  # the last closing bracket in buf, -2 until looked for
        slow = -1  # where the fast path last stopped
        tried = self._tried
        if mode == _VALUE and not tried and (b"}" in data or b"]" in data) and buf.isascii():
            # A value that arrived in pieces may be complete now: the C decoder
            # reads it whole, once (each later read is scanned as usual).
            tried = True
            last_close = max(buf.rfind(b"}"), buf.rfind(b"]"))
            text = buf.decode("ascii")
            suspect = _suspicious(buf)
            end = self._fast(buf, text, start, last_close, suspect, out)
            if end != start:
                pos = slow = end
                mode = _TOP
                lex = 0
        while pos < n:
            if lex:
                code, end = _lex(buf, pos, n, lex)
                if code > 0:  # the data ends inside the token
                    lex = code
                    pos = end
                    break
                lex = 0
                if code == _ERROR:
                    if (mode == _VALUE and end - start > max_size) or (mode == _TOP and end - tok > max_size):
                        append(self._too_big())
                    append(_stray(buf[tok:end]))
                    mode = _RECOVER
                    pos = end
                    continue
                pos = end
                if mode == _TOP:  # a scalar at the top level is a value
                    append(self._too_big() if end - tok > max_size else _decode(buf[tok:end]))
                elif mode == _VALUE and ntok >= 0:
                    ntok += 1
                    if self._over(out, end - start, ntok, 0):
                        mode = _SKIP
                elif mode == _SKIP and braces == brackets == 0:
                    mode = _TOP  # the end of a skipped top-level scalar
                continue
            if mode == _TOP:
                c = buf[pos]
                if c in _SPACE_BYTES:
                    pos = _space(buf, pos).end()
                    continue
                if c not in _OPEN:
                    if c in _CLOSE or c == 0x2C or c == 0x3A:  # '}' ']' ',' ':'
                        append(DecodeError("JSON parse error, expecting value"))
                        pos += 1
                    else:
                        tok = pos
                        lex = _L_START
                        braces = brackets = 0
                    continue
                if last_close == -2:
                    last_close = max(buf.rfind(b"}"), buf.rfind(b"]"))
                    if buf.isascii():
                        text = buf.decode("ascii")
                        suspect = _suspicious(buf)
                if pos < last_close and text is not None and pos != slow:
                    end = self._fast(buf, text, pos, last_close, suspect, out)
                    if end != pos:
                        pos = slow = end
                        continue
                start = pos
                mode = _VALUE
                tried = False
                ntok = -1
                if c == _LBRACE:
                    braces, brackets = 1, 0
                else:
                    braces, brackets = 0, 1
                pos += 1
                continue
            if mode == _RECOVER:
                pos = _recover(buf, pos).end()
                if pos < n:
                    mode = _TOP
                continue
            # Inside a value (_VALUE), or skipping one (_SKIP).
            if mode == _VALUE and pos - start < max_tokens:
                # The usual case, bracket to bracket; anything else goes on below.
                endpos = n if n - start < max_tokens else start + max_tokens
                while True:
                    p = _run(buf, pos, endpos).end()
                    if p == n:
                        break
                    c = buf[p]
                    if c == _LBRACE:
                        braces += 1
                    elif c == _LBRACKET:
                        brackets += 1
                    elif c == _RBRACE:
                        braces -= 1
                    elif c == _RBRACKET:
                        brackets -= 1
                    else:
                        break
                    pos = p + 1
                    if c in (_LBRACE, _LBRACKET):
                        if (braces + brackets > max_depth or pos - start > max_size) and self._over(
                            out, pos - start, -1, braces + brackets
                        ):
                            mode = _SKIP
                            break
                    elif braces < 0 or brackets < 0 or braces == brackets == 0:
                        if not (pos - start > max_size and self._over(out, pos - start, -1, 0)):
                            append(_decode(buf[start:pos]))
                        mode = _TOP
                        break
                if p == n:
                    pos = n
                    break
                if mode != _VALUE:
                    continue
                pos = p
            counting = mode == _VALUE and pos - start >= max_tokens
            if counting:
                if ntok < 0:
                    ntok = count_tokens(buf, start, pos)
                    if self._over(out, pos - start, ntok, 0):
                        mode = _SKIP
                        continue
                p = _space(buf, pos).end()
            elif mode == _VALUE:
                p = _run(buf, pos, n if n - start < max_tokens else start + max_tokens).end()
            else:
                p = _run(buf, pos).end()
            if p == n:
                pos = p
                break
            c = buf[p]
            pos = p + 1
            if c in _OPEN:
                if c == _LBRACE:
                    braces += 1
                else:
                    brackets += 1
                if mode == _VALUE:
                    if counting:
                        ntok += 1
                    if (
                        braces + brackets > max_depth or pos - start > max_size or ntok > max_tokens
                    ) and self._over(out, pos - start, ntok, braces + brackets):
                        mode = _SKIP
            elif c in _CLOSE:
                if mode == _SKIP:
                    if c == _RBRACE:
                        braces = max(braces - 1, 0)
                    else:
                        brackets = max(brackets - 1, 0)
                    if braces == brackets == 0:
                        mode = _TOP
                    continue
                if c == _RBRACE:
                    braces -= 1
                else:
                    brackets -= 1
                if counting:
                    ntok += 1
                if (pos - start > max_size or ntok > max_tokens) and self._over(out, pos - start, ntok, 0):
                    mode = _SKIP if braces > 0 or brackets > 0 else _TOP
                elif braces < 0 or brackets < 0 or braces == brackets == 0:
                    append(_decode(buf[start:pos]))
                    mode = _TOP
            elif c == 0x2C or c == 0x3A:  # ',' ':' (the run leaves them only when counting)
                if counting:
                    ntok += 1
                    if self._over(out, pos - start, ntok, 0):
                        mode = _SKIP
            elif c in _SPACE_BYTES:
                pass
            else:  # a token the run did not take
                tok = p
                lex = _L_START
                pos = p
        # Keep what the next read needs, and no more.
        if mode == _VALUE and n - start > max_size:
            append(self._too_big())
            mode = _SKIP
        if mode == _VALUE:
            keep = start
        elif lex:
            if mode == _SKIP or (mode == _TOP and n - tok > max_size):
                if mode == _TOP:
                    append(self._too_big())
                    mode = _SKIP
                tok = pos  # no need to keep what is skipped
            keep = tok
        else:
            keep = pos
        if keep:
            buf = buf[keep:]
            pos -= keep
            start -= keep
            tok -= keep
        self._buf = buf
        self._pos = pos
        self._start = start
        self._tok = tok
        self._mode = mode
        self._lex = lex
        self._braces = braces
        self._brackets = brackets
        self._ntok = ntok
        self._tried = tried
        return out

    def _fast(
        self,
        buf: bytes,
        text: str,
        pos: int,
        last_close: int,
        suspect: bool,
        out: list[object],
    ) -> int:
        """Decode values at *pos* with the C decoder, for as long as it agrees with QEMU.

        Each value's members are counted; when the count of colons in the
        stretch decoded differs, a value may have lost a duplicate key, and
        the values are checked one by one (with *check*, each at once).

        :returns: where it stopped: at what is not a value, or at a value the
            caller must read token by token.
        """
        append = out.append
        quick = self._quick
        first = len(out)
        begin = pos
        total = 0
        spans: list[tuple[int, int, int]] = []  # each value's start, end and members
        check = suspect
        while True:
            try:
                value, end = _scan(text, pos)
            except (ValueError, StopIteration, RecursionError):
                break
            if end - pos > quick and not self._within(buf, text, pos, end):
                break
            if check:
                if not _agrees(text, pos, end, value, suspect):
                    break
                keys = 0
            else:
                try:
                    if type(value) is dict:
                        # The members of the value and of its arguments: usually all there is.
                        keys = len(value)
                        arguments = value.get("arguments")
                        if type(arguments) is dict:
                            keys += len(arguments)
                    else:
                        keys = _members(value)
                except _Disagree:
                    break
            total += keys
            spans.append((pos, end, keys))
            append(value)
            pos = end
            if pos >= last_close:
                break
            c = buf[pos]
            if c in _SPACE_BYTES:
                pos = _space(buf, pos).end()
                c = buf[pos]
            if c not in _OPEN:
                break
        if not check and total != text.count(":", begin, pos):
            # Some value has more colons than the members counted so far: count all
            # its members, and (no escapes here) the colons of its strings.
            for i, (start, end, keys) in enumerate(spans):
                colons = text.count(":", start, end)
                if keys == colons:
                    continue
                value = out[first + i]
                keys = _members(value)
                if keys != colons and keys + _string_colons(value) != colons:
                    del out[first + i :]
                    return start
        return pos

    def _within(self, buf: bytes, text: str, start: int, end: int) -> bool:
        """Whether the complete value ``buf[start:end]`` is within every limit."""
        return (
            end - start <= self.max_size
            and (end - start <= self.max_tokens or count_tokens(buf, start, end) <= self.max_tokens)
            and text.count("[", start, end) + text.count("{", start, end) <= self.max_depth
        )

    def close(self) -> list[object]:
        """End the stream: finish a final token, report an unfinished value.

        The decoder is reset and can be fed again.
        """
        out: list[object] = []
        buf = self._buf
        n = len(buf)
        mode = self._mode
        if self._lex:
            tok = self._tok
            if self._lex not in _L_FINAL:
                out.append(_stray(buf[tok:n]))
                mode = _RECOVER
            elif mode == _TOP:
                out.append(_decode(buf[tok:n]))
        if mode == _VALUE:
            try:
                parse_value(buf[self._start : n])
            except ParseError as err:
                out.append(DecodeError(err.desc))
        self._reset()
        return out

    def _too_big(self) -> DecodeError:
        return DecodeError(
            f"JSON token size limit exceeded (a message may have at most {self.max_size} bytes)"
        )

    def _over(self, out: list[object], size: int, ntok: int, depth: int) -> bool:
        """Report the first limit the value in progress is over, in QEMU's order."""
        if size > self.max_size:
            out.append(self._too_big())
        elif ntok > self.max_tokens:
            out.append(DecodeError(f"JSON token count limit exceeded (at most {self.max_tokens} tokens)"))
        elif depth > self.max_depth:
            out.append(DecodeError(f"JSON nesting depth limit exceeded (at most {self.max_depth} levels)"))
        else:
            return False
        return True
