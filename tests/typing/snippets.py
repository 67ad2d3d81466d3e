# ruff: noqa: E501  (the expected mypy messages are long)
"""The snippets of the typing suite: correct use (no errors) and wrong use (``# E:`` markers)."""

GOOD = """\
import asyncio
from collections.abc import Callable
from typing import assert_type

import qobjects
from qobjects import (
    AsyncSession,
    BlockErrorAction,
    Blockdev,
    BlockInfo,
    Connection,
    Handle,
    IoOperationType,
    Session,
)


def full(owner: Blockdev, operation: IoOperationType, action: BlockErrorAction) -> None: ...
def owner_only(owner: Blockdev) -> None: ...
def some(owner: Blockdev, action: BlockErrorAction) -> None: ...
def kwargs(owner: Blockdev, **data: object) -> None: ...
def wider(owner: Handle, operation: str, action: str) -> int:
    return 0


def local(dev: Blockdev) -> None:
    assert_type(Blockdev.find("ide0-hd0"), Blockdev)
    assert_type(dev.value, str)
    c1 = dev.io_error.connect(full)
    c2 = dev.io_error.connect(owner_only, once=True)
    c3 = dev.io_error.connect(some)
    c4 = dev.io_error.connect(kwargs)
    c5 = dev.io_error.connect(wider)
    c6 = Blockdev.io_error.connect(full)
    c7 = dev.tray_moved.connect(lambda owner, tray_open: None)
    for c in (c1, c2, c3, c4, c5, c6, c7):
        assert isinstance(c, Connection)
        assert_type(c.id, int)
    slot = c1.slot
    if slot is not None:
        slot(dev, operation=IoOperationType.read, action=BlockErrorAction.stop)
    dev.io_error.disconnect(c1)
    dev.io_error.emit(operation="read", action="stop")
    dev.io_error.emit(operation=IoOperationType.write, action=BlockErrorAction.report)
    dev.tray_moved.emit(tray_open=True)
    with dev.io_error.blocked():
        dev.io_error.emit(action="ignore", operation="write")


def decorators(dev: Blockdev) -> None:
    @dev.io_error.connect
    def on_error(owner: Blockdev, operation: IoOperationType, action: BlockErrorAction) -> None:
        print(owner, operation, action)

    @dev.io_error.connect(once=True)
    def on_first(owner: Blockdev) -> None: ...

    @Blockdev.tray_moved.connect
    def on_tray(owner: Blockdev, tray_open: bool) -> None: ...

    on_error(dev, operation=IoOperationType.read, action=BlockErrorAction.stop)
    on_error.disconnect()
    dev.io_error.disconnect(on_first)
    Blockdev.tray_moved.disconnect(on_tray)


def structs(dev: Blockdev) -> None:
    info = BlockInfo(device=dev, type="hd", removable=True, locked=False)
    assert_type(info.tray_open, bool | None)
    assert_type(info.device, Blockdev)
    BlockInfo(device=dev, type="cd", removable=True, locked=False, tray_open=True)
    assert_type(IoOperationType("read"), IoOperationType)
    op: str = IoOperationType.read


def sync(address: str, dev: Blockdev) -> None:
    with qobjects.connect(address) as session:
        assert_type(session, Session)
        infos = session.query_block()
        assert_type(infos, list[BlockInfo])
        remote = infos[0].device
        remote.io_error.connect(full)
        session.eject(device=remote)
        session.eject(device=remote, force=True)
        session.x_inject_io_error(device=remote, operation="read", action=BlockErrorAction.stop)
        session.get(Blockdev, "ide0-hd0")
        session.execute("query-block")


async def asynchronous(address: str) -> None:
    session = await qobjects.aconnect(address)
    assert_type(session, AsyncSession)
    infos = await session.query_block()
    assert_type(infos, list[BlockInfo])
    await session.blockdev_close_tray(device=infos[0].device)
    pending: Callable[[], object] = session.query_version
    await session.close()
    print(pending)


asyncio.run(asynchronous("unix:/nowhere"))
"""

BAD = """\
from qobjects import BlockErrorAction, Blockdev, IoOperationType, Session


def wrong_type(owner: Blockdev, operation: int, action: BlockErrorAction) -> None: ...
def no_owner(*, operation: IoOperationType, action: BlockErrorAction) -> None: ...
def extra(owner: Blockdev, operation: IoOperationType, sector: int) -> None: ...
def owner_only(owner: Blockdev) -> None: ...


def signals(dev: Blockdev) -> None:
    dev.io_error.connect(wrong_type)  # E: No overload variant of "connect" of "_Blockdev_IO_ERROR_Bound" matches argument type "Callable[[Blockdev, int, BlockErrorAction], None]"
    dev.io_error.connect(no_owner)  # E: No overload variant of "connect" of "_Blockdev_IO_ERROR_Bound" matches argument type "def no_owner(*, operation: IoOperationType, action: BlockErrorAction) -> None"
    dev.io_error.connect(extra)  # E: No overload variant of "connect" of "_Blockdev_IO_ERROR_Bound" matches argument type "Callable[[Blockdev, IoOperationType, int], None]"
    Blockdev.io_error.connect(extra)  # E: No overload variant of "connect" of "_Blockdev_IO_ERROR" matches argument type
    dev.io_error.emit(operation="rea", action="stop")  # E: Argument "operation" to "emit" of "_Blockdev_IO_ERROR_Bound" has incompatible type "Literal['rea']"
    dev.io_error.emit(operation=1, action="stop")  # E: Argument "operation" to "emit" of "_Blockdev_IO_ERROR_Bound" has incompatible type "Literal[1]"
    dev.io_error.emit(operation="read", action="stop", sector=1)  # E: Unexpected keyword argument "sector" for "emit" of "_Blockdev_IO_ERROR_Bound"
    dev.io_error.emit(operation="read")  # E: Missing named argument "action" for "emit" of "_Blockdev_IO_ERROR_Bound"
    dev.io_eror.emit(operation="read", action="stop")  # E: "Blockdev" has no attribute "io_eror"; maybe "io_error"?
    conn = dev.io_error.connect(owner_only)
    slot = conn.slot
    assert slot is not None
    slot(dev, operation=IoOperationType.read)  # E: Unexpected keyword argument "operation"


def commands(session: Session, dev: Blockdev) -> None:
    session.block_passwd(device=7, password="x")  # E: Argument "device" to "block_passwd" of "Session" has incompatible type "int"; expected "Blockdev | str"
    session.eject(device=dev, force="yes")  # E: Argument "force" to "eject" of "Session" has incompatible type "str"; expected "bool | None"
    session.eject()  # E: Missing named argument "device" for "eject" of "Session"
    session.query_blok()  # E: "Session" has no attribute "query_blok"; maybe "query_block"?
    session.x_inject_io_error(device=dev, operation="read", action="halt")  # E: Argument "action" to "x_inject_io_error" of "Session" has incompatible type "Literal['halt']"


async def awaiting(session: Session) -> None:
    await session.query_block()  # E: Incompatible types in "await" (actual type "list[BlockInfo]", expected type "Awaitable[Any]")
"""
