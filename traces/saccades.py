"""The built-in ``nmnist-digits`` dataset: real handwritten digits seen by a
simulated event camera that makes the three saccades of N-MNIST.

Why: N-MNIST (Orchard et al., Front. Neurosci. 9:437, 2015) was recorded by
moving an ATIS camera in three saccades in front of MNIST digits on a
monitor. That gives events with temporal structure (edges that move) and
polarities that depend on the direction of motion. This module makes the same
kind of data offline, from scikit-learn's 8x8 digits, in a few seconds.

The scene. Each 8x8 digit (values 0..16) is upscaled bilinearly to 28x28 (the
MNIST size) and placed with a 3-pixel border on a dark 34x34 canvas, the
N-MNIST sensor. The camera then moves the image along the N-MNIST saccade
path: from (0, 0) to (3.5, 7) to (7, 0) and back to (0, 0) pixels (x, y),
105 ms per saccade at constant speed, 315 ms in all (the path and durations
are those tonic's ``NMNIST.stabilize`` removes). A displacement that puts the
digit past the canvas border clips it, as a real sensor would.

The retina. Every pixel keeps the log intensity ``L = log(I + 0.1)`` of its
last event (0.1 is the screen's dark level). Every ``step_us`` the image is
resampled at its new sub-pixel position (bilinear). When ``L`` has moved by
at least the pixel's contrast threshold ``C`` from that level, the pixel
fires ``floor(|dL| / C)`` events: ON (``p = 1``) where the light increased,
OFF (``p = 0``) where it decreased, and the level moves by that many
thresholds. A pixel's level starts within half a threshold of the first
image, at a seeded random offset (a real pixel's last event came before the
recording), so the events of many pixels do not all fall on the instant the
path returns to its start. Each event is timestamped where its threshold is crossed,
interpolated linearly within the step. ``C`` is ``threshold`` times a seeded
per-pixel mismatch factor drawn from ``1 + mismatch * N(0, 1)``, clipped to
[0.5, 1.5] (DVS pixels differ by a few percent). The mismatch and the
starting offsets are the only random draws, so a seed fixes the dataset.

Output: events ``(t in µs, x, y, p)`` with sensor ``(34, 34, 2)``, the digits
train/test split of :mod:`traces.digits` (1437/360), sorted by (sample, t).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from emulator.errors import InputError

from .digits import digits_arrays
from .events import EventSet, make_events

__all__ = ["SENSOR_SIZE", "SACCADE_US", "PATH_PX", "saccade_path", "retina", "load_nmnist_digits"]

SENSOR_SIZE = (34, 34, 2)
SACCADE_US = 105_000
PATH_PX = np.array([(0.0, 0.0), (3.5, 7.0), (7.0, 0.0), (0.0, 0.0)])  # (x, y) corners of the three saccades
DARK = 0.1


def saccade_path(step_us: int) -> tuple[np.ndarray, np.ndarray]:
    """Times (µs) and displacements ``(T, 2)`` (x, y) of the three saccades, every ``step_us``."""
    t = np.arange(0, 3 * SACCADE_US + 1, step_us)
    knots = np.arange(len(PATH_PX)) * SACCADE_US
    return t, np.stack([np.interp(t, knots, PATH_PX[:, 0]), np.interp(t, knots, PATH_PX[:, 1])], axis=1)


class _Mover:
    """``images`` (n, H, W) moved by (dx, dy) pixels, bilinear: what leaves the canvas is gone,
    dark comes in. The padded canvas is built once; each move reads four windows of it."""

    def __init__(self, images: np.ndarray, reach: float):
        n, self.h, self.w = images.shape
        self.o = int(np.ceil(reach)) + 2
        self.pad = np.zeros((n, self.h + 2 * self.o, self.w + 2 * self.o), np.float32)
        self.pad[:, self.o:self.o + self.h, self.o:self.o + self.w] = images

    def __call__(self, dx: float, dy: float) -> np.ndarray:
        ix, iy = int(np.floor(dx)), int(np.floor(dy))
        fx, fy = np.float32(dx - ix), np.float32(dy - iy)
        o, h, w = self.o, self.h, self.w

        def window(sy, sx):  # the canvas with the image moved by (sx, sy) whole pixels
            return self.pad[:, o - sy:o - sy + h, o - sx:o - sx + w]

        return ((1 - fy) * ((1 - fx) * window(iy, ix) + fx * window(iy, ix + 1))
                + fy * ((1 - fx) * window(iy + 1, ix) + fx * window(iy + 1, ix + 1)))


def retina(images: np.ndarray, times_us: np.ndarray, path: np.ndarray, threshold: float = 0.5,
           mismatch: float = 0.03, seed: int = 0, progress=None) -> dict[str, np.ndarray]:
    """Events of a temporal-contrast retina watching ``images`` (n, H, W) in [0, 1] move along
    ``path`` (T, 2) (x, y pixels) at ``times_us`` (T,). Returns arrays t, x, y, p, sample
    (unsorted). Vectorized over samples and pixels; one loop over the T time steps, each
    reported to ``progress(done, total)`` where given."""
    n, h, w = images.shape
    rng = np.random.default_rng(seed)
    c = (threshold * np.clip(1 + mismatch * rng.standard_normal((h, w)), 0.5, 1.5)).astype(np.float32)
    move = _Mover(images, np.abs(path).max())
    last = np.log(move(*path[0]) + DARK)  # the log intensity at the previous step
    # each pixel's level at its last event: within half a threshold of the first image, at a seeded
    # offset, so that thresholds are not all crossed just as the path returns to its start
    level = last + (rng.random((n, h, w), dtype=np.float32) - 0.5) * c
    parts = []
    for k in range(1, len(times_us)):
        if progress is not None:
            progress(k, len(times_us))
        now = np.log(move(*path[k]) + DARK)
        d = now - level
        n_ev = np.floor(np.abs(d) / c).astype(np.int64)
        s, y, x = np.nonzero(n_ev)
        if len(s):
            m = n_ev[s, y, x]
            rep = np.repeat(np.arange(len(s)), m)
            j = np.arange(len(rep)) - np.repeat(np.cumsum(m) - m, m) + 1  # 1..m within each pixel
            sign = np.sign(d[s, y, x])[rep]
            crossing = level[s, y, x][rep] + sign * j * c[y, x][rep]  # the level of the j-th crossing
            before, after = last[s, y, x][rep], now[s, y, x][rep]
            frac = (crossing - before) / np.where(after != before, after - before, 1)  # where in the step
            t0, t1 = times_us[k - 1], times_us[k]
            parts.append((np.floor(t0 + np.clip(frac, 0, 1) * (t1 - t0)).astype(np.int64),
                          x[rep], y[rep], (sign > 0).astype(np.int64), s[rep]))
            level[s, y, x] += np.sign(d[s, y, x]) * m * c[y, x]
        last = now
    if progress is not None:
        progress(len(times_us), len(times_us))
    if not parts:
        z = np.zeros(0, np.int64)
        return {"t": z, "x": z, "y": z, "p": z, "sample": z}
    t, x, y, p, s = (np.concatenate(col) for col in zip(*parts))
    return {"t": t, "x": x, "y": y, "p": p, "sample": s}


def upscale(digits: np.ndarray) -> np.ndarray:
    """8x8 digits (n, 64) in [0, 1] -> (n, 34, 34): bilinear to 28x28, 3-pixel dark border."""
    small = digits.reshape(-1, 8, 8)
    big = np.clip(ndimage.zoom(small, (1, 28 / 8, 28 / 8), order=1), 0.0, 1.0)
    canvas = np.zeros((len(small), 34, 34))
    canvas[:, 3:31, 3:31] = big
    return canvas


def load_nmnist_digits(split: str = "test", step_us: int = 1000, threshold: float = 0.5,
                       mismatch: float = 0.03, seed: int = 0, progress=None) -> EventSet:
    """The digits ``split`` seen through three saccades, named ``nmnist-digits:<split>``
    (``progress(done, total)``: the retina's time steps)."""
    name = f"nmnist-digits:{split}"
    if not isinstance(step_us, (int, np.integer)) or step_us < 1:
        raise InputError(name, "step_us", f"must be a positive integer, got {step_us!r}")
    if not threshold > 0:
        raise InputError(name, "threshold", f"must be positive, got {threshold!r}")
    q, labels = digits_arrays(split)
    times, path = saccade_path(int(step_us))
    ev = retina(upscale(q), times, path, threshold, mismatch, seed, progress)
    return make_events(**ev, sensor_size=SENSOR_SIZE, labels=labels, name=name)
