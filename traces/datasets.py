"""Dataset registry: turn a ``--data`` spec into an :class:`EventSet`.

Why a registry: datasets are variants, so they are registry entries rather
than an if-chain (docs/design.md, "Architecture"). A spec is one of:

- a built-in name (``DATASETS``: ``digits``, ``nmnist-digits``,
  ``spoken-digits``), test split
  by default, ``NAME:train`` for the training split;
- a real dataset from a local folder (``traces.local.LOCAL``:
  ``nmnist:ROOT``, ``shd:ROOT``, ``dvsgesture:ROOT``, also with ``:train``;
  ROOT defaults to ``$SNNEMU_DATA``);
- an event file: ``.npz`` (docs/design.md, "Input") or NIR data (``.nir``,
  ``.h5``: ``EventData``, see :mod:`traces.nir_events`). A file holds one
  split.

Generated datasets that take seconds to build (``nmnist-digits``,
``spoken-digits``) are cached
as ``.npz`` under ``$SNNEMU_CACHE`` (default ``~/.cache/snnemu``); the cache
file's name carries the generator's version and the split (and for
``spoken-digits`` the eSpeak NG version).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

from emulator.errors import InputError
from emulator.progress import Progress

from .digits import load_digits_events
from .events import EventSet, read_npz, write_npz
from .local import LOCAL, load_local, parse_spec
from .nir_events import NIR_SUFFIXES, read_nir_events

__all__ = ["DATASETS", "DESCRIPTIONS", "cache_dir", "load_events"]

NMNIST_DIGITS_VERSION = 1  # bump when a generator's output changes
SPOKEN_DIGITS_VERSION = 2


def cache_dir() -> Path:
    return Path(os.environ.get("SNNEMU_CACHE") or Path.home() / ".cache" / "snnemu")


def _cached(key: str, build_name: str, build: Callable[..., EventSet]) -> EventSet:
    """``build(progress)`` once, then read from the cache (a damaged cache file is rebuilt). A build
    takes up to half a minute, so it reports its progress on stderr (plain lines where stderr is not
    a terminal)."""
    path = cache_dir() / f"{key}.npz"
    if path.is_file():
        try:
            cached = read_npz(path)
        except InputError:
            pass
        else:
            return dataclasses.replace(cached, name=build_name)
    events = build(Progress(f"{build_name}: generating once, then cached in {cache_dir()}", "step"))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_npz(path, events)
    except OSError:
        pass  # a read-only home: no cache, same data
    return events


def _nmnist_digits(split: str = "test") -> EventSet:
    from .saccades import load_nmnist_digits  # scipy.ndimage: imported when this dataset is asked for

    return _cached(f"nmnist-digits-v{NMNIST_DIGITS_VERSION}-{split}", f"nmnist-digits:{split}",
                   lambda progress: load_nmnist_digits(split, progress=progress))


def _spoken_digits(split: str = "test") -> EventSet:
    """Cached per eSpeak NG version (the synthesizer's version is part of the data); without
    espeak-ng, a cached copy from any version is used."""
    from .speech import espeak_version, load_spoken_digits  # scipy.signal: imported when asked for

    name = f"spoken-digits:{split}"
    try:
        version = espeak_version()
    except InputError:
        cached = sorted(cache_dir().glob(f"spoken-digits-v{SPOKEN_DIGITS_VERSION}-espeak*-{split}.npz"))
        if not cached:
            raise
        return dataclasses.replace(read_npz(cached[-1]), name=name)
    return _cached(f"spoken-digits-v{SPOKEN_DIGITS_VERSION}-espeak{version}-{split}", name,
                   lambda progress: load_spoken_digits(split, progress=progress))


DATASETS: dict[str, Callable[..., EventSet]] = {
    "digits": load_digits_events,
    "nmnist-digits": _nmnist_digits,
    "spoken-digits": _spoken_digits,
}

# The built-in datasets' own frame width: the step their generators work in (a frame is one model step).
FRAME_US = {"digits": 1000, "nmnist-digits": 1000, "spoken-digits": 1000}

DESCRIPTIONS = {
    "digits": "scikit-learn 8x8 digits, Bernoulli rate code, 16 frames of 1 ms; sensor 8x8x1; 1437/360 samples",
    "nmnist-digits": "the same digits through three N-MNIST saccades of a simulated event camera (ON/OFF, "
                     "315 ms); sensor 34x34x2; 1437/360 samples",
    "spoken-digits": "the words zero..nine from eSpeak NG (42 voices x 2 speeds), 64-channel ERB filterbank, "
                     "send-on-delta UP/DOWN events; sensor 64x1x2; 560/280 samples (test speakers unseen)",
    "nmnist": "N-MNIST from a local folder (tonic layout), sensor 34x34x2",
    "shd": "Spiking Heidelberg Digits from a local folder (tonic layout), sensor 700x1x1",
    "dvsgesture": "DVS Gesture from a local folder (tonic's preprocessed layout), sensor 128x128x2",
}


def load_events(spec: str, split: str | None = None) -> EventSet:
    """The events named by ``spec`` (see the module docstring); ``split`` overrides a ``:train`` suffix."""
    spec = str(spec)
    if spec.endswith(".npz"):
        return read_npz(spec)
    if spec.endswith(NIR_SUFFIXES):
        return read_nir_events(spec)
    name, root, spec_split = parse_spec(spec)
    split = split or spec_split
    if name in DATASETS and root is None:
        return dataclasses.replace(DATASETS[name](split=split), frame_us=FRAME_US[name])
    if name in LOCAL:
        return load_local(name, root, split)
    raise InputError(spec, "data", f"unknown dataset; expected one of {', '.join([*DATASETS, *LOCAL])} "
                                   "(NAME[:ROOT][:train]) or an events file (.npz, .nir)")
