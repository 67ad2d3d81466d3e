"""Checks of single expressions: keys, names, types, conditions, features.

These checks need no other definition. They also normalize the
expressions in place: a member ``'m': 'T'`` becomes ``'m': {'type': 'T'}``,
a feature or enum value ``'x'`` becomes ``{'name': 'x'}``. The messages are
QEMU's.

Besides QEMU's definitions (``enum``, ``struct``, ``union``, ``alternate``,
``command``, ``event``) this accepts the qobjects extensions ``handle`` and
``signal``.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable

from qobjects.errors import SchemaError
from qobjects.schema.parser import Expression, Pragma
from qobjects.schema.source import SourceInfo

__all__ = ["META_KEYS", "c_name", "check_exprs"]

#: The keys that name a definition, in the order QEMU lists them.
META_KEYS = ("enum", "struct", "union", "alternate", "command", "event")
_EXTRA_META = ("handle", "signal")
_ALL_META = frozenset(META_KEYS + _EXTRA_META)
_QEMU_META_MSG = "expression must have exactly one key " + ", ".join(f"'{m}'" for m in META_KEYS)

_VALID_NAME = re.compile(r"(__[a-z0-9.-]+_)?(x-)?([a-z][a-z0-9_-]*)$", re.IGNORECASE)
_CAMEL = re.compile(r"[A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*$")
_IF_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_UPPER_BAD = re.compile(r"[a-z-]")
_NON_C = re.compile(r"[^A-Za-z0-9_]")

# C89, C99, C11, GCC, C++ words and namespace polluters, as QEMU's c_name()
_C_WORDS = """auto break case char const continue default do double else enum extern
    float for goto if int long register return short signed sizeof static struct
    switch typedef union unsigned void volatile while inline restrict _Bool
    _Complex _Imaginary _Alignas _Alignof _Atomic _Generic _Noreturn
    _Static_assert _Thread_local asm typeof bool catch class const_cast delete
    dynamic_cast explicit false friend mutable namespace new operator private
    protected public reinterpret_cast static_cast template this throw true try
    typeid typename using virtual wchar_t and and_eq bitand bitor compl not
    not_eq or or_eq xor xor_eq unix errno mips sparc i386 linux"""
_C_RESERVED = frozenset(_C_WORDS.split())


def c_name(name: str, protect: bool = True) -> str:
    """Map *name* to the C identifier QEMU would use (for clash checks)."""
    name = name.replace("-", "_")
    if "." in name or not name.replace("_", "a").isalnum() or not name.isascii():
        name = _NON_C.sub("_", name)
    if protect and (name in _C_RESERVED or name[:1].isdigit()):
        return "q_" + name
    return name


def py_name(name: str) -> str:
    """The Python identifier for a QAPI name: ``-`` and ``.`` become ``_``.

    Hard keywords (``class``, ``if``, ``None``...) get a trailing ``_``; a
    leading digit gets a leading ``_``.  Soft keywords (``type``, ``match``,
    ``case``, ``_``) are valid identifiers on every Python and stay as they
    are, so a name maps to the same identifier on every interpreter.
    """
    ident = name.replace("-", "_").replace(".", "_")
    if ident[:1].isdigit():
        ident = "_" + ident
    if keyword.iskeyword(ident):
        ident += "_"
    return ident


def _err(info: SourceInfo, msg: str) -> SchemaError:
    return SchemaError(info, msg)


def check_name_is_str(name: object, info: SourceInfo, source: str) -> str:
    """:raises SchemaError: *name* is not a string."""
    if not isinstance(name, str):
        raise _err(info, f"{source} requires a string name")
    return name


def check_name_str(name: str, info: SourceInfo, source: str) -> str:
    """Check a name's characters; return its stem (without prefixes).

    :raises SchemaError: the name is invalid or starts with ``q_``.
    """
    match = _VALID_NAME.match(name)
    if not match or (name[:1] == "q" and name[1:2] in ("_", "-", ".")):
        raise _err(info, f"{source} has an invalid name")
    return match.group(3)


def check_name_upper(name: str, info: SourceInfo, source: str) -> None:
    """:raises SchemaError: *name* is not a valid UPPER_CASE name."""
    stem = check_name_str(name, info, source)
    if _UPPER_BAD.search(stem):
        raise _err(info, f"name of {source} must not use lowercase or '-'")


def check_name_lower(
    name: str,
    info: SourceInfo,
    source: str,
    permit_upper: bool = False,
    permit_underscore: bool = False,
) -> None:
    """:raises SchemaError: *name* is not a valid lower-case name."""
    stem = check_name_str(name, info, source)
    if (not permit_upper and any("A" <= c <= "Z" for c in stem)) or (
        not permit_underscore and "_" in stem
    ):
        raise _err(info, f"name of {source} must not use uppercase or '_'")


def check_name_camel(name: str, info: SourceInfo, source: str) -> None:
    """:raises SchemaError: *name* is not a valid CamelCase name."""
    stem = check_name_str(name, info, source)
    if not _CAMEL.match(stem):
        raise _err(info, f"name of {source} must use CamelCase")


def check_defn_name_str(name: str, info: SourceInfo, meta: str, pragma: Pragma) -> None:
    """:raises SchemaError: the definition's name breaks the naming rules."""
    if meta in ("event", "signal"):
        check_name_upper(name, info, meta)
    elif meta == "command":
        check_name_lower(
            name, info, meta, permit_underscore=name in pragma.command_name_exceptions
        )
    else:
        check_name_camel(name, info, meta)
        if name.endswith("List"):
            raise _err(info, f"{meta} name should not end in 'List'")


