"""The classes behind :class:`~qobjects.qmp.introspect.ServerNamespace`, made on first use.

Structs and unions of a server's schema (:class:`ServerStruct`,
:class:`LazyUnion`: branch classes and ``__init__`` compiled on first use),
its enums (:class:`ServerEnumCodec`: plain strings, checked), the lazy
mappings a namespace exposes, and the codec of introspection's one ``int``.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from qobjects.codecs import (
    AnyCodec,
    BoolCodec,
    Codec,
    IntCodec,
    MemberSpec,
    NullCodec,
    NumberCodec,
    StrCodec,
    py_name,
)
from qobjects.codegen import checker, initializer
from qobjects.errors import SchemaError, WrongType
from qobjects.objects import Struct, UnionBase

__all__ = [
    "BUILTIN",
    "Checker",
    "LazyMap",
    "LazyUnion",
    "ServerEnumCodec",
    "ServerStruct",
    "UnionSource",
]

MODULE = "qobjects.server"

class WideInt(IntCodec):
    """``int`` from introspection: any 64-bit integer, signed or not."""

    def __init__(self) -> None:
        super().__init__("int")
        self.lo = -(2**63)
        self.hi = 2**64 - 1


BUILTIN: dict[str, type[Codec]] = {
    "string": StrCodec,
    "int": WideInt,
    "number": NumberCodec,
    "boolean": BoolCodec,
    "null": NullCodec,
    "value": AnyCodec,
}


class LazyMap(Mapping[str, Any]):
    """A read-only mapping whose values are made on first access."""

    def __init__(
        self,
        keys: Callable[[], list[str]],
        make: Callable[[str], Any],
        lock: threading.RLock,
        has: Callable[[str], bool] | None = None,
    ) -> None:
        """*keys* lists every key (called once, when first needed); *has*, when
        given, tells one key without listing them all."""
        self._get_keys = keys
        self._has = has
        self._keys: list[str] | None = None
        self._known: frozenset[str] = frozenset()
        self._make = make
        self._made: dict[str, Any] = {}
        self._lock = lock

    def _all(self) -> list[str]:
        if self._keys is None:
            with self._lock:
                if self._keys is None:
                    keys = self._get_keys()
                    self._known = frozenset(keys)
                    self._keys = keys
        return self._keys

    def __getitem__(self, key: str) -> Any:
        value = self._made.get(key)
        if value is None:
            if key not in self:
                raise KeyError(key)
            # Under the namespace's lock: one class per type, even when a
            # session's reader thread and its user build at the same time.
            with self._lock:
                value = self._made.get(key)
                if value is None:
                    try:
                        value = self._make(key)
                    except (KeyError, TypeError, AttributeError) as err:
                        # Not a KeyError: Mapping.get() would take it for "no such key".
                        raise SchemaError(
                            None, f"the server's schema does not describe {key!r} correctly ({err!r})"
                        ) from err
                    self._made[key] = value
        return value

    def __contains__(self, key: object) -> bool:
        if self._keys is None:
            if self._has is not None:
                return isinstance(key, str) and self._has(key)
            self._all()
        return key in self._known

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


class ServerEnumCodec(Codec):
    """An enum of a server's schema: values are plain strings, checked against its values.

    The enum class (``ns.types``) is made only when asked for; its members
    are equal to these strings.

    :param name_of: the Python class name of a server type (named on first use).
    :param lock: the lock under which the server's classes are made.
    """

    json_kind = "string"

    def __init__(
        self, name_of: Callable[[str], str], lock: threading.RLock, tname: str, values: tuple[str, ...]
    ) -> None:
        self.name_of = name_of
        self.lock = lock
        self.tname = tname
        self.values = values
        self.known = frozenset(values)
        self._cls: type[enum.StrEnum] | None = None

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.name_of(self.tname)

    @property
    def cls(self) -> type[enum.StrEnum]:
        """The enum class, made on first use."""
        with self.lock:
            return self._make_cls()

    def _make_cls(self) -> type[enum.StrEnum]:
        if self._cls is None:
            cls = enum.StrEnum(  # type: ignore[misc]
                self.name, [(py_name(v), v) for v in self.values], module=MODULE
            )
            cls.__doc__ = f"Enum {self.name} of the server."
            self._cls = cls
        return self._cls

    def annotation(self) -> Any:
        return str

    def check(self, value: object, where: str, member: str) -> Any:
        if isinstance(value, str) and value in self.known:
            return str(value)
        if isinstance(value, str):
            choices = ", ".join(repr(v) for v in self.values)
            raise WrongType(where, member, f"{self.name} (one of {choices})", repr(value))
        raise self.wrong(value, where, member)


class ServerStruct(Struct):
    """A struct of a server's schema: fallback members are applied when decoding."""

    __slots__ = ()
    _fallbacks: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __init__(self, **kwargs: Any) -> None:
        cls = type(self)
        init = compile_init(cls)
        init(self, **kwargs)

    @classmethod
    def from_json(cls, data: object, ctx: Any = None) -> Struct:
        from qobjects.codecs import LOCAL

        if cls._fallbacks and isinstance(data, dict):
            data = apply_fallbacks(cls._fallbacks, data)
        return super().from_json(data, LOCAL if ctx is None else ctx)


