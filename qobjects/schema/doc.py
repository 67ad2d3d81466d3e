"""Documentation comments: the sections of one ``## ... ##`` block.

A definition comment starts with ``# @NAME:`` and is split into a body,
``@member:`` descriptions, a ``Features:`` block of ``@feature:``
descriptions and tagged sections (``Returns:``, ``Errors:``, ``Since:``,
``TODO:``) or plain paragraphs. A free-form comment has only a body.

The parser (:mod:`qobjects.schema.parser`) fills a :class:`Doc`; the model
then connects members and features to their descriptions and reports
documentation that describes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from qobjects.errors import SchemaError

if TYPE_CHECKING:
    from qobjects.schema.source import SourceInfo

__all__ = ["Doc", "DocSection"]

PLAIN = "Plain"
MEMBER = "Member"
FEATURE = "Feature"
RETURNS = "Returns"
ERRORS = "Errors"
SINCE = "Since"
TODO = "Todo"

#: Maps the tag as written in a comment to the section kind.
TAGS = {"Returns": RETURNS, "Errors": ERRORS, "Since": SINCE, "TODO": TODO}

InfoAt = Callable[[int], "SourceInfo"]


class DocSection:
    """One section of a doc comment.

    :ivar kind: ``Plain``, ``Member``, ``Feature``, ``Returns``, ``Errors``,
        ``Since`` or ``Todo``.
    :ivar name: the member or feature described (``Member``/``Feature`` only).
    :ivar text: the text, without its tag, once the comment is complete.
    """

    __slots__ = ("_info_at", "_lines", "connected", "kind", "name", "pos", "text")

    def __init__(self, info_at: InfoAt, pos: int, kind: str, name: str | None = None) -> None:
        self._info_at = info_at
        self.pos = pos
        self.kind = kind
        self.name = name
        self._lines: list[str] = []
        self.text = ""
        self.connected = False

    @property
    def info(self) -> SourceInfo:
        """Where the section starts."""
        return self._info_at(self.pos)

    def has_text(self) -> bool:
        return bool(self._lines)

    def append_line(self, line: str) -> None:
        self._lines.append(line)

    def finish(self) -> None:
        if self._lines:
            self.text = ("\n".join(self._lines) + "\n").strip("\n")
        self._lines = []

    def __repr__(self) -> str:
        return f"<DocSection {self.kind} {self.name or ''} {self.text!r}>"


class Doc:
    """A documentation comment block (definition or free-form).

    :ivar symbol: the documented definition, ``None`` for free-form text.
    """

    __slots__ = (
        "_all",
        "_args",
        "_body",
        "_errors",
        "_features",
        "_info_at",
        "_pos",
        "_returns",
        "_sections",
        "_since",
        "symbol",
    )

    def __init__(self, info_at: InfoAt, pos: int, symbol: str | None = None) -> None:
        self._info_at = info_at
        self._pos = pos
        self.symbol = symbol
        self._body = DocSection(info_at, pos, PLAIN)
        self._all: list[DocSection] = [self._body]
        self._args: dict[str, DocSection] = {}
        self._features: dict[str, DocSection] = {}
        self._returns: DocSection | None = None
        self._errors: DocSection | None = None
        self._since: DocSection | None = None
        self._sections: list[DocSection] = []

    # -- public view -------------------------------------------------------

    @property
    def info(self) -> SourceInfo:
        """Where the comment block starts (its ``##`` line)."""
        return self._info_at(self._pos)

    @property
    def body(self) -> str:
        """The text before the first member description or section."""
        return self._body.text

    @property
    def args(self) -> dict[str, str]:
        """Member (argument, value, branch) descriptions by name."""
        return {name: s.text for name, s in self._args.items()}

    @property
    def features(self) -> dict[str, str]:
        """Feature descriptions by name."""
        return {name: s.text for name, s in self._features.items()}

    @property
    def sections(self) -> list[tuple[str, str]]:
        """The other sections as ``(kind, text)``, in textual order."""
        return [(s.kind, s.text) for s in self._sections]

    def text_for(self, member: str) -> str | None:
        """The description of *member*, or ``None``."""
        section = self._args.get(member)
        return section.text if section is not None else None

    def summary(self) -> str:
        """The body text (the overview of the definition)."""
        return self._body.text

    def docstring(self) -> str | None:
        """The comment as a Python docstring: body, ``:param:`` lines, sections."""
        body = self.body.strip()
        parts = [body] if body else []
        for name, text in self.args.items():
            if text.strip():
                parts.append(f":param {name}: {' '.join(text.split())}")
        for kind, text in self.sections:
            if text.strip():
                parts.append(f"{kind}: {text.strip()}" if kind not in ("Plain", "") else text.strip())
        return "\n\n".join(parts) or None

    def section(self, kind: str) -> str | None:
        """The text of the first section of *kind* (``"Since"``...), or ``None``."""
        for s in self._sections:
            if s.kind == kind:
                return s.text
        return None

    def __repr__(self) -> str:
        return f"<Doc {self.symbol or 'freeform'}>"

    # -- building (parser) ---------------------------------------------------

    def _last(self) -> DocSection:
        return self._all[-1]

    def append_line(self, line: str) -> None:
        self._all[-1].append_line(line)

    def ensure_untagged_section(self, pos: int) -> None:
        last = self._all[-1]
        if last.kind == PLAIN:
            if not last.has_text():
                last.pos = pos
            last.append_line("")
            return
        section = DocSection(self._info_at, pos, PLAIN)
        self._sections.append(section)
        self._all.append(section)

    def new_tagged_section(self, pos: int, kind: str) -> None:
        section = DocSection(self._info_at, pos, kind)
        if kind == RETURNS:
            if self._returns is not None:
                raise SchemaError(section.info, f"duplicated '{kind}' section")
            self._returns = section
        elif kind == ERRORS:
            if self._errors is not None:
                raise SchemaError(section.info, f"duplicated '{kind}' section")
            self._errors = section
        elif kind == SINCE:
            if self._since is not None:
                raise SchemaError(section.info, f"duplicated '{kind}' section")
            self._since = section
        self._sections.append(section)
        self._all.append(section)

    def _new_description(
        self, pos: int, name: str, kind: str, table: dict[str, DocSection]
    ) -> None:
        if not name:
            raise SchemaError(self._info_at(pos), "invalid parameter name")
        if name in table:
            raise SchemaError(self._info_at(pos), f"'{name}' parameter name duplicated")
        section = DocSection(self._info_at, pos, kind, name)
        self._all.append(section)
        table[name] = section

    def new_argument(self, pos: int, name: str) -> None:
        self._new_description(pos, name, MEMBER, self._args)

    def new_feature(self, pos: int, name: str) -> None:
        self._new_description(pos, name, FEATURE, self._features)

    def has_features(self) -> bool:
        return bool(self._features)

    def end(self) -> None:
        """Finish the texts.

        :raises SchemaError: a tagged section has no text.
        """
        for section in self._all:
            section.finish()
            if section.kind != PLAIN and not section.text:
                raise SchemaError(section.info, f"text required after '{section.kind}:'")

    # -- checking (model) ------------------------------------------------------

    def check_definition(self, meta: str, has_returns: bool) -> None:
        """Check the sections that only fit some definitions.

        :raises SchemaError: a ``Returns``/``Errors`` section where none fits.
        """
        if meta == "command":
            if self._returns is not None and not has_returns:
                raise SchemaError(
                    self._returns.info, "'Returns' section, but command doesn't return anything"
                )
        else:
            if self._returns is not None:
                raise SchemaError(
                    self._returns.info, "'Returns' section is only valid for commands"
                )
            if self._errors is not None:
                raise SchemaError(self._errors.info, "'Errors' section is only valid for commands")

    def connect_member(
        self, name: str, role: str, info: SourceInfo | None, exceptions: list[str]
    ) -> None:
        """Note that member *name* exists; add a stub if it is undocumented.

        :raises SchemaError: the member lacks documentation and the symbol is
            not in the ``documentation-exceptions`` pragma.
        """
        section = self._args.get(name)
        if section is None:
            if self.symbol not in exceptions:
                raise SchemaError(info, f"{role} '{name}' lacks documentation")
            section = DocSection(self._info_at, self._pos, MEMBER, name)
            self._args[name] = section
            index = 1
            while index < len(self._all) and self._all[index].kind == MEMBER:
                index += 1
            self._all.insert(index, section)
        section.connected = True

    def connect_feature(self, name: str, info: SourceInfo | None) -> None:
        """Note that feature *name* exists.

        :raises SchemaError: the feature is not documented.
        """
        section = self._features.get(name)
        if section is None:
            raise SchemaError(info, f"feature '{name}' lacks documentation")
        section.connected = True

    def check(self) -> None:
        """Check that every description belongs to something.

        :raises SchemaError: a member or feature description describes nothing.
        """
        for table, what in ((self._args, "member"), (self._features, "feature")):
            bogus = [name for name, s in table.items() if not s.connected]
            if bogus:
                many = len(bogus) > 1
                names = "', '".join(bogus)
                raise SchemaError(
                    table[bogus[0]].info,
                    f"documented {what}{'s' if many else ''} '{names}' "
                    f"{'do' if many else 'does'} not exist",
                )