def _pprint(elems: Iterable[str]) -> str:
    return ", ".join(f"'{e}'" for e in sorted(elems))


def check_keys(
    value: dict[str, object],
    info: SourceInfo,
    source: str,
    required: Iterable[str],
    optional: Iterable[str],
) -> None:
    """:raises SchemaError: a required key is missing or an unknown key is present."""
    required = set(required)
    if required.issubset(value) and all(k in required or k in optional for k in value):
        return
    missing = required - value.keys()
    if missing:
        raise _err(
            info, f"{source} misses key{'s' if len(missing) > 1 else ''} {_pprint(missing)}"
        )
    allowed = required | set(optional)
    unknown = value.keys() - allowed
    if unknown:
        raise _err(
            info,
            f"{source} has unknown key{'s' if len(unknown) > 1 else ''} {_pprint(unknown)}\n"
            f"Valid keys are {_pprint(allowed)}.",
        )


def check_flags(expr: dict[str, object], info: SourceInfo) -> None:
    """:raises SchemaError: a flag has a value it may not have."""
    for key in ("gen", "success-response"):
        if key in expr and expr[key] is not False:
            raise _err(info, f"flag '{key}' may only use false value")
    for key in ("boxed", "allow-oob", "allow-preconfig", "coroutine"):
        if key in expr and expr[key] is not True:
            raise _err(info, f"flag '{key}' may only use true value")
    if "allow-oob" in expr and "coroutine" in expr:
        raise _err(info, "flags 'allow-oob' and 'coroutine' are incompatible")


def check_if(expr: dict[str, object], info: SourceInfo, source: str) -> None:
    """Check the ``if`` member of *expr*, if any.

    :raises SchemaError: the condition is malformed.
    """
    ifcond = expr.get("if")
    if ifcond is not None:
        _check_cond(ifcond, info, source)


def _check_cond(cond: object, info: SourceInfo, source: str) -> None:
    if isinstance(cond, str):
        if not _IF_NAME.fullmatch(cond):
            raise _err(info, f"'if' condition '{cond}' of {source} is not a valid identifier")
        return
    if not isinstance(cond, dict):
        raise _err(info, f"'if' condition of {source} must be a string or an object")
    check_keys(cond, info, f"'if' condition of {source}", [], ["all", "any", "not"])
    if len(cond) != 1:
        raise _err(info, f"'if' condition of {source} has conflicting keys")
    if "not" in cond:
        _check_cond(cond["not"], info, source)
        return
    operator = "all" if "all" in cond else "any"
    operands = cond[operator]
    if not isinstance(operands, list):
        raise _err(info, f"'{operator}' condition of {source} must be an array")
    if not operands:
        raise _err(info, f"'if' condition [] of {source} is useless")
    for operand in operands:
        _check_cond(operand, info, source)


