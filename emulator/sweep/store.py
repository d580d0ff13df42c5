"""A sweep's files: its chunk results (so that it resumes) and its results store (Parquet).

``OUT/chunks/<ident>/<lo>-<hi>.npz`` holds one finished task: samples
``lo:hi`` of the configuration whose content key is ``ident``. The key hashes
the configuration's options, the size and modification time of every file it
names (model, data, profile) and the package version, and the file repeats
it, so a chunk of a changed configuration, of an edited model or of another
snnemu release is never mixed in. A chunk is written to a temporary name and
renamed, so a kill leaves either the whole chunk or none; leftover temporary
files of killed writers are removed when the sweep resumes (``emulator.scratch``). Arrays are read back with
``allow_pickle=False``; the rows are JSON.

``OUT/store/`` is the results store: ``samples/config=NAME/part-0.parquet``
(the per-sample rows, with every axis value as a column) and
``summary.parquet`` (one row per configuration: its axis values and its
summary figures, ``wall_s`` left out so that the store is the same for any
number of workers).
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import asdict, fields, replace
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..chip import CoreCounters
from ..chunks import ChipChunk, FunctionalChunk
from ..config import RunConfig
from ..functional import FunctionalResult
from ..runner import config_key
from ..scratch import atomic_dir, atomic_path, remove_stale

__all__ = ["ChunkStore", "content_key", "write_store"]



def _version() -> str:
    try:
        return metadata.version("snnemu")
    except metadata.PackageNotFoundError:
        return "unknown"


def content_key(cfg: RunConfig) -> str:
    """The hash that names a configuration's chunks: its options (but the sample count: a chunk is the
    same in a longer run), the named files' stamps, the package version."""
    stamps = []
    for name in ("model", "data", "hw"):
        path = Path(str(getattr(cfg, name)).split(":")[-1] if name == "data" else str(getattr(cfg, name)))
        if path.is_file():
            st = path.stat()
            stamps.append((name, str(path.resolve()), st.st_size, st.st_mtime_ns))
    text = json.dumps([config_key(replace(cfg, samples=None)), stamps, _version()])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class ChunkStore:
    """Finished tasks on disk under ``root``, one file each."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, ident: str, lo: int, hi: int) -> Path:
        return self.root / ident / f"{lo:08d}-{hi:08d}.npz"

    def remove_partial(self) -> int:
        """Delete the temporary files of writes a kill interrupted; returns how many."""
        folders = [p for p in self.root.iterdir() if p.is_dir()] if self.root.is_dir() else []
        return sum(len(remove_stale(folder)) for folder in folders)

    def save(self, ident: str, lo: int, hi: int, chunk) -> None:
        path = self._path(ident, lo, hi)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = _arrays(chunk)
        arrays["meta"] = np.array(json.dumps({"ident": ident, "lo": lo, "hi": hi, "version": _version(),
                                              "wall_s": chunk.wall_s}))
        with atomic_path(path) as tmp, open(tmp, "wb") as f:  # the chunk is there whole, or not at all
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())

    def load(self, ident: str, lo: int, hi: int):
        """The chunk, or None if it is missing, unreadable, or not this configuration's (its key)."""
        path = self._path(ident, lo, hi)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                if (meta.get("ident"), meta.get("lo"), meta.get("hi"), meta.get("version")) != \
                        (ident, lo, hi, _version()):
                    return None
                chunk = _chunk(dict(z), lo, hi)
        # cut short by a kill, or not ours (TypeError: written with other counters, by another version)
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
            return None
        chunk.wall_s = float(meta["wall_s"])
        return chunk


def _arrays(chunk) -> dict[str, np.ndarray]:
    if isinstance(chunk, FunctionalChunk):
        r = chunk.result
        out = {f"result.{f.name}": getattr(r, f.name) for f in fields(FunctionalResult) if f.name != "events"}
        out.update({f"events.{k}": np.asarray(v) for k, v in r.events.items()})
        return out
    out = {"rows": np.array(json.dumps(chunk.rows)), "energy": chunk.energy, "links": chunk.links,
           "layer_spikes": chunk.layer_spikes, "elapsed_s": np.array(chunk.elapsed_s)}
    out.update({f"counters.{k}": v for k, v in asdict(chunk.counters).items()})
    if chunk.trace is not None:
        out.update({f"trace.{k}": np.asarray(v) for k, v in chunk.trace.items()})
    return out


def _chunk(z: dict, lo: int, hi: int):
    if "rows" not in z:
        events = {k.removeprefix("events."): v for k, v in z.items() if k.startswith("events.")}
        result = FunctionalResult(**{f.name: z[f"result.{f.name}"] for f in fields(FunctionalResult)
                                     if f.name != "events"}, events=events)
        return FunctionalChunk(lo, hi, result)
    counters = CoreCounters(**{k.removeprefix("counters."): v for k, v in z.items() if k.startswith("counters.")})
    trace = {k.removeprefix("trace."): v.tolist() for k, v in z.items() if k.startswith("trace.")} or None
    return ChipChunk(lo, hi, json.loads(str(z["rows"])), counters, z["energy"], z["links"], z["layer_spikes"],
                     float(z["elapsed_s"]), trace)


def write_store(out: Path, names: list[str], axes: list[dict], samples: list[pd.DataFrame],
                summaries: list[dict]) -> Path:
    """Write ``out`` (replaced whole): the per-sample rows partitioned by configuration, and the
    summary per configuration, each with every axis value as a column."""
    with atomic_dir(out) as tmp:
        (tmp / "samples").mkdir()
        columns = list(dict.fromkeys(k for a in axes for k in a))
        for name, ax, rows in zip(names, axes, samples):
            part = tmp / "samples" / f"config={name}"
            part.mkdir()
            table = rows.copy()
            for k in columns:
                table[k] = _column(ax.get(k), len(table))
            pq.write_table(pa.Table.from_pandas(table, preserve_index=False), part / "part-0.parquet")
        summary = pd.DataFrame([{"config": n, **{k: _text(a.get(k)) for k in columns}, **_flat(s)}
                                for n, a, s in zip(names, axes, summaries)])
        for k in summary.columns:  # a field that is a number in one run and a name in another is text
            if len({_kind(v) for v in summary[k] if v is not None and v == v}) > 1:
                summary[k] = [None if v is None or v != v else str(v) for v in summary[k]]
        pq.write_table(pa.Table.from_pandas(summary, preserve_index=False), tmp / "summary.parquet")
    return out


def _kind(value) -> str:
    return "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__


def _text(value) -> str | None:
    """Axis values as text in the store: an axis can hold numbers and names (and None: not used)."""
    return None if value is None else str(value)


def _column(value, n: int) -> list:
    return [_text(value)] * n


def _flat(summary: dict, prefix: str = "") -> dict:
    """A summary as flat columns (``latency_s.mean``), without ``wall_s`` (host time differs run to run)."""
    out = {}
    for k, v in summary.items():
        if k == "wall_s" or isinstance(v, list):
            continue
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out
