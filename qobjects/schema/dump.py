"""The model as text, in the format of QEMU's ``test-qapi.py``.

Additions for qobjects: ``handle NAME SCALAR`` and ``signal NAME OWNER ARG``
(``ARG`` is the argument type's name or ``None``), followed by
``    event EVENT owner-member MEMBER`` when the signal maps to an event
(``MEMBER`` is ``a|b`` for alternatives, ``none`` when the event names no
owner); then
the usual ``if``/``feature`` lines.
"""

from __future__ import annotations

from qobjects.schema.entities import (
    AlternateType,
    ArrayType,
    Command,
    EnumType,
    ObjectType,
    SchemaEvent,
    Variants,
)
from qobjects.schema.handles import HandleType, SchemaSignal
from qobjects.schema.members import Feature, IfCond
from qobjects.schema.model import Schema, Visitor
from qobjects.schema.source import SourceInfo

__all__ = ["dump"]


class _DumpVisitor(Visitor):
    def __init__(self) -> None:
        self.out: list[str] = []

    def _if(self, ifcond: IfCond, indent: int = 4) -> None:
        if ifcond.is_present():
            self.out.append(f"{' ' * indent}if {ifcond}")

    def _features(self, features: list[Feature], indent: int = 4) -> None:
        for f in features:
            self.out.append(f"{' ' * indent}feature {f.name}")
            self._if(f.ifcond, indent + 4)

    def _variants(self, variants: Variants | None) -> None:
        if variants is not None:
            self.out.append(f"    tag {variants.tag_member.name}")
            for v in variants.variants:
                self.out.append(f"    case {v.name}: {v.type.name}")
                self._if(v.ifcond, 8)

    def visit_module(self, name: str) -> None:
        self.out.append(f"module {name}")

    def visit_include(self, name: str, info: SourceInfo | None) -> None:
        self.out.append(f"include {name}")

    def visit_enum_type(self, t: EnumType) -> None:
        self.out.append(f"enum {t.name}")
        if t.prefix:
            self.out.append(f"    prefix {t.prefix}")
        for m in t.members:
            self.out.append(f"    member {m.name}")
            self._if(m.ifcond, 8)
            self._features(m.features, 8)
        self._if(t.ifcond)
        self._features(t.features)

    def visit_array_type(self, t: ArrayType) -> None:
        if t.info is None:
            return
        self.out.append(f"array {t.name} {t.element_type.name}")
        self._if(t.ifcond)

    def visit_object_type(self, t: ObjectType) -> None:
        self.out.append(f"object {t.name}")
        if t.base is not None:
            self.out.append(f"    base {t.base.name}")
        for m in t.local_members:
            self.out.append(f"    member {m.name}: {m.type.name} optional={m.optional}")
            self._if(m.ifcond, 8)
            self._features(m.features, 8)
        self._variants(t.variants)
        self._if(t.ifcond)
        self._features(t.features)

    def visit_alternate_type(self, t: AlternateType) -> None:
        self.out.append(f"alternate {t.name}")
        self._variants(t.variants)
        self._if(t.ifcond)
        self._features(t.features)

    def visit_command(self, c: Command) -> None:
        arg = c.arg_type.name if c.arg_type else None
        ret = c.ret_type.name if c.ret_type else None
        self.out.append(f"command {c.name} {arg} -> {ret}")
        self.out.append(
            f"    gen={c.gen} success_response={c.success_response} boxed={c.boxed} "
            f"oob={c.allow_oob} preconfig={c.allow_preconfig}"
            + (" coroutine=True" if c.coroutine else "")
        )
        self._if(c.ifcond)
        self._features(c.features)

    def visit_event(self, e: SchemaEvent) -> None:
        self.out.append(f"event {e.name} {e.arg_type.name if e.arg_type else None}")
        self.out.append(f"    boxed={e.boxed}")
        self._if(e.ifcond)
        self._features(e.features)

    def visit_handle_type(self, h: HandleType) -> None:
        self.out.append(f"handle {h.name} {h.data.name}")
        self._if(h.ifcond)
        self._features(h.features)

    def visit_signal(self, s: SchemaSignal) -> None:
        arg = s.arg_type.name if s.arg_type else None
        self.out.append(f"signal {s.name} {s.owner.name} {arg}")
        if s.event is not None:
            members = "|".join(s.owner_members) or "none"
            self.out.append(f"    event {s.event.name} owner-member {members}")
        self._if(s.ifcond)
        self._features(s.features)


def dump(schema: Schema) -> str:
    """The model and its doc comments as ``test-qapi.py`` prints them."""
    visitor = _DumpVisitor()
    schema.visit(visitor)
    out = visitor.out
    for doc in schema.docs:
        out.append(f"doc symbol={doc.symbol}" if doc.symbol else "doc freeform")
        out.append(f"    body=\n{doc.body}")
        for name, text in doc.args.items():
            out.append(f"    arg={name}\n{text}")
        for name, text in doc.features.items():
            out.append(f"    feature={name}\n{text}")
        for kind, text in doc.sections:
            out.append(f"    section={kind}\n{text}")
    return "".join(line + "\n" for line in out)