def normalize_members(members: object) -> None:
    """Turn ``'m': 'T'`` into ``'m': {'type': 'T'}`` in place."""
    if isinstance(members, dict):
        for key, arg in members.items():
            if not isinstance(arg, dict):
                members[key] = {"type": arg}


def check_type_name(value: object, info: SourceInfo, source: str) -> None:
    """:raises SchemaError: *value* is neither absent nor a type name."""
    if value is not None and not isinstance(value, str):
        raise _err(info, f"{source} should be a type name")


def check_type_name_or_array(value: object, info: SourceInfo, source: str) -> None:
    """:raises SchemaError: *value* is neither a type name nor ``['T']``."""
    if value is None or isinstance(value, str):
        return
    if not isinstance(value, list):
        raise _err(info, f"{source} should be a type name or array")
    if len(value) != 1 or not isinstance(value[0], str):
        raise _err(info, f"{source}: array type must contain single type name")


def check_type_implicit(
    value: object, info: SourceInfo, source: str, parent_name: str | None, pragma: Pragma
) -> None:
    """Check inline members (an implicit object type).

    :raises SchemaError: *value* is not an object or a member is malformed.
    """
    if value is None:
        return
    if not isinstance(value, dict):
        raise _err(info, f"{source} should be an object or type name")
    permissive = parent_name in pragma.member_name_exceptions
    for key, arg in value.items():
        key_source = f"{source} member '{key}'"
        name = key[1:] if key.startswith("*") else key
        check_name_lower(
            name, info, key_source, permit_upper=permissive, permit_underscore=permissive
        )
        if name == "u" or (name[:3] == "has" and name[3:4] in ("_", "-")):
            raise _err(info, f"{key_source} uses reserved name")
        if not isinstance(arg, dict):
            arg = {"type": arg}
            value[key] = arg
        check_keys(arg, info, key_source, ["type"], ["if", "features"])
        check_if(arg, info, key_source)
        check_features(arg.get("features"), info)
        check_type_name_or_array(arg["type"], info, key_source)


def check_type_name_or_implicit(
    value: object, info: SourceInfo, source: str, parent_name: str | None, pragma: Pragma
) -> None:
    """:raises SchemaError: *value* is neither a type name nor valid inline members."""
    if value is None or isinstance(value, str):
        return
    check_type_implicit(value, info, source, parent_name, pragma)


def check_features(features: object, info: SourceInfo) -> None:
    """Check and normalize a ``features`` list.

    :raises SchemaError: the list or a feature is malformed.
    """
    if features is None:
        return
    if not isinstance(features, list):
        raise _err(info, "'features' must be an array")
    features[:] = [f if isinstance(f, dict) else {"name": f} for f in features]
    for feat in features:
        source = "'features' member"
        check_keys(feat, info, source, ["name"], ["if"])
        name = check_name_is_str(feat["name"], info, source)
        source = f"{source} '{name}'"
        check_name_lower(name, info, source)
        check_if(feat, info, source)


def check_enum(expr: dict[str, object], info: SourceInfo, pragma: Pragma) -> None:
    """:raises SchemaError: *expr* is not a valid ``enum``."""
    name = expr["enum"]
    members = expr["data"]
    prefix = expr.get("prefix")
    if not isinstance(members, list):
        raise _err(info, "'data' must be an array")
    if prefix is not None and not isinstance(prefix, str):
        raise _err(info, "'prefix' must be a string")
    permissive = name in pragma.member_name_exceptions
    members[:] = [m if isinstance(m, dict) else {"name": m} for m in members]
    for member in members:
        source = "'data' member"
        check_keys(member, info, source, ["name"], ["if", "features"])
        member_name = check_name_is_str(member["name"], info, source)
        source = f"{source} '{member_name}'"
        # enum values may start with a digit
        if member_name[:1].isdigit():
            member_name = "d" + member_name
        check_name_lower(
            member_name, info, source, permit_upper=permissive, permit_underscore=permissive
        )
        check_if(member, info, source)
        check_features(member.get("features"), info)


