"""Real neuromorphic datasets from local folders, decoded by tonic (optional extra
``[datasets]``), and writers of their on-disk formats.

``--data nmnist:ROOT``, ``shd:ROOT`` or ``dvsgesture:ROOT`` (test split; add
``:train`` for the training split) reads the files where tonic keeps them
under its ``save_to`` folder ROOT (the folder itself may also be given):

- N-MNIST (Orchard et al. 2015): ``ROOT/NMNIST/Test/<digit>/*.bin``, one
  40-bit event per 5 bytes (x, y, polarity bit and a 23-bit µs timestamp);
  sensor (34, 34, 2); the label is the digit folder.
- SHD (Cramer et al. 2020): ``ROOT/SHD/shd_test.h5`` with ``spikes/times``
  (seconds) and ``spikes/units`` (one ragged row per sample) and ``labels``;
  sensor (700, 1, 1).
- DVS Gesture (Amir et al. 2017), tonic's preprocessed layout:
  ``ROOT/DVSGesture/ibmGestureTest/userNN_<lighting>/<label>.npy``, each an
  (N, 4) array of x, y, polarity and t in ms; sensor (128, 128, 2).

Decoding is tonic's: ``tonic.io.read_mnist_file`` for N-MNIST, and the
``__getitem__`` of tonic's ``SHD`` and ``DVSGesture`` datasets. tonic's
dataset constructors download whenever the archive they were extracted from
is missing, so the readers here find the files themselves and never start a
download; missing files give an error that lists what is expected, and where.

The writers (``write_nmnist``, ``write_shd``, ``write_dvsgesture``) produce
the same layouts, for tests, benchmarks and for feeding other tools.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emulator.errors import InputError
from emulator.progress import Progress

from .events import EventSet, make_events

__all__ = ["LOCAL", "LocalDataset", "load_local", "parse_spec", "write_dvsgesture", "write_nmnist", "write_shd"]


@dataclass(frozen=True)
class LocalDataset:
    name: str
    folder: str  # tonic's folder under its save_to root
    sensor_size: tuple[int, int, int]
    expected: Callable[[str], str]  # what must be there, for a split
    reader: Callable[[Path, str], EventSet]


def _tonic():
    try:
        import tonic
    except ImportError:
        raise InputError("tonic", "import", "reading real datasets needs tonic: pip install 'snnemu[datasets]'") from None
    return tonic


def _split_folder(root: Path, folder: str, sub: str) -> Path:
    """``root/folder/sub`` (tonic's layout), or ``root/sub`` when ``root`` is that folder."""
    for candidate in (root / folder / sub, root / sub):
        if candidate.exists():
            return candidate
    return root / folder / sub


def _check(name: str, bad: np.ndarray, values: np.ndarray, field: str, what: str) -> None:
    if len(bad) and bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(name, field, f"{int(bad.sum())} {what}; first at index {i} with value {values[i]}")


def _stack(samples: list, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Per-sample structured event arrays (tonic's) as flat int64 columns plus ``sample``."""
    cols = {k: np.concatenate([ev[k] for ev in samples]).astype(np.int64) for k in keys}
    cols["sample"] = np.repeat(np.arange(len(samples)), [len(ev) for ev in samples])
    return cols


def _files(root: Path, name: str, sub: str, pattern: str, split: str) -> tuple[Path, list[Path]]:
    """The split's folder and its files (sorted); none is an error saying what is expected."""
    folder = _split_folder(root, LOCAL[name].folder, sub)
    files = sorted(folder.glob(pattern)) if folder.is_dir() else []
    if not files:
        raise InputError(folder, "files", f"no {name} files; expected {LOCAL[name].expected(split)}")
    return folder, files


# -- N-MNIST ---------------------------------------------------------------------------
def _read_nmnist(root: Path, split: str) -> EventSet:
    tonic = _tonic()
    folder, files = _files(root, "nmnist", "Train" if split == "train" else "Test", "[0-9]/*.bin", split)
    labels = np.array([int(f.parent.name) for f in files])
    dtype = tonic.datasets.NMNIST.dtype
    samples, progress = [], Progress(f"reading nmnist:{folder}", "file")
    for i, f in enumerate(files):
        progress(i + 1, len(files))
        size = f.stat().st_size
        if size % 5:
            raise InputError(f, "bytes", f"truncated: {size} bytes is not a whole number of 5-byte (40-bit) events")
        ev = tonic.io.read_mnist_file(str(f), dtype=dtype)
        _check(str(f), (ev["x"] >= 34) | (ev["y"] >= 34), np.maximum(ev["x"], ev["y"]), "x",
               "event(s) outside the 34x34 sensor")
        samples.append(ev)
    return make_events(**_stack(samples, ("t", "x", "y", "p")), sensor_size=(34, 34, 2), labels=labels,
                       name=f"nmnist:{folder}")


def write_nmnist(root: str | Path, events: EventSet, split: str = "test") -> list[Path]:
    """Write ``events`` (a 34x34x2 set with labels) as N-MNIST ``.bin`` files, one per sample,
    under ``root/NMNIST/<Train|Test>/<label>/<sample>.bin``."""
    if events.sensor_size != (34, 34, 2) or events.labels is None or events.y is None:
        raise InputError(events.name, "sensor_size", "N-MNIST files need labelled 34x34x2 events")
    if events.n_events and events.t.max() >= 1 << 23:
        raise InputError(events.name, "t", "N-MNIST timestamps have 23 bits: at most 8388607 µs")
    folder = Path(root) / "NMNIST" / ("Train" if split == "train" else "Test")
    bounds = np.searchsorted(events.sample, np.arange(events.n_samples + 1))
    raw = np.empty((events.n_events, 5), np.uint8)
    raw[:, 0], raw[:, 1] = events.x, events.y
    raw[:, 2] = (events.p << 7) | ((events.t >> 16) & 0x7F)
    raw[:, 3], raw[:, 4] = (events.t >> 8) & 0xFF, events.t & 0xFF
    paths = []
    for i in range(events.n_samples):
        path = folder / str(int(events.labels[i])) / f"{i:05d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        raw[bounds[i]:bounds[i + 1]].tofile(path)
        paths.append(path)
    return paths


# -- SHD -------------------------------------------------------------------------------
def _offline(cls, location: Path, **attrs):
    """A tonic dataset object reading ``location`` without its constructor (which downloads)."""
    obj = cls.__new__(cls)
    _tonic().dataset.Dataset.__init__(obj, str(location))
    obj.location_on_system = str(location)
    for k, v in attrs.items():
        setattr(obj, k, v)
    return obj


SHD_KEYS = ("spikes/times", "spikes/units", "labels")


def _read_shd(root: Path, split: str) -> EventSet:
    import h5py

    tonic = _tonic()
    filename = f"shd_{'train' if split == 'train' else 'test'}.h5"
    path = _split_folder(root, "SHD", filename)
    if not path.is_file():
        raise InputError(path, "file", f"no SHD file; expected {LOCAL['shd'].expected(split)}")
    try:
        with h5py.File(path, "r") as f:
            for key in SHD_KEYS:
                if key not in f:
                    raise InputError(path, key, f"missing; an SHD file holds {', '.join(SHD_KEYS)}")
            n = len(f["labels"])
            if len(f["spikes/times"]) != n or len(f["spikes/units"]) != n:
                raise InputError(path, "spikes/times", f"{len(f['spikes/times'])} rows, but {n} labels")
    except OSError as exc:
        raise InputError(path, "file", f"not a readable HDF5 file ({exc})") from None
    ds = _offline(tonic.datasets.SHD, path.parent, data_filename=path.name)
    samples, labels, progress = [], np.empty(n, np.int64), Progress(f"reading shd:{path}", "sample")
    for i in range(n):
        progress(i + 1, n)
        ev, labels[i] = ds[i]
        _check(f"{path} (sample {i})", ev["t"] < 0, ev["t"], "spikes/times", "negative timestamp(s)")
        _check(f"{path} (sample {i})", ev["x"] >= 700, ev["x"], "spikes/units", "unit(s) outside 0..699")
        samples.append(ev)
    arrays = _stack(samples, ("t", "x"))
    arrays["p"] = np.zeros(len(arrays["t"]), np.int64)  # tonic marks every spike p = 1; the sensor has one channel
    return make_events(**arrays, sensor_size=(700, 1, 1), labels=labels, name=f"shd:{path}")


def write_shd(root: str | Path, events: EventSet, split: str = "test") -> Path:
    """Write a 700-channel labelled set as ``root/SHD/shd_<split>.h5`` (times in seconds)."""
    import h5py

    if events.sensor_size != (700, 1, 1) or events.labels is None:
        raise InputError(events.name, "sensor_size", "SHD files need labelled (700, 1, 1) events")
    path = Path(root) / "SHD" / f"shd_{'train' if split == 'train' else 'test'}.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    bounds = np.searchsorted(events.sample, np.arange(events.n_samples + 1))
    with h5py.File(path, "w") as f:
        times = f.create_dataset("spikes/times", (events.n_samples,), dtype=h5py.vlen_dtype(np.float32))
        units = f.create_dataset("spikes/units", (events.n_samples,), dtype=h5py.vlen_dtype(np.uint16))
        for i in range(events.n_samples):
            times[i] = (events.t[bounds[i]:bounds[i + 1]] * 1e-6).astype(np.float32)
            units[i] = events.x[bounds[i]:bounds[i + 1]].astype(np.uint16)
        f["labels"] = events.labels.astype(np.uint16)
        f["extra/keys"] = np.array([f"class {k}".encode() for k in range(int(events.labels.max()) + 1)])
        f["extra/speaker"] = np.zeros(events.n_samples, np.uint16)
    return path


# -- DVS Gesture -----------------------------------------------------------------------
def _read_dvsgesture(root: Path, split: str) -> EventSet:
    tonic = _tonic()
    folder, files = _files(root, "dvsgesture", "ibmGestureTrain" if split == "train" else "ibmGestureTest",
                           "user*_*/*.npy", split)
    for f in files:
        arr = np.load(f, mmap_mode="r")
        if arr.ndim != 2 or arr.shape[1] != 4:
            raise InputError(f, "shape", f"expected an (N, 4) array of x, y, p, t (ms), got {arr.shape}")
    labels = np.array([int(f.stem) for f in files])
    ds = _offline(tonic.datasets.DVSGesture, folder.parent, data=[str(f) for f in files], targets=list(labels))
    samples, progress = [], Progress(f"reading dvsgesture:{folder}", "file")
    for i, f in enumerate(files):
        progress(i + 1, len(files))
        ev, _ = ds[i]
        _check(str(f), ev["t"] < 0, ev["t"], "t", "negative timestamp(s)")
        _check(str(f), (ev["x"] < 0) | (ev["x"] >= 128) | (ev["y"] < 0) | (ev["y"] >= 128), ev["x"], "x",
               "event(s) outside the 128x128 sensor")
        samples.append(ev)
    return make_events(**_stack(samples, ("t", "x", "y", "p")), sensor_size=(128, 128, 2), labels=labels,
                       name=f"dvsgesture:{folder}")  # t in µs: tonic converts from ms


def write_dvsgesture(root: str | Path, events: EventSet, split: str = "test", user: str = "user01_fluorescent"):
    """Write a labelled 128x128x2 set as tonic's ``.npy`` files (x, y, p, t in ms), one per sample."""
    if events.sensor_size != (128, 128, 2) or events.labels is None or events.y is None:
        raise InputError(events.name, "sensor_size", "DVS Gesture files need labelled 128x128x2 events")
    folder = Path(root) / "DVSGesture" / ("ibmGestureTrain" if split == "train" else "ibmGestureTest")
    bounds = np.searchsorted(events.sample, np.arange(events.n_samples + 1))
    paths = []
    for i in range(events.n_samples):
        sub = folder / f"user{i + 1:02d}_{user.split('_', 1)[1]}"  # tonic: one file per label and user
        sub.mkdir(parents=True, exist_ok=True)
        lo, hi = bounds[i], bounds[i + 1]
        arr = np.stack([events.x[lo:hi], events.y[lo:hi], events.p[lo:hi], events.t[lo:hi] // 1000], axis=1)
        paths.append(sub / f"{int(events.labels[i])}.npy")
        np.save(paths[-1], arr.astype(np.float64))
    return paths


LOCAL: dict[str, LocalDataset] = {
    "nmnist": LocalDataset("nmnist", "NMNIST", (34, 34, 2),
                           lambda split: f"NMNIST/{'Train' if split == 'train' else 'Test'}/<digit 0-9>/*.bin "
                                         "under the folder given (tonic's layout)", _read_nmnist),
    "shd": LocalDataset("shd", "SHD", (700, 1, 1),
                        lambda split: f"SHD/shd_{'train' if split == 'train' else 'test'}.h5 under the folder given "
                                      "(unzipped from shd_*.h5.zip)", _read_shd),
    "dvsgesture": LocalDataset("dvsgesture", "DVSGesture", (128, 128, 2),
                               lambda split: f"DVSGesture/{'ibmGestureTrain' if split == 'train' else 'ibmGestureTest'}"
                                             "/userNN_<lighting>/<label>.npy under the folder given "
                                             "(tonic's preprocessed DVS Gesture)", _read_dvsgesture),
}


def parse_spec(spec: str) -> tuple[str, str | None, str]:
    """``name[:ROOT][:train|:test]`` -> (name, root or None, split)."""
    split = "test"
    for s in ("train", "test"):
        if spec.endswith(f":{s}"):
            spec, split = spec[: -len(s) - 1], s
    name, _, root = spec.partition(":")
    return name, root or None, split


def load_local(name: str, root: str | None, split: str) -> EventSet:
    """A real dataset from ``root`` (default: the folder in ``$SNNEMU_DATA``)."""
    root = root or os.environ.get("SNNEMU_DATA")
    if not root:
        raise InputError(name, "data", f"give the folder: --data {name}:/path/to/root (or set SNNEMU_DATA)")
    path = Path(root).expanduser()
    if not path.is_dir():
        raise InputError(path, "data", f"no such folder; expected {LOCAL[name].expected(split)}")
    return LOCAL[name].reader(path, split)
