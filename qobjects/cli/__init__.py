"""The ``qobjects`` command.

Subcommands are registered in :data:`COMMANDS`: each entry maps a name to its
one-line help, a function that adds its arguments to an
:class:`argparse.ArgumentParser` and a function that runs it and returns the
exit status. Each subcommand is a module of this package (``check``,
``serve``, ``demo``, ``shell``, ``stubgen``, ``generate``) with
``add_arguments(parser)`` and ``run(args, out, err)``; only the chosen one is
imported and its arguments configured, so ``qobjects check`` never pays for
asyncio or the networking code. What they share (usage errors, argument
types, TLS contexts, the logging options) is :mod:`qobjects.cli._common`.
Imports point one way: this module -> the subcommand modules -> ``_common``.

Exit status, for every subcommand: 0 on success, 1 when the work failed (an
invalid schema, a server that cannot be reached, a command that failed), 2
for usage errors (argparse's convention; a malformed address counts as one).
Mistakes of the user are reported as one line on stderr,
``qobjects COMMAND: what went wrong``, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Protocol, TextIO

from qobjects import __version__
from qobjects.cli._common import UsageError, add_logging_arguments, log, setup_logging
from qobjects.errors import QObjectsError

__all__ = ["COMMANDS", "Subcommand", "main"]

Configure = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace, TextIO, TextIO], int]


class Subcommand(Protocol):
    """What the module of a subcommand provides."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add the subcommand's arguments (and its description) to *parser*."""
        ...

    def run(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
        """Run the subcommand; the exit status.

        :raises UsageError: a malformed argument (exit status 2).
        """
        ...


def _load(name: str) -> Subcommand:
    """The module of subcommand *name*, imported now.

    Plain imports, so that mypy checks each module against :class:`Subcommand`;
    inside this function, so that only the chosen subcommand's module is imported.
    """
    match name:
        case "check":
            from qobjects.cli import check

            return check
        case "serve":
            from qobjects.cli import serve

            return serve
        case "demo":
            from qobjects.cli import demo

            return demo
        case "shell":
            from qobjects.cli import shell

            return shell
        case "stubgen":
            from qobjects.cli import stubgen

            return stubgen
        case "generate":
            from qobjects.cli import generate

            return generate
    raise KeyError(name)


def _lazy(name: str) -> tuple[Configure, Run]:
    """The configure and run functions of subcommand *name*, importing its module when called."""

    def configure(parser: argparse.ArgumentParser) -> None:
        _load(name).add_arguments(parser)

    def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
        return _load(name).run(args, out, err)

    return configure, run


#: name -> (help, add arguments, run), in the order of ``qobjects --help``
COMMANDS: dict[str, tuple[str, Configure, Run]] = {
    "check": ("check QAPI schema files", *_lazy("check")),
    "serve": ("serve the demo devices over QMP", *_lazy("serve")),
    "demo": ("show handles, signals and per-owner delivery in a few seconds", *_lazy("demo")),
    "shell": ("an interactive QMP shell with completion and live signals", *_lazy("shell")),
    "stubgen": ("generate mypy stubs (.pyi) from a schema", *_lazy("stubgen")),
    "generate": ("write an importable, typed package for a schema", *_lazy("generate")),
}


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
    add_logging_arguments(parser, argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (help_text, configure, _run) in COMMANDS.items():
        subparser = sub.add_parser(name, help=help_text, description=help_text)
        add_logging_arguments(subparser, argparse.SUPPRESS)
        if name == chosen:
            configure(subparser)
    return parser


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
    setup_logging(getattr(args, "verbose", 0), getattr(args, "quiet", False))
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
