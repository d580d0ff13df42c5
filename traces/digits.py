"""The built-in ``digits`` dataset: 8x8 handwritten digits as event streams.

Why: the emulator needs a small, offline, labelled dataset for demos, golden
runs and tests. scikit-learn ships the UCI 8x8 digits (1797 images, values
0..16) with the package, so nothing is downloaded.

Encoding (a seeded Bernoulli *rate* encoder). For pixel intensity
``v in 0..16``::

    q = v / 16
    for frame k in 0 .. n_frames-1:
        the pixel emits one event (p = 0) with probability  q * max_rate
        at timestamp  t = k * dt_us   (the start of frame k)

All draws come from one ``numpy.random.default_rng(seed).random((n, n_frames,
64))`` call, so the same seed gives the same events, and framing the result
with the same ``dt_us`` recovers exactly those Bernoulli draws. The sensor is
``(8, 8, 1)``: ``x`` is the image column, ``y`` the row.

Split: a fixed permutation of the 1797 samples (seeded with
:data:`SPLIT_SEED`, independent of the encoder seed); the first 1437 (80 %) are
``train``, the remaining 360 are ``test``. Samples keep permutation order.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from emulator.errors import InputError

from .events import EventSet, make_events

__all__ = [
    "N_TRAIN",
    "SENSOR_SIZE",
    "SPLIT_SEED",
    "digits_arrays",
    "encode_rate",
    "load_digits_events",
    "split_indices",
]

SENSOR_SIZE = (8, 8, 1)
SPLIT_SEED = 1797  # fixed; changing it changes every published split
N_TRAIN = 1437  # 80 % of 1797
_SPLITS = ("train", "test", "all")


@lru_cache(maxsize=1)
def _sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    images = np.asarray(data.data, dtype=np.float64)  # (1797, 64), 0..16
    labels = np.asarray(data.target, dtype=np.int64)
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


def split_indices(split: str) -> np.ndarray:
    """Indices into scikit-learn's digits for ``split`` ("train", "test" or "all")."""
    if split not in _SPLITS:
        raise InputError(
            "digits", "split", f"unknown split {split!r}; expected one of {_SPLITS}"
        )
    n = _sklearn_digits()[1].size
    perm = np.random.default_rng(SPLIT_SEED).permutation(n)
    if split == "train":
        return perm[:N_TRAIN]
    if split == "test":
        return perm[N_TRAIN:]
    return perm


def digits_arrays(split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """The underlying images ``X`` (float64 in [0, 1], shape (n, 64)) and labels ``y``.

    Pixel ``j`` of a row is image row ``j // 8``, column ``j % 8``: the same
    order as the input neurons of the encoded events.
    """
    images, labels = _sklearn_digits()
    idx = split_indices(split)
    return images[idx] / 16.0, labels[idx].copy()


def encode_rate(q: np.ndarray, n_frames: int, max_rate: float, seed: int) -> np.ndarray:
    """Bernoulli raster ``(n, n_frames, n_pixels)`` (bool) for ``q`` in [0, 1]."""
    rng = np.random.default_rng(seed)
    draws = rng.random((q.shape[0], n_frames, q.shape[1]))
    return draws < (q * max_rate)[:, None, :]


def load_digits_events(
    split: str = "test",
    n_frames: int = 16,
    dt_us: int = 1000,
    max_rate: float = 0.5,
    seed: int = 0,
) -> EventSet:
    """The digits ``split`` as labelled rate-coded events, named ``digits:<split>``."""
    name = f"digits:{split}"
    if (
        isinstance(n_frames, bool)
        or not isinstance(n_frames, (int, np.integer))
        or n_frames < 1
    ):
        raise InputError(
            name, "n_frames", f"must be a positive integer, got {n_frames!r}"
        )
    if isinstance(dt_us, bool) or not isinstance(dt_us, (int, np.integer)) or dt_us < 1:
        raise InputError(name, "dt_us", f"must be a positive integer, got {dt_us!r}")
    if not 0.0 <= float(max_rate) <= 1.0:
        raise InputError(
            name, "max_rate", f"must be in [0, 1] (events per frame), got {max_rate!r}"
        )
    q, labels = digits_arrays(split)
    raster = encode_rate(q, int(n_frames), float(max_rate), seed)
    # nonzero walks C order: sorted by (sample, frame), i.e. by (sample, t).
    sample, frame, pixel = np.nonzero(raster)
    n = sample.size
    return make_events(
        t=frame.astype(np.int64) * int(dt_us),
        x=pixel % 8,
        y=pixel // 8,
        p=np.zeros(n, dtype=np.int64),
        sample=sample,
        sensor_size=SENSOR_SIZE,
        labels=labels,
        name=name,
    )
