"""``qobjects serve --demo``: the demo devices over QMP, until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import TYPE_CHECKING, TextIO

from qobjects.cli._common import Failed, log, positive, server_tls_context, tcp_address
from qobjects.qmp.server import LIMITS

if TYPE_CHECKING:
    from ssl import SSLContext

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Serve the demo devices (ide0-hd0, ide1-cd0) over QMP until interrupted "
        "(SIGINT or SIGTERM); a Unix socket is removed on exit. QMP has no "
        "authentication: prefer --unix; --tcp PORT listens on loopback only, and "
        "another host must be named (with TLS and client certificates unless the "
        "network is trusted)."
    )
    parser.add_argument(
        "--demo", action="store_true", required=True, help="serve the demo devices (required for now)"
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--unix", metavar="PATH", help="listen on a Unix socket (mode 0600); a stale socket is replaced"
    )
    where.add_argument(
        "--tcp",
        metavar="[HOST:]PORT",
        help="listen on TCP: PORT alone is 127.0.0.1:PORT; port 0 picks a free one",
    )
    tls = parser.add_argument_group("TLS (with --tcp)")
    tls.add_argument("--tls-cert", metavar="FILE", help="the server's certificate chain (PEM)")
    tls.add_argument("--tls-key", metavar="FILE", help="its private key (PEM)")
    tls.add_argument("--tls-ca", metavar="FILE", help="require client certificates signed by this CA (PEM)")
    limits = parser.add_argument_group("limits (see docs/protocol.md)")
    for name, (default, text) in LIMITS.items():
        limits.add_argument(
            "--" + name.replace("_", "-"),
            type=positive,
            default=default,
            metavar="N",
            help=f"{text} (default: %(default)s)",
        )


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    tcp = tcp_address(args.tcp) if args.tcp else None
    try:
        ctx = server_tls_context(args)
    except Failed as exc:
        print(f"qobjects serve: {exc}", file=err)
        return 1
    limits = {name: getattr(args, name) for name in LIMITS}
    return asyncio.run(_serve(args.unix, tcp, ctx, limits, err))


async def _serve(
    unix: str | None,
    tcp: tuple[str, int] | None,
    ctx: SSLContext | None,
    limits: dict[str, int],
    err: TextIO,
) -> int:
    from qobjects.demo import make_demo_server

    server, _ = make_demo_server(**limits)
    try:
        if tcp is not None:
            port = await server.start_tcp(*tcp, ssl=ctx)
            host = f"[{tcp[0]}]" if ":" in tcp[0] else tcp[0]
            where = f"tcp:{host}:{port}" + (" (TLS)" if ctx is not None else "")
        else:
            assert unix is not None
            await server.start_unix(unix)
            where = f"unix:{unix}"
    except OSError as exc:
        await server.close()
        problem = exc.strerror or str(exc)
        if unix is None or not problem.startswith(unix):  # not the path check's own words
            problem = f"cannot listen: {problem}"
        print(f"qobjects serve: {problem}", file=err)
        return 1
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # The one line a script waits for (after the handlers: it may signal at once).
    print(f"qobjects serve: serving the demo on {where}", file=err, flush=True)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await server.close()
    log.info("server closed")
    return 0
