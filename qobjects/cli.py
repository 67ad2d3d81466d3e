"""The ``qobjects`` command.

Subcommands are registered in :data:`COMMANDS`: each entry maps a name to a
function that adds its arguments to an :class:`argparse.ArgumentParser` and
a function that runs it and returns the exit status. Add a subcommand by
adding an entry.

``qobjects check FILE...`` checks schema files: exit status 0 when all are
valid, 1 when one is not (the errors go to stderr in QEMU's format), 2 for
usage errors. ``--dump`` prints the model in the format of QEMU's
``test-qapi.py``; ``--introspect`` prints the ``query-qmp-schema`` data.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from typing import TextIO

__all__ = ["COMMANDS", "main"]

log = logging.getLogger(__name__)

Configure = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace, TextIO, TextIO], int]


def _check_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="schema files to check")
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--dump", action="store_true", help="print the model as QEMU's test-qapi.py does"
    )
    group.add_argument(
        "--introspect", action="store_true", help="print the query-qmp-schema data as JSON"
    )


def _check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from qobjects.errors import SchemaError
    from qobjects.schema import load_schema

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


#: name -> (help, add arguments, run)
COMMANDS: dict[str, tuple[str, Configure, Run]] = {
    "check": ("check QAPI schema files", _check_args, _check),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qobjects", description="Qt-style signals and slots from a QAPI schema."
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (help_text, configure, _run) in COMMANDS.items():
        configure(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``qobjects`` command; return the exit status.

    Usage errors exit with status 2 (argparse's convention).
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    if args.verbose:
        logging.basicConfig(
            level=logging.DEBUG if args.verbose > 1 else logging.INFO,
            format="%(name)s: %(message)s",
        )
    _help, _configure, run = COMMANDS[args.command]
    try:
        return run(args, sys.stdout, sys.stderr)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
