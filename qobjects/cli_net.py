"""The networked subcommands of ``qobjects``: ``serve``, ``demo`` and ``shell``.

:mod:`qobjects.cli` imports this module only when one of them runs; each has
a function that adds its arguments (:data:`CONFIGURE`) and one that runs it
(:data:`RUN`) and returns the exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from qobjects.cli import UsageError

__all__ = ["CONFIGURE", "RUN", "run_demo", "run_serve", "run_shell"]

log = logging.getLogger("qobjects.cli")


# --- serve ---------------------------------------------------------------------------


def serve_args(parser: argparse.ArgumentParser) -> None:
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
    from qobjects.qmp.server import LIMITS

    for name, (default, text) in LIMITS.items():
        limits.add_argument(
            "--" + name.replace("_", "-"),
            type=_positive,
            default=default,
            metavar="N",
            help=f"{text} (default: %(default)s)",
        )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {text!r}")
    return value


def _tcp(text: str) -> tuple[str, int]:
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


def _tls_context(args: argparse.Namespace) -> Any:
    """The server's TLS context from --tls-*, or None."""
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
        raise _Failed(f"cannot load the TLS files: {getattr(exc, 'strerror', None) or exc}") from None
    return ctx


class _Failed(Exception):
    """A failure reported as one line, exit status 1."""


def run_serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    tcp = _tcp(args.tcp) if args.tcp else None
    try:
        ctx = _tls_context(args)
    except _Failed as exc:
        print(f"qobjects serve: {exc}", file=err)
        return 1
    from qobjects.qmp.server import LIMITS

    limits = {name: getattr(args, name) for name in LIMITS}
    return asyncio.run(_serve(args.unix, tcp, ctx, limits, err))


