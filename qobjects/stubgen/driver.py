"""The stub generator's driver: stub files written, and the ``stubgen`` subcommand.

:func:`write_stubs` writes the stubs of a schema file (or the ``qobjects``
stub package of the default schema), :func:`write_server_stubs` those of a
running server's schema (``--from ADDRESS``); a file whose text is already
right is left alone. :func:`add_stubgen` and :func:`run_stubgen` are the
command line.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from qobjects.codecs import py_name
from qobjects.schema import load_schema
from qobjects.stubgen.module import generate

__all__ = [
    "STUB_PACKAGE",
    "add_stubgen",
    "default_module",
    "fetch_schema_info",
    "run_stubgen",
    "write_server_stubs",
    "write_stubs",
]

STUB_PACKAGE = "qobjects-stubs"
"""The stub package of the default schema: type checkers read ``qobjects``'s
``__init__`` from it and every other module from the package itself."""


def _write(target: Path, text: str) -> None:
    """Write *text* to *target* (and its directory), unless it holds that text already."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")


def default_module(schema_path: str) -> str:
    """The module name for a schema file: its stem as a Python name."""
    return py_name(Path(schema_path).stem)


def write_stubs(schema_path: str | None, output: str | os.PathLike[str], module: str | None = None) -> Path:
    """Generate and write the stubs; return the file written.

    Without *schema_path*: the partial PEP 561 stub package of the default
    schema, ``OUTPUT/qobjects-stubs/__init__.pyi`` (with its ``py.typed``
    saying ``partial``), which the wheel ships. Otherwise ``OUTPUT/<module>.pyi``.

    :raises SchemaError: the schema does not load.
    :raises OSError: the file cannot be written.
    """
    from qobjects.schema import DEFAULT_SCHEMA

    package = schema_path is None
    path = DEFAULT_SCHEMA if schema_path is None else schema_path
    text = generate(load_schema(path), package=package, source=os.path.basename(path))
    if package:
        target = Path(output, STUB_PACKAGE, "__init__.pyi")
        marker = target.with_name("py.typed")
        target.parent.mkdir(parents=True, exist_ok=True)
        if not marker.exists() or marker.read_text(encoding="utf-8") != "partial\n":
            marker.write_text("partial\n", encoding="utf-8")
    else:
        target = Path(output, f"{module or default_module(path)}.pyi")
    _write(target, text)
    return target


def add_stubgen(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``stubgen`` subcommand to an argparse subparsers action."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "stubgen",
        help="generate mypy stubs (.pyi) from a schema",
        description="Write .pyi stubs for the classes and session methods of a schema. Without "
        "SCHEMA: the stub package of qobjects itself (DIR/qobjects-stubs/__init__.pyi) for the default "
        "schema; with SCHEMA: a types-only module DIR/NAME.pyi.",
    )
    parser.add_argument("schema", nargs="?", metavar="SCHEMA", help="schema file (default: the bundled one)")
    parser.add_argument(
        "--from",
        dest="from_address",
        metavar="ADDRESS",
        help="a running QMP server (unix:PATH, tcp:HOST:PORT): stubs for its own schema "
        "(query-qmp-schema) with the bundled QEMU overlay, as DIR/NAME.pyi (NAME: --module, "
        "default qmp_server)",
    )
    parser.add_argument(
        "-o", "--output", default="stubs", metavar="DIR", help="output directory (default: stubs)"
    )
    parser.add_argument(
        "--module", metavar="NAME", help="module name for SCHEMA's stubs (default: the file's stem)"
    )
    return parser


def run_stubgen(args: argparse.Namespace) -> int:
    """Run ``qobjects stubgen``; the exit status.

    :raises SchemaError: the schema does not load (the CLI reports it).
    """
    module = getattr(args, "module", None)
    if module is not None and not module.isidentifier():
        raise SystemExit(f"qobjects stubgen: --module {module!r} is not a Python identifier")
    address = getattr(args, "from_address", None)
    if address is not None:
        if args.schema is not None:
            raise SystemExit("qobjects stubgen: give SCHEMA or --from ADDRESS, not both")
        target = write_server_stubs(address, args.output, module or "qmp_server")
    else:
        target = write_stubs(args.schema, args.output, module)
    print(target)
    return 0


def fetch_schema_info(address: str) -> object:
    """What the plain QMP server at *address* answers to ``query-qmp-schema``.

    :raises ConnectionLost: the server cannot be reached.
    :raises SchemaError: *address* is a qobjects server (its schema is a file).
    """
    import qobjects
    from qobjects.errors import SchemaError
    from qobjects.qmp.client import connect

    with connect(address, namespace=qobjects.default_namespace()) as session:
        if session.explicit:
            raise SchemaError(
                None,
                f"{address} is a qobjects server: generate from its schema file instead",
            )
        return session.execute_raw("query-qmp-schema")


def write_server_stubs(address: str, output: str | os.PathLike[str], module: str) -> Path:
    """Write ``OUTPUT/<module>.pyi`` for the schema of the server at *address*.

    :raises ConnectionLost: the server cannot be reached.
    :raises SchemaError: the server's schema cannot be read.
    """
    from qobjects.qmp.introspect import server_namespace
    from qobjects.qmp.schema_text import server_schema

    ns = server_namespace(fetch_schema_info(address))
    text = generate(server_schema(ns, address), source=address, literal_enums=True)
    target = Path(output, f"{module}.pyi")
    _write(target, text)
    return target
