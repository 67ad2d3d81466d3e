"""The demo backend: two block devices behind the default schema.

``ide0-hd0`` is a hard disk (not removable); ``ide1-cd0`` a CD-ROM drive
(removable, with a tray). Every command of the default schema is
implemented; ``blockdev-open-tray``/``blockdev-close-tray`` move the tray and
emit ``TRAY_MOVED`` (unless it is already there), ``x-inject-io-error`` makes
a device emit ``IO_ERROR``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qobjects import default_namespace
from qobjects.errors import GenericError
from qobjects.qmp.server import Server

__all__ = ["Device", "DemoBackend", "make_demo_server"]


@dataclass(slots=True)
class Device:
    """A pretend block device: what a Blockdev handle's target is."""

    name: str
    id: str
    type: str
    removable: bool
    locked: bool = False
    tray_open: bool = False
    password: str | None = None
    inserted: bool = True
    log: list[str] = field(default_factory=list)


class DemoBackend:
    """The devices and the command implementations, bound to a :class:`Server`."""

    def __init__(self) -> None:
        self.devices: dict[str, Device] = {
            "ide0-hd0": Device("ide0-hd0", "disk0", "hd", removable=False),
            "ide1-cd0": Device("ide1-cd0", "cdrom0", "cd", removable=True),
        }

    def find(self, name: str) -> Device | None:
        return self.devices.get(name)

    def install(self, server: Server) -> None:
        """Register the Blockdev finder and every command on *server*."""
        ns = server.namespace
        Blockdev: Any = ns.types["Blockdev"]
        BlockInfo: Any = ns.types["BlockInfo"]
        Blockdev.finder(self.find)

        @server.command("query-block")
        def query_block() -> list[Any]:
            return [
                BlockInfo(
                    device=Blockdev.find(d.name),
                    type=d.type,
                    removable=d.removable,
                    locked=d.locked,
                    tray_open=d.tray_open if d.removable else None,
                )
                for d in self.devices.values()
            ]

        @server.command("block_passwd")
        def block_passwd(device: Any, password: str) -> None:
            device.target.password = password

        @server.command("eject")
        def eject(device: Any, force: bool | None = None) -> None:
            dev: Device = device.target
            if not dev.removable:
                raise GenericError(f"Device '{dev.name}' is not removable")
            if dev.locked and not force:
                raise GenericError(f"Device '{dev.name}' is locked and force was not specified")
            self._move_tray(device, True)
            dev.inserted = False

        @server.command("blockdev-open-tray")
        def open_tray(device: Any, force: bool | None = None) -> None:
            dev: Device = device.target
            if not dev.removable:
                raise GenericError(f"Device '{dev.name}' is not removable")
            if dev.locked and not force:
                raise GenericError(f"Device '{dev.name}' is locked and force was not specified")
            self._move_tray(device, True)

        @server.command("blockdev-close-tray")
        def close_tray(device: Any) -> None:
            if not device.target.removable:
                raise GenericError(f"Device '{device.target.name}' is not removable")
            self._move_tray(device, False)

        @server.command("x-inject-io-error")
        def inject(device: Any, operation: Any, action: Any) -> None:
            device.io_error.emit(operation=operation, action=action)

    @staticmethod
    def _move_tray(device: Any, open_: bool) -> None:
        dev: Device = device.target
        if dev.tray_open == open_:
            return
        dev.tray_open = open_
        device.tray_moved.emit(tray_open=open_)


def make_demo_server(**kwargs: Any) -> tuple[Server, DemoBackend]:
    """A :class:`Server` on the default schema with the demo backend installed."""
    server = Server(namespace=default_namespace(), **kwargs)
    backend = DemoBackend()
    backend.install(server)
    return server, backend
