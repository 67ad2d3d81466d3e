"""A wire fuzzer for the QMP server, checked against a small model of the spec.

One seeded :class:`random.Random` drives everything, so a run is
reproducible from its seed. Hostile sessions (opened, negotiated or not,
dropped abruptly) get batches of mixed valid and invalid input: commands with
valid arguments, wrong types in each argument position, missing and extra
members, forged handles (unknown values, wrong ``__handle__`` type, canonical
objects with extra keys), connect/disconnect out of order and with other
sessions' ids, commands in negotiation mode, non-objects, malformed and
truncated JSON, raw garbage, nesting around the 1024 limit and strings around
the message size limit.

Each batch ends with a marker request; everything before its reply is
matched, in order, against what the model expects: every readable request
object gets exactly one reply with its id echoed (or no id when it had none),
errors have ``class`` and ``desc`` and the class the spec names, unparsable
input gets errors without id. The model also predicts every emission (tray
state included), so it knows how many signals each connection, and how many
events each session in command mode, must receive; a bystander session
connected to IO_ERROR of both devices and TRAY_MOVED of the CD-ROM must see
every one, and the server's connection table must match the model's.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qobjects.qmp.server import Server
from tests.robust.support import CD, HD, LineClient, ServerThread, blockdev

DEVICES = ("ide0-hd0", "ide1-cd0")
OPS = ("read", "write")
ACTIONS = ("ignore", "report", "stop")
SIGNALS = ("IO_ERROR", "TRAY_MOVED")
EVENT_OF = {"IO_ERROR": "BLOCK_IO_ERROR", "TRAY_MOVED": "DEVICE_TRAY_MOVED"}
LIMIT = 1 << 20  # the server's default max_message_size
MAX_CONNECTIONS = 40  # the fuzzed server's max_connections, so that sessions reach it
MAX_USER_DATA = 64 << 10  # the server's default max_user_data
MAX_DEPTH = 1024
GE, CNF, IHV = "GenericError", "CommandNotFound", "InvalidHandleValue"

# command -> member -> (type, required)
COMMANDS: dict[str, dict[str, tuple[str, bool]]] = {
    "query-block": {},
    "query-version": {},
    "query-commands": {},
    "block_passwd": {"device": ("handle", True), "password": ("str", True)},
    "eject": {"device": ("handle", True), "force": ("bool", False)},
    "blockdev-open-tray": {"device": ("handle", True), "force": ("bool", False)},
    "blockdev-close-tray": {"device": ("handle", True)},
    "x-inject-io-error": {
        "device": ("handle", True),
        "operation": ("op", True),
        "action": ("action", True),
    },
}


class ModelMismatch(AssertionError):
    pass


@dataclass
class Expect:
    """What one piece of input must produce."""

    kind: str  # "return", "error" or "garbage" (any number of errors without id)
    why: str
    has_id: bool = False
    id: object = None
    classes: tuple[str, ...] = ()
    on_return: Callable[[object], None] | None = None
    forbid: str | None = None  # text the error must not contain


@dataclass
class Conn:
    signal: str
    device: str
    sid: int | None = None
    live: bool = True
    expected: int = 0
    received: int = 0


@dataclass
class Hostile:
    client: LineClient
    name: int
    explicit: bool = False
    command_mode: bool = False
    conns: dict[int, Conn] = field(default_factory=dict)  # user_data "n" -> connection
    expected_events: Counter[str] = field(default_factory=Counter)
    received_events: Counter[str] = field(default_factory=Counter)


@dataclass
class FuzzResult:
    seed: int
    messages: int = 0
    batches: int = 0
    sessions: int = 0
    replies: int = 0
    garbage_errors: int = 0
    emitted: Counter[tuple[str, str]] = field(default_factory=Counter)
    bystander_signals: Counter[tuple[str, str]] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


def _json(rng: random.Random, depth: int = 0) -> object:
    """A small random JSON value (no floats: ids must compare exactly)."""
    r = rng.random()
    if depth > 2 or r < 0.55:
        return rng.choice(
            [
                None,
                True,
                False,
                rng.randint(-(2**40), 2**40),
                rng.randint(0, 9),
                "",
                "x" * rng.randint(1, 8),
                "é\u2603\\\"'",
                "\x01\n\t",
            ]
        )
    if r < 0.8:
        return [_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {
        rng.choice(["a", "id", "execute", "__handle__", "é", ""]): _json(rng, depth + 1) for _ in range(3)
    }


WRONG: dict[str, list[object]] = {
    "str": [1, True, [], {}, ["ide0-hd0"], 0],
    "bool": [1, 0, "true", "yes", [], {}, "on"],
    "handle": [1, True, [], ["ide0-hd0"], 0],
    "op": [1, True, "READ", "nope", [], {}, ""],
    "action": [1, False, "halt", "Stop", [], ""],
}


class Fuzzer:
    def __init__(self, st: ServerThread, seed: int, messages: int) -> None:
        self.st = st
        self.rng = random.Random(seed)
        self.target = messages
        self.result = FuzzResult(seed)
        self.sessions: list[Hostile] = []
        self.next_name = 0
        self.next_user = 0
        self.tray_open = False
        self.sync_n = 0
        self.bystander = LineClient(st.path)
        self.bystander.negotiate()
        self.bystander_sids = []
        for owner, sig in ((HD, "IO_ERROR"), (CD, "IO_ERROR"), (CD, "TRAY_MOVED")):
            r = self.bystander.call({"connect": sig, "owner": owner, "user_data": "bystander"})
            self.bystander_sids.append(r["return"])
        self.server_count: Counter[tuple[str, str]] = Counter()
        Blockdev = blockdev()
        self._counters = [
            Blockdev.io_error.connect(lambda o, **_: self._count("IO_ERROR", o.value)),
            Blockdev.tray_moved.connect(lambda o, **_: self._count("TRAY_MOVED", o.value)),
        ]

    def _count(self, signal: str, device: str) -> None:
        self.server_count[(signal, device)] += 1

    def close(self) -> None:
        for c in self._counters:
            c.disconnect(missing_ok=True)
        for s in self.sessions:
            s.client.close()
        self.bystander.close()

    # --- the model's effects ---------------------------------------------------------

    def emit(self, signal: str, device: str) -> None:
        self.result.emitted[(signal, device)] += 1
        for s in self.sessions:
            if s.command_mode:
                s.expected_events[EVENT_OF[signal]] += 1
            for c in s.conns.values():
                if c.live and c.signal == signal and c.device == device:
                    c.expected += 1

    def move_tray(self, open_: bool) -> None:
        if self.tray_open != open_:
            self.tray_open = open_
            self.emit("TRAY_MOVED", "ide1-cd0")

    # --- generation ------------------------------------------------------------------

    def ident(self) -> tuple[bool, object]:
        if self.rng.random() < 0.2:
            return False, None
        return True, _json(self.rng)

    def request(self, msg: dict[str, object], kind: str, why: str, *classes: str) -> tuple[bytes, Expect]:
        has_id, id_ = self.ident()
        if has_id:
            msg["id"] = id_
        self.result.kinds[why] += 1
        return json.dumps(msg).encode() + b"\n", Expect(kind, why, has_id, id_, classes)

    def handle_value(self, device: str) -> object:
        return {"__handle__": "Blockdev", "data": device} if self.rng.random() < 0.5 else device

    def valid_args(self, name: str) -> tuple[dict[str, object], str]:
        rng = self.rng
        device = rng.choice(DEVICES)
        args: dict[str, object] = {}
        for member, (typ, required) in COMMANDS[name].items():
            if not required and rng.random() < 0.5:
                if rng.random() < 0.3:
                    args[member] = None  # an absent optional member, spelt null
                continue
            value: object
            if typ == "handle":
                value = self.handle_value(device)
            elif typ == "str":
                value = "x" * rng.randint(0, 20)
            elif typ == "bool":
                value = rng.random() < 0.5
            else:
                value = rng.choice(OPS if typ == "op" else ACTIONS)
            args[member] = value
        return args, device

    def gen_command(self, s: Hostile) -> tuple[bytes, Expect]:
        rng = self.rng
        name = rng.choice(list(COMMANDS))
        args, device = self.valid_args(name)
        members = COMMANDS[name]
        defect = rng.random()
        msg: dict[str, object] = {"execute": name}
        if not s.command_mode:
            if args:
                msg["arguments"] = args
            return self.request(msg, "error", "command in negotiation mode", CNF)
        classes: tuple[str, ...] = ()
        why = "valid command"
        if defect < 0.45:
            pass
        elif defect < 0.6 and members:
            member = rng.choice(list(members))
            args[member] = rng.choice(WRONG[members[member][0]])
            why, classes = f"wrong type for {member}", (GE,)
        elif defect < 0.68 and any(r for _, r in members.values()):
            member = rng.choice([m for m, (_, r) in members.items() if r])
            args.pop(member, None)
            why, classes = f"missing {member}", (GE,)
        elif defect < 0.76:
            args[rng.choice(["extra", "__x", "Device", "id"])] = _json(rng)
            why, classes = "unknown member", (GE,)
        elif "device" in members:
            forged, classes = rng.choice(
                [
                    ("nope", (IHV,)),
                    ("", (IHV,)),
                    ("IDE0-HD0", (IHV,)),
                    ({"__handle__": "Blockdev", "data": "nope"}, (IHV,)),
                    ({"__handle__": 5, "data": "ide0-hd0"}, (GE,)),
                    ({"__handle__": "Nope", "data": "ide0-hd0"}, (GE,)),
                    ({"__handle__": "Blockdev", "data": 7}, (GE, IHV)),
                    ({"__handle__": "Blockdev", "data": "ide0-hd0", "x": 1}, (GE,)),
                    ({"__handle__": "Blockdev"}, (GE,)),
                    ({"data": "ide0-hd0"}, (GE,)),
                ]
            )
            args["device"] = forged
            why = "forged handle"
        if rng.random() < 0.9 or args:
            msg["arguments"] = args
        if classes:
            return self.request(msg, "error", why, *classes)
        # A valid call: what the demo backend does with it.
        cd = device == "ide1-cd0"
        if name in ("eject", "blockdev-open-tray", "blockdev-close-tray") and not cd:
            return self.request(msg, "error", f"{name} on a fixed disk", GE)
        if name in ("eject", "blockdev-open-tray"):
            self.move_tray(True)
        elif name == "blockdev-close-tray":
            self.move_tray(False)
        elif name == "x-inject-io-error":
            self.emit("IO_ERROR", device)
        return self.request(msg, "return", why)

    def gen_unknown_command(self, s: Hostile) -> tuple[bytes, Expect]:
        name = self.rng.choice(["nope", "", "query-block ", "QUERY-BLOCK", "x-debug", "__org.qemu_x"])
        cls = CNF
        return self.request({"execute": name}, "error", "unknown command", cls)

    def gen_negotiation(self, s: Hostile) -> tuple[bytes, Expect]:
        rng = self.rng
        r = rng.random()
        if rng.random() < 0.3:
            args: dict[str, object] = {"x": 1} if r < 0.3 else {"enable": rng.choice([["oob"], "oob", [1]])}
            return self.request(
                {"execute": "qmp_capabilities", "arguments": args},
                "error",
                "qmp_capabilities with bad arguments" if s.command_mode is False else "renegotiation",
                CNF if s.command_mode else GE,
            )
        if rng.random() < 0.6:
            msg: dict[str, object] = {"execute": "set-explicit-handles"}
            if s.command_mode:
                return self.request(msg, "error", "set-explicit-handles too late", GE)
            if rng.random() < 0.2:
                msg["arguments"] = {"a": 1}
                return self.request(msg, "error", "set-explicit-handles with arguments", GE)
            s.explicit = True
            return self.request(msg, "return", "set-explicit-handles")
        if s.command_mode:
            return self.request({"execute": "qmp_capabilities"}, "error", "renegotiation", CNF)
        s.command_mode = True
        return self.request({"execute": "qmp_capabilities", "arguments": {}}, "return", "qmp_capabilities")

    def gen_connect(self, s: Hostile) -> tuple[bytes, Expect]:
        rng = self.rng
        signal = rng.choice(SIGNALS)
        device = rng.choice(DEVICES)
        self.next_user += 1
        n = self.next_user
        msg: dict[str, object] = {
            "connect": signal,
            "owner": {"__handle__": "Blockdev", "data": device},
            "user_data": {"n": n, "x": _json(rng)},
        }
        if not s.command_mode:
            return self.request(msg, "error", "connect in negotiation mode", CNF)
        if not s.explicit:
            return self.request(msg, "error", "connect without explicit handles", GE)
        if sum(c.live for c in s.conns.values()) >= MAX_CONNECTIONS:
            return self.request(msg, "error", "connect over max_connections", GE)
        r = rng.random()
        if r < 0.03:
            msg["user_data"] = {"n": n, "x": "x" * (MAX_USER_DATA - rng.randint(-4, 12))}
            return self.request(msg, "error", "user_data over max_user_data", GE)
        if r < 0.25:
            msg["owner"], classes = rng.choice(
                [
                    (device, (GE,)),
                    ({"__handle__": "Blockdev", "data": "nope"}, (IHV,)),
                    ({"__handle__": "Blockdev", "data": 3}, (IHV,)),
                    ({"__handle__": ["Blockdev"], "data": device}, (GE,)),
                    ({"__handle__": "Blockdev", "data": device, "extra": None}, (GE,)),
                    ([device], (GE,)),
                ]
            )
            return self.request(msg, "error", "connect with a forged owner", *classes)
        if r < 0.32:
            msg["connect"] = rng.choice(["NOPE", "io_error", "BLOCK_IO_ERROR", ""])
            return self.request(msg, "error", "connect to an unknown signal", GE)
        conn = Conn(signal, device)
        s.conns[n] = conn
        data, exp = self.request(msg, "return", "connect")

        def got(value: object) -> None:
            if type(value) is not int:
                raise ModelMismatch(f"connect returned {value!r}")
            conn.sid = value

        exp.on_return = got
        return data, exp

    def gen_disconnect(self, s: Hostile) -> tuple[bytes, Expect]:
        rng = self.rng
        mine = [c for c in s.conns.values() if c.sid is not None]
        live = [c for c in mine if c.live]
        others = [
            c.sid
            for o in self.sessions
            if o is not s
            for c in o.conns.values()
            if c.live and c.sid is not None
        ] + self.bystander_sids
        r = rng.random()
        if not s.command_mode:
            cid: object = live[0].sid if live else 1
            msg = {"disconnect": cid, "owner": HD}
            return self.request(msg, "error", "disconnect in negotiation mode", CNF)
        if live and r < 0.45:
            c = rng.choice(live)
            owner = {"__handle__": "Blockdev", "data": c.device}
            if rng.random() < 0.2:
                other = DEVICES[1 - DEVICES.index(c.device)]
                return self.request(
                    {"disconnect": c.sid, "owner": {"__handle__": "Blockdev", "data": other}},
                    "error",
                    "disconnect with the wrong owner",
                    GE,
                )
            if rng.random() < 0.1:
                return self.request(
                    {"disconnect": c.sid, "owner": {"__handle__": "Blockdev", "data": "nope"}},
                    "error",
                    "disconnect with a forged owner",
                    GE,  # not the connection's owner; never looked up
                )
            c.live = False
            return self.request({"disconnect": c.sid, "owner": owner}, "return", "disconnect")
        if r < 0.6 and others:
            sid = rng.choice(others)
            return self.request({"disconnect": sid, "owner": rng.choice([HD, CD])}, "error", "other's id", GE)
        if r < 0.75 and len(mine) > len(live):
            c = rng.choice([c for c in mine if not c.live])
            owner = {"__handle__": "Blockdev", "data": c.device}
            return self.request({"disconnect": c.sid, "owner": owner}, "error", "double disconnect", GE)
        if r < 0.9:
            own = {c.sid for c in live}
            sid = rng.choice([0, -1, 2**63, 10**12 + rng.randint(0, 99)])
            assert sid not in own
            return self.request({"disconnect": sid, "owner": HD}, "error", "disconnect of no connection", GE)
        bad = rng.choice([True, "1", 1.0, None, [1], {"id": 1}])
        return self.request({"disconnect": bad, "owner": HD}, "error", "disconnect id not an integer", GE)

    def gen_shape(self, s: Hostile) -> tuple[bytes, Expect]:
        rng = self.rng
        msg: dict[str, object] = rng.choice(
            [
                {},
                {"execute": 5},
                {"execute": None},
                {"execute": ["query-block"]},
                {"execute": "query-block", "arguments": []},
                {"execute": "query-block", "arguments": "x"},
                {"execute": "query-block", "arguments": None},
                {"execute": "query-block", "extra": 1},
                {"execute": "query-block", "connect": "IO_ERROR", "owner": HD},
                {"execute": "query-block", "exec-oob": "query-block"},
                {"exec-oob": "query-block"},
                {"connect": 5, "owner": HD},
                {"connect": "IO_ERROR"},
                {"disconnect": 1},
                {"connect": "IO_ERROR", "owner": HD, "arguments": {}},
                {"disconnect": 1, "owner": HD, "user_data": 1},
                {"owner": HD},
                {"arguments": {}},
                {"EXECUTE": "query-block"},
            ]
        )
        return self.request(msg.copy(), "error", "bad request shape", GE)

    def gen_not_object(self, s: Hostile) -> tuple[bytes, Expect]:
        value = self.rng.choice([None, 1, -2.5, "execute", True, [], [{"execute": "query-block"}]])
        self.result.kinds["not an object"] += 1
        return json.dumps(value).encode() + b"\n", Expect("error", "not an object", classes=(GE,))

    def gen_truncated(self, s: Hostile) -> tuple[bytes, Expect]:
        rng = self.rng
        full = json.dumps(
            {
                "execute": "block_passwd",
                "arguments": {"device": "ide0-hd0", "password": 'a\\"b\u00e9'},
                "id": 1,
            }
        ).encode()
        cut = rng.randint(1, len(full) - 1)
        self.result.kinds["truncated"] += 1
        return full[:cut] + b"\x01\n", Expect("error", f"truncated at {cut}", classes=(GE,))

    def gen_malformed(self, s: Hostile) -> tuple[bytes, Expect]:
        raw = self.rng.choice(
            [
                b'{"execute": ]',
                b'{"execute" "query-block"}',
                b'{"execute": "query-block",}',
                b"{execute: 1}",
                b'{"a": tru}',
                # A lexical error inside an object: QEMU skips to the new line, so one error
                # (with the closing brace there, it would answer a second one for the brace).
                b'{"a": NaN',
                b'{"a": 01',
                b'{"a": "\\q"}',
                b'{"a": "\xc3\x28"}',
                b'{"a": "\xc3"}',
                b'{"a": 1]',
            ]
        )
        self.result.kinds["malformed"] += 1
        return raw + b"\n", Expect("error", f"malformed {raw!r}", classes=(GE,))

    def gen_garbage(self, s: Hostile) -> tuple[bytes, Expect]:
        rng = self.rng
        alphabet = [b for b in range(256) if b != ord("{")]
        data = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 80)))
        self.result.kinds["garbage"] += 1
        return data + b"\x01\n", Expect("garbage", "raw garbage")

    def gen_non_finite(self, s: Hostile) -> tuple[bytes, Expect]:
        """Numbers JSON output cannot carry: an id is refused without echo, user_data with it."""
        rng = self.rng
        number = rng.choice([b"1e400", b"-1e400", b"1.5e999", b"-9" + b"9" * 400 + b".5"])
        self.result.kinds["non-finite number"] += 1
        if rng.random() < 0.6:
            where = rng.choice([b"%s", b"[%s]", b'{"a": [1, %s]}'])
            raw = b'{"execute": "query-version", "id": ' + where.replace(b"%s", number) + b"}\n"
            return raw, Expect("error", f"non-finite id {number[:12]!r}", classes=(GE,))
        tag = f"nf-{self.next_user}"
        raw = (
            b'{"connect": "IO_ERROR", "owner": {"__handle__": "Blockdev", "data": "ide0-hd0"}, '
            b'"user_data": [' + number + b'], "id": "' + tag.encode() + b'"}\n'
        )
        cls = GE if s.command_mode else CNF
        return raw, Expect("error", "non-finite user_data", True, tag, (cls,))

    def gen_framing(self, s: Hostile) -> tuple[bytes, Expect]:
        """Input QEMU's parser reads differently from a line-based one (as QEMU does here)."""
        rng = self.rng
        r = rng.random()
        cls = GE if s.command_mode else CNF
        tag = f"fr-{self.sync_n}-{rng.randint(0, 10**6)}"
        if r < 0.4:
            # A line starting with '{' inside an open value does not start a new one:
            # this is one query-block with two unexpected arguments, and no tray moves.
            inner = b'{"execute": "blockdev-open-tray", "arguments": {"device": "ide1-cd0"}}'
            raw = b'{"execute": "query-block", "arguments":\n' + inner + b', "id": "' + tag.encode() + b'"}\n'
            self.result.kinds["framing: value across lines"] += 1
            return raw, Expect("error", "a '{' line inside an open value", True, tag, (cls,))
        if r < 0.7:
            raw = rng.choice(
                [
                    b'{"execute": "query-version", "execute": "blockdev-open-tray", '
                    b'"arguments": {"device": "ide1-cd0"}, "id": 1}',
                    b'{"execute": "blockdev-open-tray", '
                    b'"arguments": {"device": "ide0-hd0", "device": "ide1-cd0"}}',
                    b'{"execute": "query-version", "id": 1, "id": 2}',
                ]
            )
            self.result.kinds["framing: duplicate key"] += 1
            return raw + b"\n", Expect("error", f"duplicate key {raw[:40]!r}", classes=(GE,))
        digits = b"9" * rng.randint(4300, 6000)
        self.result.kinds["framing: over-long integer"] += 1
        forbid = "int_max_str_digits"
        if rng.random() < 0.5:
            raw = b'{"execute": "query-version", "id": ' + digits + b"}\n"
            return raw, Expect("error", "over-long integer id", classes=(GE,), forbid=forbid)
        raw = (
            b'{"execute": "eject", "arguments": {"device": "ide1-cd0", "force": '
            + digits
            + b'}, "id": "'
            + tag.encode()
            + b'"}\n'
        )
        return raw, Expect("error", "over-long integer argument", True, tag, (cls,), forbid=forbid)

    def gen_deep(self, s: Hostile) -> tuple[bytes, Expect]:
        rng = self.rng
        depth = rng.randint(MAX_DEPTH - 8, MAX_DEPTH + 8)
        self.result.kinds["deep nesting"] += 1
        if rng.random() < 0.5:
            raw = b"[" * depth + b"]" * depth + b"\n"
            why = "deep array (not an object)" if depth <= MAX_DEPTH else "array too deep"
            return raw, Expect("error", why, classes=(GE,))
        m = depth - 2
        raw = b'{"execute": "query-version", "arguments": {"a": ' + b"[" * m + b"]" * m + b'}, "id": "deep"}'
        if depth <= MAX_DEPTH:
            return raw + b"\n", Expect(
                "error", "deep but allowed", True, "deep", (GE if s.command_mode else CNF,)
            )
        return raw + b"\n", Expect("error", "object too deep", classes=(GE,))

    def gen_huge(self, s: Hostile) -> tuple[bytes, Expect]:
        rng = self.rng
        size = LIMIT + rng.choice([-1, 0, 1, 2, -100, 100])
        head = b'{"execute": "block_passwd", "arguments": {"device": "ide0-hd0", "password": "'
        tail = b'"}, "id": "huge"}'
        raw = head + b"p" * (size - len(head) - len(tail)) + tail
        assert len(raw) == size
        self.result.kinds["huge"] += 1
        if size > LIMIT:
            return raw + b"\n", Expect("error", "over the size limit", classes=(GE,))
        if not s.command_mode:
            return raw + b"\n", Expect("error", "huge in negotiation", True, "huge", (CNF,))
        return raw + b"\n", Expect("return", "just under the size limit", True, "huge")

    GENERATORS: tuple[tuple[float, str], ...] = (
        (24, "gen_command"),
        (10, "gen_connect"),
        (9, "gen_disconnect"),
        (6, "gen_negotiation"),
        (7, "gen_shape"),
        (4, "gen_not_object"),
        (5, "gen_truncated"),
        (4, "gen_malformed"),
        (3, "gen_unknown_command"),
        (2, "gen_garbage"),
        (1.5, "gen_deep"),
        (1.5, "gen_non_finite"),
        (1.5, "gen_framing"),
        (0.15, "gen_huge"),
    )

    def pick(self, s: Hostile) -> tuple[bytes, Expect]:
        names = [n for _, n in self.GENERATORS]
        weights = [w for w, _ in self.GENERATORS]
        if not s.command_mode:
            weights[names.index("gen_negotiation")] = 30
        name = self.rng.choices(names, weights)[0]
        gen: Callable[[Hostile], tuple[bytes, Expect]] = getattr(self, name)
        return gen(s)

    # --- sessions --------------------------------------------------------------------

    def open_session(self) -> Hostile:
        client = LineClient(self.st.path)
        greeting = client.read()
        if "QMP" not in greeting:
            raise ModelMismatch(f"bad greeting {greeting}")
        self.next_name += 1
        s = Hostile(client, self.next_name)
        self.sessions.append(s)
        self.result.sessions += 1
        return s

    def drop_session(self, s: Hostile) -> None:
        """End a session abruptly: plainly, mid-message or right after a request."""
        how = self.rng.random()
        if how < 0.3:
            s.client.send_raw(b'{"execute": "query-block", "argum')
        elif how < 0.6:
            s.client.send_raw(
                b'{"execute": "query-block"}\n{"execute": "x-inject-io-error", "arguments": {}}'
            )
        s.client.close()
        self.sessions.remove(s)

    # --- running -----------------------------------------------------------------------

    def process_push(self, s: Hostile, msg: dict[str, Any]) -> None:
        if "event" in msg:
            s.received_events[msg["event"]] += 1
            return
        user = msg.get("user_data")
        n = user.get("n") if isinstance(user, dict) else None
        conn = s.conns.get(n) if isinstance(n, int) else None
        if conn is None:
            raise ModelMismatch(f"session {s.name} got a signal for no connection of its own: {msg}")
        want = {"__handle__": "Blockdev", "data": conn.device}
        if msg["signal"] != conn.signal or msg["owner"] != want:
            raise ModelMismatch(f"signal {msg} for connection {conn}")
        conn.received += 1

    def check(self, exp: Expect, reply: dict[str, Any]) -> None:
        where = f"{exp.why}: got {reply}"
        if ("return" in reply) == ("error" in reply):
            raise ModelMismatch(f"neither or both of return/error: {where}")
        if exp.has_id != ("id" in reply) or (exp.has_id and reply["id"] != exp.id):
            raise ModelMismatch(f"id {exp.id!r} (has_id={exp.has_id}) not echoed right: {where}")
        if exp.kind == "return":
            if "return" not in reply:
                raise ModelMismatch(f"expected success: {where}")
            if exp.on_return is not None:
                exp.on_return(reply["return"])
            return
        if "error" not in reply:
            raise ModelMismatch(f"expected an error: {where}")
        err = reply["error"]
        if set(err) != {"class", "desc"} or not isinstance(err["desc"], str):
            raise ModelMismatch(f"error without class/desc: {where}")
        if exp.classes and err["class"] not in exp.classes:
            raise ModelMismatch(f"expected class {exp.classes}: {where}")
        if exp.forbid is not None and exp.forbid in err["desc"]:
            raise ModelMismatch(f"the error says {exp.forbid!r}: {where}")

    def run_batch(self, s: Hostile) -> None:
        rng = self.rng
        pieces: list[bytes] = []
        expects: list[Expect] = []
        for _ in range(rng.randint(1, 25)):
            data, exp = self.pick(s)
            pieces.append(data)
            expects.append(exp)
            self.result.messages += 1
            if exp.kind == "garbage":
                break
        self.sync_n += 1
        tag = f"sync-{self.sync_n}"
        payload = b"".join(pieces) + json.dumps({"execute": "query-version", "id": tag}).encode()
        # Split the bytes anywhere: the server must not care where reads end.
        cuts = sorted(rng.sample(range(1, len(payload)), min(len(payload) - 1, rng.randint(0, 3))))
        start = 0
        for cut in [*cuts, len(payload)]:
            s.client.send_raw(payload[start:cut])
            start = cut
        i = 0
        while True:
            reply = s.client.reply()
            self.result.replies += 1
            if reply.get("id") == tag and (i >= len(expects) or expects[i].kind == "garbage"):
                break
            if i >= len(expects):
                raise ModelMismatch(f"an extra reply {reply} (batch {self.result.batches})")
            exp = expects[i]
            if exp.kind == "garbage":
                if "error" not in reply or "id" in reply:
                    raise ModelMismatch(f"garbage gave {reply}")
                self.result.garbage_errors += 1
                continue
            self.check(exp, reply)
            i += 1
        for msg in s.client.pushed:
            self.process_push(s, msg)
        s.client.pushed.clear()
        self.result.batches += 1

    def checkpoint(self) -> None:
        """Every session's pushes so far, the bystander's counts, the server's tables."""
        for s in self.sessions:
            self.sync_n += 1
            if not s.command_mode:
                continue
            extra = s.client.sync(f"sync-{self.sync_n}")
            if extra:
                raise ModelMismatch(f"unexpected replies {extra}")
            for msg in s.client.pushed:
                self.process_push(s, msg)
            s.client.pushed.clear()
            for n, c in s.conns.items():
                if c.received != c.expected:
                    raise ModelMismatch(
                        f"session {s.name} connection {n} {c}: {c.received} signals, {c.expected} expected"
                    )
            if s.received_events != s.expected_events:
                raise ModelMismatch(f"session {s.name} events {s.received_events} != {s.expected_events}")
        self.sync_n += 1
        self.bystander.sync(f"sync-{self.sync_n}")
        got: Counter[tuple[str, str]] = Counter()
        for msg in self.bystander.pushed:
            if "signal" in msg:
                assert msg["user_data"] == "bystander"
                got[(msg["signal"], msg["owner"]["data"])] += 1
        self.bystander.pushed.clear()
        self.result.bystander_signals.update(got)
        watched = [("IO_ERROR", "ide0-hd0"), ("IO_ERROR", "ide1-cd0"), ("TRAY_MOVED", "ide1-cd0")]
        want = {k: self.result.emitted[k] for k in watched}
        have = {k: self.result.bystander_signals[k] for k in watched}
        if have != want:
            raise ModelMismatch(f"bystander saw {have}, the model emitted {want}")
        if dict(self.server_count) != {k: v for k, v in self.result.emitted.items() if v}:
            raise ModelMismatch(f"server emitted {self.server_count}, the model {self.result.emitted}")
        expected_ids = set(self.bystander_sids) | {
            c.sid for s in self.sessions for c in s.conns.values() if c.live and c.sid is not None
        }

        def table(server: Server = self.st.server) -> set[int]:
            return set(server.connections)

        for _ in range(200):  # dropped sessions are cleaned up when the server sees them go
            if self.st.call(table) == expected_ids:
                break
            self.st.settle()
        else:
            raise ModelMismatch(f"server connections {self.st.call(table)} != model {expected_ids}")

    def run(self) -> FuzzResult:
        rng = self.rng
        for _ in range(3):
            self.open_session()
        batches = 0
        while self.result.messages < self.target:
            r = rng.random()
            if r < 0.03 and len(self.sessions) < 6:
                self.open_session()
            elif r < 0.05 and len(self.sessions) > 1:
                self.drop_session(rng.choice(self.sessions))
            if not self.sessions:
                self.open_session()
            self.run_batch(rng.choice(self.sessions))
            batches += 1
            if batches % 40 == 0:
                self.checkpoint()
        self.checkpoint()
        return self.result


def run_fuzz(path: Path, seed: int, messages: int) -> FuzzResult:
    """Fuzz a fresh demo server at *path* with at least *messages* messages."""
    import time

    t0 = time.perf_counter()
    with ServerThread(path, max_connections=MAX_CONNECTIONS) as st:
        fuzzer = Fuzzer(st, seed, messages)
        try:
            result = fuzzer.run()
        finally:
            fuzzer.close()
        # The server is still healthy: a new session works.
        c = LineClient(path)
        c.negotiate()
        assert "return" in c.call({"execute": "query-block"})
        c.close()
    result.seconds = time.perf_counter() - t0
    return result
