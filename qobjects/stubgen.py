"""Schema model -> ``.pyi`` stubs for mypy.

``qobjects stubgen [SCHEMA] -o DIR`` writes the stubs of the classes that
``qobjects.build(SCHEMA)`` makes and of the session methods of its commands.

- Without SCHEMA (the bundled default schema) it writes the stub package of
  ``qobjects`` itself, ``DIR/qobjects/__init__.pyi``: the public API
  re-exported from the real modules, the schema's classes and typed
  ``Session``/``AsyncSession``/``connect``/``aconnect``. Only ``__init__`` is
  stubbed: mypy, given ``DIR`` on its ``mypy_path``, takes every submodule
  (``qobjects.objects``, ``qobjects.signals``...) from the source.
- With SCHEMA it writes a standalone, types-only module
  ``DIR/<name>.pyi`` (``--module``; by default the schema file's stem).

The generator reads the checked model, not the built classes, and follows
the rules of :func:`qobjects.objects.build` (names, members, branches).
Output is deterministic: definition order, no paths, no dates. See
``docs/typing.md`` for what the stubs say and what they cannot say.
"""

from __future__ import annotations

import argparse
import itertools
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qobjects.codecs import py_name
from qobjects.schema import (
    AlternateType,
    ArrayType,
    BuiltinType,
    Command,
    Entity,
    EnumType,
    HandleType,
    ObjectMember,
    ObjectType,
    Schema,
    Signal,
    Type,
    load_schema,
)

__all__ = ["add_stubgen", "generate", "run_stubgen", "write_server_stubs", "write_stubs"]

#: Signals with at most this many data members get an overload for every
#: subset of members (shorter slots); larger ones only owner-only and full.
MAX_SUBSET_MEMBERS = 3

_INTS = {"int", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "size"}
_BUILTIN = {"str": "str", "number": "float", "bool": "bool", "null": "None", "any": "object"}
_STR_METHODS = frozenset(n for n in dir(str) if not n.startswith("_"))
_BUILTIN_NAMES = {"str", "int", "float", "bool", "object", "type", "list", "None"}


def _quote_doc(text: str, indent: str) -> list[str]:
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').rstrip()
    if text.endswith('"'):
        text += " "
    lines = text.split("\n")
    if len(lines) == 1:
        return [f'{indent}"""{lines[0]}"""']
    out = [f'{indent}"""{lines[0]}']
    out += [f"{indent}{line}" if line.strip() else "" for line in lines[1:]]
    out.append(f'{indent}"""')
    return out


def entity_doc(ent: Entity) -> str | None:
    """The docstring of *ent*, as :func:`qobjects.objects.build` makes it."""
    return None if ent.doc is None else ent.doc.docstring()


@dataclass(frozen=True, slots=True)
class _Param:
    py: str
    ann: str
    optional: bool

    def text(self) -> str:
        return f"{self.py}: {self.ann} = ..." if self.optional else f"{self.py}: {self.ann}"


# --- the generator ------------------------------------------------------------------


_PACKAGE_HEADER = """\
from typing import Any, ClassVar, Literal, Protocol, Self, TypeAlias, TypeVar, overload, type_check_only

import asyncio
import builtins
import enum
import os
import ssl as _ssl
from collections.abc import Callable, Sequence

from qobjects.errors import SlotError as _SlotError
from qobjects.objects import Alternate as _Alternate
from qobjects.objects import Handle as _Handle
from qobjects.objects import Namespace as _Namespace
from qobjects.objects import Struct as _Struct
from qobjects.objects import UnionBase as _UnionBase
from qobjects.qmp.listeners import AsyncEventListener as _AsyncEventListener
from qobjects.qmp.listeners import EventListener as _EventListener
from qobjects.qmp.notify import StateChanged as _StateChanged
from qobjects.qmp.protocol import Greeting as _Greeting
from qobjects.qmp.runstate import Runstate as _Runstate
from qobjects.schema import Schema as _Schema
from qobjects.signals import BoundSignal as _BoundSignal
from qobjects.signals import Connection as _Connection
from qobjects.signals import Signal as _Signal
"""

