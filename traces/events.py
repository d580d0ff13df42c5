"""Event data: the in-memory contract, the ``.npz`` file format, and framing.

An input sample is a stream of address events, as tonic stores them: ``t`` in
microseconds (measured from 0, the start of its sample), ``x``, ``p`` and, for
2-D sensors, ``y``. Many samples share one :class:`EventSet`; the ``sample``
array says which sample each event belongs to. ``sensor_size`` is ``(x, y, p)``
(e.g. ``(34, 34, 2)``, or ``(700, 1, 1)`` for a 1-D sensor without ``y``).

Why a strict contract: everything downstream (framing, mapping input neurons
onto cores, accuracy) trusts these arrays, so they are validated once, here.
Bad input raises :class:`~emulator.errors.InputError` naming the file, the
field and what is wrong (the CLI turns it into one line and exit code 2).

Framing bins events into timesteps of ``dt_us`` microseconds (frame
``t // dt_us``) and counts them per input neuron. The input population has
shape ``(C, H, W) = (p, y, x)`` flattened channel-major, so event
``(x, y, p)`` drives neuron ``(p*H + y)*W + x``; an event counted n times sends
n spikes.
"""

from __future__ import annotations

import os
import struct
import tokenize
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np

from emulator.errors import InputError, check_size
from emulator.scratch import atomic_path

__all__ = [
    "EventSet",
    "input_shape",
    "make_events",
    "read_npz",
    "write_npz",
]

_EVENT_FIELDS = ("t", "x", "y", "p", "sample")
_REQUIRED = ("t", "x", "p", "sample", "sensor_size")
_KNOWN = _REQUIRED + ("y", "labels")
# What np.load and NpzFile raise on damaged or non-npz files.
_CORRUPT = (
    OSError,
    ValueError,
    EOFError,
    NotImplementedError,
    zipfile.BadZipFile,
    zlib.error,
    struct.error,
    SyntaxError,
    tokenize.TokenError,
)


@dataclass(frozen=True, eq=False)
class EventSet:
    """Validated events of ``n_samples`` samples, sorted by (sample, t).

    Build it with :func:`make_events` or :func:`read_npz`, which validate and
    sort; the arrays are read-only int64. ``y`` is None for 1-D sensors.
    """

    t: np.ndarray
    x: np.ndarray
    y: np.ndarray | None
    p: np.ndarray
    sample: np.ndarray
    sensor_size: tuple[int, int, int]
    labels: np.ndarray | None
    n_samples: int
    name: str
    frame_us: int | None = None  # the data's own frame width (a built-in dataset's step); None: it has none

    @property
    def n_events(self) -> int:
        return int(self.t.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EventSet):
            return NotImplemented
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if a is None or b is None or not np.array_equal(a, b):
                    return False
            elif a != b:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]


def input_shape(sensor_size) -> tuple[int, int, int]:
    """The input population's shape ``(C, H, W) = (p, y, x)``."""
    sx, sy, sp = (int(v) for v in sensor_size)
    return (sp, sy, sx)


def _int_array(name: str, field: str, value) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise InputError(name, field, f"must be a 1-D array, got shape {arr.shape}")
    if arr.size == 0:
        return arr.astype(np.int64)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise InputError(name, field, f"must hold integers, got dtype {arr.dtype}")
    if (
        np.issubdtype(arr.dtype, np.unsignedinteger)
        and arr.max() > np.iinfo(np.int64).max
    ):
        raise InputError(name, field, "values do not fit in int64")
    return arr.astype(np.int64)


def _sensor_size(name: str, value) -> tuple[int, int, int]:
    arr = np.asarray(value)
    ok = (
        arr.shape == (3,)
        and arr.dtype != np.bool_
        and np.issubdtype(arr.dtype, np.integer)
        and bool(np.all(arr > 0))
    )
    if not ok:
        raise InputError(
            name,
            "sensor_size",
            f"must be 3 positive integers (x, y, p), got {arr.tolist()!r}",
        )
    return (int(arr[0]), int(arr[1]), int(arr[2]))


def _reject(name: str, field: str, bad: np.ndarray, arr: np.ndarray, what: str):
    """Raise if any entry of ``arr`` is ``bad`` (a mask), citing the first one."""
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            name,
            field,
            f"{int(bad.sum())} {what}; first at index {i} with value {int(arr[i])}",
        )


def _safe(key: str) -> str:
    """An array name fit for a one-line message (damaged files hold odd names)."""
    return key if key.isidentifier() else ascii(key)


def _read_only(arr: np.ndarray | None) -> np.ndarray | None:
    if arr is not None:
        arr.flags.writeable = False
    return arr


