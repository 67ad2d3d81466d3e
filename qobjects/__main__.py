"""``python -m qobjects``: the command line."""

import sys

from qobjects.cli import main

sys.exit(main())
