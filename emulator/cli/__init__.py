"""The ``snnemu`` command line: argv in, exit code out; the only code that prints.

See docs/design.md, "Architecture".
"""

from .main import build_parser, main

__all__ = ["build_parser", "main"]