_H = '_H = TypeVar("_H", bound=_Handle)'

# The keyword options of Signal.connect and BoundSignal.connect (qobjects.signals).
_CONNECT_OPTIONS = (
    ", *, once: bool = ..., loop: asyncio.AbstractEventLoop | None = ..., unique: bool = ...,"
    " weak: bool | None = ..., check_types: bool = ..."
)

_SESSIONS = '''\
class AsyncSession:
    """A QMP client session (asyncio), with a typed method per command of the schema.

    Made by :func:`aconnect`; see :class:`qobjects.qmp.client.AsyncSession`.
    """

    address: str | os.PathLike[str]
    ask_explicit: bool
    namespace: _Namespace
    reconnect: bool
    timeout: float | None
    ssl: _ssl.SSLContext | None
    explicit: bool
    greeting: _Greeting | None
    state_changed: _StateChanged
    slot_error: Callable[[_SlotError], Any] | None
    def __init__(
        self,
        address: str | os.PathLike[str],
        namespace: _Namespace,
        *,
        reconnect: bool = False,
        timeout: float | None = 10.0,
        ask_explicit: bool = True,
        ssl: _ssl.SSLContext | None = None,
    ) -> None: ...
    @property
    def connected(self) -> bool: ...
    @property
    def runstate(self) -> _Runstate: ...
    @property
    def oob(self) -> bool: ...
    def get(self, cls: type[_H], value: object) -> _H: ...
    def add_event_listener(
        self, listener: Callable[[str, dict[str, Any] | None, tuple[int, int]], Any]
    ) -> Callable[[str, dict[str, Any] | None, tuple[int, int]], Any]: ...
    def remove_listener(self, listener: Any) -> None: ...
    loop: asyncio.AbstractEventLoop | None
    async def close(self) -> None: ...
    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def execute(
        self,
        command: str,
        arguments: dict[str, Any] | None = None,
        /,
        *,
        timeout: float | None = ...,
        fds: Sequence[int] = (),
        oob: bool = False,
        **kwargs: Any,
    ) -> Any: ...
    async def execute_raw(
        self,
        command: str,
        arguments: dict[str, object] | None = None,
        *,
        timeout: float | None = ...,
        fds: Sequence[int] = (),
        oob: bool = False,
    ) -> object: ...
    def listen(self, *names: str, max_queued: int = ...) -> _AsyncEventListener: ...
    async def flush(self) -> None: ...
@@ASYNC@@

class Session:
    """A synchronous session, with a typed method per command of the schema.

    Made by :func:`connect`; see :class:`qobjects.qmp.client.Session`.
    """

    address: str | os.PathLike[str]
    ask_explicit: bool
    namespace: _Namespace
    reconnect: bool
    timeout: float | None
    ssl: _ssl.SSLContext | None
    explicit: bool
    greeting: _Greeting | None
    state_changed: _StateChanged
    slot_error: Callable[[_SlotError], Any] | None
    def __init__(
        self,
        address: str | os.PathLike[str],
        namespace: _Namespace,
        *,
        reconnect: bool = False,
        timeout: float | None = 10.0,
        ask_explicit: bool = True,
        ssl: _ssl.SSLContext | None = None,
    ) -> None: ...
    @property
    def connected(self) -> bool: ...
    @property
    def runstate(self) -> _Runstate: ...
    @property
    def oob(self) -> bool: ...
    def get(self, cls: type[_H], value: object) -> _H: ...
    def add_event_listener(
        self, listener: Callable[[str, dict[str, Any] | None, tuple[int, int]], Any]
    ) -> Callable[[str, dict[str, Any] | None, tuple[int, int]], Any]: ...
    def remove_listener(self, listener: Any) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> None: ...
    def execute(
        self,
        command: str,
        arguments: dict[str, Any] | None = None,
        /,
        *,
        timeout: float | None = ...,
        fds: Sequence[int] = (),
        oob: bool = False,
        **kwargs: Any,
    ) -> Any: ...
    def execute_raw(
        self,
        command: str,
        arguments: dict[str, object] | None = None,
        *,
        timeout: float | None = ...,
        fds: Sequence[int] = (),
        oob: bool = False,
    ) -> object: ...
    def listen(self, *names: str, max_queued: int = ...) -> _EventListener: ...
    def flush(self) -> None: ...
@@SYNC@@

async def aconnect(
    address: str | os.PathLike[str],
    schema: _Schema | str | os.PathLike[str] | None = None,
    reconnect: bool = False,
    *,
    namespace: _Namespace | None = None,
    timeout: float | None = 10.0,
    ssl: _ssl.SSLContext | None = None,
) -> AsyncSession:
    """Connect to a QMP server and negotiate; see :func:`qobjects.qmp.client.aconnect`."""

def connect(
    address: str | os.PathLike[str],
    schema: _Schema | str | os.PathLike[str] | None = None,
    reconnect: bool = False,
    *,
    namespace: _Namespace | None = None,
    timeout: float | None = 10.0,
    ssl: _ssl.SSLContext | None = None,
) -> Session:
    """Like :func:`aconnect`, for synchronous code; see :func:`qobjects.qmp.client.connect`."""
'''

