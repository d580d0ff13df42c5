"""Seeded random draws keyed by (seed, tag, sample, counter): a sample's draws do not depend
on the other samples of its batch, nor on the batch size."""

from __future__ import annotations

import numpy as np

__all__ = ["INPUT", "NOISE", "RANDOM", "REFRAC", "SPIKE", "drop", "uniform"]

_M = np.uint64(0xFFFFFFFFFFFFFFFF)


def uniform(seed: int, tag: int, ids: np.ndarray, counter, n: int) -> np.ndarray:
    """Uniforms in [0, 1), ``(len(ids), n)``, a pure function of (seed, tag, sample
    id, counter, column): a sample's draws do not depend on the other samples of
    its batch, nor on the batch size. SplitMix64 over the combined key."""
    with np.errstate(over="ignore"):
        x = (np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(tag) * np.uint64(0xD1B54A32D192ED03)
             + ids.astype(np.uint64)[:, None] * np.uint64(0xBF58476D1CE4E5B9)
             + np.asarray(counter, np.uint64).reshape(-1, 1) * np.uint64(0x94D049BB133111EB)
             + np.arange(n, dtype=np.uint64)[None, :] * np.uint64(0x2545F4914F6CDD1D))
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def drop(x: np.ndarray, p: float, seed: int, tag: int, ids, counter) -> np.ndarray:
    """Each of the spikes in counts ``x`` survives with probability 1 - p."""
    if p <= 0:
        return x
    kept = np.zeros_like(x)
    for c in range(int(x.max(initial=0))):  # one draw per spike of a count
        kept += (x > c) & (uniform(seed, tag * 64 + c, ids, counter, x.shape[1]) >= p)
    return kept


# Draw tags: kind * 1000 + population
INPUT, SPIKE, REFRAC, RANDOM, NOISE = 1, 2, 3, 4, 5
