"""The public surface: every name users need is in __all__, sorted, and importable."""

from __future__ import annotations

import importlib
import pkgutil

import qobjects
import qobjects.errors


def test_all_is_sorted_and_importable() -> None:
    assert qobjects.__all__ == sorted(qobjects.__all__)
    for name in qobjects.__all__:
        assert getattr(qobjects, name) is not None, name


def test_every_error_is_exported() -> None:
    errors = {
        name
        for name, value in vars(qobjects.errors).items()
        if isinstance(value, type)
        and issubclass(value, BaseException)
        and value.__module__ == "qobjects.errors"
    }
    missing = errors - set(qobjects.__all__)
    assert missing == set()
    for name in errors:
        assert issubclass(getattr(qobjects.errors, name), qobjects.QObjectsError)


def test_every_module_imports() -> None:
    for mod in pkgutil.walk_packages(qobjects.__path__, "qobjects."):
        if mod.name.endswith("__main__"):
            continue
        importlib.import_module(mod.name)
