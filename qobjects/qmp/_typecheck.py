"""``Server(check_types=True)``: command handlers checked against their own annotations.

The schema checks every argument and result already; a handler's
annotations may say more (a ``Literal``, a union of handle types, a
``Protocol``, the item type of a list). With ``check_types`` each call is
checked with typeguard, every item of a collection included. Only servers
that ask for it import typeguard or pay for the check.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

from qobjects.errors import GenericError

__all__ = ["HandlerCheck", "ReturnMismatch"]

_MISSING = inspect.Parameter.empty


class ReturnMismatch(Exception):
    """A handler returned a value its own annotation does not allow."""


class HandlerCheck:
    """The typeguard checks of one handler.

    :param command: the command name (for messages).
    :param fn: the handler.
    :raises ValueError: when the handler's annotations cannot be resolved.
    """

    def __init__(self, command: str, fn: Callable[..., Any]) -> None:
        import typeguard

        self._typeguard = typeguard
        self.command = command
        try:
            hints = typing.get_type_hints(fn, include_extras=True)
        except Exception as err:
            raise ValueError(
                f"check_types: cannot resolve the annotations of the handler of '{command}': {err}"
            ) from err
        self.returns: object = hints.pop("return", _MISSING)
        self.params: dict[str, object] = hints
        self.names: dict[str, str] = {}  # Python name -> QAPI member name, filled by the server

    def _check(self, value: object, hint: object) -> str | None:
        tg = self._typeguard
        try:
            tg.check_type(
                value,
                hint,
                collection_check_strategy=tg.CollectionCheckStrategy.ALL_ITEMS,
            )
        except tg.TypeCheckError as err:
            return str(err)
        return None

    def arguments(self, args: dict[str, Any]) -> None:
        """Check *args* (by Python name) against the parameters' annotations.

        :raises GenericError: naming the command and the first member that does not match.
        """
        for py, value in args.items():
            hint = self.params.get(py, _MISSING)
            if hint is _MISSING:
                continue
            problem = self._check(value, hint)
            if problem is not None:
                member = self.names.get(py, py)
                raise GenericError(
                    f"command '{self.command}', member '{member}': {problem} "
                    f"(the handler's parameter '{py}' is annotated {_shown(hint)})"
                )

    def result(self, value: object) -> None:
        """Check what the handler returned.

        :raises ReturnMismatch: naming the command and the annotation.
        """
        if self.returns is _MISSING:
            return
        problem = self._check(value, self.returns)
        if problem is not None:
            raise ReturnMismatch(
                f"command '{self.command}' returned a value its handler's annotation "
                f"{_shown(self.returns)} does not allow: {problem}"
            )


def _shown(hint: object) -> str:
    if isinstance(hint, type):
        return hint.__qualname__
    return repr(hint).replace("typing.", "")
