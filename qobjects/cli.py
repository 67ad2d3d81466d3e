"""The ``qobjects`` command.

Subcommands are registered in :data:`COMMANDS`: each entry maps a name to its
one-line help, a function that adds its arguments to an
:class:`argparse.ArgumentParser` and a function that runs it and returns the
exit status. Only the chosen subcommand's arguments are configured, and the
modules behind it are imported only then, so ``qobjects check`` never pays
for asyncio or the networking code.

Exit status, for every subcommand: 0 on success, 1 when the work failed (an
invalid schema, a server that cannot be reached, a command that failed), 2
for usage errors (argparse's convention; a malformed address counts as one).
Mistakes of the user are reported as one line on stderr,
``qobjects COMMAND: what went wrong``, never as a traceback.

``qobjects check FILE...`` checks schema files (the errors go to stderr in
QEMU's format); ``--dump`` prints the model in the format of QEMU's
``test-qapi.py``; ``--introspect`` prints the ``query-qmp-schema`` data.
The networked subcommands (``serve``, ``demo``, ``shell``) live in
:mod:`qobjects.cli_net`.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys
from collections.abc import Callable
from typing import Any, TextIO

from qobjects import __version__
from qobjects.errors import QObjectsError

__all__ = ["COMMANDS", "main"]

log = logging.getLogger(__name__)

Configure = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace, TextIO, TextIO], int]


class UsageError(Exception):
    """A malformed argument found after parsing: exit status 2, one line."""


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


def _net(name: str) -> tuple[Configure, Run]:
    """The configure and run functions of a subcommand in :mod:`qobjects.cli_net`, imported lazily."""

    def configure(parser: argparse.ArgumentParser) -> None:
        module: Any = importlib.import_module("qobjects.cli_net")
        module.CONFIGURE[name](parser)

    def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
        module: Any = importlib.import_module("qobjects.cli_net")
        status: int = module.RUN[name](args, out, err)
        return status

    return configure, run


class _OneParser:
    """Stands in for the subparsers action for modules that add their own parser.

    ``add_stubgen(sub)`` calls ``sub.add_parser("stubgen", ...)``; this hands
    it the parser :func:`main` already made, with the keywords applied.
    """

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        for key in ("description", "epilog", "formatter_class", "usage"):
            if key in kwargs:
                setattr(self.parser, key, kwargs[key])
        return self.parser


def _stubgen_args(parser: argparse.ArgumentParser) -> None:
    module: Any = importlib.import_module("qobjects.stubgen")
    module.add_stubgen(_OneParser(parser))


def _stubgen(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    module: Any = importlib.import_module("qobjects.stubgen")
    status = module.run_stubgen(args)
    return int(status or 0)


def _generate_args(parser: argparse.ArgumentParser) -> None:
    from qobjects.generate import add_generate

    add_generate(_OneParser(parser))


def _generate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from qobjects.generate import run_generate

    return run_generate(args)


#: name -> (help, add arguments, run)
COMMANDS: dict[str, tuple[str, Configure, Run]] = {
    "check": ("check QAPI schema files", _check_args, _check),
    "serve": ("serve the demo devices over QMP", *_net("serve")),
    "demo": ("show handles, signals and per-owner delivery in a few seconds", *_net("demo")),
    "shell": ("an interactive QMP shell with completion and live signals", *_net("shell")),
}
if importlib.util.find_spec("qobjects.stubgen") is not None:
    COMMANDS["stubgen"] = ("generate mypy stubs (.pyi) from a schema", _stubgen_args, _stubgen)
COMMANDS["generate"] = ("write an importable, typed package for a schema", _generate_args, _generate)


def _chosen(argv: list[str]) -> str | None:
    """The subcommand named in *argv* (the first word that names one), if any."""
    return next((arg for arg in argv if arg in COMMANDS), None)


def _parser(chosen: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qobjects",
        description="Qt-style signals and slots from a QAPI schema, locally and over QMP.",
        epilog="Run 'qobjects COMMAND --help' for the options of a command. Exit status: "
        "0 success, 1 failure, 2 usage error.",
    )
    parser.add_argument("--version", action="version", version=f"qobjects {__version__}")
    _logging_args(parser, argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (help_text, configure, _run) in COMMANDS.items():
        subparser = sub.add_parser(name, help=help_text, description=help_text)
        _logging_args(subparser, argparse.SUPPRESS)
        if name == chosen:
            configure(subparser)
    return parser


def _logging_args(parser: argparse.ArgumentParser, default: Any) -> None:
    # Accepted before and after the subcommand; SUPPRESS keeps the subparser
    # from resetting what the main parser counted.
    group = parser.add_argument_group("logging")
    group.add_argument(
        "-v", "--verbose", action="count", default=default, help="log more (-vv for debug output)"
    )
    group.add_argument(
        "-q", "--quiet", action="store_true", default=default, help="log errors only"
    )


def _setup_logging(verbose: int, quiet: bool) -> None:
    if quiet:
        level = logging.ERROR
    elif verbose > 1:
        level = logging.DEBUG
    elif verbose == 1:
        level = logging.INFO
    else:
        level = logging.WARNING
    logging.basicConfig(level=level, format="%(name)s: %(message)s", stream=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the ``qobjects`` command; return the exit status.

    Usage errors exit with status 2 (argparse's convention).
    """
    if argv is None:
        argv = sys.argv[1:]
    parser = _parser(_chosen(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    _setup_logging(getattr(args, "verbose", 0), getattr(args, "quiet", False))
    _help, _configure, run = COMMANDS[args.command]
    prefix = f"qobjects {args.command}"
    try:
        return run(args, sys.stdout, sys.stderr)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1
    except UsageError as err:
        print(f"{prefix}: {err}", file=sys.stderr)
        return 2
    except (OSError, QObjectsError) as err:
        # The last line of defence against tracebacks for user mistakes; the
        # subcommands report what they expect themselves.
        log.debug("%s failed", args.command, exc_info=err)
        print(f"{prefix}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