#: Names the session templates define (commands of these names are shadowed at runtime too).
SESSION_NAMES = frozenset(
    {
        "address", "ask_explicit", "namespace", "reconnect", "timeout", "explicit", "greeting",
        "state_changed", "loop", "connected", "close", "execute", "get", "add_event_listener",
        "flush", "execute_raw", "listen", "remove_listener", "runstate", "oob", "slot_error", "ssl",
    }
)  # fmt: skip


class _Generator:
    """One stub module for one schema."""

    def __init__(self, schema: Schema, *, package: bool, source: str, literal_enums: bool = False) -> None:
        self.schema = schema
        self.package = package
        self.source = source
        # A server's enums decode to plain strings (qobjects.qmp.introspect).
        self.literal_enums = literal_enums
        self.out: list[str] = []
        self.aliases: list[str] = []
        self.names: dict[str, str] = {}  # QAPI type name -> Python name
        for ent in schema.entities:
            if isinstance(ent, (EnumType, ObjectType, AlternateType, HandleType)):
                if isinstance(ent, EnumType) and ent.name == "QType":
                    self.names[ent.name] = "_QType"  # implicit: a codec at runtime, not exported
                elif not ent.is_implicit():
                    self.names[ent.name] = py_name(ent.name)
        reserved = self._reserved()
        clash = sorted(n for n in self.names.values() if n in reserved)
        if clash:
            raise ValueError(f"schema type names clash with names of the stub module: {', '.join(clash)}")

    def _reserved(self) -> set[str]:
        names = {"AsyncSession", "Session", "aconnect", "connect", "_H"}
        if self.package:
            import qobjects

            names |= set(qobjects.__all__)
        return names

    # -- annotations ---------------------------------------------------------------

    def ann(self, t: Type, *, inp: bool, shadow: frozenset[str] = frozenset()) -> str:
        """The annotation of values of *t*: accepted ones when *inp*, else produced ones."""
        if isinstance(t, ArrayType):
            elem = self.ann(t.element_type, inp=inp, shadow=shadow)
            seq = "Sequence" if inp else "list"
            return f"{self._q(seq, shadow)}[{elem}]"
        if isinstance(t, BuiltinType):
            name = "int" if t.name in _INTS else _BUILTIN[t.name]
            return self._q(name, shadow)
        if isinstance(t, EnumType):
            name = self._q(self.names[t.name], shadow)
            if self.literal_enums and not inp:
                return f"_{self.names[t.name].lstrip('_')}_Values"
            return f"_{self.names[t.name].lstrip('_')}_In" if inp else name
        if isinstance(t, AlternateType):
            py = self.names[t.name]
            if inp and self._alt_differs(t):
                return f"_{py}_In"
            return self._q(py, shadow)
        return self._q(self.names[t.name], shadow)

    def _q(self, name: str, shadow: frozenset[str]) -> str:
        """*name*, qualified when a member of the class being written hides it."""
        if name not in shadow:
            return name
        if name in _BUILTIN_NAMES:
            return f"builtins.{name}"
        return f"_T_{name}"  # module-level alias, emitted on demand

    def _alt_differs(self, t: AlternateType) -> bool:
        return any(self.ann(v.type, inp=True) != self.ann(v.type, inp=False) for v in t.variants.variants)

    def member_ann(self, m: ObjectMember, *, inp: bool, shadow: frozenset[str] = frozenset()) -> str:
        ann = self.ann(m.type, inp=inp, shadow=shadow)
        if m.optional and ann != "None":
            ann += " | None"
        return ann

    def params(self, members: Iterable[ObjectMember], shadow: frozenset[str] = frozenset()) -> list[_Param]:
        return [
            _Param(py_name(m.name), self.member_ann(m, inp=True, shadow=shadow), m.optional) for m in members
        ]

    # -- output --------------------------------------------------------------------

    def emit(self, *lines: str) -> None:
        self.out.extend(lines)

    def doc(self, ent: Entity | None, indent: str, fallback: str) -> None:
        text = entity_doc(ent) if ent is not None else None
        self.emit(*_quote_doc(text or fallback, indent))

    def generate(self) -> str:
        self.emit(
            f"# Generated by `qobjects stubgen` from {self.source}. Do not edit: regenerate.",
            "",
        )
        self.emit(*_PACKAGE_HEADER.splitlines())
        if self.package:
            self.emit(*_reexports())
        self.emit("", _H, "")
        body_start = len(self.out)
        for ent in self.schema.entities:
            if ent.name not in self.names:
                continue
            if isinstance(ent, EnumType):
                self._enum(ent)
            elif isinstance(ent, HandleType):
                self._handle(ent)
            elif isinstance(ent, ObjectType):
                self._object(ent)
            elif isinstance(ent, AlternateType):
                self._alternate(ent)
        body = self.out[body_start:]
        del self.out[body_start:]
        self.emit(*self.aliases, *body)
        sync, asyn = self._commands()
        sessions = _SESSIONS.replace("@@ASYNC@@", "\n".join(asyn)).replace("@@SYNC@@", "\n".join(sync))
        self.emit("", *sessions.splitlines())
        if self.package:
            self.emit(
                "",
                "def default_namespace() -> _Namespace:",
                '    """The classes of the bundled default schema (built once, on first use)."""',
            )
        return "\n".join(self.out).rstrip() + "\n"

    # -- enums, alternates ---------------------------------------------------------

    def _enum(self, ent: EnumType) -> None:
        py = self.names[ent.name]
        values = ", ".join(repr(m.name) for m in ent.members)
        self.aliases.append(f"_{py.lstrip('_')}_In: TypeAlias = {py} | Literal[{values}]")
        if self.literal_enums:
            self.aliases.append(f"_{py.lstrip('_')}_Values: TypeAlias = Literal[{values}]")
        self.emit("", *(["@type_check_only"] if py.startswith("_") else []), f"class {py}(enum.StrEnum):")
        self.doc(ent, "    ", f"QAPI enum {ent.name}.")
        for m in ent.members:
            name = py_name(m.name)
            # A member named like a str method (QKeyCode.index) hides it, at runtime too.
            note = "  # type: ignore[assignment]" if name in _STR_METHODS else ""
            self.emit(f"    {name} = {m.name!r}{note}")

    def _alternate(self, ent: AlternateType) -> None:
        py = self.names[ent.name]
        out = " | ".join(dict.fromkeys(self.ann(v.type, inp=False) for v in ent.variants.variants))
        self.aliases.append(f"{py}: TypeAlias = {out}")
        if self._alt_differs(ent):
            inp = " | ".join(dict.fromkeys(self.ann(v.type, inp=True) for v in ent.variants.variants))
            self.aliases.append(f"_{py}_In: TypeAlias = {inp}")
        text = entity_doc(ent) or f"QAPI alternate {ent.name}."
        self.aliases.append(f"# {py}: " + " ".join(text.split())[:200])

    # -- structs and unions --------------------------------------------------------

    def _object(self, ent: ObjectType) -> None:
        py = self.names[ent.name]
        base = ent.base if ent.base is not None and not ent.base.is_implicit() else None
        inherited = {m.name for m in base.members} if base is not None else set()
        bases = [self.names[base.name]] if base is not None else []
        if ent.variants is not None:
            bases.insert(0, "_UnionBase")
        elif not bases:
            bases = ["_Struct"]
        own = [m for m in ent.members if m.name not in inherited]
        union = ent.variants is not None
        shadow = frozenset(py_name(m.name) for m in ent.members)
        self._shadow_aliases(shadow)
        self.emit("", f"class {py}({', '.join(bases)}):")
        self.doc(ent, "    ", f"QAPI {ent.meta} {ent.name}.")
        for m in own:
            self.emit(
                f"    {py_name(m.name)}: {self.member_ann(m, inp=False, shadow=shadow)}{_clash(m, union)}"
            )
        if ent.variants is None:
            self._init(self.params(ent.members, shadow), "def __init__(self", "None")
            return
        branches = self._branches(ent)
        tag = ent.variants.tag_member
        tag_py = py_name(tag.name)
        assert isinstance(tag.type, EnumType)
        enum_py = self._q(self.names[tag.type.name], shadow)
        many = len(branches) > 1
        for case, members in branches:
            params = [
                _Param(tag_py, f"Literal[{enum_py}.{py_name(case)}, {case!r}]", False)
                if p.py == tag_py
                else p
                for p in self.params(ent.members, shadow)
            ]
            params += self.params(members, shadow)
            if many:
                self.emit("    @overload")
            self._init(params, "def __new__(cls", f"_{py}_{py_name(case)}")
        for case, members in branches:
            names = frozenset(py_name(m.name) for m in members) | shadow
            self._shadow_aliases(names)
            self.emit("", "@type_check_only", f"class _{py}_{py_name(case)}({py}):")
            self.emit(*_quote_doc(f"Branch '{case}' of union {ent.name}.", "    "))
            for m in members:
                self.emit(
                    f"    {py_name(m.name)}: {self.member_ann(m, inp=False, shadow=names)}{_clash(m, True)}"
                )

    def _branches(self, ent: ObjectType) -> list[tuple[str, list[ObjectMember]]]:
        assert ent.variants is not None
        tag_type = ent.variants.tag_member.type
        by_case = {v.name: v for v in ent.variants.variants}
        cases = [m.name for m in tag_type.members] if isinstance(tag_type, EnumType) else list(by_case)
        names = {m.name for m in ent.members}
        out = []
        for case in cases:
            v = by_case.get(case)
            extra = v.type.members if v is not None and isinstance(v.type, ObjectType) else []
            out.append((case, [m for m in extra if m.name not in names]))
        return out

    def _shadow_aliases(self, shadow: frozenset[str]) -> None:
        for name in sorted(shadow & set(self.names.values())):
            alias = f"_T_{name}: TypeAlias = {name}"
            if alias not in self.aliases:
                self.aliases.append(alias)

    def _init(self, params: Sequence[_Param], head: str, ret: str, indent: str = "    ") -> None:
        func, first = head.split("(")
        # BoundSignal.emit_async takes **data: a signal's own members narrow it.
        note = "  # type: ignore[override]" if func.endswith("emit_async") else ""
        if not params:
            self.emit(f"{indent}{head}) -> {ret}: ...{note}")
            return
        self.emit(f"{indent}{func}({note}", f"{indent}    {first},", f"{indent}    *,")
        self.emit(*(f"{indent}    {p.text()}," for p in params))
        self.emit(f"{indent}) -> {ret}: ...")

    # -- handles and signals -------------------------------------------------------

    def _handle(self, ent: HandleType) -> None:
        py = self.names[ent.name]
        signals = [s for s in self.schema.signals() if s.owner is ent]
        for sig in signals:
            self._signal(py, sig)
        self.emit("", f"class {py}(_Handle):")
        self.doc(ent, "    ", f"QAPI handle {ent.name}.")
        scalar = "str" if ent.data.name == "str" else "int"
        self.emit("    @property", f"    def value(self) -> {scalar}: ...")
        for sig in signals:
            self.emit(f"    {py_name(sig.name.lower())}: _{py}_{sig.name}")

    def _signal(self, owner: str, sig: Signal) -> None:
        p = f"_{owner}_{sig.name}"
        members = sig.arg_type.members if sig.arg_type is not None else []
        full = [_Param(py_name(m.name), self.member_ann(m, inp=False), False) for m in members]
        shapes: list[tuple[str, list[_Param]]] = [("", full)]
        if full:
            shapes.append(("0", []))
        if 1 < len(full) <= MAX_SUBSET_MEMBERS:
            n = 1
            for size in range(1, len(full)):
                for combo in itertools.combinations(full, size):
                    shapes.append((str(n), list(combo)))
                    n += 1
        what = f"signal {owner}.{sig.name}"
        for suffix, params in shapes:
            kw = "".join(f", {q.py}: {q.ann}" for q in params)
            star = ", *" if params else ""
            self.emit(
                "",
                "@type_check_only",
                f"class {p}_Slot{suffix}(Protocol):",
                *_quote_doc(f"A slot for {what}: ``slot(owner{', **data' if params else ''})``.", "    "),
                f"    def __call__(self, owner: {owner}, /{star}{kw}) -> object: ...",
            )
        for suffix, _params in shapes:
            self.emit(f'{p}_F{suffix} = TypeVar("{p}_F{suffix}", bound={p}_Slot{suffix})')
        overloads = [(f"{p}_F{s}", "") for s, _ in shapes]
        self.emit("", "@type_check_only", f"class {p}_Connector(Protocol):")
        self.emit(*_quote_doc(f"``connect()`` of {what} used as a decorator.", "    "))
        self._connect_overloads("__call__", overloads, ", /", decorator=False)
        emit_params = [_Param(py_name(m.name), self.member_ann(m, inp=True), m.optional) for m in members]
        for cls, base in ((f"{p}_Bound", "_BoundSignal"), (p, "_Signal")):
            self.emit("", "@type_check_only", f"class {cls}({base}):")
            self.doc(sig, "    ", f"QAPI {what}.")
            if cls == p:
                self.emit(
                    "    @overload  # type: ignore[override]",
                    f"    def __get__(self, instance: None, owner: type) -> {p}: ...",
                    "    @overload",
                    f"    def __get__(self, instance: {owner}, owner: type) -> {p}_Bound: ...",
                )
            else:
                self.emit(f"    owner: {owner}")
                self._init(emit_params, "def emit(self", "None")
                self._init(emit_params, "async def emit_async(self", "None")
            self._connect_overloads("connect", overloads, _CONNECT_OPTIONS, decorator=True)

    def _connect_overloads(
        self, name: str, typevars: list[tuple[str, str]], tail: str, *, decorator: bool
    ) -> None:
        # One slot shape (a signal without data) and no decorator form: no overloads.
        single = len(typevars) == 1 and not decorator
        for tv, _ in typevars:
            if not single:
                self.emit("    @overload")
            self.emit(f"    def {name}(self, slot: {tv}{tail}) -> _Connection[{tv}]: ...")
        if decorator:
            connector = typevars[0][0].removesuffix("_F") + "_Connector"
            self.emit("    @overload", f"    def {name}(self, slot: None = ...{tail}) -> {connector}: ...")

    # -- commands ------------------------------------------------------------------

    def _commands(self) -> tuple[list[str], list[str]]:
        sync: list[str] = []
        asyn: list[str] = []
        for cmd in self.schema.commands():
            py = py_name(cmd.name)
            if py in SESSION_NAMES or py.startswith("_"):
                continue  # unreachable as a method at runtime: the attribute wins
            ret = self.ann(cmd.ret_type, inp=False) if cmd.ret_type is not None else "None"
            params = self._command_params(cmd)
            doc = _quote_doc(entity_doc(cmd) or f"QAPI command {cmd.name}.", "        ")
            for out, head in ((sync, "def"), (asyn, "async def")):
                self.out, saved = out, self.out
                if params is None:
                    self.emit(f"    {head} {py}(self, **arguments: Any) -> {ret}:")
                elif not params:
                    self.emit(f"    {head} {py}(self) -> {ret}:")
                else:
                    self.emit(f"    {head} {py}(", "        self,", "        *,")
                    self.emit(*(f"        {p.text()}," for p in params))
                    self.emit(f"    ) -> {ret}:")
                self.emit(*doc)
                self.out = saved
        return sync, asyn

    def _command_params(self, cmd: Command) -> list[_Param] | None:
        """Keyword parameters; None for a boxed union argument (``**arguments: Any``)."""
        if cmd.arg_type is None:
            return []
        if cmd.arg_type.variants is not None:
            return None
        params = self.params(cmd.arg_type.members)
        for i, m in enumerate(cmd.arg_type.members):
            if isinstance(m.type, HandleType):
                # A command takes a handle or its plain value.
                scalar = "str" if m.type.data.name == "str" else "int"
                ann = f"{self.names[m.type.name]} | {scalar}" + (" | None" if m.optional else "")
                params[i] = _Param(params[i].py, ann, m.optional)
        return params


