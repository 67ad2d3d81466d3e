"""``qobjects check FILE...``: check schema files.

The errors go to stderr in QEMU's format; ``--dump`` prints the model in the
format of QEMU's ``test-qapi.py``; ``--introspect`` prints the
``query-qmp-schema`` data.
"""

from __future__ import annotations

import argparse
from typing import TextIO

from qobjects.cli._common import log
from qobjects.errors import SchemaError
from qobjects.schema import load_schema

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="schema files to check")
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--dump", action="store_true", help="print the model as QEMU's test-qapi.py does"
    )
    group.add_argument(
        "--introspect", action="store_true", help="print the query-qmp-schema data as JSON"
    )


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    status = 0
    for fname in args.files:
        try:
            schema = load_schema(fname)
        except SchemaError as exc:
            print(exc, file=err)
            status = 1
            continue
        log.info("%s: %d definitions", fname, len(schema.definitions()))
        if args.dump:
            from qobjects.schema.dump import dump

            out.write(dump(schema))
        elif args.introspect:
            import json

            from qobjects.schema.introspect import introspect

            out.write(json.dumps(introspect(schema), indent=2) + "\n")
    return status
