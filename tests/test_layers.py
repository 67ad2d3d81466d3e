"""Dependencies point one way: schema -> objects and signals -> qmp -> cli.

Read from the source (every import: at module level, under TYPE_CHECKING and
inside functions), so a cycle hidden from the interpreter by a lazy import is
still found.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "qobjects"

# Lowest first; a module may import only from its own layer or below.
LAYERS = [
    {"qobjects._version", "qobjects.errors", "qobjects.owner", "qobjects.schema"},
    {
        "qobjects.alternates", "qobjects.builder", "qobjects.codecs", "qobjects.codegen",
        "qobjects.default", "qobjects.handles", "qobjects.namespace", "qobjects.objects",
        "qobjects.signals", "qobjects.signals_base", "qobjects.signals_hold",
        "qobjects.signals_slots", "qobjects.specs", "qobjects.structs",
    },
    {"qobjects.qmp"},
    {"qobjects", "qobjects.cli", "qobjects.demo", "qobjects.generate", "qobjects.shell", "qobjects.stubgen"},
]  # fmt: skip


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _known(name: str) -> str | None:
    """*name*, or the nearest enclosing module of the package (None outside it)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(name: str) -> dict[str, bool]:
    """The package's modules that *name* imports, each with whether only for typing."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: dict[str, bool] = {}

    def visit(node: ast.AST, typing_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = typing_only or (isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test))
            targets: list[str] = []
            if isinstance(child, ast.Import):
                targets = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parent = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*parent, base] if base else parent)
                targets = [f"{base}.{alias.name}" for alias in child.names]
            for target in targets:
                module = _known(target)
                if module is not None and module != name:
                    found[module] = found.get(module, True) and inner
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


GRAPH = {name: _imports(name) for name in MODULES}


def _layer(name: str) -> int:
    for index, layer in enumerate(LAYERS):
        if any(name == top or name.startswith(top + ".") for top in layer):
            return index
    raise AssertionError(f"{name} is in no layer: add it to LAYERS")


def test_every_module_has_a_layer() -> None:
    for name in MODULES:
        _layer(name)


def test_no_module_imports_from_a_higher_layer() -> None:
    upward = [
        f"{name} -> {target}"
        for name, targets in GRAPH.items()
        for target in targets
        if _layer(target) > _layer(name)
    ]
    assert upward == []


def test_only_the_top_imports_the_package_facade() -> None:
    """``from qobjects import ...`` inside the package would tie it to its own facade."""
    users = sorted(name for name, targets in GRAPH.items() if "qobjects" in targets and _layer(name) < 3)
    assert users == []


def _cycles(edges: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in edges:
        if v not in index:
            connect(v)
    return found


def test_no_import_cycles_at_run_time() -> None:
    """Counting imports inside functions: a lazy import does not hide a cycle."""
    edges = {
        name: {target for target, typing_only in targets.items() if not typing_only}
        for name, targets in GRAPH.items()
    }
    assert _cycles(edges) == []


def test_type_only_cycles_only_in_the_schema_model() -> None:
    """Only the schema's entities, its members and the Schema that checks
    them (the visitor pattern of QEMU's own schema model) name each other, and
    only in annotations. Everywhere else a helper names what it needs of its
    user by a protocol: signals, codecs and the handle classes see a handle
    through ``qobjects.owner``; a server session its server through
    ``SessionHost``; the server's lazy classes their namespace through
    ``UnionSource``."""
    edges = {name: set(targets) for name, targets in GRAPH.items()}
    for component in _cycles(edges):
        packages = {name.rpartition(".")[0] for name in component}
        assert packages == {"qobjects.schema"}, sorted(component)
