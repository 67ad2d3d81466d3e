"""``python -m qobjects.cli``: the command line, as ``python -m qobjects``."""

import sys

from qobjects.cli import main

sys.exit(main())
