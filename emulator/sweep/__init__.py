"""Many runs from one description: ``snnemu sweep`` (a sweep file's axes) and ``snnemu compare --model``.

``spec`` expands and validates the configurations, ``execute`` runs them as
tasks of chunks of samples (resumable) and writes their run folders,
``store`` keeps the finished chunks and the Parquet results store. See
docs/design.md, "Sweeps".
"""

from .execute import SweepOutcome, check_sweep_out, run_points
from .spec import SweepPoint, example_text, grid_points, load_sweep, parse_modes, points_of
from .store import ChunkStore, content_key, write_store

__all__ = ["ChunkStore", "SweepOutcome", "SweepPoint", "check_sweep_out", "content_key", "example_text",
           "grid_points", "load_sweep", "parse_modes", "points_of", "run_points", "write_store"]
