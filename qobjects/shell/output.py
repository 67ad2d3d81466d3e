"""Where the shell's results go: JSON lines for scripts, coloured text for people."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from prompt_toolkit.output import Output

__all__ = ["JsonPrinter", "PrettyPrinter", "Printer", "pretty"]


class Printer(Protocol):
    """Where the shell's results go."""

    def reply(self, value: object) -> None: ...
    def error(self, error_class: str, desc: str) -> None: ...
    def event(self, name: str, data: object, timestamp: tuple[int, int]) -> None: ...
    def signal(self, name: str, owner: object, connection: int, data: dict[str, object]) -> None: ...
    def connected(self, connection: int, signal: str, owner: object) -> None: ...
    def info(self, text: str) -> None: ...
    def help(self, text: str, data: dict[str, object]) -> None: ...


class JsonPrinter:
    """One JSON object a line, in QMP's own shapes, for scripts."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def _line(self, msg: object) -> None:
        self.out.write(json.dumps(msg) + "\n")
        self.out.flush()

    def reply(self, value: object) -> None:
        self._line({"return": value})

    def error(self, error_class: str, desc: str) -> None:
        self._line({"error": {"class": error_class, "desc": desc}})

    def event(self, name: str, data: object, timestamp: tuple[int, int]) -> None:
        msg: dict[str, object] = {"event": name}
        if data is not None:
            msg["data"] = data
        msg["timestamp"] = {"seconds": timestamp[0], "microseconds": timestamp[1]}
        self._line(msg)

    def signal(self, name: str, owner: object, connection: int, data: dict[str, object]) -> None:
        self._line({"signal": name, "owner": owner, "connection": connection, "data": data})

    def connected(self, connection: int, signal: str, owner: object) -> None:
        self.reply(connection)  # what the server returned

    def info(self, text: str) -> None:
        pass

    def help(self, text: str, data: dict[str, object]) -> None:
        self.reply(data)  # one line, like every other input line


Fragments = list[tuple[str, str]]

STYLE = {
    "error": "ansired bold",
    "handle": "ansimagenta bold",
    "string": "ansigreen",
    "number": "ansicyan",
    "keyword": "ansiyellow",
    "key": "ansiblue",
    "event": "ansiyellow",
    "signal": "ansicyan bold",
    "info": "ansibrightblack",
}


def _is_handle(value: object) -> bool:
    return isinstance(value, dict) and set(value) == {"__handle__", "data"} and isinstance(
        value["__handle__"], str
    )


def _inline(value: object) -> Fragments:
    if _is_handle(value):
        assert isinstance(value, dict)
        return [("class:handle", f"{value['__handle__']}({json.dumps(value['data'])})")]
    if isinstance(value, dict):
        out: Fragments = [("", "{")]
        for i, (k, v) in enumerate(value.items()):
            out += [("", ", " if i else ""), ("class:key", json.dumps(k)), ("", ": "), *_inline(v)]
        return [*out, ("", "}")]
    if isinstance(value, list):
        out = [("", "[")]
        for i, v in enumerate(value):
            out += [("", ", " if i else ""), *_inline(v)]
        return [*out, ("", "]")]
    if isinstance(value, str):
        return [("class:string", json.dumps(value))]
    if value is None or isinstance(value, bool):
        return [("class:keyword", json.dumps(value))]
    return [("class:number", json.dumps(value))]


def pretty(value: object, indent: int = 0, width: int = 100) -> Fragments:
    """*value* as indented JSON, canonical handles shown as ``Type(value)``."""
    inline = _inline(value)
    if indent + sum(len(t) for _, t in inline) <= width or _is_handle(value):
        return inline
    pad = " " * (indent + 2)
    if isinstance(value, dict) and value:
        out: Fragments = [("", "{\n")]
        for i, (k, v) in enumerate(value.items()):
            sep = ",\n" if i < len(value) - 1 else "\n"
            out += [("", pad), ("class:key", json.dumps(k)), ("", ": ")]
            out += [*pretty(v, indent + 2, width), ("", sep)]
        return [*out, ("", " " * indent + "}")]
    if isinstance(value, list) and value:
        out = [("", "[\n")]
        for i, v in enumerate(value):
            sep = ",\n" if i < len(value) - 1 else "\n"
            out += [("", pad), *pretty(v, indent + 2, width), ("", sep)]
        return [*out, ("", " " * indent + "]")]
    return inline


class PrettyPrinter:
    """Readable, coloured output above the prompt (prompt_toolkit)."""

    def __init__(self, output: Output | None = None) -> None:
        from prompt_toolkit.styles import Style

        self.output = output
        self.style = Style.from_dict(STYLE)

    def _print(self, fragments: Fragments) -> None:
        from prompt_toolkit import print_formatted_text
        from prompt_toolkit.formatted_text import FormattedText

        print_formatted_text(FormattedText(fragments), style=self.style, output=self.output)

    def reply(self, value: object) -> None:
        if value == {}:
            self._print([("class:info", "ok")])
        else:
            self._print(pretty(value))

    def error(self, error_class: str, desc: str) -> None:
        self._print([("class:error", f"error ({error_class}): "), ("class:error", desc)])

    def event(self, name: str, data: object, timestamp: tuple[int, int]) -> None:
        self._print([("class:event", f"event {name} "), *_inline(data if data is not None else {})])

    def signal(self, name: str, owner: object, connection: int, data: dict[str, object]) -> None:
        self._print(
            [
                ("class:signal", f"signal {name} "),
                *_inline(owner),
                ("class:info", f" [connection {connection}] "),
                *_inline(data),
            ]
        )

    def connected(self, connection: int, signal: str, owner: object) -> None:
        self._print([("class:info", f"connection {connection}: {signal} of "), *_inline(owner)])

    def info(self, text: str) -> None:
        self._print([("class:info", text)])

    def help(self, text: str, data: dict[str, object]) -> None:
        self.info(text)


# --- the shell ------------------------------------------------------------------------------
