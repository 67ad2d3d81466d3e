"""The shell's input: one line, as QEMU's ``qmp-shell`` takes it, or raw JSON."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

__all__ = [
    "Builtin",
    "ConnectSignal",
    "DisconnectSignal",
    "Execute",
    "InputError",
    "Request",
    "parse_line",
    "parse_value",
    "split_words",
]


class InputError(ValueError):
    """A line the shell cannot understand (the message says why)."""


# --- input -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Execute:
    """Run *command* with *arguments*."""

    command: str
    arguments: dict[str, object]


@dataclass(frozen=True, slots=True)
class ConnectSignal:
    """``connect SIGNAL HANDLE``."""

    signal: str
    owner: object


@dataclass(frozen=True, slots=True)
class DisconnectSignal:
    """``disconnect ID``."""

    connection: int


@dataclass(frozen=True, slots=True)
class Builtin:
    """``help`` or ``quit``."""

    name: str


Request = Execute | ConnectSignal | DisconnectSignal | Builtin


def split_words(text: str) -> list[str]:
    """Split *text* at blanks outside quotes, brackets and braces.

    :raises InputError: an unterminated quote.
    """
    words: list[str] = []
    cur: list[str] = []
    depth = 0
    quote: str | None = None
    escape = False
    for ch in text:
        if quote is not None:
            cur.append(ch)
            if escape:
                escape = False
            elif ch == "\\":
                escape = True
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            cur.append(ch)
        elif ch.isspace() and depth <= 0:
            if cur:
                words.append("".join(cur))
                cur = []
        else:
            if ch in "[{":
                depth += 1
            elif ch in "]}":
                depth -= 1
            cur.append(ch)
    if quote is not None:
        raise InputError(f"unterminated {quote} in {text.strip()!r}")
    if cur:
        words.append("".join(cur))
    return words


def parse_value(text: str) -> object:
    """A value as JSON if it parses as JSON, else the string itself.

    ``'...'`` is a string without JSON escapes.

    :raises InputError: text that starts like a JSON array, object or string but is not one.
    """
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1]
    try:
        value = json.loads(text)
    except ValueError:
        if text[:1] in ('"', "[", "{"):
            raise InputError(f"bad JSON value {text!r}") from None
        return text
    if isinstance(value, float) and not math.isfinite(value):
        return text  # NaN and Infinity are not JSON
    return value


def parse_line(line: str) -> Request | None:
    """What one input line asks for; None for a blank line or a ``#`` comment.

    :raises InputError: the line cannot be understood.
    """
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    if text.startswith("{"):
        return _parse_json(text)
    words = split_words(text)
    name, rest = words[0], words[1:]
    if name == "connect":
        if len(rest) != 2:
            raise InputError("usage: connect SIGNAL HANDLE (e.g. connect IO_ERROR ide0-hd0)")
        return ConnectSignal(rest[0], parse_value(rest[1]))
    if name == "disconnect":
        if len(rest) != 1 or not rest[0].isdigit():
            raise InputError("usage: disconnect ID (the number connect printed)")
        return DisconnectSignal(int(rest[0]))
    if name in ("help", "quit", "exit"):
        if rest:
            raise InputError(f"{name} takes no arguments")
        return Builtin("quit" if name == "exit" else name)
    arguments: dict[str, object] = {}
    for word in rest:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise InputError(f"expected ARG=VALUE, got {word!r}")
        _put(arguments, key, parse_value(value))
    return Execute(name, arguments)


def _parse_json(text: str) -> Execute:
    try:
        msg = json.loads(text)
    except ValueError as err:
        raise InputError(f"bad JSON: {err}") from None
    if not isinstance(msg, dict) or not isinstance(msg.get("execute"), str):
        raise InputError('raw JSON must be {"execute": COMMAND, "arguments": {...}}; '
                         "use the connect and disconnect shorthands for signals")
    unknown = sorted(set(msg) - {"execute", "arguments", "id"})
    if unknown:
        raise InputError(f"unexpected key {unknown[0]!r} (the shell sets 'id' itself)")
    arguments = msg.get("arguments", {})
    if not isinstance(arguments, dict):
        raise InputError("'arguments' must be a JSON object")
    return Execute(msg["execute"], arguments)


def _put(arguments: dict[str, object], key: str, value: object) -> None:
    *path, last = key.split(".")
    where = arguments
    for part in path:
        inner = where.setdefault(part, {})
        if not isinstance(inner, dict):
            raise InputError(f"{key!r}: {part!r} is already a value")
        where = inner
    if last in where:
        raise InputError(f"argument {key!r} given twice")
    where[last] = value


# --- what the server speaks ------------------------------------------------------------
