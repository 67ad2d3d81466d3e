"""The servers of the wire benchmarks, each run in a process of its own.

``python -m bench.servers qobjects --unix PATH`` serves the demo backend on
the bench schema (``bench/bench.json``: the default schema plus
``x-bench-emit``); ``python -m bench.servers minimal --unix PATH`` serves
:mod:`bench.minimal_server`, the reference that does no work at all. Both
print ``ready`` on stdout once they listen.

:func:`running` starts one from the benchmark process and always kills it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qobjects import Server

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = Path(__file__).resolve().parent / "bench.json"
# Wait for the readers (``await server.drain()``) this often, so that session
# queues flush and other requests get answered while a bulk emission runs.
EMIT_BATCH = 64
# The minimal server waits while a session has more than this unsent, as the
# qobjects server's drain() does (qobjects.qmp._output.DRAIN_HIGH).
HIGH_WATER = 1 << 20


def install_bench_emit(server: Server) -> None:
    """Register ``x-bench-emit`` on a qobjects :class:`~qobjects.Server`."""
    Blockdev: Any = server.namespace.types["Blockdev"]

    @server.command("x-bench-emit")
    async def bench_emit(count: int) -> None:
        emit = Blockdev.find("ide0-hd0").io_error.emit
        drain = server.drain
        for i in range(count):
            emit(operation="read", action="stop")
            if i % EMIT_BATCH == EMIT_BATCH - 1:
                await drain()


async def serve_qobjects(path: str) -> None:
    from qobjects import Server
    from qobjects.demo import DemoBackend

    server = Server(schema=SCHEMA)
    DemoBackend().install(server)
    install_bench_emit(server)
    await server.start_unix(path)
    print("ready", flush=True)
    await server.serve_forever()


async def serve_minimal(path: str) -> None:
    from bench.minimal_server import serve

    srv = await serve(path)
    print("ready", flush=True)
    async with srv:
        await srv.serve_forever()


@contextlib.contextmanager
def running(kind: str, path: str | os.PathLike[str]) -> Iterator[subprocess.Popen[bytes]]:
    """Run server *kind* (``qobjects`` or ``minimal``) on Unix socket *path*
    in a child process until the block ends; the child is always killed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.servers", kind, "--unix", os.fspath(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError(f"the {kind} server did not start (exit status {proc.poll()})")
        yield proc
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.servers", description=__doc__)
    parser.add_argument("kind", choices=["qobjects", "minimal"])
    parser.add_argument("--unix", required=True, metavar="PATH")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    serve = serve_qobjects if args.kind == "qobjects" else serve_minimal
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.unix))


if __name__ == "__main__":
    main()
