"""Schema model -> ``.pyi`` stubs for mypy.

``qobjects stubgen [SCHEMA] -o DIR`` writes the stubs of the classes that
``qobjects.build(SCHEMA)`` makes and of the session methods of its commands.

- Without SCHEMA (the bundled default schema) it writes the stub package of
  ``qobjects`` itself, ``DIR/qobjects/__init__.pyi``: the public API
  re-exported from the real modules, the schema's classes and typed
  ``Session``/``AsyncSession``/``connect``/``aconnect``. Only ``__init__`` is
  stubbed: mypy, given ``DIR`` on its ``mypy_path``, takes every submodule
  (``qobjects.objects``, ``qobjects.signals``...) from the source.
- With SCHEMA it writes a standalone, types-only module
  ``DIR/<name>.pyi`` (``--module``; by default the schema file's stem).

The generator reads the checked model, not the built classes, and follows
the rules of :func:`qobjects.objects.build` (names, members, branches).
Output is deterministic: definition order, no paths, no dates. See
``docs/typing.md`` for what the stubs say and what they cannot say.

The parts, each importing only those below it:

- :mod:`.driver`: files written, a live server's schema (``--from``), the
  ``stubgen`` subcommand;
- :mod:`.module`: one schema -> the text of one stub module (:func:`generate`);
- :mod:`.classes`: enums, structs, unions, handles and signals as classes;
  :mod:`.sessions`: ``Session``/``AsyncSession`` with a method per command;
- :mod:`.annotate`: type names, annotations, parameters, docstrings.

This package re-exports the public API of the parts.
"""

from __future__ import annotations

from qobjects.stubgen.annotate import entity_doc as entity_doc
from qobjects.stubgen.classes import MAX_SUBSET_MEMBERS as MAX_SUBSET_MEMBERS
from qobjects.stubgen.driver import STUB_PACKAGE as STUB_PACKAGE
from qobjects.stubgen.driver import add_stubgen, run_stubgen, write_server_stubs, write_stubs
from qobjects.stubgen.driver import default_module as default_module
from qobjects.stubgen.module import generate
from qobjects.stubgen.sessions import SESSION_NAMES as SESSION_NAMES

__all__ = ["add_stubgen", "generate", "run_stubgen", "write_server_stubs", "write_stubs"]
