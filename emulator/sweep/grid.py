"""A grid of runs: every (model, profile, mode) combination, each written as a run folder.

``snnemu compare --model ... --hw ... --modes ...`` is a thin caller of
:func:`run_grid`, then reads the folders it wrote. This is the seed of the
sweep subsystem: a point is a :class:`~emulator.config.RunConfig`, validated
like any other before anything runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..config import MODE_NAMES, QUEUE_NAMES, RunConfig, check_network, validate
from ..errors import InputError
from ..model import load_nir
from ..records import write_records
from ..runner import run

__all__ = ["GridPoint", "grid_points", "parse_modes", "run_grid"]


def parse_modes(text: str) -> list[tuple[str, str]]:
    """``layered,async:momentum,timestep`` -> [(mode, queue)]; async alone means fifo."""
    out = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        mode, _, queue = item.partition(":")
        if mode not in MODE_NAMES:
            raise InputError("--modes", "modes", f"unknown mode {mode!r} (use {', '.join(MODE_NAMES)})")
        if queue and (mode != "async" or queue not in QUEUE_NAMES):
            raise InputError("--modes", "modes",
                             f"{item!r}: a queue policy ({', '.join(QUEUE_NAMES)}) goes with async only")
        out.append((mode, queue or ("fifo" if mode == "async" else "")))
    if not out:
        raise InputError("--modes", "modes", "names no mode")
    return out


@dataclass
class GridPoint:
    name: str  # the run folder's name: <model>-<hw>-<mode>[-<queue>]
    config: RunConfig


def grid_points(models: list[str], hws: list[str], modes: list[tuple[str, str]], data: str,
                samples: int | None = None, workers: int = 1, seed: int = 0, nir_from: str | None = None,
                reset: str | None = None) -> list[GridPoint]:
    """Every combination, in order (model, then profile, then mode), each validated, and each model
    checked against each mode (its conventions) before anything runs."""
    points, names = [], set()
    for model in models:
        net = load_nir(model, dialect=nir_from, reset=reset)
        for hw in hws:
            for mode, queue in modes:
                name = f"{Path(model).stem}-{Path(hw).stem}-{mode}" + (f"-{queue}" if queue else "")
                base, k = name, 2
                while name in names:  # same file names from different folders: keep both runs
                    name, k = f"{base}-{k}", k + 1
                names.add(name)
                cfg = RunConfig(model=model, hw=hw, data=data, mode=mode, queue=queue or "fifo", samples=samples,
                                workers=workers, seed=seed, nir_from=nir_from, reset=reset)
                check_network(net, validate(cfg), model)
                points.append(GridPoint(name, cfg))
    return points


def run_grid(points: list[GridPoint], out: Path, progress=None, warn=None,
             on_done: Callable[[GridPoint, Path], None] | None = None) -> list[Path]:
    """Run each point and write its folder to ``out/runs/<name>``; returns the folders in order."""
    folders = []
    for point in points:
        folders.append(write_records(run(point.config, progress=progress, warn=warn), Path(out) / "runs" / point.name))
        if on_done is not None:
            on_done(point, folders[-1])
    return folders
