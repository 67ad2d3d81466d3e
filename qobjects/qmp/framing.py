"""QMP framing: bytes in, JSON values out; JSON values in, bytes out.

QMP is a stream of JSON values, not of lines: a value may arrive split
anywhere (inside a UTF-8 sequence or an escape), several may arrive in one
read, with or without whitespace between them.  :class:`JSONStreamDecoder`
finds where each value ends by jumping between structural characters with
compiled regular expressions (no Python loop per byte), then hands the text
of each complete value to the C JSON decoder.

Input rules follow QEMU's JSON parser:

- single-quoted strings and the ``\\'`` escape are accepted (converted to
  plain JSON before decoding, and only when the value contains a ``'``);
- a value larger than ``max_size`` bytes or nested deeper than ``max_depth``
  levels is an error; the rest of that value is skipped by tracking its
  depth, without storing it;
- malformed JSON is one error, and decoding goes on with the next value;
- after a lexical error (a stray character, a control character in a
  string), input is skipped up to the next ``{``, line ending or control
  character, as QEMU does (QEMU also stops at ``[``, ``]`` and ``}``, which
  inside a broken object only leads to more errors);
- a control character other than TAB, CR and LF (or a 0xFE/0xFF byte)
  resets the decoder: a value in progress is dropped with an error (and
  input skipped as after a lexical error); between values it is ignored;
- a ``{`` at the start of a line, while a value is still open, also starts
  afresh (the open value was unbalanced garbage).  Well-formed input never
  does this: clients send a value per line or none at all, and indented JSON
  has no ``{`` in the first column below the top level.

Errors come out in order with the values, as :class:`DecodeError` items.
The result never depends on how the input was split into reads.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from _json import make_scanner
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, cast

__all__ = ["DecodeError", "JSONStreamDecoder", "encode_json"]


@dataclass(frozen=True, slots=True)
class DecodeError:
    """Input that did not decode to a JSON value.

    :ivar desc: QEMU-style description (``"JSON parse error, ..."``, ...).
    """

    desc: str


# --- the regular expressions ---------------------------------------------------------
#
# Characters that reset the parser: ASCII controls other than TAB, LF, CR, and the
# bytes 0xFE/0xFF that never occur in UTF-8.
_RESET = rb"\x00-\x08\x0b\x0c\x0e-\x1f\xfe\xff"
# Characters inside a value, outside strings, that need no attention.
_PLAIN = rb"[^\"'{}\[\]\n" + _RESET + rb"]"
# A complete double-quoted string.  Control characters are not allowed inside, not
# even escaped (QEMU's lexer stops there too).
_DQ_STRING = rb'"[^"\\\x00-\x1f\xfe\xff]*+(?:\\[^\x00-\x1f\xfe\xff][^"\\\x00-\x1f\xfe\xff]*+)*+"'
# Everything up to the next bracket, single quote, unfinished string, reset
# character, or a newline that is directly followed by ``{`` (or ends the data,
# so that the answer never depends on where reads are split).
_BODY = rb"(?:" + _PLAIN + rb"*+(?:(?:" + _DQ_STRING + rb"|\n(?=[^{]))" + _PLAIN + rb"*+)*+)"
_V1 = rb"[{\[]" + _BODY + rb"[}\]]"
_V2 = rb"[{\[]" + _BODY + rb"(?:" + _V1 + _BODY + rb")*+[}\]]"
_V3 = rb"[{\[]" + _BODY + rb"(?:" + _V2 + _BODY + rb")*+[}\]]"

_Matcher = Callable[[bytes, int], "re.Match[bytes]"]


def _always(pattern: bytes) -> _Matcher:
    """The ``match`` of *pattern*, which matches (maybe empty) everywhere."""
    return cast(_Matcher, re.compile(pattern, re.DOTALL).match)


_body: Final = _always(_BODY)
# Fast path: a complete value nested at most three levels, in one match.
_flat: Final = re.compile(_V3, re.DOTALL).match
_FLAT_DEPTH: Final = 3
# The rest of a string whose opening quote has been consumed.
_dq_rest: Final = _always(rb'[^"\\\x00-\x1f\xfe\xff]*+(?:\\[^\x00-\x1f\xfe\xff][^"\\\x00-\x1f\xfe\xff]*+)*+')
_sq_rest: Final = _always(rb"[^'\\\x00-\x1f\xfe\xff]*+(?:\\[^\x00-\x1f\xfe\xff][^'\\\x00-\x1f\xfe\xff]*+)*+")
# Between top-level values: whitespace and reset characters (a reset there is a no-op).
_between: Final = _always(rb"[\x00-\x20\xfe\xff]*+")
# A top-level token that is not a container or string: a number, a keyword, or junk.
_scalar: Final = _always(rb"[^\x00-\x20\xfe\xff{}\[\]\"',:]*+")
# Keywords end where they are spelt out, so a bare ``null`` needs no delimiter after it.
_keyword: Final = re.compile(rb"true|false|null").match
_KEYWORDS: Final[dict[bytes, object]] = {b"true": True, b"false": False, b"null": None}
# Recovery after a lexical error: skip to a '{', a line end or a reset character.
_recover: Final = _always(rb"[^{\x00-\x08\x0a-\x1f\xfe\xff]*+")
# Quote conversion: strings of either kind, and inside them escapes and bare '"'.
_any_string: Final = re.compile(rb"\"[^\"\\]*+(?:\\.[^\"\\]*+)*+\"|'[^'\\]*+(?:\\.[^'\\]*+)*+'", re.DOTALL)
_string_part: Final = re.compile(rb'\\.|"', re.DOTALL)

_DQUOTE, _SQUOTE, _NL, _BACKSLASH, _LBRACE = b"\"'\n\\{"

# Decoder states.
_TOP, _VALUE, _DQ, _SQ, _RECOVER = range(5)


def _no_constant(name: str) -> object:
    raise ValueError(f"invalid token '{name}'")


# The C scanner itself: JSONDecoder.decode() adds two regex calls and two frames.
_scan_once: Final[Callable[[str, int], tuple[object, int]]] = make_scanner(
    cast(Any, json.JSONDecoder(parse_constant=_no_constant))  # typeshed wants a make_scanner
)


def _decode(text: str) -> object:
    """Decode *text*, a JSON value with no whitespace around it.

    :raises ValueError: when it is not.
    """
    try:
        value, end = _scan_once(text, 0)
    except StopIteration as err:
        raise json.JSONDecodeError("Expecting value", text, err.value) from None
    if end != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return value


def _not_json(value: object) -> object:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# The C encoder built once: JSONEncoder.encode builds a new one on every call.
# No circular-reference markers (a shared dict could keep stale entries after
# an error); the values encoded here come from checked data.
_c_encode: Final = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
    None, _not_json, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, False
)
_encode_str: Final = json.encoder.encode_basestring_ascii
_deep_lock = threading.Lock()
# Nesting the C decoder handles under the default recursion limit, with room to spare.
_SHALLOW: Final = 200


def encode_json(value: object) -> str:
    """*value* as compact, ASCII-only JSON (QMP's output form).

    :raises TypeError: for a value JSON cannot represent.
    :raises ValueError: for NaN or infinity, or a circular structure.
    """
    if type(value) is str:
        return _encode_str(value)
    return "".join(_c_encode(value, 0))


def _requote_part(m: re.Match[bytes]) -> bytes:
    s = m[0]
    if s == b'"':
        return b'\\"'
    return b"'" if s == b"\\'" else s


def _requote_string(m: re.Match[bytes]) -> bytes:
    s = m[0]
    if s[0] == _DQUOTE and b"\\'" not in s:
        return s
    return b'"' + _string_part.sub(_requote_part, s[1:-1]) + b'"'


def _parse(raw: bytes, depth: int) -> object:
    """Decode the complete value *raw*, nested *depth* levels deep.

    :raises ValueError: when it is not valid JSON (or not UTF-8).
    :raises RecursionError: when Python cannot nest that deep.
    """
    if b"'" in raw:
        raw = _any_string.sub(_requote_string, raw)
    text = raw.decode()
    if depth <= _SHALLOW:
        return _decode(text)
    # The C decoder spends one recursion level per nesting level.
    with _deep_lock:
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(old + depth + 50)
        try:
            return _decode(text)
        finally:
            sys.setrecursionlimit(old)


class JSONStreamDecoder:
    """Split a byte stream into JSON values.

    ``feed(data)`` returns the values completed by *data*, in order, with a
    :class:`DecodeError` in place of each piece of input that was not a
    value; ``close()`` does the same at the end of the stream.

    :param max_size: the largest value accepted, in bytes.
    :param max_depth: the deepest nesting accepted (``{"a": [1]}`` is 2).
    :raises ValueError: if a limit is below 1.
    """

    __slots__ = ("_buf", "_depth", "_errored", "_maxd", "_pos", "_start", "_state", "max_depth", "max_size")

    def __init__(self, max_size: int = 1 << 20, max_depth: int = 1024) -> None:
        if max_size < 1 or max_depth < 1:
            raise ValueError("max_size and max_depth must be at least 1")
        self.max_size = max_size
        self.max_depth = max_depth
        self._buf = b""  # unconsumed input; _start and _pos index into it
        self._pos = 0  # where scanning resumes
        self._start = 0  # where the value in progress starts
        self._state = _TOP
        self._depth = 0
        self._maxd = 0  # deepest nesting seen in the value in progress
        self._errored = False  # the value in progress was reported; skip the rest

    @property
    def pending(self) -> int:
        """Bytes held back, waiting for the rest of a value."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[object]:
        """Decode what *data* completes.

        :returns: decoded values and :class:`DecodeError` items, in input order.
        """
        buf = self._buf + data if self._buf else data
        out: list[object] = []
        pos = self._pos
        start = self._start
        state = self._state
        depth = self._depth
        maxd = self._maxd
        errored = self._errored
        max_size = self.max_size
        max_depth = self.max_depth
        n = len(buf)
        append = out.append
        # Fastest path: let the C scanner find where a value ends, in ASCII input,
        # when it cannot nest deeper than max_depth without a RecursionError.
        text = buf.decode("ascii") if max_depth >= sys.getrecursionlimit() and buf.isascii() else None
        # The fast paths cannot succeed for a value that starts after the last
        # closing bracket (the usual case for a message split across reads).
        last_close = max(buf.rfind(b"}"), buf.rfind(b"]"))
        while pos < n:
            if state == _TOP:
                c = buf[pos]
                if c <= 0x20 or c >= 0xFE:
                    pos = _between(buf, pos).end()
                    if pos == n:
                        break
                    c = buf[pos]
                start = pos
                errored = False
                if c in b"{[":
                    if pos < last_close:
                        if text is not None:
                            try:
                                value, end = _scan_once(text, pos)
                            except (ValueError, StopIteration, RecursionError):
                                pass  # the slower paths below find out what is wrong
                            else:
                                # Not done if the slower paths would object.
                                if end - start <= max_size and buf.find(b"\n{", start, end) < 0:
                                    append(value)
                                    pos = end
                                    continue
                        if max_depth >= _FLAT_DEPTH:
                            m = _flat(buf, pos)
                            if m is not None:
                                pos = m.end()
                                if pos - start > max_size:
                                    append(self._too_big())
                                    continue
                                raw = buf[start:pos]
                                try:
                                    append(_decode(raw.decode()) if b"'" not in raw else _parse(raw, 3))
                                except ValueError as err:
                                    append(_parse_error(err))
                                continue
                    state = _VALUE
                    depth = maxd = 1
                    pos += 1
                elif c == _DQUOTE:
                    state = _DQ
                    depth = maxd = 0
                    pos += 1
                elif c == _SQUOTE:
                    state = _SQ
                    depth = maxd = 0
                    pos += 1
                else:
                    m = _keyword(buf, pos)
                    if m is not None:  # complete as soon as it is spelt out
                        append(_KEYWORDS[m[0]])
                        pos = m.end()
                        continue
                    end = _scalar(buf, pos).end()
                    if end == pos:
                        append(DecodeError(f"JSON parse error, stray {_quote(buf[pos : pos + 1])}"))
                        state = _RECOVER
                        pos += 1
                    elif end - pos > max_size:
                        append(self._too_big())
                        state = _RECOVER
                        pos = end
                    elif end == n:
                        break  # the token may go on in the next read
                    else:
                        try:
                            append(_parse(buf[pos:end], 0))
                        except ValueError:
                            append(DecodeError(f"JSON parse error, stray {_quote(buf[pos:end])}"))
                            state = _RECOVER
                        pos = end
            elif state == _VALUE:
                p = _body(buf, pos).end()
                if p == n:
                    pos = p
                    break
                c = buf[p]
                if c in b"{[":
                    depth += 1
                    pos = p + 1
                    if depth > maxd:
                        maxd = depth
                        if depth > max_depth and not errored:
                            errored = True
                            append(self._error(pos - start, "JSON nesting depth limit exceeded"))
                elif c in b"}]":
                    depth -= 1
                    pos = p + 1
                    if depth == 0:
                        state = _TOP
                        if not errored:
                            append(self._complete(buf, start, pos, maxd))
                elif c == _DQUOTE:
                    state = _DQ
                    pos = p + 1
                elif c == _SQUOTE:
                    state = _SQ
                    pos = p + 1
                elif c == _NL:  # followed by '{', or the last byte so far
                    if p + 1 == n:
                        pos = p
                        break
                    if not errored:
                        desc = "JSON parse error, unbalanced value before a line starting with '{'"
                        append(self._error(p + 1 - start, desc))
                    state = _RECOVER
                    pos = p + 1
                else:  # a reset character
                    if not errored:
                        desc = f"JSON parse error, stray {_quote(buf[p : p + 1])}"
                        append(self._error(p + 1 - start, desc))
                    state = _RECOVER
                    pos = p + 1
            elif state != _RECOVER:  # _DQ or _SQ
                p = (_dq_rest if state == _DQ else _sq_rest)(buf, pos).end()
                if p == n or (p + 1 == n and buf[p] == _BACKSLASH):
                    pos = p  # wait for the rest of the string (or of the escape)
                    break
                c = buf[p]
                pos = p + 1
                if c in b"\"'":
                    if depth:
                        state = _VALUE
                    else:
                        state = _TOP
                        if not errored:
                            append(self._complete(buf, start, pos, 0))
                else:  # a control character inside a string, or escaped
                    if not errored:
                        desc = f"JSON parse error, stray {_quote(buf[p:pos])} in string"
                        if c == _BACKSLASH:
                            desc = f"JSON parse error, invalid escape {_quote(buf[p : pos + 1])} in string"
                        append(self._error(pos - start, desc))
                    state = _RECOVER
            else:  # _RECOVER
                p = _recover(buf, pos).end()
                if p == n:
                    pos = p
                    break
                state = _TOP
                pos = p if buf[p] == _LBRACE else p + 1
        if state != _TOP and state != _RECOVER:
            if not errored and n - start > max_size:
                errored = True
                append(self._too_big())
            if errored:
                start = pos  # no need to keep what is skipped
            keep = start
        elif state == _TOP:
            keep = pos  # the start of a number or keyword that may go on
        else:
            keep = n
        if keep:
            buf = buf[keep:]
            pos -= keep
            start -= keep
        self._buf = buf
        self._pos = pos
        self._start = start
        self._state = state
        self._depth = depth
        self._maxd = maxd
        self._errored = errored
        return out

    def close(self) -> list[object]:
        """End the stream: decode a final number or keyword, report an unfinished value.

        The decoder is reset and can be fed again.
        """
        out: list[object] = []
        state = self._state
        if state == _TOP:
            if self._buf:
                out = self.feed(b" ")
        elif state != _RECOVER and not self._errored:
            out.append(DecodeError("JSON parse error, premature end of input"))
        self._buf = b""
        self._pos = self._start = self._depth = self._maxd = 0
        self._state = _TOP
        self._errored = False
        return out

    def _too_big(self) -> DecodeError:
        return DecodeError(f"JSON message size limit exceeded (at most {self.max_size} bytes)")

    def _error(self, size: int, desc: str) -> DecodeError:
        # An oversized value is reported as such whatever else is wrong, so that
        # the report does not depend on where reads were split.
        return self._too_big() if size > self.max_size else DecodeError(desc)

    def _complete(self, buf: bytes, start: int, end: int, depth: int) -> object:
        if end - start > self.max_size:
            return self._too_big()
        try:
            return _parse(buf[start:end], depth)
        except RecursionError:
            return DecodeError("JSON nesting depth limit exceeded")
        except ValueError as err:
            return _parse_error(err)


def _parse_error(err: ValueError) -> DecodeError:
    if isinstance(err, json.JSONDecodeError):
        return DecodeError(f"JSON parse error, {err.msg[:1].lower()}{err.msg[1:]}")
    if isinstance(err, UnicodeDecodeError):
        return DecodeError("JSON parse error, invalid UTF-8 sequence")
    return DecodeError(f"JSON parse error, {err}")


def _quote(token: bytes) -> str:
    text = "".join(
        chr(b) if 0x20 <= b < 0x7F and b != _BACKSLASH else "\\\\" if b == _BACKSLASH else f"\\x{b:02x}"
        for b in token[:40]
    )
    return f"'{text}'" + ("..." if len(token) > 40 else "")
