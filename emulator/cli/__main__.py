"""``python -m emulator.cli``: the same as the ``snnemu`` command."""

import sys

from .main import main

sys.exit(main())
