"""``qobjects shell ADDRESS``: an interactive QMP shell; the shell itself is :mod:`qobjects.shell`.

That package (and prompt_toolkit) is imported only when the shell runs, not
for ``qobjects shell --help``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from qobjects.cli._common import Failed, UsageError, client_tls_context

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "An interactive QMP shell. Type 'COMMAND arg=value ...' (values are JSON when they "
        "parse as JSON, else strings; 'a.b=1' nests) or raw JSON {\"execute\": ...}. With a "
        "qobjects server, 'connect SIGNAL HANDLE' and 'disconnect ID' connect to signals, "
        "printed live as they arrive. Completion of command and argument names comes from "
        "the server's query-qmp-schema. Against QEMU it is a plain QMP shell. When stdin is "
        "not a terminal, each reply is printed as one JSON line and the exit status is 1 if "
        "any command failed."
    )
    parser.add_argument("address", metavar="ADDRESS", help="unix:PATH, tcp:HOST:PORT or a socket path")
    parser.add_argument(
        "--events", action="store_true", help="also print QMP events when not interactive"
    )
    parser.add_argument(
        "--history",
        metavar="FILE",
        default=str(Path.home() / ".qobjects_shell_history"),
        help="the history file of the interactive shell (default: %(default)s)",
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, metavar="SECONDS", help="connection timeout (default: 10)"
    )
    tls = parser.add_argument_group("TLS (with tcp:HOST:PORT)")
    tls.add_argument(
        "--tls-ca", metavar="FILE", help="speak TLS, trusting servers certified by this CA (PEM)"
    )
    tls.add_argument(
        "--tls-system-ca", action="store_true", help="speak TLS, trusting the system's CAs"
    )
    tls.add_argument("--tls-cert", metavar="FILE", help="a client certificate chain to present (PEM)")
    tls.add_argument("--tls-key", metavar="FILE", help="its private key (PEM)")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from qobjects.qmp.client import parse_address

    try:
        parse_address(args.address)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        ctx = client_tls_context(args)
    except Failed as exc:
        print(f"qobjects shell: {exc}", file=err)
        return 1
    from qobjects.shell import run as run_shell

    interactive = sys.stdin.isatty() and out.isatty()
    return run_shell(
        args.address,
        interactive=interactive,
        events=args.events or interactive,
        history=args.history,
        timeout=args.timeout,
        ssl=ctx,
        out=out,
        err=err,
    )
