"""Many runs from one description: today the grid behind ``snnemu compare --model``.

See docs/design.md, "Architecture".
"""

from .grid import GridPoint, grid_points, parse_modes, run_grid

__all__ = ["GridPoint", "grid_points", "parse_modes", "run_grid"]
