"""The one code generator: member checks, initialisers and emit functions.

Three kinds of function are made from a member list (a struct's members, a
signal's data, a command's arguments):

- :func:`checker`: ``check(**values) -> dict``, the values checked;
- :func:`initializer`: a struct's ``__init__``, checking then setting slots;
- :func:`emitter`: for a signal, a maker of one ``emit`` per owner, with the
  function that replaces its delivery plan (no reaching into closures).

By default each is compiled from Python source written for its members, so
a check costs one class comparison per member. The source is built by
:class:`FunctionSource`, which checks every identifier it writes (a bad or
repeated one is a :class:`~qobjects.errors.SchemaError`, never a
``SyntaxError``), gives each function its real name (``Blockdev.io_error.emit``)
and registers its text with :mod:`linecache`, so tracebacks show the generated
line and :func:`inspect.getsource` works.

With the environment variable ``QOBJECTS_NO_COMPILE=1`` (read at import) the
same functions are plain closures instead: identical behaviour, nothing
compiled, easier to step through in a debugger.
"""

from __future__ import annotations

import hashlib
import keyword
import linecache
import os
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from qobjects.codecs import MISSING, EnumCodec, IntCodec, MemberSpec
from qobjects.errors import MissingMember, SchemaError, UnknownMember

__all__ = [
    "COMPILE",
    "FunctionSource",
    "checker",
    "emitter",
    "initializer",
    "raise_unknown",
]

COMPILE = os.environ.get("QOBJECTS_NO_COMPILE", "").strip() in ("", "0")
"""Whether functions are compiled from source (``QOBJECTS_NO_COMPILE`` unset or 0)."""

#: Prefix of every name the generator itself writes; no QAPI name can start so.
PREFIX = "_q_"

Emit = Callable[..., None]
Update = Callable[[tuple[Any, ...], Any], None]
EmitMaker = Callable[[Any], tuple[Emit, Update]]


def check_identifiers(names: Sequence[str], where: str) -> None:
    """Refuse names that cannot be parameters of a generated function.

    :raises SchemaError: a name is not an identifier, is a keyword, starts
        with ``_q_``, or appears twice.
    """
    seen: set[str] = set()
    for name in names:
        if not name.isidentifier() or keyword.iskeyword(name) or name.startswith(PREFIX):
            raise SchemaError(None, f"{where}: '{name}' cannot be a Python parameter name")
        if name in seen:
            raise SchemaError(None, f"{where}: two members are called '{name}' in Python")
        seen.add(name)


class FunctionSource:
    """Python source for one generated function, written line by line.

    ``block(header)`` indents what is written inside it; ``bind(name, value)``
    makes *value* a global of the generated code. :meth:`build` compiles it,
    names the function *qualname* and registers the source with linecache.
    """

    def __init__(self, qualname: str) -> None:
        self.qualname = qualname
        self.globals: dict[str, Any] = {"__name__": "qobjects.generated", "_q_MISSING": MISSING}
        self._lines: list[str] = []
        self._depth = 0

    def bind(self, name: str, value: object) -> str:
        """Make *value* the global *name* (which must start with ``_q_``); returns *name*."""
        assert name.startswith(PREFIX) and name.isidentifier() and name not in self.globals, name
        self.globals[name] = value
        return name

    def line(self, text: str) -> None:
        self._lines.append("    " * self._depth + text)

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        self.line(header)
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1

    @property
    def text(self) -> str:
        return "\n".join(self._lines) + "\n"

    def build(self, name: str, qualnames: Mapping[str, str] | None = None) -> Any:
        """Compile and run the source; the function (or object) it defines as *name*.

        *qualnames* renames the functions defined (by their plain name) to
        the qualified names shown in tracebacks and reprs.
        """
        text = self.text
        digest = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:12]
        # Keyed by content: rebuilding the same schema reuses the entry.
        filename = f"<qobjects generated {self.qualname} {digest}>"
        code = compile(text, filename, "exec")
        code = _requalify(code, dict(qualnames or {name: self.qualname}))
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        exec(code, self.globals)
        return self.globals[name]