def _clash(m: ObjectMember, union: bool) -> str:
    """A type: ignore for a member that hides an attribute of the Struct/UnionBase classes."""
    name = py_name(m.name)
    if name == "branches" and union:
        return "  # type: ignore[assignment]"  # UnionBase.branches()
    if name in _STRUCT_ATTRS:
        return "  # type: ignore[assignment]"
    return ""


_STRUCT_ATTRS = frozenset({"as_dict", "from_json", "to_json"})


def _reexports() -> list[str]:
    """``from M import X as X`` for the runtime public API of ``qobjects``."""
    import qobjects

    typed = {"AsyncSession", "Session", "aconnect", "connect", "default_namespace"}
    by_module: dict[str, list[str]] = {}
    for name in qobjects.__all__:
        if name in typed:
            continue
        module = getattr(qobjects, name).__module__
        by_module.setdefault(module, []).append(name)
    lines = [f"from {m} import {n} as {n}" for m in sorted(by_module) for n in sorted(by_module[m])]
    lines += ["", f"__all__ = {sorted(qobjects.__all__)!r}", "__version__: str"]
    return lines


def generate(schema: Schema, *, package: bool = False, source: str = "", literal_enums: bool = False) -> str:
    """The text of the stub module for *schema*.

    :param package: the ``qobjects/__init__.pyi`` of the default schema (public
        API re-exported), rather than a standalone module.
    :param source: the schema file name for the header.
    :param literal_enums: enum values are produced as plain strings (a
        server's schema read by introspection): typed as ``Literal[...]``.
    :raises ValueError: a type name clashes with a name the stub defines.
    """
    return _Generator(
        schema, package=package, source=source or os.path.basename(schema.fname), literal_enums=literal_enums
    ).generate()


