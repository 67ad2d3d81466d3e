"""Framing and protocol throughput, in messages per second.

Run ``python bench/bench_framing.py`` (or ``python -m bench.bench_framing``).
Decoding: ordinary, nested, single-quoted, colon-bearing and non-ASCII messages,
one per read, 100 per read, and each message split over
three reads; for the bare decoder and for a server's ``receive_data``.
Encoding: a server's replies, events and signals.  Medians of several runs,
since the machine is shared.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from functools import partial

from qobjects.qmp.framing import JSONStreamDecoder, encode_json
from qobjects.qmp.protocol import Event, QMPProtocol, Return, Role, SignalMessage

# What the qemu.qmp client sends: json.dumps() defaults, no newline.
TYPICAL = json.dumps({"execute": "query-block", "arguments": {"device": "ide0-hd0"}, "id": 17}).encode()
DEEP = json.dumps(
    {"execute": "blockdev-add", "arguments": {"a": {"b": {"c": {"d": [1, 2, {"e": "x"}]}}}}, "id": 3}
).encode()
SINGLE = b"{'execute': 'query-block', 'arguments': {'device': 'ide0-hd0'}, 'id': 17}"
# Colons inside strings make the decoder check for duplicate keys the slow way;
# non-ASCII text keeps a read off the fastest path.
COLONS = json.dumps(
    {"execute": "chardev-add", "arguments": {"id": "c0", "path": "tcp:host:4444"}, "id": 5}
).encode()
NON_ASCII = json.dumps(
    {"execute": "x", "arguments": {"name": "h\u00e9\u20ac"}, "id": 1}, ensure_ascii=False
).encode()
MESSAGES = 30_000


def rate(run: Callable[[], int], repeat: int = 5) -> float:
    """Median messages per second of *run*, which returns how many it handled."""
    run()  # warm up
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        count = run()
        samples.append(count / (time.perf_counter() - t0))
    return statistics.median(samples)


def decode_reads(
    reads: list[bytes], per_pass: int, feed_of: Callable[[], Callable[[bytes], list[object]]]
) -> int:
    feed = feed_of()
    got = 0
    for data in reads:
        got += len(feed(data))
    assert got == per_pass, (got, per_pass)
    return got


def workloads(msg: bytes) -> dict[str, tuple[list[bytes], int]]:
    n = MESSAGES
    third = len(msg) // 3
    return {
        "1 per read": ([msg] * n, n),
        "100 per read": ([msg * 100] * (n // 100), n),
        "split in 3 reads": ([msg[:third], msg[third : 2 * third], msg[2 * third :]] * (n // 3), n // 3),
    }


def bench_decode() -> list[tuple[str, float]]:
    results = []
    messages = (
        ("typical", TYPICAL),
        ("nested 6 deep", DEEP),
        ("single-quoted", SINGLE),
        ("colons in strings", COLONS),
        ("non-ASCII", NON_ASCII),
    )
    for label, msg in messages:
        for shape, (reads, count) in workloads(msg).items():

            def decoder() -> Callable[[bytes], list[object]]:
                return JSONStreamDecoder().feed

            def server() -> Callable[[bytes], list[object]]:
                proto = QMPProtocol(Role.SERVER)
                proto.negotiated()
                return proto.receive_data  # type: ignore[return-value]

            layers: list[tuple[str, Callable[[], Callable[[bytes], list[object]]]]] = [
                ("decoder", decoder),
                ("server receive_data", server),
            ]
            for layer, factory in layers:
                r = rate(partial(decode_reads, reads, count, factory))
                results.append((f"decode {label}, {shape}, {layer}", r))
    return results


def bench_encode() -> list[tuple[str, float]]:
    proto = QMPProtocol(Role.SERVER)
    proto.negotiated()
    n = MESSAGES
    value = [{"device": "ide0-hd0", "type": "hd", "removable": False, "locked": False}]
    owner = {"__handle__": "Blockdev", "data": "ide0-hd0"}
    data = {"operation": "read", "action": "stop"}
    send = proto.send

    def replies() -> int:
        for i in range(n):
            send(Return(value, i, True))
        return n

    def events() -> int:
        for _ in range(n):
            send(Event("BLOCK_IO_ERROR", data, (1, 2)))
        return n

    def signals() -> int:
        for _ in range(n):
            send(SignalMessage("IO_ERROR", owner, "sess-1", data, (1, 2)))
        return n

    owner_json = encode_json(owner)
    user_json = encode_json("sess-1")

    def fast_signals() -> int:
        encode = proto.encode_signal
        for _ in range(n):
            encode("IO_ERROR", owner_json, user_json, encode_json(data), (1, 2))
        return n

    def fast_signals_10_sessions() -> int:
        encode = proto.encode_signal
        for _ in range(n // 10):
            data_json = encode_json(data)  # once per emission
            for _ in range(10):
                encode("IO_ERROR", owner_json, user_json, data_json, (1, 2))
        return n

    return [
        ("send(Return)", rate(replies)),
        ("send(Event)", rate(events)),
        ("send(SignalMessage)", rate(signals)),
        ("encode_signal (data encoded per message)", rate(fast_signals)),
        ("encode_signal (data encoded once for 10 sessions)", rate(fast_signals_10_sessions)),
    ]


def main() -> None:
    print(f"typical message ({len(TYPICAL)} bytes): {TYPICAL.decode()}")
    width = 66
    for name, r in bench_decode() + bench_encode():
        print(f"{name:<{width}} {r:>12,.0f} msg/s")


if __name__ == "__main__":
    main()