def _requalify(code: types.CodeType, qualnames: dict[str, str]) -> types.CodeType:
    """*code* with each function code named in *qualnames* given that qualified name."""
    consts = tuple(
        _requalify(c, qualnames) if isinstance(c, types.CodeType) else c for c in code.co_consts
    )
    changes: dict[str, Any] = {"co_consts": consts}
    if code.co_name in qualnames:
        changes["co_qualname"] = qualnames[code.co_name]
    return code.replace(**changes)


# --- member checks -----------------------------------------------------------------
#
# After the checks run, every member variable holds its checked value (None
# for an absent optional). Fast path: an exact class match (or one dict
# look-up for an enum); anything else goes to the member's full check, which
# also reports a missing member.


def raise_unknown(specs: Sequence[MemberSpec], where: str, extra: Mapping[str, object]) -> None:
    """Python keywords that name no member: list the keywords that do.

    A QAPI spelling given as a keyword (``**{"tray-open": True}``) is pointed
    at its Python name.
    """
    name = next(iter(extra))
    if not specs:
        raise UnknownMember(where, name, "no members are accepted")
    detail = "unknown member; valid members: " + ", ".join(s.py for s in specs)
    same = next((s for s in specs if s.name == name and s.py != name), None)
    if same is not None:
        detail = f"unknown member; in Python '{name}' is spelt '{same.py}'"
    raise UnknownMember(where, name, detail)


def _full_check(spec: MemberSpec, where: str) -> Callable[[object], Any]:
    codec, name, optional = spec.codec, spec.name, spec.optional

    def full_check(value: object) -> Any:
        if value is MISSING:
            if optional:
                return None
            raise MissingMember(where, name, f"required member of type {codec.name} missing")
        if value is None and optional:
            return None
        return codec.check(value, where, name)

    return full_check


def _enum_check(spec: MemberSpec, where: str) -> Callable[[object], Any]:
    """The full check of an enum member, called where a dict look-up failed.

    Its error does not show the look-up's KeyError as its context.
    """
    check = _full_check(spec, where)

    def enum_check(value: object) -> Any:
        try:
            return check(value)
        except Exception as err:
            raise err from None

    return enum_check


def _params(specs: Sequence[MemberSpec], extra: bool = True) -> str:
    """Keyword-only parameters, one per member; with *extra*, a ``**_q_extra``
    that collects the keywords naming no member (reported as UnknownMember)."""
    params = [f"{s.py}=_q_MISSING" for s in specs]
    if extra:
        params.append("**_q_extra")
    return "*, " + ", ".join(params) if specs else ", ".join(params)


def _as_dict(specs: Sequence[MemberSpec]) -> str:
    return "{" + ", ".join(f"{s.py!r}: {s.py}" for s in specs) + "}"


def _write_checks(src: FunctionSource, specs: Sequence[MemberSpec], where: str, extra: bool = True) -> None:
    check_identifiers([s.py for s in specs], where)
    if extra:
        src.bind("_q_specs", tuple(specs))
        src.bind("_q_where", where)
        src.bind("_q_raise_unknown", raise_unknown)
        src.line("if _q_extra: _q_raise_unknown(_q_specs, _q_where, _q_extra)")
    for i, spec in enumerate(specs):
        v, codec = spec.py, spec.codec
        if isinstance(codec, EnumCodec):
            # Members and their plain strings hash and compare alike, so one
            # subscript of an exact dict maps either to the member.
            table = src.bind(f"_q_map{i}", dict(codec.by_value))
            full = src.bind(f"_q_check{i}", _enum_check(spec, where))
            header = f"if {v} is not None:" if spec.optional else None
            with src.block(header) if header else _same_level():
                src.line(f"try: {v} = {table}[{v}]")
                src.line(f"except (KeyError, TypeError): {v} = {full}({v})")
            continue
        full = src.bind(f"_q_check{i}", _full_check(spec, where))
        if codec.fast_class is not None:
            cls = src.bind(f"_q_cls{i}", codec.fast_class)
            cond = f"{v}.__class__ is not {cls}"
        elif isinstance(codec, IntCodec):
            cond = f"{v}.__class__ is not int or not ({codec.lo} <= {v} <= {codec.hi})"
        else:
            src.line(f"{v} = {full}({v})")
            continue
        if spec.optional:
            cond = f"{v} is not None and ({cond})"
        src.line(f"if {cond}: {v} = {full}({v})")


@contextmanager
def _same_level() -> Iterator[None]:
    yield