STUB_PACKAGE = "qobjects-stubs"
"""The stub package of the default schema: type checkers read ``qobjects``'s
``__init__`` from it and every other module from the package itself."""


def default_module(schema_path: str) -> str:
    """The module name for a schema file: its stem as a Python name."""
    return py_name(Path(schema_path).stem)


def write_stubs(schema_path: str | None, output: str | os.PathLike[str], module: str | None = None) -> Path:
    """Generate and write the stubs; return the file written.

    Without *schema_path*: the partial PEP 561 stub package of the default
    schema, ``OUTPUT/qobjects-stubs/__init__.pyi`` (with its ``py.typed``
    saying ``partial``), which the wheel ships. Otherwise ``OUTPUT/<module>.pyi``.

    :raises SchemaError: the schema does not load.
    :raises OSError: the file cannot be written.
    """
    from qobjects.schema import DEFAULT_SCHEMA

    package = schema_path is None
    path = DEFAULT_SCHEMA if schema_path is None else schema_path
    text = generate(load_schema(path), package=package, source=os.path.basename(path))
    if package:
        target = Path(output, STUB_PACKAGE, "__init__.pyi")
        marker = target.with_name("py.typed")
        target.parent.mkdir(parents=True, exist_ok=True)
        if not marker.exists() or marker.read_text(encoding="utf-8") != "partial\n":
            marker.write_text("partial\n", encoding="utf-8")
    else:
        target = Path(output, f"{module or default_module(path)}.pyi")
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    return target


