"""The ``snnemu`` command line: argv in, exit code out; the only code that prints.

See docs/design.md, "Architecture".
"""

from .main import main

__all__ = ["main"]
