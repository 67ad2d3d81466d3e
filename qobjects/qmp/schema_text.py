"""A server's introspected schema, written back as schema text (for stubs).

:func:`server_schema` turns a :class:`~qobjects.qmp.introspect.ServerNamespace`
into a checked :class:`~qobjects.schema.Schema` whose types carry the class
names the namespace gives them, whose handle-typed members are the
overlay's handles, and whose signals are the ones the overlay could fit to
that server, with the server's member types. The stub generator reads it
as it reads any schema (``qobjects stubgen --from ADDRESS``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qobjects.schema import Schema, parse_schema

if TYPE_CHECKING:
    from qobjects.qmp.introspect import ServerNamespace

__all__ = ["server_schema"]


def _text(value: object) -> str:
    """*value* in the schema language (single-quoted strings, lower-case booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_text(k)}: {_text(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} as schema text")


class _Writer:
    def __init__(self, ns: ServerNamespace) -> None:
        self.ns = ns
        self.info = ns.info
        self.exprs: list[dict[str, Any]] = []
        self.defined: set[str] = set()
        self.names: list[str] = []

    def type_ref(self, tname: str) -> object:
        """How a member refers to the server's type *tname* (defining it on first use)."""
        entry = self.info[tname]
        meta = entry["meta-type"]
        if meta == "builtin":
            return str(entry["name"])
        if meta == "array":
            return [self.type_ref(entry["element-type"])]
        self.define(tname)
        return self.ns.type_name(tname)

    def member_type(self, owner: str, member: dict[str, Any]) -> object:
        handle = self.ns._handle_members.get((owner, member["name"]))
        return handle[0] if handle is not None else self.type_ref(member["type"])

    def members(self, tname: str, skip: frozenset[str] = frozenset()) -> dict[str, object]:
        out: dict[str, object] = {}
        for m in self.info[tname].get("members", ()):
            if m["name"] in skip:
                continue
            key = ("*" if "default" in m else "") + m["name"]
            out[key] = self.member_type(tname, m)
        return out

    def define(self, tname: str) -> None:
        if tname in self.defined:
            return
        self.defined.add(tname)
        entry = self.info[tname]
        name = self.ns.type_name(tname)
        self.names.append(name)
        meta = entry["meta-type"]
        if meta == "enum":
            values = entry.get("values") or [m["name"] for m in entry.get("members", ())]
            self.exprs.append({"enum": name, "data": list(values)})
        elif meta == "alternate":
            data = {f"b{i}": self.type_ref(m["type"]) for i, m in enumerate(entry["members"])}
            self.exprs.append({"alternate": name, "data": data})
        elif entry.get("variants"):
            expr: dict[str, Any] = {"union": name, "base": {}, "discriminator": entry["tag"], "data": {}}
            self.exprs.append(expr)  # before its branches: definition order is use order
            expr["base"] = self.members(tname)
            for v in entry["variants"]:
                self.define(v["type"])
                expr["data"][v["case"]] = self.ns.type_name(v["type"])
        else:
            expr = {"struct": name, "data": {}}
            self.exprs.append(expr)
            expr["data"] = self.members(tname)

    def run(self) -> list[dict[str, Any]]:
        ns = self.ns
        for h in ns.schema.handles():
            self.exprs.append({"handle": h.name, "data": h.data.name})
        commands = []
        for name, entry in self.info.items():
            meta = entry.get("meta-type")
            if meta == "command":
                commands.append(name)
                expr: dict[str, Any] = {"command": name}
                arg = self.info[entry["arg-type"]]
                if arg.get("variants"):
                    expr["data"] = self.type_ref(entry["arg-type"])
                    expr["boxed"] = True
                elif arg.get("members"):
                    # A named struct: member names follow its pragma exceptions.
                    expr["data"] = self.type_ref(entry["arg-type"])
                if ns._empty_name(entry["ret-type"]) is None:
                    expr["returns"] = self.type_ref(entry["ret-type"])
                self.exprs.append(expr)
            elif meta == "event":
                expr = {"event": name}
                if self.info[entry["arg-type"]].get("members"):
                    expr["data"] = self.type_ref(entry["arg-type"])
                self.exprs.append(expr)
        for sig, owners, data in ns._signals:
            expr = {"signal": sig.name, "owner": sig.owner_name}
            if data:
                expr["data"] = {
                    ("*" if "default" in m else "") + m["name"]: self.type_ref(m["type"]) for m in data
                }
            if sig.event_name is not None:
                expr["event"] = sig.event_name
                if owners:
                    expr["owner-member"] = "|".join(owners)
            self.exprs.append(expr)
        pragma = {
            "doc-required": False,
            "command-name-exceptions": commands,
            "command-returns-exceptions": commands,
            "member-name-exceptions": sorted(
                {*self.names, *commands, *(str(e["signal"]) for e in self.exprs if "signal" in e)}
            ),
        }
        return [{"pragma": pragma}, *self.exprs]


def server_schema_text(ns: ServerNamespace) -> str:
    """The server's schema with the overlay, as schema source text."""
    return "\n".join(_text(e) for e in _Writer(ns).run()) + "\n"


def server_schema(ns: ServerNamespace, source: str = "<query-qmp-schema>") -> Schema:
    """The server's schema with the overlay, as a checked Schema.

    :raises SchemaError: the text does not check (a bug: the server's schema
        passed QEMU's own checks).
    """
    return parse_schema(server_schema_text(ns), source)
