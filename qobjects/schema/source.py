"""Source locations for schema errors, in the format of QEMU's QAPI parser."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SourceInfo"]


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """Where a schema expression comes from.

    :ivar fname: the file name as it should be printed.
    :ivar line: 1-based line number.
    :ivar parent: the location of the ``include`` that pulled this file in.
    :ivar defn_meta: the kind of the enclosing definition (``"command"``), if any.
    :ivar defn_name: its name.
    """

    fname: str
    line: int = 1
    parent: SourceInfo | None = None
    defn_meta: str | None = field(default=None, compare=False)
    defn_name: str | None = field(default=None, compare=False)

    def at_line(self, line: int) -> SourceInfo:
        return SourceInfo(self.fname, line, self.parent, self.defn_meta, self.defn_name)

    def in_definition(self, meta: str, name: str) -> SourceInfo:
        return SourceInfo(self.fname, self.line, self.parent, meta, name)

    def location(self) -> str:
        return f"{self.fname}:{self.line}"

    def include_path(self) -> str:
        ret = ""
        parent = self.parent
        while parent is not None:
            ret = f"In file included from {parent.location()}:\n" + ret
            parent = parent.parent
        return ret

    def context(self) -> str:
        """The lines QEMU prints before the location."""
        ret = self.include_path()
        if self.defn_name is not None:
            ret += f"{self.fname}: In {self.defn_meta} '{self.defn_name}':\n"
        return ret

    def __str__(self) -> str:
        return self.context() + self.location()
