"""``snnemu data list|show|export``: look at event datasets and convert them.

- ``list``: the built-in datasets, and the real ones found under
  ``$SNNEMU_DATA`` (or what is missing there);
- ``show NAME [--sample I] --out DIR``: ``events_summary.json`` and PNGs (the
  event count over time, the per-polarity accumulated image or a raster for
  a 1-D sensor, the class histogram);
- ``export NAME --to FILE.npz|.nir``: the events (after ``--samples``,
  ``--max-us``, ``--downsample``) in the emulator's ``.npz`` format or as NIR
  ``EventData``, for other tools.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from traces.datasets import DATASETS, DESCRIPTIONS, load_events
from traces.events import EventSet, make_events, write_npz
from traces.framing import preprocess
from traces.local import LOCAL
from traces.nir_events import NIR_SUFFIXES, write_nir_events

from ..errors import InputError, check_size
from ..reports import plots
from ..scratch import check_writable, make_parent

__all__ = ["data_list", "data_show", "data_export", "prepare", "summary"]


def data_list() -> list[str]:
    lines = [f"{name:<15} {DESCRIPTIONS[name]}" for name in DATASETS]
    root = os.environ.get("SNNEMU_DATA")
    for name, ds in LOCAL.items():
        if root and (Path(root) / ds.folder).is_dir():
            where = f"found in {Path(root) / ds.folder}"
        elif root:
            where = f"not in $SNNEMU_DATA={root}: expected {ds.expected('test')}"
        else:
            where = f"use {name}:ROOT, or set SNNEMU_DATA to ROOT"
        lines.append(f"{name + ':ROOT':<15} {DESCRIPTIONS[name]}; {where}")
    lines.append(f"{'FILE.npz':<15} an events file (t in µs, x, [y], p, sample, sensor_size, [labels])")
    lines.append(f"{'FILE.nir':<15} NIR data with an EventData observable")
    return lines


def prepare(spec: str, samples: int | None = None, max_us: int | None = None, factor: int = 1) -> EventSet:
    """Load ``spec``, keep the first ``samples``, clip to ``max_us``, downsample by ``factor``."""
    events = load_events(spec)
    if samples is not None:
        if samples < 1:
            raise InputError("--samples", "samples", f"must be at least 1, got {samples}")
        if samples < events.n_samples:
            keep = events.sample < samples
            events = make_events(t=events.t[keep], x=events.x[keep], y=None if events.y is None else events.y[keep],
                                 p=events.p[keep], sample=events.sample[keep], sensor_size=events.sensor_size,
                                 labels=None if events.labels is None else events.labels[:samples],
                                 n_samples=samples, name=events.name)
    return preprocess(events, max_us=max_us, factor=factor)


def _stats(v: np.ndarray) -> dict:
    v = np.asarray(v, float)
    return {"mean": float(v.mean()), "min": float(v.min()), "p50": float(np.percentile(v, 50)),
            "p95": float(np.percentile(v, 95)), "max": float(v.max())}


def summary(events: EventSet, sample: int) -> dict:
    per = np.bincount(events.sample, minlength=events.n_samples)
    ends = np.zeros(events.n_samples)
    if events.n_events:
        np.maximum.at(ends, events.sample, events.t)
    sel = events.sample == sample
    n_pol = events.sensor_size[2]
    return {
        "name": events.name, "sensor_size": list(events.sensor_size), "samples": events.n_samples,
        "events": events.n_events, "events_per_sample": _stats(per), "duration_us": _stats(ends),
        "polarity": {str(k): int(v) for k, v in enumerate(np.bincount(events.p, minlength=n_pol))},
        "classes": None if events.labels is None else
        {str(k): int(v) for k, v in zip(*np.unique(events.labels, return_counts=True))},
        "sample": {"index": sample, "label": None if events.labels is None else int(events.labels[sample]),
                   "events": int(sel.sum()), "duration_us": int(ends[sample]),
                   "polarity": {str(k): int(v) for k, v in enumerate(np.bincount(events.p[sel], minlength=n_pol))}},
    }


def data_show(spec: str, sample: int, out: str | Path, **prep) -> list[Path]:
    """Write ``events_summary.json`` and the plots into ``out``; a failure leaves ``out`` as it was."""
    events = prepare(spec, **prep)
    if not 0 <= sample < events.n_samples:
        raise InputError(events.name, "--sample", f"must be in 0..{events.n_samples - 1}, got {sample}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(out, "--out", "exists and is not a folder")
    check_writable(out, "--out")
    sx, sy, sp = events.sensor_size
    if events.y is not None:
        check_size(events.name, "sensor_size", 8 * sp * sy * sx, f"the polarity image of a {sx}x{sy}x{sp} sensor")
    made = [] if out.is_dir() else [out]
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "events_summary.json"]
    try:
        written[0].write_text(json.dumps(summary(events, sample), indent=2) + "\n")
        sel = events.sample == sample
        t, x, p = events.t[sel], events.x[sel], events.p[sel]
        written.append(plots.event_rate(out / "data_event_rate.png", t, p, sp, sample))
        if events.y is not None:
            img = np.zeros((sp, sy, sx))
            np.add.at(img, (p, events.y[sel], x), 1)
            written.append(plots.polarity_images(out / "data_polarity.png", img, sample))
        else:
            written.append(plots.channel_raster(out / "data_raster.png", t, x, p, sx, sample))
        if events.labels is not None:
            written.append(plots.class_histogram(out / "data_classes.png", events.labels))
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        for folder in made:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return written


def data_export(spec: str, to: str | Path, **prep) -> EventSet:
    to = str(to)
    if not to.endswith((".npz", *NIR_SUFFIXES)):
        raise InputError(to, "--to", f"must end in .npz or {', '.join(NIR_SUFFIXES)}")
    check_writable(to, "--to")
    events = prepare(spec, **prep)
    make_parent(to, "--to")
    try:
        if to.endswith(".npz"):
            write_npz(to, events)
        else:
            write_nir_events(to, events)
    except OSError as exc:
        raise InputError(to, "--to", f"cannot write: {exc.strerror or exc}") from None
    return events
