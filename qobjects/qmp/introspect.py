"""Classes from a server's own schema: ``query-qmp-schema`` merged with an overlay.

:func:`server_namespace` turns the reply of ``query-qmp-schema`` (a list of
SchemaInfo objects) into a :class:`ServerNamespace`: every command of that
server, with exactly that version's arguments, and replies decoded with that
server's types. An overlay (a schema file read with ``overlay=True``, such as
the bundled :data:`~qobjects.schema.QEMU_OVERLAY`) adds handle types, the
members that are handles (``named-by``) and signals emulated from events.

Nothing is built before it is used: a command's spec on its first call, a
class when a reply or a caller first needs it. Connecting costs an index of
the reply and a look-up of the overlay's paths.

Class names
-----------
Introspection numbers the types (``"17"``) and has no doc comments, so
classes are named after the place where the server's schema first uses them
(in the order ``query-qmp-schema`` lists its entries):

==================================== ======================================
first use                            class name
==================================== ======================================
arguments of command ``blockdev-add`` ``BlockdevAddArg``
return value of ``query-status``     ``QueryStatusReturn``
element of the list ``query-block``  ``QueryBlockItem``
returns
data of event ``JOB_STATUS_CHANGE``  ``JobStatusChangeData``
member ``status`` of type ``P``      ``P`` + ``Status`` (for arguments and
                                     event data, the command or event name:
                                     ``JobStatusChangeStatus``)
branch ``file`` of union ``P``       ``P`` + ``File``
an object branch of alternate ``A``  ``A`` + ``Object`` (``Enum``, ``Array``...)
==================================== ======================================

A list is named like its element. Should two types get one name, the later
one gets its number appended (``Name17``); a name that would end in
``List`` ends in ``ListValue``. Built-in types are Python's own
(``str``, ``int``, ``float``, ``bool``, ``None``, ``object``), and every
integer type accepts 64-bit values, since introspection does not tell them
apart. Handle types are the overlay's classes.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import weakref
from typing import TYPE_CHECKING, Any

from qobjects.codecs import AnyCodec, Codec, ListCodec, MemberSpec, py_name
from qobjects.errors import SchemaError
from qobjects.objects import (
    Alternate,
    AlternateCodec,
    CommandSpec,
    Emulation,
    EventSpec,
    Handle,
    HandleArgCodec,
    HandleCodec,
    Namespace,
    Struct,
    StructCodec,
    UnionBase,
    owner_of,
)
from qobjects.qmp.introspect_classes import (
    BUILTIN,
    MODULE,
    Checker,
    LazyMap,
    LazyUnion,
    ServerEnumCodec,
    ServerStruct,
)
from qobjects.signals import Signal

if TYPE_CHECKING:
    from qobjects.schema import Schema
    from qobjects.schema import SchemaSignal as SignalEntity
    from qobjects.schema.source import SourceInfo

__all__ = ["ServerNamespace", "qemu_overlay", "server_namespace"]

log = logging.getLogger(__name__)

_META_SUFFIX = {
    "object": "Object",
    "enum": "Enum",
    "array": "Array",
    "builtin": "Value",
    "alternate": "Alternate",
}


@functools.cache
def qemu_overlay() -> Schema:
    """The bundled QEMU overlay, read once."""
    from qobjects.schema import QEMU_OVERLAY, load_schema

    return load_schema(QEMU_OVERLAY, overlay=True)


def _camel(name: str) -> str:
    return "".join(p[:1].upper() + p[1:].lower() for p in re.split(r"[-_.]", name) if p)


class ServerNamespace(Namespace):
    """A :class:`~qobjects.objects.Namespace` made from a server's introspection.

    :ivar schema: the overlay (its handle types and signals).
    :ivar info: the server's SchemaInfo entries by name.
    :ivar problems: what of the overlay did not fit this server (and was left out).
    """

    def __init__(self, info: list[dict[str, Any]], overlay: Schema, *, strict: bool = False) -> None:
        """Index *info* and fit *overlay* to it.

        :raises SchemaError: with *strict*, a part of the overlay does not fit
            the server (else it is left out and listed in :attr:`problems`);
            *info* is not a list of SchemaInfo objects.
        """
        super().__init__(overlay)
        self.strict = strict
        self.problems: list[str] = []
        self.info_list = info
        try:
            self.info: dict[str, dict[str, Any]] = {e["name"]: e for e in info}
        except (TypeError, KeyError):
            raise SchemaError(None, "query-qmp-schema did not return a list of SchemaInfo objects") from None
        self._codecs: dict[str, Codec] = {}
        self._names: dict[str, str] = {}
        self._taken: dict[str, str] = {}
        self._first: dict[str, tuple[str, object]] = {}
        self._scanned = 0
        self._handle_members: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {}
        self._signals: list[tuple[SignalEntity, tuple[str, ...], list[dict[str, Any]]]] = []
        self._handles: dict[str, type[Handle]] = {}
        self._table: dict[str, list[Emulation]] = {}
        self.codecs = self._codecs
        self._py_names: dict[str, str] | None = None
        self._lock = threading.RLock()  # builds classes: one per type, across threads
        self._all_names: dict[str, str] | None = None
        self.commands = LazyMap(
            lambda: self._names_of("command"), self._command, self._lock, lambda n: self._is(n, "command")
        )
        self.events = LazyMap(
            lambda: self._names_of("event"), self._event, self._lock, lambda n: self._is(n, "event")
        )
        self.handles = LazyMap(lambda: [h.name for h in overlay.handles()], self._handle, self._lock)
        self.types = LazyMap(lambda: list(self._class_names()), self._type_by_name, self._lock)
        try:
            self._fit(overlay)
        except (KeyError, TypeError, AttributeError) as err:
            raise SchemaError(
                None, f"the server's schema does not describe what the overlay names correctly ({err!r})"
            ) from err

    def __repr__(self) -> str:
        return f"<ServerNamespace of {len(self.commands)} commands, {len(self.handles)} handle types>"

    # --- the overlay -----------------------------------------------------------------

    def _problem(self, info: SourceInfo | None, msg: str) -> None:
        if self.strict:
            raise SchemaError(info, msg)
        log.debug("overlay: %s", msg)
        self.problems.append(msg)

    def _fit(self, overlay: Schema) -> None:
        for handle in overlay.handles():
            for path in handle.named_by:
                self._fit_path(handle.name, handle.data.json_type(), path, handle.info)
        for sig in overlay.signals():
            self._fit_signal(sig)
        for sig, _, _ in self._signals:
            if sig.event is None and sig.event_name is not None:
                self._table.setdefault(sig.event_name, [])

    def _objects(self, tname: str, seen: set[str] | None = None) -> list[dict[str, Any]]:
        """The object types a value of *tname* may be (through lists, alternates, branches)."""
        seen = set() if seen is None else seen
        entry = self.info.get(tname)
        if entry is None or tname in seen:
            return []
        seen.add(tname)
        meta = entry.get("meta-type")
        if meta == "array":
            return self._objects(entry["element-type"], seen)
        if meta == "alternate":
            return [o for m in entry["members"] for o in self._objects(m["type"], seen)]
        if meta != "object":
            return []
        out = [entry]
        for v in entry.get("variants", ()):
            out += self._objects(v["type"], seen)
        return out

    def _fit_path(self, handle: str, json_type: str, path: str, info: SourceInfo | None) -> None:
        root, *inner, last = path.split(".")
        entry = self.info.get(root)
        meta = entry.get("meta-type") if entry else None
        if entry is None or meta not in ("command", "event"):
            self._problem(info, f"'named-by' path '{path}': the server has no command or event '{root}'")
            return
        if meta == "command" and inner[:1] == ["returns"]:
            inner = inner[1:]
            types = [entry["ret-type"]]
        else:
            types = [entry["arg-type"]]
        for seg in inner:
            found = [
                m["type"] for t in types for o in self._objects(t) for m in o["members"] if m["name"] == seg
            ]
            if not found:
                self._problem(info, f"'named-by' path '{path}': no member '{seg}'")
                return
            types = found
        alternatives = tuple(last.split("|"))
        hits = 0
        for t in types:
            for obj in self._objects(t):
                members = {m["name"]: m for m in obj["members"]}
                member = members.get(alternatives[0])
                if member is None:
                    continue
                mtype = self.info.get(member["type"], {})
                if mtype.get("json-type") != json_type:
                    self._problem(
                        info,
                        f"'named-by' path '{path}': member '{alternatives[0]}' is of type "
                        f"{mtype.get('json-type', member['type'])}, but {handle} is a {json_type}",
                    )
                    return
                alts = tuple(a for a in alternatives if a in members)
                key = (obj["name"], alternatives[0])
                prev = self._handle_members.get(key)
                if prev is not None and prev[0] != handle:
                    self._problem(
                        info, f"'named-by' path '{path}': member '{alternatives[0]}' is already a {prev[0]}"
                    )
                    return
                if prev is None or len(prev[1]) < len(alts):
                    self._handle_members[key] = (handle, alts)
                hits += 1
        if not hits:
            self._problem(info, f"'named-by' path '{path}': no member '{alternatives[0]}'")

    def _fit_signal(self, sig: SignalEntity) -> None:
        name = sig.event_name
        if name is None:
            self._signals.append((sig, (), []))
            return
        entry = self.info.get(name)
        if entry is None or entry.get("meta-type") != "event":
            self._problem(sig.info, f"signal {sig.owner_name}.{sig.name}: the server has no event '{name}'")
            return
        members = {m["name"]: m for o in self._objects(entry["arg-type"]) for m in o["members"]}
        owners = tuple(m for m in sig.owner_members if m in members)
        if sig.owner_members and not owners:
            self._problem(
                sig.info,
                f"signal {sig.owner_name}.{sig.name}: event '{name}' has no member "
                + " or ".join(f"'{m}'" for m in sig.owner_members),
            )
            return
        data: list[dict[str, Any]] = []
        if sig.data_names is not None:
            for m in sig.data_names:
                if m not in members:
                    self._problem(
                        sig.info, f"signal {sig.owner_name}.{sig.name}: event '{name}' has no member '{m}'"
                    )
                    continue
                data.append(members[m])
        elif sig.arg_type is not None:
            for om in sig.arg_type.members:
                if om.name not in members:
                    self._problem(
                        sig.info,
                        f"signal {sig.owner_name}.{sig.name}: event '{name}' has no member '{om.name}'",
                    )
                    return
                data.append(members[om.name])
        self._signals.append((sig, owners, data))
        self._table.setdefault(name, [])

    # --- handles and signals --------------------------------------------------------

    def _handle(self, name: str) -> type[Handle]:
        ent = next(h for h in self.schema.handles() if h.name == name)
        scalar = BUILTIN[ent.data.json_type()]()
        doc = None if ent.doc is None else ent.doc.docstring()
        cls: type[Handle] = type(
            name,
            (Handle,),
            {
                "__module__": MODULE,
                "__doc__": doc or f"Handle {name}.",
                "__handle_name__": name,
                "_scalar": scalar,
                "_interned": weakref.WeakValueDictionary(),
                "_signals": {},
            },
        )
        self._handles[name] = cls
        self._codecs[name] = HandleCodec(cls)
        empty: object = "" if ent.data.json_type() == "string" else 0
        for sig, owners, data in self._signals:
            if sig.owner_name != name:
                continue
            specs = tuple(self._spec(m, None) for m in data)
            doc = None if sig.doc is None else sig.doc.docstring()
            signal = Signal(sig.name, specs, doc)
            attr = py_name(sig.name.lower())
            setattr(cls, attr, signal)
            signal.__set_name__(cls, attr)
            cls._signals[sig.name] = signal
            if sig.event_name is not None:
                self._table[sig.event_name].append((cls, signal, owner_of(owners, empty)))
        return cls

    def emulated_signals(self) -> dict[str, tuple[str, list[str]]]:
        """The signals this server's events give, by name: (owner type, data member names)."""
        return {
            sig.name: (sig.owner_name, [m["name"] for m in data])
            for sig, _, data in self._signals
            if sig.event_name is not None
        }

    def emulation_table(self) -> dict[str, list[Emulation]]:
        """See :meth:`Namespace.emulation_table`: filled as handle classes are built."""
        return self._table

    def _is(self, name: str, meta: str) -> bool:
        entry = self.info.get(name)
        return entry is not None and entry.get("meta-type") == meta

    def _names_of(self, meta: str) -> list[str]:
        return [n for n, e in self.info.items() if e.get("meta-type") == meta]

    def command_by_py(self, name: str) -> CommandSpec | None:
        qapi = name.replace("_", "-")
        entry = self.info.get(qapi)
        if entry is None or entry.get("meta-type") != "command":
            # Commands named with '_' (block_resize) or mixed: one index, built once.
            if self._py_names is None:
                self._py_names = {py_name(n): n for n in self._names_of("command")}
            found = self._py_names.get(name)
            if found is None:
                return None
            qapi = found
        return self.commands[qapi]

    # --- commands and events --------------------------------------------------------

    def _spec(self, member: dict[str, Any], owner: str | None, arg: bool = False) -> MemberSpec:
        name = member["name"]
        handle = self._handle_members.get((owner, name)) if owner is not None else None
        if handle is not None:
            cls = self.handles[handle[0]]
            codec: Codec = HandleArgCodec(cls) if arg else self._codecs[cls.__handle_name__]
        else:
            codec = self.codec(member["type"])
        return MemberSpec(name, py_name(name), codec, "default" in member)

    def _command(self, name: str) -> CommandSpec:
        entry = self.info[name]
        arg_type = self.info.get(entry["arg-type"], {})
        args: tuple[MemberSpec, ...] = ()
        arg_codec: Codec | None = None
        if arg_type.get("variants") or arg_type.get("meta-type") != "object":
            arg_codec = self.codec(entry["arg-type"])
        else:
            args = tuple(self._spec(m, arg_type["name"], arg=True) for m in arg_type["members"])
        ret_name = entry.get("ret-type")
        ret = self.codec(ret_name) if ret_name and ret_name != self._empty_name(ret_name) else None
        return CommandSpec(
            name, py_name(name), args, arg_codec, ret, None, True, Checker(args, f"command '{name}'")
        )

    def _empty_name(self, tname: str) -> str | None:
        entry = self.info.get(tname, {})
        if entry.get("meta-type") == "object" and not entry.get("members") and not entry.get("variants"):
            return tname
        return None

    def _event(self, name: str) -> EventSpec:
        entry = self.info[name]
        obj = self.info.get(entry["arg-type"], {})
        args = tuple(self._spec(m, obj["name"]) for m in obj.get("members", ()))
        return EventSpec(name, args, None, Checker(args, f"event '{name}'"))

    # --- types ----------------------------------------------------------------------

    def codec(self, tname: str) -> Codec:
        """The codec of the server's type *tname* (its introspection name), built on first use.

        :raises KeyError: the server has no such type.
        """
        with self._lock:
            return self._codec(tname)

    def _codec(self, tname: str) -> Codec:
        codec = self._codecs.get(tname)
        if codec is not None:
            return codec
        if tname in self._handles or tname in self.handles:
            return self._codecs.get(tname) or HandleCodec(self.handles[tname])
        entry = self.info[tname]
        meta = entry["meta-type"]
        if meta == "builtin":
            codec = BUILTIN.get(entry["json-type"], AnyCodec)()
        elif meta == "array":
            codec = ListCodec(self.codec(entry["element-type"]))
        elif meta == "enum":
            codec = self._enum(tname, entry)
        elif meta == "object":
            return self._object(tname, entry)
        elif meta == "alternate":
            return self._alternate(tname, entry)
        else:
            codec = AnyCodec()
        self._codecs[tname] = codec
        return codec

    def _enum(self, tname: str, entry: dict[str, Any]) -> Codec:
        values = entry.get("values") or [m["name"] for m in entry.get("members", ())]
        return ServerEnumCodec(self.type_name, self._lock, tname, tuple(values))

    def _object(self, tname: str, entry: dict[str, Any]) -> Codec:
        name = self.type_name(tname)
        variants = entry.get("variants")
        members = entry.get("members", [])
        own = tuple(dict.fromkeys(py_name(m["name"]) for m in members))
        base: type[Struct] = LazyUnion if variants else ServerStruct
        cls: type[Struct] = type(
            name,
            (base,),
            {
                "__module__": MODULE,
                "__slots__": own,
                "__doc__": f"Struct {name} of the server.",
                "_where": name,
            },
        )
        codec = StructCodec(cls)
        self._codecs[tname] = codec
        specs = tuple(self._spec(m, tname) for m in members)
        cls._specs = specs
        cls.__annotations__ = {s.py: s.annotation() for s in specs}
        fallbacks = tuple(
            (m, alts) for (o, m), (_, alts) in self._handle_members.items() if o == tname and len(alts) > 1
        )
        if fallbacks:
            cls._fallbacks = fallbacks  # type: ignore[attr-defined]
        if variants:
            cls._ns = self  # type: ignore[attr-defined]
            cls._entry = entry  # type: ignore[attr-defined]
            cls._tag = entry["tag"]  # type: ignore[attr-defined]
            cls._tag_py = py_name(entry["tag"])  # type: ignore[attr-defined]
        return codec

    def _branches(self, cls: type[LazyUnion]) -> None:
        with self._lock:
            if "_variants" not in cls.__dict__:
                self._make_branches(cls)

    def _make_branches(self, cls: type[LazyUnion]) -> None:
        entry = cls._entry
        base_specs = cls._specs
        names = {s.py for s in base_specs}
        out: dict[str, type[UnionBase]] = {}
        for v in entry["variants"]:
            case = v["case"]
            vobj = self.info.get(v["type"], {})
            extra = tuple(
                self._spec(m, v["type"]) for m in vobj.get("members", ()) if py_name(m["name"]) not in names
            )
            where = f"{cls.__name__} (branch '{case}')"
            branch: type[UnionBase] = type(
                f"{cls.__name__}_{py_name(case)}",
                (cls,),
                {
                    "__module__": MODULE,
                    "__slots__": tuple(s.py for s in extra),
                    "__doc__": f"Branch '{case}' of union {cls.__name__}.",
                    "_branch": case,
                    "_where": where,
                    "_variants": {},
                },
            )
            branch.__qualname__ = f"{cls.__name__}.{py_name(case)}"
            branch._specs = base_specs + extra
            branch.__annotations__ = {s.py: s.annotation() for s in branch._specs}
            out[case] = branch
        cls._variants = out

    def _alternate(self, tname: str, entry: dict[str, Any]) -> Codec:
        name = self.type_name(tname)
        cls: type[Alternate] = type(
            name, (Alternate,), {"__module__": MODULE, "__doc__": f"Alternate {name} of the server."}
        )
        codec = AlternateCodec(cls)
        self._codecs[tname] = codec
        cls._branches = tuple((m["type"], self.codec(m["type"])) for m in entry["members"])
        return codec

    def _class_names(self) -> dict[str, str]:
        """Every class name of the namespace, with its server type name (named
        all at once, on first use)."""
        with self._lock:
            if self._all_names is None:
                names = {}
                for e in self.info_list:
                    if e.get("meta-type") in ("object", "enum", "alternate"):
                        if self._empty_name(e["name"]) is None:
                            names[self._type_name(e["name"])] = e["name"]
                for h in self.schema.handles():
                    names[h.name] = h.name
                self._all_names = names
            return self._all_names

    def _type_by_name(self, name: str) -> type:
        tname = self._class_names()[name]
        codec = self.codec(tname)
        assert isinstance(codec, (StructCodec, AlternateCodec, HandleCodec, ServerEnumCodec))
        return codec.cls

    # --- names ----------------------------------------------------------------------

    def _first_use(self, tname: str) -> tuple[str, object] | None:
        """Where the schema first uses *tname*: (entry name, role); scans only as far as needed."""
        first = self._first
        entries = self.info_list
        while tname not in first and self._scanned < len(entries):
            e = entries[self._scanned]
            self._scanned += 1
            meta, n = e.get("meta-type"), e["name"]
            # A list '[T]' uses its element T at the same place (QEMU names
            # lists after their element).
            if meta == "command":
                first.setdefault(e["arg-type"], (n, "arg"))
                ret = e["ret-type"]
                first.setdefault(ret, (n, "ret"))
                if ret[:1] == "[":
                    first.setdefault(ret[1:-1], (n, "item"))
            elif meta == "event":
                first.setdefault(e["arg-type"], (n, "arg"))
            elif meta == "object":
                for m in e["members"]:
                    t = m["type"]
                    first.setdefault(t, (n, m["name"]))
                    if t[:1] == "[":
                        first.setdefault(t[1:-1], (n, m["name"]))
                for v in e.get("variants", ()):
                    first.setdefault(v["type"], (n, ("case", v["case"])))
            elif meta == "array":
                first.setdefault(e["element-type"], (n, "[]"))
            elif meta == "alternate":
                for m in e["members"]:
                    t = m["type"]
                    first.setdefault(t, (n, "|"))
                    if t[:1] == "[":
                        first.setdefault(t[1:-1], (n, "|"))
        return first.get(tname)

    def _prefix(self, tname: str) -> str:
        """What names of types used by *tname*'s members start with."""
        use = self._first_use(tname)
        if use is not None and use[1] == "arg":
            return _camel(use[0])
        return self.type_name(tname)

    def type_name(self, tname: str) -> str:
        """The Python class name of the server's type *tname* (see the module docstring)."""
        with self._lock:
            return self._type_name(tname)

    def _type_name(self, tname: str) -> str:
        name = self._names.get(tname)
        if name is not None:
            return name
        entry = self.info.get(tname, {})
        use = self._first_use(tname)
        if use is None:
            name = "Type" + tname
        else:
            parent, role = use
            pentry = self.info.get(parent, {})
            pmeta = pentry.get("meta-type")
            if pmeta == "command":
                name = _camel(parent) + {"arg": "Arg", "ret": "Return"}.get(str(role), "Item")
            elif pmeta == "event":
                name = _camel(parent) + "Data"
            elif pmeta == "array":
                puse = self._first_use(parent)
                if (
                    puse is not None
                    and puse[1] == "ret"
                    and self.info.get(puse[0], {}).get("meta-type") == "command"
                ):
                    name = _camel(puse[0]) + "Item"
                else:
                    name = self.type_name(parent)
            elif pmeta == "alternate":
                name = self.type_name(parent) + _META_SUFFIX.get(entry.get("meta-type", ""), "Value")
            elif isinstance(role, tuple):
                name = self._prefix(parent) + _camel(str(role[1]))
            else:
                name = self._prefix(parent) + _camel(str(role))
        if not name.isidentifier():
            name = "T" + re.sub(r"\W", "", name)
        if name.endswith("List"):
            name += "Value"  # names ending in List are the schema language's arrays
        if entry.get("meta-type") != "array":
            other = self._taken.get(name)
            if other is not None and other != tname:
                name = f"{name}{tname}"
            self._taken[name] = tname
        self._names[tname] = name
        return name


def server_namespace(info: object, overlay: Schema | None = None, *, strict: bool = False) -> ServerNamespace:
    """The namespace of a server whose ``query-qmp-schema`` returned *info*.

    :param overlay: handles and signals to add (default: the bundled QEMU overlay).
    :param strict: raise for any part of the overlay that does not fit.
    :raises SchemaError: *info* is not SchemaInfo, or (*strict*) the overlay does not fit.
    """
    if not isinstance(info, list):
        raise SchemaError(None, "query-qmp-schema did not return a list of SchemaInfo objects")
    return ServerNamespace(info, qemu_overlay() if overlay is None else overlay, strict=strict)