def check_struct(expr: dict[str, object], info: SourceInfo, pragma: Pragma) -> None:
    """:raises SchemaError: *expr* is not a valid ``struct``."""
    name = expr["struct"]
    assert isinstance(name, str)
    check_type_implicit(expr["data"], info, "'data'", name, pragma)
    check_type_name(expr.get("base"), info, "'base'")


def check_union(expr: dict[str, object], info: SourceInfo, pragma: Pragma) -> None:
    """:raises SchemaError: *expr* is not a valid ``union``."""
    name = expr["union"]
    assert isinstance(name, str)
    base = expr["base"]
    members = expr["data"]
    check_type_name_or_implicit(base, info, "'base'", name, pragma)
    check_name_is_str(expr["discriminator"], info, "'discriminator'")
    if not isinstance(members, dict):
        raise _err(info, "'data' must be an object")
    for key, value in members.items():
        source = f"'data' member '{key}'"
        assert isinstance(value, dict)
        check_keys(value, info, source, ["type"], ["if"])
        check_if(value, info, source)
        check_type_name(value["type"], info, source)


def check_alternate(expr: dict[str, object], info: SourceInfo, pragma: Pragma) -> None:
    """:raises SchemaError: *expr* is not a valid ``alternate``."""
    members = expr["data"]
    if not members:
        raise _err(info, "'data' must not be empty")
    if not isinstance(members, dict):
        raise _err(info, "'data' must be an object")
    for key, value in members.items():
        source = f"'data' member '{key}'"
        check_name_lower(key, info, source)
        assert isinstance(value, dict)
        check_keys(value, info, source, ["type"], ["if"])
        check_if(value, info, source)
        check_type_name_or_array(value["type"], info, source)


def check_command(expr: dict[str, object], info: SourceInfo, pragma: Pragma) -> None:
    """:raises SchemaError: *expr* is not a valid ``command``."""
    args = expr.get("data")
    boxed = expr.get("boxed", False)
    if boxed and args is None:
        raise _err(info, "'boxed': true requires 'data'")
    if boxed:
        check_type_name(args, info, "'data'")
    else:
        check_type_name_or_implicit(args, info, "'data'", None, pragma)
    check_type_name_or_array(expr.get("returns"), info, "'returns'")


def check_event(expr: dict[str, object], info: SourceInfo, pragma: Pragma) -> None:
    """:raises SchemaError: *expr* is not a valid ``event``."""
    args = expr.get("data")
    boxed = expr.get("boxed", False)
    if boxed and args is None:
        raise _err(info, "'boxed': true requires 'data'")
    if boxed:
        check_type_name(args, info, "'data'")
    else:
        check_type_name_or_implicit(args, info, "'data'", None, pragma)


_PATH_SEGMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_+-]*$")


def split_alternatives(text: str) -> list[str]:
    """``'device|id'`` -> ``['device', 'id']``: members tried in turn."""
    return text.split("|")


def check_member_path(path: object, info: SourceInfo, source: str) -> None:
    """Check one ``named-by`` path: ``ROOT.MEMBER(.MEMBER)*``, the last one maybe ``A|B``.

    :raises SchemaError: *path* is not a string of that form.
    """
    if not isinstance(path, str):
        raise _err(info, f"{source} must be a string, such as 'query-jobs.returns.id'")
    segments = path.split(".")
    if len(segments) < 2:
        raise _err(
            info,
            f"{source} '{path}' names no member\n"
            "A path is a command or event, then member names: 'eject.id', 'query-jobs.returns.id'.",
        )
    *inner, last = segments
    for seg in inner + split_alternatives(last):
        if not _PATH_SEGMENT.match(seg):
            raise _err(info, f"{source} '{path}' has an invalid name '{seg}'")
    if any("|" in seg for seg in inner):
        raise _err(info, f"{source} '{path}': only the last member may have alternatives ('a|b')")


