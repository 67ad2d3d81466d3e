"""``qobjects stubgen``: mypy stubs (.pyi) from a schema, written by :mod:`qobjects.stubgen`."""

from __future__ import annotations

import argparse
from typing import TextIO

from qobjects.cli._common import OneParser
from qobjects.stubgen import add_stubgen, run_stubgen

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_stubgen(OneParser(parser))


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    return run_stubgen(args)
