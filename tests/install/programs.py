"""User programs for the install tests: typed out of the box, with no configuration.

``# E:`` marks a line that both mypy and basedpyright must flag; every other
line must pass both.
"""

GOOD = """\
import asyncio

from qobjects import BlockErrorAction, Blockdev, BlockInfo, IoOperationType, aconnect, connect


def on_error(owner: Blockdev, operation: IoOperationType, action: BlockErrorAction) -> None:
    print(owner.value, operation.value, action.value)


def local() -> None:
    dev = Blockdev.find("ide0-hd0")
    conn = dev.io_error.connect(on_error)
    dev.io_error.emit(operation="read", action=BlockErrorAction.stop)
    dev.io_error.emit(operation=IoOperationType.write, action="report")
    dev.io_error.disconnect(conn)


def remote(address: str) -> None:
    with connect(address) as session:
        infos: list[BlockInfo] = session.query_block()
        name: str = infos[0].device.value
        session.x_inject_io_error(device=infos[0].device, operation="read", action="stop")
        print(name)


async def remote_async(address: str) -> None:
    session = await aconnect(address)
    infos: list[BlockInfo] = await session.query_block()
    print(len(infos))
    await session.close()


if __name__ == "__main__":
    local()
    asyncio.run(remote_async("unix:/nonexistent"))
"""

BAD = """\
from qobjects import BlockErrorAction, Blockdev, BlockInfo, IoOperationType, aconnect, connect


def wrong_slot(owner: Blockdev, operation: int) -> None: ...


async def main(address: str) -> None:
    dev = Blockdev.find("ide0-hd0")
    dev.io_error.connect(wrong_slot)  # E: wrong slot signature
    dev.io_error.emit(operation="raed", action="stop")  # E: wrong emit value
    dev.io_error.emit(operation="read", action="stop", extra=1)  # E: unknown emit member
    dev.io_eror.connect(print)  # E: misspelt signal
    session = connect(address)
    session.query_blokc()  # E: misspelt command
    session.x_inject_io_error(device=dev, operation="read", action=3)  # E: wrong argument type
    count: int = session.query_block()  # E: value used as the wrong type
    infos = await session.query_block()  # E: await on a sync method
    action: IoOperationType = BlockErrorAction.stop  # E: enum used as another enum
    info: BlockInfo = dev  # E: handle used as a struct
    asession = await aconnect(address)
    asession.query_blokc()  # E: misspelt async command
    print(infos, count, action, info)
"""
