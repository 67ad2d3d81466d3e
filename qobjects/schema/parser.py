"""QAPI schema text -> expressions, with exact locations and QEMU's messages.

The syntax is JSON with single-quoted strings, ``#`` comments, no numbers and
no ``null``. Documentation comments (``##`` ... ``##``) are parsed into
:class:`~qobjects.schema.doc.Doc` objects. ``include`` and ``pragma``
directives are processed here.

The lexer is one compiled regular expression applied with ``match`` at the
current position; line numbers are computed from positions only when a
location is needed (one per definition, and for errors). Syntax errors carry
a 1-based column; a tab advances it to the next tab stop (columns 1, 9, 17, ...).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import NoReturn

from qobjects.errors import SchemaError
from qobjects.schema.doc import TAGS, Doc
from qobjects.schema.source import SourceInfo

__all__ = ["Expression", "ParseResult", "Pragma", "Reader", "parse", "read_text"]

#: Reads an include file; raises OSError (or UnicodeError) when it cannot.
Reader = Callable[[str], str]

# Normal mode: skip blanks and plain comments, then one token.
# Groups: 1 punctuation, 2 well-formed string, 3 doc comment line ('##...'),
# 4 true, 5 false, 6 anything else (a syntax error).
_TOKEN = re.compile(
    r"(?:\s|\#(?!\#)[^\n]*+)*+"
    r"(?:([][{}:,])|'((?:[ -&(-\[\]-~]|\\\\)*+)'|(\#\#[^\n]*+)|(true)|(false)|(\S))"
)
# Doc mode: skip blanks, then a comment line (group 1) or something else.
_DOC_RUN = re.compile(r"(?:\s*+\#[^\n]*+)*+")
_COMMENT = re.compile(r"\#[^\n]*+")
_STRAY = re.compile(r"[^][{}:,\s']+")
_AT_NAME_COLON = re.compile(r"@([^:]*): *")
_TAGGED = re.compile(r"(Returns|Errors|Since|Notes?|Examples?|TODO)(?!::): *")
_LITERAL_START = re.compile(r"(\.\. +qmp-example)? *::$")
_URL = re.compile(r" *(https?|ftp)://[^ ]*$")
_SINGLE_SPACE = re.compile(r"(\be\.g\.|^ *\d\.|([.!?])) [A-Z0-9(]")
_INDENT = re.compile(r"\s*")

_MAX_DEPTH = 200


class Pragma:
    """The ``pragma`` settings; they apply to the whole schema."""

    __slots__ = (
        "command_name_exceptions",
        "command_returns_exceptions",
        "doc_required",
        "documentation_exceptions",
        "member_name_exceptions",
    )

    def __init__(self) -> None:
        self.doc_required = False
        self.command_name_exceptions: list[str] = []
        self.command_returns_exceptions: list[str] = []
        self.documentation_exceptions: list[str] = []
        self.member_name_exceptions: list[str] = []


class Expression:
    """One top-level expression (a definition or an ``include``).

    :ivar data: the parsed object; expression checks normalize it in place.
    :ivar info: where it starts.
    :ivar doc: the doc comment right before it, if any.
    """

    __slots__ = ("data", "doc", "info")

    def __init__(self, data: dict[str, object], info: SourceInfo, doc: Doc | None = None) -> None:
        self.data = data
        self.info = info
        self.doc = doc

    def __repr__(self) -> str:
        return f"<Expression {self.info.location()} {self.data!r}>"


class ParseResult:
    """What parsing a schema yields: expressions, doc comments, pragmas."""

    __slots__ = ("docs", "exprs", "pragma")

    def __init__(self) -> None:
        self.exprs: list[Expression] = []
        self.docs: list[Doc] = []
        self.pragma = Pragma()


def read_text(path: str) -> str:
    """Read a schema file as QEMU does (UTF-8, universal newlines).

    :raises OSError: the file cannot be read.
    :raises UnicodeError: the file is not UTF-8.
    """
    with open(path, encoding="utf-8") as fp:
        return fp.read()


def parse(text: str, fname: str, reader: Reader = read_text) -> ParseResult:
    """Parse schema *text* that came from file *fname*.

    Include paths are relative to the directory of *fname* and are read
    with *reader*.

    :raises SchemaError: for any syntax or directive error.
    """
    result = ParseResult()
    included = {os.path.abspath(fname)}
    _FileParser(result, included, reader, text, fname, None).run()
    return result


def _strerror(err: Exception) -> str:
    if isinstance(err, OSError):
        return err.strerror or str(err)
    if isinstance(err, UnicodeDecodeError):
        return f"invalid UTF-8 at byte {err.start}"
    return str(err)


class _FileParser:
    """Parses one file; included files get their own instance."""

    __slots__ = (
        "_cline",
        "_cpos",
        "_doc_end",
        "_doc_it",
        "_included",
        "_literal",
        "_literal_indent",
        "_reader",
        "_result",
        "cursor",
        "fname",
        "parent",
        "pos",
        "src",
        "tok",
        "val",
    )

    def __init__(
        self,
        result: ParseResult,
        included: set[str],
        reader: Reader,
        text: str,
        fname: str,
        parent: SourceInfo | None,
    ) -> None:
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if not text.endswith("\n"):
            text += "\n"
        self.src = text
        self.fname = fname
        self.parent = parent
        self._result = result
        self._included = included
        self._reader = reader
        # The current token: tok is one of "{}[]:,", "'" (string), "#" (comment
        # line), "t"/"f" (booleans) or "" at the end; val is its value, pos
        # where it starts, cursor where it ends.
        self.tok = ""
        self.val: str | bool | None = None
        self.pos = 0
        self.cursor = 0
        self._cpos = 0
        self._cline = 1
        self._literal = False
        self._literal_indent = 0
        self._doc_it: Iterator[re.Match[str]] = iter(())
        self._doc_end = 0

    # -- locations -----------------------------------------------------------

    def line_of(self, pos: int) -> int:
        if pos >= self._cpos:
            self._cline += self.src.count("\n", self._cpos, pos)
        else:
            self._cline = self.src.count("\n", 0, pos) + 1
        self._cpos = pos
        return self._cline

    def info_at(self, pos: int) -> SourceInfo:
        return SourceInfo(self.fname, self.line_of(pos), self.parent)

    def error(self, msg: str, pos: int | None = None) -> NoReturn:
        """Raise a syntax error at *pos* (default: the current token)."""
        if pos is None:
            pos = self.pos
        start = self.src.rfind("\n", 0, pos) + 1
        col = 1
        for ch in self.src[start:pos]:
            col = ((col - 1) // 8 + 1) * 8 + 1 if ch == "\t" else col + 1
        raise SchemaError(self.info_at(pos), msg, col)

    # -- lexer -----------------------------------------------------------------

    def accept(self) -> None:
        """Read the next token, skipping blanks and plain comments."""
        m = _TOKEN.match(self.src, self.cursor)
        if m is None:
            self.tok = ""
            self.val = None
            self.pos = len(self.src) - 1
            self.cursor = len(self.src)
            return
        self.cursor = m.end()
        kind = m.lastindex
        if kind == 1:
            self.tok = m.group(1)
            self.val = None
            self.pos = m.start(1)
        elif kind == 2:
            self.tok = "'"
            val = m.group(2)
            self.val = val.replace("\\\\", "\\") if "\\" in val else val
            self.pos = m.start(2) - 1
        elif kind == 3:
            self.tok = "#"
            self.val = m.group(3)
            self.pos = m.start(3)
        elif kind == 4:
            self.tok = "t"
            self.val = True
            self.pos = m.start(4)
        elif kind == 5:
            self.tok = "f"
            self.val = False
            self.pos = m.start(5)
        else:
            self.pos = m.start(6)
            self._bad_token()

    def _bad_token(self) -> NoReturn:
        src = self.src
        pos = self.pos
        if src[pos] == "'":
            esc = False
            i = pos + 1
            while True:
                ch = src[i]
                i += 1
                if ch == "\n":
                    self.error("missing terminating \"'\"")
                if esc:
                    if ch != "\\":
                        self.error(f"unknown escape \\{ch}")
                    esc = False
                elif ch == "\\":
                    esc = True
                    continue
                if ord(ch) < 32 or ord(ch) >= 127:
                    self.error("funny character in string")
        m = _STRAY.match(src, pos)
        self.error(f"stray '{m.group(0) if m else src[pos]}'")

    # -- grammar ---------------------------------------------------------------

    def get_expr(self, depth: int) -> object:
        tok = self.tok
        if tok == "{":
            if depth > _MAX_DEPTH:
                self.error("expression nested too deeply")
            self.accept()
            return self.get_members(depth + 1)
        if tok == "[":
            if depth > _MAX_DEPTH:
                self.error("expression nested too deeply")
            self.accept()
            return self.get_values(depth + 1)
        if tok == "'" or tok == "t" or tok == "f":
            val = self.val
            self.accept()
            return val
        self.error("expected '{', '[', string, or boolean")

    def get_members(self, depth: int) -> dict[str, object]:
        expr: dict[str, object] = {}
        if self.tok == "}":
            self.accept()
            return expr
        if self.tok != "'":
            self.error("expected string or '}'")
        while True:
            key = self.val
            assert isinstance(key, str)
            self.accept()
            if self.tok != ":":
                self.error("expected ':'")
            self.accept()
            if key in expr:
                self.error(f"duplicate key '{key}'")
            expr[key] = self.get_expr(depth)
            tok = self.tok
            if tok == "}":
                self.accept()
                return expr
            if tok != ",":
                self.error("expected ',' or '}'")
            self.accept()
            if self.tok != "'":
                self.error("expected string")

    def get_values(self, depth: int) -> list[object]:
        expr: list[object] = []
        if self.tok == "]":
            self.accept()
            return expr
        if self.tok not in ("{", "[", "'", "t", "f"):
            self.error("expected '{', '[', ']', string, or boolean")
        while True:
            expr.append(self.get_expr(depth))
            tok = self.tok
            if tok == "]":
                self.accept()
                return expr
            if tok != ",":
                self.error("expected ',' or ']'")
            self.accept()

    # -- top level ---------------------------------------------------------------

    def run(self) -> None:
        result = self._result
        self.accept()
        cur_doc: Doc | None = None
        while self.tok != "":
            if self.tok == "#":
                self._reject_expr_doc(cur_doc)
                cur_doc = self.get_doc()
                result.docs.append(cur_doc)
                continue
            info = self.info_at(self.pos)
            expr = self.get_expr(0)
            if not isinstance(expr, dict):
                raise SchemaError(info, "top-level expression must be an object")
            if "include" in expr:
                self._reject_expr_doc(cur_doc)
                self._include(expr, info)
            elif "pragma" in expr:
                self._reject_expr_doc(cur_doc)
                if len(expr) != 1:
                    raise SchemaError(info, "invalid 'pragma' directive")
                pragma = expr["pragma"]
                if not isinstance(pragma, dict):
                    raise SchemaError(info, "value of 'pragma' must be an object")
                for name, value in pragma.items():
                    self._pragma(name, value, info)
            else:
                if cur_doc is not None and not cur_doc.symbol:
                    raise SchemaError(cur_doc.info, "definition documentation required")
                result.exprs.append(Expression(expr, info, cur_doc))
            cur_doc = None
        self._reject_expr_doc(cur_doc)

    @staticmethod
    def _reject_expr_doc(doc: Doc | None) -> None:
        if doc is not None and doc.symbol:
            raise SchemaError(
                doc.info, f"documentation for '{doc.symbol}' is not followed by the definition"
            )

    def _include(self, expr: dict[str, object], info: SourceInfo) -> None:
        if len(expr) != 1:
            raise SchemaError(info, "invalid 'include' directive")
        include = expr["include"]
        if not isinstance(include, str):
            raise SchemaError(info, "value of 'include' must be a string")
        incl_fname = os.path.join(os.path.dirname(self.fname), include)
        self._result.exprs.append(Expression({"include": incl_fname}, info))
        incl_abs = os.path.abspath(incl_fname)
        inf: SourceInfo | None = info
        while inf is not None:
            if incl_abs == os.path.abspath(inf.fname):
                raise SchemaError(info, f"inclusion loop for {include}")
            inf = inf.parent
        if incl_abs in self._included:
            return
        self._included.add(incl_abs)
        try:
            text = self._reader(incl_fname)
        except (OSError, UnicodeError, ValueError) as err:
            raise SchemaError(
                info, f"can't read include file '{incl_fname}': {_strerror(err)}"
            ) from err
        sub = _FileParser(self._result, self._included, self._reader, text, incl_fname, info)
        sub.run()

    def _pragma(self, name: str, value: object, info: SourceInfo) -> None:
        pragma = self._result.pragma
        if name == "doc-required":
            if not isinstance(value, bool):
                raise SchemaError(info, "pragma 'doc-required' must be boolean")
            pragma.doc_required = value
            return
        attr = {
            "command-name-exceptions": "command_name_exceptions",
            "command-returns-exceptions": "command_returns_exceptions",
            "documentation-exceptions": "documentation_exceptions",
            "member-name-exceptions": "member_name_exceptions",
        }.get(name)
        if attr is None:
            raise SchemaError(info, f"unknown pragma '{name}'")
        if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
            raise SchemaError(info, f"pragma {name} must be a list of strings")
        setattr(pragma, attr, value)

    # -- doc comments --------------------------------------------------------------

    def next_doc_line(self) -> str | None:
        """Advance to the next doc comment line; return it without '# '.

        Returns None at the closing '##'.
        """
        m = next(self._doc_it, None)
        if m is None:
            self.cursor = self._doc_end
            self.accept()
            self.error("documentation comment must end with '##'")
        self.pos = m.start()
        self.cursor = m.end()
        val = m.group()
        if val.startswith("##"):
            if val != "##":
                self.error("junk after '##' at end of documentation comment")
            self._literal = False
            return None
        if val == "#":
            return ""
        if val[1] != " ":
            self.error("missing space after #")
        line = val[2:].rstrip()
        if line.endswith("::") and _LITERAL_START.match(line):
            self._literal = True
            self._literal_indent = 0
        elif self._literal and line:
            indent = len(line) - len(line.lstrip(" "))
            if self._literal_indent == 0:
                self._literal_indent = indent
            elif indent < self._literal_indent:
                self._literal = False
        if not self._literal and (
            len(line) > 68 or ". " in line or "! " in line or "? " in line
        ):
            self._check_doc_line(line)
        return line

    def _check_doc_line(self, line: str) -> None:
        if len(line) > 68 and not _URL.match(line):
            self.error("documentation line longer than 70 characters")
        if ". " in line or "! " in line or "? " in line:
            for m in _SINGLE_SPACE.finditer(line):
                if m.group(2) is None:
                    continue
                start = self.src.rfind("\n", 0, self.pos) + 1
                self.error(
                    "Use two spaces between sentences\n"
                    "If this not the end of a sentence, please report a bug.",
                    start + 2 + m.start(2) + 1,
                )

    def get_doc_indented(self, doc: Doc) -> str | None:
        line = self.next_doc_line()
        while line == "":
            doc.append_line(line)
            line = self.next_doc_line()
        if line is None:
            return None
        indent = len(line) - len(line.lstrip())
        if not indent:
            return line
        doc.append_line(line)
        prev_line_blank = False
        while True:
            line = self.next_doc_line()
            if line is None:
                return None
            if line.startswith("@") and _AT_NAME_COLON.match(line):
                return line
            if line != "" and len(line) - len(line.lstrip()) < indent:
                if prev_line_blank:
                    return line
                self.error(f"unexpected de-indent (expected at least {indent} spaces)")
            doc.append_line(line)
            prev_line_blank = True

    def get_doc_paragraph(self, doc: Doc) -> str | None:
        while True:
            line = self.next_doc_line()
            if line is None or line == "":
                return line
            doc.append_line(line)

    def get_doc(self) -> Doc:
        if self.val != "##":
            self.error("junk after '##' at start of documentation comment")
        start = self.pos
        info_at = self.info_at
        run = _DOC_RUN.match(self.src, self.cursor)
        assert run is not None
        self._doc_end = run.end()
        self._doc_it = _COMMENT.finditer(self.src, self.cursor, self._doc_end)
        line = self.next_doc_line()
        doc: Doc
        if line is not None and line.startswith("@"):
            if not line.endswith(":"):
                self.error("line should end with ':'")
            symbol = line[1:-1]
            if not symbol:
                self.error("name required after '@'")
            doc = Doc(info_at, start, symbol)
            line = self.next_doc_line()
            no_more_args = False
            while line is not None:
                while line == "":
                    line = self.next_doc_line()
                if line is None:
                    break
                match: re.Match[str] | None
                if line == "Features:":
                    if doc.has_features():
                        self.error("duplicated 'Features:' line")
                    line = self.next_doc_line()
                    while line == "":
                        line = self.next_doc_line()
                    while line is not None and (match := _AT_NAME_COLON.match(line)):
                        doc.new_feature(self.pos, match.group(1))
                        text = line[match.end() :]
                        if text:
                            doc.append_line(text)
                        line = self.get_doc_indented(doc)
                    if not doc.has_features():
                        self.error("feature descriptions expected")
                    no_more_args = True
                elif match := _AT_NAME_COLON.match(line):
                    if no_more_args:
                        self.error(f"description of '@{match.group(1)}:' follows a section")
                    while line is not None and (match := _AT_NAME_COLON.match(line)):
                        doc.new_argument(self.pos, match.group(1))
                        text = line[match.end() :]
                        if text:
                            doc.append_line(text)
                        line = self.get_doc_indented(doc)
                    no_more_args = True
                elif match := _TAGGED.match(line):
                    tag = match.group(1)
                    if "Note" in tag:
                        self.error(
                            f"The '{tag}' section is no longer supported. Please use rST's "
                            "'.. note::' or '.. admonition:: notes' directives, or another "
                            "suitable admonition instead."
                        )
                    if "Example" in tag:
                        self.error(
                            f"The '{tag}' section is no longer supported. Please use the "
                            "'.. qmp-example::' directive, or other suitable markup instead."
                        )
                    doc.new_tagged_section(self.pos, TAGS[tag])
                    text = line[match.end() :]
                    if text:
                        doc.append_line(text)
                    line = self.get_doc_indented(doc)
                    no_more_args = True
                else:
                    doc.ensure_untagged_section(self.pos)
                    doc.append_line(line)
                    line = self.get_doc_paragraph(doc)
        else:
            doc = Doc(info_at, start)
            doc.ensure_untagged_section(self.pos)
            while line is not None:
                if line.startswith("@") and (match := _AT_NAME_COLON.match(line)):
                    self.error(f"'@{match.group(1)}:' not allowed in free-form documentation")
                doc.append_line(line)
                line = self.next_doc_line()
        self.accept()
        doc.end()
        return doc