async def _serve(
    unix: str | None, tcp: tuple[str, int] | None, ctx: Any, limits: dict[str, int], err: TextIO
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


# --- demo -----------------------------------------------------------------------------


def demo_args(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Tell the whole story in a few seconds, on the bundled default schema: start the "
        "demo server on a temporary Unix socket, connect a session with explicit handles, "
        "list the devices, connect slots to one device's IO_ERROR and the other's "
        "TRAY_MOVED, inject an error and move a tray, and show what arrives where, "
        "including what a plain QMP client sees."
    )


class _Story:
    """Numbered steps, indented details, and the slot deliveries."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.step_no = 0
        self.deliveries = 0

    def step(self, text: str) -> None:
        self.step_no += 1
        print(f"\n[{self.step_no}] {text}", file=self.out, flush=True)

    def say(self, text: str) -> None:
        print(f"    {text}", file=self.out, flush=True)

    def delivered(self, text: str) -> None:
        self.deliveries += 1
        self.say(f"delivered: {text}")

    def expect_none(self, before: int, why: str) -> None:
        if self.deliveries == before:
            self.say(f"no delivery: {why}")
        else:  # pragma: no cover - the server would be broken
            self.say(f"UNEXPECTED: {self.deliveries - before} deliveries")


def run_demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    story = _Story(out)
    print("qobjects demo: handles, signals and per-owner delivery on the bundled schema", file=out)
    with tempfile.TemporaryDirectory(prefix="qobjects-demo-") as tmp:
        path = Path(tmp) / "demo.sock"
        asyncio.run(_demo(path, story))
        left = path.exists()
    story.step("done: the server is closed and its socket removed" if not left else "socket left behind")
    return 1 if left else 0


class _PlainClient:
    """A plain QMP client, as QEMU's own tools are: JSON lines, no explicit handles."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.events: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, path: Path) -> _PlainClient:
        reader, writer = await asyncio.open_unix_connection(str(path))
        client = cls(reader, writer)
        await client.read()  # the greeting
        await client.call({"execute": "qmp_capabilities"})
        return client

    async def read(self) -> dict[str, Any]:
        line = await asyncio.wait_for(self.reader.readline(), 5)
        msg: dict[str, Any] = json.loads(line)
        return msg

    async def call(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send *request*; its reply, keeping the events that come first."""
        self.writer.write(json.dumps(request).encode() + b"\n")
        while True:
            msg = await self.read()
            if "event" in msg:
                self.events.append(msg)
            else:
                return msg

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass


def _wire(msg: object) -> str:
    return json.dumps(msg, separators=(", ", ": "))


async def _demo(path: Path, story: _Story) -> None:
    import qobjects
    from qobjects.demo import make_demo_server

    server, _backend = make_demo_server()
    await server.start_unix(path)
    try:
        story.step(f"the demo server listens on unix:{path}")
        story.say("it serves two block devices, ide0-hd0 (a disk) and ide1-cd0 (a CD drive with a tray)")
        story.say("each is a Blockdev *handle*: an object on the server, a simple value on the wire")

        plain = await _PlainClient.open(path)
        story.step("a plain QMP client connects (no explicit handles, as QEMU's tools)")
        request = {"execute": "query-block"}
        reply = await plain.call(request)
        story.say(f"> {_wire(request)}")
        story.say(f"< {_wire(reply)}")
        story.say("handles travel as plain strings: backward compatible, but nothing says they are objects")

        async with await qobjects.aconnect(path) as session:
            story.step("a qobjects session connects and asks for explicit handles")
            story.say('> {"execute": "set-explicit-handles"}   (before qmp_capabilities)')
            story.say(f"session: {session!r}")

            story.step("query-block again: handles now arrive canonical and decode to Blockdev objects")
            story.say('on the wire: "device": {"__handle__": "Blockdev", "data": "ide0-hd0"}')
            infos = await session.query_block()
            for info in infos:
                story.say(f"{info!r}")
            hd, cd = infos[0].device, infos[1].device
            story.say(f"hd = {hd!r}, cd = {cd!r}: bound to the session, isinstance(hd, Blockdev) holds")

            def on_io_error(owner: Any, operation: Any, action: Any) -> None:
                story.delivered(
                    f"IO_ERROR -> on_io_error(owner={owner}, operation={operation}, action={action})"
                )

            def on_tray(owner: Any, tray_open: bool) -> None:
                story.delivered(f"TRAY_MOVED -> on_tray(owner={owner}, tray_open={tray_open})")

            story.step("connect slots: hd.io_error.connect(on_io_error), cd.tray_moved.connect(on_tray)")
            c1 = hd.io_error.connect(on_io_error)
            c2 = cd.tray_moved.connect(on_tray)
            await session.flush()
            story.say(f'> {{"connect": "IO_ERROR", "owner": <hd, canonical>, ...}}    < connection {c1.id}')
            story.say(f'> {{"connect": "TRAY_MOVED", "owner": <cd, canonical>, ...}}  < connection {c2.id}')
            story.say("connection ids are the server's; each connection is to one owner")

            story.step("inject an I/O error on ide1-cd0 (x-inject-io-error device=ide1-cd0)")
            before = story.deliveries
            await session.x_inject_io_error(device=cd, operation="read", action="report")
            # Signals are pushed before the command's reply: once it returned, they arrived.
            story.expect_none(before, "nobody connected to IO_ERROR of ide1-cd0 (signals are per owner)")

            story.step("inject an I/O error on ide0-hd0")
            await session.x_inject_io_error(device=hd, operation="write", action="stop")

            story.step("open the tray of ide1-cd0, then close it")
            await session.blockdev_open_tray(device=cd)
            await session.blockdev_close_tray(device=cd)

            story.step("hd.io_error.disconnect(c1); another error on ide0-hd0 is not delivered")
            hd.io_error.disconnect(c1)
            await session.flush()
            before = story.deliveries
            await session.x_inject_io_error(device=hd, operation="read", action="stop")
            story.expect_none(before, "the connection is gone")

        story.step("meanwhile the plain client saw every emission mirrored as a QMP event:")
        await plain.call({"execute": "query-version"})  # a round trip: the events came before it
        for event in plain.events:
            shown = {k: v for k, v in event.items() if k != "timestamp"}
            story.say(f"< {_wire(shown)}")
        story.say(f"{len(plain.events)} events, of every device: a plain client filters by 'device' itself")
        await plain.close()
    finally:
        await server.close()


# --- shell ----------------------------------------------------------------------------


def shell_args(parser: argparse.ArgumentParser) -> None:
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


def _client_tls_context(args: argparse.Namespace) -> Any:
    """The shell's TLS context from --tls-*, or None."""
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
        raise _Failed(f"cannot load the TLS files: {getattr(exc, 'strerror', None) or exc}") from None
    return ctx


def run_shell(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from qobjects.qmp.client import parse_address

    try:
        parse_address(args.address)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        ctx = _client_tls_context(args)
    except _Failed as exc:
        print(f"qobjects shell: {exc}", file=err)
        return 1
    from qobjects.shell import run

    interactive = sys.stdin.isatty() and out.isatty()
    return run(
        args.address,
        interactive=interactive,
        events=args.events or interactive,
        history=args.history,
        timeout=args.timeout,
        ssl=ctx,
        out=out,
        err=err,
    )


#: subcommand -> function adding its arguments
CONFIGURE: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "serve": serve_args,
    "demo": demo_args,
    "shell": shell_args,
}
#: subcommand -> function running it
RUN: dict[str, Callable[[argparse.Namespace, TextIO, TextIO], int]] = {
    "serve": run_serve,
    "demo": run_demo,
    "shell": run_shell,
}
