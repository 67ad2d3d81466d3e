"""Handles: objects that travel as a simple value, and the codecs of handle members.

:class:`Handle` is the base of every handle class; :class:`HandleCodec` checks
and converts a handle member, :class:`HandleArgCodec` a handle as a command
argument (the handle, or its plain value).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from qobjects.codecs import ClassCodec, Codec, DecodeContext, type_name
from qobjects.errors import InvalidHandleValue, WrongType
from qobjects.signals import Signal

__all__ = ["Handle", "HandleArgCodec", "HandleCodec"]

H = TypeVar("H", bound="Handle")


class Handle:
    """Base of every handle class: an object that travels as a simple value.

    Handles are made only by :meth:`find` (local, through the registered
    finder) or by a remote session; the constructor refuses. Two handles of
    one class with the same value (in the same session) are the same owner:
    equal, with one hash, sharing connections.
    """

    __handle_name__: ClassVar[str] = "Handle"
    _scalar: ClassVar[Codec]
    _finder: ClassVar[Callable[[Any], object | None] | None] = None
    _interned: ClassVar[weakref.WeakValueDictionary[object, Handle]]
    _signals: ClassVar[dict[str, Signal]] = {}

    _value: Any
    _target: object
    _session: Any
    _key: object

    def __init__(self, *args: object, **kwargs: object) -> None:
        cls = type(self).__name__
        raise TypeError(f"{cls} handles are made by {cls}.find(value), not by calling {cls}()")

    @property
    def value(self) -> Any:
        """The simple value that stands for the object on the wire."""
        return self._value

    @property
    def target(self) -> object:
        """The object the finder returned (None for a remote handle)."""
        return self._target

    @property
    def session(self) -> Any:
        """The remote session this handle belongs to, or None when local."""
        return self._session

    def __str__(self) -> str:
        return str(self._value)

    def __repr__(self) -> str:
        where = "" if self._session is None else " remote"
        return f"<{type(self).__name__}{where} {self._value!r}>"

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Handle)
        return self._key == other._key

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._value))

    def __reduce__(self) -> Any:
        raise TypeError(f"{type(self).__name__} handles cannot be pickled; send .value")

    @classmethod
    def finder(cls, fn: Callable[[Any], object | None]) -> Callable[[Any], object | None]:
        """Register the lookup ``value -> object | None`` for this handle type.

        One per type: registering again replaces it. Usable as a decorator.
        """
        cls._finder = fn
        return fn

    @classmethod
    def find(cls: type[H], value: object) -> H:
        """The handle for *value*, through the registered finder.

        :raises InvalidHandleValue: no finder is registered, the finder found
            nothing, or *value* is not of the handle's scalar type.
        """
        name = cls.__handle_name__
        if isinstance(value, cls) and value._session is None:
            return value
        try:
            value = cls._scalar.check(value, name, "")
        except WrongType:
            raise InvalidHandleValue(
                f"'{value}' is not a valid {name}: expected {cls._scalar.name}, got {type_name(value)}"
            ) from None
        finder = cls._finder
        if finder is None:
            raise InvalidHandleValue(f"'{value}' is not a valid {name}: no finder is registered")
        target = finder(value)
        if target is None:
            raise InvalidHandleValue(f"'{value}' is not a valid {name}")
        return cls._make(value, target, None)

    @classmethod
    def _make(cls: type[H], value: Any, target: object, session: Any) -> H:
        key = (session, value)
        table = cls._interned
        handle = table.get(key)
        if handle is None:
            handle = object.__new__(cls)
            handle._value = value
            handle._session = session
            handle._key = key
            handle._target = target
            handle = table.setdefault(key, handle)
        elif handle._target is not target and session is None:
            handle._target = target  # the finder may hand out a new object
        assert isinstance(handle, cls)
        return handle

    @classmethod
    def signals(cls) -> dict[str, Signal]:
        """This handle type's signals by QAPI name."""
        return dict(cls._signals)


class HandleCodec(ClassCodec):
    json_kind = "string"

    def __init__(self, cls: type[Handle]) -> None:
        self.cls: type[Handle] = cls
        self.name = cls.__handle_name__
        self.json_kind = cls._scalar.json_kind

    def encode(self, value: Any, explicit: bool) -> object:
        if explicit:
            return {"__handle__": self.name, "data": value._value}
        return value._value

    def decode(self, data: object, ctx: DecodeContext, where: str, member: str) -> Any:
        if isinstance(data, dict):
            if set(data) != {"__handle__", "data"}:
                raise WrongType(
                    where,
                    member,
                    f"{self.name} (canonical form has exactly '__handle__' and 'data')",
                    "object with keys " + ", ".join(sorted(map(str, data))),
                )
            if data["__handle__"] != self.name:
                raise WrongType(where, member, self.name, f"handle of type {data['__handle__']!r}")
            data = data["data"]
        try:
            data = self.cls._scalar.check(data, where, member)
        except WrongType:
            raise WrongType(
                where, member, f"{self.name} ({self.cls._scalar.name})", type_name(data)
            ) from None
        return ctx.handle(self.cls, data)


class HandleArgCodec(HandleCodec):
    """A handle as a command argument: the handle, or its plain value.

    A plain value is sent as it is; the server looks it up as it would the
    handle's own value.
    """

    def annotation(self) -> Any:
        return self.cls | self.cls._scalar.annotation()

    def check(self, value: object, where: str, member: str) -> Any:
        if isinstance(value, self.cls):
            return value
        try:
            return self.cls._scalar.check(value, where, member)
        except WrongType:
            raise WrongType(
                where, member, f"{self.name} or {self.cls._scalar.name}", type_name(value)
            ) from None

    def encode(self, value: Any, explicit: bool) -> object:
        if isinstance(value, Handle):
            return super().encode(value, explicit)
        return {"__handle__": self.name, "data": value} if explicit else value


# Defined in qobjects.objects before the split, and still re-exported there:
# the module they report (class reprs, pickles, the generated stubs' imports).
Handle.__module__ = HandleCodec.__module__ = HandleArgCodec.__module__ = "qobjects.objects"
