"""What the typing suite's wrong snippets do at runtime: the same uses are rejected."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

import qobjects
from qobjects import SlotSignatureError, ValidationError, WrongType
from qobjects.qmp.client import AsyncSession


class Device:
    pass


@pytest.fixture
def dev() -> Iterator[Any]:
    cls: Any = qobjects.default_namespace().types["Blockdev"]
    saved = cls.__dict__.get("_finder")
    device = Device()
    cls.finder(lambda name: device if name == "ide0-hd0" else None)
    try:
        yield cls.find("ide0-hd0")
    finally:
        cls._finder = saved


def test_slot_without_owner(dev: Any) -> None:
    def no_owner(*, operation: object, action: object) -> None: ...

    with pytest.raises(SlotSignatureError, match="first positional parameter"):
        dev.io_error.connect(no_owner)


def test_slot_needing_a_member_the_signal_lacks(dev: Any) -> None:
    def extra(owner: object, operation: object, sector: int) -> None: ...

    with pytest.raises(SlotSignatureError, match="'sector'"):
        dev.io_error.connect(extra)


def test_slot_with_a_wrong_parameter_type(dev: Any) -> None:
    def wrong_type(owner: object, operation: int, action: object) -> None: ...

    with pytest.raises(SlotSignatureError):
        dev.io_error.connect(wrong_type)


def test_emit_with_a_wrong_or_unknown_member(dev: Any) -> None:
    with pytest.raises(WrongType):
        dev.io_error.emit(operation="rea", action="stop")
    with pytest.raises(WrongType):
        dev.io_error.emit(operation=1, action="stop")
    with pytest.raises(TypeError, match="unexpected keyword argument 'sector'"):
        dev.io_error.emit(operation="read", action="stop", sector=1)
    with pytest.raises(ValidationError):
        dev.io_error.emit(operation="read")


def test_misspelt_signal(dev: Any) -> None:
    with pytest.raises(AttributeError):
        dev.io_eror  # noqa: B018


def test_commands_check_arguments_before_sending(dev: Any) -> None:
    session = AsyncSession("unix:/nowhere", qobjects.default_namespace())

    async def main() -> None:
        with pytest.raises(WrongType, match="Blockdev or str"):
            await session.block_passwd(device=7, password="x")
        with pytest.raises(WrongType):
            await session.eject(device=dev, force="yes")
        with pytest.raises(ValidationError):
            await session.eject()
        with pytest.raises(WrongType):
            await session.x_inject_io_error(device=dev, operation="read", action="halt")

    asyncio.run(main())
    with pytest.raises(AttributeError, match="query_blok"):
        session.query_blok  # noqa: B018


def test_awaiting_a_plain_result() -> None:
    async def main() -> None:
        result: Any = [1]
        await result

    with pytest.raises(TypeError, match="can't be used in 'await' expression"):
        asyncio.run(main())
