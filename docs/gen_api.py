"""A mkdocs hook: the API reference page (``api.md``), made from docstrings.

It documents every name of ``qobjects.__all__`` with :mod:`inspect`: the
signature and the docstring of each function and class, and the public
methods and properties of each class. reST roles and fields become Markdown
(``:class:`X``` -> ``X``, ``:raises E: why`` -> a "Raises" list). The page
is generated in memory, so the source tree stays clean.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

FIELD = re.compile(r"^:(param|raises|returns?|ivar|cvar)\s*([^:]*):\s*(.*)$")
ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")
LABELS = {"param": "Parameters", "raises": "Raises", "return": "Returns", "returns": "Returns",
          "ivar": "Attributes", "cvar": "Attributes"}


def _markdown(doc: str | None) -> str:
    """A docstring as Markdown."""
    if not doc:
        return ""
    lines = inspect.cleandoc(doc).splitlines()
    body: list[str] = []
    fields: dict[str, list[str]] = {}
    current: list[str] | None = None
    in_code = False
    for line in lines:
        if in_code:
            if line and not line.startswith(" "):
                body.append("```")
                in_code = False
            else:
                body.append(line[4:] if line.startswith("    ") else line)
                continue
        match = FIELD.match(line.strip())
        if match:
            kind, name, text = match.groups()
            entry = f"**{name.strip()}**: {text}" if name.strip() else text
            current = fields.setdefault(LABELS[kind], [])
            current.append(entry)
            continue
        if current is not None and line.startswith("    ") and line.strip():
            current[-1] += " " + line.strip()
            continue
        current = None
        if line.rstrip().endswith("::"):
            body.append(line.rstrip()[:-1] if not line.rstrip().endswith(" ::") else line.rstrip()[:-3])
            body += ["", "```"]
            in_code = True
            continue
        body.append(line)
    if in_code:
        body.append("```")
    out = "\n".join(body)
    for label, entries in fields.items():
        out += f"\n\n*{label}*\n\n" + "\n".join(f"- {e}" for e in entries)
    out = ROLE.sub(r"`\1`", out)
    return re.sub(r"``([^`]+)``", r"`\1`", out)


class _Raw:
    """An annotation string shown as written (``str``, not ``'str'``)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _signature(obj: Any, *, is_class: bool = False) -> str:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)"
    params = [
        p.replace(annotation=_Raw(p.annotation) if isinstance(p.annotation, str) else p.annotation)
        for p in sig.parameters.values()
        if p.name != "self"
    ]
    ret = sig.return_annotation
    if is_class:
        ret = inspect.Signature.empty
    elif isinstance(ret, str):
        ret = _Raw(ret)
    return str(sig.replace(parameters=params, return_annotation=ret))


def _class(name: str, cls: type) -> list[str]:
    signature = f"```python\nclass {name}{_signature(cls, is_class=True)}\n```"
    parts = [f"## {name}", "", signature, "", _markdown(cls.__doc__)]
    bases = [b.__name__ for b in cls.__bases__ if b is not object]
    if bases:
        parts += ["", "Bases: " + ", ".join(f"`{b}`" for b in bases)]
    for attr, value in sorted(vars(cls).items()):
        if attr.startswith("_"):
            continue
        if isinstance(value, property):
            parts += ["", f"### {name}.{attr}", "", "*property*", "", _markdown(value.__doc__)]
        elif isinstance(value, (staticmethod, classmethod)) or inspect.isfunction(value):
            fn = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
            if not fn.__doc__:
                continue
            parts += ["", f"### {name}.{attr}", "", f"```python\n{attr}{_signature(fn)}\n```", "",
                      _markdown(fn.__doc__)]
    return parts


def generate() -> str:
    """The Markdown of the API reference."""
    import qobjects

    parts = [
        "# API reference",
        "",
        "Everything public is importable from `qobjects` (this page lists `qobjects.__all__`); "
        "the classes of the bundled default schema (`Blockdev`, `BlockInfo`, ...) are attributes "
        "of the module too. Generated from the docstrings by `docs/gen_api.py`.",
    ]
    errors = qobjects.errors.__doc__ if hasattr(qobjects, "errors") else None
    for name in qobjects.__all__:
        obj = getattr(qobjects, name)
        parts.append("")
        if inspect.isclass(obj):
            parts += _class(name, obj)
        elif callable(obj):
            signature = f"```python\n{name}{_signature(obj)}\n```"
            parts += [f"## {name}", "", signature, "", _markdown(obj.__doc__)]
    if errors:
        parts += ["", "## The exception tree", "", _markdown(errors)]
    return "\n".join(parts) + "\n"


def on_files(files: Any, config: Any) -> Any:
    """mkdocs hook: add the generated ``api.md``."""
    from mkdocs.structure.files import File

    files.append(File.generated(config, "api.md", content=generate()))
    return files


if __name__ == "__main__":
    print(generate())