def check_handle(expr: dict[str, object], info: SourceInfo, pragma: Pragma) -> None:
    """:raises SchemaError: *expr* is not a valid ``handle``."""
    data = expr["data"]
    if not isinstance(data, str):
        raise _err(info, "'data' should be a type name")
    named_by = expr.get("named-by")
    if named_by is not None:
        if not isinstance(named_by, list) or not named_by:
            raise _err(info, "'named-by' must be a non-empty array of member paths")
        for path in named_by:
            check_member_path(path, info, "'named-by' path")


def check_signal(expr: dict[str, object], info: SourceInfo, pragma: Pragma) -> None:
    """:raises SchemaError: *expr* is not a valid ``signal``."""
    name = expr["signal"]
    assert isinstance(name, str)
    owner = expr["owner"]
    if not isinstance(owner, str):
        raise _err(info, "'owner' should be a type name")
    data = expr.get("data")
    event = expr.get("event")
    member = expr.get("owner-member")
    if isinstance(data, list):
        # Names of the event's members: the signal carries them, with the event's types.
        if event is None:
            raise _err(info, "'data' as a list of member names needs an 'event'")
        for m in data:
            if not isinstance(m, str) or not _PATH_SEGMENT.match(m):
                raise _err(info, f"'data' list must contain member names of event '{event}'")
    else:
        check_type_name_or_implicit(data, info, "'data'", name, pragma)
    if event is not None and not isinstance(event, str):
        raise _err(info, "'event' should be an event name")
    if member is not None:
        if not isinstance(member, str) or not all(
            _PATH_SEGMENT.match(m) for m in split_alternatives(member)
        ):
            raise _err(info, "'owner-member' should be a member name, or names separated by '|'")
        if event is None:
            raise _err(info, "'owner-member' needs an 'event'")


_KEYS: dict[str, tuple[list[str], list[str]]] = {
    "enum": (["enum", "data"], ["if", "features", "prefix"]),
    "union": (["union", "base", "discriminator", "data"], ["if", "features"]),
    "alternate": (["alternate", "data"], ["if", "features"]),
    "struct": (["struct", "data"], ["base", "if", "features"]),
    "command": (
        ["command"],
        [
            "data",
            "returns",
            "boxed",
            "if",
            "features",
            "gen",
            "success-response",
            "allow-oob",
            "allow-preconfig",
            "coroutine",
        ],
    ),
    "event": (["event"], ["data", "boxed", "if", "features"]),
    "handle": (["handle", "data"], ["named-by", "if", "features"]),
    "signal": (["signal", "owner"], ["data", "event", "owner-member", "if", "features"]),
}

_CHECKS = {
    "enum": check_enum,
    "union": check_union,
    "alternate": check_alternate,
    "struct": check_struct,
    "command": check_command,
    "event": check_event,
    "handle": check_handle,
    "signal": check_signal,
}


def check_exprs(exprs: list[Expression], pragma: Pragma) -> None:
    """Check and normalize every expression, in order.

    Each definition's :attr:`Expression.info` is replaced by one that
    knows the definition (for "In command 'x':" context lines).

    :raises SchemaError: at the first invalid expression.
    """
    for expr in exprs:
        data = expr.data
        if "include" in data:
            continue
        metas = [k for k in data if k in _ALL_META]
        if "signal" in data and "event" in metas:
            metas.remove("event")  # a signal's 'event' names its event
        if len(metas) != 1:
            raise _err(expr.info, _QEMU_META_MSG)
        meta = metas[0]
        name = check_name_is_str(data[meta], expr.info, f"'{meta}'")
        info = expr.info = expr.info.in_definition(meta, name)
        check_defn_name_str(name, info, meta, pragma)

        doc = expr.doc
        if doc is not None:
            if doc.symbol != name:
                raise _err(info, f"documentation comment is for '{doc.symbol}'")
            doc.check_definition(meta, "returns" in data)
        elif pragma.doc_required:
            raise _err(info, "documentation comment required")

        required, optional = _KEYS[meta]
        check_keys(data, info, meta, required, optional)
        if meta in ("union", "alternate", "struct", "command", "event", "signal"):
            if meta == "union":
                normalize_members(data.get("base"))
            normalize_members(data.get("data"))
        _CHECKS[meta](data, info, pragma)
        check_if(data, info, meta)
        check_features(data.get("features"), info)
        check_flags(data, info)
