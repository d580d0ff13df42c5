"""From events to model input: clipping, downsampling and framing into per-timestep spike counts.

:func:`preprocess` is the one pipeline that ``snnemu run`` and ``snnemu data``
apply (clip to ``--max-us``, then pool ``--downsample``); :func:`frame_counts`
bins the events into frames, by width (``--dt-us``) or by number
(``--frames``). See docs/design.md, "Input".
"""

from __future__ import annotations

import dataclasses

import numpy as np

from emulator.errors import InputError, check_size

from .events import EventSet, input_shape, make_events

__all__ = ["DEFAULT_FRAME_US", "clip_time", "downsample", "frame_counts", "frame_width_us", "input_shape", "preprocess"]

DEFAULT_FRAME_US = 1000  # frames of data that has no framing of its own (event files, local datasets)


def frame_width_us(events: EventSet, dt_us: int | None = None) -> int:
    """The frames' width: ``--dt-us`` if given, else the data's own framing, else 1 ms. A frame is
    one model step; the width belongs to the data, not to the model's dt."""
    return dt_us or events.frame_us or DEFAULT_FRAME_US


def preprocess(events: EventSet, max_us: int | None = None, factor: int = 1) -> EventSet:
    """Keep each sample's events before ``max_us`` (if given), then pool ``factor`` x ``factor`` pixels."""
    if max_us is not None:
        events = clip_time(events, max_us)
    return downsample(events, factor)


def _positive_int(name: str, field: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(name, field, f"must be a positive integer, got {value!r}")
    return int(value)


def downsample(events: EventSet, factor: int) -> EventSet:
    """Pool ``factor`` x ``factor`` pixels into one: ``x // factor``, ``y // factor``, sensor
    ``ceil(size / factor)`` (1-D sensors keep y = 1). The way the paper fits DVS Gesture's
    128x128 to 32x32 (factor 4); events are kept, so a pooled pixel counts them all."""
    factor = _positive_int(events.name, "downsample", factor)
    if factor == 1:
        return events
    sx, sy, sp = events.sensor_size
    size = (-(-sx // factor), sy if events.y is None else -(-sy // factor), sp)
    pooled = make_events(events.t, events.x // factor, events.p, events.sample, size,
                         y=None if events.y is None else events.y // factor, labels=events.labels,
                         n_samples=events.n_samples, name=events.name)
    return dataclasses.replace(pooled, frame_us=events.frame_us)


def clip_time(events: EventSet, max_us: int) -> EventSet:
    """Keep each sample's events with ``t < max_us``."""
    max_us = _positive_int(events.name, "max_us", max_us)
    keep = events.t < max_us
    y = None if events.y is None else events.y[keep]
    clipped = make_events(events.t[keep], events.x[keep], events.p[keep], events.sample[keep], events.sensor_size,
                          y=y, labels=events.labels, n_samples=events.n_samples, name=events.name)
    return dataclasses.replace(clipped, frame_us=events.frame_us)


def frame_counts(
    events: EventSet,
    dt_us: int | None = None,
    n_frames: int | None = None,
    samples: slice | None = None,
    bins: int | None = None,
) -> np.ndarray:
    """Count events per (sample, frame, input neuron); int32 ``(S, n_frames, C*H*W)``.

    By time window: frame of an event = ``t // dt_us``. By number of bins
    (``bins``, like tonic's ``ToFrame(n_time_bins=...)``): each sample's span
    ``0 .. t_last`` is cut into ``bins`` equal frames, frame =
    ``t * bins // (t_last + 1)``, so every sample has ``bins`` frames whatever
    its length. Neuron = ``(p*H + y)*W + x``. ``S`` is the number of samples
    selected by ``samples`` (all by default). Without ``n_frames`` it is
    ``bins``, else ``max(t) // dt_us + 1`` over *all* samples of the set (so that
    batches of one set agree; 0 if there are no events). Events in frames
    ``>= n_frames`` are dropped.
    """
    if (dt_us is None) == (bins is None):
        raise InputError(events.name, "dt_us", "give either a frame width (dt_us) or a number of frames (bins)")
    if bins is not None:
        bins = _positive_int(events.name, "frames", bins)
        n_frames = bins if n_frames is None else n_frames
        dt_us = 1
    elif isinstance(dt_us, bool) or not isinstance(dt_us, (int, np.integer)):
        raise InputError(events.name, "dt_us", f"must be an integer, got {dt_us!r}")
    if dt_us <= 0:
        raise InputError(events.name, "dt_us", f"must be positive, got {dt_us}")
    if n_frames is None:
        n_frames = int(events.t.max()) // int(dt_us) + 1 if events.n_events else 0
    elif n_frames < 0:
        raise InputError(events.name, "n_frames", f"must be >= 0, got {n_frames}")
    n_frames = int(n_frames)
    C, H, W = input_shape(events.sensor_size)
    n_in = C * H * W
    chosen = np.arange(events.n_samples)[
        samples if samples is not None else slice(None)
    ]
    out_shape = (chosen.size, n_frames, n_in)
    # int32 counts, and a bincount's int64 ones where the frames are dense
    field = "frames" if bins is not None else "t" if n_frames > n_in else "sensor_size"  # what makes it large
    check_size(events.name, field, 12 * chosen.size * n_frames * n_in,
               f"{chosen.size} samples x {n_frames:,} frames x {n_in:,} inputs"
               + (f" (frames of {dt_us} us up to the last event, at t = {int(events.t.max())} us)" if bins is None else ""))
    if chosen.size == 0 or n_frames == 0 or events.n_events == 0:
        return np.zeros(out_shape, dtype=np.int32)

    # Events are sorted by sample: cut to the chosen range first, then remap.
    lo = np.searchsorted(events.sample, chosen.min(), side="left")
    hi = np.searchsorted(events.sample, chosen.max(), side="right")
    row_of = np.full(events.n_samples, -1, dtype=np.int64)
    row_of[chosen] = np.arange(chosen.size)
    row = row_of[events.sample[lo:hi]]
    if bins is None:
        frame = events.t[lo:hi] // dt_us
    else:  # each sample's own span: its last event closes the last bin
        sample = events.sample[lo:hi]
        ends = np.flatnonzero(np.r_[sample[1:] != sample[:-1], True])  # sorted by (sample, t)
        t_last = np.repeat(events.t[lo:hi][ends], np.diff(np.r_[-1, ends]))
        frame = events.t[lo:hi] * bins // (t_last + 1)
    y = 0 if events.y is None else events.y[lo:hi]
    neuron = (events.p[lo:hi] * H + y) * W + events.x[lo:hi]
    keep = (row >= 0) & (frame < n_frames)
    flat = (row[keep] * n_frames + frame[keep]) * n_in + neuron[keep]
    size = chosen.size * n_frames * n_in
    if 16 * len(flat) >= size:  # dense enough: one bincount
        return np.bincount(flat, minlength=size).astype(np.int32).reshape(out_shape)
    counts = np.zeros(size, np.int32)  # sparse (short frames): add the events, no dense int64 temporary
    np.add.at(counts, flat, 1)
    return counts.reshape(out_shape)