def apply_fallbacks(
    fallbacks: tuple[tuple[str, tuple[str, ...]], ...], data: dict[str, Any]
) -> dict[str, Any]:
    for member, alts in fallbacks:
        if data.get(member) in (None, ""):
            for alt in alts[1:]:
                value = data.get(alt)
                if value not in (None, ""):
                    data = {**data, member: value}
                    break
    return data


class UnionSource(Protocol):
    """What makes a lazy union's branch classes (the server's namespace)."""

    def _branches(self, cls: type[LazyUnion]) -> None: ...


class LazyUnion(UnionBase, ServerStruct):
    """A union of a server's schema: its branch classes are made on first use."""

    __slots__ = ()
    _ns: UnionSource
    _entry: dict[str, Any]

    @classmethod
    def _ready(cls) -> None:
        if "_variants" not in cls.__dict__:
            cls._ns._branches(cls)

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if not cls._is_branch():
            cls._ready()
        return UnionBase.__new__(cls, *args, **kwargs)

    @classmethod
    def branches(cls) -> dict[str, type[UnionBase]]:
        cls._ready()
        return UnionBase.branches.__func__(cls)  # type: ignore[attr-defined,no-any-return]

    @classmethod
    def from_json(cls, data: object, ctx: Any = None) -> Struct:
        from qobjects.codecs import LOCAL

        ctx = LOCAL if ctx is None else ctx
        if cls._is_branch():
            if cls._fallbacks and isinstance(data, dict):
                data = apply_fallbacks(cls._fallbacks, data)
            return Struct.from_json.__func__(cls, data, ctx)  # type: ignore[attr-defined,no-any-return]
        cls._ready()
        return UnionBase.from_json.__func__(cls, data, ctx)  # type: ignore[attr-defined,no-any-return]


def compile_init(cls: type[Struct]) -> Any:
    """The checking ``__init__`` of *cls*, compiled on its first construction."""
    init = cls.__dict__.get("_compiled_init")
    if init is None:
        init = initializer(cls._specs, cls._where, f"{cls.__qualname__}.__init__")
        cls._compiled_init = init  # type: ignore[attr-defined]
    return init


class Checker:
    """A command's argument check, compiled on first use."""

    __slots__ = ("_fn", "_specs", "_where")

    def __init__(self, specs: tuple[MemberSpec, ...], where: str) -> None:
        self._specs = specs
        self._where = where
        self._fn: Any = None

    def __call__(self, **kwargs: Any) -> dict[str, Any]:
        fn = self._fn
        if fn is None:
            fn = self._fn = checker(self._specs, self._where, f"<check of {self._where}>")
        result: dict[str, Any] = fn(**kwargs)
        return result
