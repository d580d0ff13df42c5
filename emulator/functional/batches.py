"""``snnemu run --engine functional``: the NumPy reference over a dataset, in batches.

Samples run in batches (one vectorized simulation per batch); random draws are
keyed by sample index, so the batch size changes nothing. The records are
written by ``emulator.records``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..config import RunConfig
from ..model import Network
from .engine import simulate
from .state import FunctionalResult

__all__ = ["BATCH", "FunctionalRun", "merge_results", "run_functional", "simulate_range"]

BATCH = 256  # samples per vectorized batch


@dataclass
class FunctionalRun:
    """A reference run over a dataset: the merged result of its batches."""

    config: RunConfig
    network: Network
    result: FunctionalResult
    labels: np.ndarray | None
    wall_s: float
    frame_s: float | None = None  # the frames' width (None: --frames)
    engine: str = "functional"


def run_functional(net: Network, frames: np.ndarray, labels, cfg: RunConfig,
                   frame_s: float | None = None) -> FunctionalRun:
    """Run the reference on ``frames`` in batches."""
    t0 = time.perf_counter()
    parts = [simulate_range(net, frames, labels, cfg, lo, min(lo + BATCH, len(frames)))
             for lo in range(0, len(frames), BATCH)]
    return FunctionalRun(cfg, net, merge_results(parts), labels, time.perf_counter() - t0, frame_s)


def simulate_range(net: Network, frames: np.ndarray, labels, cfg: RunConfig, lo: int, hi: int) -> FunctionalResult:
    """Samples ``lo:hi`` as one batch. Draws are keyed by sample index, so how a run is cut into
    batches changes nothing."""
    res = simulate(net, frames[lo:hi], cfg, None if labels is None else labels[lo:hi], first_sample=lo)
    res.events["sample"] = res.events["sample"] + lo
    return res


def merge_results(parts: list[FunctionalResult]) -> FunctionalResult:
    """Batches' results, concatenated in order."""
    return FunctionalResult(*(
        {k: np.concatenate([p.events[k] for p in parts]) for k in parts[0].events} if name == "events"
        else np.concatenate([getattr(p, name) for p in parts])
        for name in FunctionalResult.__dataclass_fields__))