def add_stubgen(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``stubgen`` subcommand to an argparse subparsers action."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "stubgen",
        help="generate mypy stubs (.pyi) from a schema",
        description="Write .pyi stubs for the classes and session methods of a schema. Without "
        "SCHEMA: the stub package of qobjects itself (DIR/qobjects-stubs/__init__.pyi) for the default "
        "schema; with SCHEMA: a types-only module DIR/NAME.pyi.",
    )
    parser.add_argument("schema", nargs="?", metavar="SCHEMA", help="schema file (default: the bundled one)")
    parser.add_argument(
        "--from",
        dest="from_address",
        metavar="ADDRESS",
        help="a running QMP server (unix:PATH, tcp:HOST:PORT): stubs for its own schema "
        "(query-qmp-schema) with the bundled QEMU overlay, as DIR/NAME.pyi (NAME: --module, "
        "default qmp_server)",
    )
    parser.add_argument(
        "-o", "--output", default="stubs", metavar="DIR", help="output directory (default: stubs)"
    )
    parser.add_argument(
        "--module", metavar="NAME", help="module name for SCHEMA's stubs (default: the file's stem)"
    )
    return parser


def run_stubgen(args: argparse.Namespace) -> int:
    """Run ``qobjects stubgen``; the exit status.

    :raises SchemaError: the schema does not load (the CLI reports it).
    """
    module = getattr(args, "module", None)
    if module is not None and not module.isidentifier():
        raise SystemExit(f"qobjects stubgen: --module {module!r} is not a Python identifier")
    address = getattr(args, "from_address", None)
    if address is not None:
        if args.schema is not None:
            raise SystemExit("qobjects stubgen: give SCHEMA or --from ADDRESS, not both")
        target = write_server_stubs(address, args.output, module or "qmp_server")
    else:
        target = write_stubs(args.schema, args.output, module)
    print(target)
    return 0


def write_server_stubs(address: str, output: str | os.PathLike[str], module: str) -> Path:
    """Write ``OUTPUT/<module>.pyi`` for the schema of the server at *address*.

    :raises ConnectionLost: the server cannot be reached.
    :raises SchemaError: the server's schema cannot be read.
    """
    import qobjects
    from qobjects.errors import SchemaError
    from qobjects.qmp.client import connect
    from qobjects.qmp.introspect import server_namespace
    from qobjects.qmp.schema_text import server_schema

    with connect(address, namespace=qobjects.default_namespace()) as session:
        if session.explicit:
            raise SchemaError(
                None,
                f"{address} is a qobjects server: generate stubs from its schema file instead",
            )
        info = session.execute_raw("query-qmp-schema")
    ns = server_namespace(info)
    text = generate(server_schema(ns, address), source=address, literal_enums=True)
    target = Path(output, f"{module}.pyi")
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    return target
