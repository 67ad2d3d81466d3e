"""What the subcommands of ``qobjects`` share: errors, argument types, TLS, logging.

Every module of :mod:`qobjects.cli` may import this one; it imports none of
them. ``ssl`` is imported only when TLS is asked for.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ssl import SSLContext

__all__ = [
    "Failed",
    "OneParser",
    "UsageError",
    "add_logging_arguments",
    "client_tls_context",
    "log",
    "positive",
    "server_tls_context",
    "setup_logging",
    "tcp_address",
]

#: The one logger of the command line, whichever subcommand logs: ``-v``
#: lines read ``qobjects.cli: ...``.
log = logging.getLogger("qobjects.cli")


class UsageError(Exception):
    """A malformed argument found after parsing: exit status 2, one line."""


class Failed(Exception):
    """A failure reported as one line, exit status 1."""


# --- argument types -------------------------------------------------------------------


def positive(text: str) -> int:
    """An argparse ``type``: a positive integer."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {text!r}")
    return value


def tcp_address(text: str) -> tuple[str, int]:
    """The host and port of ``--tcp [HOST:]PORT``; a bare port is loopback.

    :raises UsageError: *text* is not PORT or HOST:PORT, or names no address.
    """
    host, sep, port = text.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) < 65536 or (sep and not host):
        raise UsageError(f"bad --tcp value {text!r}: expected PORT or HOST:PORT")
    if not sep:
        return "127.0.0.1", int(port)  # a bare port: loopback only
    host = host.strip("[]")
    if host in ("0", "*"):
        raise UsageError(
            f"bad --tcp value {text!r}: name the address to listen on (0.0.0.0 or :: for every interface)"
        )
    return host, int(port)


# --- TLS ------------------------------------------------------------------------------


def server_tls_context(args: argparse.Namespace) -> SSLContext | None:
    """The server's TLS context from ``--tls-cert``, ``--tls-key`` and ``--tls-ca``, or None.

    :raises UsageError: the options do not go together.
    :raises Failed: the files do not load.
    """
    if not (args.tls_cert or args.tls_key or args.tls_ca):
        return None
    if not args.tcp:
        raise UsageError("--tls-cert, --tls-key and --tls-ca go with --tcp")
    if not args.tls_cert:
        raise UsageError("TLS needs --tls-cert (and --tls-key unless the key is in that file)")
    import ssl

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls_ca:
            ctx.load_verify_locations(args.tls_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
    except (OSError, ssl.SSLError) as exc:
        raise Failed(f"cannot load the TLS files: {getattr(exc, 'strerror', None) or exc}") from None
    return ctx


def client_tls_context(args: argparse.Namespace) -> SSLContext | None:
    """A client's TLS context from ``--tls-ca``/``--tls-system-ca``, ``--tls-cert``, ``--tls-key``, or None.

    :raises UsageError: the options do not go together.
    :raises Failed: the files do not load.
    """
    if not (args.tls_ca or args.tls_system_ca or args.tls_cert or args.tls_key):
        return None
    if not (args.tls_ca or args.tls_system_ca):
        raise UsageError("TLS needs --tls-ca FILE or --tls-system-ca: which servers to trust")
    if args.tls_key and not args.tls_cert:
        raise UsageError("--tls-key goes with --tls-cert")
    import ssl

    try:
        ctx = ssl.create_default_context(cafile=args.tls_ca)
        if args.tls_cert:
            ctx.load_cert_chain(args.tls_cert, args.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise Failed(f"cannot load the TLS files: {getattr(exc, 'strerror', None) or exc}") from None
    return ctx


# --- parsers and logging --------------------------------------------------------------


class OneParser:
    """Stands in for the subparsers action for modules that add their own parser.

    ``add_stubgen(sub)`` calls ``sub.add_parser("stubgen", ...)``; this hands
    it the parser :func:`qobjects.cli.main` already made, with the keywords applied.
    """

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        for key in ("description", "epilog", "formatter_class", "usage"):
            if key in kwargs:
                setattr(self.parser, key, kwargs[key])
        return self.parser


def add_logging_arguments(parser: argparse.ArgumentParser, default: Any) -> None:
    """Add ``-v``/``--verbose`` and ``-q``/``--quiet`` to *parser*."""
    # Accepted before and after the subcommand; SUPPRESS keeps the subparser
    # from resetting what the main parser counted.
    group = parser.add_argument_group("logging")
    group.add_argument(
        "-v", "--verbose", action="count", default=default, help="log more (-vv for debug output)"
    )
    group.add_argument(
        "-q", "--quiet", action="store_true", default=default, help="log errors only"
    )


def setup_logging(verbose: int, quiet: bool) -> None:
    """Log to stderr at the level ``-v``/``-q`` asked for (warnings by default)."""
    if quiet:
        level = logging.ERROR
    elif verbose > 1:
        level = logging.DEBUG
    elif verbose == 1:
        level = logging.INFO
    else:
        level = logging.WARNING
    logging.basicConfig(level=level, format="%(name)s: %(message)s", stream=sys.stderr)