def _build(
    arrays: Mapping[str, object], name: str, n_samples: int | None = None
) -> EventSet:
    """Validate raw arrays (as stored in the file) and build a sorted EventSet."""
    unknown = sorted(set(arrays) - set(_KNOWN))
    if unknown:
        raise InputError(
            name, _safe(unknown[0]), f"unknown array; expected only {', '.join(_KNOWN)}"
        )
    for key in _REQUIRED:
        if arrays.get(key) is None:
            raise InputError(name, key, "required array is missing")
    size = _sensor_size(name, arrays["sensor_size"])
    cols: dict[str, np.ndarray | None] = {}
    for key in _EVENT_FIELDS:
        cols[key] = (
            None if arrays.get(key) is None else _int_array(name, key, arrays[key])
        )
    n = cols["t"].size
    for key in _EVENT_FIELDS[1:]:
        col = cols[key]
        if col is not None and col.size != n:
            raise InputError(name, key, f"has {col.size} entries but t has {n}")
    t, x, y, p, sample = (cols[k] for k in _EVENT_FIELDS)
    _reject(name, "t", t < 0, t, "negative timestamp(s)")
    _reject(name, "sample", sample < 0, sample, "negative sample index(es)")
    out = f"event(s) outside the sensor (sensor_size = {list(size)})"
    _reject(name, "x", (x < 0) | (x >= size[0]), x, out)
    if y is not None:
        _reject(name, "y", (y < 0) | (y >= size[1]), y, out)
    elif size[1] != 1:
        raise InputError(
            name,
            "sensor_size",
            f"y is absent (1-D sensor), so sensor_size[1] must be 1, got {size[1]}",
        )
    _reject(name, "p", (p < 0) | (p >= size[2]), p, out)

    needed = int(sample.max()) + 1 if n else 0
    labels = None
    if arrays.get("labels") is not None:
        labels = _int_array(name, "labels", arrays["labels"])
        if labels.size < needed:
            raise InputError(
                name,
                "labels",
                f"has {labels.size} labels but events use {needed} samples",
            )
        if labels.size and labels.min() < 0:
            raise InputError(name, "labels", "labels must be >= 0")
    if n_samples is None:
        n_samples = labels.size if labels is not None else needed
    elif n_samples < needed or (labels is not None and n_samples != labels.size):
        raise InputError(
            name, "n_samples", f"{n_samples} does not fit the events and labels"
        )
    check_size(name, "sample", 16 * n_samples, f"{n_samples:,} samples (the largest sample index + 1)")

    if n > 1 and np.any(
        (np.diff(sample) < 0) | ((np.diff(sample) == 0) & (np.diff(t) < 0))
    ):
        order = np.lexsort((t, sample))  # stable: ties keep file order
        t, x, p, sample = t[order], x[order], p[order], sample[order]
        y = None if y is None else y[order]
    return EventSet(
        t=_read_only(t),
        x=_read_only(x),
        y=_read_only(y),
        p=_read_only(p),
        sample=_read_only(sample),
        sensor_size=size,
        labels=_read_only(labels),
        n_samples=int(n_samples),
        name=str(name),
    )


def make_events(
    t,
    x,
    p,
    sample,
    sensor_size,
    *,
    y=None,
    labels=None,
    n_samples: int | None = None,
    name: str = "<events>",
) -> EventSet:
    """Validate arrays and build an :class:`EventSet` sorted (stably) by (sample, t).

    ``n_samples`` defaults to ``len(labels)``, else ``max(sample) + 1`` (0 without
    events). Raises :class:`InputError` on bad input, like :func:`read_npz`.
    """
    arrays = {
        "t": t,
        "x": x,
        "y": y,
        "p": p,
        "sample": sample,
        "sensor_size": sensor_size,
        "labels": labels,
    }
    return _build(arrays, name, n_samples)


def read_npz(path) -> EventSet:
    """Read and validate an event file (see docs/design.md, "Input")."""
    name = str(path)
    if not os.path.isfile(path):
        raise InputError(name, "file", "no such file")
    try:
        archive = np.load(path, allow_pickle=False)
    except _CORRUPT as exc:
        raise InputError(name, "file", f"not a valid .npz file ({exc})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise InputError(name, "file", "not an .npz archive (a single .npy array?)")
    arrays: dict[str, np.ndarray] = {}
    with archive:
        check_size(name, "file", _unpacked_size(archive, name), "its arrays")
        for key in archive.files:
            try:
                arrays[key] = archive[key]
            except _CORRUPT as exc:
                raise InputError(
                    name, _safe(key), f"unreadable array ({exc})"
                ) from None
    return _build(arrays, name)


def _unpacked_size(archive, name: str) -> int:
    """The bytes the archive's arrays take once read, from their headers (a compressed file of a few
    kilobytes can hold terabytes of zeros)."""
    total = 0
    for member in archive.zip.namelist():
        try:
            with archive.zip.open(member) as fh:
                version = np.lib.format.read_magic(fh)
                read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, _, dtype = read(fh)
        except _CORRUPT as exc:
            raise InputError(name, _safe(member.removesuffix(".npy")), f"unreadable array ({exc})") from None
        total += int(np.prod(shape, dtype=float)) * dtype.itemsize
    return total


def write_npz(path, events: EventSet) -> None:
    """Write ``events`` to ``path`` (compressed); atomic: a whole file or none."""
    arrays = {
        "t": events.t,
        "x": events.x,
        "p": events.p,
        "sample": events.sample,
        "sensor_size": np.asarray(events.sensor_size, dtype=np.int64),
    }
    if events.y is not None:
        arrays["y"] = events.y
    if events.labels is not None:
        arrays["labels"] = events.labels
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:  # readable as the umask says (mkstemp's is 0600)
        np.savez_compressed(fh, **arrays)
