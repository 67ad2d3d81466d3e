"""The qobjects extensions to QAPI: handle types and signals.

A handle type (``{ 'handle': 'Blockdev', 'data': 'str' }``) is an object
type that travels on the wire as a scalar. A signal
(``{ 'signal': 'IO_ERROR', 'owner': 'Blockdev', ... }``) is something every
object of its owner handle type can emit; it may map to a QMP event, so a
client can emulate it from the event where the server has no signals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from qobjects.errors import SchemaError
from qobjects.schema.entities import BuiltinType, Entity, ObjectType, SchemaEvent, Type
from qobjects.schema.members import INTEGER_TYPES, Feature, IfCond

if TYPE_CHECKING:
    from qobjects.schema.doc import Doc
    from qobjects.schema.model import Schema, Visitor
    from qobjects.schema.source import SourceInfo

_E = TypeVar("_E", bound=Entity)

__all__ = ["HandleType", "SchemaSignal"]


class HandleType(Type):
    """A handle: an object type that travels on the wire as a scalar.

    :ivar data: the scalar's built-in type (``str`` or an integer type).
    """

    __slots__ = ("_data_name", "data", "named_by")

    data: BuiltinType

    def __init__(
        self,
        name: str,
        info: SourceInfo,
        doc: Doc | None,
        ifcond: IfCond | None,
        features: list[Feature] | None,
        data: str,
        named_by: list[str] | None = None,
    ) -> None:
        super().__init__("handle", name, info, doc, ifcond, features)
        self._data_name = data
        #: ``named-by`` paths (overlays only): members of the server's
        #: commands and events that are this handle on the wire.
        self.named_by: list[str] = list(named_by or [])

    @property
    def data_name(self) -> str:
        return self._data_name

    def check(self, schema: Schema) -> None:
        super().check(schema)
        data = schema.resolve_type(self._data_name, self.info, "handle's 'data'")
        if not isinstance(data, BuiltinType) or not (data.name == "str" or data.is_integer()):
            valid = ", ".join(f"'{n}'" for n in ("str", *INTEGER_TYPES))
            raise SchemaError(
                self.info,
                f"handle's 'data' cannot take {data.describe()}\nValid types are {valid}.",
            )
        self.data = data
        if self.named_by and not schema.overlay:
            raise SchemaError(
                self.info,
                "'named-by' is only allowed in an overlay, which is merged with a server's schema",
            )

    def json_type(self) -> str:
        return self.data.json_type()

    def visit(self, visitor: Visitor) -> None:
        visitor.visit_handle_type(self)


class SchemaSignal(Entity):
    """A signal that every object of a handle type has.

    :ivar owner: the handle type that owns the signal.
    :ivar arg_type: the signal's data (``None`` when it has none).
    :ivar event: the QMP event a client can emulate the signal from.
    :ivar owner_member: the member of :attr:`event` that names the owner
        (the first of :attr:`owner_members`), or None.
    :ivar owner_members: the members of :attr:`event` tried in turn for the
        owner: the first present, non-empty one names it (``'device|id'``).
        Empty when the event names no owner: then the owner is the session's
        object whose value is empty (``""``, or ``0`` for an integer handle).
    :ivar data_names: in overlays, the event members the signal carries
        (``'data': ['status']``), with the server's types; else None.
    """

    __slots__ = (
        "_arg_type_name",
        "_event_name",
        "_owner_name",
        "arg_type",
        "data_names",
        "event",
        "owner",
        "owner_member",
        "owner_members",
    )

    owner: HandleType

    def __init__(
        self,
        name: str,
        info: SourceInfo,
        doc: Doc | None,
        ifcond: IfCond | None,
        features: list[Feature] | None,
        owner: str,
        arg_type: str | None,
        event: str | None,
        owner_member: str | None,
        data_names: list[str] | None = None,
    ) -> None:
        super().__init__("signal", name, info, doc, ifcond, features)
        self._owner_name = owner
        self._arg_type_name = arg_type
        self._event_name = event
        self.arg_type: ObjectType | None = None
        self.event: SchemaEvent | None = None
        self.owner_members: tuple[str, ...] = tuple(owner_member.split("|")) if owner_member else ()
        self.owner_member = self.owner_members[0] if self.owner_members else None
        self.data_names = data_names

    @property
    def owner_name(self) -> str:
        return self._owner_name

    @property
    def event_name(self) -> str | None:
        return self._event_name

    def check(self, schema: Schema) -> None:
        super().check(schema)
        self.owner = self._lookup(schema, "owner", self._owner_name, HandleType, "type", "a handle type")
        if self.data_names is not None and not schema.overlay:
            raise SchemaError(
                self.info,
                "'data' as a list of member names is only allowed in an overlay; "
                "give the members and their types",
            )
        if self._arg_type_name:
            typ = schema.resolve_type(self._arg_type_name, self.info, "signal's 'data'")
            if not isinstance(typ, ObjectType) or typ.variants:
                raise SchemaError(self.info, f"signal's 'data' cannot take {typ.describe()}")
            self.arg_type = typ
            typ.check(schema)

    def _lookup(self, schema: Schema, key: str, name: str, cls: type[_E], kind: str, what: str) -> _E:
        """The entity *name* that the signal's *key* names, which must be a *cls*.

        :raises SchemaError: it does not exist or is of another kind.
        """
        ent = schema.lookup_entity(name)
        if ent is None:
            raise SchemaError(self.info, f"signal's '{key}' uses unknown {kind} '{name}'")
        if not isinstance(ent, cls):
            raise SchemaError(self.info, f"signal's '{key}' must be {what}, {ent.describe()} isn't")
        return ent

    def check_event(self, schema: Schema) -> None:
        """Check the mapping to an event (after every entity is checked).

        :raises SchemaError: the event or its owner member does not fit.
        """
        if self._event_name is None or schema.overlay:
            return  # an overlay's events are the server's: checked when merged
        ev = self._lookup(schema, "event", self._event_name, SchemaEvent, "event", "an event")
        ev_members = {m.name: m for m in ev.arg_type.members} if ev.arg_type else {}
        names = ", ".join(f"'{n}'" for n in ev_members) or "none"
        owner = self.owner
        for i, member in enumerate(self.owner_members):
            om = ev_members.get(member)
            if om is None:
                raise SchemaError(
                    self.info,
                    f"'owner-member' '{member}' is not a member of event "
                    f"'{ev.name}'\nIts members are {names}.",
                )
            if not (om.type is owner or om.type.name == "str" or om.type is owner.data):
                raise SchemaError(
                    self.info,
                    f"'owner-member' '{member}' of event '{ev.name}' has type "
                    f"'{om.type.name}', but must have type 'str' or '{owner.name}'",
                )
            if om.optional and i == len(self.owner_members) - 1:
                raise SchemaError(
                    self.info,
                    f"'owner-member' '{member}' of event '{ev.name}' must not be optional",
                )
        for m in self.arg_type.members if self.arg_type else []:
            if m.name in self.owner_members:
                raise SchemaError(
                    self.info,
                    f"member '{m.name}' is the 'owner-member' of event '{ev.name}'; "
                    "the owner is passed separately",
                )
            em = ev_members.get(m.name)
            if em is None:
                raise SchemaError(
                    self.info,
                    f"member '{m.name}' is not a member of event '{ev.name}'\nIts members are {names}.",
                )
            if em.type is not m.type:
                raise SchemaError(
                    self.info,
                    f"member '{m.name}' has type '{m.type.name}', but type "
                    f"'{em.type.name}' in event '{ev.name}'",
                )
            if em.optional and not m.optional:
                raise SchemaError(
                    self.info,
                    f"member '{m.name}' is required, but optional in event '{ev.name}'",
                )
        self.event = ev

    def connect_doc(self, schema: Schema, doc: Doc | None = None) -> None:
        super().connect_doc(schema, doc)
        doc = doc or self.doc
        if doc is not None and self.arg_type is not None and self.arg_type.is_implicit():
            self.arg_type.connect_doc(schema, doc)

    def visit(self, visitor: Visitor) -> None:
        visitor.visit_signal(self)