def _interpreted_checks(
    specs: Sequence[MemberSpec], where: str, strict: str | None = None
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The checks :func:`_write_checks` writes, as a plain function of a dict of keywords.

    With *strict* (the qualified name of a function without ``**_q_extra``),
    a keyword naming no member is the TypeError Python raises for that function.
    """
    check_identifiers([s.py for s in specs], where)
    known = frozenset(s.py for s in specs)
    steps: list[tuple[str, Callable[[object], Any]]] = []
    for spec in specs:
        codec, optional = spec.codec, spec.optional
        if isinstance(codec, EnumCodec):
            steps.append((spec.py, _enum_step(dict(codec.by_value), _enum_check(spec, where), optional)))
            continue
        full = _full_check(spec, where)
        if codec.fast_class is not None:
            steps.append((spec.py, _class_step(codec.fast_class, full, optional)))
        elif isinstance(codec, IntCodec):
            steps.append((spec.py, _int_step(codec.lo, codec.hi, full, optional)))
        else:
            steps.append((spec.py, full))

    def check_all(given: dict[str, Any]) -> dict[str, Any]:
        if len(given) > len(known) or not known.issuperset(given):
            extra = {k: v for k, v in given.items() if k not in known}
            if extra and strict is not None:
                raise TypeError(f"{strict}() got an unexpected keyword argument {next(iter(extra))!r}")
            if extra:
                raise_unknown(specs, where, extra)
        return {name: step(given.get(name, MISSING)) for name, step in steps}

    return check_all


def _enum_step(
    table: dict[Any, Any], full: Callable[[object], Any], optional: bool
) -> Callable[[object], Any]:
    def step(value: object) -> Any:
        if optional and value is None:
            return None
        try:
            return table[value]
        except (KeyError, TypeError):
            pass
        return full(value)

    return step


def _class_step(cls: type, full: Callable[[object], Any], optional: bool) -> Callable[[object], Any]:
    def step(value: object) -> Any:
        if value.__class__ is cls or (optional and value is None):
            return value
        return full(value)

    return step


def _int_step(lo: int, hi: int, full: Callable[[object], Any], optional: bool) -> Callable[[object], Any]:
    def step(value: object) -> Any:
        if (value.__class__ is int and lo <= value <= hi) or (optional and value is None):
            return value
        return full(value)

    return step


# --- the three kinds of function ---------------------------------------------------------


def checker(specs: Sequence[MemberSpec], where: str, qualname: str) -> Callable[..., dict[str, Any]]:
    """``check(**values) -> dict``: the values checked, keyed by Python name.

    :raises SchemaError: a member's Python name cannot be a parameter.
    """
    if not COMPILE:
        check_all = _interpreted_checks(specs, where)

        def check(**values: Any) -> dict[str, Any]:
            return check_all(values)

        check.__qualname__ = qualname
        return check
    src = FunctionSource(qualname)
    with src.block(f"def check({_params(specs)}):"):
        _write_checks(src, specs, where)
        src.line(f"return {_as_dict(specs)}")
    fn: Callable[..., dict[str, Any]] = src.build("check")
    return fn


def initializer(specs: Sequence[MemberSpec], where: str, qualname: str) -> Callable[..., None]:
    """A struct's ``__init__``: check the members, then set each slot.

    :raises SchemaError: a member's Python name cannot be a parameter.
    """
    setattr_ = object.__setattr__
    if not COMPILE:
        check_all = _interpreted_checks(specs, where)

        def __init__(_q_self: object, /, **values: Any) -> None:
            for name, value in check_all(values).items():
                setattr_(_q_self, name, value)

        __init__.__qualname__ = qualname
        return __init__
    src = FunctionSource(qualname)
    src.bind("_q_setattr", setattr_)
    with src.block(f"def __init__(_q_self, {_params(specs)}):"):
        _write_checks(src, specs, where)
        for s in specs:
            src.line(f"_q_setattr(_q_self, {s.py!r}, {s.py})")
    fn: Callable[..., None] = src.build("__init__")
    return fn


def emitter(
    specs: Sequence[MemberSpec],
    where: str,
    qualname: str,
    signal: object,
    raise_slot_error: Callable[[list[tuple[Any, Exception]]], None],
    raise_if_recursion: Callable[[RecursionError], None],
) -> EmitMaker:
    """For a signal: ``make(owner) -> (emit, update)``.

    ``emit(**data)`` checks *data* and calls the targets of its plan, in
    order; ``update(targets, shortcut)`` replaces the plan: the targets (each
    with ``_fast``, ``_slot`` and ``_deliver``), and the one slot to call
    directly when there is exactly one plain target (else None). Every
    ``emit`` frame holds *signal* as ``_q_signal``, for the recursion guard.

    :raises SchemaError: a member's Python name cannot be a parameter.
    """
    if not COMPILE:
        return _interpreted_emitter(specs, where, qualname, signal, raise_slot_error, raise_if_recursion)
    src = FunctionSource(qualname)
    src.bind("_q_signal", signal)
    src.bind("_q_raise_slot_error", raise_slot_error)
    src.bind("_q_raise_if_recursion", raise_if_recursion)
    kw = ", ".join(f"{s.py}={s.py}" for s in specs)
    call = f"_q_owner, {kw}" if kw else "_q_owner"
    # The plan lives in two closure variables, so a saved `emit` never goes
    # stale and reading the plan costs no attribute look-up.
    with src.block("def make(_q_owner):"):
        src.line("_q_s0 = None")
        src.line("_q_targets = ()")
        # No **_q_extra: a keyword naming no member is Python's own TypeError
        # ("Blockdev.io_error.emit() got an unexpected keyword argument"), as
        # collecting it would cost every emit a dict.
        with src.block(f"def emit({_params(specs, extra=False)}):"):
            _write_checks(src, specs, where, extra=False)
            with src.block("if _q_s0 is not None:"):
                with src.block("try:"):
                    src.line(f"_q_s0({call})")
                with src.block("except Exception as _q_e:"):
                    src.line("_q_raise_slot_error([(_q_targets[0], _q_e)])")
                src.line("return")
            src.line("_q_failures = None")
            with src.block("for _q_c in _q_targets:"):
                with src.block("try:"):
                    src.line(f"if _q_c._fast: _q_c._slot({call})")
                    src.line(f"else: _q_c._deliver(_q_owner, {_as_dict(specs)})")
                with src.block("except Exception as _q_e:"):
                    src.line("if isinstance(_q_e, RecursionError): _q_raise_if_recursion(_q_e)")
                    src.line("if _q_failures is None: _q_failures = []")
                    src.line("_q_failures.append((_q_c, _q_e))")
            src.line("if _q_failures: _q_raise_slot_error(_q_failures)")
        with src.block("def update(targets, shortcut):"):
            src.line("nonlocal _q_s0, _q_targets")
            src.line("_q_targets = targets  # before the shortcut: who sees the new one sees these")
            src.line("_q_s0 = shortcut")
        src.line("return emit, update")
    base = qualname.rsplit(".", 1)[0]
    names = {"make": f"{base}.<make>", "emit": qualname, "update": f"{base}.<update>"}
    make: EmitMaker = src.build("make", names)
    return make


def _interpreted_emitter(
    specs: Sequence[MemberSpec],
    where: str,
    qualname: str,
    signal: object,
    raise_slot_error: Callable[[list[tuple[Any, Exception]]], None],
    raise_if_recursion: Callable[[RecursionError], None],
) -> EmitMaker:
    check_all = _interpreted_checks(specs, where, strict=qualname)

    def make(owner: Any) -> tuple[Emit, Update]:
        plan: list[Any] = [None, ()]  # the shortcut, the targets

        def emit(**data: Any) -> None:
            _q_signal = signal  # read from the frame by the recursion guard
            values = check_all(data)
            shortcut, targets = plan
            if shortcut is not None:
                try:
                    shortcut(owner, **values)
                except Exception as e:
                    raise_slot_error([(targets[0], e)])
                return
            failures: list[tuple[Any, Exception]] | None = None
            for c in targets:
                try:
                    if c._fast:
                        c._slot(owner, **values)
                    else:
                        c._deliver(owner, dict(values))
                except Exception as e:
                    if isinstance(e, RecursionError):
                        raise_if_recursion(e)
                    if failures is None:
                        failures = []
                    failures.append((c, e))
            if failures:
                raise_slot_error(failures)

        def update(targets: tuple[Any, ...], shortcut: Any) -> None:
            plan[1] = targets
            plan[0] = shortcut

        emit.__qualname__ = qualname
        return emit, update

    return make
