"""``qobjects generate``: an importable, typed package for a schema, written by :mod:`qobjects.generate`."""

from __future__ import annotations

import argparse
from typing import TextIO

from qobjects.cli._common import OneParser
from qobjects.generate import add_generate, run_generate

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_generate(OneParser(parser))


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    return run_generate(args)
