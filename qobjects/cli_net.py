"""The networked subcommands of ``qobjects``: ``serve`` and ``demo``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

__all__ = ["add_demo", "add_serve", "run_demo", "run_serve"]

log = logging.getLogger("qobjects.cli")


def add_serve(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "serve",
        help="run a QMP server",
        description="Serve the demo backend over QMP until interrupted. QMP has no "
        "authentication: prefer --unix, or bind --tcp to a loopback address.",
    )
    p.add_argument(
        "--demo", action="store_true", required=True, help="serve the demo devices (required for now)"
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--unix", metavar="PATH", help="listen on a Unix socket (mode 0600)")
    where.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP")
    return p


def _tcp(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"bad --tcp value {text!r}: expected HOST:PORT")
    return host.strip("[]"), int(port)


def run_serve(args: argparse.Namespace) -> int:
    from qobjects.demo import make_demo_server

    try:
        tcp = _tcp(args.tcp) if args.tcp else None
    except ValueError as err:
        print(f"qobjects serve: {err}", file=sys.stderr)
        return 2
    if args.unix and Path(args.unix).exists():
        print(f"qobjects serve: {args.unix} already exists; remove it or pick another path", file=sys.stderr)
        return 1

    async def main() -> None:
        server, _ = make_demo_server()
        try:
            if tcp is not None:
                port = await server.start_tcp(*tcp)
                log.warning("serving the demo on tcp:%s:%d", tcp[0], port)
            else:
                await server.start_unix(args.unix)
                log.warning("serving the demo on unix:%s", args.unix)
        except OSError as err:
            await server.close()
            raise SystemExit(f"qobjects serve: cannot listen: {err.strerror or err}") from None
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await server.close()

    asyncio.run(main())
    return 0


def add_demo(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "demo",
        help="tell the whole story on the embedded default schema",
        description="Start the demo server on a temporary socket, connect to it, "
        "connect slots and watch signals arrive per owner.",
    )
    return p


class _Story:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.step_no = 0

    def step(self, text: str) -> None:
        self.step_no += 1
        print(f"\n[{self.step_no}] {text}", file=self.out, flush=True)

    def say(self, text: str) -> None:
        print(f"    {text}", file=self.out, flush=True)


def run_demo(args: argparse.Namespace, out: TextIO | None = None) -> int:
    story = _Story(out or sys.stdout)
    with tempfile.TemporaryDirectory(prefix="qobjects-demo-") as tmp:
        path = Path(tmp) / "demo.sock"
        asyncio.run(_demo(path, story))
        story.step("done: the server is closed and its socket removed")
    return 0


async def _demo(path: Path, story: _Story) -> None:
    import qobjects
    from qobjects.demo import make_demo_server
    from qobjects.qmp.client import AsyncSession

    server, _backend = make_demo_server()
    await server.start_unix(path)
    try:
        story.step(f"the demo server listens on unix:{path}")
        story.say("devices ide0-hd0 (a disk) and ide1-cd0 (a CD drive) are behind Blockdev handles")

        plain_events: list[str] = []
        plain = AsyncSession(path, server.namespace, ask_explicit=False)
        await plain._open()
        plain.add_event_listener(lambda name, data, ts: plain_events.append(f"{name} {data}"))

        async with await qobjects.aconnect(path) as session:
            story.step("a remote session connects and asks for explicit handles")
            story.say(f"explicit handles: {session.explicit}")

            story.step("query-block lists the devices; each 'device' is a Blockdev handle")
            infos = await session.query_block()
            for info in infos:
                story.say(f"{info.device!r}: type={info.type} removable={info.removable}")
            hd, cd = infos[0].device, infos[1].device

            deliveries = asyncio.Queue[str]()

            def on_io_error(owner: Any, operation: Any, action: Any) -> None:
                deliveries.put_nowait(f"IO_ERROR slot: owner={owner} operation={operation} action={action}")

            def on_tray(owner: Any, tray_open: bool) -> None:
                deliveries.put_nowait(f"TRAY_MOVED slot: owner={owner} tray_open={tray_open}")

            story.step("connect a slot to IO_ERROR of ide0-hd0 and to TRAY_MOVED of ide1-cd0")
            c1 = hd.io_error.connect(on_io_error)
            c2 = cd.tray_moved.connect(on_tray)
            await session.flush()
            story.say(f"IO_ERROR connection id {c1.id}, TRAY_MOVED connection id {c2.id} (server ids)")

            story.step("inject an I/O error on ide1-cd0: nobody listens to that owner's IO_ERROR")
            await session.x_inject_io_error(device=cd, operation="read", action="report")
            await _settle(session)
            story.say(f"deliveries: {deliveries.qsize()} (signals are per owner)")

            story.step("inject an I/O error on ide0-hd0")
            await session.x_inject_io_error(device=hd, operation="write", action="stop")
            story.say(await asyncio.wait_for(deliveries.get(), 5))

            story.step("open the tray of ide1-cd0, then close it")
            await session.blockdev_open_tray(device=cd)
            story.say(await asyncio.wait_for(deliveries.get(), 5))
            await session.blockdev_close_tray(device=cd)
            story.say(await asyncio.wait_for(deliveries.get(), 5))

            story.step("disconnect the IO_ERROR slot; a new error is not delivered")
            hd.io_error.disconnect(c1)
            await session.flush()
            await session.x_inject_io_error(device=hd, operation="read", action="stop")
            await _settle(session)
            story.say(f"deliveries: {deliveries.qsize()}")

        await _settle(plain)
        story.step("meanwhile a plain QMP client (no explicit handles) saw the mirrored events:")
        for line in plain_events:
            story.say(line)
        await plain.close()
    finally:
        await server.close()


async def _settle(session: Any) -> None:
    """A round trip: anything pushed before it has arrived once it returns."""
    await session.execute("query-version")
    await asyncio.sleep(0.01)
